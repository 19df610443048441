#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "../core/fileio.h"
#include "../core/strutil.h"
#include "mbox_file.h"

/* To EOF, even when the file grew since fstat; never more than max bytes. */
static int mbox_read_fd(int fd, size_t max, char **buf_r, size_t *len_r, struct stat *st)
{
	size_t got = 0, cap;
	char *buf;

	if (fstat(fd, st) < 0)
		return -1;
	cap = (size_t)st->st_size + 4096;
	buf = malloc(cap);
	if (buf == NULL)
		return -1;
	for (;;) {
		ssize_t n;

		if (got + 1 == cap) {
			char *bigger = cap > max ? NULL : realloc(buf, cap * 2);

			if (bigger == NULL) {
				free(buf);
				errno = cap > max ? EFBIG : ENOMEM;
				return -1;
			}
			buf = bigger;
			cap *= 2;
		}
		n = read(fd, buf + got, cap - 1 - got);
		if (n == 0)
			break;
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int err = errno;

			free(buf);
			errno = err;
			return -1;
		}
		got += (size_t)n;
	}
	if (got > max) {
		free(buf);
		errno = EFBIG;
		return -1;
	}
	buf[got] = '\0';
	*buf_r = buf;
	*len_r = got;
	return 1;
}

int mbox_file_read(int dir_fd, const char *file, size_t max, char **buf_r, size_t *len_r,
                   struct stat *st_r)
{
	struct stat st;
	int fd = openat(dir_fd, file, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	int ret, err;

	if (fd < 0)
		return errno == ENOENT ? 0 : -1;
	ret = mbox_read_fd(fd, max, buf_r, len_r, &st);
	err = errno;
	(void)close(fd);
	errno = err;
	if (ret > 0 && st_r != NULL)
		*st_r = st;
	return ret;
}

int mbox_file_replace(int dir_fd, const char *file, const char *data, size_t len, struct stat *st_r)
{
	char tmp[NAME_MAX + 1];
	int fd, err;

	if (str_printf(tmp, sizeof(tmp), "%s.tmp", file) < 0) {
		errno = ENAMETOOLONG;
		return -1;
	}
	fd = openat(dir_fd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return -1;
	if (fd_write_all(fd, data, len) < 0 || fsync(fd) < 0 ||
	    (st_r != NULL && fstat(fd, st_r) < 0)) {
		err = errno;
		(void)close(fd);
		(void)unlinkat(dir_fd, tmp, 0);
		errno = err;
		return -1;
	}
	if (close(fd) < 0 || renameat(dir_fd, tmp, dir_fd, file) < 0) {
		err = errno;
		(void)unlinkat(dir_fd, tmp, 0);
		errno = err;
		return -1;
	}
	/* The rename is durable only once the directory is. */
	return fsync(dir_fd);
}
