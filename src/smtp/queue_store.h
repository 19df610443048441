#ifndef MAILD_QUEUE_STORE_H
#define MAILD_QUEUE_STORE_H

#include <stddef.h>
#include <stdint.h>

/* The outbound queue on disk: <queue_dir>/<id>.eml (the message, as received) and
   <id>.env (its envelope, JSON). The envelope is written last, through a temporary name, and
   both files and the directory are fsynced before queue_store_add() returns: a message is in
   the queue exactly when its .env exists. A .eml without .env is the remains of a crash before
   the 250 and is removed by queue_store_sweep(). */

struct queue_rcpt {
	const char *address;  /* where to send it */
	const char *orig_to;  /* as the client gave it */
	unsigned notify;      /* SMTP_NOTIFY_* bits (RFC 3461); 0 absent */
	const char *orcpt;    /* "" absent */
};

struct queue_envelope {
	const char *id;
	const char *sender;   /* "" for <> */
	int64_t arrival_ms;
	unsigned ret;         /* enum smtp_ret */
	const char *envid;    /* "" absent */
	const char *auth_user; /* "" when not submitted by a user */
	const struct queue_rcpt *rcpts;
	size_t count;
};

/* Copy the message from msg_fd (read from offset 0) and write the envelope. 0 ok, -1 with
   *error_r set (static text or errno's); nothing is left behind on failure. Blocking: call it
   from the thread pool. *size_r gets the message size. */
int queue_store_add(const char *queue_dir, int msg_fd, const struct queue_envelope *env,
		    uint64_t *size_r, const char **error_r);

/* Remove message files whose envelope never got written. Returns how many. */
unsigned queue_store_sweep(const char *queue_dir);

#endif
