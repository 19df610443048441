#ifndef MAILD_WORKER_H
#define MAILD_WORKER_H

#include <stdbool.h>
#include <sys/types.h>
#include <uv.h>

#include "config.h"
#include "ipc_link.h"
#include "roles.h"

/* Descriptors a worker finds at exec: fd 3 is its link to the supervisor, the listening sockets
   follow from fd 4 (WORKER_FD_FIRST_LISTENER) in the order the role's table gives. */
#define WORKER_FD_SUPERVISOR 3
#define WORKER_FD_FIRST_LISTENER 4
#define WORKER_LISTEN_MAX 32

struct worker {
	enum role role;
	uv_loop_t *loop;
	struct config *config;
	struct ipc_link *supervisor;
	struct ipc_link *peers[ROLE_COUNT];
	/* Bumped whenever a peer's link is replaced: work that outlives a link (a thread-pool
	   job) keeps the generation and answers only if it is still current. */
	uint32_t peer_gen[ROLE_COUNT];
	int listen_fds[WORKER_LISTEN_MAX];
	size_t listen_count;
	void *state; /* the role's own */
};

/* What a role adds to the common worker life: load, drop privileges, loop, dispatch. */
struct role_ops {
	/* As root, before the privilege drop: open what the role's user may not open itself. */
	int (*init_privileged)(struct worker *w, const char **error_r);
	/* After the drop, with the loop and the supervisor link ready. */
	int (*start)(struct worker *w, const char **error_r);
	/* A message that is not a reply, from a peer worker (from = its role) or from the
	   supervisor (from = -1). fd is -1 or owned by the callee. */
	void (*on_message)(struct worker *w, int from, struct ipc_link *link,
			   const struct ipc_frame *frame, int fd);
	/* SIGTERM: stop accepting, finish what is in flight, then exit(0) (after 5 s the worker
	   exits anyway). Without it the worker exits at once. */
	void (*stop)(struct worker *w);
};

/* The identity a role runs under: the config key naming its user. */
const char *worker_user_key(enum role role);
/* Roles that open accounts.db share the database group (see docs/architecture.md). */
bool worker_uses_accounts_db(enum role role);
/* The group that shares accounts.db: the primary group of run_as.service. 0 if unknown. */
gid_t worker_accounts_db_gid(const struct config *config);
/* Log ident service of a role ("admin", "auth", "smtpd", ...). */
const char *worker_log_service(enum role role);

/* Entry point of `maild --role=NAME`. Never returns on success paths; exit status 78 on a
   config error, 71 on a start-up failure. */
int worker_main(enum role role, const char *config_path, size_t listen_count, bool foreground,
		pid_t parent);

/* Answer a request frame with payload (may be NULL). */
int worker_reply(struct ipc_link *link, const struct ipc_frame *request,
		 const struct ipc_wbuf *payload, int fd);

extern const struct role_ops accounts_role_ops;
extern const struct role_ops admin_role_ops;
extern const struct role_ops smtp_role_ops;
extern const struct role_ops delivery_role_ops;
extern const struct role_ops queue_role_ops;
extern const struct role_ops imap_role_ops;

#endif
