#define _XOPEN_SOURCE 700
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "maildir_create.h"
#include "maildir_deliver.h"
#include "maildir_name.h"

#define NOBODY 65534

/* A tmpfs mounted by the running test: teardown unmounts it even after a failed assertion. */
static char test_mount[64];

/* ----- helpers: real files in a mkdtemp directory ----- */

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static void rm_rf(const char *path)
{
	(void)nftw(path, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static int chown_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return lchown(path, NOBODY, NOBODY);
}

static int setup_root(void **state)
{
	char *root = strdup("/tmp/maildir-deliver-XXXXXX");

	if (root == NULL || mkdtemp(root) == NULL)
		return -1;
	*state = root;
	return 0;
}

static int teardown_root(void **state)
{
	if (test_mount[0] != '\0') {
		(void)umount2(test_mount, MNT_DETACH);
		(void)rmdir(test_mount);
		test_mount[0] = '\0';
	}
	rm_rf(*state);
	free(*state);
	return 0;
}

static void make_box(const char *root, const char *name, char *out, size_t size)
{
	const char *error = NULL;

	snprintf(out, size, "%s/%s", root, name);
	assert_int_equal(maildir_create(out, &error), 0);
}

/* A CRLF message of exactly size bytes (size >= 40). */
static uint8_t *make_message(size_t size)
{
	static const char head[] = "From: a@example.org\r\nSubject: test\r\n\r\n";
	uint8_t *m = malloc(size);
	size_t o = sizeof(head) - 1;

	assert_non_null(m);
	memcpy(m, head, o);
	while (o < size) {
		m[o] = (o % 78 == 76) ? '\r' : (o % 78 == 77) ? '\n' : (uint8_t)('a' + o % 26);
		o++;
	}
	m[size - 2] = '\r';
	m[size - 1] = '\n';
	return m;
}

/* The spool file, opened read-only and positioned at its end: delivery must not care. */
static int make_spool(const char *root, const void *msg, size_t len)
{
	char path[512];
	int fd;

	snprintf(path, sizeof(path), "%s/spool", root);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, msg, len), (ssize_t)len);
	close(fd);
	fd = open(path, O_RDONLY);
	assert_true(fd >= 0);
	assert_int_equal(lseek(fd, 0, SEEK_END), (off_t)len);
	return fd;
}

static size_t count_files(const char *box, const char *sub)
{
	char path[512];
	struct dirent *de;
	size_t n = 0;
	DIR *d;

	snprintf(path, sizeof(path), "%s/%s", box, sub);
	d = opendir(path);
	if (d == NULL)
		return 0;
	while ((de = readdir(d)) != NULL)
		n += de->d_name[0] != '.';
	closedir(d);
	return n;
}

static void assert_box_file(const char *box, const char *name, const void *expect, size_t len,
			    struct stat *st_r)
{
	char path[1024];
	uint8_t *buf = malloc(len + 1);
	int fd;

	assert_non_null(buf);
	snprintf(path, sizeof(path), "%s/new/%s", box, name);
	fd = open(path, O_RDONLY);
	assert_true(fd >= 0);
	assert_int_equal(fstat(fd, st_r), 0);
	assert_int_equal(st_r->st_size, (off_t)len);
	assert_int_equal(read(fd, buf, len + 1), (ssize_t)len);
	assert_memory_equal(buf, expect, len);
	assert_int_equal(st_r->st_mode & 07777, 0600);
	close(fd);
	free(buf);
}

/* The name in new/ has S= equal to the real size and no info part. */
static void assert_name_sizes(const struct maildir_delivery *res, uint64_t size, uint64_t vsize)
{
	struct maildir_name_info info;

	assert_int_equal(maildir_name_parse(res->name, &info), 1);
	assert_false(info.has_info);
	assert_true(info.has_size && info.has_vsize);
	assert_int_equal(info.size, size);
	assert_int_equal(info.vsize, vsize);
	assert_int_equal(res->size, size);
	assert_int_equal(res->vsize, vsize);
}

static void concat(uint8_t *out, const char *pre, const uint8_t *msg, size_t len)
{
	memcpy(out, pre, strlen(pre));
	memcpy(out + strlen(pre), msg, len);
}

/* ----- delivery ----- */

static void test_one_recipient_gets_the_exact_bytes_in_new(void **state)
{
	const char *pre = "Return-Path: <a@example.org>\r\nDelivered-To: b@example.org\r\n";
	size_t len = 5000, total = strlen(pre) + len;
	uint8_t *msg = make_message(len), *expect = malloc(total);
	char box[512];
	struct maildir_rcpt r = { box, (const uint8_t *)pre, strlen(pre) };
	struct maildir_delivery res[2];
	struct stat st;
	int fd;

	make_box(*state, "bob", box, sizeof(box));
	fd = make_spool(*state, msg, len);
	concat(expect, pre, msg, len);
	assert_int_equal(maildir_deliver(fd, &r, 1, MAILDIR_STRATEGY_COPY, res), 1);
	assert_int_equal(res[0].status, MAILDIR_DELIVER_OK);
	assert_null(res[0].error);
	assert_false(res[0].linked);
	assert_box_file(box, res[0].name, expect, total, &st);
	/* CRLF stored as received: W equals S. */
	assert_name_sizes(&res[0], total, total);
	assert_int_equal(lseek(fd, 0, SEEK_CUR), (off_t)len);
	assert_int_equal(count_files(box, "tmp"), 0);
	/* A second delivery of the same message is a second file. */
	assert_int_equal(maildir_deliver(fd, &r, 1, MAILDIR_STRATEGY_COPY, &res[1]), 1);
	assert_string_not_equal(res[0].name, res[1].name);
	assert_int_equal(count_files(box, "new"), 2);
	close(fd);
	free(msg);
	free(expect);
}

static void test_bare_lf_counts_twice_in_w(void **state)
{
	const char msg[] = "Subject: x\n\nline\r\nbare\n\r\n\n";
	char box[512];
	struct maildir_rcpt r = { box, NULL, 0 };
	struct maildir_delivery res;
	struct stat st;
	int fd;

	make_box(*state, "lf", box, sizeof(box));
	fd = make_spool(*state, msg, sizeof(msg) - 1);
	assert_int_equal(maildir_deliver(fd, &r, 1, MAILDIR_STRATEGY_COPY, &res), 1);
	assert_box_file(box, res.name, msg, sizeof(msg) - 1, &st);
	assert_name_sizes(&res, sizeof(msg) - 1, sizeof(msg) - 1 + 4);
	close(fd);
}

static void deliver_three(void **state, enum maildir_strategy strategy, const char *pres[3],
			  struct maildir_delivery res[3], struct stat st[3])
{
	char boxes[3][512];
	struct maildir_rcpt r[3];
	size_t len = 70000;
	uint8_t *msg = make_message(len), *expect = malloc(len + 200);
	int fd;

	fd = make_spool(*state, msg, len);
	for (size_t i = 0; i < 3; i++) {
		char name[16];

		snprintf(name, sizeof(name), "user%zu", i);
		make_box(*state, name, boxes[i], sizeof(boxes[i]));
		r[i] = (struct maildir_rcpt){ boxes[i], (const uint8_t *)pres[i], strlen(pres[i]) };
	}
	assert_int_equal(maildir_deliver(fd, r, 3, strategy, res), 1);
	for (size_t i = 0; i < 3; i++) {
		assert_int_equal(res[i].status, MAILDIR_DELIVER_OK);
		concat(expect, pres[i], msg, len);
		assert_box_file(boxes[i], res[i].name, expect, strlen(pres[i]) + len, &st[i]);
		assert_name_sizes(&res[i], strlen(pres[i]) + len, strlen(pres[i]) + len);
		assert_int_equal(count_files(boxes[i], "new"), 1);
		assert_int_equal(count_files(boxes[i], "tmp"), 0);
	}
	close(fd);
	free(msg);
	free(expect);
}

static void test_three_recipients_get_three_copies(void **state)
{
	const char *pres[3] = { "Delivered-To: a@x\r\n", "Delivered-To: bb@x\r\n", "" };
	struct maildir_delivery res[3];
	struct stat st[3];

	deliver_three(state, MAILDIR_STRATEGY_COPY, pres, res, st);
	for (size_t i = 0; i < 3; i++) {
		assert_false(res[i].linked);
		assert_int_equal(st[i].st_nlink, 1);
	}
	assert_true(st[0].st_ino != st[1].st_ino && st[1].st_ino != st[2].st_ino);
}

static void test_three_recipients_share_one_linked_file(void **state)
{
	const char *pres[3] = { "X-Spam: no\r\n", "X-Spam: no\r\n", "X-Spam: no\r\n" };
	struct maildir_delivery res[3];
	struct stat st[3];

	deliver_three(state, MAILDIR_STRATEGY_LINK, pres, res, st);
	assert_false(res[0].linked);
	assert_true(res[1].linked && res[2].linked);
	assert_true(st[0].st_ino == st[1].st_ino && st[1].st_ino == st[2].st_ino);
	assert_int_equal(st[0].st_nlink, 3);
}

/* A per-recipient Delivered-To makes the bytes differ: that recipient cannot share. */
static void test_link_strategy_copies_when_prepended_headers_differ(void **state)
{
	const char *pres[3] = { "Delivered-To: a@x\r\n", "Delivered-To: b@x\r\n",
				"Delivered-To: a@x\r\n" };
	struct maildir_delivery res[3];
	struct stat st[3];

	deliver_three(state, MAILDIR_STRATEGY_LINK, pres, res, st);
	assert_false(res[0].linked || res[1].linked);
	assert_true(res[2].linked);
	assert_true(st[0].st_ino == st[2].st_ino && st[0].st_ino != st[1].st_ino);
}

static void test_missing_new_is_a_permanent_failure_for_that_recipient_only(void **state)
{
	uint8_t *msg = make_message(300);
	char box[512], good[512], path[600];
	struct maildir_rcpt r[2] = { { box, NULL, 0 }, { good, NULL, 0 } };
	struct maildir_delivery res[2];
	int fd;

	make_box(*state, "broken", box, sizeof(box));
	make_box(*state, "fine", good, sizeof(good));
	snprintf(path, sizeof(path), "%s/new", box);
	assert_int_equal(rmdir(path), 0);
	fd = make_spool(*state, msg, 300);
	for (int s = MAILDIR_STRATEGY_COPY; s <= MAILDIR_STRATEGY_LINK; s++) {
		assert_int_equal(maildir_deliver(fd, r, 2, (enum maildir_strategy)s, res), 0);
		assert_int_equal(res[0].status, MAILDIR_DELIVER_PERMFAIL);
		assert_int_equal(res[0].error_errno, ENOENT);
		assert_string_equal(res[0].error, "open new/");
		assert_string_equal(res[0].name, "");
		assert_int_equal(res[1].status, MAILDIR_DELIVER_OK);
	}
	assert_int_equal(count_files(box, "tmp"), 0);
	assert_int_equal(count_files(good, "new"), 2);
	close(fd);
	free(msg);
}

/* Root ignores mode bits, so as root the delivery runs in a child as nobody. */
static int deliver_unprivileged(int fd, const struct maildir_rcpt *r, size_t n,
				struct maildir_delivery *res)
{
	int p[2], status, ret;
	pid_t pid;

	if (geteuid() != 0)
		return maildir_deliver(fd, r, n, MAILDIR_STRATEGY_COPY, res);
	assert_int_equal(pipe(p), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		if (setgroups(0, NULL) < 0 || setgid(NOBODY) < 0 || setuid(NOBODY) < 0)
			_exit(100);
		ret = maildir_deliver(fd, r, n, MAILDIR_STRATEGY_COPY, res);
		_exit(write(p[1], res, n * sizeof(*res)) == (ssize_t)(n * sizeof(*res)) ? ret : 101);
	}
	close(p[1]);
	/* The static error strings sit at the same address in the forked child. */
	assert_int_equal(read(p[0], res, n * sizeof(*res)), (ssize_t)(n * sizeof(*res)));
	close(p[0]);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) <= 1);
	return WEXITSTATUS(status);
}

static void make_unwritable(const char *root, const char *box, const char *sub)
{
	char path[600];

	if (geteuid() == 0) {
		assert_int_equal(chmod(root, 0755), 0);
		assert_int_equal(nftw(box, chown_entry, 16, FTW_PHYS), 0);
	}
	snprintf(path, sizeof(path), "%s/%s", box, sub);
	assert_int_equal(chmod(path, 0500), 0);
}

static void test_unwritable_new_is_a_temporary_failure_leaving_nothing(void **state)
{
	uint8_t *msg = make_message(3000);
	char box[512];
	struct maildir_rcpt r = { box, NULL, 0 };
	struct maildir_delivery res;
	int fd;

	make_box(*state, "ro-new", box, sizeof(box));
	make_unwritable(*state, box, "new");
	fd = make_spool(*state, msg, 3000);
	assert_int_equal(deliver_unprivileged(fd, &r, 1, &res), 0);
	assert_int_equal(res.status, MAILDIR_DELIVER_TEMPFAIL);
	assert_int_equal(res.error_errno, EACCES);
	assert_string_equal(res.error, "rename into new/");
	/* The file was written and synced in tmp/, then removed when the rename failed. */
	assert_int_equal(count_files(box, "tmp"), 0);
	assert_int_equal(count_files(box, "new"), 0);
	close(fd);
	free(msg);
}

static void test_unwritable_tmp_is_a_temporary_failure(void **state)
{
	uint8_t *msg = make_message(100);
	char box[512];
	struct maildir_rcpt r = { box, NULL, 0 };
	struct maildir_delivery res;
	int fd;

	make_box(*state, "ro-tmp", box, sizeof(box));
	make_unwritable(*state, box, "tmp");
	fd = make_spool(*state, msg, 100);
	assert_int_equal(deliver_unprivileged(fd, &r, 1, &res), 0);
	assert_int_equal(res.status, MAILDIR_DELIVER_TEMPFAIL);
	assert_int_equal(res.error_errno, EACCES);
	assert_string_equal(res.error, "create tmp/ file");
	assert_int_equal(count_files(box, "new"), 0);
	close(fd);
	free(msg);
}

/* An unreadable spool fails the recipient temporarily: the mailbox is not at fault. */
static void test_spool_read_error_is_temporary_and_leaves_nothing(void **state)
{
	char box[512], path[600];
	struct maildir_rcpt r = { box, NULL, 0 };
	struct maildir_delivery res;
	int fd;

	make_box(*state, "spoolerr", box, sizeof(box));
	snprintf(path, sizeof(path), "%s/wronly", (char *)*state);
	fd = open(path, O_WRONLY | O_CREAT, 0600);
	assert_true(fd >= 0);
	assert_int_equal(maildir_deliver(fd, &r, 1, MAILDIR_STRATEGY_COPY, &res), 0);
	assert_int_equal(res.status, MAILDIR_DELIVER_TEMPFAIL);
	assert_string_equal(res.error, "read spool");
	assert_int_equal(res.error_errno, EBADF);
	assert_int_equal(count_files(box, "tmp"), 0);
	assert_int_equal(count_files(box, "new"), 0);
	close(fd);
}

static void test_bad_arguments_are_refused(void **state)
{
	struct maildir_rcpt r = { "/nonexistent", NULL, 5 };
	struct maildir_delivery res;

	(void)state;
	assert_int_equal(maildir_deliver(0, &r, 0, MAILDIR_STRATEGY_COPY, &res), -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(maildir_deliver(0, &r, 1, MAILDIR_STRATEGY_COPY, &res), -1);
	assert_int_equal(maildir_deliver(-1, &r, 1, MAILDIR_STRATEGY_COPY, &res), -1);
}

/* ----- a full file system (F9): a real small tmpfs ----- */

static int mount_small_fs(char *dir, const char *opts)
{
	if (geteuid() != 0) {
		print_message("skipped: mounting a tmpfs needs root\n");
		return 0;
	}
	assert_non_null(mkdtemp(dir));
	if (mount("tmpfs", dir, "tmpfs", 0, opts) < 0) {
		print_message("skipped: mount tmpfs: %s\n", strerror(errno));
		rmdir(dir);
		return 0;
	}
	snprintf(test_mount, sizeof(test_mount), "%s", dir);
	return 1;
}

static void unmount_small_fs(const char *dir)
{
	test_mount[0] = '\0';
	assert_int_equal(umount2(dir, MNT_DETACH), 0);
	assert_int_equal(rmdir(dir), 0);
}

static void clear_new(const char *box)
{
	char path[600];

	snprintf(path, sizeof(path), "%s/new", box);
	rm_rf(path);
	assert_int_equal(mkdir(path, 0700), 0);
}

static void assert_enospc_left_nothing(const struct maildir_delivery *res, const char *box)
{
	assert_int_equal(res->status, MAILDIR_DELIVER_TEMPFAIL);
	assert_int_equal(res->error_errno, ENOSPC);
	assert_string_equal(res->error, "write file");
	assert_int_equal(count_files(box, "tmp"), 0);
	assert_int_equal(count_files(box, "new"), 0);
}

static void test_full_file_system_is_a_temporary_failure_leaving_nothing(void **state)
{
	char mnt[] = "/tmp/maildir-full-XXXXXX", a[512], b[512];
	struct maildir_rcpt r[2] = { { a, NULL, 0 }, { b, NULL, 0 } };
	struct maildir_delivery res[2];
	uint8_t *big = make_message(128 * 1024), *msg = make_message(40000);
	struct stat st;
	int fd;

	if (!mount_small_fs(mnt, "size=64k,mode=0700")) {
		free(big);
		free(msg);
		skip();
	}
	make_box(mnt, "a", a, sizeof(a));
	make_box(mnt, "b", b, sizeof(b));
	/* Larger than the file system: nothing is left, not even a partial tmp/ file. */
	fd = make_spool(*state, big, 128 * 1024);
	assert_int_equal(maildir_deliver(fd, r, 1, MAILDIR_STRATEGY_COPY, res), 0);
	assert_enospc_left_nothing(&res[0], a);
	close(fd);
	/* Room for one copy: the first recipient has it, the second is deferred. */
	fd = make_spool(*state, msg, 40000);
	assert_int_equal(maildir_deliver(fd, r, 2, MAILDIR_STRATEGY_COPY, res), 0);
	assert_int_equal(res[0].status, MAILDIR_DELIVER_OK);
	assert_box_file(a, res[0].name, msg, 40000, &st);
	assert_enospc_left_nothing(&res[1], b);
	/* A hard link needs no data blocks: both recipients are served. */
	clear_new(a);
	assert_int_equal(maildir_deliver(fd, r, 2, MAILDIR_STRATEGY_LINK, res), 1);
	assert_true(res[1].linked);
	assert_box_file(b, res[1].name, msg, 40000, &st);
	assert_int_equal(st.st_nlink, 2);
	close(fd);
	unmount_small_fs(mnt);
	free(big);
	free(msg);
}

/* Different file systems: link() fails with EXDEV and the recipient gets a copy. */
static void test_link_strategy_copies_across_file_systems(void **state)
{
	char mnt[] = "/tmp/maildir-other-XXXXXX", a[512], b[512];
	struct maildir_rcpt r[2] = { { a, NULL, 0 }, { b, NULL, 0 } };
	struct maildir_delivery res[2];
	uint8_t *msg = make_message(1000);
	struct stat st;
	int fd;

	if (!mount_small_fs(mnt, "size=1m,mode=0700")) {
		free(msg);
		skip();
	}
	make_box(*state, "here", a, sizeof(a));
	make_box(mnt, "there", b, sizeof(b));
	fd = make_spool(*state, msg, 1000);
	assert_int_equal(maildir_deliver(fd, r, 2, MAILDIR_STRATEGY_LINK, res), 1);
	assert_false(res[0].linked || res[1].linked);
	assert_box_file(b, res[1].name, msg, 1000, &st);
	assert_int_equal(count_files(b, "tmp"), 0);
	close(fd);
	unmount_small_fs(mnt);
	free(msg);
}

/* ----- tmp/ cleanup ----- */

static void touch(const char *box, const char *name, time_t age)
{
	char path[600];
	struct timespec ts[2];
	int fd;

	snprintf(path, sizeof(path), "%s/tmp/%s", box, name);
	fd = open(path, O_WRONLY | O_CREAT, 0600);
	assert_true(fd >= 0);
	close(fd);
	ts[0].tv_sec = ts[1].tv_sec = time(NULL) - age;
	ts[0].tv_nsec = ts[1].tv_nsec = 0;
	assert_int_equal(utimensat(AT_FDCWD, path, ts, 0), 0);
}

static void test_tmp_cleanup_removes_only_old_regular_files(void **state)
{
	char box[512], path[600];
	const char *error = NULL;
	unsigned int removed = 99;

	make_box(*state, "cleanup", box, sizeof(box));
	touch(box, "young", 0);
	/* Dovecot dates a file being APPENDed with its INTERNALDATE: an old mtime alone does
	   not make a file garbage, its ctime (now) must be old too. */
	touch(box, "dated", 40 * 3600);
	snprintf(path, sizeof(path), "%s/tmp/subdir", box);
	assert_int_equal(mkdir(path, 0700), 0);
	snprintf(path, sizeof(path), "%s/tmp/link", box);
	assert_int_equal(symlink("/etc/passwd", path), 0);
	assert_int_equal(maildir_tmp_cleanup(box, MAILDIR_TMP_MAX_AGE, &removed, &error), 0);
	assert_int_equal(removed, 0);
	assert_int_equal(count_files(box, "tmp"), 4);
	/* At start-up: everything from before now. */
	assert_int_equal(maildir_tmp_cleanup(box, 0, &removed, &error), 0);
	assert_int_equal(removed, 2);
	assert_int_equal(count_files(box, "tmp"), 2);
	/* No tmp/ at all is nothing to clean. */
	snprintf(path, sizeof(path), "%s/nothing-here", (char *)*state);
	assert_int_equal(maildir_tmp_cleanup(path, 0, &removed, &error), 0);
	assert_int_equal(removed, 0);
}


/* ----- concurrent deliveries (the delivery role runs them on a thread pool) ----- */

#define CONCURRENT_THREADS 8
#define CONCURRENT_EACH 25

struct concurrent_job {
	pthread_t thread;
	const char *box;
	int spool_fd;
	size_t len;
	unsigned int ok;
	char names[CONCURRENT_EACH][MAILDIR_NAME_MAX];
};

static void *concurrent_run(void *arg)
{
	struct concurrent_job *job = arg;
	struct maildir_rcpt r = { job->box, NULL, 0 };

	for (int i = 0; i < CONCURRENT_EACH; i++) {
		struct maildir_delivery res;

		if (maildir_deliver(job->spool_fd, &r, 1, MAILDIR_STRATEGY_COPY, &res) == 1 &&
		    res.status == MAILDIR_DELIVER_OK && res.size == job->len) {
			memcpy(job->names[i], res.name, sizeof(res.name));
			job->ok++;
		}
	}
	return NULL;
}

/* Deliveries into one new/ share its fsyncs (dir_sync.h): every one must still come back ok
   with its own complete file, and nothing may stay in tmp/. */
static void test_concurrent_deliveries_into_one_maildir_all_land(void **state)
{
	struct concurrent_job jobs[CONCURRENT_THREADS];
	size_t len = 3000;
	uint8_t *msg = make_message(len);
	char box[512];
	struct stat st;
	int fd;

	make_box(*state, "busy", box, sizeof(box));
	fd = make_spool(*state, msg, len);
	for (int t = 0; t < CONCURRENT_THREADS; t++) {
		jobs[t] = (struct concurrent_job){ .box = box, .spool_fd = fd, .len = len };
		assert_int_equal(pthread_create(&jobs[t].thread, NULL, concurrent_run, &jobs[t]), 0);
	}
	for (int t = 0; t < CONCURRENT_THREADS; t++) {
		assert_int_equal(pthread_join(jobs[t].thread, NULL), 0);
		assert_int_equal(jobs[t].ok, CONCURRENT_EACH);
		for (int i = 0; i < CONCURRENT_EACH; i++)
			assert_box_file(box, jobs[t].names[i], msg, len, &st);
	}
	assert_int_equal(count_files(box, "new"), CONCURRENT_THREADS * CONCURRENT_EACH);
	assert_int_equal(count_files(box, "tmp"), 0);
	close(fd);
	free(msg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, setup_root, teardown_root)
		T(test_one_recipient_gets_the_exact_bytes_in_new),
		T(test_bare_lf_counts_twice_in_w),
		T(test_three_recipients_get_three_copies),
		T(test_three_recipients_share_one_linked_file),
		T(test_link_strategy_copies_when_prepended_headers_differ),
		T(test_missing_new_is_a_permanent_failure_for_that_recipient_only),
		T(test_unwritable_new_is_a_temporary_failure_leaving_nothing),
		T(test_unwritable_tmp_is_a_temporary_failure),
		T(test_spool_read_error_is_temporary_and_leaves_nothing),
		T(test_bad_arguments_are_refused),
		T(test_full_file_system_is_a_temporary_failure_leaving_nothing),
		T(test_link_strategy_copies_across_file_systems),
		T(test_tmp_cleanup_removes_only_old_regular_files),
		T(test_concurrent_deliveries_into_one_maildir_all_land),
#undef T
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
