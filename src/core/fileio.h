#ifndef MAILD_FILEIO_H
#define MAILD_FILEIO_H

#include <stddef.h>

/* The small file helpers every writer of durable files needs. */

/* Write all of p (retrying short writes and EINTR). 0, or -1 with errno. */
int fd_write_all(int fd, const void *p, size_t len);
/* fsync a directory, so the names created or renamed in it are durable. 0, or -1 with errno. */
int fsync_dir(const char *path);

#endif
