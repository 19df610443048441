/* Search programs (RFC 9051 6.4.4): the parser from argument trees, its limits, RETURN and
   CHARSET, dates, case folding and sequence-set output. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "imap_args_harness.h"
#include "imap_parser.h"
#include "imap_search.h"
#include "imap_seqset.h"

static const char *op_names[] = {
    [IMAP_SK_ALL] = "ALL",       [IMAP_SK_AND] = "AND",
    [IMAP_SK_OR] = "OR",         [IMAP_SK_NOT] = "NOT",
    [IMAP_SK_SEQSET] = "SEQ",    [IMAP_SK_UIDSET] = "UID",
    [IMAP_SK_FLAG] = "FLAG",     [IMAP_SK_KEYWORD] = "KW",
    [IMAP_SK_RECENT] = "RECENT", [IMAP_SK_NEW] = "NEW",
    [IMAP_SK_BEFORE] = "BEFORE", [IMAP_SK_ON] = "ON",
    [IMAP_SK_SINCE] = "SINCE",   [IMAP_SK_SENTBEFORE] = "SENTBEFORE",
    [IMAP_SK_SENTON] = "SENTON", [IMAP_SK_SENTSINCE] = "SENTSINCE",
    [IMAP_SK_LARGER] = "LARGER", [IMAP_SK_SMALLER] = "SMALLER",
    [IMAP_SK_MODSEQ] = "MODSEQ", [IMAP_SK_FROM] = "FROM",
    [IMAP_SK_TO] = "TO",         [IMAP_SK_CC] = "CC",
    [IMAP_SK_BCC] = "BCC",       [IMAP_SK_SUBJECT] = "SUBJECT",
    [IMAP_SK_HEADER] = "HEADER", [IMAP_SK_BODY] = "BODY",
    [IMAP_SK_TEXT] = "TEXT",
};

static void render(const struct imap_search_key *k, struct mime_buf *out)
{
	for (; k != NULL; k = k->next) {
		mime_buf_append_str(out, k->neg ? "!" : "");
		mime_buf_append_str(out, op_names[k->op]);
		if (k->op == IMAP_SK_FLAG)
			mime_buf_printf(out, "%u", k->flag);
		if (k->set != NULL && k->set->dollar)
			mime_buf_append_c(out, '$');
		if (k->str != NULL)
			mime_buf_printf(out, "[%s%s%s]", k->field != NULL ? k->field : "",
			                k->field != NULL ? ":" : "", k->str);
		if (k->op == IMAP_SK_LARGER || k->op == IMAP_SK_SMALLER || k->op == IMAP_SK_MODSEQ)
			mime_buf_printf(out, "%llu", (unsigned long long)k->num);
		if (k->op >= IMAP_SK_BEFORE && k->op <= IMAP_SK_SENTSINCE)
			mime_buf_printf(out, "@%d", k->day);
		if (k->children != NULL) {
			mime_buf_append_c(out, '(');
			render(k->children, out);
			mime_buf_append_c(out, ')');
		}
		if (k->next != NULL)
			mime_buf_append_c(out, ' ');
	}
}

/* The rendered program, or "BAD: error" / "BADCHARSET: error". */
static char *program(const char *args)
{
	struct imap_search_prog *prog;
	struct mime_buf b = MIME_BUF_INIT;
	const char *error;
	int rc = imap_search_parse(ih_search_args(args), &prog, &error);
	char *s;

	if (rc == IMAP_SEARCH_BAD)
		mime_buf_printf(&b, "BAD: %s", error);
	else if (rc == IMAP_SEARCH_BADCHARSET)
		mime_buf_printf(&b, "BADCHARSET: %s", error);
	else
		render(prog->root->children, &b);
	imap_search_prog_free(&prog);
	s = strdup(mime_buf_str(&b));
	mime_buf_free(&b);
	return s;
}

static void check(const char *args, const char *want)
{
	char *got = program(args);

	if (strcmp(got, want) != 0)
		fail_msg("SEARCH %s\n got: %s\nwant: %s", args, got, want);
	free(got);
}

static void test_keys_parse_into_a_tree(void **state)
{
	(void)state;
	check("ALL", "ALL");
	check("seen unseen", "FLAG8 !FLAG8");
	check("ANSWERED DELETED DRAFT FLAGGED", "FLAG1 FLAG4 FLAG16 FLAG2");
	check("NEW OLD RECENT", "NEW !RECENT RECENT");
	check("KEYWORD $Label1 UNKEYWORD Work", "KW[$Label1] !KW[Work]");
	check("FROM Alice TO \"B O B\" CC c BCC {1+}\r\nD", "FROM[alice] TO[b o b] CC[c] BCC[d]");
	check("SUBJECT \"Ünïcode\"", "SUBJECT[ünïcode]");
	check("HEADER X-Spam YES", "HEADER[X-Spam:yes]");
	check("BODY Needle TEXT \"Two Words\"", "BODY[Needle] TEXT[Two Words]");
	check("LARGER 10 SMALLER 9223372036854775807", "LARGER10 SMALLER9223372036854775807");
	check("BEFORE 1-Jan-1970 ON 02-jan-1970 SINCE \"1-Feb-2024\"", "BEFORE@0 ON@1 SINCE@19754");
	check("SENTBEFORE 1-Mar-2000 SENTON 29-Feb-2000 SENTSINCE 1-Mar-2000",
	      "SENTBEFORE@11017 SENTON@11016 SENTSINCE@11017");
	check("MODSEQ 5 MODSEQ \"/flags/\\\\draft\" all 0", "MODSEQ5 MODSEQ0");
	check("1:3,5 UID 4:* *", "SEQ UID SEQ");
	check("NOT SEEN", "NOT(FLAG8)");
	check("OR SEEN FLAGGED", "OR(FLAG8 FLAG2)");
	check("OR (SEEN 1) NOT 2", "OR(AND(FLAG8 SEQ) NOT(SEQ))");
}

/* RFC 5182 / RFC 9051 6.4.4.1: "$" is a sequence set wherever one may stand, alone. */
static void test_saved_result_keys(void **state)
{
	(void)state;
	check("$", "SEQ$");
	check("UID $", "UID$");
	check("$ SEEN", "SEQ$ FLAG8");
	check("OR $ SEEN", "OR(SEQ$ FLAG8)");
	check("NOT $", "NOT(SEQ$)");
	check("OR (UID $ DELETED) NOT $", "OR(AND(UID$ FLAG4) NOT(SEQ$))");
	check("1,$", "BAD: invalid sequence set");
	check("UID $,1", "BAD: invalid sequence set");
	check("$:3", "BAD: invalid sequence set");
	check("NOT 2:$", "BAD: invalid sequence set");
}

static void test_costly_keys_of_an_and_go_last(void **state)
{
	(void)state;
	/* header from the file, cached header, dates/sizes, memory: stable within a cost */
	check("HEADER X y SUBJECT s SEEN LARGER 1 FROM f 1:2",
	      "FLAG8 SEQ LARGER1 SUBJECT[s] FROM[f] HEADER[X:y]");
	check("(BCC b DRAFT)", "AND(FLAG16 BCC[b])");
}

static void test_bad_programs(void **state)
{
	static const char *const bad[] = {
	    "NOSUCH",
	    "FROM",
	    "BEFORE 1-Foo-2000",
	    "BEFORE 1-Jan-99",
	    "BEFORE 0-Jan-2000",
	    "LARGER -1",
	    "LARGER 9223372036854775808",
	    "LARGER 1x",
	    "UID",
	    "UID 0",
	    "1:0",
	    "OR SEEN",
	    "NOT",
	    "()",
	    "HEADER",
	    "HEADER X",
	    "HEADER \"a:b\" c",
	    "HEADER \"\" c",
	    "KEYWORD \\Seen",
	    "KEYWORD a]",
	    "MODSEQ",
	    "MODSEQ \"/x\" other 1",
	    "RETURN",
	    "RETURN ALL",
	    "RETURN (BOGUS) ALL",
	    "RETURN (SAVE BOGUS) ALL",
	    "RETURN SAVE ALL",
	    "RETURN (SAVE)",
	    "CHARSET",
	    "CHARSET (x) ALL",
	    "\"ALL\"",
	    "FROM ~{1}\r\nx",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char *got = program(bad[i]);

		if (strncmp(got, "BAD: ", 5) != 0)
			fail_msg("SEARCH %s gave %s", bad[i], got);
		free(got);
	}
}

static void test_charset_and_return(void **state)
{
	struct imap_search_prog *prog;
	const char *error;

	(void)state;
	check("CHARSET UTF-8 ALL", "ALL");
	check("CHARSET us-ascii ALL", "ALL");
	check("CHARSET ISO-8859-1 ALL", "BADCHARSET: [BADCHARSET (UTF-8 US-ASCII)] Unsupported "
	                                "charset.");
	assert_int_equal(
	    imap_search_parse(ih_search_args("RETURN () CHARSET UTF-8 SEEN"), &prog, &error), 0);
	assert_true(prog->esearch);
	assert_int_equal(prog->ret, IMAP_SEARCH_RETURN_ALL);
	imap_search_prog_free(&prog);
	assert_int_equal(imap_search_parse(ih_search_args("RETURN (min COUNT) ALL"), &prog, &error),
	                 0);
	assert_int_equal(prog->ret, IMAP_SEARCH_RETURN_MIN | IMAP_SEARCH_RETURN_COUNT);
	imap_search_prog_free(&prog);
	assert_int_equal(imap_search_parse(ih_search_args("ALL"), &prog, &error), 0);
	assert_false(prog->esearch);
	assert_false(prog->has_modseq);
	imap_search_prog_free(&prog);
	assert_int_equal(imap_search_parse(ih_search_args("OR MODSEQ 4 ALL"), &prog, &error), 0);
	assert_true(prog->has_modseq);
	imap_search_prog_free(&prog);
}

/* RETURN (SAVE): alone it asks for no ESEARCH (ret 0), with others they are answered. */
static void test_return_save(void **state)
{
	static const struct {
		const char *args;
		unsigned ret;
	} rows[] = {
	    {"RETURN (SAVE) ALL", 0},
	    {"RETURN (save) $", 0},
	    {"RETURN (SAVE MIN) ALL", IMAP_SEARCH_RETURN_MIN},
	    {"RETURN (MAX SAVE MIN) ALL", IMAP_SEARCH_RETURN_MIN | IMAP_SEARCH_RETURN_MAX},
	    {"RETURN (SAVE ALL) ALL", IMAP_SEARCH_RETURN_ALL},
	    {"RETURN (COUNT SAVE) CHARSET UTF-8 ALL", IMAP_SEARCH_RETURN_COUNT},
	};
	struct imap_search_prog *prog;
	const char *error;

	(void)state;
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		assert_int_equal(imap_search_parse(ih_search_args(rows[i].args), &prog, &error), 0);
		assert_true(prog->save);
		assert_true(prog->esearch);
		assert_int_equal(prog->ret, rows[i].ret);
		imap_search_prog_free(&prog);
	}
	assert_int_equal(imap_search_parse(ih_search_args("RETURN (MIN) ALL"), &prog, &error), 0);
	assert_false(prog->save);
	imap_search_prog_free(&prog);
	/* "$" holds UIDs: it is no sequence number to check against the message count */
	assert_int_equal(imap_search_parse(ih_search_args("$"), &prog, &error), 0);
	assert_false(prog->has_seqnums);
	imap_search_prog_free(&prog);
	assert_int_equal(imap_search_parse(ih_search_args("$ 1"), &prog, &error), 0);
	assert_true(prog->has_seqnums);
	imap_search_prog_free(&prog);
}

/* A SEARCH refused with NO [BADCHARSET] empties "$" when it asked for SAVE. */
static void test_args_ask_for_save(void **state)
{
	struct imap_search_prog *prog;
	const char *error;

	(void)state;
	assert_int_equal(
	    imap_search_parse(ih_search_args("RETURN (SAVE) CHARSET KOI8-R ALL"), &prog, &error),
	    IMAP_SEARCH_BADCHARSET);
	assert_true(imap_search_args_save(ih_search_args("RETURN (SAVE) CHARSET KOI8-R ALL")));
	assert_true(imap_search_args_save(ih_search_args("RETURN (MIN save) CHARSET KOI8-R ALL")));
	assert_false(imap_search_args_save(ih_search_args("RETURN (MIN) CHARSET KOI8-R ALL")));
	assert_false(imap_search_args_save(ih_search_args("RETURN () ALL")));
	assert_false(imap_search_args_save(ih_search_args("CHARSET KOI8-R SAVE")));
	assert_false(imap_search_args_save(ih_search_args("RETURN SAVE")));
}

static char *repeat(const char *a, unsigned n, const char *mid, const char *b, unsigned m)
{
	struct mime_buf buf = MIME_BUF_INIT;
	char *s;

	for (unsigned i = 0; i < n; i++)
		mime_buf_append_str(&buf, a);
	mime_buf_append_str(&buf, mid);
	for (unsigned i = 0; i < m; i++)
		mime_buf_append_str(&buf, b);
	s = strdup(mime_buf_str(&buf));
	mime_buf_free(&buf);
	return s;
}

static void test_limits(void **state)
{
	char *s, *got;

	(void)state;
	/* depth: the key inside 100 NOTs is at depth 100 */
	s = repeat("NOT ", IMAP_SEARCH_DEPTH_MAX, "ALL", "", 0);
	got = program(s);
	assert_true(strncmp(got, "NOT(", 4) == 0);
	free(got);
	free(s);
	s = repeat("NOT ", IMAP_SEARCH_DEPTH_MAX + 1, "ALL", "", 0);
	got = program(s);
	assert_string_equal(got, "BAD: Search program nested too deeply.");
	free(got);
	free(s);
	s = repeat("OR ALL ", IMAP_SEARCH_DEPTH_MAX + 1, "ALL", "", 0);
	got = program(s);
	assert_string_equal(got, "BAD: Search program nested too deeply.");
	free(got);
	free(s);
	/* full-text keys */
	s = repeat("BODY x ", IMAP_SEARCH_TEXT_KEYS_MAX, "ALL", "", 0);
	got = program(s);
	assert_true(strncmp(got, "BODY[x]", 7) == 0);
	free(got);
	free(s);
	s = repeat("TEXT x ", IMAP_SEARCH_TEXT_KEYS_MAX + 1, "ALL", "", 0);
	got = program(s);
	assert_string_equal(got, "BAD: Too many BODY and TEXT keys.");
	free(got);
	free(s);
}

static void test_dates(void **state)
{
	int32_t d;
	int64_t utc;

	(void)state;
	assert_int_equal(imap_search_days(1970, 1, 1), 0);
	assert_int_equal(imap_search_days(2000, 3, 1), 11017);
	assert_int_equal(imap_search_days(2024, 12, 31), 20088);
	assert_int_equal(imap_search_date_parse("1-Feb-1994", 10, &d), 0);
	assert_int_equal(d, imap_search_days(1994, 2, 1));
	assert_int_equal(imap_search_date_parse("01-feb-1994", 11, &d), 0);
	assert_int_equal(imap_search_date_parse("1-Feb-94", 8, &d), -1);
	assert_int_equal(imap_search_date_parse("123-Feb-1994", 12, &d), -1);
	assert_int_equal(imap_search_date_parse("1 Feb 1994", 10, &d), -1);

	assert_int_equal(imap_search_rfc5322_date("Thu, 1 Jan 1970 01:00:00 +0100", 30, &d, &utc),
	                 0);
	assert_int_equal(d, 0);
	assert_int_equal(utc, 0);
	assert_int_equal(imap_search_rfc5322_date("31 Dec 1969 19:00 EST", 21, &d, &utc), 0);
	assert_int_equal(d, -1);
	assert_int_equal(utc, 0);
	assert_int_equal(
	    imap_search_rfc5322_date("Fri, 2 Feb 24 10:00:00 GMT (comment)", 37, &d, &utc), 0);
	assert_int_equal(d, imap_search_days(2024, 2, 2));
	assert_int_equal(imap_search_rfc5322_date("2 Feb 99", 8, &d, &utc), 0);
	assert_int_equal(d, imap_search_days(1999, 2, 2));
	assert_int_equal(imap_search_rfc5322_date("garbage", 7, &d, &utc), -1);
	assert_int_equal(imap_search_rfc5322_date("", 0, &d, &utc), -1);
	assert_int_equal(imap_search_rfc5322_date("Mon, 32 Jan 2024 10:00", 22, &d, &utc), -1);
}

static void test_fold_and_sets(void **state)
{
	struct mime_buf b = MIME_BUF_INIT;
	static const uint32_t nums[] = {1, 2, 3, 5, 7, 8, 10};

	(void)state;
	imap_search_fold("MiXeD ÄÖÜ ΣΑΣ \xff", strlen("MiXeD ÄÖÜ ΣΑΣ \xff"), &b);
	assert_string_equal(mime_buf_str(&b), "mixed äöü σασ \xff");
	mime_buf_truncate(&b, 0);
	imap_seqset_write(&b, nums, 7);
	assert_string_equal(mime_buf_str(&b), "1:3,5,7:8,10");
	mime_buf_truncate(&b, 0);
	imap_seqset_write(&b, nums, 0);
	assert_string_equal(mime_buf_str(&b), "");
	mime_buf_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_keys_parse_into_a_tree),
	    cmocka_unit_test(test_costly_keys_of_an_and_go_last),
	    cmocka_unit_test(test_bad_programs),
	    cmocka_unit_test(test_charset_and_return),
	    cmocka_unit_test(test_saved_result_keys),
	    cmocka_unit_test(test_return_save),
	    cmocka_unit_test(test_args_ask_for_save),
	    cmocka_unit_test(test_limits),
	    cmocka_unit_test(test_dates),
	    cmocka_unit_test(test_fold_and_sets),
	};
	int rc = cmocka_run_group_tests(tests, NULL, NULL);

	ih_search_args_free();
	return rc;
}
