#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "smtp_spool.h"

/* Spool files are reused across transactions: a reused file must read back as exactly the
   next message, never with a tail of the one before. */

static char spool_dir[64];

static int setup(void **state)
{
	static struct smtp_spool_pool pool;

	(void)strcpy(spool_dir, "/tmp/smtp-spool-XXXXXX");
	if (mkdtemp(spool_dir) == NULL)
		return -1;
	memset(&pool, 0, sizeof(pool));
	*state = &pool;
	return 0;
}

static int teardown(void **state)
{
	struct smtp_spool_pool *pool = *state;

	while (pool->count > 0)
		(void)close(pool->fds[--pool->count]);
	(void)rmdir(spool_dir);
	return 0;
}

static void write_text(int fd, const char *text, size_t len)
{
	assert_int_equal(write(fd, text, len), (ssize_t)len);
}

/* What a reader of the spool (delivery, queue) sees: pread from 0 to the end. */
static void assert_spool_is(int fd, const char *expect, size_t len)
{
	char *buf = malloc(len + 16);
	struct stat st;

	assert_non_null(buf);
	assert_int_equal(fstat(fd, &st), 0);
	assert_int_equal(st.st_size, (off_t)len);
	assert_int_equal(pread(fd, buf, len + 16, 0), (ssize_t)len);
	assert_memory_equal(buf, expect, len);
	free(buf);
}

static bool fd_is_open(int fd)
{
	return fcntl(fd, F_GETFD) >= 0;
}

static void test_a_new_spool_file_is_unlinked_and_empty(void **state)
{
	struct smtp_spool_pool *pool = *state;
	int fd = smtp_spool_take(pool, spool_dir);
	struct stat st;

	assert_true(fd >= 0);
	assert_int_equal(fstat(fd, &st), 0);
	assert_int_equal(st.st_nlink, 0);
	assert_int_equal(st.st_size, 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	(void)close(fd);
}

static void test_a_reused_file_holds_only_the_next_message(void **state)
{
	struct smtp_spool_pool *pool = *state;
	size_t big_len = 70000;
	char *big = malloc(big_len);
	const char small[] = "Subject: second\r\n\r\nshort\r\n";
	struct stat first, again;
	int fd;

	assert_non_null(big);
	memset(big, 'x', big_len);
	fd = smtp_spool_take(pool, spool_dir);
	assert_int_equal(fstat(fd, &first), 0);
	write_text(fd, big, big_len);
	smtp_spool_give_back(pool, fd);
	assert_int_equal(pool->count, 1);

	fd = smtp_spool_take(pool, spool_dir);
	assert_int_equal(pool->count, 0);
	assert_int_equal(fstat(fd, &again), 0);
	/* The same file, not a new inode: that is the point. */
	assert_int_equal(again.st_ino, first.st_ino);
	assert_int_equal(lseek(fd, 0, SEEK_CUR), 0);
	write_text(fd, small, sizeof(small) - 1);
	assert_spool_is(fd, small, sizeof(small) - 1);
	(void)close(fd);
	free(big);
}

static void test_files_beyond_the_pool_are_closed(void **state)
{
	struct smtp_spool_pool *pool = *state;
	int fds[SMTP_SPOOL_POOL_MAX + 1];

	for (int i = 0; i <= SMTP_SPOOL_POOL_MAX; i++) {
		fds[i] = smtp_spool_take(pool, spool_dir);
		assert_true(fds[i] >= 0);
	}
	for (int i = 0; i <= SMTP_SPOOL_POOL_MAX; i++)
		smtp_spool_give_back(pool, fds[i]);
	assert_int_equal(pool->count, SMTP_SPOOL_POOL_MAX);
	assert_false(fd_is_open(fds[SMTP_SPOOL_POOL_MAX]));
}

static void test_a_file_that_cannot_be_emptied_is_closed_not_kept(void **state)
{
	struct smtp_spool_pool *pool = *state;
	char path[128];
	int fd;

	/* ftruncate fails on a read-only fd: such a file must never be handed out again. */
	(void)snprintf(path, sizeof(path), "%s/ro", spool_dir);
	fd = open(path, O_RDONLY | O_CREAT, 0600);
	assert_true(fd >= 0);
	(void)unlink(path);
	smtp_spool_give_back(pool, fd);
	assert_int_equal(pool->count, 0);
	assert_false(fd_is_open(fd));
	smtp_spool_give_back(pool, -1);
	assert_int_equal(pool->count, 0);
}

static void test_a_missing_spool_directory_is_an_error(void **state)
{
	struct smtp_spool_pool *pool = *state;
	char path[128];

	(void)snprintf(path, sizeof(path), "%s/missing", spool_dir);
	assert_int_equal(smtp_spool_take(pool, path), -1);
	assert_int_equal(errno, ENOENT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
		T(test_a_new_spool_file_is_unlinked_and_empty),
		T(test_a_reused_file_holds_only_the_next_message),
		T(test_files_beyond_the_pool_are_closed),
		T(test_a_file_that_cannot_be_emptied_is_closed_not_kept),
		T(test_a_missing_spool_directory_is_an_error),
#undef T
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
