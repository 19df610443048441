#include <dirent.h>
#include <fcntl.h>
#include <ftw.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>
#include <sqlite3.h>

#include "maildir_create.h"
#include "mbox.h"
#include "mbox_harness.h"

char *mh_maildir(void)
{
	char *root = strdup("/tmp/mbox-test-XXXXXX");
	const char *error = NULL;

	if (root == NULL || mkdtemp(root) == NULL || maildir_create(root, &error) < 0) {
		fprintf(stderr, "cannot make a Maildir: %s\n", error != NULL ? error : "mkdtemp");
		abort();
	}
	return root;
}

static int mh_rm(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

void mh_remove(char *root)
{
	(void)nftw(root, mh_rm, 16, FTW_DEPTH | FTW_PHYS);
	free(root);
}

void mh_put(const char *dir, const char *rel, const char *text)
{
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, rel);
	f = fopen(path, "w");
	if (f == NULL) {
		perror(path);
		abort();
	}
	fputs(text, f);
	fclose(f);
}

int mh_exists(const char *dir, const char *rel)
{
	char path[4096];
	struct stat st;

	snprintf(path, sizeof(path), "%s/%s", dir, rel);
	return stat(path, &st) == 0;
}

size_t mh_count(const char *dir, const char *rel)
{
	char path[4096];
	struct dirent *de;
	size_t n = 0;
	DIR *d;

	snprintf(path, sizeof(path), "%s/%s", dir, rel);
	d = opendir(path);
	if (d == NULL)
		return 0;
	while ((de = readdir(d)) != NULL)
		n += de->d_name[0] != '.';
	closedir(d);
	return n;
}

int mh_find(const char *dir, const char *rel, const char *prefix, char *out, size_t size)
{
	char path[4096];
	struct dirent *de;
	int ret = -1;
	DIR *d;

	snprintf(path, sizeof(path), "%s/%s", dir, rel);
	d = opendir(path);
	if (d == NULL)
		return -1;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] != '.' && strncmp(de->d_name, prefix, strlen(prefix)) == 0) {
			snprintf(out, size, "%s", de->d_name);
			ret = 0;
			break;
		}
	}
	closedir(d);
	return ret;
}

const char *mh_read(const char *dir, const char *rel)
{
	static char buf[1 << 20];
	char path[4096];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, rel);
	fd = open(path, O_RDONLY);
	if (fd < 0)
		return NULL;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n < 0)
		return NULL;
	buf[n] = '\0';
	return buf;
}

void mh_sql_run(const char *root, const char *sql)
{
	char path[4096];
	sqlite3 *db;

	snprintf(path, sizeof(path), "%s/maild-index.sqlite", root);
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	if (sqlite3_exec(db, sql, NULL, NULL, NULL) != SQLITE_OK)
		fail_msg("%s: %s", sql, sqlite3_errmsg(db));
	sqlite3_close(db);
}

long long mh_sql_int(const char *root, const char *sql)
{
	char path[4096];
	sqlite3_stmt *st;
	sqlite3 *db;
	long long value;

	snprintf(path, sizeof(path), "%s/maild-index.sqlite", root);
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	value = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(db);
	return value;
}

int mh_setup(void **state)
{
	*state = mh_maildir();
	return 0;
}

int mh_teardown(void **state)
{
	mh_remove(*state);
	return 0;
}

struct mbox *mh_open(const char *root, const char *folder)
{
	struct mbox *mb = NULL;
	char *error = NULL;

	if (mbox_open(root, folder, &mb, &error) < 0)
		fail_msg("mbox_open: %s", error);
	return mb;
}
