/* MBOX_OPEN_DEFER_ROWS: a big first open returns once the UIDs are in the uid list, a thread
   writes the index rows, and nothing another handle does meanwhile (open, store, assign)
   can miss them or give a file a second UID. The thread is held back a little
   (mbox_rows_job_test_delay()) so the tests act while it has not written yet. */
#include <setjmp.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "mbox.h"
#include "mbox_harness.h"
#include "mbox_private.h"

#define JOB_DELAY_MS 300

static void put_cur(const char *root, unsigned first, unsigned count)
{
	char rel[128];

	for (unsigned i = first; i < first + count; i++) {
		snprintf(rel, sizeof(rel), "cur/%u.M%uP1Q1.host,S=2,W=2:2,", 1700000000 + i, i);
		mh_put(root, rel, "hi");
	}
}

static struct mbox *open_deferring(const char *root)
{
	struct mbox *mb = NULL;
	char *error = NULL;

	if (mbox_open_flags(root, "", MBOX_OPEN_DEFER_ROWS, &mb, &error) < 0)
		fail_msg("mbox_open_flags: %s", error);
	return mb;
}

static long long index_rows(const char *root)
{
	return mh_sql_int(root, "SELECT count(*) FROM msgs");
}

static const char *name_of(struct mbox *mb, uint32_t seq)
{
	struct mbox_msg_info info;

	assert_int_equal(mbox_msg(mb, seq, &info), 1);
	return info.name;
}

static int setup(void **state)
{
	mbox_rows_job_test_delay(JOB_DELAY_MS);
	return mh_setup(state);
}

static int teardown(void **state)
{
	mbox_rows_jobs_wait();
	mbox_rows_job_test_delay(0);
	return mh_teardown(state);
}

static void test_a_big_first_open_returns_before_the_rows_which_follow(void **state)
{
	const char *root = *state;
	struct mbox_msg_info info;
	struct mbox *mb;

	put_cur(root, 1, MBOX_ROWS_JOB_MIN);
	mb = open_deferring(root);
	assert_int_equal(mbox_count(mb), MBOX_ROWS_JOB_MIN);
	assert_int_equal(mbox_uid(mb, 1), 1);
	assert_int_equal(mbox_uid(mb, MBOX_ROWS_JOB_MIN), MBOX_ROWS_JOB_MIN);
	/* The UIDs are durable already; the rows are not there yet. */
	assert_non_null(strstr(mh_read(root, "maild-uidlist"), "1700001000.M1000P1Q1.host"));
	assert_int_equal(index_rows(root), 0);
	mbox_rows_jobs_wait();
	assert_int_equal(index_rows(root), MBOX_ROWS_JOB_MIN);
	mbox_close(&mb);

	/* The job left a snapshot of the rows: the next open reads it, not the rows (which
	   are changed here behind maild's back, without a new stamp, to tell). */
	assert_true(mh_exists(root, "maild-snapshot"));
	mh_sql_run(root, "UPDATE msgs SET flags = flags | 8");
	mb = mh_open(root, "");
	assert_int_equal(mbox_count(mb), MBOX_ROWS_JOB_MIN);
	assert_int_equal(mbox_uid(mb, 7), 7);
	assert_string_equal(name_of(mb, 7), "1700000007.M7P1Q1.host,S=2,W=2:2,");
	assert_int_equal(mbox_msg(mb, 7, &info), 1);
	assert_int_equal(info.flags & MBOX_FLAG_SEEN, 0);
	mbox_close(&mb);
}

static void test_below_the_threshold_the_rows_are_written_before_open_returns(void **state)
{
	const char *root = *state;
	struct mbox *mb;

	put_cur(root, 1, MBOX_ROWS_JOB_MIN - 1);
	mb = open_deferring(root);
	assert_int_equal(index_rows(root), MBOX_ROWS_JOB_MIN - 1);
	mbox_close(&mb);
}

static void test_a_second_handle_waits_for_the_rows_and_sees_the_same_uids(void **state)
{
	const char *root = *state;
	struct mbox *first, *second;

	put_cur(root, 1, MBOX_ROWS_JOB_MIN);
	first = open_deferring(root);
	second = mh_open(root, "");
	assert_int_equal(index_rows(root), MBOX_ROWS_JOB_MIN);
	assert_int_equal(mbox_count(second), MBOX_ROWS_JOB_MIN);
	for (uint32_t seq = 1; seq <= MBOX_ROWS_JOB_MIN; seq++) {
		assert_int_equal(mbox_uid(first, seq), mbox_uid(second, seq));
		assert_string_equal(name_of(first, seq), name_of(second, seq));
	}
	assert_int_equal(mbox_uidnext(second), MBOX_ROWS_JOB_MIN + 1);
	mbox_close(&second);
	mbox_close(&first);
}

static void test_a_flag_change_during_the_job_waits_and_is_kept(void **state)
{
	const char *root = *state;
	struct mbox_store_req req = {.mode = MBOX_STORE_ADD, .flags = MBOX_FLAG_FLAGGED};
	struct mbox_store_result res;
	struct mbox_msg_info info;
	uint32_t uid = 5;
	struct mbox *mb;

	put_cur(root, 1, MBOX_ROWS_JOB_MIN);
	mb = open_deferring(root);
	assert_int_equal(mbox_store(mb, &uid, 1, &req, &res), 0);
	mbox_store_result_free(&res);
	mbox_close(&mb);
	mbox_rows_jobs_wait();
	assert_int_equal(mh_sql_int(root, "SELECT flags FROM msgs WHERE uid = 5") & MBOX_FLAG_FLAGGED,
	                 MBOX_FLAG_FLAGGED);

	mb = mh_open(root, "");
	assert_int_equal(mbox_msg(mb, 5, &info), 1);
	assert_int_equal(info.flags & MBOX_FLAG_FLAGGED, MBOX_FLAG_FLAGGED);
	mbox_close(&mb);
}

static void test_files_added_during_the_job_get_the_next_uids(void **state)
{
	const char *root = *state;
	struct mbox *first, *second;

	put_cur(root, 1, MBOX_ROWS_JOB_MIN);
	first = open_deferring(root);
	put_cur(root, MBOX_ROWS_JOB_MIN + 1, 5);
	second = mh_open(root, "");
	assert_int_equal(mbox_count(second), MBOX_ROWS_JOB_MIN + 5);
	assert_int_equal(mbox_uid(second, MBOX_ROWS_JOB_MIN + 1), MBOX_ROWS_JOB_MIN + 1);
	assert_string_equal(name_of(second, MBOX_ROWS_JOB_MIN + 5),
	                    "1700001005.M1005P1Q1.host,S=2,W=2:2,");
	assert_int_equal(mbox_uid(second, 3), mbox_uid(first, 3));
	mbox_close(&second);
	mbox_close(&first);
	assert_int_equal(index_rows(root), MBOX_ROWS_JOB_MIN + 5);
}

static void drop_index(const char *root)
{
	char cmd[4200];

	snprintf(cmd, sizeof(cmd), "rm -f '%s'/maild-index.sqlite* '%s'/maild-snapshot", root, root);
	assert_int_equal(system(cmd), 0);
}

/* The index is lost, the uid list kept: the deferring open takes every file's UID from the
   list, in whatever order the list gives them, and the rows follow in UID order. */
static void test_a_lost_index_is_rebuilt_with_the_uids_of_the_list(void **state)
{
	const char *root = *state;
	char list[128 * (MBOX_ROWS_JOB_MIN + 2)];
	size_t len;
	struct mbox *mb;

	put_cur(root, 1, MBOX_ROWS_JOB_MIN);
	/* UIDs against delivery order: the newest file has UID 1. */
	len = (size_t)snprintf(list, sizeof(list), "3 V777 N%u\n", MBOX_ROWS_JOB_MIN + 10);
	for (unsigned uid = 1; uid <= MBOX_ROWS_JOB_MIN; uid++) {
		unsigned i = MBOX_ROWS_JOB_MIN + 1 - uid;

		len += (size_t)snprintf(list + len, sizeof(list) - len, "%u :%u.M%uP1Q1.host,S=2,W=2\n",
		                        uid, 1700000000 + i, i);
	}
	mh_put(root, "maild-uidlist", list);
	put_cur(root, MBOX_ROWS_JOB_MIN + 1, 1); /* not in the list: the next UID */
	drop_index(root);

	mb = open_deferring(root);
	assert_int_equal(mbox_uidvalidity(mb), 777);
	assert_int_equal(mbox_count(mb), MBOX_ROWS_JOB_MIN + 1);
	assert_int_equal(mbox_uid(mb, 1), 1);
	assert_string_equal(name_of(mb, 1), "1700001000.M1000P1Q1.host,S=2,W=2:2,");
	assert_string_equal(name_of(mb, MBOX_ROWS_JOB_MIN), "1700000001.M1P1Q1.host,S=2,W=2:2,");
	assert_int_equal(mbox_uid(mb, MBOX_ROWS_JOB_MIN + 1), MBOX_ROWS_JOB_MIN + 10);
	mbox_close(&mb);
	mbox_rows_jobs_wait();
	assert_int_equal(mh_sql_int(root, "SELECT uid FROM msgs WHERE base = '1700000001.M1P1Q1.host,S=2,W=2'"),
	                 MBOX_ROWS_JOB_MIN);
	assert_int_equal(index_rows(root), MBOX_ROWS_JOB_MIN + 1);

	mb = mh_open(root, "");
	assert_int_equal(mbox_uid(mb, 2), 2);
	assert_string_equal(name_of(mb, 2), "1700000999.M999P1Q1.host,S=2,W=2:2,");
	assert_int_equal(mbox_uidnext(mb), MBOX_ROWS_JOB_MIN + 11);
	mbox_close(&mb);
}

/* A Dovecot Maildir: its list becomes ours and its UIDs stay, rows deferred or not. */
static void check_adopted(const char *root, unsigned count, bool deferring)
{
	char list[128 * (MBOX_ROWS_JOB_MIN + 2)];
	size_t len;
	struct mbox *mb;

	put_cur(root, 1, count);
	len = (size_t)snprintf(list, sizeof(list), "3 V4242 N%u Gfeedface\n", 2 * count + 100);
	for (unsigned i = 1; i <= count; i++)
		len += (size_t)snprintf(list + len, sizeof(list) - len,
		                        "%u W2 :%u.M%uP1Q1.host,S=2,W=2:2,S\n", 2 * i, 1700000000 + i, i);
	mh_put(root, "dovecot-uidlist", list);

	mb = deferring ? open_deferring(root) : mh_open(root, "");
	assert_int_equal(mbox_uidvalidity(mb), 4242);
	assert_int_equal(mbox_count(mb), count);
	assert_int_equal(mbox_uid(mb, 1), 2);
	assert_int_equal(mbox_uid(mb, count), 2 * count);
	assert_int_equal(mbox_uidnext(mb), 2 * count + 100);
	mbox_close(&mb);
	mbox_rows_jobs_wait();
	assert_true(mh_exists(root, "maild-uidlist"));
	assert_int_equal(index_rows(root), count);

	drop_index(root);
	mb = mh_open(root, "");
	assert_int_equal(mbox_uidvalidity(mb), 4242);
	assert_int_equal(mbox_uid(mb, 3), 6);
	mbox_close(&mb);
}

static void test_a_big_dovecot_folder_is_adopted_with_deferred_rows(void **state)
{
	check_adopted(*state, MBOX_ROWS_JOB_MIN, true);
}

static void test_a_small_dovecot_folder_is_adopted_by_a_deferring_open(void **state)
{
	check_adopted(*state, 10, true);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(
	        test_a_big_first_open_returns_before_the_rows_which_follow, setup, teardown),
	    cmocka_unit_test_setup_teardown(
	        test_below_the_threshold_the_rows_are_written_before_open_returns, setup, teardown),
	    cmocka_unit_test_setup_teardown(
	        test_a_second_handle_waits_for_the_rows_and_sees_the_same_uids, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_a_flag_change_during_the_job_waits_and_is_kept,
	                                    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_files_added_during_the_job_get_the_next_uids,
	                                    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_a_lost_index_is_rebuilt_with_the_uids_of_the_list,
	                                    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_a_big_dovecot_folder_is_adopted_with_deferred_rows,
	                                    setup, teardown),
	    cmocka_unit_test_setup_teardown(
	        test_a_small_dovecot_folder_is_adopted_by_a_deferring_open, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
