/* RFC 5256: base subjects, SORT criteria, and the THREAD algorithms' shapes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "imap_parser.h"
#include "imap_sort.h"
#include "imap_thread.h"

static void base(const char *subject, const char *want, bool want_reply)
{
	struct mime_buf b = MIME_BUF_INIT;
	bool reply = imap_base_subject(subject, strlen(subject), &b);

	if (strcmp(mime_buf_str(&b), want) != 0 || reply != want_reply)
		fail_msg("base subject of \"%s\": \"%s\" (%d), want \"%s\" (%d)", subject,
		         mime_buf_str(&b), reply, want, want_reply);
	mime_buf_free(&b);
}

static void test_base_subject(void **state)
{
	(void)state;
	base("Hello", "hello", false);
	base("  Hello   World  ", "hello world", false);
	base("Hello\tthere", "hello there", false);
	base("Re: Hello", "hello", true);
	base("RE:Hello", "hello", true);
	base("re : Hello", "hello", true);
	base("Fwd: Hello", "hello", true);
	base("FW: Hello", "hello", true);
	base("Re: Re[2]: Fwd: Hello", "hello", true);
	base("Re [3]: Hello", "hello", true);
	base("[list] Re: Hello", "hello", true);
	base("[list] Hello", "hello", false);
	base("[only a blob]", "[only a blob]", false);
	base("Hello (fwd)", "hello", true);
	base("Hello (FWD) (fwd)  ", "hello", true);
	base("[Fwd: Hello]", "hello", true);
	base("[fwd: Re: [list] Hello (fwd)]", "hello", true);
	base("Re: [fwd: Hello]", "hello", true);
	base("Reply to all", "reply to all", false);
	base("Re:", "", true);
	base("", "", false);
	base("=?UTF-8?Q?Re=3A_Gr=C3=BC=C3=9Fe?=", "grüße", true);
	base("=?ISO-8859-1?Q?=C4rger?= (fwd)", "ärger", true);
}

static const struct imap_arg *args_of(struct imap_parser **pp, const char *args)
{
	struct imap_parser_limits limits;
	char line[512];
	size_t used;
	int n = snprintf(line, sizeof(line), "t SORT %s\r\n", args);

	imap_parser_limits_default(&limits, true);
	*pp = imap_parser_new(&limits, 0);
	assert_int_equal(imap_parser_feed(*pp, (const uint8_t *)line, (size_t)n, &used),
	                 IMAP_PARSE_COMMAND);
	return imap_parser_command(*pp)->args;
}

static void test_sort_criteria(void **state)
{
	struct imap_sort_crit crit[IMAP_SORT_CRIT_MAX];
	struct imap_parser *p;
	const char *error;
	size_t n;
	static const char *const bad[] = {
	    "()",
	    "(REVERSE)",
	    "(DATE REVERSE)",
	    "(REVERSE REVERSE DATE)",
	    "(BOGUS)",
	    "DATE",
	    ("(DATE DATE DATE DATE DATE DATE DATE DATE DATE DATE DATE DATE DATE DATE DATE DATE "
	     "DATE)"),
	};

	(void)state;
	assert_int_equal(
	    imap_sort_parse(args_of(&p, "(reverse ARRIVAL subject DisplayFrom)"), crit, &n, &error),
	    0);
	assert_int_equal(n, 3);
	assert_int_equal(crit[0].key, IMAP_SORT_ARRIVAL);
	assert_true(crit[0].reverse);
	assert_int_equal(crit[1].key, IMAP_SORT_SUBJECT);
	assert_false(crit[1].reverse);
	assert_int_equal(crit[2].key, IMAP_SORT_DISPLAYFROM);
	imap_parser_free(&p);
	assert_int_equal(
	    imap_sort_parse(args_of(&p, "(DATE DATE DATE DATE DATE DATE DATE DATE DATE DATE DATE "
	                                "DATE DATE DATE DATE DATE)"),
	                    crit, &n, &error),
	    0);
	assert_int_equal(n, IMAP_SORT_CRIT_MAX);
	imap_parser_free(&p);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(imap_sort_parse(args_of(&p, bad[i]), crit, &n, &error), -1);
		imap_parser_free(&p);
	}
}

/* ----- threads ----- */

struct tmsg {
	const char *subject, *id, *refs, *irt;
	int64_t date;
};

static char *threads(enum imap_thread_alg alg, const struct tmsg *in, size_t n)
{
	struct imap_thread_msg *msgs = calloc(n + 1, sizeof(*msgs));
	struct mime_buf subj[64], out = MIME_BUF_INIT;
	char *s;

	assert_true(n <= 64);
	for (size_t i = 0; i < n; i++) {
		subj[i] = (struct mime_buf)MIME_BUF_INIT;
		msgs[i].reply = imap_base_subject(in[i].subject, strlen(in[i].subject), &subj[i]);
		msgs[i].subject = mime_buf_str(&subj[i]);
		msgs[i].num = msgs[i].seq = (uint32_t)i + 1;
		msgs[i].date = in[i].date;
		msgs[i].message_id = in[i].id != NULL ? in[i].id : "";
		msgs[i].references = in[i].refs != NULL ? in[i].refs : "";
		msgs[i].in_reply_to = in[i].irt != NULL ? in[i].irt : "";
	}
	imap_thread_write(alg, msgs, n, &out);
	for (size_t i = 0; i < n; i++)
		mime_buf_free(&subj[i]);
	free(msgs);
	s = strdup(mime_buf_str(&out));
	mime_buf_free(&out);
	return s;
}

static void expect(enum imap_thread_alg alg, const struct tmsg *in, size_t n, const char *want)
{
	char *got = threads(alg, in, n);

	if (strcmp(got, want) != 0)
		fail_msg("threads: %s, want %s", got, want);
	free(got);
}

static void test_orderedsubject(void **state)
{
	static const struct tmsg m[] = {
	    {"b", NULL, NULL, NULL, 50}, {"Re: a", NULL, NULL, NULL, 20},
	    {"a", NULL, NULL, NULL, 30}, {"A", NULL, NULL, NULL, 10},
	    {"c", NULL, NULL, NULL, 5},  {"Re: b", NULL, NULL, NULL, 60},
	};

	(void)state;
	/* threads by their first date: c(5), a(10: 4, then 2 at 20, 3 at 30), b(50, 6) */
	expect(IMAP_THREAD_ORDEREDSUBJECT, m, 6, "(5)(4 (2)(3))(1 6)");
	expect(IMAP_THREAD_ORDEREDSUBJECT, m, 0, "");
	expect(IMAP_THREAD_ORDEREDSUBJECT, m, 1, "(1)");
}

static void test_references_shapes(void **state)
{
	/* RFC 5256's example shape: (3 6 (4 23)(44 7 96)) with our numbering */
	static const struct tmsg m[] = {
	    {"x", "<1>", NULL, NULL, 1},                       /* 1 */
	    {"Re: x", "<2>", "<1>", NULL, 2},                  /* 2 */
	    {"Re: x", "<3>", "<1> <2>", NULL, 3},              /* 3 */
	    {"Re: x", "<4>", "<1> <2> <3>", NULL, 4},          /* 4 */
	    {"Re: x", "<5>", "<1> <2>", NULL, 5},              /* 5 */
	    {"Re: x", "<6>", "<1> <2> <5>", NULL, 6},          /* 6 */
	    {"Re: x", "<7>", "<1> <2> <5> <6>", NULL, 7},      /* 7 */
	    {"y", "<8>", NULL, NULL, 0},                       /* 8 */
	    {"Re: z", "<9>", "<gone>", NULL, 9},               /* 9 */
	    {"Re: z", "<10>", "garbage <gone> more", NULL, 8}, /* 10 */
	    {"Re: w", "<11>", NULL, "<8> <1>", 10},            /* 11: first of In-Reply-To */
	};

	(void)state;
	expect(IMAP_THREAD_REFERENCES, m, 7, "(1 2 (3 4)(5 6 7))");
	expect(IMAP_THREAD_REFERENCES, m, 8, "(8)(1 2 (3 4)(5 6 7))");
	/* a missing parent with two replies stays as a dummy, sorted by its first child */
	expect(IMAP_THREAD_REFERENCES, m + 8, 2, "((2)(1))");
	/* In-Reply-To when References is absent: only its first id counts */
	expect(IMAP_THREAD_REFERENCES, m, 11, "(8 11)(1 2 (3 4)(5 6 7))((10)(9))");
}

static void test_references_dummies_are_pruned(void **state)
{
	static const struct tmsg m[] = {
	    /* a chain through two unseen ids: the dummies go, the reply hangs under 1 */
	    {"a", "<a1>", NULL, NULL, 1},
	    {"Re: a", "<a2>", "<a1> <ghost1> <ghost2>", NULL, 2},
	    /* a single reply to an unseen message is promoted to the top */
	    {"b", "<b2>", "<ghost3>", NULL, 3},
	};

	(void)state;
	expect(IMAP_THREAD_REFERENCES, m, 3, "(1 2)(3)");
}

static void test_references_subject_gathering(void **state)
{
	static const struct tmsg m[] = {
	    {"Topic", "<t1>", NULL, NULL, 1},
	    {"Re: Topic", "<t2>", NULL, NULL, 2}, /* reply without references */
	    {"Topic", "<t3>", NULL, NULL, 3},     /* same subject, not a reply */
	    {"", "<t4>", NULL, NULL, 4},          /* empty subjects are never gathered */
	    {"Re:", "<t5>", NULL, NULL, 5},
	};
	static const struct tmsg d[] = {
	    /* two dummies with the same subject merge their children */
	    {"Re: s", "<d1>", "<m1>", NULL, 1},
	    {"Re: s", "<d2>", "<m1>", NULL, 2},
	    {"Re: s", "<d3>", "<m2>", NULL, 3},
	    {"Re: s", "<d4>", "<m2>", NULL, 4},
	};

	(void)state;
	expect(IMAP_THREAD_REFERENCES, m, 5, "((1 2)(3))(4)(5)");
	expect(IMAP_THREAD_REFERENCES, d, 4, "((1)(2)(3)(4))");
}

static void test_references_loops_and_duplicates(void **state)
{
	static const struct tmsg m[] = {
	    {"a", "<l1>", "<l2>", NULL, 1}, {"b", "<l2>", "<l1>", NULL, 2},
	    {"c", "<l1>", NULL, NULL, 3}, /* duplicate id: unique */
	    {"d", "<me>", "<me>", NULL, 4}, {"e", "<x>", "<y> <x> <y>", NULL, 5},
	    {"f", NULL, "<l2>", NULL, 6}, /* no Message-ID */
	};
	char *got;

	(void)state;
	got = threads(IMAP_THREAD_REFERENCES, m, 6);
	/* every message exactly once */
	for (int i = 1; i <= 6; i++) {
		char num[8];
		int count = 0;

		snprintf(num, sizeof(num), "%d", i);
		for (const char *p = got; (p = strstr(p, num)) != NULL; p++)
			count++;
		assert_int_equal(count, 1);
	}
	free(got);
}

/* A 100,000-deep reply chain: every walk is iterative, and the output nests no parentheses
   (one child continues the line). */
static void test_deep_chain(void **state)
{
	enum { N = 100000 };
	struct imap_thread_msg *msgs = calloc(N, sizeof(*msgs));
	char(*ids)[16] = calloc(N, 16);
	struct mime_buf out = MIME_BUF_INIT;

	(void)state;
	for (size_t i = 0; i < N; i++) {
		snprintf(ids[i], 16, "<%zu>", i);
		msgs[i] = (struct imap_thread_msg){
		    (uint32_t)i + 1, (uint32_t)i + 1,         (int64_t)i, "", false,
		    ids[i],          i > 0 ? ids[i - 1] : "", ""};
	}
	imap_thread_write(IMAP_THREAD_REFERENCES, msgs, N, &out);
	assert_int_equal(out.p[0], '(');
	assert_int_equal(out.p[out.len - 1], ')');
	assert_null(strchr(out.p + 1, '('));
	assert_non_null(strstr(out.p, " 99999 100000)"));
	mime_buf_free(&out);
	imap_thread_write(IMAP_THREAD_ORDEREDSUBJECT, msgs, N, &out);
	assert_int_equal(strncmp(out.p, "(1 (2)(3)", 9), 0);
	mime_buf_free(&out);
	free(ids);
	free(msgs);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_base_subject),
	    cmocka_unit_test(test_sort_criteria),
	    cmocka_unit_test(test_orderedsubject),
	    cmocka_unit_test(test_references_shapes),
	    cmocka_unit_test(test_references_dummies_are_pruned),
	    cmocka_unit_test(test_references_subject_gathering),
	    cmocka_unit_test(test_references_loops_and_duplicates),
	    cmocka_unit_test(test_deep_chain),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
