#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "config.h"

#define NAME "t.conf"

/* ---- helpers ---- */

static void print_errors(const struct config_errors *errors)
{
	for (size_t i = 0; i < errors->count; i++)
		print_message("  %s\n", errors->lines[i]);
}

static struct config *load_ok_len(const char *text, size_t len)
{
	struct config_errors errors = {0};
	struct config *c = NULL;
	int ret = config_load_string(NAME, text, len, &c, &errors);

	if (ret != 0)
		print_errors(&errors);
	assert_int_equal(ret, 0);
	assert_non_null(c);
	assert_int_equal(errors.count, 0);
	return c;
}

static struct config *load_ok(const char *text)
{
	return load_ok_len(text, strlen(text));
}

static void check_errors_len(const char *text, size_t len, const char *const *expected, size_t n)
{
	struct config_errors errors = {0};
	struct config *c = (struct config *)&errors; /* must be reset to NULL */
	int ret = config_load_string(NAME, text, len, &c, &errors);

	if (errors.count != n)
		print_errors(&errors);
	assert_int_equal(ret, -1);
	assert_null(c);
	assert_int_equal(errors.count, n);
	for (size_t i = 0; i < n; i++)
		assert_string_equal(errors.lines[i], expected[i]);
	config_errors_clear(&errors);
	assert_null(errors.lines);
	assert_int_equal(errors.count, 0);
}

#define CHECK_ERRORS(text, ...)                                                                    \
	do {                                                                                       \
		static const char *const expected_[] = {__VA_ARGS__};                              \
		check_errors_len(text, strlen(text), expected_,                                    \
		                 sizeof(expected_) / sizeof(expected_[0]));                        \
	} while (0)

/* One assignment must fail with this one message for line 1. */
#define CHECK_ERROR(text, message) CHECK_ERRORS(text, NAME ":1: " message)

static char *tmpdir_create(void)
{
	char *dir = strdup("/tmp/maild-test-config-XXXXXX");

	assert_non_null(dir);
	assert_non_null(mkdtemp(dir));
	return dir;
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static void tmpdir_remove(char **dir)
{
	assert_int_equal(nftw(*dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS), 0);
	free(*dir);
	*dir = NULL;
}

static void write_file(const char *dir, const char *name, const char *text)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	assert_non_null(f);
	assert_int_equal(fputs(text, f) >= 0, 1);
	assert_int_equal(fclose(f), 0);
}

/* ---- a good file ---- */

static const char good_main[] = "# maild.conf\n"
                                "\n"
                                "hostname = mx.example.org\n"
                                "log.level = debug\n"
                                "state_dir = /srv/maild\n"
                                "run_as.service = root\n"
                                "admin.group = root\n"
                                "accounts.alias_max_depth = 20\n"
                                "limits.message_size = 50M\n"
                                "supervisor.shutdown_timeout = 30s\n"
                                "   # an indented comment\n"
                                "smtp.listen = 192.0.2.1:25, [2001:db8::1]:25\n"
                                "\n"
                                "[tls]\n"
                                "cert_file = /etc/ssl/mx.pem\n"
                                "key_file  =   /etc/ssl/mx.key   \n"
                                "[accounts]\n"
                                "recipient_delimiter = -\n"
                                "postmaster = admin@example.org\n";

static void test_good_file_sets_every_type(void **state)
{
	struct config_listen l[4];
	struct config *c = load_ok(good_main);

	(void)state;
	assert_string_equal(config_str(c, "hostname"), "mx.example.org");
	assert_string_equal(config_str(c, "log.level"), "debug");
	assert_string_equal(config_str(c, "state_dir"), "/srv/maild");
	assert_string_equal(config_str(c, "run_as.service"), "root");
	assert_string_equal(config_str(c, "admin.group"), "root");
	assert_int_equal(config_uint(c, "accounts.alias_max_depth"), 20);
	assert_int_equal(config_uint(c, "limits.message_size"), 50 * 1024 * 1024);
	assert_int_equal(config_uint(c, "supervisor.shutdown_timeout"), 30000);
	assert_int_equal(config_listen(c, "smtp.listen", l, 4), 2);
	assert_string_equal(l[0].host, "192.0.2.1");
	assert_int_equal(l[0].port, 25);
	assert_string_equal(l[1].host, "2001:db8::1");
	assert_string_equal(config_str(c, "tls.cert_file"), "/etc/ssl/mx.pem");
	assert_string_equal(config_str(c, "tls.key_file"), "/etc/ssl/mx.key");
	assert_string_equal(config_str(c, "accounts.recipient_delimiter"), "-");
	assert_string_equal(config_str(c, "accounts.postmaster"), "admin@example.org");
	/* untouched keys keep their defaults */
	assert_string_equal(config_str(c, "run_dir"), "/run/maild");
	assert_int_equal(config_uint(c, "supervisor.restart_delay_max"), 30000);
	assert_string_equal(config_path(c), "");
	config_free(&c);
	assert_null(c);
}

static void test_dropins_override_the_main_file_in_lexical_order(void **state)
{
	char *dir = tmpdir_create();
	char main_path[512], dropin[512];
	struct config_errors errors = {0};
	struct config *c = NULL;
	const char *origin;
	unsigned line;

	(void)state;
	write_file(dir, "maild.conf", good_main);
	snprintf(dropin, sizeof(dropin), "%s/conf.d", dir);
	assert_int_equal(mkdir(dropin, 0700), 0);
	write_file(dir, "conf.d/20-late.conf", "\n\nhostname = late.example.org\n");
	write_file(dir, "conf.d/10-early.conf",
	           "hostname = early.example.org\nlog.level = warning\n");
	/* not *.conf, or a dot file: never read, so their garbage is no error */
	write_file(dir, "conf.d/README", "garbage\n");
	write_file(dir, "conf.d/.hidden.conf", "garbage\n");
	write_file(dir, "conf.d/30.conf.orig", "garbage\n");
	snprintf(main_path, sizeof(main_path), "%s/maild.conf", dir);

	assert_int_equal(config_load(main_path, &c, &errors), 0);
	assert_int_equal(errors.count, 0);
	assert_string_equal(config_path(c), main_path);
	assert_string_equal(config_str(c, "hostname"), "late.example.org");
	assert_string_equal(config_str(c, "log.level"), "warning");
	origin = config_origin(c, "hostname", &line);
	snprintf(dropin, sizeof(dropin), "%s/conf.d/20-late.conf", dir);
	assert_string_equal(origin, dropin);
	assert_int_equal(line, 3);
	origin = config_origin(c, "state_dir", &line);
	assert_string_equal(origin, main_path);
	assert_int_equal(line, 5);
	assert_null(config_origin(c, "run_dir", &line));
	assert_int_equal(line, 0);
	config_free(&c);
	tmpdir_remove(&dir);
}

static void test_errors_name_the_dropin_and_its_line(void **state)
{
	char *dir = tmpdir_create();
	char main_path[512], expected[1024];
	struct config_errors errors = {0};
	struct config *c = NULL;

	(void)state;
	write_file(dir, "maild.conf", "hostname = a\n");
	snprintf(main_path, sizeof(main_path), "%s/conf.d", dir);
	assert_int_equal(mkdir(main_path, 0700), 0);
	write_file(dir, "conf.d/a.conf", "# fine\nlog.level = loud\n");
	snprintf(main_path, sizeof(main_path), "%s/maild.conf", dir);

	assert_int_equal(config_load(main_path, &c, &errors), -1);
	assert_null(c);
	assert_int_equal(errors.count, 1);
	snprintf(expected, sizeof(expected),
	         "%s/conf.d/a.conf:2: log.level: invalid value 'loud' (expected debug, info, "
	         "notice, warning, error)",
	         dir);
	assert_string_equal(errors.lines[0], expected);
	config_errors_clear(&errors);
	tmpdir_remove(&dir);
}

static void test_missing_file_cannot_be_opened(void **state)
{
	struct config_errors errors = {0};
	struct config *c = NULL;

	(void)state;
	assert_int_equal(config_load("/nonexistent/maild.conf", &c, &errors), -1);
	assert_null(c);
	assert_int_equal(errors.count, 1);
	assert_string_equal(errors.lines[0],
	                    "/nonexistent/maild.conf: cannot open: No such file or directory");
	config_errors_clear(&errors);
}

static void test_file_at_size_limit_loads_and_one_byte_more_fails(void **state)
{
	char *dir = tmpdir_create();
	char path[512], expected[600];
	struct config_errors errors = {0};
	struct config *c = NULL;
	char *text = malloc(CONFIG_FILE_MAX + 2);

	(void)state;
	assert_non_null(text);
	/* comment lines of 1024 bytes each, then a last line making it exactly the limit */
	memset(text, 'x', CONFIG_FILE_MAX + 1);
	for (size_t i = 0; i < CONFIG_FILE_MAX; i += 1024) {
		text[i] = '#';
		text[i + 1023] = '\n';
	}
	text[CONFIG_FILE_MAX] = '\0';
	write_file(dir, "maild.conf", text);
	snprintf(path, sizeof(path), "%s/maild.conf", dir);
	assert_int_equal(config_load(path, &c, &errors), 0);
	config_free(&c);

	text[CONFIG_FILE_MAX] = '\n';
	text[CONFIG_FILE_MAX + 1] = '\0';
	write_file(dir, "maild.conf", text);
	assert_int_equal(config_load(path, &c, &errors), -1);
	assert_int_equal(errors.count, 1);
	snprintf(expected, sizeof(expected), "%s: file too large (max %d bytes)", path,
	         CONFIG_FILE_MAX);
	assert_string_equal(errors.lines[0], expected);
	config_errors_clear(&errors);
	free(text);
	tmpdir_remove(&dir);
}

/* ---- each kind of error ---- */

static void test_unknown_key_suggests_the_nearest_known_key(void **state)
{
	(void)state;
	CHECK_ERROR("tls.certfile = /x\n",
	            "unknown key 'tls.certfile' (did you mean 'tls.cert_file'?)");
	CHECK_ERROR("smtp.lsiten = *:25\n",
	            "unknown key 'smtp.lsiten' (did you mean 'smtp.listen'?)");
	CHECK_ERROR("SMTP.Listen = *:25\n",
	            "unknown key 'SMTP.Listen' (did you mean 'smtp.listen'?)");
	CHECK_ERRORS("[tls]\ncertfile = /x\n",
	             NAME ":2: unknown key 'tls.certfile' (did you mean 'tls.cert_file'?)");
	CHECK_ERROR("frobnicate = 1\n", "unknown key 'frobnicate'");
	CHECK_ERROR("host = x\n", "unknown key 'host'");
}

static void test_bad_boolean_is_rejected(void **state)
{
	char error[CONFIG_ERROR_MAX];
	bool b = false;

	(void)state;
	/* No key of the table is a BOOL yet: the parser every BOOL key goes through. */
	assert_int_equal(config_parse_bool("maybe", &b, error), -1);
	assert_string_equal(error, "invalid boolean 'maybe' (use yes or no)");
	assert_int_equal(config_parse_bool("", &b, error), -1);
	assert_int_equal(config_parse_bool("yess", &b, error), -1);
	assert_int_equal(config_parse_bool("Yes", &b, error), 0);
	assert_true(b);
	assert_int_equal(config_parse_bool("off", &b, error), 0);
	assert_false(b);
	assert_int_equal(config_parse_bool("TRUE", &b, error), 0);
	assert_true(b);
	assert_int_equal(config_parse_bool("false", &b, error), 0);
	assert_false(b);
}

static void test_bad_size_is_rejected(void **state)
{
	(void)state;
	CHECK_ERROR("limits.message_size = 25X\n",
	            "limits.message_size: invalid size '25X' (use a number with K, M or G)");
	CHECK_ERROR("limits.message_size = M\n",
	            "limits.message_size: invalid size 'M' (use a number with K, M or G)");
	CHECK_ERROR("limits.message_size = -1\n",
	            "limits.message_size: invalid size '-1' (use a number with K, M or G)");
	CHECK_ERROR("limits.message_size = 25 M\n",
	            "limits.message_size: invalid size '25 M' (use a number with K, M or G)");
	CHECK_ERROR("limits.message_size =\n",
	            "limits.message_size: invalid size '' (use a number with K, M or G)");
}

static void test_overflowing_size_is_rejected(void **state)
{
	(void)state;
	CHECK_ERROR("limits.message_size = 99999999999999999999K\n",
	            "limits.message_size: size too large '99999999999999999999K'");
	/* 2^34 G = 2^64 bytes: the digits fit, the product does not */
	CHECK_ERROR("limits.message_size = 17179869184G\n",
	            "limits.message_size: size too large '17179869184G'");
}

static void test_size_out_of_range_is_rejected_at_both_ends(void **state)
{
	struct config *c;

	(void)state;
	CHECK_ERROR("limits.message_size = 1023\n",
	            "limits.message_size: '1023' is out of range (1K..2G)");
	CHECK_ERROR("limits.message_size = 2049M\n",
	            "limits.message_size: '2049M' is out of range (1K..2G)");
	c = load_ok("limits.message_size = 1K\n");
	assert_int_equal(config_uint(c, "limits.message_size"), 1024);
	config_free(&c);
	c = load_ok("limits.message_size = 2g\n");
	assert_int_equal(config_uint(c, "limits.message_size"), 2ull << 30);
	config_free(&c);
}

static void test_duration_out_of_range_is_rejected(void **state)
{
	struct config *c;

	(void)state;
	CHECK_ERROR("supervisor.shutdown_timeout = 10m\n",
	            "supervisor.shutdown_timeout: '10m' is out of range (1s..5m)");
	CHECK_ERROR("supervisor.shutdown_timeout = 999ms\n",
	            "supervisor.shutdown_timeout: '999ms' is out of range (1s..5m)");
	CHECK_ERROR("supervisor.restart_delay_max = 99ms\n",
	            "supervisor.restart_delay_max: '99ms' is out of range (100ms..1h)");
	CHECK_ERROR("supervisor.health_interval = 10x\n",
	            "supervisor.health_interval: invalid duration '10x' (use a number with ms, s, "
	            "m, h or d)");
	CHECK_ERROR("supervisor.health_interval = 99999999999999999d\n",
	            "supervisor.health_interval: duration too long '99999999999999999d'");
	c = load_ok("supervisor.shutdown_timeout = 5m\nsupervisor.restart_delay_max = 100ms\n"
	            "supervisor.health_interval = 90\n");
	assert_int_equal(config_uint(c, "supervisor.shutdown_timeout"), 300000);
	assert_int_equal(config_uint(c, "supervisor.restart_delay_max"), 100);
	assert_int_equal(config_uint(c, "supervisor.health_interval"), 90000);
	config_free(&c);
}

static void test_uint_is_checked(void **state)
{
	struct config *c;

	(void)state;
	CHECK_ERROR("accounts.alias_max_depth = 0\n",
	            "accounts.alias_max_depth: '0' is out of range (1..100)");
	CHECK_ERROR("accounts.alias_max_depth = 101\n",
	            "accounts.alias_max_depth: '101' is out of range (1..100)");
	CHECK_ERROR("accounts.alias_max_depth = 1e3\n",
	            "accounts.alias_max_depth: invalid number '1e3'");
	CHECK_ERROR("accounts.alias_max_depth = +5\n",
	            "accounts.alias_max_depth: invalid number '+5'");
	CHECK_ERROR("accounts.alias_max_depth = 18446744073709551616\n",
	            "accounts.alias_max_depth: number too large '18446744073709551616'");
	c = load_ok("accounts.alias_max_depth = 007\n");
	assert_int_equal(config_uint(c, "accounts.alias_max_depth"), 7);
	assert_string_equal(config_value_text(c, "accounts.alias_max_depth"), "7");
	config_free(&c);
}

static void test_bad_enum_lists_the_choices(void **state)
{
	(void)state;
	CHECK_ERROR("log.level = Debug\n",
	            "log.level: invalid value 'Debug' (expected debug, info, notice, warning, "
	            "error)");
}

static void test_bad_listen_is_rejected(void **state)
{
	(void)state;
	CHECK_ERROR("smtp.listen = 0.0.0.0:99999\n", "smtp.listen: invalid port '99999'");
	CHECK_ERROR("smtp.listen = *:0\n", "smtp.listen: invalid port '0'");
	CHECK_ERROR("smtp.listen = *:65536\n", "smtp.listen: invalid port '65536'");
	CHECK_ERROR("smtp.listen = *:smtp\n", "smtp.listen: invalid port 'smtp'");
	CHECK_ERROR("smtp.listen = 127.0.0.1\n", "smtp.listen: missing port in '127.0.0.1'");
	CHECK_ERROR("smtp.listen = 127.0.0.1:\n", "smtp.listen: missing port in '127.0.0.1:'");
	CHECK_ERROR("smtp.listen = [::1]\n", "smtp.listen: missing port in '[::1]'");
	CHECK_ERROR("smtp.listen = [::1:25\n", "smtp.listen: invalid address '[::1:25'");
	CHECK_ERROR("smtp.listen = [::1]25\n", "smtp.listen: invalid address '[::1]25'");
	CHECK_ERROR("smtp.listen = [::g]:25\n", "smtp.listen: invalid address '[::g]:25'");
	CHECK_ERROR("smtp.listen = []:25\n", "smtp.listen: invalid address '[]:25'");
	CHECK_ERROR("smtp.listen = ::1:25\n", "smtp.listen: invalid address '::1:25'");
	CHECK_ERROR("smtp.listen = :25\n", "smtp.listen: invalid address ':25'");
	CHECK_ERROR("smtp.listen = *:25, bad host:25\n", "smtp.listen: missing port in 'bad'");
}

static void test_listen_at_address_limit_loads_and_one_more_fails(void **state)
{
	char text[64 * (CONFIG_LISTEN_MAX + 1) + 64];
	size_t len = (size_t)snprintf(text, sizeof(text), "imap.listen =");
	struct config *c;

	(void)state;
	for (int i = 0; i < CONFIG_LISTEN_MAX; i++)
		len += (size_t)snprintf(text + len, sizeof(text) - len, " *:%d", 1000 + i);
	c = load_ok(text);
	assert_int_equal(config_listen(c, "imap.listen", NULL, 0), CONFIG_LISTEN_MAX);
	config_free(&c);
	snprintf(text + len, sizeof(text) - len, " *:9");
	CHECK_ERROR(text, "imap.listen: too many addresses (max 64)");
}

static void test_relative_path_is_rejected(void **state)
{
	(void)state;
	CHECK_ERROR("tls.cert_file = etc/maild/cert.pem\n",
	            "tls.cert_file: not an absolute path 'etc/maild/cert.pem'");
	CHECK_ERROR("run_dir =\n", "run_dir: not an absolute path ''");
}

static void test_unknown_user_and_group_are_rejected(void **state)
{
	(void)state;
	CHECK_ERRORS("run_as.mailbox = maild-no-such-user\nadmin.group = maild-no-such-group\n",
	             NAME ":1: run_as.mailbox: unknown user 'maild-no-such-user'",
	             NAME ":2: admin.group: unknown group 'maild-no-such-group'");
}

static void test_validator_failure_is_reported(void **state)
{
	struct config *c;

	(void)state;
	CHECK_ERROR("accounts.recipient_delimiter = ++\n",
	            "accounts.recipient_delimiter: invalid value '++': must be empty or one of the "
	            "characters + - _ . =");
	CHECK_ERROR("accounts.recipient_delimiter = #\n",
	            "accounts.recipient_delimiter: invalid value '#': must be empty or one of the "
	            "characters + - _ . =");
	CHECK_ERROR("accounts.postmaster = postmaster\n",
	            "accounts.postmaster: invalid value 'postmaster': must be empty or an address "
	            "local@domain");
	CHECK_ERROR("accounts.postmaster = a@b@c\n",
	            "accounts.postmaster: invalid value 'a@b@c': must be empty or an address "
	            "local@domain");
	CHECK_ERROR(
	    "accounts.postmaster = @example.org\n",
	    "accounts.postmaster: invalid value '@example.org': must be empty or an address "
	    "local@domain");
	CHECK_ERROR("accounts.postmaster = a b@example.org\n",
	            "accounts.postmaster: invalid value 'a b@example.org': an address may not "
	            "contain spaces or control characters");
	c = load_ok("accounts.recipient_delimiter =\naccounts.postmaster =\n");
	assert_string_equal(config_str(c, "accounts.recipient_delimiter"), "");
	config_free(&c);
}

static void test_line_without_equals_is_a_syntax_error(void **state)
{
	(void)state;
	CHECK_ERROR("hostname mx.example.org\n", "syntax error: expected 'key = value'");
	CHECK_ERROR("= value\n", "syntax error: expected 'key = value'");
	/* libinih alone would take these as "name: value" and a ';' comment */
	CHECK_ERROR("hostname: mx.example.org\n", "syntax error: expected 'key = value'");
	CHECK_ERROR("; a comment\n", "syntax error: expected 'key = value'");
	CHECK_ERROR("smtp listen = *:25\n", "syntax error: expected 'key = value'");
}

#define SECTION_48 "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"

static void test_bad_section_lines_are_errors_and_their_keys_ignored(void **state)
{
	(void)state;
	CHECK_ERRORS("[smtp\nlisten = nonsense\n[]\nlisten = nonsense\n[smtp] x\n[a b]\n"
	             "[smtp]\nlisten = *:25\nbogus = 1\n",
	             NAME ":1: syntax error: expected '[section]'",
	             NAME ":3: syntax error: expected '[section]'",
	             NAME ":5: syntax error: expected '[section]'",
	             NAME ":6: syntax error: expected '[section]'",
	             NAME ":9: unknown key 'smtp.bogus'");
	/* libinih would silently cut a longer section name */
	CHECK_ERROR("[" SECTION_48 "a]\nx = 1\n", "section name too long (max 48 bytes)");
	CHECK_ERRORS("[" SECTION_48 "]\nx = 1\n", NAME ":2: unknown key '" SECTION_48 ".x'");
}

static void test_nul_byte_is_an_error(void **state)
{
	static const char text[] = "hostname = a\0b\nlog.level = info\n\0\n";
	static const char *const expected[] = {
	    NAME ":1: syntax error: NUL byte",
	    NAME ":3: syntax error: NUL byte",
	};

	(void)state;
	check_errors_len(text, sizeof(text) - 1, expected, 2);
}

static void test_control_character_is_an_error(void **state)
{
	(void)state;
	CHECK_ERROR("hostname = a\x1b[31mb\n", "syntax error: control character");
	CHECK_ERROR("hostname = a\rb\n", "syntax error: control character");
}

static void test_every_error_is_reported_in_one_pass(void **state)
{
	(void)state;
	CHECK_ERRORS("# two good lines, five bad\n"
	             "hostname = mx\n"
	             "tls.certfile = /x\n"
	             "limits.message_size = 3G\n"
	             "\n"
	             "smtp.listen = *:99999\n"
	             "junk\n"
	             "log.level = info\n"
	             "run_dir = run\n",
	             NAME ":3: unknown key 'tls.certfile' (did you mean 'tls.cert_file'?)",
	             NAME ":4: limits.message_size: '3G' is out of range (1K..2G)",
	             NAME ":6: smtp.listen: invalid port '99999'",
	             NAME ":7: syntax error: expected 'key = value'",
	             NAME ":9: run_dir: not an absolute path 'run'");
}

static void test_errors_stop_being_stored_after_the_limit(void **state)
{
	size_t lines = CONFIG_ERRORS_MAX + 20;
	char *text = malloc(lines * 8 + 1);
	struct config_errors errors = {0};
	struct config *c = NULL;
	char expected[64];

	(void)state;
	assert_non_null(text);
	for (size_t i = 0; i < lines; i++)
		memcpy(text + i * 8, "garbage\n", 8);
	assert_int_equal(config_load_string(NAME, text, lines * 8, &c, &errors), -1);
	assert_int_equal(errors.count, CONFIG_ERRORS_MAX + 1);
	snprintf(expected, sizeof(expected), NAME ":%d: syntax error: expected 'key = value'",
	         CONFIG_ERRORS_MAX);
	assert_string_equal(errors.lines[CONFIG_ERRORS_MAX - 1], expected);
	snprintf(expected, sizeof(expected), NAME ":%d: too many errors, not reporting more",
	         CONFIG_ERRORS_MAX + 1);
	assert_string_equal(errors.lines[CONFIG_ERRORS_MAX], expected);
	config_errors_clear(&errors);
	/* without an errors_r the result is the same */
	assert_int_equal(config_load_string(NAME, text, lines * 8, &c, NULL), -1);
	assert_null(c);
	free(text);
}

static void test_line_at_length_limit_loads_and_one_byte_more_fails(void **state)
{
	char *text = malloc(CONFIG_LINE_MAX + 8);
	char expected[64];
	struct config *c;

	(void)state;
	assert_non_null(text);
	memcpy(text, "hostname = ", 11);
	memset(text + 11, 'a', CONFIG_LINE_MAX - 11);
	memcpy(text + CONFIG_LINE_MAX, "\r\n", 3);
	c = load_ok(text);
	assert_int_equal(strlen(config_str(c, "hostname")), CONFIG_LINE_MAX - 11);
	config_free(&c);
	memcpy(text + CONFIG_LINE_MAX, "a\n", 3);
	snprintf(expected, sizeof(expected), NAME ":1: line too long (max %d bytes)",
	         CONFIG_LINE_MAX);
	{
		const char *const lines[] = {expected};
		check_errors_len(text, strlen(text), lines, 1);
	}
	free(text);
}

/* ---- what the format accepts ---- */

static void test_crlf_line_endings_are_accepted(void **state)
{
	struct config *c = load_ok("# crlf\r\n\r\nhostname = mx\r\n[smtp]\r\nlisten = *:25\r\n"
	                           "[log]\r\nlevel = error");

	(void)state;
	assert_string_equal(config_str(c, "hostname"), "mx");
	assert_string_equal(config_str(c, "smtp.listen"), "*:25");
	assert_string_equal(config_str(c, "log.level"), "error");
	config_free(&c);
}

static void test_semicolon_and_hash_inside_a_value_are_kept(void **state)
{
	struct config *c = load_ok("hostname = mx;1 # not a comment ; really\n");

	(void)state;
	assert_string_equal(config_str(c, "hostname"), "mx;1 # not a comment ; really");
	config_free(&c);
}

static void test_indented_lines_are_not_continuations(void **state)
{
	struct config *c = load_ok("hostname = mx\n    log.level = notice\n\tstate_dir = /s\n");

	(void)state;
	assert_string_equal(config_str(c, "hostname"), "mx");
	assert_string_equal(config_str(c, "log.level"), "notice");
	assert_string_equal(config_str(c, "state_dir"), "/s");
	config_free(&c);
}

static void test_later_assignment_wins_and_bom_is_skipped(void **state)
{
	unsigned line;
	struct config *c = load_ok("\xef\xbb\xbfhostname = a\nhostname = b\n");

	(void)state;
	assert_string_equal(config_str(c, "hostname"), "b");
	assert_string_equal(config_origin(c, "hostname", &line), NAME);
	assert_int_equal(line, 2);
	config_free(&c);
}

static void test_empty_text_gives_the_defaults(void **state)
{
	struct config *c = load_ok_len(NULL, 0);

	(void)state;
	for (size_t i = 0; i < config_keys_count; i++)
		assert_true(config_is_default(c, config_keys[i].name));
	config_free(&c);
}

/* ---- reload ---- */

static uint32_t changed(const char *old_text, const char *new_text, bool *supervisor_r)
{
	struct config *a = load_ok(old_text), *b = load_ok(new_text);
	uint32_t roles = config_changed_roles(a, b, supervisor_r);

	config_free(&a);
	config_free(&b);
	return roles;
}

static void test_changed_roles_names_only_the_readers_of_a_changed_key(void **state)
{
	bool supervisor = true;

	(void)state;
	assert_int_equal(changed("accounts.alias_max_depth = 5\n", "accounts.alias_max_depth = 6\n",
	                         &supervisor),
	                 ROLE_BIT(ROLE_ACCOUNTS));
	assert_false(supervisor);
	assert_int_equal(changed("", "limits.message_size = 10M\n", &supervisor),
	                 ROLE_BIT(ROLE_SMTP) | ROLE_BIT(ROLE_IMAP) | ROLE_BIT(ROLE_DELIVERY));
	assert_false(supervisor);
	/* Live keys restart nothing: the supervisor hands the new certificate over itself. */
	assert_int_equal(changed("", "tls.cert_file = /x\n", &supervisor), 0);
	assert_false(supervisor);
	assert_int_equal(changed("", "log.level = debug\n", &supervisor), ROLE_ALL);
	assert_false(supervisor);
}

static void test_same_value_spelt_differently_is_no_change(void **state)
{
	bool supervisor = true;

	(void)state;
	assert_int_equal(
	    changed("limits.message_size = 25M\nsupervisor.health_interval = 60s\n"
	            "smtp.listen = *:25, 127.0.0.1:2525\naccounts.alias_max_depth = 10\n",
	            "limits.message_size = 26214400\nsupervisor.health_interval = 1m\n"
	            "smtp.listen =  *:25   127.0.0.1:2525 \n",
	            &supervisor),
	    0);
	assert_false(supervisor);
}

static void test_changed_supervisor_key_sets_the_supervisor_flag(void **state)
{
	bool supervisor = false;

	(void)state;
	assert_int_equal(changed("", "run_dir = /run/other\n", &supervisor), 0);
	assert_true(supervisor);
	assert_int_equal(changed("", "supervisor.shutdown_timeout = 20s\n", NULL), 0);
}

/* ---- defaults and the table ---- */

static void test_defaults_have_every_key(void **state)
{
	struct config *c = config_defaults();
	struct config_listen l[2];
	unsigned line = 99;

	(void)state;
	for (size_t i = 0; i < config_keys_count; i++) {
		const struct config_key *key = &config_keys[i];
		assert_ptr_equal(config_key_find(key->name), key);
		assert_string_equal(config_value_text(c, key->name), key->default_value);
		assert_true(config_is_default(c, key->name));
		assert_null(config_origin(c, key->name, &line));
		assert_int_equal(line, 0);
		assert_non_null(key->help);
		assert_true(strlen(key->help) > 10);
		assert_null(strchr(key->help, '\n'));
	}
	assert_true(config_keys_count >= 24); /* later issues add keys */
	assert_string_equal(config_path(c), "");
	assert_string_equal(config_str(c, "hostname"), "");
	assert_string_equal(config_str(c, "log.level"), "info");
	assert_string_equal(config_str(c, "run_as.service"), "maild");
	assert_string_equal(config_str(c, "run_as.mailbox"), "vmail");
	assert_string_equal(config_str(c, "admin.group"), "maild-admin");
	assert_string_equal(config_str(c, "accounts.recipient_delimiter"), "+");
	assert_int_equal(config_uint(c, "limits.message_size"), 25 * 1024 * 1024);
	assert_int_equal(config_uint(c, "supervisor.restart_delay_max"), 30000);
	assert_int_equal(config_uint(c, "accounts.alias_max_depth"), 10);
	assert_int_equal(config_listen(c, "submission.listen", l, 2), 1);
	assert_string_equal(l[0].host, "0.0.0.0");
	assert_int_equal(l[0].port, 587);
	assert_null(config_key_find("nonexistent"));
	config_free(&c);
	config_free(&c); /* NULL is fine */
}

static void test_key_table_is_sorted(void **state)
{
	(void)state;
	for (size_t i = 1; i < config_keys_count; i++)
		assert_true(strcmp(config_keys[i - 1].name, config_keys[i].name) < 0);
}

static void test_value_set_to_its_default_counts_as_default(void **state)
{
	unsigned line;
	struct config *c = load_ok("limits.message_size = 26214400\nhostname = x\n");

	(void)state;
	assert_true(config_is_default(c, "limits.message_size"));
	assert_non_null(config_origin(c, "limits.message_size", &line));
	assert_int_equal(line, 1);
	assert_false(config_is_default(c, "hostname"));
	assert_string_equal(config_value_text(c, "limits.message_size"), "26214400");
	config_free(&c);
}

/* ---- listen values ---- */

static void test_listen_values_are_parsed(void **state)
{
	struct config_listen l[4];
	struct config *c = load_ok("smtp.listen = [::1]:2525\n"
	                           "submission.listen = *:25\n"
	                           "smtps.listen = 127.0.0.1:2525 127.0.0.1:2526\n"
	                           "imap.listen = , mx.example.org:143,[fe80::1%eth0]:143 ,\n"
	                           "imaps.listen =\n");

	(void)state;
	assert_int_equal(config_listen(c, "smtp.listen", l, 4), 1);
	assert_string_equal(l[0].host, "::1");
	assert_int_equal(l[0].port, 2525);
	assert_int_equal(config_listen(c, "submission.listen", l, 4), 1);
	assert_string_equal(l[0].host, "");
	assert_int_equal(l[0].port, 25);
	assert_int_equal(config_listen(c, "smtps.listen", l, 4), 2);
	assert_string_equal(l[0].host, "127.0.0.1");
	assert_int_equal(l[0].port, 2525);
	assert_string_equal(l[1].host, "127.0.0.1");
	assert_int_equal(l[1].port, 2526);
	assert_int_equal(config_listen(c, "imap.listen", l, 1), 2); /* counts past max */
	assert_string_equal(l[0].host, "mx.example.org");
	assert_int_equal(config_listen(c, "imap.listen", l, 4), 2);
	assert_string_equal(l[1].host, "fe80::1%eth0");
	assert_int_equal(config_listen(c, "imaps.listen", l, 4), 0);
	assert_string_equal(config_str(c, "imaps.listen"), "");
	assert_string_equal(config_str(c, "smtps.listen"), "127.0.0.1:2525 127.0.0.1:2526");
	config_free(&c);
}

/* ---- value parsers and formatters ---- */

static void test_formatters_pick_the_largest_exact_unit(void **state)
{
	char buf[CONFIG_NUMBER_MAX];

	(void)state;
	config_format_size(25 * 1024 * 1024, buf);
	assert_string_equal(buf, "25M");
	config_format_size(1536, buf);
	assert_string_equal(buf, "1536");
	config_format_size(0, buf);
	assert_string_equal(buf, "0");
	config_format_size(2ull << 30, buf);
	assert_string_equal(buf, "2G");
	config_format_duration(100, buf);
	assert_string_equal(buf, "100ms");
	config_format_duration(90000, buf);
	assert_string_equal(buf, "90s");
	config_format_duration(86400000, buf);
	assert_string_equal(buf, "1d");
}

static void test_duration_units(void **state)
{
	char error[CONFIG_ERROR_MAX];
	uint64_t ms;

	(void)state;
	assert_int_equal(config_parse_duration("250ms", &ms, error), 0);
	assert_int_equal(ms, 250);
	assert_int_equal(config_parse_duration("2m", &ms, error), 0);
	assert_int_equal(ms, 120000);
	assert_int_equal(config_parse_duration("3h", &ms, error), 0);
	assert_int_equal(ms, 3 * 3600000);
	assert_int_equal(config_parse_duration("1d", &ms, error), 0);
	assert_int_equal(ms, 86400000);
	assert_int_equal(config_parse_duration("7", &ms, error), 0);
	assert_int_equal(ms, 7000);
	assert_int_equal(config_parse_duration("1.5s", &ms, error), -1);
	assert_int_equal(config_parse_duration("5 s", &ms, error), -1);
	assert_int_equal(config_parse_duration("5S", &ms, error), -1);
}

/* ---- programming errors ---- */

static void expect_abort(void (*fn)(const struct config *c))
{
	struct config *c = config_defaults();
	int status;
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0) {
		/* the child's message is expected; keep the test output clean */
		int fd = open("/dev/null", O_WRONLY);
		dup2(fd, 2);
		fn(c);
		_exit(0);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFSIGNALED(status));
	assert_int_equal(WTERMSIG(status), SIGABRT);
	config_free(&c);
}

static void ask_unknown_key(const struct config *c)
{
	config_str(c, "tls.certfile");
}

static void ask_number_as_text(const struct config *c)
{
	config_str(c, "limits.message_size");
}

static void ask_text_as_bool(const struct config *c)
{
	config_bool(c, "hostname");
}

static void test_accessor_misuse_aborts(void **state)
{
	(void)state;
	expect_abort(ask_unknown_key);
	expect_abort(ask_number_as_text);
	expect_abort(ask_text_as_bool);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_good_file_sets_every_type),
	    cmocka_unit_test(test_dropins_override_the_main_file_in_lexical_order),
	    cmocka_unit_test(test_errors_name_the_dropin_and_its_line),
	    cmocka_unit_test(test_missing_file_cannot_be_opened),
	    cmocka_unit_test(test_file_at_size_limit_loads_and_one_byte_more_fails),
	    cmocka_unit_test(test_unknown_key_suggests_the_nearest_known_key),
	    cmocka_unit_test(test_bad_boolean_is_rejected),
	    cmocka_unit_test(test_bad_size_is_rejected),
	    cmocka_unit_test(test_overflowing_size_is_rejected),
	    cmocka_unit_test(test_size_out_of_range_is_rejected_at_both_ends),
	    cmocka_unit_test(test_duration_out_of_range_is_rejected),
	    cmocka_unit_test(test_uint_is_checked),
	    cmocka_unit_test(test_bad_enum_lists_the_choices),
	    cmocka_unit_test(test_bad_listen_is_rejected),
	    cmocka_unit_test(test_listen_at_address_limit_loads_and_one_more_fails),
	    cmocka_unit_test(test_relative_path_is_rejected),
	    cmocka_unit_test(test_unknown_user_and_group_are_rejected),
	    cmocka_unit_test(test_validator_failure_is_reported),
	    cmocka_unit_test(test_line_without_equals_is_a_syntax_error),
	    cmocka_unit_test(test_bad_section_lines_are_errors_and_their_keys_ignored),
	    cmocka_unit_test(test_nul_byte_is_an_error),
	    cmocka_unit_test(test_control_character_is_an_error),
	    cmocka_unit_test(test_every_error_is_reported_in_one_pass),
	    cmocka_unit_test(test_errors_stop_being_stored_after_the_limit),
	    cmocka_unit_test(test_line_at_length_limit_loads_and_one_byte_more_fails),
	    cmocka_unit_test(test_crlf_line_endings_are_accepted),
	    cmocka_unit_test(test_semicolon_and_hash_inside_a_value_are_kept),
	    cmocka_unit_test(test_indented_lines_are_not_continuations),
	    cmocka_unit_test(test_later_assignment_wins_and_bom_is_skipped),
	    cmocka_unit_test(test_empty_text_gives_the_defaults),
	    cmocka_unit_test(test_changed_roles_names_only_the_readers_of_a_changed_key),
	    cmocka_unit_test(test_same_value_spelt_differently_is_no_change),
	    cmocka_unit_test(test_changed_supervisor_key_sets_the_supervisor_flag),
	    cmocka_unit_test(test_defaults_have_every_key),
	    cmocka_unit_test(test_key_table_is_sorted),
	    cmocka_unit_test(test_value_set_to_its_default_counts_as_default),
	    cmocka_unit_test(test_listen_values_are_parsed),
	    cmocka_unit_test(test_formatters_pick_the_largest_exact_unit),
	    cmocka_unit_test(test_duration_units),
	    cmocka_unit_test(test_accessor_misuse_aborts),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
