/* The imap role: ports 143 and 993 (docs/architecture.md). */
#include <malloc.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../accounts/sasl_auth.h"
#include "../core/ipc_msg.h"
#include "../core/log.h"
#include "../core/tls_ctx.h"
#include "imap_fts_indexer.h"
#include "imap_mailbox.h"
#include "imap_session.h"

static struct imap_server imap_server;

/* The listen keys in the order the supervisor passes their sockets (supervisor_listen.c). */
static const struct {
	const char *key;
	enum imap_service service;
} imap_listen_keys[] = {
    {"imap.listen", IMAP_SERVICE_IMAP},
    {"imaps.listen", IMAP_SERVICE_IMAPS},
};

static int imap_init_privileged(struct worker *w, const char **error_r)
{
	char error[256];

	/* The key is usually readable by root only: load it before the privilege drop. A renewed
	   certificate comes from the supervisor at reload (imap_on_tls_reload). */
	if (tls_ctx_load(config_str(w->config, "tls.cert_file"),
	                 config_str(w->config, "tls.key_file"), &imap_server.tls, error,
	                 sizeof(error)) < 0) {
		log_error("TLS unavailable: %s; STARTTLS is not offered, port 993 connections are "
		          "refused and nobody can log in",
		          error);
		imap_server.tls = NULL;
	}
	/* Cyrus SASL loads its plugins now, while their files are readable. */
	if (sasl_auth_global_init("maild") < 0) {
		*error_r = "SASL initialisation failed";
		return -1;
	}
	return 0;
}

static void imap_on_connection(uv_stream_t *server, int status)
{
	struct imap_listener *l = server->data;

	if (status < 0) {
		log_warning("accept: %s", uv_strerror(status));
		return;
	}
	imap_session_accept(l);
}

static int imap_listen_one(struct imap_server *srv, int fd, enum imap_service service)
{
	struct imap_listener *l = &srv->listeners[srv->listener_count];

	l->service = service;
	l->srv = srv;
	l->handle.data = l;
	if (uv_tcp_init(srv->w->loop, &l->handle) < 0 || uv_tcp_open(&l->handle, fd) < 0 ||
	    uv_listen((uv_stream_t *)&l->handle, 511, imap_on_connection) < 0)
		return -1;
	srv->listener_count++;
	return 0;
}

static int imap_open_listeners(struct imap_server *srv, const char **error_r)
{
	size_t fd_index = 0;

	for (size_t k = 0; k < sizeof(imap_listen_keys) / sizeof(imap_listen_keys[0]); k++) {
		struct config_listen addrs[WORKER_LISTEN_MAX];
		size_t n = config_listen(srv->w->config, imap_listen_keys[k].key, addrs,
		                         WORKER_LISTEN_MAX);

		for (size_t i = 0; i < n; i++, fd_index++) {
			if (fd_index >= srv->w->listen_count ||
			    imap_listen_one(srv, srv->w->listen_fds[fd_index],
			                    imap_listen_keys[k].service) < 0) {
				*error_r = "the listening sockets do not match the configuration";
				return -1;
			}
		}
	}
	return 0;
}

static void imap_read_limits(struct imap_limits *l, const struct config *c)
{
	l->max_connections = (unsigned)config_uint(c, "imap.max_connections");
	l->max_connections_per_ip = (unsigned)config_uint(c, "imap.max_connections_per_ip");
	l->max_connections_per_user_ip =
	    (unsigned)config_uint(c, "imap.max_connections_per_user_ip");
	l->login_timeout_ms = config_uint(c, "imap.login_timeout");
	l->autologout_timeout_ms = config_uint(c, "imap.autologout_timeout");
	l->line_max = config_uint(c, "imap.max_line_length");
	l->fts_background_min = config_uint(c, "imap.fts_background_min");
	l->literal_max = config_uint(c, "limits.message_size");
	l->plaintext_auth_loopback = config_bool(c, "imap.allow_plaintext_auth_loopback");
}

static int imap_start(struct worker *w, const char **error_r)
{
	struct imap_server *srv = &imap_server;

	srv->w = w;
	w->state = srv;
	imap_read_limits(&srv->limits, w->config);
	srv->per_ip = imap_count_new();
	srv->per_user_ip = imap_count_new();
	uv_timer_init(w->loop, &srv->trim_timer);
	uv_unref((uv_handle_t *)&srv->trim_timer);
	uv_timer_init(w->loop, &srv->recheck_timer);
	uv_unref((uv_handle_t *)&srv->recheck_timer);
	return imap_open_listeners(srv, error_r);
}

/* Index rows still being written by a thread (mbox_open_flags()) are kept, not cut off. */
static void imap_exit(void)
{
	imap_fts_indexer_stop();
	mbox_rows_jobs_wait();
	exit(0);
}

static void imap_stop(struct worker *w)
{
	struct imap_server *srv = w->state;

	srv->stopping = true;
	for (size_t i = 0; i < srv->listener_count; i++)
		uv_close((uv_handle_t *)&srv->listeners[i].handle, NULL);
	/* Commands in flight finish, then BYE; the worker's stop timer bounds the wait. */
	imap_sessions_stop(srv);
	if (srv->session_count == 0)
		imap_exit();
}

static void imap_trim_now(uv_timer_t *t)
{
	struct imap_server *srv = t->data;

	srv->trim_pending = false;
	(void)malloc_trim(0);
}

void imap_server_trim_soon(struct imap_server *srv)
{
	if (srv->trim_pending)
		return;
	srv->trim_pending = true;
	srv->trim_timer.data = srv;
	uv_timer_start(&srv->trim_timer, imap_trim_now, 1000, 0);
}

static void imap_recheck_now(uv_timer_t *t)
{
	struct imap_server *srv = t->data;

	srv->recheck_pending = false;
	for (struct imap_session *s = srv->sessions; s != NULL; s = s->next) {
		if (s->sel != NULL && s->sel->recheck) {
			s->sel->recheck = false;
			if (s->on_mailbox_changed != NULL)
				s->on_mailbox_changed(s);
		}
	}
}

void imap_server_recheck_soon(struct imap_server *srv)
{
	if (srv->recheck_pending)
		return;
	srv->recheck_pending = true;
	srv->recheck_timer.data = srv;
	/* mbox_sync() scans again once a second has passed since its last scan. */
	uv_timer_start(&srv->recheck_timer, imap_recheck_now, 1100, 0);
}

void imap_server_session_gone(struct imap_server *srv)
{
	srv->session_count--;
	if (srv->stopping && srv->session_count == 0)
		imap_exit();
}

void imap_server_mailbox_changed(struct imap_server *srv, const char *maildir, const char *folder)
{
	log_debug("mailbox changed: %s folder=%s", log_esc(maildir),
	          folder[0] != '\0' ? log_esc(folder) : "INBOX");
	for (struct imap_session *s = srv->sessions; s != NULL; s = s->next) {
		if (s->on_mailbox_changed != NULL && strcmp(s->maildir, maildir) == 0)
			s->on_mailbox_changed(s);
	}
}

static void imap_on_mailbox_changed(struct imap_server *srv, const struct ipc_frame *frame)
{
	char maildir[PATH_MAX], folder[IPC_DELIVER_FOLDER_MAX];
	struct ipc_rbuf r;

	ipc_rbuf_init(&r, frame->payload, frame->len);
	ipc_get_str(&r, maildir, sizeof(maildir));
	ipc_get_str(&r, folder, sizeof(folder));
	if (ipc_rbuf_end(&r) < 0) {
		log_warning("malformed mailbox-changed notice from delivery");
		return;
	}
	imap_server_mailbox_changed(srv, maildir, folder);
}

/* SIGHUP: the supervisor hands over the certificate and key it has checked (IPC_TLS_RELOAD);
   new connections use them, connections under way keep their own reference to the old ones. */
static void imap_on_tls_reload(struct imap_server *srv, int fd)
{
	struct tls_ctx *next = NULL;
	char error[512];

	if (tls_ctx_load_fd(fd, &next, error, sizeof(error)) < 0) {
		log_error("TLS certificate not reloaded: %s", error);
		return;
	}
	tls_ctx_free(&srv->tls);
	srv->tls = next;
	log_info("TLS certificate reloaded");
}

static void imap_on_message(struct worker *w, int from, struct ipc_link *link,
                            const struct ipc_frame *frame, int fd)
{
	(void)link;
	if (from == -1 && frame->type == IPC_TLS_RELOAD && fd >= 0)
		imap_on_tls_reload(w->state, fd);
	else if (from == ROLE_DELIVERY && frame->type == IPC_MAILBOX_CHANGED)
		imap_on_mailbox_changed(w->state, frame);
	else if (from >= 0)
		log_warning("unexpected message type %u from %s", frame->type, role_name(from));
	if (fd >= 0)
		close(fd);
}

const struct role_ops imap_role_ops = {
    .init_privileged = imap_init_privileged,
    .start = imap_start,
    .on_message = imap_on_message,
    .stop = imap_stop,
};
