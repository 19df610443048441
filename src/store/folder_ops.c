/* CREATE, DELETE, RENAME on a Maildir++; subscriptions are in folder_subs.c. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
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
#include "folder_ops.h"
#include "folder_ops_int.h"

#ifndef RENAME_NOREPLACE
#define RENAME_NOREPLACE (1 << 0)
#endif

#define FOLDER_HIDDEN_NEW "..maild-new."
#define FOLDER_HIDDEN_DELETED "..maild-deleted."
/* Seconds after which an unfinished CREATE is a crash's leftover, not one under way. */
#define FOLDER_PURGE_NEW_AGE 60
#define FOLDER_REMOVE_DEPTH 16
#define FOLDER_KEYWORDS_MAX (64 * 1024)

static const char *const folder_subdirs[] = {"cur", "new", "tmp"};

enum folder_op_error folder_op_io(const char **error_r)
{
	*error_r = strerror(errno);
	return FOLDER_OP_IO;
}

int folder_open_root(const char *root)
{
	return open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
}

/* A name in the root no folder can have ("..": an empty first level), unique per call. */
static void folder_hidden_name(const char *prefix, char *out, size_t size)
{
	static unsigned int counter;

	if (str_printf(out, size, "%s%lld.%ld.%u", prefix, (long long)time(NULL), (long)getpid(),
	               counter++) < 0)
		fatal("hidden folder name does not fit");
}

/* Rename without replacing an existing target; file systems without renameat2's flag get
   plain renameat, which still never replaces a folder (it has cur/ new/ tmp/, so it is
   not empty). */
static int folder_rename_noreplace(int from_fd, const char *from, int to_fd, const char *to)
{
	struct stat st;

	if (renameat2(from_fd, from, to_fd, to, RENAME_NOREPLACE) == 0)
		return 0;
	if (errno != EINVAL && errno != ENOSYS)
		return -1;
	if (fstatat(to_fd, to, &st, AT_SYMLINK_NOFOLLOW) == 0) {
		errno = EEXIST;
		return -1;
	}
	if (renameat(from_fd, from, to_fd, to) == 0)
		return 0;
	if (errno == ENOTEMPTY)
		errno = EEXIST;
	return -1;
}

/* Remove name below parent and everything in it, never following a symlink. */
static int folder_remove_tree(int parent, const char *name, int depth)
{
	int fd = openat(parent, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	struct dirent *de;
	int ret = 0;
	DIR *d;

	if (fd < 0)
		return errno == ENOENT ? 0 : -1;
	d = fdopendir(fd);
	if (d == NULL) {
		(void)close(fd);
		return -1;
	}
	while (ret == 0 && (errno = 0, de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if (unlinkat(dirfd(d), de->d_name, 0) == 0 || errno == ENOENT)
			continue;
		if ((errno != EISDIR && errno != EPERM) || depth >= FOLDER_REMOVE_DEPTH ||
		    folder_remove_tree(dirfd(d), de->d_name, depth + 1) < 0)
			ret = -1;
	}
	if (ret == 0 && errno != 0)
		ret = -1;
	(void)closedir(d);
	if (ret == 0 && unlinkat(parent, name, AT_REMOVEDIR) < 0 && errno != ENOENT)
		ret = -1;
	return ret;
}

/* The quota scan counts every folder but .Trash, from names or stat: after a change it
   cannot follow by deltas, maildirsize goes and the next look-up rebuilds it. */
static void folder_quota_invalidate(int root_fd)
{
	(void)unlinkat(root_fd, "maildirsize", 0);
}

/* ----- CREATE ----- */

static int folder_fill_box(int box_fd)
{
	int fd;

	for (size_t i = 0; i < 3; i++) {
		if (mkdirat(box_fd, folder_subdirs[i], 0700) < 0)
			return -1;
	}
	fd = openat(box_fd, "maildirfolder", O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0 || close(fd) < 0)
		return -1;
	return fsync(box_fd);
}

/* cur/ new/ tmp/ maildirfolder in a hidden directory, then renamed to dir. */
static enum folder_op_error folder_make(int root_fd, const char *dir, const char **error_r)
{
	char tmp[64];
	int fd, err;

	folder_hidden_name(FOLDER_HIDDEN_NEW, tmp, sizeof(tmp));
	if (mkdirat(root_fd, tmp, 0700) < 0)
		return folder_op_io(error_r);
	fd = openat(root_fd, tmp, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0 || folder_fill_box(fd) < 0 ||
	    folder_rename_noreplace(root_fd, tmp, root_fd, dir) < 0) {
		err = errno;
		if (fd >= 0)
			(void)close(fd);
		(void)folder_remove_tree(root_fd, tmp, 0);
		errno = err;
		if (err == EEXIST) {
			*error_r = "mailbox already exists";
			return FOLDER_OP_EXISTS;
		}
		return folder_op_io(error_r);
	}
	(void)close(fd);
	if (fsync(root_fd) < 0)
		return folder_op_io(error_r);
	return FOLDER_OP_OK;
}

enum folder_op_error folder_create(const char *root, const char *name, const char **error_r)
{
	struct folder_name fn;
	enum folder_name_error nerr;
	enum folder_op_error ret;
	size_t len = strlen(name);
	int root_fd;

	/* RFC 3501 6.3.3: a trailing separator only declares the intent to create children. */
	if (len > 1 && name[len - 1] == FOLDER_SEP)
		len--;
	nerr = folder_name_from_utf8(name, len, &fn);
	if (nerr != FOLDER_NAME_OK) {
		*error_r = folder_name_strerror(nerr);
		return FOLDER_OP_BAD_NAME;
	}
	if (folder_name_is_inbox(&fn)) {
		*error_r = "INBOX already exists";
		return FOLDER_OP_EXISTS;
	}
	root_fd = folder_open_root(root);
	if (root_fd < 0)
		return folder_op_io(error_r);
	ret = folder_make(root_fd, fn.dir, error_r);
	(void)close(root_fd);
	return ret;
}

/* ----- DELETE ----- */

enum folder_op_error folder_delete(const char *root, const char *name, const char **error_r)
{
	struct folder_name fn;
	enum folder_name_error nerr;
	char hidden[64];
	struct stat st;
	int root_fd;

	nerr = folder_name_from_utf8(name, strlen(name), &fn);
	if (nerr != FOLDER_NAME_OK) {
		*error_r = folder_name_strerror(nerr);
		return FOLDER_OP_BAD_NAME;
	}
	if (folder_name_is_inbox(&fn)) {
		*error_r = "INBOX cannot be deleted";
		return FOLDER_OP_INBOX;
	}
	root_fd = folder_open_root(root);
	if (root_fd < 0)
		return folder_op_io(error_r);
	/* RFC 3501 6.3.4: a name that is only a parent (\Noselect) cannot be deleted. */
	if (fstatat(root_fd, fn.dir, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISDIR(st.st_mode)) {
		(void)close(root_fd);
		*error_r = "mailbox does not exist";
		return FOLDER_OP_NONEXISTENT;
	}
	folder_hidden_name(FOLDER_HIDDEN_DELETED, hidden, sizeof(hidden));
	if (renameat(root_fd, fn.dir, root_fd, hidden) < 0 || fsync(root_fd) < 0) {
		enum folder_op_error ret = folder_op_io(error_r);

		(void)close(root_fd);
		return ret;
	}
	/* The folder is gone for every reader now; what is left is only disk space. */
	(void)folder_remove_tree(root_fd, hidden, 0);
	folder_quota_invalidate(root_fd);
	(void)close(root_fd);
	return FOLDER_OP_OK;
}

int folder_purge_deleted(const char *root, const char **error_r)
{
	struct dirent *de;
	int ret = 0;
	DIR *d = opendir(root);

	if (d == NULL) {
		*error_r = strerror(errno);
		return -1;
	}
	while ((errno = 0, de = readdir(d)) != NULL) {
		bool deleted = strncmp(de->d_name, FOLDER_HIDDEN_DELETED,
		                       strlen(FOLDER_HIDDEN_DELETED)) == 0;
		bool created = strncmp(de->d_name, FOLDER_HIDDEN_NEW, strlen(FOLDER_HIDDEN_NEW)) == 0;
		struct stat st;

		if (!deleted && !created)
			continue;
		/* A CREATE in another session may be filling this one right now; one that a crash
		   interrupted is old by the next purge. */
		if (created && (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
		                st.st_mtime + FOLDER_PURGE_NEW_AGE > time(NULL)))
			continue;
		/* Two sessions may purge at once: what the other removed is gone either way. */
		if (folder_remove_tree(dirfd(d), de->d_name, 0) < 0 && errno != ENOENT) {
			*error_r = strerror(errno);
			ret = -1;
		}
	}
	if (ret == 0 && errno != 0) {
		*error_r = strerror(errno);
		ret = -1;
	}
	(void)closedir(d);
	return ret;
}

/* ----- RENAME INBOX ----- */

/* dovecot-keywords maps the letters a-z in file names to keywords, per folder. */
static int folder_copy_keywords(int root_fd, const char *dir)
{
	char buf[FOLDER_KEYWORDS_MAX], path[FOLDER_DIR_MAX + 64], tmp[FOLDER_DIR_MAX + 64];
	ssize_t n;
	int in, out;

	in = openat(root_fd, "dovecot-keywords", O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (in < 0)
		return errno == ENOENT ? 0 : -1;
	n = read(in, buf, sizeof(buf));
	(void)close(in);
	if (n < 0)
		return -1;
	if (str_printf(path, sizeof(path), "%s/dovecot-keywords", dir) < 0 ||
	    str_printf(tmp, sizeof(tmp), "%s/tmp/dovecot-keywords.maild", dir) < 0) {
		errno = ENAMETOOLONG;
		return -1;
	}
	out = openat(root_fd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (out < 0)
		return -1;
	if (write(out, buf, (size_t)n) != n || fsync(out) < 0) {
		(void)close(out);
		(void)unlinkat(root_fd, tmp, 0);
		return -1;
	}
	(void)close(out);
	return renameat(root_fd, tmp, root_fd, path);
}

/* Every message file of INBOX's sub/ into dir/sub/, one atomic rename each. */
static int folder_move_messages(int root_fd, const char *dir, const char *sub)
{
	char dst_path[FOLDER_DIR_MAX + 8];
	struct dirent *de;
	int src_fd, dst_fd, ret = 0;
	DIR *d;

	if (str_printf(dst_path, sizeof(dst_path), "%s/%s", dir, sub) < 0)
		return -1;
	src_fd = openat(root_fd, sub, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	if (src_fd < 0)
		return errno == ENOENT ? 0 : -1;
	dst_fd = openat(root_fd, dst_path, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	d = fdopendir(src_fd);
	if (dst_fd < 0 || d == NULL) {
		if (d == NULL)
			(void)close(src_fd);
		else
			(void)closedir(d);
		if (dst_fd >= 0)
			(void)close(dst_fd);
		return -1;
	}
	while (ret == 0 && (errno = 0, de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.' || de->d_type == DT_DIR)
			continue;
		/* ENOENT: another session expunged or moved it meanwhile. */
		if (renameat(dirfd(d), de->d_name, dst_fd, de->d_name) < 0 && errno != ENOENT)
			ret = -1;
	}
	if (ret == 0 && (errno != 0 || fsync(dst_fd) < 0 || fsync(dirfd(d)) < 0))
		ret = -1;
	(void)closedir(d);
	(void)close(dst_fd);
	return ret;
}

/* RFC 3501 6.3.5: INBOX's messages go to a new folder, INBOX stays, empty; its children
   are not touched. Mail delivered while this runs may stay in INBOX, which is fine. */
static enum folder_op_error folder_rename_inbox(int root_fd, const struct folder_name *to,
                                                const char **error_r)
{
	enum folder_op_error ret = folder_make(root_fd, to->dir, error_r);

	if (ret != FOLDER_OP_OK)
		return ret;
	if (folder_copy_keywords(root_fd, to->dir) < 0 ||
	    folder_move_messages(root_fd, to->dir, "new") < 0 ||
	    folder_move_messages(root_fd, to->dir, "cur") < 0)
		return folder_op_io(error_r);
	if (strcmp(to->name, "Trash") == 0)
		folder_quota_invalidate(root_fd);
	return FOLDER_OP_OK;
}

/* ----- RENAME ----- */

struct folder_move {
	char from[FOLDER_DIR_MAX + 1];
	struct folder_name to;
};

/* The existing folders at and below from, each with its target below to, all checked. */
static enum folder_op_error folder_plan_moves(const char *root, const struct folder_name *from,
                                              const struct folder_name *to, int root_fd,
                                              struct folder_move **moves_r, size_t *count_r,
                                              const char **error_r)
{
	struct folder_list *fl;
	struct folder_info info;
	struct folder_move *moves;
	size_t n = 0, flen = strlen(from->name);
	char target[FOLDER_NAME_MAX * 2 + 1];
	enum folder_name_error nerr;
	struct stat st;

	if (folder_list_scan(root, &fl, error_r) < 0)
		return FOLDER_OP_IO;
	moves = calloc(folder_list_count(fl), sizeof(*moves));
	if (moves == NULL)
		fatal("out of memory");
	for (size_t i = 0; i < folder_list_count(fl); i++) {
		folder_list_get(fl, i, &info);
		if (info.dir == NULL || info.dir[0] == '\0' ||
		    !folder_name_is_under(info.name, from->name))
			continue;
		if (str_printf(target, sizeof(target), "%s%s", to->name, info.name + flen) < 0)
			nerr = FOLDER_NAME_TOO_LONG;
		else
			nerr = folder_name_from_utf8(target, strlen(target), &moves[n].to);
		if (nerr != FOLDER_NAME_OK) {
			*error_r = folder_name_strerror(nerr);
			free(moves);
			folder_list_free(&fl);
			return FOLDER_OP_BAD_NAME;
		}
		if (fstatat(root_fd, moves[n].to.dir, &st, AT_SYMLINK_NOFOLLOW) == 0) {
			*error_r = "a mailbox with the new name already exists";
			free(moves);
			folder_list_free(&fl);
			return FOLDER_OP_EXISTS;
		}
		(void)str_copy(moves[n].from, sizeof(moves[n].from), info.dir);
		n++;
	}
	folder_list_free(&fl);
	if (n == 0) {
		free(moves);
		*error_r = "mailbox does not exist";
		return FOLDER_OP_NONEXISTENT;
	}
	*moves_r = moves;
	*count_r = n;
	return FOLDER_OP_OK;
}

static enum folder_op_error folder_rename_tree(const char *root, int root_fd,
                                               const struct folder_name *from,
                                               const struct folder_name *to, const char **error_r)
{
	struct folder_move *moves;
	enum folder_op_error ret;
	size_t count;

	ret = folder_plan_moves(root, from, to, root_fd, &moves, &count, error_r);
	if (ret != FOLDER_OP_OK)
		return ret;
	for (size_t i = 0; i < count && ret == FOLDER_OP_OK; i++) {
		if (folder_rename_noreplace(root_fd, moves[i].from, root_fd, moves[i].to.dir) == 0)
			continue;
		if (errno == EEXIST) {
			*error_r = "a mailbox with the new name already exists";
			ret = FOLDER_OP_EXISTS;
		} else {
			ret = folder_op_io(error_r);
		}
	}
	free(moves);
	if (fsync(root_fd) < 0 && ret == FOLDER_OP_OK)
		ret = folder_op_io(error_r);
	if (strcmp(from->name, "Trash") == 0 || strcmp(to->name, "Trash") == 0)
		folder_quota_invalidate(root_fd);
	return ret;
}

static enum folder_op_error folder_rename_check(const char *from, const char *to,
                                                struct folder_name *fn, struct folder_name *tn,
                                                const char **error_r)
{
	enum folder_name_error nerr;

	nerr = folder_name_from_utf8(from, strlen(from), fn);
	if (nerr == FOLDER_NAME_OK)
		nerr = folder_name_from_utf8(to, strlen(to), tn);
	if (nerr != FOLDER_NAME_OK) {
		*error_r = folder_name_strerror(nerr);
		return FOLDER_OP_BAD_NAME;
	}
	if (folder_name_is_inbox(tn) || strcmp(fn->name, tn->name) == 0) {
		*error_r = "a mailbox with the new name already exists";
		return FOLDER_OP_EXISTS;
	}
	if (!folder_name_is_inbox(fn) && folder_name_is_under(tn->name, fn->name)) {
		*error_r = "cannot rename a mailbox below itself";
		return FOLDER_OP_INTO_ITSELF;
	}
	return FOLDER_OP_OK;
}

enum folder_op_error folder_rename(const char *root, const char *from, const char *to,
                                   const char **error_r)
{
	struct folder_name fn, tn;
	enum folder_op_error ret;
	int root_fd;

	ret = folder_rename_check(from, to, &fn, &tn, error_r);
	if (ret != FOLDER_OP_OK)
		return ret;
	root_fd = folder_open_root(root);
	if (root_fd < 0)
		return folder_op_io(error_r);
	if (folder_name_is_inbox(&fn)) {
		ret = folder_rename_inbox(root_fd, &tn, error_r);
	} else {
		ret = folder_rename_tree(root, root_fd, &fn, &tn, error_r);
		/* Subscriptions follow; the folders moved whatever happens to them. */
		if (ret == FOLDER_OP_OK) {
			const char *ignored;

			(void)folder_subs_rename(root, root_fd, fn.name, tn.name, &ignored);
		}
	}
	(void)close(root_fd);
	return ret;
}
