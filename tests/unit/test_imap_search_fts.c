/* BODY and TEXT searches against a real folder and its real full-text index: the same answer
   whether the index has the text of every message, of some, or of none; a few missing texts
   are indexed before the answer, many are read directly and left to the background indexer.
   The messages cover what the index's text holds: decoded quoted-printable and base64 bodies,
   decoded header values, case folding beyond ASCII. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "imap_args_harness.h"
#include "imap_search.h"
#include "imap_search_msg.h"
#include "mbox.h"
#include "mbox_harness.h"

/* Half of them is more than IMAP_SEARCH_FTS_INLINE_MAX, so that a search over a folder
   half indexed reads the other half directly. */
#define MESSAGES 600u

/* Message i (1-based) is one of five kinds, by i % 5. */
static const char *const kinds[5] = {
    /* 0: the word in a plain body, in another case */
    "From: a@example.org\r\nSubject: plain\r\n\r\nThe NEEDLE is here.\r\n",
    /* 1: the word only in the subject, encoded */
    "From: b@example.org\r\nSubject: =?UTF-8?Q?a_needle_in_the_subject?=\r\n\r\nnothing\r\n",
    /* 2: quoted-printable, the word split by a soft line break, and a non-ASCII word */
    "From: c@example.org\r\nSubject: qp\r\nMIME-Version: 1.0\r\n"
    "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n"
    "\r\nnee=\r\ndle and =C3=89T=C3=89\r\n",
    /* 3: base64 (the body decodes to "a hidden needle\n") */
    "From: d@example.org\r\nSubject: b64\r\nMIME-Version: 1.0\r\n"
    "Content-Type: text/plain; charset=us-ascii\r\nContent-Transfer-Encoding: base64\r\n"
    "\r\nYSBoaWRkZW4gbmVlZGxlCg==\r\n",
    /* 4: none of it */
    "From: e@example.org\r\nSubject: other\r\n\r\nhay only, no n-e-e-d-l-e\r\n",
};

static struct mbox *folder_of(const char *root)
{
	for (unsigned i = 1; i <= MESSAGES; i++) {
		char rel[128];

		snprintf(rel, sizeof(rel), "cur/%u.M%uP1Q1.host:2,", 1700000000u + i, i);
		mh_put(root, rel, kinds[i % 5]);
	}
	return mh_open(root, "");
}

/* The sequence numbers of kinds whose bits are in mask, "1 2 3". */
static char *expected(unsigned mask)
{
	char *out = calloc(MESSAGES, 5);
	size_t len = 0;

	assert_non_null(out);
	for (unsigned i = 1; i <= MESSAGES; i++)
		if (mask & (1u << (i % 5)))
			len += (size_t)sprintf(out + len, "%s%u", len > 0 ? " " : "", i);
	return out;
}

struct outcome {
	char *seqs;
	size_t unindexed;
};

static struct outcome search(struct mbox *mb, const char *criteria)
{
	struct imap_search_prog *prog;
	struct imap_search_result res;
	struct outcome o;
	const char *error;
	char *run_error = NULL;
	size_t len = 0;

	assert_int_equal(imap_search_parse(ih_search_args(criteria), &prog, &error),
	                 IMAP_SEARCH_OK);
	assert_int_equal(imap_search_prepare(prog, mb, NULL, &error), 0);
	if (imap_search_run(mb, prog, &res, &run_error) < 0)
		fail_msg("SEARCH %s: %s", criteria, run_error);
	o.seqs = calloc(MESSAGES + 1, 5);
	assert_non_null(o.seqs);
	for (size_t i = 0; i < res.count; i++)
		len += (size_t)sprintf(o.seqs + len, "%s%u", i ? " " : "", res.seqs[i]);
	o.unindexed = res.unindexed;
	imap_search_result_free(&res);
	imap_search_prog_free(&prog);
	return o;
}

/* criteria finds the kinds of mask, with unindexed messages read directly. */
static void check(struct mbox *mb, const char *criteria, unsigned mask, size_t unindexed)
{
	struct outcome o = search(mb, criteria);
	char *want = expected(mask);

	if (strcmp(o.seqs, want) != 0)
		fail_msg("SEARCH %s:\n got  %s\n want %s", criteria, o.seqs, want);
	assert_int_equal(o.unindexed, unindexed);
	free(o.seqs);
	free(want);
}

static long long texts(const char *root)
{
	return mh_sql_int(root, "SELECT count(*) FROM fts_docsize");
}

/* The same answers, whichever way each message is read. */
static void check_answers(struct mbox *mb, size_t unindexed)
{
	check(mb, "BODY needle", 1u << 0 | 1u << 2 | 1u << 3, unindexed);
	check(mb, "TEXT needle", 1u << 0 | 1u << 1 | 1u << 2 | 1u << 3, unindexed);
	check(mb, "NOT BODY needle", 1u << 1 | 1u << 4, unindexed);
	check(mb, "BODY \"hidden NEEDLE\"", 1u << 3, unindexed);
	/* Unicode case folding: the body holds "ÉTÉ" */
	check(mb, "CHARSET UTF-8 BODY \"\xc3\xa9t\xc3\xa9\"", 1u << 2, unindexed);
	/* the From: line is header text: TEXT finds it, BODY does not */
	check(mb, "TEXT e@example.org", 1u << 4, unindexed);
	check(mb, "BODY e@example.org", 0, unindexed);
	check(mb, "BODY absent-word", 0, unindexed);
	/* with another key: both must hold */
	check(mb, "BODY needle SUBJECT qp", 1u << 2, unindexed);
	check(mb, "OR BODY hidden TEXT \"in the subject\"", 1u << 1 | 1u << 3, unindexed);
}

static void test_a_folder_never_indexed_is_read_directly(void **state)
{
	const char *root = *state;
	struct mbox *mb = folder_of(root);

	check_answers(mb, MESSAGES);
	/* the search left the indexing to the background indexer */
	assert_int_equal(texts(root), 0);
	mbox_close(&mb);
}

static void test_a_partly_indexed_folder_gives_the_same_answers(void **state)
{
	const char *root = *state;
	struct mbox *mb = folder_of(root);
	uint32_t seqs[MESSAGES / 2];
	char *error = NULL;

	/* every other message, as an interrupted indexer would not leave it but a mix is
	   the harder case for the merge */
	for (unsigned i = 0; i < MESSAGES / 2; i++)
		seqs[i] = 2 * i + 1;
	assert_int_equal(imap_search_fts_index(mb, seqs, MESSAGES / 2, 8, NULL, &error), 0);
	assert_int_equal(texts(root), MESSAGES / 2);
	check_answers(mb, MESSAGES / 2);
	mbox_close(&mb);
}

static void test_a_fully_indexed_folder_is_answered_by_the_index(void **state)
{
	const char *root = *state;
	struct mbox *mb = folder_of(root);
	char *error = NULL;

	assert_int_equal(imap_search_fts_update_batched(mb, 64, NULL, &error), 0);
	assert_int_equal(texts(root), MESSAGES);
	check_answers(mb, 0);
	mbox_close(&mb);
}

/* At the limit the search indexes the missing texts itself; one past it, it reads them. */
static void index_all_but(struct mbox *mb, size_t left)
{
	uint32_t seqs[MESSAGES];
	char *error = NULL;

	for (unsigned i = 0; i < MESSAGES - left; i++)
		seqs[i] = i + 1;
	assert_int_equal(imap_search_fts_index(mb, seqs, MESSAGES - left, 64, NULL, &error), 0);
}

static void test_missing_texts_at_the_limit_are_indexed_first(void **state)
{
	const char *root = *state;
	struct mbox *mb = folder_of(root);

	index_all_but(mb, IMAP_SEARCH_FTS_INLINE_MAX);
	check(mb, "BODY needle", 1u << 0 | 1u << 2 | 1u << 3, 0);
	assert_int_equal(texts(root), MESSAGES);
	mbox_close(&mb);
}

static void test_missing_texts_past_the_limit_are_read_directly(void **state)
{
	const char *root = *state;
	struct mbox *mb = folder_of(root);

	index_all_but(mb, IMAP_SEARCH_FTS_INLINE_MAX + 1);
	check(mb, "BODY needle", 1u << 0 | 1u << 2 | 1u << 3, IMAP_SEARCH_FTS_INLINE_MAX + 1);
	assert_int_equal(texts(root), MESSAGES - IMAP_SEARCH_FTS_INLINE_MAX - 1);
	mbox_close(&mb);
}

/* A file removed behind the index's back: not found, not an error, whichever way. */
static void test_a_vanished_file_matches_nothing(void **state)
{
	const char *root = *state;
	struct mbox *mb = folder_of(root);
	char rel[128];

	snprintf(rel, sizeof(rel), "cur/%u.M%uP1Q1.host:2,", 1700000000u + 5, 5u);
	assert_true(mh_exists(root, rel));
	{
		char path[4096];

		snprintf(path, sizeof(path), "%s/%s", root, rel);
		assert_int_equal(remove(path), 0);
	}
	{
		struct outcome o = search(mb, "BODY needle");

		assert_null(strstr(o.seqs, " 5 "));
		assert_non_null(strstr(o.seqs, " 10 "));
		assert_int_equal(o.unindexed, MESSAGES);
		free(o.seqs);
	}
	mbox_close(&mb);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_a_folder_never_indexed_is_read_directly, mh_setup,
	                                    mh_teardown),
	    cmocka_unit_test_setup_teardown(test_a_partly_indexed_folder_gives_the_same_answers,
	                                    mh_setup, mh_teardown),
	    cmocka_unit_test_setup_teardown(test_a_fully_indexed_folder_is_answered_by_the_index,
	                                    mh_setup, mh_teardown),
	    cmocka_unit_test_setup_teardown(test_missing_texts_at_the_limit_are_indexed_first,
	                                    mh_setup, mh_teardown),
	    cmocka_unit_test_setup_teardown(test_missing_texts_past_the_limit_are_read_directly,
	                                    mh_setup, mh_teardown),
	    cmocka_unit_test_setup_teardown(test_a_vanished_file_matches_nothing, mh_setup,
	                                    mh_teardown),
	};
	int rc = cmocka_run_group_tests(tests, NULL, NULL);

	ih_search_args_free();
	return rc;
}
