#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../core/fileio.h"
#include "../core/strutil.h"
#include "maildir_create.h"

static const char *const maildir_folders[] = { "Sent", "Drafts", "Trash", "Junk" };
static const char *const maildir_subdirs[] = { "cur", "new", "tmp" };

static int maildir_mkdir_p(const char *path)
{
	char tmp[PATH_MAX];

	if (str_copy(tmp, sizeof(tmp), path) < 0) {
		errno = ENAMETOOLONG;
		return -1;
	}
	for (char *p = tmp + 1; *p != '\0'; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(tmp, 0700) < 0 && errno != EEXIST)
			return -1;
		*p = '/';
	}
	if (mkdir(tmp, 0700) < 0 && errno != EEXIST)
		return -1;
	return 0;
}

/* cur/new/tmp below dir, then dir itself made durable. */
static int maildir_make_box(const char *dir)
{
	char sub[PATH_MAX];

	if (maildir_mkdir_p(dir) < 0)
		return -1;
	for (size_t i = 0; i < 3; i++) {
		if (str_printf(sub, sizeof(sub), "%s/%s", dir, maildir_subdirs[i]) < 0) {
			errno = ENAMETOOLONG;
			return -1;
		}
		if (mkdir(sub, 0700) < 0 && errno != EEXIST)
			return -1;
	}
	return fsync_dir(dir);
}

static int maildir_write_file(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	size_t len = strlen(text);

	if (fd < 0)
		return errno == EEXIST ? 0 : -1;
	if (write(fd, text, len) != (ssize_t)len || fsync(fd) < 0) {
		close(fd);
		return -1;
	}
	return close(fd);
}

static int maildir_make_folders(const char *path)
{
	char dir[PATH_MAX], file[PATH_MAX], subs[128] = "";

	for (size_t i = 0; i < sizeof(maildir_folders) / sizeof(maildir_folders[0]); i++) {
		if (str_printf(dir, sizeof(dir), "%s/.%s", path, maildir_folders[i]) < 0 ||
		    str_printf(file, sizeof(file), "%s/maildirfolder", dir) < 0) {
			errno = ENAMETOOLONG;
			return -1;
		}
		if (maildir_make_box(dir) < 0 || maildir_write_file(file, "") < 0)
			return -1;
		snprintf(subs + strlen(subs), sizeof(subs) - strlen(subs), "%s\n",
			 maildir_folders[i]);
	}
	if (str_printf(file, sizeof(file), "%s/subscriptions", path) < 0) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return maildir_write_file(file, subs);
}

int maildir_create(const char *path, const char **error_r)
{
	char parent[PATH_MAX];
	char *slash;

	if (maildir_make_box(path) < 0 || maildir_make_folders(path) < 0 ||
	    fsync_dir(path) < 0) {
		*error_r = strerror(errno);
		return -1;
	}
	/* The new entry in the bucket directory must be durable too. */
	if (str_copy(parent, sizeof(parent), path) == 0 && (slash = strrchr(parent, '/')) != NULL) {
		*slash = '\0';
		(void)fsync_dir(parent);
	}
	return 0;
}

int maildir_move_aside(const char *path, const char *removed_dir, const char *domain,
		       const char *local, char *moved_to_r, size_t size, const char **error_r)
{
	char dir[PATH_MAX], stamp[32];
	struct stat st;
	time_t now = time(NULL);
	struct tm tm;

	moved_to_r[0] = '\0';
	if (lstat(path, &st) < 0 && errno == ENOENT)
		return 0;
	gmtime_r(&now, &tm);
	strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%S", &tm);
	if (str_printf(dir, sizeof(dir), "%s/%s", removed_dir, domain) < 0 ||
	    str_printf(moved_to_r, size, "%s/%s-%s", dir, local, stamp) < 0) {
		*error_r = "path too long";
		return -1;
	}
	if (maildir_mkdir_p(dir) < 0 || rename(path, moved_to_r) < 0) {
		*error_r = errno == EXDEV ? "the removed directory is on another file system than "
					    "mail_root; move the Maildir by hand"
					  : strerror(errno);
		moved_to_r[0] = '\0';
		return -1;
	}
	(void)fsync_dir(dir);
	return 0;
}
