#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../core/strutil.h"
#include "dir_sync.h"
#include "maildir_deliver.h"

#define DELIVER_BUF_SIZE (64 * 1024)
/* A name collision needs a reused pid plus a repeated clock and counter; a few fresh names
   end it. Running out means something else is creating our names. */
#define DELIVER_NAME_TRIES 5

static const char deliver_step_spool[] = "read spool";

/* One destination Maildir: its tmp/ and new/ as directory fds, so every later step names
   files relative to them and cannot be redirected by a renamed parent. */
struct deliver_dst {
	int tmp_fd;
	int new_fd;
};

/* Bytes written, and bare LFs among them for W= (a CR may end the previous buffer). */
struct deliver_count {
	uint64_t size;
	uint64_t bare_lf;
	uint8_t prev;
};

static bool deliver_errno_permanent(int err)
{
	switch (err) {
	case ENOENT:
	case ENOTDIR:
	case ELOOP:
	case ENAMETOOLONG:
	case EFBIG:
		return true;
	default:
		return false;
	}
}

static int deliver_fail_as(struct maildir_delivery *res, enum maildir_deliver_status status,
			   const char *step, int err)
{
	res->status = status;
	res->error = step;
	res->error_errno = err;
	res->linked = false;
	res->name[0] = '\0';
	return -1;
}

static int deliver_fail(struct maildir_delivery *res, const char *step, int err)
{
	return deliver_fail_as(res,
			       deliver_errno_permanent(err) ? MAILDIR_DELIVER_PERMFAIL
							    : MAILDIR_DELIVER_TEMPFAIL,
			       step, err);
}

static int deliver_open_dir(const char *maildir, const char *sub, int *fd_r)
{
	char path[PATH_MAX];

	if (str_printf(path, sizeof(path), "%s/%s", maildir, sub) < 0) {
		errno = ENAMETOOLONG;
		return -1;
	}
	*fd_r = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	return *fd_r < 0 ? -1 : 0;
}

static void deliver_close_dst(struct deliver_dst *d)
{
	if (d->tmp_fd >= 0)
		(void)close(d->tmp_fd);
	if (d->new_fd >= 0)
		(void)close(d->new_fd);
	d->tmp_fd = d->new_fd = -1;
}

static int deliver_open_dst(const char *maildir, struct deliver_dst *d,
			    struct maildir_delivery *res)
{
	d->tmp_fd = d->new_fd = -1;
	if (deliver_open_dir(maildir, "tmp", &d->tmp_fd) < 0)
		return deliver_fail(res, "open tmp/", errno);
	if (deliver_open_dir(maildir, "new", &d->new_fd) < 0) {
		int err = errno;

		deliver_close_dst(d);
		return deliver_fail(res, "open new/", err);
	}
	return 0;
}

static void deliver_count_add(struct deliver_count *c, const uint8_t *p, size_t len)
{
	const uint8_t *end = p + len;
	const uint8_t *nl;

	for (const uint8_t *q = p; (nl = memchr(q, '\n', (size_t)(end - q))) != NULL; q = nl + 1) {
		if ((nl > p ? nl[-1] : c->prev) != '\r')
			c->bare_lf++;
	}
	if (len > 0)
		c->prev = end[-1];
	c->size += len;
}

static int deliver_write(int fd, const uint8_t *p, size_t len, struct deliver_count *c)
{
	deliver_count_add(c, p, len);
	while (len > 0) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			if (n == 0)
				errno = EIO;
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* pread from offset 0: the spool fd may be shared and its position is not ours. */
static int deliver_copy_spool(int spool_fd, int out_fd, struct deliver_count *c,
			      const char **step_r)
{
	uint8_t buf[DELIVER_BUF_SIZE];
	off_t off = 0;

	for (;;) {
		ssize_t n = pread(spool_fd, buf, sizeof(buf), off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			*step_r = deliver_step_spool;
			return -1;
		}
		if (n == 0)
			return 0;
		if (deliver_write(out_fd, buf, (size_t)n, c) < 0) {
			*step_r = "write file";
			return -1;
		}
		off += n;
	}
}

static int deliver_fill(int spool_fd, const struct maildir_rcpt *r, int fd,
			struct deliver_count *c, const char **step_r)
{
	if (r->prepend_len > 0 && deliver_write(fd, r->prepend, r->prepend_len, c) < 0) {
		*step_r = "write file";
		return -1;
	}
	if (deliver_copy_spool(spool_fd, fd, c, step_r) < 0)
		return -1;
	/* F23: a failed fsync means the data may be gone whatever a second fsync says. */
	if (fsync(fd) < 0) {
		*step_r = "fsync file";
		return -1;
	}
	return 0;
}

static int deliver_create_tmp(int tmp_fd, char *base, size_t size, int *fd_r)
{
	for (int i = 0; i < DELIVER_NAME_TRIES; i++) {
		if (maildir_name_unique(base, size) < 0) {
			errno = ENAMETOOLONG;
			return -1;
		}
		*fd_r = openat(tmp_fd, base, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW,
			       0600);
		if (*fd_r >= 0)
			return 0;
		if (errno != EEXIST)
			return -1;
	}
	return -1;
}

/* tmp/<base> created, filled, fsynced and closed. On error nothing of ours is left in tmp/. */
static int deliver_write_tmp(int spool_fd, const struct maildir_rcpt *r,
			     const struct deliver_dst *d, char *base, size_t size,
			     struct deliver_count *c, struct maildir_delivery *res)
{
	const char *step = "write file";
	int fd, err;

	if (deliver_create_tmp(d->tmp_fd, base, size, &fd) < 0)
		return deliver_fail(res, "create tmp/ file", errno);
	if (deliver_fill(spool_fd, r, fd, c, &step) < 0) {
		err = errno;
		(void)close(fd);
		(void)unlinkat(d->tmp_fd, base, 0);
		/* Whatever the spool's errno, the recipient's mailbox is fine: retry. */
		if (step == deliver_step_spool)
			return deliver_fail_as(res, MAILDIR_DELIVER_TEMPFAIL, step, err);
		return deliver_fail(res, step, err);
	}
	/* NFS reports write errors at close. */
	if (close(fd) < 0) {
		err = errno;
		(void)unlinkat(d->tmp_fd, base, 0);
		return deliver_fail(res, "close file", err);
	}
	return 0;
}

/* Never replace: an existing file with our name is someone's mail. File systems without
   RENAME_NOREPLACE (NFS, some FUSE) get a plain rename; uniqueness then rests on the name
   alone, as it always does in Dovecot. */
static int deliver_rename(const struct deliver_dst *d, const char *from, const char *to)
{
	if (renameat2(d->tmp_fd, from, d->new_fd, to, RENAME_NOREPLACE) == 0)
		return 0;
	if (errno != EINVAL && errno != ENOSYS)
		return -1;
	return renameat(d->tmp_fd, from, d->new_fd, to);
}

/* The rename is durable only once new/ is: until then a crash may lose it, so a failed
   fsync takes the file back and the recipient is retried (F23). Concurrent deliveries into the
   same new/ share its fsync (dir_sync.h): still one that started after our rename. */
static int deliver_sync_new(int new_fd, struct maildir_delivery *res)
{
	int err;

	if (dir_sync_wait(dir_sync_process(), new_fd) == 0)
		return 0;
	err = errno;
	(void)unlinkat(new_fd, res->name, 0);
	return deliver_fail(res, "fsync new/", err);
}

static int deliver_publish(const struct deliver_dst *d, const char *base,
			   const struct deliver_count *c, struct maildir_delivery *res)
{
	char fresh[MAILDIR_NAME_MAX];
	const char *name_base = base;
	int err = EEXIST;

	for (int i = 0; i < DELIVER_NAME_TRIES; i++) {
		if (maildir_name_final(name_base, c->size, c->size + c->bare_lf, NULL, res->name,
				       sizeof(res->name)) < 0) {
			err = ENAMETOOLONG;
			break;
		}
		if (deliver_rename(d, base, res->name) == 0)
			return deliver_sync_new(d->new_fd, res);
		err = errno;
		if (err != EEXIST || maildir_name_unique(fresh, sizeof(fresh)) < 0)
			break;
		name_base = fresh;
	}
	(void)unlinkat(d->tmp_fd, base, 0);
	return deliver_fail(res, "rename into new/", err);
}

static int deliver_copy_one(int spool_fd, const struct maildir_rcpt *r,
			    struct maildir_delivery *res)
{
	struct deliver_dst d;
	struct deliver_count c = { 0 };
	char base[MAILDIR_NAME_MAX];
	int ret;

	if (deliver_open_dst(r->maildir, &d, res) < 0)
		return -1;
	ret = deliver_write_tmp(spool_fd, r, &d, base, sizeof(base), &c, res);
	if (ret == 0)
		ret = deliver_publish(&d, base, &c, res);
	deliver_close_dst(&d);
	if (ret < 0)
		return -1;
	res->status = MAILDIR_DELIVER_OK;
	res->size = c.size;
	res->vsize = c.size + c.bare_lf;
	return 0;
}

static int deliver_link_at(const char *from, int new_fd, const struct maildir_delivery *src,
			   struct maildir_delivery *res)
{
	char base[MAILDIR_NAME_MAX];

	for (int i = 0; i < DELIVER_NAME_TRIES; i++) {
		if (maildir_name_unique(base, sizeof(base)) < 0 ||
		    maildir_name_final(base, src->size, src->vsize, NULL, res->name,
				       sizeof(res->name)) < 0)
			return -1;
		/* link() fails on an existing name; it never replaces one. */
		if (linkat(AT_FDCWD, from, new_fd, res->name, 0) == 0)
			return 0;
		if (errno != EEXIST)
			return -1;
	}
	return -1;
}

/* A hard link of an earlier recipient's new/ file straight into this recipient's new/.
   1 linked and durable, 0 no link made (the caller copies instead), -1 the link was made but
   new/ could not be synced: the recipient failed (res says why) and must not be copied. */
static int deliver_link_one(const struct maildir_rcpt *src_rcpt,
			    const struct maildir_delivery *src, const struct maildir_rcpt *r,
			    struct maildir_delivery *res)
{
	char from[PATH_MAX];
	int new_fd, ret = 1;

	if (str_printf(from, sizeof(from), "%s/new/%s", src_rcpt->maildir, src->name) < 0 ||
	    deliver_open_dir(r->maildir, "new", &new_fd) < 0)
		return 0;
	if (deliver_link_at(from, new_fd, src, res) < 0)
		ret = 0;
	else if (deliver_sync_new(new_fd, res) < 0)
		ret = -1;
	(void)close(new_fd);
	if (ret <= 0)
		return ret;
	res->status = MAILDIR_DELIVER_OK;
	res->linked = true;
	res->size = src->size;
	res->vsize = src->vsize;
	return 1;
}

static bool deliver_same_prepend(const struct maildir_rcpt *a, const struct maildir_rcpt *b)
{
	return a->prepend_len == b->prepend_len &&
	       (a->prepend_len == 0 || memcmp(a->prepend, b->prepend, a->prepend_len) == 0);
}

/* Link from the first earlier copy (never from a link: its source was tried already) whose
   bytes are ours; a copy on another file system fails with EXDEV and the next is tried. */
static int deliver_try_link(const struct maildir_rcpt *rcpts, size_t i,
			    struct maildir_delivery *results)
{
	for (size_t j = 0; j < i; j++) {
		int ret;

		if (results[j].status != MAILDIR_DELIVER_OK || results[j].linked ||
		    !deliver_same_prepend(&rcpts[j], &rcpts[i]))
			continue;
		ret = deliver_link_one(&rcpts[j], &results[j], &rcpts[i], &results[i]);
		if (ret != 0)
			return ret;
	}
	return 0;
}

static int deliver_rcpt(int spool_fd, const struct maildir_rcpt *rcpts, size_t i,
			enum maildir_strategy strategy, struct maildir_delivery *results)
{
	struct maildir_delivery *res = &results[i];

	memset(res, 0, sizeof(*res));
	/* Nothing reads as delivered until a path says so. */
	res->status = MAILDIR_DELIVER_TEMPFAIL;
	if (strategy == MAILDIR_STRATEGY_LINK) {
		int ret = deliver_try_link(rcpts, i, results);

		if (ret != 0)
			return ret > 0 ? 0 : -1;
	}
	return deliver_copy_one(spool_fd, &rcpts[i], res);
}

int maildir_deliver(int spool_fd, const struct maildir_rcpt *rcpts, size_t count,
		    enum maildir_strategy strategy, struct maildir_delivery *results_r)
{
	size_t ok = 0;

	if (spool_fd < 0 || rcpts == NULL || results_r == NULL || count == 0) {
		errno = EINVAL;
		return -1;
	}
	for (size_t i = 0; i < count; i++) {
		if (rcpts[i].maildir == NULL || (rcpts[i].prepend == NULL && rcpts[i].prepend_len)) {
			errno = EINVAL;
			return -1;
		}
	}
	for (size_t i = 0; i < count; i++) {
		if (deliver_rcpt(spool_fd, rcpts, i, strategy, results_r) == 0)
			ok++;
	}
	return ok == count ? 1 : 0;
}

/* Both times must be old: Dovecot sets a tmp/ file's mtime to the IMAP INTERNALDATE before
   the rename, so mtime alone can make a file being written look years old. */
static int tmp_cleanup_one(int dir_fd, const char *name, time_t now, time_t max_age)
{
	struct stat st;

	if (fstatat(dir_fd, name, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISREG(st.st_mode))
		return 0;
	if (now - st.st_mtime < max_age || now - st.st_ctime < max_age)
		return 0;
	return unlinkat(dir_fd, name, 0) == 0 ? 1 : 0;
}

int maildir_tmp_cleanup(const char *maildir, time_t max_age, unsigned int *removed_r,
			const char **error_r)
{
	time_t now = time(NULL);
	struct dirent *de;
	DIR *dir;
	int fd, err;

	*removed_r = 0;
	if (deliver_open_dir(maildir, "tmp", &fd) < 0) {
		if (errno == ENOENT)
			return 0;
		*error_r = strerror(errno);
		return -1;
	}
	dir = fdopendir(fd);
	if (dir == NULL) {
		*error_r = strerror(errno);
		(void)close(fd);
		return -1;
	}
	while ((errno = 0, de = readdir(dir)) != NULL)
		*removed_r += (unsigned int)tmp_cleanup_one(fd, de->d_name, now, max_age);
	err = errno;
	(void)closedir(dir);
	if (err != 0) {
		*error_r = strerror(err);
		return -1;
	}
	return 0;
}

/* The pid in "<secs>.M<usecs>P<pid>Q<n>.<host>", or 0 when the name is not of that shape. */
static pid_t maildir_name_pid(const char *name)
{
	const char *p = strchr(name, '.');
	long pid;
	char *end;

	if (p == NULL || p[1] != 'M')
		return 0;
	p = strchr(p, 'P');
	if (p == NULL)
		return 0;
	pid = strtol(p + 1, &end, 10);
	if (end == p + 1 || *end != 'Q' || pid <= 0 || pid > INT32_MAX)
		return 0;
	return (pid_t)pid;
}

int maildir_tmp_sweep_dead(const char *maildir, unsigned int *removed_r)
{
	char path[PATH_MAX];
	struct dirent *de;
	DIR *dir;
	int dfd;

	*removed_r = 0;
	if (snprintf(path, sizeof(path), "%s/tmp", maildir) >= (int)sizeof(path))
		return -1;
	dir = opendir(path);
	if (dir == NULL)
		return errno == ENOENT ? 0 : -1;
	dfd = dirfd(dir);
	while ((de = readdir(dir)) != NULL) {
		pid_t pid = de->d_name[0] == '.' ? 0 : maildir_name_pid(de->d_name);

		if (pid > 0 && kill(pid, 0) < 0 && errno == ESRCH &&
		    unlinkat(dfd, de->d_name, 0) == 0)
			(*removed_r)++;
	}
	closedir(dir);
	return 0;
}
