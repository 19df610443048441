#ifndef MAILD_SMTP_SPOOL_H
#define MAILD_SMTP_SPOOL_H

/* Spool files for message text: unlinked (O_TMPFILE) files in the spool directory, never
   fsynced (nothing is acknowledged from them, see smtp_session_data.c), and reused by the
   next transaction instead of being closed.

   Why reuse: every O_TMPFILE costs the file system an inode allocation and, at close, a
   deletion. On ext4 without a journal the allocator then skips every recently deleted inode
   of the group one by one, so at hundreds of messages per second the smtp worker's one loop
   spent most of its CPU there. An emptied file costs one ftruncate.

   A file may only come back (smtp_spool_give_back) once no other worker can read it any
   more: after the answers to every request that carried it. A request left without answer
   (the link died, the session went away) must close its file instead: the other side may
   still be reading it. */

/* Idle files kept per worker: one per transaction that ends while the others are under way;
   beyond this they are closed. */
#define SMTP_SPOOL_POOL_MAX 32

struct smtp_spool_pool {
	int fds[SMTP_SPOOL_POOL_MAX];
	unsigned int count;
};

/* An empty spool file positioned at offset 0: a kept one, or a new one in dir. The caller
   owns it. -1 with errno when no file can be made. */
int smtp_spool_take(struct smtp_spool_pool *pool, const char *dir);

/* Empty fd (ftruncate to 0, offset 0) and keep it for the next smtp_spool_take(); closed
   instead when the pool is full or the file cannot be emptied. fd < 0 is ignored. */
void smtp_spool_give_back(struct smtp_spool_pool *pool, int fd);

#endif
