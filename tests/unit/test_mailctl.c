/*
 * mailctl: the command line as requests, sizes, tables and replies as output, and whole runs of
 * mailctl_main() against a fake maild on a unix socket in a temporary directory.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include "admin/mailctl.h"
#include "admin/mailctl_io.h"
#include "admin/mailctl_print.h"

#define ARGV(...) ((char *[]){"mailctl", __VA_ARGS__, NULL})
#define ARGC(argv) ((int)(sizeof(argv) / sizeof((argv)[0])) - 1)

/*
 * The command line as a request.
 */

/* Parses argv and builds its request; returns the exit status, st holding the message. */
static int build(int argc, char **argv, json_t **request_r, struct mailctl_status *st)
{
	const struct mailctl_cmd *cmd;
	struct mailctl_args a;
	int ret;

	*request_r = NULL;
	memset(st, 0, sizeof(*st));
	ret = mailctl_args_parse(argc, argv, &a, st);
	if (ret == 0)
		ret = mailctl_cmd_find(&a, &cmd, st);
	if (ret == 0)
		ret = mailctl_request_build(cmd, &a, request_r, st);
	return ret;
}

/* The request argv builds equals the JSON text expected. */
#define assert_request(expected, argv)                                                             \
	do {                                                                                       \
		char **argv_ = (argv);                                                             \
		struct mailctl_status st_;                                                         \
		json_t *request_, *want_ = json_loads(expected, 0, NULL);                          \
		assert_non_null(want_);                                                            \
		assert_int_equal(build(ARGC(argv), argv_, &request_, &st_), 0);                    \
		if (!json_equal(request_, want_)) {                                                \
			char *got_ = json_dumps(request_, JSON_COMPACT | JSON_SORT_KEYS);          \
			fail_msg("request %s, expected %s", got_, expected);                       \
		}                                                                                  \
		json_decref(request_);                                                             \
		json_decref(want_);                                                                \
	} while (0)

/* argv fails with code and exactly message. */
#define assert_refused(code, message, argv)                                                        \
	do {                                                                                       \
		char **argv_ = (argv);                                                             \
		struct mailctl_status st_;                                                         \
		json_t *request_;                                                                  \
		assert_int_equal(build(ARGC(argv), argv_, &request_, &st_), code);                 \
		assert_null(request_);                                                             \
		assert_string_equal(st_.msg, message);                                             \
	} while (0)

static void test_domain_add_sends_the_domain(void **state)
{
	(void)state;
	assert_request("{\"cmd\": \"domain.add\", \"args\": {\"domain\": \"example.org\"}}",
	               ARGV("domain", "add", "example.org"));
	assert_request("{\"cmd\": \"domain.remove\", \"args\": {\"domain\": \"example.org\"}}",
	               ARGV("domain", "remove", "example.org"));
}

static void test_user_add_options_may_come_anywhere(void **state)
{
	const char *want = "{\"cmd\": \"user.add\", \"args\": {\"address\": \"bob@example.org\","
	                   " \"name\": \"Bob Smith\", \"quota\": 1073741824}}";

	(void)state;
	assert_request(
	    want, ARGV("user", "add", "bob@example.org", "--quota", "1G", "--name", "Bob Smith"));
	assert_request(want,
	               ARGV("--name", "Bob Smith", "user", "--quota=1g", "add", "bob@example.org"));
	assert_request("{\"cmd\": \"user.add\", \"args\": {\"address\": \"a@example.org\","
	               " \"password_hash\": \"{SHA512-CRYPT}$6$x\"}}",
	               ARGV("--json", "--yes", "user", "add", "a@example.org",
	                    "--password-hash={SHA512-CRYPT}$6$x", "--config", "/nonexistent"));
}

static void test_commands_without_arguments_send_no_args(void **state)
{
	(void)state;
	assert_request("{\"cmd\": \"status\"}", ARGV("status"));
	assert_request("{\"cmd\": \"reload\"}", ARGV("reload"));
	assert_request("{\"cmd\": \"domain.list\"}", ARGV("domain", "list"));
}

static void test_list_domain_is_optional(void **state)
{
	(void)state;
	assert_request("{\"cmd\": \"user.list\", \"args\": {}}", ARGV("user", "list"));
	assert_request("{\"cmd\": \"user.list\", \"args\": {\"domain\": \"example.org\"}}",
	               ARGV("user", "list", "example.org"));
	assert_request("{\"cmd\": \"alias.list\", \"args\": {\"domain\": \"example.org\"}}",
	               ARGV("alias", "list", "example.org"));
}

static void test_user_verbs_send_the_address(void **state)
{
	(void)state;
	assert_request("{\"cmd\": \"user.quota\", \"args\": {\"address\": \"b@x.org\","
	               " \"quota\": 0}}",
	               ARGV("user", "quota", "b@x.org", "unlimited"));
	assert_request("{\"cmd\": \"user.quota\", \"args\": {\"address\": \"b@x.org\","
	               " \"quota\": 2097152}}",
	               ARGV("user", "quota", "b@x.org", "2m"));
	assert_request("{\"cmd\": \"user.disable\", \"args\": {\"address\": \"b@x.org\"}}",
	               ARGV("user", "disable", "b@x.org"));
	assert_request("{\"cmd\": \"user.enable\", \"args\": {\"address\": \"b@x.org\"}}",
	               ARGV("user", "enable", "b@x.org"));
	assert_request("{\"cmd\": \"user.show\", \"args\": {\"address\": \"b@x.org\"}}",
	               ARGV("user", "show", "b@x.org"));
	assert_request("{\"cmd\": \"user.passwd\", \"args\": {\"address\": \"b@x.org\"}}",
	               ARGV("user", "passwd", "b@x.org"));
}

static void test_alias_targets_are_split_on_commas_and_trimmed(void **state)
{
	(void)state;
	assert_request("{\"cmd\": \"alias.add\", \"args\": {\"address\": \"sales@x.org\","
	               " \"targets\": [\"a@x.org\", \"b@y.org\", \"c@z.org\"]}}",
	               ARGV("alias", "add", "sales@x.org", "a@x.org, b@y.org,\tc@z.org "));
	assert_request("{\"cmd\": \"alias.add\", \"args\": {\"address\": \"@x.org\","
	               " \"targets\": [\"a@x.org\"]}}",
	               ARGV("alias", "add", "@x.org", "a@x.org"));
	assert_request("{\"cmd\": \"alias.remove\", \"args\": {\"address\": \"s@x.org\","
	               " \"target\": \"a@x.org\"}}",
	               ARGV("alias", "remove", "s@x.org", "a@x.org"));
}

static void test_fail_target_keeps_its_commas(void **state)
{
	(void)state;
	assert_request("{\"cmd\": \"alias.add\", \"args\": {\"address\": \"old@x.org\","
	               " \"targets\": [\":fail: Sorry, gone; try new@x.org\"]}}",
	               ARGV("alias", "add", "old@x.org", ":fail: Sorry, gone; try new@x.org"));
}

static void test_bad_data_is_refused_before_maild_is_asked(void **state)
{
	(void)state;
	assert_refused(EX_DATAERR, "quota 'x': invalid size", ARGV("user", "quota", "b@x", "x"));
	assert_refused(EX_DATAERR, "quota '1.5G': invalid size",
	               ARGV("user", "add", "b@x", "--quota", "1.5G"));
	assert_refused(EX_DATAERR, "targets 'a@x,,b@x': empty target",
	               ARGV("alias", "add", "s@x", "a@x,,b@x"));
	assert_refused(EX_DATAERR, "targets 'a@x,': empty target",
	               ARGV("alias", "add", "s@x", "a@x,"));
	assert_refused(EX_DATAERR, "address: not valid UTF-8", ARGV("user", "show", "b\xff@x"));
}

static void test_usage_errors_give_a_hint(void **state)
{
	(void)state;
	assert_refused(EX_USAGE, "unknown command 'frob' (try 'mailctl help')", ARGV("frob"));
	assert_refused(EX_USAGE, "domain: missing verb (one of add, list, show, remove)",
	               ARGV("domain"));
	assert_refused(EX_USAGE, "domain drop: unknown verb (one of add, list, show, remove)",
	               ARGV("domain", "drop", "x.org"));
	assert_refused(EX_USAGE, "missing argument (usage: mailctl user quota ADDRESS SIZE)",
	               ARGV("user", "quota", "b@x"));
	assert_refused(EX_USAGE, "too many arguments (usage: mailctl status)",
	               ARGV("status", "now"));
	assert_refused(EX_USAGE,
	               "option '--name' does not apply (usage: mailctl domain add DOMAIN)",
	               ARGV("domain", "add", "x.org", "--name", "X"));
	assert_refused(EX_USAGE, "option '--quota' needs a value",
	               ARGV("user", "add", "b@x", "--quota"));
	assert_refused(EX_USAGE, "option '--name' given twice",
	               ARGV("user", "add", "b@x", "--name", "A", "--name=B"));
	assert_refused(EX_USAGE, "option '--json' takes no value", ARGV("--json=yes", "status"));
	assert_refused(EX_USAGE, "unknown option '--force' (try 'mailctl help')",
	               ARGV("user", "remove", "b@x", "--force"));
	assert_refused(EX_USAGE, "too many arguments (try 'mailctl help')",
	               ARGV("a", "b", "c", "d", "e", "f", "g", "h", "i"));
}

static void test_double_dash_ends_options(void **state)
{
	(void)state;
	assert_request("{\"cmd\": \"user.show\", \"args\": {\"address\": \"-odd@x.org\"}}",
	               ARGV("user", "show", "--", "-odd@x.org"));
}

static void test_password_is_added_and_wiped(void **state)
{
	struct mailctl_status st;
	json_t *request;
	const char *text;

	(void)state;
	assert_int_equal(build(ARGC(ARGV("user", "passwd", "b@x")), ARGV("user", "passwd", "b@x"),
	                       &request, &st),
	                 0);
	assert_int_equal(mailctl_request_set_password(request, "s3cret", "user b@x", &st), 0);
	text = json_string_value(json_object_get(json_object_get(request, "args"), "password"));
	assert_string_equal(text, "s3cret");
	mailctl_request_wipe(request);
	assert_memory_equal(text, "\0\0\0\0\0\0", 6);
	assert_int_equal(mailctl_request_set_password(request, "\xc3(", "user b@x", &st),
	                 EX_DATAERR);
	assert_string_equal(st.msg, "user b@x: password is not valid UTF-8");
	json_decref(request);
}

/*
 * Sizes, dates, durations.
 */

static void test_sizes_parse_with_1024_based_suffixes(void **state)
{
	static const struct {
		const char *text;
		uint64_t bytes;
	} good[] = {
	    {"0", 0},
	    {"unlimited", 0},
	    {"Unlimited", 0},
	    {"512", 512},
	    {"1k", 1024},
	    {"1K", 1024},
	    {"25M", 25 * 1024 * 1024},
	    {"2g", 2ULL << 30},
	    {"3T", 3ULL << 40},
	    {"0G", 0},
	    {"9223372036854775807", INT64_MAX},
	    {"8388607T", 8388607ULL << 40},
	};
	static const char *const bad[] = {
	    "",           "x",
	    "-1",         "+1",
	    " 1",         "1 ",
	    "1.5G",       "1KB",
	    "1P",         "G",
	    "unlimitedx", "9223372036854775808",
	    "8388608T",   "99999999999999999999999",
	    "1\n",
	};
	uint64_t bytes;

	(void)state;
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		bytes = 1;
		assert_int_equal(mailctl_size_parse(good[i].text, &bytes), 0);
		assert_true(bytes == good[i].bytes);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (mailctl_size_parse(bad[i], &bytes) != -1)
			fail_msg("size '%s' accepted", bad[i]);
	}
}

static void test_sizes_print_for_people(void **state)
{
	char buf[MAILCTL_FIELD_MAX];

	(void)state;
	mailctl_format_size(0, buf);
	assert_string_equal(buf, "unlimited");
	mailctl_format_size(1023, buf);
	assert_string_equal(buf, "1023");
	mailctl_format_size(1024, buf);
	assert_string_equal(buf, "1.0K");
	mailctl_format_size(1536, buf);
	assert_string_equal(buf, "1.5K");
	mailctl_format_size(1024 * 1024 - 1, buf);
	assert_string_equal(buf, "1.0M");
	mailctl_format_size(1ULL << 30, buf);
	assert_string_equal(buf, "1.0G");
	mailctl_format_size(5ULL << 40, buf);
	assert_string_equal(buf, "5.0T");
	mailctl_format_size(UINT64_MAX, buf);
	assert_string_equal(buf, "16777216.0T");
}

static void test_dates_and_uptimes_print_for_people(void **state)
{
	char buf[MAILCTL_FIELD_MAX];

	(void)state;
	mailctl_format_date(0, buf);
	assert_string_equal(buf, "1970-01-01");
	mailctl_format_date(1700000000, buf);
	assert_string_equal(buf, "2023-11-14");
	mailctl_format_uptime(0, buf);
	assert_string_equal(buf, "0s");
	mailctl_format_uptime(45, buf);
	assert_string_equal(buf, "45s");
	mailctl_format_uptime(245, buf);
	assert_string_equal(buf, "4m05s");
	mailctl_format_uptime(2 * 3600 + 5 * 60 + 9, buf);
	assert_string_equal(buf, "2h05m");
	mailctl_format_uptime(3 * 86400 + 4 * 3600 + 59, buf);
	assert_string_equal(buf, "3d4h");
	mailctl_format_uptime(-5, buf);
	assert_string_equal(buf, "0s");
}

/*
 * Output.
 */

/* Runs fn(out, ctx) on a memory stream; returns what it printed (malloc'ed). */
static char *printed(void (*fn)(FILE *out, void *ctx), void *ctx)
{
	char *text = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&text, &len);

	assert_non_null(out);
	fn(out, ctx);
	assert_int_equal(fclose(out), 0);
	return text;
}

static void print_table(FILE *out, void *ctx)
{
	static const char *const headers[] = {"ADDRESS", "NAME", "ACTIVE"};
	static const char *const row1[] = {"bob@example.org", "Bob", "yes"};
	static const char *const row2[] = {"jo@x.org", "Jöhn Ünder", "no"};
	static const char *const row3[] = {"e\x1b[31m@x", "-", "yes"};
	struct mailctl_table *table = mailctl_table_new(3, headers);

	(void)ctx;
	mailctl_table_add(table, row1);
	mailctl_table_add(table, row2);
	mailctl_table_add(table, row3);
	mailctl_table_print(table, out);
	mailctl_table_free(&table);
	assert_null(table);
	mailctl_table_free(&table);
}

static void test_tables_align_utf8_and_hide_control_characters(void **state)
{
	char *text = printed(print_table, NULL);

	(void)state;
	assert_string_equal(text, "ADDRESS          NAME        ACTIVE\n"
	                          "bob@example.org  Bob         yes\n"
	                          "jo@x.org         Jöhn Ünder  no\n"
	                          "e?[31m@x         -           yes\n");
	free(text);
}

struct result_case {
	const char *cmd;
	const char *result;
	const char *args;
	bool json;
	int ret;
};

static void print_case(FILE *out, void *ctx)
{
	struct result_case *c = ctx;
	json_t *result = json_loads(c->result, JSON_DECODE_ANY, NULL);
	json_t *args = c->args != NULL ? json_loads(c->args, 0, NULL) : NULL;

	assert_non_null(result);
	c->ret = mailctl_print_result(out, c->cmd, result, args, c->json);
	json_decref(result);
	json_decref(args);
}

/* What mailctl prints for a result of cmd (NULL when it finds the result malformed). */
static char *result_text(const char *cmd, const char *result, const char *args, bool json)
{
	struct result_case c = {cmd, result, args, json, 0};
	char *text = printed(print_case, &c);

	if (c.ret == 0)
		return text;
	assert_int_equal(c.ret, -1);
	assert_string_equal(text, "");
	free(text);
	return NULL;
}

#define assert_printed(expected, cmd, result, args, json)                                          \
	do {                                                                                       \
		char *text_ = result_text(cmd, result, args, json);                                \
		assert_non_null(text_);                                                            \
		assert_string_equal(text_, expected);                                              \
		free(text_);                                                                       \
	} while (0)

static const char domains[] = "[{\"domain\": \"example.org\", \"accounts\": 12, \"aliases\": 3,"
                              " \"created\": 1700000000, \"new_key\": 1},"
                              " {\"domain\": \"b.net\", \"accounts\": 0, \"aliases\": 10,"
                              " \"created\": 0}]";

static void test_lists_are_tables_or_json_lines(void **state)
{
	(void)state;
	assert_printed("DOMAIN       ACCOUNTS  ALIASES  CREATED\n"
	               "example.org  12        3        2023-11-14\n"
	               "b.net        0         10       1970-01-01\n",
	               "domain.list", domains, NULL, false);
	assert_printed("{\"domain\":\"example.org\",\"accounts\":12,\"aliases\":3,"
	               "\"created\":1700000000,\"new_key\":1}\n"
	               "{\"domain\":\"b.net\",\"accounts\":0,\"aliases\":10,\"created\":0}\n",
	               "domain.list", domains, NULL, true);
	assert_printed(
	    "ADDRESS  NAME  QUOTA      ACTIVE\n"
	    "a@x.org  Al    1.0G       yes\n"
	    "b@x.org  -     unlimited  no\n",
	    "user.list",
	    "[{\"address\": \"a@x.org\", \"name\": \"Al\", \"quota\": 1073741824,"
	    " \"active\": true, \"created\": 1},"
	    " {\"address\": \"b@x.org\", \"name\": \"\", \"quota\": 0, \"active\": false,"
	    " \"created\": 1}]",
	    NULL, false);
	assert_printed("ADDRESS  TARGET\n", "alias.list", "[]", NULL, false);
	assert_printed("", "alias.list", "[]", NULL, true);
}

static const char status[] =
    "{\"version\": \"0.1.0\", \"workers\": ["
    "{\"role\": \"smtp\", \"pid\": 812, \"user\": \"maild\", \"started\": 1, \"uptime\": 273600,"
    " \"restarts\": 0, \"state\": \"running\"},"
    "{\"role\": \"admin\", \"pid\": 90, \"user\": \"root\", \"started\": 1, \"uptime\": 7500,"
    " \"restarts\": 2, \"state\": \"starting\"}]}";

static void test_status_is_a_table_of_workers(void **state)
{
	(void)state;
	assert_printed("ROLE   PID  USER   UPTIME  RESTARTS  STATE\n"
	               "smtp   812  maild  3d4h    0         running\n"
	               "admin  90   root   2h05m   2         starting\n",
	               "status", status, NULL, false);
	assert_printed("{\"role\":\"smtp\",\"pid\":812,\"user\":\"maild\",\"started\":1,"
	               "\"uptime\":273600,\"restarts\":0,\"state\":\"running\"}\n"
	               "{\"role\":\"admin\",\"pid\":90,\"user\":\"root\",\"started\":1,"
	               "\"uptime\":7500,\"restarts\":2,\"state\":\"starting\"}\n",
	               "status", status, NULL, true);
}

static void test_show_prints_key_value_lines(void **state)
{
	(void)state;
	assert_printed("address: bob@x.org\nname: Bob\nquota: 1.5G\nactive: no\n"
	               "created: 2023-11-14\nmaildir: /var/vmail/x.org/bob\n"
	               "password scheme: ARGON2ID\n",
	               "user.show",
	               "{\"address\": \"bob@x.org\", \"name\": \"Bob\", \"quota\": 1610612736,"
	               " \"active\": false, \"created\": 1700000000, \"maildir\":"
	               " \"/var/vmail/x.org/bob\", \"password_scheme\": \"ARGON2ID\"}",
	               NULL, false);
	assert_printed(
	    "domain: x.org\naccounts: 1\naliases: -\ncreated: ?\nactive: yes\n", "domain.show",
	    "{\"domain\": \"x.org\", \"accounts\": 1, \"created\": 1.5, \"active\": true}", NULL,
	    false);
}

static void test_changes_print_one_confirmation_line(void **state)
{
	(void)state;
	assert_printed("domain example.org: added\n", "domain.add", "{\"domain\": \"example.org\"}",
	               NULL, false);
	assert_printed("{\"domain\":\"example.org\"}\n", "domain.add",
	               "{\"domain\": \"example.org\"}", NULL, true);
	assert_printed("user bob@x.org: added (maildir /var/vmail/x.org/bob)\n", "user.add",
	               "{\"address\": \"bob@x.org\", \"maildir\": \"/var/vmail/x.org/bob\"}", NULL,
	               false);
	assert_printed(
	    "user bob@x.org: removed (mail kept in /var/vmail/.removed/bob)\n", "user.remove",
	    "{\"address\": \"bob@x.org\", \"moved_to\": \"/var/vmail/.removed/bob\"}", NULL, false);
	assert_printed("user bob@x.org: quota set to unlimited\n", "user.quota",
	               "{\"address\": \"bob@x.org\", \"quota\": 0}", NULL, false);
	assert_printed("user bob@x.org: disabled\n", "user.disable", "{}",
	               "{\"address\": \"bob@x.org\"}", false);
	assert_printed("alias s@x.org: added (a@x.org, b@x.org)\n", "alias.add",
	               "{\"address\": \"s@x.org\", \"targets\": [\"a@x.org\", \"b@x.org\"]}", NULL,
	               false);
	assert_printed("alias s@x.org: removed (1 target)\n", "alias.remove",
	               "{\"address\": \"s@x.org\", \"removed\": 1}", NULL, false);
	assert_printed("alias s@x.org: removed (a@x.org)\n", "alias.remove",
	               "{\"address\": \"s@x.org\", \"removed\": [\"a@x.org\"]}", NULL, false);
	assert_printed("alias s@x.org: target a@x.org removed\n", "alias.remove",
	               "{\"address\": \"s@x.org\", \"removed\": 1}",
	               "{\"address\": \"s@x.org\", \"target\": \"a@x.org\"}", false);
	assert_printed("maild: configuration reloaded\n", "reload", "{\"reloaded\": true}", NULL,
	               false);
}

static void test_results_of_the_wrong_shape_are_refused(void **state)
{
	(void)state;
	assert_null(result_text("domain.list", "{\"domain\": \"x\"}", NULL, false));
	assert_null(result_text("domain.list", "[1, 2]", NULL, true));
	assert_null(result_text("domain.add", "[]", NULL, false));
	assert_null(result_text("status", "{\"workers\": {}}", NULL, false));
	assert_null(result_text("user.show", "null", NULL, true));
	assert_null(result_text("queue.list", "[]", NULL, false));
}

/*
 * Replies.
 */

static void test_replies_parse_as_the_protocol_defines(void **state)
{
	static const char ok[] = "{\"ok\": true, \"result\": {\"domain\": \"x.org\"}}";
	static const char err[] = "{\"ok\": false, \"code\": 73, \"error\": \"domain x.org: already"
	                          " exists\", \"details\": [\"a\", \"b\"], \"later\": 1}";
	struct mailctl_reply r;

	(void)state;
	assert_int_equal(mailctl_reply_parse(ok, strlen(ok), &r), 0);
	assert_true(r.ok);
	assert_string_equal(json_string_value(json_object_get(r.result, "domain")), "x.org");
	mailctl_reply_clear(&r);
	assert_null(r.root);

	assert_int_equal(mailctl_reply_parse(err, strlen(err), &r), 0);
	assert_false(r.ok);
	assert_int_equal(r.code, 73);
	assert_string_equal(r.error, "domain x.org: already exists");
	assert_int_equal(json_array_size(r.details), 2);
	mailctl_reply_clear(&r);

	assert_int_equal(mailctl_reply_parse("{\"ok\": true}", 12, &r), 0);
	assert_true(json_is_null(r.result));
	mailctl_reply_clear(&r);
}

static void test_error_replies_never_exit_0(void **state)
{
	static const char *const replies[] = {
	    "{\"ok\": false, \"code\": 0, \"error\": \"e\"}",
	    "{\"ok\": false, \"code\": 256, \"error\": \"e\"}",
	    "{\"ok\": false, \"code\": \"64\", \"error\": \"e\"}",
	    "{\"ok\": false}",
	};
	struct mailctl_reply r;

	(void)state;
	for (size_t i = 0; i < sizeof(replies) / sizeof(replies[0]); i++) {
		assert_int_equal(mailctl_reply_parse(replies[i], strlen(replies[i]), &r), 0);
		assert_int_equal(r.code, EX_SOFTWARE);
		assert_non_null(r.error);
		mailctl_reply_clear(&r);
	}
}

static void test_malformed_replies_are_refused(void **state)
{
	static const char *const replies[] = {
	    "",
	    "ok",
	    "[]",
	    "{}",
	    "{\"ok\": 1}",
	    "{\"ok\": true",
	    "{\"ok\": true, \"ok\": false}",
	    "\"ok\"",
	};
	struct mailctl_reply r;

	(void)state;
	for (size_t i = 0; i < sizeof(replies) / sizeof(replies[0]); i++) {
		if (mailctl_reply_parse(replies[i], strlen(replies[i]), &r) != -1)
			fail_msg("reply '%s' accepted", replies[i]);
	}
}

/*
 * Whole runs against a fake maild: one connection, one request line, one canned reply.
 */

struct fake_maild {
	char dir[64];
	char socket[sizeof(((struct sockaddr_un *)NULL)->sun_path)];
	char config[128];
	int listen_fd;
	pthread_t thread;
	const char *reply; /* a line without '\n'; NULL: read the request and never answer */
	char request[4096];
	bool served;
};

static void *fake_maild_serve(void *arg)
{
	struct fake_maild *m = arg;
	size_t len = 0;
	ssize_t n;
	char c;
	int fd = accept(m->listen_fd, NULL, NULL);

	if (fd < 0)
		return NULL;
	m->served = true;
	while (len + 1 < sizeof(m->request) && (n = read(fd, &c, 1)) == 1 && c != '\n')
		m->request[len++] = c;
	m->request[len] = '\0';
	if (m->reply != NULL) {
		(void)!write(fd, m->reply, strlen(m->reply));
		(void)!write(fd, "\n", 1);
	} else {
		while (read(fd, &c, 1) > 0) /* until mailctl gives up */
			;
	}
	close(fd);
	return NULL;
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(text, f);
	assert_int_equal(fclose(f), 0);
}

static int fake_maild_setup(void **state)
{
	struct fake_maild *m = calloc(1, sizeof(*m));
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	char text[256];

	assert_non_null(m);
	snprintf(m->dir, sizeof(m->dir), "/tmp/test_mailctl.XXXXXX");
	assert_non_null(mkdtemp(m->dir));
	snprintf(m->socket, sizeof(m->socket), "%s/admin.sock", m->dir);
	snprintf(m->config, sizeof(m->config), "%s/maild.conf", m->dir);
	snprintf(text, sizeof(text), "admin.socket = %s\n", m->socket);
	write_file(m->config, text);
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", m->socket);
	m->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(m->listen_fd >= 0);
	assert_int_equal(bind(m->listen_fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	assert_int_equal(listen(m->listen_fd, 4), 0);
	unsetenv("MAILD_CONFIG");
	*state = m;
	return 0;
}

static int fake_maild_teardown(void **state)
{
	struct fake_maild *m = *state;

	if (m->listen_fd >= 0)
		close(m->listen_fd);
	unlink(m->socket);
	unlink(m->config);
	rmdir(m->dir);
	free(m);
	return 0;
}

static void fake_maild_start(struct fake_maild *m, const char *reply)
{
	m->reply = reply;
	assert_int_equal(pthread_create(&m->thread, NULL, fake_maild_serve, m), 0);
}

static void fake_maild_join(struct fake_maild *m)
{
	shutdown(m->listen_fd, SHUT_RDWR);
	assert_int_equal(pthread_join(m->thread, NULL), 0);
}

/* What a run printed on stdout and stderr, and how it ended. */
struct run {
	int status;
	char out[4096];
	char err[4096];
};

static void slurp(FILE *f, char *buf, size_t size)
{
	size_t n;

	rewind(f);
	n = fread(buf, 1, size - 1, f);
	buf[n] = '\0';
	fclose(f);
}

/* Runs mailctl_main(argv) with input (NULL: nothing) on stdin, stdout and stderr caught. */
static void run_mailctl(int argc, char **argv, const char *input, struct run *r)
{
	FILE *out = tmpfile(), *err = tmpfile(), *in = tmpfile();
	int saved[3] = {dup(0), dup(1), dup(2)};

	assert_non_null(out);
	assert_non_null(err);
	assert_non_null(in);
	if (input != NULL)
		fputs(input, in);
	rewind(in);
	fflush(stdout);
	fflush(stderr);
	dup2(fileno(in), 0);
	dup2(fileno(out), 1);
	dup2(fileno(err), 2);
	r->status = mailctl_main(argc, argv);
	fflush(stdout);
	fflush(stderr);
	for (int fd = 0; fd < 3; fd++) {
		dup2(saved[fd], fd);
		close(saved[fd]);
	}
	fclose(in);
	slurp(out, r->out, sizeof(r->out));
	slurp(err, r->err, sizeof(r->err));
}

#define RUN(m, input, r, ...)                                                                      \
	run_mailctl(ARGC(ARGV("--config", (m)->config, __VA_ARGS__)),                              \
	            ARGV("--config", (m)->config, __VA_ARGS__), input, r)

static void test_domain_add_is_one_request_and_one_line(void **state)
{
	struct fake_maild *m = *state;
	struct run r;

	fake_maild_start(m, "{\"ok\": true, \"result\": {\"domain\": \"example.org\"}}");
	RUN(m, NULL, &r, "domain", "add", "example.org");
	fake_maild_join(m);
	assert_string_equal(m->request,
	                    "{\"cmd\":\"domain.add\",\"args\":{\"domain\":\"example.org\"}}");
	assert_int_equal(r.status, 0);
	assert_string_equal(r.out, "domain example.org: added\n");
	assert_string_equal(r.err, "");
}

static void test_password_comes_from_one_line_of_stdin(void **state)
{
	struct fake_maild *m = *state;
	struct run r;

	fake_maild_start(m, "{\"ok\": true, \"result\": {\"address\": \"bob@example.org\","
	                    " \"maildir\": \"/var/vmail/example.org/bob\"}}");
	RUN(m, "s3 cret\r\nnot this line\n", &r, "user", "add", "bob@example.org", "--json");
	fake_maild_join(m);
	assert_string_equal(m->request, "{\"cmd\":\"user.add\",\"args\":{\"address\":"
	                                "\"bob@example.org\",\"password\":\"s3 cret\"}}");
	assert_int_equal(r.status, 0);
	assert_string_equal(r.out, "{\"address\":\"bob@example.org\","
	                           "\"maildir\":\"/var/vmail/example.org/bob\"}\n");
}

static void test_no_password_on_stdin_is_bad_data(void **state)
{
	struct fake_maild *m = *state;
	struct run r;

	RUN(m, "\n", &r, "user", "passwd", "bob@example.org");
	assert_int_equal(r.status, EX_DATAERR);
	assert_string_equal(r.err, "mailctl: user bob@example.org: no password given on standard"
	                           " input\n");
	RUN(m, NULL, &r, "user", "add", "bob@example.org");
	assert_int_equal(r.status, EX_DATAERR);
	assert_false(m->served);
}

static void test_remove_without_yes_off_a_terminal_is_refused(void **state)
{
	struct fake_maild *m = *state;
	struct run r;

	RUN(m, "y\n", &r, "user", "remove", "bob@x.org");
	assert_int_equal(r.status, EX_USAGE);
	assert_string_equal(r.err, "mailctl: user bob@x.org: refusing to remove without --yes\n");
	assert_false(m->served);
}

static void test_remove_with_yes_goes_ahead(void **state)
{
	struct fake_maild *m = *state;
	struct run r;

	fake_maild_start(m,
	                 "{\"ok\": true, \"result\": {\"address\": \"s@x.org\", \"removed\": 2}}");
	RUN(m, NULL, &r, "alias", "remove", "s@x.org", "--yes");
	fake_maild_join(m);
	assert_string_equal(m->request,
	                    "{\"cmd\":\"alias.remove\",\"args\":{\"address\":\"s@x.org\"}}");
	assert_int_equal(r.status, 0);
	assert_string_equal(r.out, "alias s@x.org: removed (2 targets)\n");
}

static void test_error_reply_exits_with_its_code(void **state)
{
	struct fake_maild *m = *state;
	struct run r;

	fake_maild_start(
	    m, "{\"ok\": false, \"code\": 73, \"error\": \"domain x.org: already exists\"}");
	RUN(m, NULL, &r, "domain", "add", "x.org");
	fake_maild_join(m);
	assert_int_equal(r.status, 73);
	assert_string_equal(r.out, "");
	assert_string_equal(r.err, "mailctl: domain x.org: already exists\n");
}

static void test_reload_error_prints_each_detail(void **state)
{
	struct fake_maild *m = *state;
	struct run r;

	fake_maild_start(m, "{\"ok\": false, \"code\": 78, \"error\": \"reload: configuration not"
	                    " valid\", \"details\": [\"/etc/maild/maild.conf:3: unknown key 'x'\","
	                    " \"/etc/maild/maild.conf:7: bad\\u001b value\"]}");
	RUN(m, NULL, &r, "reload");
	fake_maild_join(m);
	assert_string_equal(m->request, "{\"cmd\":\"reload\"}");
	assert_int_equal(r.status, 78);
	assert_string_equal(r.err, "mailctl: reload: configuration not valid\n"
	                           "/etc/maild/maild.conf:3: unknown key 'x'\n"
	                           "/etc/maild/maild.conf:7: bad? value\n");
}

static void test_malformed_reply_is_an_internal_error(void **state)
{
	struct fake_maild *m = *state;
	struct run r;
	char want[256];

	fake_maild_start(m, "{\"ok\": \"yes\"}");
	RUN(m, NULL, &r, "status");
	fake_maild_join(m);
	assert_int_equal(r.status, EX_SOFTWARE);
	snprintf(want, sizeof(want), "mailctl: admin socket %s: malformed reply from maild\n",
	         m->socket);
	assert_string_equal(r.err, want);
}

static void test_no_maild_is_unavailable(void **state)
{
	struct fake_maild *m = *state;
	struct run r;
	char want[256];

	close(m->listen_fd);
	m->listen_fd = -1;
	RUN(m, NULL, &r, "status");
	assert_int_equal(r.status, EX_UNAVAILABLE);
	snprintf(want, sizeof(want),
	         "mailctl: admin socket %s: Connection refused (is maild running?)\n", m->socket);
	assert_string_equal(r.err, want);
	unlink(m->socket);
	RUN(m, NULL, &r, "status");
	assert_int_equal(r.status, EX_UNAVAILABLE);
	snprintf(want, sizeof(want),
	         "mailctl: admin socket %s: No such file or directory (is maild running?)\n",
	         m->socket);
	assert_string_equal(r.err, want);
}

static void test_silent_maild_times_out(void **state)
{
	struct fake_maild *m = *state;
	struct mailctl_status st = {0};
	struct mailctl_reply reply = {0};
	json_t *request = json_pack("{s:s}", "cmd", "status");
	char want[256];

	fake_maild_start(m, NULL);
	assert_int_equal(mailctl_io_exchange(m->socket, request, 1, &reply, &st), EX_TEMPFAIL);
	fake_maild_join(m);
	assert_string_equal(m->request, "{\"cmd\":\"status\"}");
	snprintf(want, sizeof(want), "admin socket %s: no reply from maild", m->socket);
	assert_string_equal(st.msg, want);
	json_decref(request);
}

static void test_config_errors_exit_78(void **state)
{
	struct fake_maild *m = *state;
	struct run r;

	write_file(m->config, "no.such.key = 1\n");
	RUN(m, NULL, &r, "status");
	assert_int_equal(r.status, EX_CONFIG);
	assert_non_null(strstr(r.err, m->config));
	assert_false(m->served);
	RUN(m, NULL, &r, "config", "check");
	assert_int_equal(r.status, EX_CONFIG);
}

static void test_config_runs_without_maild(void **state)
{
	struct fake_maild *m = *state;
	struct run r;
	char want[256];

	RUN(m, NULL, &r, "config", "check");
	assert_int_equal(r.status, 0);
	snprintf(want, sizeof(want), "%s: configuration is valid\n", m->config);
	assert_string_equal(r.out, want);
	RUN(m, NULL, &r, "config", "show", "-n");
	snprintf(want, sizeof(want), "admin.socket = %s\n", m->socket);
	assert_string_equal(r.out, want);
	RUN(m, NULL, &r, "config", "show", "admin.socket", "--json");
	snprintf(want, sizeof(want),
	         "{\"key\":\"admin.socket\",\"value\":\"%s\",\"default\":false}\n", m->socket);
	assert_string_equal(r.out, want);
	RUN(m, NULL, &r, "config", "show", "admin.sockets");
	assert_int_equal(r.status, EX_USAGE);
	assert_string_equal(r.err, "mailctl: config key 'admin.sockets': unknown\n");
	assert_false(m->served);
}

static void test_help_and_version(void **state)
{
	struct run r;

	(void)state;
	run_mailctl(1, (char *[]){"mailctl", NULL}, NULL, &r);
	assert_int_equal(r.status, EX_USAGE);
	assert_string_equal(r.out, "");
	assert_non_null(strstr(r.err, "usage: mailctl"));
	run_mailctl(ARGC(ARGV("help")), ARGV("help"), NULL, &r);
	assert_int_equal(r.status, 0);
	assert_non_null(strstr(r.out, "\n  mailctl user add ADDRESS [--name NAME]"));
	run_mailctl(ARGC(ARGV("user", "--help")), ARGV("user", "--help"), NULL, &r);
	assert_int_equal(r.status, 0);
	run_mailctl(ARGC(ARGV("version")), ARGV("version"), NULL, &r);
	assert_string_equal(r.out, "mailctl 0.1.0\n");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_domain_add_sends_the_domain),
	    cmocka_unit_test(test_user_add_options_may_come_anywhere),
	    cmocka_unit_test(test_commands_without_arguments_send_no_args),
	    cmocka_unit_test(test_list_domain_is_optional),
	    cmocka_unit_test(test_user_verbs_send_the_address),
	    cmocka_unit_test(test_alias_targets_are_split_on_commas_and_trimmed),
	    cmocka_unit_test(test_fail_target_keeps_its_commas),
	    cmocka_unit_test(test_bad_data_is_refused_before_maild_is_asked),
	    cmocka_unit_test(test_usage_errors_give_a_hint),
	    cmocka_unit_test(test_double_dash_ends_options),
	    cmocka_unit_test(test_password_is_added_and_wiped),
	    cmocka_unit_test(test_sizes_parse_with_1024_based_suffixes),
	    cmocka_unit_test(test_sizes_print_for_people),
	    cmocka_unit_test(test_dates_and_uptimes_print_for_people),
	    cmocka_unit_test(test_tables_align_utf8_and_hide_control_characters),
	    cmocka_unit_test(test_lists_are_tables_or_json_lines),
	    cmocka_unit_test(test_status_is_a_table_of_workers),
	    cmocka_unit_test(test_show_prints_key_value_lines),
	    cmocka_unit_test(test_changes_print_one_confirmation_line),
	    cmocka_unit_test(test_results_of_the_wrong_shape_are_refused),
	    cmocka_unit_test(test_replies_parse_as_the_protocol_defines),
	    cmocka_unit_test(test_error_replies_never_exit_0),
	    cmocka_unit_test(test_malformed_replies_are_refused),
	    cmocka_unit_test_setup_teardown(test_domain_add_is_one_request_and_one_line,
	                                    fake_maild_setup, fake_maild_teardown),
	    cmocka_unit_test_setup_teardown(test_password_comes_from_one_line_of_stdin,
	                                    fake_maild_setup, fake_maild_teardown),
	    cmocka_unit_test_setup_teardown(test_no_password_on_stdin_is_bad_data, fake_maild_setup,
	                                    fake_maild_teardown),
	    cmocka_unit_test_setup_teardown(test_remove_without_yes_off_a_terminal_is_refused,
	                                    fake_maild_setup, fake_maild_teardown),
	    cmocka_unit_test_setup_teardown(test_remove_with_yes_goes_ahead, fake_maild_setup,
	                                    fake_maild_teardown),
	    cmocka_unit_test_setup_teardown(test_error_reply_exits_with_its_code, fake_maild_setup,
	                                    fake_maild_teardown),
	    cmocka_unit_test_setup_teardown(test_reload_error_prints_each_detail, fake_maild_setup,
	                                    fake_maild_teardown),
	    cmocka_unit_test_setup_teardown(test_malformed_reply_is_an_internal_error,
	                                    fake_maild_setup, fake_maild_teardown),
	    cmocka_unit_test_setup_teardown(test_no_maild_is_unavailable, fake_maild_setup,
	                                    fake_maild_teardown),
	    cmocka_unit_test_setup_teardown(test_silent_maild_times_out, fake_maild_setup,
	                                    fake_maild_teardown),
	    cmocka_unit_test_setup_teardown(test_config_errors_exit_78, fake_maild_setup,
	                                    fake_maild_teardown),
	    cmocka_unit_test_setup_teardown(test_config_runs_without_maild, fake_maild_setup,
	                                    fake_maild_teardown),
	    cmocka_unit_test(test_help_and_version),
	};

	/* Dates in the expected output are UTC. */
	setenv("TZ", "UTC", 1);
	tzset();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
