#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "mbox.h"
#include "mbox_harness.h"
#include "mbox_index.h"

static const char msg1[] = "Subject: hello\r\n\r\nThe Zanzibarite is a mineral.\r\n";

static uint32_t append_text(struct mbox *mb, const char *text, uint8_t flags)
{
	struct mbox_append_req req = {.data = text, .len = strlen(text), .fd = -1, .flags = flags};
	uint32_t uid;

	assert_int_equal(mbox_append(mb, &req, &uid), 0);
	return uid;
}

static void test_append_stores_durably_with_flags_and_date(void **state)
{
	const char *root = *state;
	struct mbox_append_req req = {.data = msg1, .len = strlen(msg1), .fd = -1};
	struct mbox_changes ch;
	struct mbox_msg_info info;
	char name[512], path[4096];
	struct stat st;
	struct mbox *mb;
	uint32_t uid;
	time_t date;

	mb = mh_open(root, "");
	req.flags = MBOX_FLAG_SEEN | MBOX_FLAG_DRAFT;
	req.internaldate = 1600000000;
	assert_int_equal(mbox_append(mb, &req, &uid), 0);
	assert_int_equal(uid, 1);
	assert_int_equal(mh_count(root, "tmp"), 0);
	assert_int_equal(mh_find(root, "cur", "", name, sizeof(name)), 0);
	assert_non_null(strstr(name, ",S=49,W=49:2,DS"));
	snprintf(path, sizeof(path), "%s/cur/%s", root, name);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mtime, 1600000000);

	/* The next sync announces it with the UID APPENDUID gave. */
	assert_int_equal(mbox_sync(mb, 0, &ch), 0);
	assert_int_equal(ch.added_count, 1);
	assert_int_equal(ch.added[0], 1);
	assert_int_equal(ch.recent_count, 0);
	mbox_changes_free(&ch);
	assert_int_equal(mbox_msg(mb, 1, &info), 1);
	assert_int_equal(info.flags, MBOX_FLAG_SEEN | MBOX_FLAG_DRAFT);
	assert_int_equal(mbox_msg_internaldate(mb, 1, &date), 0);
	assert_int_equal(date, 1600000000);
	assert_int_equal(mbox_uidnext(mb), 2);
	mbox_close(&mb);
}

static void test_append_from_fd_counts_bare_lf_in_rfc822_size(void **state)
{
	const char *root = *state;
	struct mbox_append_req req = {.fd = -1};
	char tmpl[] = "/tmp/mbox-append-XXXXXX";
	uint64_t vsize;
	struct mbox *mb;
	uint32_t uid;
	char name[512];

	req.fd = mkstemp(tmpl);
	assert_true(req.fd >= 0);
	unlink(tmpl);
	assert_int_equal(write(req.fd, "a\nb\r\nc\n", 7), 7);
	mb = mh_open(root, "");
	assert_int_equal(mbox_append(mb, &req, &uid), 0);
	close(req.fd);
	assert_int_equal(mh_find(root, "cur", "", name, sizeof(name)), 0);
	assert_non_null(strstr(name, ",S=7,W=9:2,"));
	assert_int_equal(mbox_sync(mb, 0, NULL), 0);
	assert_int_equal(mbox_msg_vsize(mb, 1, &vsize), 0);
	assert_int_equal(vsize, 9);
	mbox_close(&mb);
}

static void test_append_quota_at_the_limit_and_one_past(void **state)
{
	const char *root = *state;
	struct maildir_quota_limit limit = {.bytes = 100};
	struct maildir_quota_usage usage;
	char body[101];
	struct mbox_append_req req = {
	    .data = body, .fd = -1, .quota = &limit, .policy = MAILDIR_QUOTA_INCLUSIVE};
	const char *error;
	struct mbox *mb, *trash;
	uint32_t uid;

	memset(body, 'x', sizeof(body));
	mb = mh_open(root, "");
	/* 100 bytes into an empty 100-byte quota: exactly full, accepted. */
	req.len = 100;
	assert_int_equal(mbox_append(mb, &req, &uid), 0);
	assert_int_equal(maildir_quota_get(root, &limit, &usage, &error), 1);
	assert_int_equal(usage.bytes, 100);
	/* One byte past: refused, nothing left behind. */
	req.len = 1;
	assert_int_equal(mbox_append(mb, &req, &uid), MBOX_OVER_QUOTA);
	assert_int_equal(mh_count(root, "cur"), 1);
	assert_int_equal(mh_count(root, "tmp"), 0);

	/* One past from the start. */
	struct mbox_changes ch;
	assert_int_equal(mbox_sync(mb, 0, NULL), 0);
	assert_int_equal(mbox_expunge(mb, &(uint32_t){1}, 1, &ch), 0);
	mbox_changes_free(&ch);
	req.len = 101;
	assert_int_equal(mbox_append(mb, &req, &uid), MBOX_OVER_QUOTA);

	/* Trash is not counted. */
	trash = mh_open(root, ".Trash");
	req.len = 101;
	assert_int_equal(mbox_append(trash, &req, &uid), 0);
	mbox_close(&trash);
	mbox_close(&mb);
}

static void test_copy_links_keeps_flags_and_maps_keywords(void **state)
{
	const char *root = *state;
	struct mbox_store_req req = {.mode = MBOX_STORE_ADD};
	struct mbox_store_result res;
	struct mbox_msg_info info;
	uint32_t uids[] = {1, 2, 99}, dst_uids[3];
	char src_path[4096], dst_path[4096];
	struct stat a, b;
	struct mbox *in, *sent;
	unsigned kw;

	mh_put(root, ".Sent/dovecot-keywords", "0 Other\n");
	in = mh_open(root, "");
	sent = mh_open(root, ".Sent");
	append_text(in, "first\r\n", MBOX_FLAG_SEEN);
	append_text(in, "second\r\n", 0);
	assert_int_equal(mbox_sync(in, 0, NULL), 0);
	assert_int_equal(mbox_keyword_add(in, "Important", &kw), 1);
	assert_int_equal(kw, 0);
	req.keywords = 1u << kw;
	assert_int_equal(mbox_store(in, &uids[1], 1, &req, &res), 0);
	mbox_store_result_free(&res);

	assert_int_equal(mbox_copy(in, uids, 3, sent, NULL, MAILDIR_QUOTA_NONINCLUSIVE, dst_uids),
	                 0);
	assert_int_equal(dst_uids[0], 1);
	assert_int_equal(dst_uids[1], 2);
	assert_int_equal(dst_uids[2], 0);
	assert_int_equal(mbox_sync(sent, 0, NULL), 0);
	assert_int_equal(mbox_count(sent), 2);
	assert_int_equal(mbox_msg(sent, 1, &info), 1);
	assert_int_equal(info.flags, MBOX_FLAG_SEEN);
	assert_int_equal(mbox_msg(sent, 2, &info), 1);
	/* "Important" is letter a in INBOX but b in .Sent, where a was taken. */
	assert_int_equal(info.keywords, 1u << 1);
	assert_string_equal(mbox_keyword_name(sent, 1), "Important");
	/* A hard link of the same inode. */
	assert_int_equal(mbox_msg_path(in, 1, src_path, sizeof(src_path)), 0);
	assert_int_equal(mbox_msg_path(sent, 1, dst_path, sizeof(dst_path)), 0);
	assert_int_equal(stat(src_path, &a), 0);
	assert_int_equal(stat(dst_path, &b), 0);
	assert_int_equal(a.st_ino, b.st_ino);
	assert_int_equal(mbox_count(in), 2);
	mbox_close(&sent);
	mbox_close(&in);
}

static void test_move_expunges_from_the_source(void **state)
{
	const char *root = *state;
	uint32_t uids[] = {1, 3}, dst_uids[2];
	struct mbox_changes ch;
	struct mbox *in, *trash;

	in = mh_open(root, "");
	trash = mh_open(root, ".Trash");
	append_text(in, "one\r\n", 0);
	append_text(in, "two\r\n", 0);
	append_text(in, "three\r\n", 0);
	assert_int_equal(mbox_sync(in, 0, NULL), 0);
	assert_int_equal(
	    mbox_move(in, uids, 2, trash, NULL, MAILDIR_QUOTA_NONINCLUSIVE, dst_uids, &ch), 0);
	assert_int_equal(dst_uids[0], 1);
	assert_int_equal(dst_uids[1], 2);
	assert_int_equal(ch.expunged_count, 2);
	assert_int_equal(ch.expunged_seqs[0], 3);
	assert_int_equal(ch.expunged_seqs[1], 1);
	mbox_changes_free(&ch);
	assert_int_equal(mbox_count(in), 1);
	assert_int_equal(mbox_uid(in, 1), 2);
	assert_int_equal(mh_count(root, "cur"), 1);
	assert_int_equal(mh_count(root, ".Trash/cur"), 2);
	mbox_close(&trash);
	mbox_close(&in);
}

static void test_full_text_search_is_a_substring_match(void **state)
{
	const char *root = *state;
	uint32_t *uids;
	size_t n;
	struct mbox_changes ch;
	struct mbox *mb;

	mb = mh_open(root, "");
	for (int i = 0; i < 4; i++)
		append_text(mb, "x\r\n", 0);
	assert_int_equal(mbox_sync(mb, 0, NULL), 0);
	/* nothing indexed yet */
	assert_int_equal(mbox_fts_indexed(mb, &uids, &n), 0);
	assert_int_equal(n, 0);
	free(uids);
	assert_int_equal(mbox_batch_begin(mb), 0);
	assert_int_equal(mbox_fts_set(mb, 1, "Subject: rocks", "The Zanzibarite is a mineral"), 0);
	assert_int_equal(mbox_fts_set(mb, 2, "Subject: zanzibarite report", "nothing here"), 0);
	assert_int_equal(mbox_fts_set(mb, 3, NULL, "Grüße aus Köln, 100% \"quoted\""), 0);
	assert_int_equal(mbox_fts_set(mb, 4, NULL, "ab"), 0);
	assert_int_equal(mbox_batch_commit(mb), 0);
	assert_int_equal(mbox_fts_indexed(mb, &uids, &n), 0);
	assert_int_equal(n, 4);
	assert_int_equal(uids[0], 1);
	assert_int_equal(uids[3], 4);
	free(uids);

	assert_int_equal(mbox_fts_search(mb, MBOX_SEARCH_TEXT, "ZIBARIT", &uids, &n), 0);
	assert_int_equal(n, 2);
	assert_int_equal(uids[0], 1);
	assert_int_equal(uids[1], 2);
	free(uids);
	assert_int_equal(mbox_fts_search(mb, MBOX_SEARCH_BODY, "zibarit", &uids, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(uids[0], 1);
	free(uids);
	/* Non-ASCII case folding, quotes and LIKE wildcards are literal. */
	assert_int_equal(mbox_fts_search(mb, MBOX_SEARCH_BODY, "KÖLN", &uids, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(uids[0], 3);
	free(uids);
	assert_int_equal(mbox_fts_search(mb, MBOX_SEARCH_BODY, "0% \"quo", &uids, &n), 0);
	assert_int_equal(n, 1);
	free(uids);
	assert_int_equal(mbox_fts_search(mb, MBOX_SEARCH_BODY, "%", &uids, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(uids[0], 3);
	free(uids);
	/* Shorter than a trigram. */
	assert_int_equal(mbox_fts_search(mb, MBOX_SEARCH_BODY, "AB", &uids, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(uids[0], 4);
	free(uids);
	assert_int_equal(mbox_fts_search(mb, MBOX_SEARCH_BODY, "absent words", &uids, &n), 0);
	assert_int_equal(n, 0);
	free(uids);

	/* Expunged text stays until a purge (the search's caller no longer has its UID). */
	assert_int_equal(mbox_expunge(mb, &(uint32_t){1}, 1, &ch), 0);
	mbox_changes_free(&ch);
	assert_int_equal(mbox_fts_search(mb, MBOX_SEARCH_TEXT, "zanzibarite", &uids, &n), 0);
	assert_int_equal(n, 2);
	free(uids);
	assert_int_equal(mbox_seq(mb, 1), 0);
	assert_int_equal(mbox_fts_purge(mb), 0);
	assert_int_equal(mbox_fts_search(mb, MBOX_SEARCH_TEXT, "zanzibarite", &uids, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(uids[0], 2);
	free(uids);
	mbox_close(&mb);
}

static void test_cache_blobs_round_trip_and_go_with_expunge(void **state)
{
	const char *root = *state;
	struct mbox_changes ch;
	struct mbox *mb, *sent;
	void *data;
	size_t len;

	mb = mh_open(root, "");
	sent = mh_open(root, ".Sent");
	append_text(mb, "x\r\n", 0);
	append_text(sent, "y\r\n", 0);
	assert_int_equal(mbox_sync(mb, 0, NULL), 0);
	assert_int_equal(mbox_cache_get(mb, 1, MBOX_CACHE_ENVELOPE, &data, &len), 0);
	assert_int_equal(mbox_cache_set(mb, 1, MBOX_CACHE_ENVELOPE, "(NIL \"hi\")", 10), 0);
	assert_int_equal(mbox_cache_set(mb, 1, MBOX_CACHE_HDR_SUBJECT, "", 0), 0);
	mbox_close(&mb);
	mb = mh_open(root, "");
	assert_int_equal(mbox_cache_get(mb, 1, MBOX_CACHE_ENVELOPE, &data, &len), 1);
	assert_int_equal(len, 10);
	assert_string_equal(data, "(NIL \"hi\")");
	free(data);
	assert_int_equal(mbox_cache_get(mb, 1, MBOX_CACHE_HDR_SUBJECT, &data, &len), 1);
	assert_int_equal(len, 0);
	free(data);
	/* Folders are apart: UID 1 of .Sent has nothing. */
	assert_int_equal(mbox_cache_get(sent, 1, MBOX_CACHE_ENVELOPE, &data, &len), 0);
	assert_int_equal(mbox_expunge(mb, &(uint32_t){1}, 1, &ch), 0);
	mbox_changes_free(&ch);
	assert_int_equal(mbox_cache_get(mb, 1, MBOX_CACHE_ENVELOPE, &data, &len), 0);
	mbox_close(&sent);
	mbox_close(&mb);
}

static double monotonic_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000.0 + ts.tv_nsec / 1e6;
}

/* A background handle (the full-text indexer's) begins no write while a user's handle wrote
   in the last MBOX_INDEX_YIELD_QUIET_MS, whether in a batch or a write of its own; its own
   writes do not hold it back. Only lower bounds: sleeps are never shorter. */
static void test_a_background_handle_writes_after_the_user_is_quiet(void **state)
{
	const char *root = *state;
	struct mbox *user = mh_open(root, "");
	struct mbox *bg = NULL;
	char *error = NULL;
	double t0;

	append_text(user, msg1, 0);
	assert_int_equal(
	    mbox_open_flags(root, "", MBOX_OPEN_LEAVE_NEW | MBOX_OPEN_BACKGROUND, &bg, &error), 0);
	/* a write of its own (autocommit) */
	assert_int_equal(mbox_cache_set(user, 1, MBOX_CACHE_HDR_SUBJECT, "a", 1), 0);
	t0 = monotonic_ms();
	assert_int_equal(mbox_batch_begin(bg), 0);
	assert_true(monotonic_ms() - t0 >= MBOX_INDEX_YIELD_QUIET_MS * 0.9);
	assert_int_equal(mbox_fts_set(bg, 1, "Subject: hello", "zanzibarite"), 0);
	assert_int_equal(mbox_batch_commit(bg), 0);
	/* a batch */
	assert_int_equal(mbox_batch_begin(user), 0);
	assert_int_equal(mbox_cache_set(user, 1, MBOX_CACHE_HDR_FROM, "b", 1), 0);
	assert_int_equal(mbox_batch_commit(user), 0);
	t0 = monotonic_ms();
	assert_int_equal(mbox_batch_begin(bg), 0);
	assert_true(monotonic_ms() - t0 >= MBOX_INDEX_YIELD_QUIET_MS * 0.9);
	assert_int_equal(mbox_batch_commit(bg), 0);
	mbox_close(&bg);
	mbox_close(&user);
}

/* An idle session's handle gives its index connection back; every operation after that
   opens it again, and what was learned before is kept. */
static void test_suspended_handle_reopens_its_index_on_demand(void **state)
{
	const char *root = *state;
	struct mbox_store_req seen = {.mode = MBOX_STORE_ADD, .flags = MBOX_FLAG_SEEN};
	struct mbox_store_result res;
	struct mbox_changes ch;
	struct mbox_msg_info info;
	struct mbox *mb = mh_open(root, ""), *other;
	uint32_t uid = append_text(mb, msg1, 0), *found = NULL;
	size_t n = 0;

	mbox_suspend(mb);
	mbox_suspend(mb); /* twice is harmless */
	/* unchanged folder: the sync needs no index */
	assert_int_equal(mbox_sync(mb, 0, &ch), 0);
	mbox_changes_free(&ch);
	assert_int_equal(mbox_store(mb, &uid, 1, &seen, &res), 0);
	mbox_store_result_free(&res);
	mbox_suspend(mb);
	/* another handle adds a message: the suspended one syncs it in */
	other = mh_open(root, "");
	append_text(other, "Subject: two\r\n\r\nsecond\r\n", 0);
	mbox_close(&other);
	assert_int_equal(mbox_sync(mb, 0, &ch), 0);
	mbox_changes_free(&ch);
	assert_int_equal(mbox_count(mb), 2);
	assert_int_equal(mbox_msg(mb, 1, &info), 1);
	assert_true(info.flags & MBOX_FLAG_SEEN);
	mbox_suspend(mb);
	assert_int_equal(mbox_fts_set(mb, uid, "Subject: hello", "The Zanzibarite is a mineral."),
	                 0);
	mbox_suspend(mb);
	assert_int_equal(mbox_fts_search(mb, MBOX_SEARCH_BODY, "zanzibar", &found, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(found[0], uid);
	free(found);
	mbox_suspend(mb);
	mbox_close(&mb);
}

static void test_cache_runs_read_ascending_uids_in_chunks(void **state)
{
	const char *root = *state;
	struct mbox_cache_run *run;
	struct mbox *mb = mh_open(root, "");
	char value[32];
	void *data;
	size_t len;

	/* Every third UID has no value; more rows than one chunk holds. */
	for (uint32_t uid = 1; uid <= 1000; uid++) {
		if (uid % 3 == 0)
			continue;
		snprintf(value, sizeof(value), "from %u", uid);
		assert_int_equal(mbox_cache_set(mb, uid, MBOX_CACHE_HDR_FROM, value, strlen(value)),
		                 0);
	}
	assert_int_equal(mbox_cache_set(mb, 5, MBOX_CACHE_HDR_SUBJECT, "other field", 11), 0);
	run = mbox_cache_run_new(mb, MBOX_CACHE_HDR_FROM);
	assert_non_null(run);
	for (uint32_t uid = 1; uid <= 1003; uid += (uid < 300 ? 1 : 7)) {
		int ret = mbox_cache_run_get(run, uid, &data, &len);

		if (uid % 3 == 0 || uid > 1000) {
			assert_int_equal(ret, 0);
			continue;
		}
		assert_int_equal(ret, 1);
		snprintf(value, sizeof(value), "from %u", uid);
		assert_int_equal(len, strlen(value));
		assert_string_equal(data, value);
		free(data);
	}
	/* Back down: looked up alone. */
	assert_int_equal(mbox_cache_run_get(run, 2, &data, &len), 1);
	assert_string_equal(data, "from 2");
	free(data);
	mbox_cache_run_free(&run);
	assert_null(run);
	mbox_close(&mb);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_append_stores_durably_with_flags_and_date,
	                                    mh_setup, mh_teardown),
	    cmocka_unit_test_setup_teardown(test_append_from_fd_counts_bare_lf_in_rfc822_size,
	                                    mh_setup, mh_teardown),
	    cmocka_unit_test_setup_teardown(test_append_quota_at_the_limit_and_one_past, mh_setup,
	                                    mh_teardown),
	    cmocka_unit_test_setup_teardown(test_copy_links_keeps_flags_and_maps_keywords, mh_setup,
	                                    mh_teardown),
	    cmocka_unit_test_setup_teardown(test_move_expunges_from_the_source, mh_setup,
	                                    mh_teardown),
	    cmocka_unit_test_setup_teardown(test_suspended_handle_reopens_its_index_on_demand,
	                                    mh_setup, mh_teardown),
	    cmocka_unit_test_setup_teardown(test_full_text_search_is_a_substring_match, mh_setup,
	                                    mh_teardown),
	    cmocka_unit_test_setup_teardown(test_cache_runs_read_ascending_uids_in_chunks, mh_setup,
	                                    mh_teardown),
	    cmocka_unit_test_setup_teardown(test_cache_blobs_round_trip_and_go_with_expunge,
	                                    mh_setup, mh_teardown),
	    cmocka_unit_test_setup_teardown(test_a_background_handle_writes_after_the_user_is_quiet,
	                                    mh_setup, mh_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
