#ifndef MAILD_SMTP_SERVER_H
#define MAILD_SMTP_SERVER_H

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "../core/worker.h"

/* What a listening socket serves (RFC 6409: submission; RFC 8314: implicit TLS). */
enum smtp_service {
	SMTP_SERVICE_MX,	 /* port 25: receipt from other servers, STARTTLS offered */
	SMTP_SERVICE_SUBMISSION, /* port 587: STARTTLS, then AUTH before MAIL */
	SMTP_SERVICE_SMTPS,	 /* port 465: implicit TLS, then AUTH before MAIL */
};

/* Limits that later become config keys; named here so each has one place. */
#define SMTP_RCPT_MAX 100	     /* RFC 5321 4.5.3.1.8: at least 100 */
#define SMTP_ERRORS_MAX 20	     /* RELIABILITY 16: hard error limit, then 421 */
#define SMTP_JUNK_MAX 100	     /* RELIABILITY 15: NOOP/RSET/unknown flood, then 421 */
#define SMTP_COMMAND_TIMEOUT_MS (300 * 1000) /* RFC 5321 4.5.3.2.7: 5 minutes */
#define SMTP_DATA_TIMEOUT_MS (600 * 1000)    /* whole DATA phase of one message */
#define SMTP_INPUT_MAX (32 * 1024)	     /* unprocessed input held while a reply is awaited */

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
	uint64_t size_max;
	struct smtp_listener listeners[WORKER_LISTEN_MAX];
	size_t listener_count;
	unsigned sessions;
	bool stopping;
	uint32_t next_session;
};

/* smtp_session.c: a connection accepted on listener l. */
void smtp_session_accept(struct smtp_listener *l);

#endif
