#ifndef MAILD_PIDFILE_H
#define MAILD_PIDFILE_H

#include <sys/types.h>

/* Create and lock path (flock, held until exit) and write our pid. Returns the fd, or -1:
   *other_r is the pid of a running maild holding it (0 for other errors, errno set). */
int pidfile_acquire(const char *path, pid_t *other_r);
/* Rewrite the pid after daemonising. */
int pidfile_write(int fd);
void pidfile_release(int fd, const char *path);

#endif
