/* The folder snapshot (maild-snapshot): written after a load from the index, used only while
   the index's stamp matches, ignored when damaged, and never a source of names freed twice. */
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

/* MBOX_SNAPSHOT_MIN_MESSAGES in mbox_private.h. */
#define SNAPSHOT_MIN 1000

static void put_cur(const char *root, unsigned count)
{
	char rel[128];

	for (unsigned i = 1; i <= count; i++) {
		snprintf(rel, sizeof(rel), "cur/%u.M%uP1Q1.host,S=2,W=2:2,", 1700000000 + i, i);
		mh_put(root, rel, "hi");
	}
}

/* The first open gives the new files their UIDs; the second loads the rows it wrote and
   takes the snapshot. */
static void put_cur_and_snapshot(const char *root, unsigned count)
{
	struct mbox *mb;

	put_cur(root, count);
	for (int i = 0; i < 2; i++) {
		mb = mh_open(root, "");
		assert_int_equal(mbox_count(mb), count);
		mbox_close(&mb);
	}
}

static uint8_t flags_of(struct mbox *mb, uint32_t seq)
{
	struct mbox_msg_info info;

	assert_int_equal(mbox_msg(mb, seq, &info), 1);
	return info.flags;
}

/* Rows changed behind maild's back without a new stamp: only a snapshot still says Seen is
   unset. A white-box lever: maild itself never writes a row without changing the stamp. */
static void mark_all_seen_in_index_only(const char *root)
{
	mh_sql_run(root, "UPDATE msgs SET flags = flags | 8");
}

static void test_a_folder_below_the_threshold_has_no_snapshot(void **state)
{
	const char *root = *state;

	put_cur_and_snapshot(root, SNAPSHOT_MIN - 1);
	assert_false(mh_exists(root, "maild-snapshot"));
}

static void test_a_folder_at_the_threshold_is_loaded_from_its_snapshot(void **state)
{
	const char *root = *state;
	struct mbox_msg_info info;
	struct mbox *mb;

	put_cur_and_snapshot(root, SNAPSHOT_MIN);
	assert_true(mh_exists(root, "maild-snapshot"));
	mark_all_seen_in_index_only(root);
	mb = mh_open(root, "");
	assert_int_equal(mbox_count(mb), SNAPSHOT_MIN);
	assert_int_equal(flags_of(mb, 1) & MBOX_FLAG_SEEN, 0);
	assert_int_equal(mbox_msg(mb, SNAPSHOT_MIN, &info), 1);
	assert_string_equal(info.name, "1700001000.M1000P1Q1.host,S=2,W=2:2,");
	mbox_close(&mb);
}

static void test_a_new_stamp_makes_the_snapshot_stale(void **state)
{
	const char *root = *state;
	struct mbox *mb;

	put_cur_and_snapshot(root, SNAPSHOT_MIN);
	mark_all_seen_in_index_only(root);
	mh_sql_run(root, "UPDATE folders SET msgs_gen = msgs_gen + 1");
	mb = mh_open(root, "");
	assert_int_equal(flags_of(mb, 1) & MBOX_FLAG_SEEN, MBOX_FLAG_SEEN);
	mbox_close(&mb);
}

static void test_own_changes_change_the_stamp_and_are_seen_after_reopening(void **state)
{
	const char *root = *state;
	struct mbox_store_req req = {.mode = MBOX_STORE_ADD, .flags = MBOX_FLAG_FLAGGED};
	struct mbox_store_result res;
	struct mbox_changes ch;
	long long gen;
	uint32_t uid = 5, gone = 7;
	struct mbox *mb;

	put_cur(root, SNAPSHOT_MIN);
	mb = mh_open(root, "");
	gen = mh_sql_int(root, "SELECT msgs_gen FROM folders WHERE name = ''");
	assert_int_equal(mbox_store(mb, &uid, 1, &req, &res), 0);
	mbox_store_result_free(&res);
	assert_int_equal(mbox_expunge(mb, &gone, 1, &ch), 0);
	mbox_changes_free(&ch);
	mbox_close(&mb);
	assert_true(mh_sql_int(root, "SELECT msgs_gen FROM folders WHERE name = ''") > gen);

	/* Read from the index (the snapshot is stale), then from a new snapshot: the same. */
	for (int round = 0; round < 2; round++) {
		mb = mh_open(root, "");
		assert_int_equal(mbox_count(mb), SNAPSHOT_MIN - 1);
		assert_int_equal(flags_of(mb, 5) & MBOX_FLAG_FLAGGED, MBOX_FLAG_FLAGGED);
		assert_int_equal(mbox_seq(mb, 7), 0);
		mbox_close(&mb);
	}
}

static void test_a_damaged_snapshot_is_ignored(void **state)
{
	const char *root = *state;
	char path[4096];
	struct stat st;
	struct mbox *mb;
	int fd;

	put_cur_and_snapshot(root, SNAPSHOT_MIN);
	mark_all_seen_in_index_only(root);
	snprintf(path, sizeof(path), "%s/maild-snapshot", root);
	assert_int_equal(stat(path, &st), 0);
	fd = open(path, O_WRONLY);
	assert_true(fd >= 0);
	/* One byte in the middle of the names. */
	assert_int_equal(pwrite(fd, "#", 1, st.st_size - 100), 1);
	close(fd);
	mb = mh_open(root, "");
	assert_int_equal(flags_of(mb, 1) & MBOX_FLAG_SEEN, MBOX_FLAG_SEEN);
	mbox_close(&mb);

	/* Cut short, as a crash after the rename could leave it (the load above wrote it again,
	   with Seen set). */
	mh_sql_run(root, "UPDATE msgs SET flags = flags & ~8");
	assert_int_equal(truncate(path, st.st_size / 2), 0);
	mb = mh_open(root, "");
	assert_int_equal(mbox_count(mb), SNAPSHOT_MIN);
	assert_int_equal(flags_of(mb, 1) & MBOX_FLAG_SEEN, 0);
	mbox_close(&mb);
}

static void test_names_from_the_snapshot_survive_renames_and_expunges(void **state)
{
	const char *root = *state;
	struct mbox_store_req req = {.mode = MBOX_STORE_ADD, .flags = MBOX_FLAG_SEEN};
	struct mbox_store_result res;
	struct mbox_msg_info info;
	struct mbox_changes ch;
	uint32_t uids[3] = {1, 2, 3};
	struct mbox *mb;

	put_cur_and_snapshot(root, SNAPSHOT_MIN);
	mb = mh_open(root, ""); /* from the snapshot: names in one block */
	assert_int_equal(mbox_store(mb, uids, 2, &req, &res), 0);
	mbox_store_result_free(&res);
	assert_int_equal(mbox_msg(mb, 1, &info), 1);
	assert_string_equal(info.name, "1700000001.M1P1Q1.host,S=2,W=2:2,S");
	assert_int_equal(mbox_expunge(mb, uids + 1, 2, &ch), 0);
	mbox_changes_free(&ch);
	assert_int_equal(mbox_count(mb), SNAPSHOT_MIN - 2);
	mbox_close(&mb); /* under valgrind/ASan: no name freed from inside the block */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_a_folder_below_the_threshold_has_no_snapshot,
	                                    mh_setup, mh_teardown),
	    cmocka_unit_test_setup_teardown(
	        test_a_folder_at_the_threshold_is_loaded_from_its_snapshot, mh_setup, mh_teardown),
	    cmocka_unit_test_setup_teardown(test_a_new_stamp_makes_the_snapshot_stale, mh_setup,
	                                    mh_teardown),
	    cmocka_unit_test_setup_teardown(
	        test_own_changes_change_the_stamp_and_are_seen_after_reopening, mh_setup, mh_teardown),
	    cmocka_unit_test_setup_teardown(test_a_damaged_snapshot_is_ignored, mh_setup, mh_teardown),
	    cmocka_unit_test_setup_teardown(test_names_from_the_snapshot_survive_renames_and_expunges,
	                                    mh_setup, mh_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
