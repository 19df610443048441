#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>
#include <sqlite3.h>

#include "mbox.h"
#include "mbox_harness.h"
#include "mbox_index.h"

static void put3_new(const char *root)
{
	/* Out of order in the directory on purpose: UIDs follow the names (delivery time). */
	mh_put(root, "new/1700000003.M3P1Q3.host,S=5,W=5", "three");
	mh_put(root, "new/1700000001.M1P1Q1.host,S=3,W=3", "one");
	mh_put(root, "new/1700000002.M2P1Q2.host,S=3,W=3", "two");
}

static void delete_index(const char *root)
{
	char path[4096];

	snprintf(path, sizeof(path), "%s/maild-index.sqlite", root);
	unlink(path);
	snprintf(path, sizeof(path), "%s/maild-index.sqlite-wal", root);
	unlink(path);
	snprintf(path, sizeof(path), "%s/maild-index.sqlite-shm", root);
	unlink(path);
}

static void test_new_mail_gets_ascending_uids_and_moves_to_cur(void **state)
{
	const char *root = *state;
	struct mbox_msg_info info;
	struct mbox_counts counts;
	struct mbox *mb, *other;

	put3_new(root);
	mb = mh_open(root, "");
	assert_int_equal(mbox_count(mb), 3);
	assert_int_equal(mh_count(root, "new"), 0);
	assert_int_equal(mh_count(root, "cur"), 3);
	assert_true(mh_exists(root, "cur/1700000001.M1P1Q1.host,S=3,W=3:2,"));
	for (uint32_t seq = 1; seq <= 3; seq++) {
		assert_int_equal(mbox_msg(mb, seq, &info), 1);
		assert_int_equal(info.uid, seq);
		assert_true(info.recent);
	}
	assert_int_equal(mbox_msg(mb, 1, &info), 1);
	assert_string_equal(info.name, "1700000001.M1P1Q1.host,S=3,W=3:2,");
	assert_int_equal(info.size, 3);
	assert_int_equal(mbox_uidnext(mb), 4);
	assert_true(mbox_uidvalidity(mb) != 0);
	mbox_counts(mb, &counts);
	assert_int_equal(counts.recent, 3);
	assert_int_equal(counts.unseen, 3);
	assert_int_equal(counts.first_unseen, 1);
	assert_int_equal(counts.bytes, 11);

	/* \Recent belongs to the session that moved the files. */
	other = mh_open(root, "");
	mbox_counts(other, &counts);
	assert_int_equal(counts.messages, 3);
	assert_int_equal(counts.recent, 0);
	assert_int_equal(mbox_seq(other, 2), 2);
	assert_int_equal(mbox_uid(other, 3), 3);
	mbox_close(&other);

	/* Two deliveries in one second: 99,999 microseconds before 100,001, not as strcmp has it.
	 */
	mh_put(root, "new/1700000009.M100001P1Q9.host,S=5,W=5", "later");
	mh_put(root, "new/1700000009.M99999P1Q8.host,S=7,W=7", "earlier");
	assert_int_equal(mbox_sync(mb, 0, NULL), 0);
	assert_int_equal(mbox_msg(mb, 4, &info), 1);
	assert_int_equal(info.uid, 4);
	assert_string_equal(info.name, "1700000009.M99999P1Q8.host,S=7,W=7:2,");
	assert_int_equal(mbox_msg(mb, 5, &info), 1);
	assert_string_equal(info.name, "1700000009.M100001P1Q9.host,S=5,W=5:2,");
	mbox_close(&mb);
	assert_null(mb);
}

/* A handle that only reads for itself (background indexing) leaves new mail in new/, where
   the user's next sync finds it as \Recent. */
static void test_a_handle_that_leaves_new_alone_takes_no_recent(void **state)
{
	const char *root = *state;
	struct mbox_msg_info info;
	struct mbox *reader, *mb;
	char *error = NULL;

	mh_put(root, "cur/1700000000.M0P1Q0.host,S=4,W=4:2,S", "zero");
	put3_new(root);
	assert_int_equal(mbox_open_flags(root, "", MBOX_OPEN_LEAVE_NEW, &reader, &error), 0);
	assert_int_equal(mbox_count(reader), 1);
	assert_int_equal(mbox_sync(reader, MBOX_SYNC_FORCE, NULL), 0);
	assert_int_equal(mbox_count(reader), 1);
	assert_int_equal(mh_count(root, "new"), 3);

	mb = mh_open(root, "");
	assert_int_equal(mbox_count(mb), 4);
	assert_int_equal(mbox_msg(mb, 4, &info), 1);
	assert_true(info.recent);
	mbox_close(&mb);
	mbox_close(&reader);
}

static void test_uid_list_is_dovecot_v3(void **state)
{
	const char *root = *state;
	char expect[128];
	const char *text;
	struct mbox *mb;

	put3_new(root);
	mb = mh_open(root, "");
	text = mh_read(root, "maild-uidlist");
	assert_non_null(text);
	snprintf(expect, sizeof(expect), "3 V%u N", mbox_uidvalidity(mb));
	assert_memory_equal(text, expect, strlen(expect));
	assert_non_null(strstr(text, " G"));
	assert_non_null(strstr(text, "\n1 :1700000001.M1P1Q1.host,S=3,W=3\n"));
	assert_non_null(strstr(text, "\n3 :1700000003.M3P1Q3.host,S=5,W=5\n"));
	mbox_close(&mb);
}

static void test_uids_survive_index_deletion(void **state)
{
	const char *root = *state;
	struct mbox_msg_info info;
	struct mbox *mb;
	uint32_t validity;

	put3_new(root);
	mb = mh_open(root, "");
	validity = mbox_uidvalidity(mb);
	mbox_close(&mb);
	/* A fourth message arrives while no index exists. */
	delete_index(root);
	mh_put(root, "new/1700000000.M0P1Q0.host,S=4,W=4", "zero");
	mb = mh_open(root, "");
	assert_int_equal(mbox_uidvalidity(mb), validity);
	assert_int_equal(mbox_count(mb), 4);
	assert_int_equal(mbox_msg(mb, 1, &info), 1);
	assert_int_equal(info.uid, 1);
	assert_string_equal(info.name, "1700000001.M1P1Q1.host,S=3,W=3:2,");
	assert_int_equal(mbox_msg(mb, 3, &info), 1);
	assert_int_equal(info.uid, 3);
	/* The late arrival's name sorts first but it gets the next UID, never an old one. */
	assert_int_equal(mbox_msg(mb, 4, &info), 1);
	assert_int_equal(info.uid, 4);
	assert_string_equal(info.name, "1700000000.M0P1Q0.host,S=4,W=4:2,");
	assert_int_equal(mbox_uidnext(mb), 5);
	mbox_close(&mb);
}

static void test_corrupt_index_is_rebuilt(void **state)
{
	const char *root = *state;
	struct mbox *mb;
	uint32_t validity;

	put3_new(root);
	mb = mh_open(root, "");
	validity = mbox_uidvalidity(mb);
	mbox_close(&mb);
	delete_index(root);
	mh_put(root, "maild-index.sqlite", "this is not an SQLite database, just junk bytes\n");
	mb = mh_open(root, "");
	assert_int_equal(mbox_uidvalidity(mb), validity);
	assert_int_equal(mbox_count(mb), 3);
	assert_int_equal(mbox_uid(mb, 3), 3);
	mbox_close(&mb);
}

static void test_missing_uid_list_is_written_again(void **state)
{
	const char *root = *state;
	struct mbox *mb;
	char path[4096];

	put3_new(root);
	mb = mh_open(root, "");
	snprintf(path, sizeof(path), "%s/maild-uidlist", root);
	assert_int_equal(unlink(path), 0);
	mh_put(root, "new/1700000009.M9P1Q9.host,S=4,W=4", "nine");
	assert_int_equal(mbox_sync(mb, 0, NULL), 0);
	assert_int_equal(mbox_uid(mb, 4), 4);
	assert_non_null(strstr(mh_read(root, "maild-uidlist"), "\n4 :1700000009.M9P1Q9.host"));
	assert_non_null(strstr(mh_read(root, "maild-uidlist"), "\n1 :1700000001.M1P1Q1.host"));
	mbox_close(&mb);
}

static void test_external_add_delete_and_rename_are_noticed(void **state)
{
	const char *root = *state;
	struct mbox_changes ch;
	struct mbox_msg_info info;
	struct mbox *mb;
	char from[4096], to[4096];
	uint64_t before;

	put3_new(root);
	mb = mh_open(root, "");
	before = mbox_highestmodseq(mb);
	/* mutt marks message 1 seen, deletes message 2; mail arrives in new/ and cur/. */
	snprintf(from, sizeof(from), "%s/cur/1700000001.M1P1Q1.host,S=3,W=3:2,", root);
	snprintf(to, sizeof(to), "%s/cur/1700000001.M1P1Q1.host,S=3,W=3:2,S", root);
	assert_int_equal(rename(from, to), 0);
	snprintf(from, sizeof(from), "%s/cur/1700000002.M2P1Q2.host,S=3,W=3:2,", root);
	assert_int_equal(unlink(from), 0);
	mh_put(root, "cur/1700000005.M5P1Q5.host:2,F", "five!");
	mh_put(root, "new/1700000004.M4P1Q4.host,S=4,W=4", "four");

	assert_int_equal(mbox_sync(mb, 0, &ch), 0);
	assert_int_equal(ch.changed_count, 1);
	assert_int_equal(ch.changed[0], 1);
	assert_int_equal(ch.expunged_count, 1);
	assert_int_equal(ch.expunged_seqs[0], 2);
	assert_int_equal(ch.expunged_uids[0], 2);
	assert_int_equal(ch.added_count, 2);
	assert_int_equal(ch.added[0], 4); /* by name: ...04 before ...05 */
	assert_int_equal(ch.added[1], 5);
	assert_int_equal(ch.recent_count, 1);
	assert_int_equal(ch.recent[0], 4);
	mbox_changes_free(&ch);

	assert_int_equal(mbox_count(mb), 4);
	assert_int_equal(mbox_msg(mb, 1, &info), 1);
	assert_int_equal(info.flags, MBOX_FLAG_SEEN);
	assert_true(info.modseq > before);
	assert_int_equal(info.modseq, mbox_highestmodseq(mb));
	/* No S= in the name: the size came from stat. */
	assert_int_equal(mbox_msg(mb, 4, &info), 1);
	assert_int_equal(info.uid, 5);
	assert_int_equal(info.flags, MBOX_FLAG_FLAGGED);
	assert_int_equal(info.size, 5);
	assert_int_equal(mbox_seq(mb, 2), 0);

	/* Nothing changed: nothing reported. */
	assert_int_equal(mbox_sync(mb, MBOX_SYNC_FORCE, &ch), 0);
	assert_int_equal(ch.changed_count + ch.expunged_count + ch.added_count, 0);
	mbox_changes_free(&ch);
	mbox_close(&mb);
}

static void test_flags_and_keywords_round_trip_through_file_names(void **state)
{
	const char *root = *state;
	struct mbox_store_req req = {.mode = MBOX_STORE_ADD};
	struct mbox_store_result res;
	struct mbox_msg_info info;
	unsigned junk, work;
	struct mbox *mb;
	char name[512];

	put3_new(root);
	mb = mh_open(root, "");
	assert_int_equal(mbox_keyword_add(mb, "$Junk", &junk), 1);
	assert_int_equal(mbox_keyword_add(mb, "Work", &work), 1);
	assert_int_equal(junk, 0);
	assert_int_equal(work, 1);
	assert_int_equal(mbox_keyword_add(mb, "$junk", &junk), 1); /* case-insensitive */
	assert_int_equal(junk, 0);
	assert_int_equal(mbox_keyword_add(mb, "bad keyword", &junk), 0);
	assert_string_equal(mh_read(root, "dovecot-keywords"), "0 $Junk\n1 Work\n");

	req.flags = MBOX_FLAG_SEEN | MBOX_FLAG_FLAGGED | MBOX_FLAG_ANSWERED;
	req.keywords = 1u << work;
	uint32_t uid = 2;
	assert_int_equal(mbox_store(mb, &uid, 1, &req, &res), 0);
	assert_int_equal(res.changed_count, 1);
	assert_int_equal(res.modseq, mbox_highestmodseq(mb));
	mbox_store_result_free(&res);
	assert_int_equal(mh_find(root, "cur", "1700000002.", name, sizeof(name)), 0);
	assert_string_equal(name, "1700000002.M2P1Q2.host,S=3,W=3:2,FRSb");

	req.mode = MBOX_STORE_REMOVE;
	req.flags = MBOX_FLAG_ANSWERED;
	req.keywords = 0;
	assert_int_equal(mbox_store(mb, &uid, 1, &req, &res), 0);
	mbox_store_result_free(&res);
	assert_int_equal(mh_find(root, "cur", "1700000002.", name, sizeof(name)), 0);
	assert_string_equal(name, "1700000002.M2P1Q2.host,S=3,W=3:2,FSb");
	mbox_close(&mb);

	/* From the file names alone. */
	delete_index(root);
	mb = mh_open(root, "");
	assert_int_equal(mbox_msg(mb, 2, &info), 1);
	assert_int_equal(info.flags, MBOX_FLAG_SEEN | MBOX_FLAG_FLAGGED);
	assert_int_equal(info.keywords, 1u << 1);
	assert_string_equal(mbox_keyword_name(mb, 1), "Work");
	assert_int_equal(mbox_keyword_find(mb, "work"), 1);

	req.mode = MBOX_STORE_SET;
	req.flags = MBOX_FLAG_DELETED;
	req.keywords = 1u << 0;
	assert_int_equal(mbox_store(mb, &uid, 1, &req, &res), 0);
	mbox_store_result_free(&res);
	assert_int_equal(mh_find(root, "cur", "1700000002.", name, sizeof(name)), 0);
	assert_string_equal(name, "1700000002.M2P1Q2.host,S=3,W=3:2,Ta");
	mbox_close(&mb);
}

static void test_unchangedsince_refuses_messages_changed_later(void **state)
{
	const char *root = *state;
	struct mbox_store_req req = {.mode = MBOX_STORE_ADD, .flags = MBOX_FLAG_FLAGGED};
	struct mbox_store_result res;
	struct mbox_msg_info info;
	uint32_t uids[] = {1, 2};
	uint64_t old;
	struct mbox *mb;

	put3_new(root);
	mb = mh_open(root, "");
	old = mbox_highestmodseq(mb);
	uint32_t one = 1;
	assert_int_equal(mbox_store(mb, &one, 1, &req, &res), 0);
	mbox_store_result_free(&res);

	/* Message 1 changed after `old`, message 2 did not. */
	req.flags = MBOX_FLAG_SEEN;
	req.unchangedsince_set = true;
	req.unchangedsince = old;
	assert_int_equal(mbox_store(mb, uids, 2, &req, &res), 0);
	assert_int_equal(res.failed_count, 1);
	assert_int_equal(res.failed[0], 1);
	assert_int_equal(res.changed_count, 1);
	assert_int_equal(res.changed[0], 2);
	mbox_store_result_free(&res);
	assert_int_equal(mbox_msg(mb, 1, &info), 1);
	assert_int_equal(info.flags, MBOX_FLAG_FLAGGED);
	assert_int_equal(mbox_msg(mb, 2, &info), 1);
	assert_int_equal(info.flags, MBOX_FLAG_SEEN);

	/* UNCHANGEDSINCE 0 fails for every message. */
	req.unchangedsince = 0;
	assert_int_equal(mbox_store(mb, uids, 2, &req, &res), 0);
	assert_int_equal(res.failed_count, 2);
	mbox_store_result_free(&res);
	mbox_close(&mb);
}

static void test_store_follows_a_concurrent_rename(void **state)
{
	const char *root = *state;
	struct mbox_store_req req = {.mode = MBOX_STORE_ADD, .flags = MBOX_FLAG_SEEN};
	struct mbox_store_result res;
	char from[4096], to[4096], name[512];
	struct mbox *mb;
	uint32_t uid = 3;
	int fd;

	put3_new(root);
	mb = mh_open(root, "");
	snprintf(from, sizeof(from), "%s/cur/1700000003.M3P1Q3.host,S=5,W=5:2,", root);
	snprintf(to, sizeof(to), "%s/cur/1700000003.M3P1Q3.host,S=5,W=5:2,T", root);
	assert_int_equal(rename(from, to), 0);
	/* FETCH still finds the file. */
	fd = mbox_msg_open(mb, 3);
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(rename(to, from), 0);
	assert_int_equal(rename(from, to), 0);
	assert_int_equal(mbox_store(mb, &uid, 1, &req, &res), 0);
	assert_int_equal(res.changed_count, 1);
	mbox_store_result_free(&res);
	assert_int_equal(mh_find(root, "cur", "1700000003.", name, sizeof(name)), 0);
	assert_string_equal(name, "1700000003.M3P1Q3.host,S=5,W=5:2,ST");

	/* mutt sets \Seen on message 1 and a FETCH follows the rename; a STORE of the same
	   flag then has nothing to rename but still reports the message as changed. */
	snprintf(from, sizeof(from), "%s/cur/1700000001.M1P1Q1.host,S=3,W=3:2,", root);
	snprintf(to, sizeof(to), "%s/cur/1700000001.M1P1Q1.host,S=3,W=3:2,S", root);
	assert_int_equal(rename(from, to), 0);
	fd = mbox_msg_open(mb, 1);
	assert_true(fd >= 0);
	close(fd);
	uid = 1;
	assert_int_equal(mbox_store(mb, &uid, 1, &req, &res), 0);
	assert_int_equal(res.changed_count, 1);
	assert_int_equal(res.changed[0], 1);
	mbox_store_result_free(&res);
	mbox_close(&mb);
}

/* A file another program renamed is found by its base: one flag more or less is tried
   directly, anything else (two flags, a keyword) by reading cur/. */
static void test_a_renamed_file_is_found_whatever_changed(void **state)
{
	static const struct {
		const char *from, *to;
	} renames[] = {
	    {":2,", ":2,S"},      /* one flag added: guessed */
	    {":2,S", ":2,FS"},    /* one added before the others: guessed */
	    {":2,FS", ":2,F"},    /* one removed: guessed */
	    {":2,F", ":2,DST"},   /* several: listed */
	    {":2,DST", ":2,STa"}, /* a keyword: listed */
	    {":2,STa", ":2,"},    /* all removed: listed */
	};
	const char *root = *state;
	const char *base = "1700000002.M2P1Q2.host,S=3,W=3";
	char from[4096], to[4096], got[512];
	struct mbox *mb;

	put3_new(root);
	mb = mh_open(root, "");
	for (size_t i = 0; i < sizeof(renames) / sizeof(renames[0]); i++) {
		int fd;

		snprintf(from, sizeof(from), "%s/cur/%s%s", root, base, renames[i].from);
		snprintf(to, sizeof(to), "%s/cur/%s%s", root, base, renames[i].to);
		assert_int_equal(rename(from, to), 0);
		fd = mbox_msg_open(mb, 2);
		if (fd < 0)
			fail_msg("%s -> %s not found", renames[i].from, renames[i].to);
		close(fd);
	}
	/* and a file that is really gone is not found */
	assert_int_equal(mh_find(root, "cur", "1700000002.", got, sizeof(got)), 0);
	snprintf(from, sizeof(from), "%s/cur/%s", root, got);
	assert_int_equal(unlink(from), 0);
	assert_true(mbox_msg_open(mb, 2) < 0);
	mbox_close(&mb);
}

static void test_expunge_removes_files_and_updates_quota(void **state)
{
	const char *root = *state;
	struct maildir_quota_limit limit = {.bytes = 1000, .count = 0};
	struct maildir_quota_usage usage;
	const char *error;
	struct mbox_changes ch;
	uint32_t uids[] = {3, 1};
	struct mbox *mb;

	put3_new(root);
	mb = mh_open(root, "");
	assert_int_equal(maildir_quota_recalc(root, &limit, &usage, &error), 0);
	assert_int_equal(usage.bytes, 11);
	assert_int_equal(mbox_expunge(mb, uids, 2, &ch), 0);
	assert_int_equal(ch.expunged_count, 2);
	assert_int_equal(ch.expunged_seqs[0], 3); /* descending: send as they come */
	assert_int_equal(ch.expunged_uids[0], 3);
	assert_int_equal(ch.expunged_seqs[1], 1);
	mbox_changes_free(&ch);
	assert_int_equal(mbox_count(mb), 1);
	assert_int_equal(mbox_uid(mb, 1), 2);
	assert_int_equal(mh_count(root, "cur"), 1);
	assert_int_equal(maildir_quota_get(root, &limit, &usage, &error), 1);
	assert_int_equal(usage.bytes, 3);
	assert_int_equal(usage.count, 1);
	mbox_close(&mb);

	/* The expunged UIDs are never given again. */
	mh_put(root, "new/1700000001.M1P1Q1.host,S=3,W=3", "one");
	mb = mh_open(root, "");
	assert_int_equal(mbox_uid(mb, 2), 4);
	mbox_close(&mb);
}

static void test_two_handles_see_each_others_changes(void **state)
{
	const char *root = *state;
	struct mbox_store_req req = {.mode = MBOX_STORE_ADD, .flags = MBOX_FLAG_SEEN};
	struct mbox_store_result res;
	struct mbox_msg_info a_info, b_info;
	struct mbox_changes ch;
	struct mbox *a, *b;
	uint32_t uid = 2;

	put3_new(root);
	a = mh_open(root, "");
	b = mh_open(root, "");
	mh_put(root, "new/1700000010.M10P1Q10.host,S=3,W=3", "ten");
	assert_int_equal(mbox_sync(a, 0, &ch), 0);
	assert_int_equal(ch.added_count, 1);
	assert_int_equal(ch.recent_count, 1);
	mbox_changes_free(&ch);
	assert_int_equal(mbox_sync(b, 0, &ch), 0);
	assert_int_equal(ch.added_count, 1);
	assert_int_equal(ch.added[0], 4);
	assert_int_equal(ch.recent_count, 0);
	mbox_changes_free(&ch);

	assert_int_equal(mbox_store(a, &uid, 1, &req, &res), 0);
	mbox_store_result_free(&res);
	assert_int_equal(mbox_sync(b, MBOX_SYNC_FORCE, &ch), 0);
	assert_int_equal(ch.changed_count, 1);
	mbox_changes_free(&ch);
	assert_int_equal(mbox_msg(a, 2, &a_info), 1);
	assert_int_equal(mbox_msg(b, 2, &b_info), 1);
	assert_int_equal(b_info.flags, MBOX_FLAG_SEEN);
	/* The modseq of a's change, not a second one. */
	assert_int_equal(b_info.modseq, a_info.modseq);
	assert_int_equal(mbox_highestmodseq(b), mbox_highestmodseq(a));
	mbox_close(&a);
	mbox_close(&b);
}

/* cur/'s mtime set back to what it was: another program's change in the same clock tick. */
static void set_cur_mtime(const char *root, const struct timespec *mtime)
{
	struct timespec times[2] = {*mtime, *mtime};
	char path[4096];

	snprintf(path, sizeof(path), "%s/cur", root);
	assert_int_equal(utimensat(AT_FDCWD, path, times, 0), 0);
}

static struct timespec cur_mtime(const char *root)
{
	char path[4096];
	struct stat st;

	snprintf(path, sizeof(path), "%s/cur", root);
	assert_int_equal(stat(path, &st), 0);
	return st.st_mtim;
}

static void test_own_changes_need_no_scan_and_a_hidden_change_is_found_a_second_later(void **state)
{
	const char *root = *state;
	const char *text = "Subject: appended\r\n\r\nbody\r\n";
	struct mbox_append_req req = {.data = text, .len = strlen(text), .fd = -1};
	struct mbox_store_req seen = {.mode = MBOX_STORE_ADD, .flags = MBOX_FLAG_SEEN};
	struct mbox_store_result res;
	struct mbox_changes ch;
	struct timespec after;
	struct mbox *a, *b;
	uint32_t uid, one = 1;

	put3_new(root);
	a = mh_open(root, "");
	b = mh_open(root, "");
	assert_int_equal(mbox_append(a, &req, &uid), 0);
	assert_int_equal(uid, 4);
	/* Another program adds a file in the same tick: cur/'s mtime stays as a's append left
	   it. a's sync adds its own message without reading cur/, so it does not see that
	   file yet, and says it left a scan for later. */
	after = cur_mtime(root);
	mh_put(root, "cur/1700000020.M20P1Q20.host,S=3,W=3:2,", "xxx");
	set_cur_mtime(root, &after);
	assert_int_equal(mbox_sync(a, 0, &ch), 0);
	assert_int_equal(ch.added_count, 1);
	assert_int_equal(ch.added[0], 4);
	mbox_changes_free(&ch);
	assert_true(mbox_sync_deferred(a));
	assert_int_equal(mbox_count(a), 4);

	/* Own STORE and EXPUNGE are already in a's memory: nothing more to report. */
	assert_int_equal(mbox_store(a, &one, 1, &seen, &res), 0);
	mbox_store_result_free(&res);
	assert_int_equal(mbox_expunge(a, &uid, 1, &ch), 0);
	assert_int_equal(ch.expunged_count, 1);
	mbox_changes_free(&ch);
	assert_int_equal(mbox_sync(a, 0, &ch), 0);
	assert_int_equal(ch.added_count + ch.changed_count + ch.expunged_count, 0);
	mbox_changes_free(&ch);

	/* A second after the last scan, the next sync reads cur/ and finds the hidden file. */
	usleep(1100 * 1000);
	assert_int_equal(mbox_sync(a, 0, &ch), 0);
	assert_int_equal(ch.added_count, 1);
	assert_int_equal(ch.added[0], 5);
	assert_int_equal(ch.changed_count + ch.expunged_count, 0);
	mbox_changes_free(&ch);

	/* The other handle learns everything from its own scan. */
	assert_int_equal(mbox_sync(b, 0, &ch), 0);
	assert_int_equal(ch.added_count, 1);
	assert_int_equal(ch.added[0], 5);
	assert_int_equal(ch.changed_count, 1);
	assert_int_equal(ch.changed[0], 1);
	mbox_changes_free(&ch);
	assert_int_equal(mbox_count(b), 4);
	mbox_close(&a);
	mbox_close(&b);
}

static void test_new_mail_is_taken_from_new_without_reading_cur(void **state)
{
	const char *root = *state;
	struct mbox_changes ch;
	struct timespec before;
	struct mbox *mb;

	put3_new(root);
	mb = mh_open(root, "");
	/* cur/ gains a file in a tick it cannot show; new/ a delivery. */
	before = cur_mtime(root);
	mh_put(root, "cur/1700000020.M20P1Q20.host,S=3,W=3:2,", "xxx");
	set_cur_mtime(root, &before);
	mh_put(root, "new/1700000030.M30P1Q30.host,S=3,W=3", "new");
	assert_int_equal(mbox_sync(mb, 0, &ch), 0);
	assert_int_equal(ch.added_count, 1);
	assert_int_equal(ch.added[0], 4);
	assert_int_equal(ch.recent_count, 1);
	assert_int_equal(ch.expunged_count + ch.changed_count, 0);
	mbox_changes_free(&ch);
	assert_int_equal(mh_count(root, "new"), 0);
	/* A forced sync reads cur/. */
	assert_int_equal(mbox_sync(mb, MBOX_SYNC_FORCE, &ch), 0);
	assert_int_equal(ch.added_count, 1);
	assert_int_equal(ch.added[0], 5);
	mbox_changes_free(&ch);
	mbox_close(&mb);
}

static void age_dirs(const char *root, struct timespec *old_r)
{
	char path[4096];

	clock_gettime(CLOCK_REALTIME, old_r);
	old_r->tv_sec -= 3600;
	set_cur_mtime(root, old_r);
	snprintf(path, sizeof(path), "%s/new", root);
	struct timespec times[2] = {*old_r, *old_r};
	assert_int_equal(utimensat(AT_FDCWD, path, times, 0), 0);
}

static void test_reopening_an_unchanged_folder_trusts_the_last_scan(void **state)
{
	const char *root = *state;
	struct mbox_store_req seen = {.mode = MBOX_STORE_ADD, .flags = MBOX_FLAG_SEEN};
	struct mbox_store_result res;
	struct timespec old;
	struct mbox *mb;
	uint32_t one = 1;

	put3_new(root);
	mb = mh_open(root, "");
	mbox_close(&mb);
	/* Directories untouched for an hour: a full scan now records them as settled. */
	age_dirs(root, &old);
	mb = mh_open(root, "");
	assert_int_equal(mbox_sync(mb, MBOX_SYNC_FORCE, NULL), 0);
	mbox_close(&mb);

	/* A file slipped in without moving cur/'s mtime: an open that trusts the record does
	   not list cur/, so it does not see it. */
	mh_put(root, "cur/1700000020.M20P1Q20.host,S=3,W=3:2,", "xxx");
	set_cur_mtime(root, &old);
	mb = mh_open(root, "");
	assert_int_equal(mbox_count(mb), 3);
	/* A change through the index (a STORE) makes the record stale: the next open scans. */
	assert_int_equal(mbox_store(mb, &one, 1, &seen, &res), 0);
	mbox_store_result_free(&res);
	mbox_close(&mb);
	set_cur_mtime(root, &old);
	mb = mh_open(root, "");
	assert_int_equal(mbox_count(mb), 4);
	mbox_close(&mb);

	/* And a moved mtime, of course. */
	age_dirs(root, &old);
	mb = mh_open(root, "");
	assert_int_equal(mbox_sync(mb, MBOX_SYNC_FORCE, NULL), 0);
	mbox_close(&mb);
	mh_put(root, "cur/1700000021.M21P1Q21.host,S=3,W=3:2,", "yyy");
	mb = mh_open(root, "");
	assert_int_equal(mbox_count(mb), 5);
	mbox_close(&mb);
}

static void test_a_version_1_index_is_upgraded_in_place(void **state)
{
	const char *root = *state;
	struct mbox *mb;
	uint32_t uidvalidity;

	put3_new(root);
	mb = mh_open(root, "");
	uidvalidity = mbox_uidvalidity(mb);
	mbox_close(&mb);
	/* As the first release wrote it: no scan record. */
	mh_sql_run(root, "ALTER TABLE folders DROP COLUMN scan_cur_mtime_ns;"
	                 "ALTER TABLE folders DROP COLUMN scan_new_mtime_ns;"
	                 "ALTER TABLE folders DROP COLUMN scan_started_ns;"
	                 "ALTER TABLE folders DROP COLUMN scan_modseq;"
	                 "ALTER TABLE folders DROP COLUMN msgs_gen;"
	                 "DROP TABLE fts_gone;"
	                 "INSERT INTO cache VALUES (1, 1, 1, x'00');"
	                 "PRAGMA user_version = 1;");
	mb = mh_open(root, "");
	assert_int_equal(mbox_uidvalidity(mb), uidvalidity);
	assert_int_equal(mbox_count(mb), 3);
	mbox_close(&mb);
	assert_int_equal(mh_sql_int(root, "PRAGMA user_version"), MBOX_INDEX_VERSION);
	assert_int_equal(mh_sql_int(root, "SELECT count(*) FROM fts_gone"), 0);
	/* Upgraded, not rebuilt: what it had cached is still there. */
	assert_int_equal(mh_sql_int(root, "SELECT count(*) FROM cache"), 1);
	assert_int_equal(mh_sql_int(root, "SELECT count(*) FROM folders WHERE scan_started_ns > 0"),
	                 1);
}

static void test_seq_ranges_for_uid_sets(void **state)
{
	const char *root = *state;
	uint32_t first, last, uid = 2;
	struct mbox_changes ch;
	struct mbox *mb;

	put3_new(root);
	mb = mh_open(root, "");
	assert_int_equal(mbox_expunge(mb, &uid, 1, &ch), 0);
	mbox_changes_free(&ch);
	assert_int_equal(mbox_seq_range(mb, 2, UINT32_MAX, &first, &last), 1);
	assert_int_equal(first, 2);
	assert_int_equal(last, 2);
	assert_int_equal(mbox_seq_range(mb, 1, 2, &first, &last), 1);
	assert_int_equal(first, 1);
	assert_int_equal(last, 1);
	assert_int_equal(mbox_seq_range(mb, 2, 2, &first, &last), 0);
	assert_int_equal(mbox_seq_range(mb, 9, 20, &first, &last), 0);
	mbox_close(&mb);
}

static void test_bad_folder_names_are_refused(void **state)
{
	struct mbox *mb;
	char *error;

	assert_int_equal(mbox_open(*state, "..", &mb, &error), -1);
	free(error);
	assert_int_equal(mbox_open(*state, ".Sent/../..", &mb, &error), -1);
	free(error);
	assert_int_equal(mbox_open(*state, ".NoSuch", &mb, &error), -1);
	assert_non_null(strstr(error, ".NoSuch"));
	free(error);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_new_mail_gets_ascending_uids_and_moves_to_cur,
	                                    mh_setup, mh_teardown),
	    cmocka_unit_test_setup_teardown(test_uid_list_is_dovecot_v3, mh_setup, mh_teardown),
	    cmocka_unit_test_setup_teardown(test_uids_survive_index_deletion, mh_setup,
	                                    mh_teardown),
	    cmocka_unit_test_setup_teardown(test_corrupt_index_is_rebuilt, mh_setup, mh_teardown),
	    cmocka_unit_test_setup_teardown(test_missing_uid_list_is_written_again, mh_setup,
	                                    mh_teardown),
	    cmocka_unit_test_setup_teardown(test_external_add_delete_and_rename_are_noticed,
	                                    mh_setup, mh_teardown),
	    cmocka_unit_test_setup_teardown(test_flags_and_keywords_round_trip_through_file_names,
	                                    mh_setup, mh_teardown),
	    cmocka_unit_test_setup_teardown(test_unchangedsince_refuses_messages_changed_later,
	                                    mh_setup, mh_teardown),
	    cmocka_unit_test_setup_teardown(test_a_renamed_file_is_found_whatever_changed, mh_setup,
	                                    mh_teardown),
	    cmocka_unit_test_setup_teardown(test_store_follows_a_concurrent_rename, mh_setup,
	                                    mh_teardown),
	    cmocka_unit_test_setup_teardown(test_expunge_removes_files_and_updates_quota, mh_setup,
	                                    mh_teardown),
	    cmocka_unit_test_setup_teardown(test_two_handles_see_each_others_changes, mh_setup,
	                                    mh_teardown),
	    cmocka_unit_test_setup_teardown(
	        test_own_changes_need_no_scan_and_a_hidden_change_is_found_a_second_later, mh_setup,
	        mh_teardown),
	    cmocka_unit_test_setup_teardown(test_new_mail_is_taken_from_new_without_reading_cur,
	                                    mh_setup, mh_teardown),
	    cmocka_unit_test_setup_teardown(test_reopening_an_unchanged_folder_trusts_the_last_scan,
	                                    mh_setup, mh_teardown),
	    cmocka_unit_test_setup_teardown(test_a_version_1_index_is_upgraded_in_place, mh_setup,
	                                    mh_teardown),
	    cmocka_unit_test_setup_teardown(test_seq_ranges_for_uid_sets, mh_setup, mh_teardown),
	    cmocka_unit_test_setup_teardown(test_bad_folder_names_are_refused, mh_setup,
	                                    mh_teardown),
	    cmocka_unit_test_setup_teardown(test_a_handle_that_leaves_new_alone_takes_no_recent,
	                                    mh_setup, mh_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
