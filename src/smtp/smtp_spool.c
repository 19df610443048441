/* Spool files for message text, reused (see smtp_spool.h). */
#include <fcntl.h>
#include <unistd.h>

#include "smtp_spool.h"

int smtp_spool_take(struct smtp_spool_pool *pool, const char *dir)
{
	if (pool->count > 0)
		return pool->fds[--pool->count];
	return open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
}

void smtp_spool_give_back(struct smtp_spool_pool *pool, int fd)
{
	if (fd < 0)
		return;
	/* The next message is written with write(): from offset 0, or a stale tail of this one
	   would follow it. */
	if (pool->count == SMTP_SPOOL_POOL_MAX || ftruncate(fd, 0) < 0 ||
	    lseek(fd, 0, SEEK_SET) != 0) {
		(void)close(fd);
		return;
	}
	pool->fds[pool->count++] = fd;
}
