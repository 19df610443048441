#define _XOPEN_SOURCE 700
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <dirent.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "maildir_create.h"
#include "maildir_deliver.h"
#include "maildir_quota.h"

/* The mailbox built by make_box() holds these, Trash and tmp/ left out. */
#define BOX_BYTES (100 + 200 + 333 + 400 + 60)
#define BOX_COUNT 5

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static int setup_root(void **state)
{
	char *root = strdup("/tmp/maildir-quota-XXXXXX");

	if (root == NULL || mkdtemp(root) == NULL)
		return -1;
	*state = root;
	return 0;
}

static int teardown_root(void **state)
{
	(void)nftw(*state, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	free(*state);
	return 0;
}

static void put_file(const char *box, const char *rel, size_t size)
{
	char path[1024];
	char *buf = calloc(1, size + 1);
	int fd;

	assert_non_null(buf);
	snprintf(path, sizeof(path), "%s/%s", box, rel);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, buf, size), (ssize_t)size);
	close(fd);
	free(buf);
}

static void make_dir(const char *box, const char *rel)
{
	char path[1024];

	snprintf(path, sizeof(path), "%s/%s", box, rel);
	assert_int_equal(mkdir(path, 0700), 0);
}

/* INBOX, .Sent and .Trash.Old count; .Trash, tmp/, dot files and non-folders do not.
   Sizes come from S= when the name has it (the file itself may differ), else from stat. */
static void make_box(const char *root, char *box, size_t size)
{
	const char *error = NULL;

	snprintf(box, size, "%s/user", root);
	assert_int_equal(maildir_create(box, &error), 0);
	put_file(box, "new/1700000001.M1P1Q1.h,S=100,W=100", 100);
	put_file(box, "cur/1700000002.M1P1Q2.h,S=200,W=204:2,S", 10);
	put_file(box, "cur/1700000003.12345.host:2,", 333);
	put_file(box, "cur/.hidden", 999);
	put_file(box, ".Sent/cur/1700000004.M1P1Q4.h,S=400,W=400:2,S", 400);
	put_file(box, ".Trash/cur/1700000005.M1P1Q5.h,S=5000,W=5000:2,ST", 5000);
	put_file(box, ".Trash/new/1700000006.M1P1Q6.h,S=5000,W=5000", 5000);
	make_dir(box, ".Trash.Old");
	make_dir(box, ".Trash.Old/cur");
	put_file(box, ".Trash.Old/cur/1700000007.M1P1Q7.h,S=60,W=60:2,", 60);
	put_file(box, "tmp/1700000008.M1P1Q8.h", 7000);
	put_file(box, ".not-a-folder", 10);
}

static char *read_text(const char *box, const char *rel)
{
	char path[1024];
	static char text[8192];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "%s/%s", box, rel);
	fd = open(path, O_RDONLY);
	if (fd < 0)
		return NULL;
	n = read(fd, text, sizeof(text) - 1);
	close(fd);
	assert_true(n >= 0);
	text[n] = '\0';
	return text;
}

/* maildirsize with the given text, its mtime age seconds ago. */
static void write_quota_file(const char *box, const char *text, time_t age)
{
	char path[1024];
	struct timespec ts[2];
	int fd;

	snprintf(path, sizeof(path), "%s/maildirsize", box);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	ts[0].tv_sec = ts[1].tv_sec = time(NULL) - age;
	ts[0].tv_nsec = ts[1].tv_nsec = 0;
	assert_int_equal(utimensat(AT_FDCWD, path, ts, 0), 0);
}

static size_t count_tmp(const char *box)
{
	char path[1024];
	struct dirent *de;
	size_t n = 0;
	DIR *d;

	snprintf(path, sizeof(path), "%s/tmp", box);
	d = opendir(path);
	assert_non_null(d);
	while ((de = readdir(d)) != NULL)
		n += de->d_name[0] != '.';
	closedir(d);
	return n;
}

static void assert_usage(const struct maildir_quota_usage *u, uint64_t bytes, uint64_t count)
{
	assert_int_equal(u->bytes, bytes);
	assert_int_equal(u->count, count);
}

/* ----- maildirsize ----- */

static void test_missing_maildirsize_is_rebuilt_without_trash(void **state)
{
	struct maildir_quota_limit limit = { 1000000, 100 };
	struct maildir_quota_usage u;
	const char *error = NULL;
	char box[512], expect[64], path[600];
	struct stat st;

	make_box(*state, box, sizeof(box));
	assert_null(read_text(box, "maildirsize"));
	assert_int_equal(maildir_quota_get(box, &limit, &u, &error), 0);
	assert_usage(&u, BOX_BYTES, BOX_COUNT);
	snprintf(expect, sizeof(expect), "1000000S,100C\n%d %d\n", BOX_BYTES, BOX_COUNT);
	assert_string_equal(read_text(box, "maildirsize"), expect);
	snprintf(path, sizeof(path), "%s/maildirsize", box);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	/* Written through tmp/ and renamed: only the message file that was there remains. */
	assert_int_equal(count_tmp(box), 1);
	/* Now it is read, not rebuilt. */
	assert_int_equal(maildir_quota_get(box, &limit, &u, &error), 1);
	assert_usage(&u, BOX_BYTES, BOX_COUNT);
}

static void test_deltas_are_appended_and_summed(void **state)
{
	struct maildir_quota_limit limit = { 1000000, 0 };
	struct maildir_quota_usage u;
	const char *error = NULL;
	char box[512], expect[96];

	make_box(*state, box, sizeof(box));
	/* No maildirsize: nothing to append to, and none is created without a limit line. */
	assert_int_equal(maildir_quota_add(box, 500, 1, &error), 0);
	assert_null(read_text(box, "maildirsize"));
	assert_int_equal(maildir_quota_get(box, &limit, &u, &error), 0);
	assert_int_equal(maildir_quota_add(box, 500, 1, &error), 1);
	assert_int_equal(maildir_quota_add(box, -100, -1, &error), 1);
	snprintf(expect, sizeof(expect), "1000000S,0C\n%d %d\n500 1\n-100 -1\n", BOX_BYTES,
		 BOX_COUNT);
	assert_string_equal(read_text(box, "maildirsize"), expect);
	assert_int_equal(maildir_quota_get(box, &limit, &u, &error), 1);
	assert_usage(&u, BOX_BYTES + 400, BOX_COUNT);
}

/* The spec's size rule: 5120 bytes of deltas means rebuild. */
static void test_large_maildirsize_is_recalculated(void **state)
{
	struct maildir_quota_limit limit = { 1000000, 0 };
	struct maildir_quota_usage u;
	const char *error = NULL;
	char box[512];

	make_box(*state, box, sizeof(box));
	write_quota_file(box, "1000000S,0C\n0 0\n", 0);
	for (int i = 0; i < 1300; i++)
		assert_int_equal(maildir_quota_add(box, 1, 0, &error), 1);
	assert_int_equal(maildir_quota_get(box, &limit, &u, &error), 0);
	assert_usage(&u, BOX_BYTES, BOX_COUNT);
	assert_true(strlen(read_text(box, "maildirsize")) < 64);
}

/* The spec's time rule: a file saying "over quota" is trusted for 15 minutes, then checked,
   so mail deleted by a program that does not write maildirsize frees the mailbox. */
static void test_over_quota_figure_older_than_15_minutes_is_recalculated(void **state)
{
	struct maildir_quota_limit limit = { 2000, 0 };
	struct maildir_quota_usage u;
	const char *error = NULL;
	char box[512];

	make_box(*state, box, sizeof(box));
	write_quota_file(box, "2000S,0C\n5000 3\n", 60);
	assert_int_equal(maildir_quota_get(box, &limit, &u, &error), 1);
	assert_usage(&u, 5000, 3);
	write_quota_file(box, "2000S,0C\n5000 3\n", MAILDIR_QUOTA_STALE_SECS + 60);
	assert_int_equal(maildir_quota_get(box, &limit, &u, &error), 0);
	assert_usage(&u, BOX_BYTES, BOX_COUNT);
	/* Under quota, age does not matter. */
	write_quota_file(box, "2000S,0C\n1500 2\n", 86400);
	assert_int_equal(maildir_quota_get(box, &limit, &u, &error), 1);
	assert_usage(&u, 1500, 2);
}

static void test_malformed_maildirsize_is_recalculated(void **state)
{
	const char *bad[] = { "",
			      "2000S,0C",
			      "2000S,0C\n12 x\n",
			      "2000S,0C\n100 1\n50",
			      "2000S,0C\n-5000 0\n",
			      "2000Q0C\n1 1\n",
			      "2000S,0C\n9223372036854775807 0\n1 0\n" };
	struct maildir_quota_limit limit = { 2000, 0 };
	struct maildir_quota_usage u;
	const char *error = NULL;
	char box[512];

	make_box(*state, box, sizeof(box));
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		write_quota_file(box, bad[i], 0);
		assert_int_equal(maildir_quota_get(box, &limit, &u, &error), 0);
		assert_usage(&u, BOX_BYTES, BOX_COUNT);
	}
	/* Padded lines (Courier) and an unknown quota letter are fine. */
	write_quota_file(box, "2000S,0C,5X\n       42      1\n", 0);
	assert_int_equal(maildir_quota_get(box, &limit, &u, &error), 1);
	assert_usage(&u, 42, 1);
}

/* accounts.db is authoritative: a changed limit rewrites the file. */
static void test_changed_limit_rewrites_maildirsize(void **state)
{
	struct maildir_quota_limit limit = { 3000, 10 };
	struct maildir_quota_usage u;
	const char *error = NULL;
	char box[512], expect[64];

	make_box(*state, box, sizeof(box));
	write_quota_file(box, "2000S,0C\n1093 5\n", 0);
	assert_int_equal(maildir_quota_get(box, &limit, &u, &error), 0);
	snprintf(expect, sizeof(expect), "3000S,10C\n%d %d\n", BOX_BYTES, BOX_COUNT);
	assert_string_equal(read_text(box, "maildirsize"), expect);
}

static void test_missing_maildir_is_an_error(void **state)
{
	struct maildir_quota_limit limit = { 3000, 10 };
	struct maildir_quota_usage u;
	const char *error = NULL;
	char box[512];

	snprintf(box, sizeof(box), "%s/nobody-here", (char *)*state);
	assert_int_equal(maildir_quota_get(box, &limit, &u, &error), -1);
	assert_non_null(error);
}

/* ----- policy ----- */

static int check(uint64_t bytes, uint64_t count, uint64_t lim_bytes, uint64_t lim_count,
		 uint64_t size, enum maildir_quota_policy policy)
{
	struct maildir_quota_usage u = { bytes, count };
	struct maildir_quota_limit l = { lim_bytes, lim_count };

	return maildir_quota_check(&u, &l, size, policy);
}

/* Our default. RELIABILITY row 70 read with it: a message exactly filling the remaining
   quota is accepted, and so is one a byte larger (usage was below the limit); the mailbox is
   then at or past the limit, and the next message gets 452 4.2.2. */
static void test_noninclusive_accepts_below_the_limit_and_refuses_at_it(void **state)
{
	const enum maildir_quota_policy p = MAILDIR_QUOTA_NONINCLUSIVE;

	(void)state;
	assert_int_equal(check(999, 0, 1000, 0, 1, p), 1);    /* fills it exactly */
	assert_int_equal(check(999, 0, 1000, 0, 2, p), 1);    /* one byte past */
	assert_int_equal(check(999, 0, 1000, 0, 5000, p), 1); /* far past */
	assert_int_equal(check(0, 0, 1000, 0, 1000, p), 1);
	assert_int_equal(check(0, 0, 1000, 0, 1001, p), 1);
	assert_int_equal(check(1000, 0, 1000, 0, 1, p), 0); /* at the limit: over quota */
	assert_int_equal(check(1001, 0, 1000, 0, 1, p), 0); /* one past it */
	/* Message counts the same way. */
	assert_int_equal(check(0, 9, 0, 10, 1, p), 1);
	assert_int_equal(check(0, 10, 0, 10, 1, p), 0);
	/* Either limit refuses. */
	assert_int_equal(check(10, 10, 1000, 10, 1, p), 0);
	assert_int_equal(check(1000, 1, 1000, 10, 1, p), 0);
	/* 0 is unlimited. */
	assert_int_equal(check(UINT64_MAX, UINT64_MAX, 0, 0, UINT64_MAX, p), 1);
}

/* Row 70 read literally needs the inclusive policy: exactly full accepted, one byte over
   refused. */
static void test_inclusive_accepts_exactly_full_and_refuses_one_byte_over(void **state)
{
	const enum maildir_quota_policy p = MAILDIR_QUOTA_INCLUSIVE;

	(void)state;
	assert_int_equal(check(999, 0, 1000, 0, 1, p), 1);
	assert_int_equal(check(999, 0, 1000, 0, 2, p), 0);
	assert_int_equal(check(0, 0, 1000, 0, 1000, p), 1);
	assert_int_equal(check(0, 0, 1000, 0, 1001, p), 0);
	assert_int_equal(check(1000, 0, 1000, 0, 0, p), 0);
	assert_int_equal(check(0, 0, 1000, 0, UINT64_MAX, p), 0);
	assert_int_equal(check(0, 9, 0, 10, 1, p), 1);
	assert_int_equal(check(0, 10, 0, 10, 1, p), 0);
	assert_int_equal(check(5, 5, 0, 0, UINT64_MAX, p), 1);
}

static void test_warning_threshold_is_crossed_exactly_once(void **state)
{
	uint64_t usage = 0;
	int warnings = 0;

	(void)state;
	for (int i = 0; i < 15; i++) {
		warnings += maildir_quota_crossed(usage, usage + 100, 1000, 90);
		assert_int_equal(maildir_quota_crossed(usage, usage + 100, 1000, 90),
				 usage == 800);
		usage += 100;
	}
	assert_int_equal(warnings, 1);
	/* One big message jumping over the threshold and the limit still warns once. */
	assert_int_equal(maildir_quota_crossed(850, 5000, 1000, 90), 1);
	assert_int_equal(maildir_quota_crossed(900, 901, 1000, 90), 0);
	assert_int_equal(maildir_quota_crossed(899, 900, 1000, 0), 1); /* 0: default 90 % */
	/* ceil(15 * 90 / 100) = 14. */
	assert_int_equal(maildir_quota_crossed(12, 13, 15, 90), 0);
	assert_int_equal(maildir_quota_crossed(13, 14, 15, 90), 1);
	/* Unlimited never warns; huge limits do not overflow. */
	assert_int_equal(maildir_quota_crossed(0, UINT64_MAX, 0, 90), 0);
	assert_int_equal(maildir_quota_crossed(UINT64_MAX / 100 * 90 - 1, UINT64_MAX, UINT64_MAX,
					       90),
			 1);
	/* Falling below and rising again is a new crossing. */
	assert_int_equal(maildir_quota_crossed(950, 500, 1000, 90), 0);
	assert_int_equal(maildir_quota_crossed(500, 950, 1000, 90), 1);
}

/* F10: quota set to the current usage refuses; an expunge frees it again. */
static void test_delivery_accounting_is_exact_and_quota_full_recovers(void **state)
{
	static const char msg[] = "Subject: q\r\n\r\nbody\r\n";
	struct maildir_quota_limit limit = { 0, 0 };
	struct maildir_quota_usage u;
	struct maildir_delivery res;
	const char *error = NULL;
	char box[512], spool[600];
	struct maildir_rcpt r = { box, NULL, 0 };
	int fd;

	make_box(*state, box, sizeof(box));
	snprintf(spool, sizeof(spool), "%s/spool", (char *)*state);
	put_file(*state, "spool", 0);
	fd = open(spool, O_RDWR);
	assert_int_equal(write(fd, msg, sizeof(msg) - 1), (ssize_t)sizeof(msg) - 1);
	assert_int_equal(maildir_quota_get(box, &limit, &u, &error), 0);
	assert_int_equal(maildir_deliver(fd, &r, 1, MAILDIR_STRATEGY_COPY, &res), 1);
	assert_int_equal(maildir_quota_add(box, (int64_t)res.size, 1, &error), 1);
	assert_int_equal(maildir_quota_get(box, &limit, &u, &error), 1);
	assert_usage(&u, BOX_BYTES + sizeof(msg) - 1, BOX_COUNT + 1);
	/* A recalculation agrees with the deltas. */
	assert_int_equal(maildir_quota_recalc(box, &limit, &u, &error), 0);
	assert_usage(&u, BOX_BYTES + sizeof(msg) - 1, BOX_COUNT + 1);
	limit.bytes = u.bytes;
	assert_int_equal(maildir_quota_get(box, &limit, &u, &error), 0);
	assert_int_equal(maildir_quota_check(&u, &limit, 1, MAILDIR_QUOTA_NONINCLUSIVE), 0);
	assert_int_equal(maildir_quota_add(box, -100, -1, &error), 1);
	assert_int_equal(maildir_quota_get(box, &limit, &u, &error), 1);
	assert_int_equal(maildir_quota_check(&u, &limit, 1, MAILDIR_QUOTA_NONINCLUSIVE), 1);
	close(fd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, setup_root, teardown_root)
		T(test_missing_maildirsize_is_rebuilt_without_trash),
		T(test_deltas_are_appended_and_summed),
		T(test_large_maildirsize_is_recalculated),
		T(test_over_quota_figure_older_than_15_minutes_is_recalculated),
		T(test_malformed_maildirsize_is_recalculated),
		T(test_changed_limit_rewrites_maildirsize),
		T(test_missing_maildir_is_an_error),
		T(test_noninclusive_accepts_below_the_limit_and_refuses_at_it),
		T(test_inclusive_accepts_exactly_full_and_refuses_one_byte_over),
		T(test_warning_threshold_is_crossed_exactly_once),
		T(test_delivery_accounting_is_exact_and_quota_full_recovers),
#undef T
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
