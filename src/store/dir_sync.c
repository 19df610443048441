/* Group commit of directory fsyncs (see dir_sync.h). */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../core/log.h"
#include "dir_sync.h"

/* One caller, on its own stack, until the fsync of its batch has completed. */
struct dir_sync_waiter {
	struct dir_sync_waiter *next;
	bool done;
	int err;
};

struct dir_sync_dir {
	struct dir_sync_dir *next;
	dev_t dev;
	ino_t ino;
	unsigned int users;		/* callers inside dir_sync_wait() for it */
	bool syncing;			/* a leader's fsync is running */
	struct dir_sync_waiter *queue;	/* arrived after that fsync started: the next batch */
	pthread_cond_t synced;
};

static int dir_sync_real_fsync(int dir_fd)
{
	return fsync(dir_fd);
}

struct dir_sync *dir_sync_process(void)
{
	static struct dir_sync ds = DIR_SYNC_INIT(dir_sync_real_fsync);

	return &ds;
}

static struct dir_sync_dir *dir_sync_find(struct dir_sync *ds, const struct stat *st)
{
	for (struct dir_sync_dir *d = ds->dirs; d != NULL; d = d->next) {
		if (d->dev == st->st_dev && d->ino == st->st_ino)
			return d;
	}
	return NULL;
}

/* With ds->lock held. NULL when out of memory: the caller then syncs alone. */
static struct dir_sync_dir *dir_sync_get(struct dir_sync *ds, const struct stat *st)
{
	struct dir_sync_dir *d = dir_sync_find(ds, st);

	if (d == NULL) {
		d = calloc(1, sizeof(*d));
		if (d == NULL)
			return NULL;
		if (pthread_cond_init(&d->synced, NULL) != 0) {
			free(d);
			return NULL;
		}
		d->dev = st->st_dev;
		d->ino = st->st_ino;
		d->next = ds->dirs;
		ds->dirs = d;
	}
	d->users++;
	return d;
}

/* With ds->lock held: the last caller out frees the entry, so an idle process holds nothing. */
static void dir_sync_put(struct dir_sync *ds, struct dir_sync_dir *d)
{
	struct dir_sync_dir **p = &ds->dirs;

	if (--d->users > 0)
		return;
	while (*p != d)
		p = &(*p)->next;
	*p = d->next;
	(void)pthread_cond_destroy(&d->synced);
	free(d);
}

/* With ds->lock held, returned with it held. Everyone queued now renamed before the fsync
   below starts, so it covers them all; whoever queues while it runs waits for the next. */
static void dir_sync_lead(struct dir_sync *ds, struct dir_sync_dir *d, int dir_fd)
{
	struct dir_sync_waiter *batch = d->queue, *next;
	int err = 0;

	d->queue = NULL;
	d->syncing = true;
	ds->syncs++;
	(void)pthread_mutex_unlock(&ds->lock);
	if (ds->fsync_fn(dir_fd) < 0)
		err = errno != 0 ? errno : EIO;
	(void)pthread_mutex_lock(&ds->lock);
	/* A waiter may return as soon as it sees done: read next first. */
	for (struct dir_sync_waiter *w = batch; w != NULL; w = next) {
		next = w->next;
		w->err = err;
		w->done = true;
		ds->waits++;
	}
	d->syncing = false;
	(void)pthread_cond_broadcast(&d->synced);
}

int dir_sync_wait(struct dir_sync *ds, int dir_fd)
{
	struct dir_sync_waiter me = { NULL, false, 0 };
	struct dir_sync_dir *d;
	struct stat st;

	if (fstat(dir_fd, &st) < 0)
		return -1;
	if (pthread_mutex_lock(&ds->lock) != 0)
		fatal("dir_sync: mutex lock failed");
	d = dir_sync_get(ds, &st);
	if (d == NULL) {
		(void)pthread_mutex_unlock(&ds->lock);
		return ds->fsync_fn(dir_fd);
	}
	me.next = d->queue;
	d->queue = &me;
	/* Not done means still queued: the running fsync, if any, is not ours. */
	while (!me.done) {
		if (!d->syncing)
			dir_sync_lead(ds, d, dir_fd);
		else
			(void)pthread_cond_wait(&d->synced, &ds->lock);
	}
	dir_sync_put(ds, d);
	(void)pthread_mutex_unlock(&ds->lock);
	if (me.err != 0) {
		errno = me.err;
		return -1;
	}
	return 0;
}

size_t dir_sync_queued(struct dir_sync *ds, int dir_fd)
{
	struct dir_sync_dir *d;
	struct stat st;
	size_t n = 0;

	if (fstat(dir_fd, &st) < 0)
		return 0;
	(void)pthread_mutex_lock(&ds->lock);
	d = dir_sync_find(ds, &st);
	for (struct dir_sync_waiter *w = d != NULL ? d->queue : NULL; w != NULL; w = w->next)
		n++;
	(void)pthread_mutex_unlock(&ds->lock);
	return n;
}
