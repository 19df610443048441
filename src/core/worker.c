#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ipc_msg.h"
#include "log.h"
#include "privdrop.h"
#include "worker.h"

/* Roles whose work is filled in by later issues still run as real, supervised, unprivileged
   processes with their link and health ping. */
static const struct role_ops role_ops_empty;

/* A role's stop hook gets this long to finish what is in flight. */
#define WORKER_STOP_TIMEOUT_MS 5000

static const struct {
	const char *user_key;
	const char *log_service;
	const struct role_ops *ops;
	bool accounts_db;
} role_table[ROLE_COUNT] = {
	[ROLE_ACCOUNTS] = { "run_as.service", "auth", &accounts_role_ops, true },
	[ROLE_SMTP] = { "run_as.service", "smtpd", &smtp_role_ops, false },
	[ROLE_FILTER] = { "run_as.service", "filter", &role_ops_empty, false },
	[ROLE_DELIVERY] = { "run_as.mailbox", "local", &delivery_role_ops, false },
	[ROLE_QUEUE] = { "run_as.service", "qmgr", &queue_role_ops, false },
	[ROLE_IMAP] = { "run_as.mailbox", "imap", &imap_role_ops, false },
	[ROLE_ADMIN] = { "run_as.mailbox", "admin", &admin_role_ops, true },
};

const char *worker_user_key(enum role role)
{
	return role_table[role].user_key;
}

bool worker_uses_accounts_db(enum role role)
{
	return role_table[role].accounts_db;
}

const char *worker_log_service(enum role role)
{
	return role_table[role].log_service;
}

int worker_reply(struct ipc_link *link, const struct ipc_frame *request,
		 const struct ipc_wbuf *payload, int fd)
{
	return ipc_link_send(link, (uint16_t)(request->type | IPC_REPLY), request->id, payload, fd);
}

static void worker_on_peer_close(struct ipc_link *link, bool malformed, const char *reason,
				 void *ctx)
{
	struct worker *w = ctx;

	for (int r = 0; r < ROLE_COUNT; r++) {
		if (w->peers[r] != link)
			continue;
		log_debug("link to %s closed: %s", role_name(r), reason);
		if (malformed && ipc_link_is_open(w->supervisor)) {
			struct ipc_wbuf b;

			ipc_wbuf_init(&b);
			ipc_put_u8(&b, (uint8_t)r);
			ipc_link_send(w->supervisor, IPC_PEER_MALFORMED, 0, &b, -1);
			ipc_wbuf_free(&b);
		}
	}
}

static void worker_on_peer_msg(struct ipc_link *link, const struct ipc_frame *frame, int fd,
			       void *ctx)
{
	struct worker *w = ctx;
	const struct role_ops *ops = role_table[w->role].ops;
	int from = -1;

	for (int r = 0; r < ROLE_COUNT; r++) {
		if (w->peers[r] == link)
			from = r;
	}
	if (ops->on_message != NULL && from >= 0)
		ops->on_message(w, from, link, frame, fd);
	else if (fd >= 0)
		close(fd);
}

static void worker_add_peer(struct worker *w, const struct ipc_frame *frame, int fd)
{
	struct ipc_rbuf r;
	uint8_t role;

	ipc_rbuf_init(&r, frame->payload, frame->len);
	role = ipc_get_u8(&r);
	if (ipc_rbuf_end(&r) < 0 || role >= ROLE_COUNT || fd < 0) {
		if (fd >= 0)
			close(fd);
		fatal("supervisor sent a malformed peer message");
	}
	/* A restarted peer replaces its old link. */
	ipc_link_free(&w->peers[role]);
	w->peer_gen[role]++;
	w->peers[role] = ipc_link_new(w->loop, fd, &ipc_types_all, role_name(role),
				      worker_on_peer_msg, worker_on_peer_close, w);
	log_debug("linked to %s", role_name(role));
}

static void worker_on_super_msg(struct ipc_link *link, const struct ipc_frame *frame, int fd,
				void *ctx)
{
	struct worker *w = ctx;
	const struct role_ops *ops = role_table[w->role].ops;

	switch (frame->type) {
	case IPC_PING:
		worker_reply(link, frame, NULL, -1);
		if (fd >= 0)
			close(fd);
		return;
	case IPC_PEER:
		worker_add_peer(w, frame, fd);
		return;
	default:
		if (ops->on_message != NULL)
			ops->on_message(w, -1, link, frame, fd);
		else if (fd >= 0)
			close(fd);
	}
}

static void worker_on_super_close(struct ipc_link *link, bool malformed, const char *reason,
				  void *ctx)
{
	(void)link;
	(void)malformed;
	(void)ctx;
	/* Without its supervisor a worker must not go on serving. */
	log_info("supervisor link closed (%s); exiting", reason);
	exit(0);
}

static void worker_on_stop_timeout(uv_timer_t *timer)
{
	(void)timer;
	log_warning("still busy after %d s of SIGTERM; exiting", WORKER_STOP_TIMEOUT_MS / 1000);
	exit(0);
}

static void worker_on_sigterm(uv_signal_t *handle, int signum)
{
	static uv_timer_t stop_timer;
	struct worker *w = handle->data;
	const struct role_ops *ops = role_table[w->role].ops;

	(void)signum;
	if (ops->stop == NULL)
		exit(0);
	uv_signal_stop(handle);
	uv_timer_init(w->loop, &stop_timer);
	uv_timer_start(&stop_timer, worker_on_stop_timeout, WORKER_STOP_TIMEOUT_MS, 0);
	ops->stop(w);
}

gid_t worker_accounts_db_gid(const struct config *config)
{
	struct run_identity service;
	const char *error;

	if (privdrop_lookup(config_str(config, "run_as.service"), &service, &error) < 0)
		return 0;
	return service.gid;
}

static void worker_drop(struct worker *w, pid_t parent)
{
	const char *user = config_str(w->config, role_table[w->role].user_key);
	struct run_identity id;
	const char *error;

	if (!privdrop_is_root()) {
		privdrop_become(NULL);
	} else {
		if (privdrop_lookup(user, &id, &error) < 0)
			fatal("user %s: %s", user, error);
		if (role_table[w->role].accounts_db)
			id.extra_gid = worker_accounts_db_gid(w->config);
		privdrop_become(&id);
	}
	/* Credentials changed, which clears the parent-death signal: set it only now. */
	if (prctl(PR_SET_PDEATHSIG, SIGTERM) < 0 || getppid() != parent)
		fatal("supervisor is gone");
	umask(role_table[w->role].accounts_db ? 007 : 077);
}

int worker_main(enum role role, const char *config_path, size_t listen_count, bool foreground,
		pid_t parent)
{
	static struct worker w;
	struct config_errors errors = { 0 };
	const struct role_ops *ops = role_table[role].ops;
	const char *error = NULL;
	uv_signal_t sigterm;

	log_init(role_table[role].log_service, foreground);
	if (config_load(config_path, &w.config, &errors) < 0) {
		for (size_t i = 0; i < errors.count; i++)
			log_error("%s", errors.lines[i]);
		return 78;
	}
	log_set_level((enum log_level)log_level_from_name(config_str(w.config, "log.level")));
	w.role = role;
	w.listen_count = listen_count < WORKER_LISTEN_MAX ? listen_count : WORKER_LISTEN_MAX;
	for (size_t i = 0; i < w.listen_count; i++)
		w.listen_fds[i] = WORKER_FD_FIRST_LISTENER + (int)i;
	if (ops->init_privileged != NULL && ops->init_privileged(&w, &error) < 0) {
		log_error("%s: start-up failed: %s", role_name(role), error);
		return 71;
	}
	worker_drop(&w, parent);
	w.loop = uv_default_loop();
	signal(SIGPIPE, SIG_IGN);
	w.supervisor = ipc_link_new(w.loop, WORKER_FD_SUPERVISOR, &ipc_types_all, "supervisor",
				    worker_on_super_msg, worker_on_super_close, &w);
	uv_signal_init(w.loop, &sigterm);
	sigterm.data = &w;
	uv_signal_start(&sigterm, worker_on_sigterm, SIGTERM);
	if (ops->start != NULL && ops->start(&w, &error) < 0) {
		log_error("%s: start-up failed: %s", role_name(role), error);
		return 71;
	}
	ipc_link_send(w.supervisor, IPC_READY, 0, NULL, -1);
	log_debug("%s worker ready", role_name(role));
	uv_run(w.loop, UV_RUN_DEFAULT);
	return 0;
}
