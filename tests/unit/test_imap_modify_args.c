/* STORE and APPEND argument grammar (RFC 9051 6.4.6, 6.3.12, RFC 7162 3.1.3) and the
   date-time of APPEND. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "imap_modify_args.h"
#include "imap_parser.h"

static struct imap_parser *parser;

/* The arguments of one command line, parsed by the real parser (valid until the next call). */
static const struct imap_command *parse(const char *line)
{
	struct imap_parser_limits limits;
	size_t used;

	imap_parser_free(&parser);
	imap_parser_limits_default(&limits, true);
	parser = imap_parser_new(&limits, 0);
	assert_int_equal(imap_parser_feed(parser, (const uint8_t *)line, strlen(line), &used),
	                 IMAP_PARSE_COMMAND);
	return imap_parser_command(parser);
}

static int store(const char *line, struct imap_store_args *a, const char **error)
{
	const struct imap_command *cmd = parse(line);

	*error = NULL;
	return imap_store_args_parse(cmd->args->next, a, error);
}

static void test_store_items(void **state)
{
	struct imap_store_args a;
	const char *error;

	(void)state;
	assert_int_equal(store("a STORE 1 FLAGS (\\Seen)\r\n", &a, &error), 0);
	assert_int_equal(a.op, IMAP_STORE_OP_SET);
	assert_false(a.silent);
	assert_true(a.flags_list);
	assert_int_equal(a.flags->count, 1);
	assert_int_equal(store("a STORE 1 +flags.silent \\Seen $Work\r\n", &a, &error), 0);
	assert_int_equal(a.op, IMAP_STORE_OP_ADD);
	assert_true(a.silent);
	assert_false(a.flags_list);
	assert_string_equal(a.flags->str, "\\Seen");
	assert_string_equal(a.flags->next->str, "$Work");
	assert_int_equal(store("a STORE 1 -FLAGS ()\r\n", &a, &error), 0);
	assert_int_equal(a.op, IMAP_STORE_OP_REMOVE);
	assert_null(a.flags->list);
	assert_false(a.unchangedsince_set);
}

static void test_store_unchangedsince(void **state)
{
	struct imap_store_args a;
	const char *error;

	(void)state;
	assert_int_equal(store("a STORE 1 (UNCHANGEDSINCE 0) +FLAGS (\\Seen)\r\n", &a, &error), 0);
	assert_true(a.unchangedsince_set);
	assert_int_equal(a.unchangedsince, 0);
	assert_int_equal(
	    store("a STORE 1 (unchangedsince 9223372036854775807) FLAGS ()\r\n", &a, &error), 0);
	assert_int_equal(a.unchangedsince, 9223372036854775807ull);
	/* one past mod-sequence-value's range, leading zeros, signs, repeats, unknown */
	static const char *const bad[] = {
	    "a STORE 1 (UNCHANGEDSINCE 9223372036854775808) FLAGS ()\r\n",
	    "a STORE 1 (UNCHANGEDSINCE 01) FLAGS ()\r\n",
	    "a STORE 1 (UNCHANGEDSINCE -1) FLAGS ()\r\n",
	    "a STORE 1 (UNCHANGEDSINCE) FLAGS ()\r\n",
	    "a STORE 1 (UNCHANGEDSINCE 1 UNCHANGEDSINCE 2) FLAGS ()\r\n",
	    "a STORE 1 (FOO 1) FLAGS ()\r\n",
	    "a STORE 1 () FLAGS ()\r\n",
	    "a STORE 1 (UNCHANGEDSINCE \"5\") FLAGS ()\r\n",
	    "a STORE 1 (UNCHANGEDSINCE 99999999999999999999999) FLAGS ()\r\n",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(store(bad[i], &a, &error), -1);
		assert_non_null(error);
	}
}

static void test_store_bad_items(void **state)
{
	static const char *const bad[] = {
	    "a STORE 1\r\n",
	    "a STORE 1 FLAGS\r\n",
	    "a STORE 1 XFLAGS (\\Seen)\r\n",
	    "a STORE 1 +FLAGS.LOUD (\\Seen)\r\n",
	    "a STORE 1 ++FLAGS (\\Seen)\r\n",
	    "a STORE 1 FLAGS (\\Seen) extra\r\n",
	    "a STORE 1 FLAGS \\Seen \"quoted\"\r\n",
	    "a STORE 1 FLAGS \\Seen (nested)\r\n",
	    "a STORE 1 \"FLAGS\" (\\Seen)\r\n",
	};
	struct imap_store_args a;
	const char *error;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(store(bad[i], &a, &error), -1);
		assert_non_null(error);
	}
}

static void test_date_time(void **state)
{
	time_t t;

	(void)state;
	assert_int_equal(imap_date_time_parse("01-Jan-1970 00:00:00 +0000", 26, &t), 0);
	assert_int_equal(t, 0);
	assert_int_equal(imap_date_time_parse(" 5-mar-2024 10:20:30 +0100", 26, &t), 0);
	assert_int_equal(t, 1709630430);
	assert_int_equal(imap_date_time_parse("29-Feb-2024 23:59:60 -1130", 26, &t), 0);
	assert_int_equal(t, 1709292600);
	assert_int_equal(imap_date_time_parse("31-Dec-9999 23:59:59 +0000", 26, &t), 0);
	static const char *const bad[] = {
	    "29-Feb-2023 10:00:00 +0000", "31-Apr-2024 10:00:00 +0000",
	    "00-Jan-2024 10:00:00 +0000", "01-Foo-2024 10:00:00 +0000",
	    "01-Jan-1969 10:00:00 +0000", "01-Jan-2024 24:00:00 +0000",
	    "01-Jan-2024 10:60:00 +0000", "01-Jan-2024 10:00:61 +0000",
	    "01-Jan-2024 10:00:00 0000",  "01-Jan-2024 10:00:00 +2400",
	    "01-Jan-2024 10:00:00 +0060", "1-Jan-2024 10:00:00 +0000",
	    "01-Jan-2024T10:00:00 +0000", "01-Jan-2024 10:00:00 +00000",
	    "01-Jan-20x4 10:00:00 +0000", "01-Jan-1970 00:00:00 +0100",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(imap_date_time_parse(bad[i], strlen(bad[i]), &t), -1);
	assert_int_equal(imap_date_time_parse(NULL, 0, &t), -1);
}

static int append(const char *line, const struct imap_arg **flags, time_t *date)
{
	const struct imap_command *cmd = parse(line);
	const char *error = NULL;
	int ret = imap_append_args_parse(cmd->args->next, NULL, flags, date, &error);

	if (ret < 0)
		assert_non_null(error);
	return ret;
}

static void test_append_args(void **state)
{
	const struct imap_arg *flags;
	time_t date;

	(void)state;
	assert_int_equal(append("a APPEND INBOX\r\n", &flags, &date), 0);
	assert_null(flags);
	assert_int_equal(date, 0);
	assert_int_equal(append("a APPEND INBOX (\\Seen $Work)\r\n", &flags, &date), 0);
	assert_int_equal(flags->count, 2);
	assert_int_equal(
	    append("a APPEND INBOX () \"01-Jan-1970 00:00:01 +0000\"\r\n", &flags, &date), 0);
	assert_non_null(flags);
	assert_int_equal(date, 1);
	assert_int_equal(append("a APPEND INBOX \"01-Jan-1970 00:00:01 +0000\"\r\n", &flags, &date),
	                 0);
	assert_null(flags);
	static const char *const bad[] = {
	    "a APPEND INBOX \"01-Jan-1970 00:00:01 +0000\" ()\r\n",
	    "a APPEND INBOX ((nested))\r\n",
	    "a APPEND INBOX (\"quoted\")\r\n",
	    "a APPEND INBOX \"yesterday\"\r\n",
	    "a APPEND INBOX () () \r\n",
	    "a APPEND INBOX atom\r\n",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(append(bad[i], &flags, &date), -1);
}

static int teardown(void **state)
{
	(void)state;
	imap_parser_free(&parser);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_store_items),     cmocka_unit_test(test_store_unchangedsince),
	    cmocka_unit_test(test_store_bad_items), cmocka_unit_test(test_date_time),
	    cmocka_unit_test(test_append_args),
	};

	return cmocka_run_group_tests(tests, NULL, teardown);
}
