#ifndef MAILD_SMTP_SERVER_H
#define MAILD_SMTP_SERVER_H

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "../core/worker.h"
#include "smtp_spool.h"

/* What a listening socket serves (RFC 6409: submission; RFC 8314: implicit TLS). */
enum smtp_service {
	SMTP_SERVICE_MX,	 /* port 25: receipt from other servers, STARTTLS offered */
	SMTP_SERVICE_SUBMISSION, /* port 587: STARTTLS, then AUTH before MAIL */
	SMTP_SERVICE_SMTPS,	 /* port 465: implicit TLS, then AUTH before MAIL */
};

/* Unprocessed input held while a reply from another worker is awaited: a read is at most
   CONN_READ_BUF and reading pauses while waiting, so twice that always suffices. */
#define SMTP_INPUT_MAX (32 * 1024)

/* The smtp.* limits of the config (docs/admin.md), read once at start. */
struct smtp_limits {
	unsigned max_connections, max_connections_per_ip;
	unsigned max_recipients, max_errors, max_junk, max_messages;
	uint64_t command_timeout_ms, data_timeout_ms, session_timeout_ms;
	uint64_t line_length;
};

struct tls_ctx;

struct smtp_listener {
	uv_tcp_t handle;
	enum smtp_service service;
	struct smtp_server *srv;
};

struct smtp_server {
	struct worker *w;
	struct tls_ctx *tls; /* NULL: no certificate, no STARTTLS, no implicit TLS */
	char hostname[256];
	char spool_dir[4096];
	struct smtp_spool_pool spool_pool; /* emptied spool files for the next transactions */
	uint64_t size_max;
	struct smtp_limits limits;
	struct smtp_ip_count *per_ip; /* connections by client address */
	struct smtp_listener listeners[WORKER_LISTEN_MAX];
	size_t listener_count;
	unsigned sessions;
	bool stopping;
	uint32_t next_session;
};

/* smtp_ip.c: connections per client address (RELIABILITY 74). */
struct smtp_ip_count;
/* Count one more connection from ip; false (nothing counted) when it is over the limit. */
bool smtp_ip_enter(struct smtp_server *srv, const char *ip);
void smtp_ip_leave(struct smtp_server *srv, const char *ip);

/* smtp_session.c: a connection accepted on listener l. */
void smtp_session_accept(struct smtp_listener *l);

#endif
