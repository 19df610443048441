/* LIST and LSUB arguments (imap_list_args.h) and STATUS item lists (imap_status_parse): real
   command lines through the command parser, then the argument checks, their limits and the
   modified UTF-7 of names. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "folder_list.h"
#include "folder_name.h"
#include "imap_list_args.h"
#include "imap_parser.h"
#include "imap_status.h"

/* The command line "a <verb> <args>\r\n" parsed; the parser lives until the next call. */
static struct imap_parser *parser;

static const struct imap_arg *args_of_bytes(const char *verb, const char *args, size_t args_len,
                                            bool utf8)
{
	struct imap_parser_limits limits;
	size_t used, len, off = 0;
	enum imap_parse_result r;
	char *line;

	imap_parser_free(&parser);
	imap_parser_limits_default(&limits, true);
	parser = imap_parser_new(&limits, utf8 ? IMAP_PARSER_UTF8 : 0);
	assert_non_null(parser);
	len = strlen(verb) + args_len + 8;
	line = malloc(len);
	assert_non_null(line);
	len = (size_t)snprintf(line, len, "a %s ", verb);
	memcpy(line + len, args, args_len);
	len += args_len;
	memcpy(line + len, "\r\n", 2);
	len += 2;
	/* literals are buffered, as the session does for LIST */
	while ((r = imap_parser_feed(parser, (const uint8_t *)line + off, len - off, &used)) ==
	       IMAP_PARSE_LITERAL) {
		off += used;
		assert_int_equal(imap_parser_literal_buffer(parser), 0);
	}
	assert_int_equal(r, IMAP_PARSE_COMMAND);
	assert_int_equal(off + used, len);
	free(line);
	return imap_parser_command(parser)->args;
}

static const struct imap_arg *args_of(const char *verb, const char *args, bool utf8)
{
	return args_of_bytes(verb, args, strlen(args), utf8);
}

static int parse(const char *args, bool lsub, bool utf8, struct imap_list_args *out,
                 const char **error_r)
{
	*error_r = NULL;
	return imap_list_args_parse(args_of(lsub ? "LSUB" : "LIST", args, utf8), lsub, utf8, out,
	                            error_r);
}

static void assert_bad(const char *args, bool lsub, const char *error)
{
	struct imap_list_args a;
	const char *e;

	assert_int_equal(parse(args, lsub, false, &a, &e), -1);
	assert_string_equal(e, error);
	assert_null(a.patterns);
	assert_null(a.reference);
}

static void test_plain_list(void **state)
{
	struct imap_list_args a;
	const char *e;

	(void)state;
	assert_int_equal(parse("\"\" *", false, false, &a, &e), 0);
	assert_string_equal(a.reference, "");
	assert_int_equal(a.pattern_count, 1);
	assert_string_equal(a.patterns[0], "*");
	assert_false(a.extended);
	assert_false(a.empty_pattern);
	assert_int_equal(a.select, 0);
	assert_int_equal(a.ret, 0);
	assert_int_equal(a.status_items, 0);
	imap_list_args_free(&a);

	/* atoms, literals and NIL are astrings too */
	assert_int_equal(parse("Work {3}\r\n%/%", false, false, &a, &e), 0);
	assert_string_equal(a.reference, "Work");
	assert_string_equal(a.patterns[0], "%/%");
	imap_list_args_free(&a);
	assert_int_equal(parse("NIL NIL", false, false, &a, &e), 0);
	assert_string_equal(a.patterns[0], "NIL");
	imap_list_args_free(&a);
}

static void test_empty_pattern_asks_for_the_separator(void **state)
{
	struct imap_list_args a;
	const char *e;

	(void)state;
	assert_int_equal(parse("\"\" \"\"", false, false, &a, &e), 0);
	assert_true(a.empty_pattern);
	assert_int_equal(a.pattern_count, 0);
	imap_list_args_free(&a);
	assert_int_equal(parse("\"\" (\"\" \"*\")", false, false, &a, &e), 0);
	assert_true(a.empty_pattern);
	assert_int_equal(a.pattern_count, 1);
	imap_list_args_free(&a);
}

static void test_selection_options(void **state)
{
	struct imap_list_args a;
	const char *e;

	(void)state;
	assert_int_equal(parse("(subscribed RECURSIVEMATCH Remote) \"\" %", false, false, &a, &e),
	                 0);
	assert_true(a.extended);
	assert_int_equal(a.select,
	                 FOLDER_SEL_SUBSCRIBED | FOLDER_SEL_RECURSIVEMATCH | FOLDER_SEL_REMOTE);
	imap_list_args_free(&a);
	assert_int_equal(parse("(SPECIAL-USE RECURSIVEMATCH) \"\" *", false, false, &a, &e), 0);
	assert_int_equal(a.select, FOLDER_SEL_SPECIAL_USE | FOLDER_SEL_RECURSIVEMATCH);
	imap_list_args_free(&a);
	/* RFC 5258: an empty option list still makes an extended LIST */
	assert_int_equal(parse("() \"\" *", false, false, &a, &e), 0);
	assert_true(a.extended);
	assert_int_equal(a.select, 0);
	imap_list_args_free(&a);

	assert_bad("(RECURSIVEMATCH) \"\" *", false,
	           "RECURSIVEMATCH needs another selection option.");
	assert_bad("(REMOTE RECURSIVEMATCH) \"\" *", false,
	           "RECURSIVEMATCH needs another selection option.");
	assert_bad("(SUBSCRIBED FOO) \"\" *", false, "Unknown LIST selection option.");
	assert_bad("((SUBSCRIBED)) \"\" *", false, "Unknown LIST selection option.");
	assert_bad("(\"SUBSCRIBED\") \"\" *", false, "Unknown LIST selection option.");
}

static void test_several_patterns(void **state)
{
	struct imap_list_args a;
	const char *e;

	(void)state;
	assert_int_equal(parse("\"\" (INBOX \"Work/*\" %)", false, false, &a, &e), 0);
	assert_true(a.extended);
	assert_int_equal(a.pattern_count, 3);
	assert_string_equal(a.patterns[0], "INBOX");
	assert_string_equal(a.patterns[1], "Work/*");
	assert_string_equal(a.patterns[2], "%");
	imap_list_args_free(&a);

	assert_bad("\"\" ()", false, "Empty mailbox pattern list.");
	assert_bad("\"\" (a (b))", false, "Invalid mailbox pattern.");
	/* LSUB takes one pattern and no options */
	assert_bad("\"\" (a b)", true, "Invalid mailbox pattern.");
	assert_bad("(SUBSCRIBED) \"\" *", true, "Invalid reference name.");
	assert_bad("\"\" * RETURN (CHILDREN)", true, "Unexpected LIST arguments.");
}

static void test_pattern_count_limit(void **state)
{
	char line[IMAP_LIST_PATTERNS_MAX * 4 + 64];
	struct imap_list_args a;
	const char *e;
	size_t len;

	(void)state;
	len = (size_t)snprintf(line, sizeof(line), "\"\" (");
	for (int i = 0; i < IMAP_LIST_PATTERNS_MAX; i++)
		len +=
		    (size_t)snprintf(line + len, sizeof(line) - len, "%sp%d", i ? " " : "", i % 10);
	snprintf(line + len, sizeof(line) - len, ")");
	assert_int_equal(parse(line, false, false, &a, &e), 0);
	assert_int_equal(a.pattern_count, IMAP_LIST_PATTERNS_MAX);
	imap_list_args_free(&a);
	snprintf(line + len, sizeof(line) - len, " x)");
	assert_bad(line, false, "Too many mailbox patterns.");
}

static void test_pattern_length_limit(void **state)
{
	size_t max = 2 * FOLDER_NAME_MAX;
	char *ref = malloc(max + 1), *line = malloc(2 * max + 64);
	struct imap_list_args a;
	const char *e;

	(void)state;
	assert_non_null(ref);
	assert_non_null(line);
	memset(ref, 'r', max - 1);
	ref[max - 1] = '\0';
	/* reference + pattern: at the limit, then one past it */
	snprintf(line, 2 * max + 64, "{%zu}\r\n%s *", max - 1, ref);
	assert_int_equal(parse(line, false, false, &a, &e), 0);
	imap_list_args_free(&a);
	snprintf(line, 2 * max + 64, "{%zu}\r\n%s %%%%", max - 1, ref);
	assert_bad(line, false, "Mailbox pattern too long.");
	/* a pattern from the root does not take the reference */
	snprintf(line, 2 * max + 64, "{%zu}\r\n%s /%%", max - 1, ref);
	assert_int_equal(parse(line, false, false, &a, &e), 0);
	imap_list_args_free(&a);
	free(ref);
	free(line);
}

static void test_return_options(void **state)
{
	struct imap_list_args a;
	const char *e;

	(void)state;
	assert_int_equal(parse("\"\" * RETURN (children SUBSCRIBED SPECIAL-USE STATUS (MESSAGES "
	                       "unseen SIZE))",
	                       false, false, &a, &e),
	                 0);
	assert_true(a.extended);
	assert_int_equal(a.ret,
	                 FOLDER_RET_CHILDREN | FOLDER_RET_SUBSCRIBED | FOLDER_RET_SPECIAL_USE);
	assert_int_equal(a.status_items,
	                 IMAP_STATUS_MESSAGES | IMAP_STATUS_UNSEEN | IMAP_STATUS_SIZE);
	imap_list_args_free(&a);
	assert_int_equal(parse("\"\" * RETURN ()", false, false, &a, &e), 0);
	assert_true(a.extended);
	imap_list_args_free(&a);

	assert_bad("\"\" * RETURN (FOO)", false, "Unknown LIST return option.");
	assert_bad("\"\" * RETURN (STATUS)", false, "Missing STATUS item list.");
	assert_bad("\"\" * RETURN (STATUS ())", false, "Empty STATUS item list.");
	assert_bad("\"\" * RETURN (STATUS (MESSAGES BOGUS))", false, "Unknown STATUS item.");
	assert_bad("\"\" * RETURN CHILDREN", false, "Unexpected LIST arguments.");
	assert_bad("\"\" * RETURN", false, "Unexpected LIST arguments.");
	assert_bad("\"\" * extra", false, "Unexpected LIST arguments.");
	assert_bad("\"\"", false, "LIST needs a reference and a mailbox pattern.");
	assert_bad("", false, "LIST needs a reference and a mailbox pattern.");
	assert_bad("() \"\"", false, "LIST needs a reference and a mailbox pattern.");
}

static void test_names_are_modified_utf7_or_utf8(void **state)
{
	struct imap_list_args a;
	const char *e;

	(void)state;
	assert_int_equal(parse("\"Entw&APw-rfe/\" \"&ZeVnLIqe-*\"", false, false, &a, &e), 0);
	assert_string_equal(a.reference, "Entwürfe/");
	assert_string_equal(a.patterns[0], "日本語*");
	imap_list_args_free(&a);
	/* after ENABLE UTF8=ACCEPT the same names come as UTF-8 */
	assert_int_equal(parse("\"Entwürfe/\" \"日本語*\"", false, true, &a, &e), 0);
	assert_string_equal(a.reference, "Entwürfe/");
	assert_string_equal(a.patterns[0], "日本語*");
	imap_list_args_free(&a);
	/* ... and "&" is then itself */
	assert_int_equal(parse("\"\" \"a&b\"", false, true, &a, &e), 0);
	assert_string_equal(a.patterns[0], "a&b");
	imap_list_args_free(&a);
}

static void test_undecodable_names_match_nothing(void **state)
{
	struct imap_list_args a;
	const char *e;

	(void)state;
	/* not modified UTF-7: such a pattern can name no folder */
	assert_int_equal(parse("\"\" (\"&Jjo\" \"Work\")", false, false, &a, &e), 0);
	assert_int_equal(a.pattern_count, 1);
	assert_string_equal(a.patterns[0], "Work");
	imap_list_args_free(&a);
	/* a bad reference: nothing at all, but the separator is still answered */
	assert_int_equal(parse("\"&-&\" (\"\" \"*\")", false, false, &a, &e), 0);
	assert_int_equal(a.pattern_count, 0);
	assert_true(a.empty_pattern);
	imap_list_args_free(&a);
	/* a NUL cannot be in a name: refused */
	{
		static const char nul[] = "\"\" ~{3}\r\na\0b";

		assert_int_equal(
		    imap_list_args_parse(args_of_bytes("LIST", nul, sizeof(nul) - 1, false), false,
		                         false, &a, &e),
		    -1);
		assert_string_equal(e, "Invalid mailbox pattern.");
	}
}

static void test_status_items(void **state)
{
	const char *e;
	unsigned items;

	(void)state;
	assert_int_equal(imap_status_parse(args_of("X",
	                                           "(messages RECENT UIDNEXT UIDVALIDITY UNSEEN "
	                                           "DELETED SIZE HIGHESTMODSEQ)",
	                                           false),
	                                   &items, &e),
	                 0);
	assert_int_equal(items, 0xff);
	assert_int_equal(imap_status_parse(args_of("X", "MESSAGES", false), &items, &e), -1);
	assert_string_equal(e, "Missing STATUS item list.");
	assert_int_equal(imap_status_parse(args_of("X", "()", false), &items, &e), -1);
	assert_string_equal(e, "Empty STATUS item list.");
	assert_int_equal(imap_status_parse(args_of("X", "(MESSAGES (UNSEEN))", false), &items, &e),
	                 -1);
	assert_string_equal(e, "Unknown STATUS item.");
	assert_int_equal(imap_status_parse(NULL, &items, &e), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_plain_list),
	    cmocka_unit_test(test_empty_pattern_asks_for_the_separator),
	    cmocka_unit_test(test_selection_options),
	    cmocka_unit_test(test_several_patterns),
	    cmocka_unit_test(test_pattern_count_limit),
	    cmocka_unit_test(test_pattern_length_limit),
	    cmocka_unit_test(test_return_options),
	    cmocka_unit_test(test_names_are_modified_utf7_or_utf8),
	    cmocka_unit_test(test_undecodable_names_match_nothing),
	    cmocka_unit_test(test_status_items),
	};
	int rc = cmocka_run_group_tests(tests, NULL, NULL);

	imap_parser_free(&parser);
	return rc;
}
