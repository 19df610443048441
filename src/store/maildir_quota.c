#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../core/strutil.h"
#include "maildir_name.h"
#include "maildir_quota.h"

#define QUOTA_FILE "maildirsize"
#define QUOTA_SCAN_TRIES 3

/* maildirsize as read: its limit line, the sums of its lines, when it last changed. */
struct quota_file {
	struct maildir_quota_limit limit;
	int64_t bytes;
	int64_t count;
	time_t mtime;
};

/* ----- reading maildirsize ----- */

static bool quota_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* "[ \t]*-?[0-9]+" at *pp, advancing it. */
static int quota_parse_i64(const char **pp, const char *end, int64_t *value_r)
{
	const char *p = *pp;
	bool neg = false;
	int64_t v = 0;

	while (p < end && (*p == ' ' || *p == '\t'))
		p++;
	if (p < end && *p == '-') {
		neg = true;
		p++;
	}
	if (p == end || !quota_digit(*p))
		return -1;
	for (; p < end && quota_digit(*p); p++) {
		if (__builtin_mul_overflow(v, 10, &v) ||
		    __builtin_add_overflow(v, neg ? -(*p - '0') : *p - '0', &v))
			return -1;
	}
	*pp = p;
	*value_r = v;
	return 0;
}

/* "<n>S,<n>C" in any order, either optional; letters other than S and C are ignored as the
   spec reserves them for later use. */
static int quota_parse_limit(const char *p, const char *end, struct maildir_quota_limit *lim)
{
	memset(lim, 0, sizeof(*lim));
	while (p < end) {
		int64_t v;

		if (quota_parse_i64(&p, end, &v) < 0 || v < 0 || p == end)
			return -1;
		if (*p == 'S')
			lim->bytes = (uint64_t)v;
		else if (*p == 'C')
			lim->count = (uint64_t)v;
		p++;
		if (p < end && *p++ != ',')
			return -1;
	}
	return 0;
}

static int quota_parse_delta(const char *p, const char *end, struct quota_file *qf)
{
	int64_t bytes, count;

	if (quota_parse_i64(&p, end, &bytes) < 0 || quota_parse_i64(&p, end, &count) < 0)
		return -1;
	while (p < end && (*p == ' ' || *p == '\t'))
		p++;
	if (p != end || __builtin_add_overflow(qf->bytes, bytes, &qf->bytes) ||
	    __builtin_add_overflow(qf->count, count, &qf->count))
		return -1;
	return 0;
}

/* Every line must end in '\n': a line without one is a torn append, not a number. */
static int quota_parse(const char *buf, size_t len, struct quota_file *qf)
{
	const char *end = buf + len;
	const char *nl = memchr(buf, '\n', len);

	if (nl == NULL || quota_parse_limit(buf, nl, &qf->limit) < 0)
		return -1;
	qf->bytes = qf->count = 0;
	for (const char *p = nl + 1; p < end; p = nl + 1) {
		nl = memchr(p, '\n', (size_t)(end - p));
		if (nl == NULL || quota_parse_delta(p, nl, qf) < 0)
			return -1;
	}
	return 0;
}

static ssize_t quota_read_all(int fd, char *buf, size_t size)
{
	size_t got = 0;

	while (got < size) {
		ssize_t n = read(fd, buf + got, size - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		if (n == 0)
			break;
		got += (size_t)n;
	}
	return (ssize_t)got;
}

/* 1 parsed, 0 to be recalculated: missing, unreadable, malformed or too large. */
static int quota_read(const char *maildir, struct quota_file *qf)
{
	char path[PATH_MAX], buf[MAILDIR_QUOTA_STALE_SIZE];
	struct stat st;
	ssize_t len;
	int fd;

	if (str_printf(path, sizeof(path), "%s/" QUOTA_FILE, maildir) < 0)
		return 0;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return 0;
	len = fstat(fd, &st) < 0 ? -1 : quota_read_all(fd, buf, sizeof(buf));
	(void)close(fd);
	if (len < 0 || (size_t)len >= sizeof(buf))
		return 0;
	qf->mtime = st.st_mtime;
	return quota_parse(buf, (size_t)len, qf) < 0 ? 0 : 1;
}

/* ----- recalculation ----- */

static void quota_count_file(int dir_fd, const char *name, struct maildir_quota_usage *u)
{
	struct maildir_name_info info;
	struct stat st;

	if (maildir_name_parse(name, &info) == 0)
		return;
	if (!info.has_size) {
		/* Gone since readdir (moved to cur/, expunged): it is counted where it went. */
		if (fstatat(dir_fd, name, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISREG(st.st_mode))
			return;
		info.size = (uint64_t)st.st_size;
	}
	u->bytes += info.size;
	u->count++;
}

static bool quota_same_time(const struct stat *a, const struct stat *b)
{
	return a->st_mtim.tv_sec == b->st_mtim.tv_sec && a->st_mtim.tv_nsec == b->st_mtim.tv_nsec;
}

/* Sum box/sub; *changed_r set when the directory changed while it was read. */
static int quota_scan_dir(int box_fd, const char *sub, struct maildir_quota_usage *u,
			  bool *changed_r)
{
	struct stat before, after;
	struct dirent *de;
	DIR *dir;
	int fd = openat(box_fd, sub, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int err;

	if (fd < 0)
		return errno == ENOENT ? 0 : -1;
	if (fstat(fd, &before) < 0 || (dir = fdopendir(fd)) == NULL) {
		err = errno;
		(void)close(fd);
		errno = err;
		return -1;
	}
	while ((errno = 0, de = readdir(dir)) != NULL)
		quota_count_file(fd, de->d_name, u);
	err = errno;
	if (err == 0 && fstat(fd, &after) == 0 && !quota_same_time(&before, &after))
		*changed_r = true;
	(void)closedir(dir);
	errno = err;
	return err == 0 ? 0 : -1;
}

/* new/ before cur/: a message moving between them meanwhile is then seen at least once. */
static int quota_scan_box(int box_fd, struct maildir_quota_usage *u, bool *changed_r)
{
	if (quota_scan_dir(box_fd, "new", u, changed_r) < 0 ||
	    quota_scan_dir(box_fd, "cur", u, changed_r) < 0)
		return -1;
	return 0;
}

/* Maildir++ folders are ".Name" directories; deleting into .Trash frees quota. */
static bool quota_counts_folder(const char *name)
{
	return name[0] == '.' && strcmp(name, ".") != 0 && strcmp(name, "..") != 0 &&
	       strcmp(name, ".Trash") != 0;
}

static int quota_scan_folders(DIR *root, struct maildir_quota_usage *u, bool *changed_r)
{
	struct dirent *de;

	while ((errno = 0, de = readdir(root)) != NULL) {
		int fd, ret;

		if (!quota_counts_folder(de->d_name))
			continue;
		fd = openat(dirfd(root), de->d_name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (fd < 0) {
			/* A file named like a folder, or a folder deleted meanwhile. */
			if (errno == ENOTDIR || errno == ENOENT)
				continue;
			return -1;
		}
		ret = quota_scan_box(fd, u, changed_r);
		(void)close(fd);
		if (ret < 0)
			return -1;
	}
	return errno == 0 ? 0 : -1;
}

static int quota_scan(const char *maildir, struct maildir_quota_usage *u, bool *changed_r)
{
	int fd = open(maildir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *root;
	int ret, err;

	if (fd < 0)
		return -1;
	if (quota_scan_box(fd, u, changed_r) < 0 || (root = fdopendir(fd)) == NULL) {
		err = errno;
		(void)close(fd);
		errno = err;
		return -1;
	}
	ret = quota_scan_folders(root, u, changed_r);
	err = errno;
	(void)closedir(root);
	errno = err;
	return ret;
}

static int quota_write_tmp(const char *tmp_path, const char *text, size_t len)
{
	int fd = open(tmp_path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	int err;

	if (fd < 0)
		return -1;
	if (write(fd, text, len) != (ssize_t)len || fsync(fd) < 0) {
		err = errno != 0 ? errno : EIO;
		(void)close(fd);
		(void)unlink(tmp_path);
		errno = err;
		return -1;
	}
	if (close(fd) < 0) {
		err = errno;
		(void)unlink(tmp_path);
		errno = err;
		return -1;
	}
	return 0;
}

/* Whole new file in tmp/, then rename: readers see the old file or the new one. */
static int quota_write(const char *maildir, const struct maildir_quota_limit *limit,
		       const struct maildir_quota_usage *u, const char **error_r)
{
	char text[128], base[MAILDIR_NAME_MAX], tmp_path[PATH_MAX], path[PATH_MAX];
	int len, err;

	len = str_printf(text, sizeof(text), "%lluS,%lluC\n%llu %llu\n",
			 (unsigned long long)limit->bytes, (unsigned long long)limit->count,
			 (unsigned long long)u->bytes, (unsigned long long)u->count);
	if (len < 0 || maildir_name_unique(base, sizeof(base)) < 0 ||
	    str_printf(tmp_path, sizeof(tmp_path), "%s/tmp/%s", maildir, base) < 0 ||
	    str_printf(path, sizeof(path), "%s/" QUOTA_FILE, maildir) < 0) {
		*error_r = "Maildir path too long";
		return -1;
	}
	if (quota_write_tmp(tmp_path, text, (size_t)len) < 0) {
		*error_r = strerror(errno);
		return -1;
	}
	if (rename(tmp_path, path) < 0) {
		err = errno;
		(void)unlink(tmp_path);
		*error_r = strerror(err);
		return -1;
	}
	return 0;
}

int maildir_quota_recalc(const char *maildir, const struct maildir_quota_limit *limit,
			 struct maildir_quota_usage *usage_r, const char **error_r)
{
	bool changed = true;

	for (int i = 0; i < QUOTA_SCAN_TRIES && changed; i++) {
		memset(usage_r, 0, sizeof(*usage_r));
		changed = false;
		if (quota_scan(maildir, usage_r, &changed) < 0) {
			*error_r = strerror(errno);
			return -1;
		}
	}
	return quota_write(maildir, limit, usage_r, error_r);
}

/* ----- use ----- */

int maildir_quota_get(const char *maildir, const struct maildir_quota_limit *limit,
		      struct maildir_quota_usage *usage_r, const char **error_r)
{
	struct quota_file qf;

	if (quota_read(maildir, &qf) > 0 && qf.limit.bytes == limit->bytes &&
	    qf.limit.count == limit->count && qf.bytes >= 0 && qf.count >= 0) {
		usage_r->bytes = (uint64_t)qf.bytes;
		usage_r->count = (uint64_t)qf.count;
		if (maildir_quota_check(usage_r, limit, 0, MAILDIR_QUOTA_NONINCLUSIVE) == 1 ||
		    time(NULL) - qf.mtime < MAILDIR_QUOTA_STALE_SECS)
			return 1;
	}
	return maildir_quota_recalc(maildir, limit, usage_r, error_r) < 0 ? -1 : 0;
}

int maildir_quota_add(const char *maildir, int64_t bytes, int64_t count, const char **error_r)
{
	char path[PATH_MAX], line[64];
	int fd, len, err;
	ssize_t n;

	len = str_printf(line, sizeof(line), "%lld %lld\n", (long long)bytes, (long long)count);
	if (len < 0 || str_printf(path, sizeof(path), "%s/" QUOTA_FILE, maildir) < 0) {
		*error_r = "Maildir path too long";
		return -1;
	}
	/* Never created here: a file without its limit line would be wrong, not stale. */
	fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0) {
		if (errno == ENOENT)
			return 0;
		*error_r = strerror(errno);
		return -1;
	}
	/* One write with O_APPEND: concurrent writers' lines never interleave. */
	n = write(fd, line, (size_t)len);
	err = n < 0 ? errno : EIO;
	(void)close(fd);
	if (n != len) {
		*error_r = strerror(err);
		return -1;
	}
	return 1;
}

static int quota_fits(uint64_t usage, uint64_t limit, uint64_t add,
		      enum maildir_quota_policy policy)
{
	if (limit == 0)
		return 1;
	if (usage >= limit)
		return 0;
	return policy == MAILDIR_QUOTA_NONINCLUSIVE || add <= limit - usage;
}

int maildir_quota_check(const struct maildir_quota_usage *usage,
			const struct maildir_quota_limit *limit, uint64_t size,
			enum maildir_quota_policy policy)
{
	return quota_fits(usage->bytes, limit->bytes, size, policy) &&
	       quota_fits(usage->count, limit->count, 1, policy);
}

/* ceil(limit * percent / 100) for percent <= 100, without overflow. */
static uint64_t quota_threshold(uint64_t limit, unsigned int percent)
{
	uint64_t rest = (limit % 100) * percent;

	return limit / 100 * percent + rest / 100 + (rest % 100 != 0);
}

int maildir_quota_crossed(uint64_t old_usage, uint64_t new_usage, uint64_t limit,
			  unsigned int percent)
{
	uint64_t threshold;

	if (limit == 0)
		return 0;
	if (percent == 0)
		percent = MAILDIR_QUOTA_WARN_PERCENT;
	if (percent > 100)
		percent = 100;
	threshold = quota_threshold(limit, percent);
	return old_usage < threshold && new_usage >= threshold;
}
