/* SUBSCRIBE, UNSUBSCRIBE and RENAME's share of the Maildir++ subscriptions file. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../core/log.h"
#include "../core/strutil.h"
#include "folder_list.h"
#include "folder_name.h"
#include "folder_ops_int.h"

#define FOLDER_SUBS_LOCK FOLDER_SUBS_FILE ".lock"
#define FOLDER_SUBS_LOCK_STALE_SECS 30 /* as Dovecot's subscription lock */
#define FOLDER_SUBS_LOCK_SLEEP_MS 10

enum folder_subs_op { SUBS_ADD, SUBS_REMOVE, SUBS_RENAME };

struct folder_subs_edit {
	enum folder_subs_op op;
	const struct folder_name *name; /* canonical; for SUBS_RENAME the old prefix */
	const char *to;                 /* SUBS_RENAME: the new prefix */
};

struct folder_subs_buf {
	char *p;
	size_t len, alloc;
};

static void folder_subs_put(struct folder_subs_buf *b, const char *s, size_t n)
{
	if (b->len + n + 1 > b->alloc) {
		b->alloc = (b->len + n + 1) * 2;
		b->p = realloc(b->p, b->alloc);
		if (b->p == NULL)
			fatal("out of memory");
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

static void folder_subs_put_name(struct folder_subs_buf *b, const struct folder_name *fn, bool v2)
{
	char line[FOLDER_DIR_MAX + 1];

	if (folder_name_to_subs_line(fn, v2, line, sizeof(line)) < 0)
		fatal("subscription line does not fit");
	folder_subs_put(b, line, strlen(line));
	folder_subs_put(b, "\n", 1);
}

/* A renamed subscription's new line; false when the new name is not valid (kept as is). */
static bool folder_subs_put_renamed(struct folder_subs_buf *b, const struct folder_name *fn,
                                    const struct folder_subs_edit *e, bool v2)
{
	char target[FOLDER_NAME_MAX * 2 + 1];
	struct folder_name tn;

	if (str_printf(target, sizeof(target), "%s%s", e->to, fn->name + strlen(e->name->name)) <
	        0 ||
	    folder_name_from_utf8(target, strlen(target), &tn) != FOLDER_NAME_OK)
		return false;
	folder_subs_put_name(b, &tn, v2);
	return true;
}

/* The file's text with the edit applied to out; whether anything changed. Lines we do not
   understand stay as they are. */
static bool folder_subs_apply(const char *text, size_t len, bool v2,
                              const struct folder_subs_edit *e, struct folder_subs_buf *out)
{
	const char *p = text, *end = text + len, *nl;
	bool found = false, changed = false;
	struct folder_name fn;

	if (v2) {
		folder_subs_put(out, FOLDER_SUBS_V2_HEADER, strlen(FOLDER_SUBS_V2_HEADER));
		p += strlen(FOLDER_SUBS_V2_HEADER);
	}
	for (; p < end; p = nl + 1) {
		bool ours;

		nl = memchr(p, '\n', (size_t)(end - p));
		if (nl == NULL)
			nl = end;
		ours = folder_name_from_subs_line(p, (size_t)(nl - p), v2, &fn) == FOLDER_NAME_OK;
		if (ours && e->op == SUBS_ADD && strcmp(fn.name, e->name->name) == 0)
			found = true;
		if (ours && e->op == SUBS_REMOVE && strcmp(fn.name, e->name->name) == 0) {
			changed = true;
			continue;
		}
		if (ours && e->op == SUBS_RENAME && folder_name_is_under(fn.name, e->name->name) &&
		    folder_subs_put_renamed(out, &fn, e, v2)) {
			changed = true;
			continue;
		}
		folder_subs_put(out, p, (size_t)(nl - p));
		folder_subs_put(out, "\n", 1);
	}
	if (e->op == SUBS_ADD && !found) {
		folder_subs_put_name(out, e->name, v2);
		changed = true;
	}
	return changed;
}

static long folder_elapsed_ms(const struct timespec *start)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (now.tv_sec - start->tv_sec) * 1000 + (now.tv_nsec - start->tv_nsec) / 1000000;
}

/* Dovecot's dotlock: subscriptions.lock created exclusively is the lock and the new file. */
static enum folder_op_error folder_subs_lock(int root_fd, int *fd_r, const char **error_r)
{
	const struct timespec pause = {0, FOLDER_SUBS_LOCK_SLEEP_MS * 1000000L};
	struct timespec start;
	struct stat st;
	int fd;

	clock_gettime(CLOCK_MONOTONIC, &start);
	for (;;) {
		fd = openat(root_fd, FOLDER_SUBS_LOCK,
		            O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
		if (fd >= 0) {
			*fd_r = fd;
			return FOLDER_OP_OK;
		}
		if (errno != EEXIST)
			return folder_op_io(error_r);
		if (fstatat(root_fd, FOLDER_SUBS_LOCK, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
		    time(NULL) - st.st_mtime > FOLDER_SUBS_LOCK_STALE_SECS) {
			(void)unlinkat(root_fd, FOLDER_SUBS_LOCK, 0);
			continue;
		}
		if (folder_elapsed_ms(&start) >= FOLDER_SUBS_LOCK_WAIT_MS) {
			*error_r = "subscriptions are being changed by another session; try again";
			return FOLDER_OP_LOCKED;
		}
		(void)nanosleep(&pause, NULL);
	}
}

static int folder_write_all(int fd, const char *p, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static enum folder_op_error folder_subs_edit(const char *root, int root_fd,
                                             const struct folder_subs_edit *e, const char **error_r)
{
	struct folder_subs_buf out = {0};
	enum folder_op_error ret;
	char *text = NULL;
	size_t len;
	bool v2;
	int fd = -1;

	ret = folder_subs_lock(root_fd, &fd, error_r);
	if (ret != FOLDER_OP_OK)
		return ret;
	if (folder_subs_load(root, &text, &len, &v2, error_r) < 0) {
		ret = FOLDER_OP_IO;
	} else if (!folder_subs_apply(text, len, v2, e, &out)) {
		ret = FOLDER_OP_OK;
	} else if (folder_write_all(fd, out.p, out.len) < 0 || fsync(fd) < 0 ||
	           renameat(root_fd, FOLDER_SUBS_LOCK, root_fd, FOLDER_SUBS_FILE) < 0 ||
	           fsync(root_fd) < 0) {
		ret = folder_op_io(error_r);
	} else {
		(void)close(fd);
		fd = -1;
	}
	if (fd >= 0) {
		(void)close(fd);
		(void)unlinkat(root_fd, FOLDER_SUBS_LOCK, 0);
	}
	free(out.p);
	free(text);
	return ret;
}

enum folder_op_error folder_subscribe(const char *root, const char *name, bool subscribe,
                                      const char **error_r)
{
	struct folder_subs_edit e = {subscribe ? SUBS_ADD : SUBS_REMOVE, NULL, NULL};
	enum folder_name_error nerr;
	enum folder_op_error ret;
	struct folder_name fn;
	int root_fd;

	nerr = folder_name_from_utf8(name, strlen(name), &fn);
	if (nerr != FOLDER_NAME_OK) {
		*error_r = folder_name_strerror(nerr);
		return FOLDER_OP_BAD_NAME;
	}
	e.name = &fn;
	root_fd = folder_open_root(root);
	if (root_fd < 0)
		return folder_op_io(error_r);
	ret = folder_subs_edit(root, root_fd, &e, error_r);
	(void)close(root_fd);
	return ret;
}

enum folder_op_error folder_subs_rename(const char *root, int root_fd, const char *from,
                                        const char *to, const char **error_r)
{
	struct folder_subs_edit e = {SUBS_RENAME, NULL, to};
	struct folder_name fn;

	if (folder_name_from_utf8(from, strlen(from), &fn) != FOLDER_NAME_OK)
		return FOLDER_OP_OK;
	e.name = &fn;
	return folder_subs_edit(root, root_fd, &e, error_r);
}
