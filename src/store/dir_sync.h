#ifndef MAILD_DIR_SYNC_H
#define MAILD_DIR_SYNC_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

/* Group commit of directory fsyncs: threads that have each created or renamed a name in the
   same directory share one fsync of it instead of issuing one each.

   dir_sync_wait(ds, dir_fd) returns only after an fsync of that directory that *started after
   the call* has completed: whatever the caller did to the directory before calling (rename,
   link) is then durable. A caller that arrives while an fsync is running cannot ride on it
   (that fsync may have missed its rename): it queues for the next one. When no fsync of the
   directory is running, the first queued caller becomes the leader: it takes the whole queue
   as its batch, fsyncs its own dir_fd (every fd of one directory names the same inode) and
   wakes the batch. The others sleep on a condition variable meanwhile, so N concurrent
   deliveries into one new/ cost about two fsyncs of it instead of N.

   Directories are told apart by st_dev and st_ino (fstat of dir_fd), so callers may open their
   own fds. An fsync error reaches every caller of its batch, never a later one (each must
   then undo its own change: RELIABILITY F23). Thread-safe; holds no fd of its own and no
   memory once no caller is inside. */

/* The fsync itself: 0, or -1 with errno. Tests inject their own. */
typedef int dir_sync_fsync_cb(int dir_fd);

struct dir_sync_dir;

struct dir_sync {
	pthread_mutex_t lock;
	dir_sync_fsync_cb *fsync_fn;
	/* Directories with a caller inside dir_sync_wait(): a short list, one per destination
	   being delivered to at this moment. */
	struct dir_sync_dir *dirs;
	/* For tests and diagnostics: fsyncs issued, and callers served by them. */
	uint64_t syncs;
	uint64_t waits;
};

#define DIR_SYNC_INIT(fn) { PTHREAD_MUTEX_INITIALIZER, (fn), NULL, 0, 0 }

/* The group every Maildir writer of this process shares, with the real fsync. */
struct dir_sync *dir_sync_process(void);

/* fsync dir_fd, or share an fsync of the same directory that starts after this call (see
   above). 0, or -1 with errno: that of the fsync (EIO, ENOSPC, ...) or of fstat(dir_fd). */
int dir_sync_wait(struct dir_sync *ds, int dir_fd);

/* Callers queued for the next fsync of dir_fd's directory (not those of a running one); 0 for a
   directory nobody waits on. For tests that need to know a caller is asleep. */
size_t dir_sync_queued(struct dir_sync *ds, int dir_fd);

#endif
