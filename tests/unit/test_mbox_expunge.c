#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "mbox.h"
#include "mbox_harness.h"
#include "mbox_private.h"

/* count messages in new/, UIDs 1..count in name order. */
static void put_new(const char *root, unsigned count)
{
	for (unsigned i = 1; i <= count; i++) {
		char rel[128];

		snprintf(rel, sizeof(rel), "new/%u.M%uP1Q1.host,S=3,W=3", 1700000000u + i, i);
		mh_put(root, rel, "abc");
	}
}

/* Every message gets text with "common" and its own word, and a cache blob. */
static void index_text(struct mbox *mb)
{
	assert_int_equal(mbox_batch_begin(mb), 0);
	for (uint32_t seq = 1; seq <= mbox_count(mb); seq++) {
		uint32_t uid = mbox_uid(mb, seq);
		char body[64];

		snprintf(body, sizeof(body), "common text, word%uword", uid);
		assert_int_equal(mbox_fts_set(mb, uid, "Subject: x", body), 0);
		assert_int_equal(mbox_cache_set(mb, uid, MBOX_CACHE_ENVELOPE, "env", 3), 0);
	}
	assert_int_equal(mbox_batch_commit(mb), 0);
}

static size_t text_hits(struct mbox *mb, const char *needle)
{
	uint32_t *uids;
	size_t n;

	assert_int_equal(mbox_fts_search(mb, MBOX_SEARCH_BODY, needle, &uids, &n), 0);
	free(uids);
	return n;
}

static void test_expunge_deletes_the_rows_of_each_run_of_uids(void **state)
{
	const char *root = *state;
	/* Runs 2-4, 7 and 9-10; a duplicate and a UID the folder never had. */
	uint32_t uids[] = {9, 2, 3, 10, 4, 7, 3, 42};
	struct mbox_changes ch;
	struct mbox *mb;

	put_new(root, 10);
	mb = mh_open(root, "");
	index_text(mb);
	assert_int_equal(mbox_expunge(mb, uids, sizeof(uids) / sizeof(uids[0]), &ch), 0);
	assert_int_equal(ch.expunged_count, 6);
	assert_int_equal(ch.expunged_seqs[0], 10);
	assert_int_equal(ch.expunged_uids[0], 10);
	assert_int_equal(ch.expunged_seqs[5], 2);
	assert_int_equal(ch.expunged_uids[5], 2);
	mbox_changes_free(&ch);
	assert_int_equal(mh_count(root, "cur"), 4);
	mbox_close(&mb);

	/* Exactly the expunged rows are gone, text listed for the purge. */
	assert_int_equal(mh_sql_int(root, "SELECT count(*) FROM msgs"), 4);
	assert_int_equal(mh_sql_int(root, "SELECT sum(uid) FROM msgs"), 1 + 5 + 6 + 8);
	assert_int_equal(mh_sql_int(root, "SELECT count(*) FROM cache"), 4);
	assert_int_equal(mh_sql_int(root, "SELECT sum(uid) FROM cache"), 1 + 5 + 6 + 8);
	assert_int_equal(mh_sql_int(root, "SELECT count(*) FROM fts_gone"), 6);
	assert_int_equal(mh_sql_int(root, "SELECT sum(uid) FROM fts_gone"), 2 + 3 + 4 + 7 + 9 + 10);
	mb = mh_open(root, "");
	assert_int_equal(mbox_count(mb), 4);
	assert_int_equal(mbox_uid(mb, 3), 6);
	assert_int_equal(mbox_uid(mb, 4), 8);
	mbox_close(&mb);
}

static void test_expunge_without_text_lists_nothing_to_purge(void **state)
{
	const char *root = *state;
	uint32_t uids[] = {1, 2};
	struct mbox_changes ch;
	struct mbox *mb;

	put_new(root, 3);
	mb = mh_open(root, "");
	assert_int_equal(mbox_expunge(mb, uids, 2, &ch), 0);
	mbox_changes_free(&ch);
	mbox_close(&mb);
	assert_int_equal(mh_sql_int(root, "SELECT count(*) FROM fts_gone"), 0);
	assert_int_equal(mh_sql_int(root, "SELECT count(*) FROM msgs"), 1);
}

static void test_expunged_text_is_purged_in_batches(void **state)
{
	const char *root = *state;
	uint32_t uids[300];
	struct mbox_changes ch;
	struct mbox *mb;
	size_t n = 0;

	put_new(root, 300);
	mb = mh_open(root, "");
	index_text(mb);
	/* All but every 30th: many runs, and more than two purge transactions. */
	for (uint32_t uid = 1; uid <= 300; uid++) {
		if (uid % 30 != 0)
			uids[n++] = uid;
	}
	assert_int_equal(mbox_expunge(mb, uids, n, &ch), 0);
	assert_int_equal(ch.expunged_count, 290);
	mbox_changes_free(&ch);
	assert_int_equal(mbox_count(mb), 10);
	assert_int_equal(mh_count(root, "cur"), 10);
	/* Until the purge the text answers for UIDs the folder no longer has. */
	assert_int_equal(text_hits(mb, "common"), 300);
	assert_int_equal(text_hits(mb, "word31word"), 1);
	assert_int_equal(mbox_fts_purge(mb), 0);
	assert_int_equal(text_hits(mb, "common"), 10);
	assert_int_equal(text_hits(mb, "word31word"), 0);
	assert_int_equal(text_hits(mb, "word30word"), 1);
	assert_int_equal(mbox_fts_purge(mb), 0); /* nothing left: nothing done */
	mbox_close(&mb);
	assert_int_equal(mh_sql_int(root, "SELECT count(*) FROM fts_gone"), 0);
}

static void test_purge_keeps_the_text_of_a_uid_the_folder_has_again(void **state)
{
	const char *root = *state;
	struct mbox *mb;

	put_new(root, 2);
	mb = mh_open(root, "");
	index_text(mb);
	mbox_close(&mb);
	/* As after a lost expunge: the row came back (the file was there), the listing stayed. */
	mh_sql_run(root, "INSERT INTO fts_gone VALUES (1, 2)");
	mb = mh_open(root, "");
	assert_int_equal(mbox_fts_purge(mb), 0);
	assert_int_equal(text_hits(mb, "word2word"), 1);
	mbox_close(&mb);
	assert_int_equal(mh_sql_int(root, "SELECT count(*) FROM fts_gone"), 0);
}

static void test_rows_of_files_removed_before_a_crash_go_at_the_next_sync(void **state)
{
	const char *root = *state;
	char name[256], path[4096];
	struct mbox *mb;

	put_new(root, 5);
	mb = mh_open(root, "");
	index_text(mb);
	mbox_close(&mb);
	/* An expunge that removed two files and died before its index transaction. */
	for (unsigned i = 2; i <= 3; i++) {
		char prefix[64];

		snprintf(prefix, sizeof(prefix), "%u.", 1700000000u + i);
		assert_int_equal(mh_find(root, "cur", prefix, name, sizeof(name)), 0);
		snprintf(path, sizeof(path), "%s/cur/%s", root, name);
		assert_int_equal(unlink(path), 0);
	}
	mb = mh_open(root, "");
	assert_int_equal(mbox_count(mb), 3);
	assert_int_equal(mbox_uid(mb, 2), 4);
	assert_int_equal(mbox_fts_purge(mb), 0);
	assert_int_equal(text_hits(mb, "common"), 3);
	mbox_close(&mb);
	assert_int_equal(mh_sql_int(root, "SELECT count(*) FROM msgs"), 3);
	assert_int_equal(mh_sql_int(root, "SELECT count(*) FROM cache"), 3);
	assert_int_equal(mh_sql_int(root, "SELECT count(*) FROM fts_gone"), 0);
}

/* Rename the file of message i (put_new's numbering) to carry flags, as another client would. */
static void rename_with_flags(const char *root, unsigned i, const char *flags)
{
	char prefix[64], name[256], from[4096], to[4096];

	snprintf(prefix, sizeof(prefix), "%u.", 1700000000u + i);
	assert_int_equal(mh_find(root, "cur", prefix, name, sizeof(name)), 0);
	snprintf(from, sizeof(from), "%s/cur/%s", root, name);
	*strchr(name, ':') = '\0';
	snprintf(to, sizeof(to), "%s/cur/%s:2,%s", root, name, flags);
	assert_int_equal(rename(from, to), 0);
}

static void test_expunge_follows_files_renamed_by_another_program(void **state)
{
	const char *root = *state;
	uint32_t uids[] = {2, 3, 4, 5};
	char name[256], path[4096];
	struct mbox_changes ch;
	struct mbox *mb;

	put_new(root, 6);
	mb = mh_open(root, "");
	/* Behind the handle's back: two renamed (flags set), one removed. */
	rename_with_flags(root, 2, "S");
	rename_with_flags(root, 5, "FS");
	assert_int_equal(mh_find(root, "cur", "1700000003.", name, sizeof(name)), 0);
	snprintf(path, sizeof(path), "%s/cur/%s", root, name);
	assert_int_equal(unlink(path), 0);
	assert_int_equal(mbox_expunge(mb, uids, 4, &ch), 0);
	assert_int_equal(ch.expunged_count, 4);
	mbox_changes_free(&ch);
	assert_int_equal(mbox_count(mb), 2);
	assert_int_equal(mh_count(root, "cur"), 2);
	assert_int_equal(mbox_uid(mb, 2), 6);
	mbox_close(&mb);
	assert_int_equal(mh_sql_int(root, "SELECT count(*) FROM msgs"), 2);
}

static void test_expunge_goes_on_past_a_file_it_cannot_remove(void **state)
{
	const char *root = *state;
	uint32_t uids[] = {2, 3, 4};
	char name[256], path[4096];
	struct mbox_changes ch;
	struct mbox *mb;

	put_new(root, 5);
	mb = mh_open(root, "");
	/* UID 3's name is a directory now: unlink() fails with EISDIR. */
	assert_int_equal(mh_find(root, "cur", "1700000003.", name, sizeof(name)), 0);
	snprintf(path, sizeof(path), "%s/cur/%s", root, name);
	assert_int_equal(unlink(path), 0);
	assert_int_equal(mkdir(path, 0700), 0);
	assert_int_equal(mbox_expunge(mb, uids, 3, &ch), -1);
	assert_non_null(strstr(mbox_error(mb), name));
	/* What went is reported, what stayed stays. */
	assert_int_equal(ch.expunged_count, 2);
	assert_int_equal(ch.expunged_uids[0], 4);
	assert_int_equal(ch.expunged_uids[1], 2);
	mbox_changes_free(&ch);
	assert_int_equal(mbox_count(mb), 3);
	assert_int_equal(mbox_seq(mb, 3), 2);
	mbox_close(&mb);
	assert_int_equal(mh_sql_int(root, "SELECT count(*) FROM msgs"), 3);
	assert_int_equal(rmdir(path), 0);
}

static void test_unlink_all_reports_each_name(void **state)
{
	const char *root = *state;
	/* Under and over the count that starts helper threads. */
	static const size_t counts[] = {5, 300};
	char path[4096];
	int dir_fd;

	snprintf(path, sizeof(path), "%s/tmp", root);
	dir_fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_true(dir_fd >= 0);
	for (size_t c = 0; c < sizeof(counts) / sizeof(counts[0]); c++) {
		size_t count = counts[c];
		char **names = calloc(count, sizeof(*names));
		int *errnos = calloc(count, sizeof(*errnos));

		assert_non_null(names);
		assert_non_null(errnos);
		for (size_t i = 0; i < count; i++) {
			char rel[64];

			assert_true(asprintf(&names[i], "f%zu", i) > 0);
			snprintf(rel, sizeof(rel), "tmp/%s", names[i]);
			/* Every seventh is missing. */
			if (i % 7 != 3)
				mh_put(root, rel, "x");
		}
		mbox_unlink_all(dir_fd, names, count, errnos);
		for (size_t i = 0; i < count; i++) {
			assert_int_equal(errnos[i], i % 7 == 3 ? ENOENT : 0);
			free(names[i]);
		}
		assert_int_equal(mh_count(root, "tmp"), 0);
		free(names);
		free(errnos);
	}
	close(dir_fd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_expunge_deletes_the_rows_of_each_run_of_uids,
	                                    mh_setup, mh_teardown),
	    cmocka_unit_test_setup_teardown(test_expunge_without_text_lists_nothing_to_purge, mh_setup,
	                                    mh_teardown),
	    cmocka_unit_test_setup_teardown(test_expunged_text_is_purged_in_batches, mh_setup,
	                                    mh_teardown),
	    cmocka_unit_test_setup_teardown(test_purge_keeps_the_text_of_a_uid_the_folder_has_again,
	                                    mh_setup, mh_teardown),
	    cmocka_unit_test_setup_teardown(
	        test_rows_of_files_removed_before_a_crash_go_at_the_next_sync, mh_setup, mh_teardown),
	    cmocka_unit_test_setup_teardown(test_expunge_follows_files_renamed_by_another_program,
	                                    mh_setup, mh_teardown),
	    cmocka_unit_test_setup_teardown(test_expunge_goes_on_past_a_file_it_cannot_remove,
	                                    mh_setup, mh_teardown),
	    cmocka_unit_test_setup_teardown(test_unlink_all_reports_each_name, mh_setup, mh_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
