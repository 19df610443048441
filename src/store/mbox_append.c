#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "maildir_name.h"
#include "../core/fileio.h"
#include "mbox_append.h"
#include "mbox_file.h"

int mbox_quota_fits(struct mbox *mb, const struct maildir_quota_limit *quota,
                    enum maildir_quota_policy policy, const uint64_t *sizes, size_t count)
{
	struct maildir_quota_usage usage;
	const char *error;

	/* Maildir++: what goes to .Trash is not counted. */
	if (quota == NULL || mb->is_trash)
		return 1;
	if (maildir_quota_get(mb->root, quota, &usage, &error) < 0)
		return mbox_fail(mb, "%s: quota: %s", mb->root, error);
	for (size_t i = 0; i < count; i++) {
		if (maildir_quota_check(&usage, quota, sizes[i], policy) == 0)
			return 0;
		usage.bytes += sizes[i];
		usage.count++;
	}
	return 1;
}

void mbox_quota_record(struct mbox *mb, int64_t bytes, int64_t count)
{
	const char *error;

	/* Not fsynced and not fatal: a lost line is repaired by the next recalculation. */
	if (count != 0 && !mb->is_trash)
		(void)maildir_quota_add(mb->root, bytes, count, &error);
}

/* Copy the source (buffer or fd from offset 0) into fd, counting the RFC822.SIZE. */
static int append_copy(int fd, const struct mbox_append_req *req, uint64_t *size_r,
                       uint64_t *vsize_r)
{
	char buf[65536], prev = '\0';
	off_t off = 0;

	*size_r = *vsize_r = 0;
	if (req->data != NULL) {
		*size_r = req->len;
		*vsize_r = mbox_vsize_add(req->data, req->len, &prev);
		return fd_write_all(fd, req->data, req->len);
	}
	for (;;) {
		ssize_t n = pread(req->fd, buf, sizeof(buf), off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		if (n == 0)
			return 0;
		if (fd_write_all(fd, buf, (size_t)n) < 0)
			return -1;
		*vsize_r += mbox_vsize_add(buf, (size_t)n, &prev);
		*size_r += (uint64_t)n;
		off += n;
	}
}

int mbox_tmp_write(struct mbox *mb, const char *base, const struct mbox_append_req *req,
                   uint64_t *size_r, uint64_t *vsize_r)
{
	int fd =
	    openat(mb->tmp_fd, base, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	struct timespec times[2];
	int err;

	if (fd < 0)
		return mbox_fail(mb, "%s/tmp/%s: %s", mb->path, base, strerror(errno));
	times[0].tv_sec = times[1].tv_sec = req->internaldate != 0 ? req->internaldate : time(NULL);
	times[0].tv_nsec = times[1].tv_nsec = 0;
	/* The mtime is the INTERNALDATE (as Dovecot keeps it), set before the fsync so that it
	   is durable with the data. */
	if (append_copy(fd, req, size_r, vsize_r) < 0 || futimens(fd, times) < 0 || fsync(fd) < 0) {
		err = errno;
		(void)close(fd);
		(void)unlinkat(mb->tmp_fd, base, 0);
		return mbox_fail(mb, "%s/tmp/%s: %s", mb->path, base, strerror(err));
	}
	if (close(fd) < 0) {
		err = errno;
		(void)unlinkat(mb->tmp_fd, base, 0);
		return mbox_fail(mb, "%s/tmp/%s: %s", mb->path, base, strerror(err));
	}
	return 0;
}

int mbox_publish(struct mbox *mb, int from_fd, const char *from, const char *name)
{
	if (renameat2(from_fd, from, mb->cur_fd, name, RENAME_NOREPLACE) == 0)
		return 0;
	/* File systems without RENAME_NOREPLACE: the name is unique, rename is safe. */
	if (errno == EINVAL && renameat(from_fd, from, mb->cur_fd, name) == 0)
		return 0;
	return mbox_fail(mb, "%s/cur/%s: %s", mb->path, name, strerror(errno));
}

int mbox_final_name(struct mbox *mb, const char *base, uint64_t size, uint64_t vsize, uint8_t flags,
                    uint32_t keywords, char *name, size_t name_size)
{
	char letters[64];

	if (mbox_flags_letters(flags, keywords, NULL, letters, sizeof(letters)) < 0 ||
	    maildir_name_final(base, size, vsize, letters, name, name_size) < 0)
		return mbox_fail(mb, "%s: message file name too long", mb->path);
	return 0;
}

static int append_store(struct mbox *mb, const struct mbox_append_req *req, const char *base,
                        struct mbox_new *n)
{
	char name[MAILDIR_NAME_MAX];
	int err;

	if (mbox_tmp_write(mb, base, req, &n->size, &n->vsize) < 0)
		return -1;
	if (mbox_final_name(mb, base, n->size, n->vsize, n->flags, n->keywords, name,
	                    sizeof(name)) < 0 ||
	    mbox_publish(mb, mb->tmp_fd, base, name) < 0) {
		(void)unlinkat(mb->tmp_fd, base, 0);
		return -1;
	}
	if (fsync(mb->cur_fd) < 0) {
		err = errno;
		(void)unlinkat(mb->cur_fd, name, 0);
		return mbox_fail(mb, "%s/cur: fsync: %s", mb->path, strerror(err));
	}
	n->name = strdup(name);
	if (n->name == NULL) {
		(void)unlinkat(mb->cur_fd, name, 0);
		return mbox_fail(mb, "out of memory");
	}
	return 0;
}

static int append_size(struct mbox *mb, const struct mbox_append_req *req, uint64_t *size_r)
{
	struct stat st;

	if (req->data != NULL) {
		*size_r = req->len;
		return 0;
	}
	if (fstat(req->fd, &st) < 0 || !S_ISREG(st.st_mode))
		return mbox_fail(mb, "append: the message is not a readable regular file");
	*size_r = (uint64_t)st.st_size;
	return 0;
}

/* The file in cur/ with its UID: n->name set, or -1 with nothing left behind. */
static int append_new(struct mbox *mb, const struct mbox_append_req *req, const char *base,
                      struct mbox_new *n)
{
	if (append_store(mb, req, base, n) < 0)
		return -1;
	mbox_quota_record(mb, (int64_t)n->size, 1);
	if (mbox_assign(mb, n, 1) < 0) {
		/* Not acknowledged, so not kept: the client will try again. */
		(void)unlinkat(mb->cur_fd, n->name, 0);
		mbox_quota_record(mb, -(int64_t)n->size, -1);
		free(n->name);
		n->name = NULL;
		return -1;
	}
	return 0;
}

int mbox_append(struct mbox *mb, const struct mbox_append_req *req, uint32_t *uid_r)
{
	char base[MAILDIR_NAME_MAX];
	struct mbox_own own;
	struct mbox_new n;
	uint64_t size;
	int ret;

	memset(&n, 0, sizeof(n));
	*uid_r = 0;
	if (mbox_resume(mb) < 0)
		return -1;
	if (append_size(mb, req, &size) < 0)
		return -1;
	ret = mbox_quota_fits(mb, req->quota, req->policy, &size, 1);
	if (ret <= 0)
		return ret < 0 ? -1 : MBOX_OVER_QUOTA;
	if (maildir_name_unique(base, sizeof(base)) < 0)
		return mbox_fail(mb, "cannot make a unique file name");
	n.flags = req->flags & MBOX_FLAGS_ALL;
	n.keywords = req->keywords & MBOX_KEYWORDS_ALL;
	n.internaldate = req->internaldate != 0 ? req->internaldate : time(NULL);
	mbox_own_begin(mb, &own);
	ret = append_new(mb, req, base, &n);
	mbox_own_end(mb, &own);
	if (ret < 0)
		return -1;
	*uid_r = n.uid;
	/* The next sync adds it without reading cur/ (when nothing else changed there). */
	if (mbox_own_add(mb, &n) < 0) {
		free(n.name);
		mb->scanned = false; /* then the next sync reads cur/ and finds it */
	}
	return 0;
}
