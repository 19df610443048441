/* The search result variable "$" (RFC 5182, RFC 9051 6.4.4.1): what SEARCH RETURN (SAVE ...)
   keeps, and "$" as a search key against a real folder (UIDs whichever form, expunged
   messages dropping out, an empty "$" matching nothing). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "imap_args_harness.h"
#include "imap_parser.h"
#include "imap_search.h"
#include "imap_seqset.h"
#include "mbox.h"
#include "mbox_harness.h"

/* "1:3,7" of a set's ranges. */
static const char *ranges(const struct imap_seqset *set)
{
	static char out[256];
	size_t len = 0;

	out[0] = '\0';
	for (size_t i = 0; i < set->count; i++) {
		const struct imap_seq_range *r = &set->ranges[i];

		len += (size_t)snprintf(out + len, sizeof(out) - len, "%s%u", i ? "," : "", r->lo);
		if (r->hi != r->lo)
			len += (size_t)snprintf(out + len, sizeof(out) - len, ":%u", r->hi);
		assert_true(len < sizeof(out));
	}
	return out;
}

static void check_saved(unsigned ret, const struct imap_search_result *res, const char *want)
{
	struct imap_seqset *set = imap_search_saved(ret, res);

	if (strcmp(ranges(set), want) != 0)
		fail_msg("ret %#x: saved %s, want %s", ret, ranges(set), want);
	imap_seqset_free(&set);
}

/* RFC 5182 2.4's table. */
static void test_what_save_keeps(void **state)
{
	uint32_t seqs[] = {2, 3, 4, 6}, uids[] = {5, 6, 7, 12};
	struct imap_search_result res = {.seqs = seqs, .uids = uids, .count = 4};
	struct imap_search_result one = {.seqs = seqs, .uids = uids, .count = 1};
	struct imap_search_result none = {0};
	const unsigned MIN = IMAP_SEARCH_RETURN_MIN, MAX = IMAP_SEARCH_RETURN_MAX,
	               ALL = IMAP_SEARCH_RETURN_ALL, COUNT = IMAP_SEARCH_RETURN_COUNT;

	(void)state;
	check_saved(0, &res, "5:7,12"); /* SAVE alone */
	check_saved(MIN, &res, "5");
	check_saved(MAX, &res, "12");
	check_saved(MIN | MAX, &res, "5,12");
	check_saved(ALL, &res, "5:7,12");
	check_saved(COUNT, &res, "5:7,12");
	check_saved(MIN | COUNT, &res, "5:7,12");
	check_saved(MIN | MAX | ALL | COUNT, &res, "5:7,12");
	/* MIN and MAX of a single match are the same message */
	check_saved(MIN | MAX, &one, "5");
	/* nothing found: "$" is empty, whatever was asked */
	check_saved(0, &none, "");
	check_saved(MIN | MAX, &none, "");
	check_saved(COUNT, &none, "");
}

/* The UIDs (uid) or sequence numbers a search finds, "1 2 3"; "BAD" when prepare refuses. */
static const char *found(struct mbox *mb, const struct imap_seqset *saved, const char *criteria,
                         bool uid)
{
	static char out[256];
	struct imap_search_prog *prog;
	struct imap_search_result res;
	const char *error;
	char *run_error = NULL;
	size_t len = 0;

	assert_int_equal(imap_search_parse(ih_search_args(criteria), &prog, &error),
	                 IMAP_SEARCH_OK);
	if (imap_search_prepare(prog, mb, saved, &error) < 0) {
		imap_search_prog_free(&prog);
		return "BAD";
	}
	assert_int_equal(imap_search_run(mb, prog, &res, &run_error), 0);
	out[0] = '\0';
	for (size_t i = 0; i < res.count; i++)
		len += (size_t)snprintf(out + len, sizeof(out) - len, "%s%u", i ? " " : "",
		                        uid ? res.uids[i] : res.seqs[i]);
	imap_search_result_free(&res);
	imap_search_prog_free(&prog);
	return out;
}

/* Six messages, UIDs 1..6; 2 and 5 \Seen. */
static struct mbox *six(const char *root)
{
	for (unsigned i = 1; i <= 6; i++) {
		char rel[128];

		if (i == 2 || i == 5)
			snprintf(rel, sizeof(rel), "cur/%u.M%uP1Q1.host,S=3,W=3:2,S",
			         1700000000u + i, i);
		else
			snprintf(rel, sizeof(rel), "new/%u.M%uP1Q1.host,S=3,W=3", 1700000000u + i,
			         i);
		mh_put(root, rel, "abc");
	}
	return mh_open(root, "");
}

static void check_found(struct mbox *mb, const struct imap_seqset *saved, const char *criteria,
                        bool uid, const char *want)
{
	const char *got = found(mb, saved, criteria, uid);

	if (strcmp(got, want) != 0)
		fail_msg("SEARCH %s: got '%s', want '%s'", criteria, got, want);
}

static void test_dollar_as_a_search_key(void **state)
{
	const char *root = *state;
	static const uint32_t kept[] = {2, 3, 5, 9};
	struct imap_seqset *saved = imap_seqset_from_sorted(kept, 4);
	struct mbox *mb = six(root);
	struct mbox_changes ch;
	uint32_t gone = 3;

	check_found(mb, saved, "$", false, "2 3 5");
	check_found(mb, saved, "UID $", false, "2 3 5");
	check_found(mb, saved, "$", true, "2 3 5");
	check_found(mb, saved, "$ SEEN", false, "2 5");
	check_found(mb, saved, "$ UNSEEN", true, "3");
	check_found(mb, saved, "OR $ 6", false, "2 3 5 6");
	check_found(mb, saved, "NOT $", false, "1 4 6");
	check_found(mb, saved, "OR (UID $ NOT SEEN) 1", true, "1 3");
	/* an empty "$" (nothing saved yet, or reset) is a valid set matching nothing */
	check_found(mb, NULL, "$", false, "");
	check_found(mb, NULL, "NOT $", false, "1 2 3 4 5 6");
	/* UID 3 is expunged: it drops out of "$", the later messages shift down */
	assert_int_equal(mbox_expunge(mb, &gone, 1, &ch), 0);
	mbox_changes_free(&ch);
	check_found(mb, saved, "$", false, "2 4");
	check_found(mb, saved, "$", true, "2 5");
	check_found(mb, saved, "UID $", false, "2 4");
	/* the key copied "$": freeing saved afterwards is safe, and a number past the end is
	   still BAD next to "$" */
	check_found(mb, saved, "$ 6", false, "BAD");
	imap_seqset_free(&saved);
	mbox_close(&mb);
}

static int teardown(void **state)
{
	ih_search_args_free();
	return mh_teardown(state);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_what_save_keeps),
	    cmocka_unit_test_setup_teardown(test_dollar_as_a_search_key, mh_setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
