/* The smtp role: ports 25, 587 and 465 (docs/architecture.md). */
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../accounts/sasl_auth.h"
#include "../core/ipc_msg.h"
#include "../core/log.h"
#include "../core/strutil.h"
#include "../core/tls_ctx.h"
#include "smtp_server.h"

static struct smtp_server smtp_server;

/* The listen keys in the order the supervisor passes their sockets (supervisor_listen.c). */
static const struct {
	const char *key;
	enum smtp_service service;
} smtp_listen_keys[] = {
	{ "smtp.listen", SMTP_SERVICE_MX },
	{ "submission.listen", SMTP_SERVICE_SUBMISSION },
	{ "smtps.listen", SMTP_SERVICE_SMTPS },
};

static int smtp_init_privileged(struct worker *w, const char **error_r)
{
	char error[256];

	if (sasl_auth_global_init("maild") < 0) {
		*error_r = "Cyrus SASL cannot start";
		return -1;
	}
	if (strcmp(config_str(w->config, "smtp.auth_backend"), "saslauthd") == 0 &&
	    sasl_auth_use_saslauthd(config_str(w->config, "smtp.saslauthd_path"),
				    &(struct auth_penalty_config){
					.max_failures = (unsigned)config_uint(
						w->config, "accounts.auth_failures_max"),
					.window_ms = config_uint(w->config,
								 "accounts.auth_failure_window"),
					.delay_ms = config_uint(w->config,
								"accounts.auth_failure_delay"),
					.delay_max_ms = config_uint(
						w->config, "accounts.auth_failure_delay_max"),
					.slots = 8192,
				    }) < 0) {
		*error_r = "cannot set up saslauthd";
		return -1;
	}
	/* The key is usually readable by root only: load it before the privilege drop. */
	if (tls_ctx_load(config_str(w->config, "tls.cert_file"), config_str(w->config, "tls.key_file"),
			 &smtp_server.tls, error, sizeof(error)) < 0) {
		log_error("TLS unavailable: %s; STARTTLS is not offered and implicit TLS "
			  "connections are refused", error);
		smtp_server.tls = NULL;
	}
	return 0;
}

static void smtp_on_connection(uv_stream_t *server, int status)
{
	struct smtp_listener *l = server->data;

	if (status < 0) {
		log_warning("accept: %s", uv_strerror(status));
		return;
	}
	smtp_session_accept(l);
}

static int smtp_listen_one(struct smtp_server *srv, int fd, enum smtp_service service)
{
	struct smtp_listener *l = &srv->listeners[srv->listener_count];

	l->service = service;
	l->srv = srv;
	l->handle.data = l;
	if (uv_tcp_init(srv->w->loop, &l->handle) < 0 || uv_tcp_open(&l->handle, fd) < 0 ||
	    uv_listen((uv_stream_t *)&l->handle, 511, smtp_on_connection) < 0)
		return -1;
	srv->listener_count++;
	return 0;
}

static int smtp_open_listeners(struct smtp_server *srv, const char **error_r)
{
	size_t fd_index = 0;

	for (size_t k = 0; k < sizeof(smtp_listen_keys) / sizeof(smtp_listen_keys[0]); k++) {
		struct config_listen addrs[WORKER_LISTEN_MAX];
		size_t n = config_listen(srv->w->config, smtp_listen_keys[k].key, addrs,
					 WORKER_LISTEN_MAX);

		for (size_t i = 0; i < n; i++, fd_index++) {
			if (fd_index >= srv->w->listen_count ||
			    smtp_listen_one(srv, srv->w->listen_fds[fd_index],
					    smtp_listen_keys[k].service) < 0) {
				*error_r = "the listening sockets do not match the configuration";
				return -1;
			}
		}
	}
	return 0;
}

static void smtp_read_limits(struct smtp_limits *l, const struct config *c)
{
	l->max_connections = (unsigned)config_uint(c, "smtp.max_connections");
	l->max_connections_per_ip = (unsigned)config_uint(c, "smtp.max_connections_per_ip");
	l->max_recipients = (unsigned)config_uint(c, "smtp.max_recipients");
	l->max_errors = (unsigned)config_uint(c, "smtp.max_errors");
	l->max_junk = (unsigned)config_uint(c, "smtp.max_junk_commands");
	l->max_messages = (unsigned)config_uint(c, "smtp.max_messages_per_connection");
	l->command_timeout_ms = config_uint(c, "smtp.command_timeout");
	l->data_timeout_ms = config_uint(c, "smtp.data_timeout");
	l->session_timeout_ms = config_uint(c, "smtp.session_timeout");
	l->line_length = config_uint(c, "limits.line_length");
}

static int smtp_start(struct worker *w, const char **error_r)
{
	struct smtp_server *srv = &smtp_server;
	const char *host = config_str(w->config, "hostname");

	srv->w = w;
	w->state = srv;
	if (*host == '\0') {
		if (gethostname(srv->hostname, sizeof(srv->hostname)) < 0)
			(void)str_copy(srv->hostname, sizeof(srv->hostname), "localhost");
		srv->hostname[sizeof(srv->hostname) - 1] = '\0';
	} else {
		(void)str_copy(srv->hostname, sizeof(srv->hostname), host);
	}
	if (str_printf(srv->spool_dir, sizeof(srv->spool_dir), "%s/spool",
		       config_str(w->config, "state_dir")) < 0) {
		*error_r = "state_dir too long";
		return -1;
	}
	srv->size_max = config_uint(w->config, "limits.message_size");
	smtp_read_limits(&srv->limits, w->config);
	return smtp_open_listeners(srv, error_r);
}

static void smtp_on_message(struct worker *w, int from, struct ipc_link *link,
			    const struct ipc_frame *frame, int fd)
{
	struct smtp_server *srv = w->state;
	struct tls_ctx *next = NULL;
	char error[512];

	(void)link;
	if (from == -1 && frame->type == IPC_TLS_RELOAD && fd >= 0) {
		if (tls_ctx_load_fd(fd, &next, error, sizeof(error)) < 0) {
			log_error("TLS certificate not reloaded: %s", error);
		} else {
			/* Connections under way hold their own reference to the old one. */
			tls_ctx_free(&srv->tls);
			srv->tls = next;
			log_info("TLS certificate reloaded");
		}
	} else if (from >= 0) {
		log_warning("unexpected message type %u from %s", frame->type, role_name(from));
	}
	if (fd >= 0)
		close(fd);
}

static void smtp_stop(struct worker *w)
{
	struct smtp_server *srv = w->state;

	srv->stopping = true;
	for (size_t i = 0; i < srv->listener_count; i++)
		uv_close((uv_handle_t *)&srv->listeners[i].handle, NULL);
	/* Sessions finish their transaction; the worker's stop timer bounds the wait. */
	if (srv->sessions == 0)
		exit(0);
}

/* Called by a session as it ends: after SIGTERM, the last one out ends the worker. */
void smtp_server_session_gone(struct smtp_server *srv);
void smtp_server_session_gone(struct smtp_server *srv)
{
	srv->sessions--;
	if (srv->stopping && srv->sessions == 0)
		exit(0);
}

const struct role_ops smtp_role_ops = {
	.init_privileged = smtp_init_privileged,
	.start = smtp_start,
	.on_message = smtp_on_message,
	.stop = smtp_stop,
};
