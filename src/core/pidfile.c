#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "pidfile.h"

int pidfile_write(int fd)
{
	char buf[32];
	int len = snprintf(buf, sizeof(buf), "%ld\n", (long)getpid());

	if (ftruncate(fd, 0) < 0 || pwrite(fd, buf, (size_t)len, 0) != len)
		return -1;
	return 0;
}

static pid_t pidfile_read(int fd)
{
	char buf[32] = { 0 };
	ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);

	if (n <= 0)
		return 0;
	return (pid_t)strtol(buf, NULL, 10);
}

int pidfile_acquire(const char *path, pid_t *other_r)
{
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);

	*other_r = 0;
	if (fd < 0)
		return -1;
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		int saved = errno;

		*other_r = pidfile_read(fd);
		close(fd);
		errno = saved;
		return -1;
	}
	if (pidfile_write(fd) < 0) {
		int saved = errno;

		close(fd);
		errno = saved;
		return -1;
	}
	return fd;
}

void pidfile_release(int fd, const char *path)
{
	if (fd < 0)
		return;
	unlink(path);
	close(fd);
}
