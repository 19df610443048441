/* One IMAP connection: accept, limits, replies, command flow, timeouts, close (RFC 9051). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "../core/base64.h"
#include "../core/ipc_link.h"
#include "../core/log.h"
#include "imap_capability.h"
#include "imap_mailbox.h"
#include "imap_session.h"

/* Lines are short almost always; a long one (VANISHED, COPYUID, [MODIFIED ...]) is formatted
   on the heap, never cut: a cut response would be a protocol error. */
static void imap_vsend(struct imap_session *s, const char *prefix, const char *fmt, va_list ap)
{
	char stack[1024], *line = stack;
	size_t plen = strlen(prefix);
	va_list again;
	int m;

	va_copy(again, ap);
	m = vsnprintf(NULL, 0, fmt, ap);
	if (m < 0) {
		va_end(again);
		return;
	}
	if (plen + (size_t)m + 3 > sizeof(stack) && (line = malloc(plen + (size_t)m + 3)) == NULL)
		fatal("out of memory");
	memcpy(line, prefix, plen);
	(void)vsnprintf(line + plen, (size_t)m + 1, fmt, again);
	va_end(again);
	line[plen + (size_t)m] = '\r';
	line[plen + (size_t)m + 1] = '\n';
	imap_write(s, line, plen + (size_t)m + 2);
	if (line != stack)
		free(line);
}

void imap_write(struct imap_session *s, const void *data, size_t len)
{
	if (conn_write(s->conn, data, len) == 0)
		s->bytes_out += len;
}

void imap_send(struct imap_session *s, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	imap_vsend(s, "", fmt, ap);
	va_end(ap);
}

void imap_session_bye(struct imap_session *s, const char *text, const char *reason)
{
	if (!conn_is_open(s->conn))
		return;
	imap_send(s, "* BYE %s", text);
	if (s->close_reason == NULL)
		s->close_reason = reason;
	s->state = IMAP_STATE_LOGOUT;
	s->line_cb = NULL;
	imap_login_abort(s);
	conn_close(s->conn, true);
}

/* RELIABILITY: a client that only sends garbage is cut off, sooner before login. */
static void imap_count_bad(struct imap_session *s, enum imap_status st)
{
	unsigned max = s->state == IMAP_STATE_NOT_AUTH ? IMAP_BAD_MAX_PREAUTH : IMAP_BAD_MAX;

	if (st != IMAP_BAD) {
		s->bad_in_row = 0;
		return;
	}
	if (++s->bad_in_row >= max)
		imap_session_bye(s, "Too many invalid IMAP commands.", "Too many invalid commands");
}

void imap_tagged(struct imap_session *s, enum imap_status st, const char *fmt, ...)
{
	static const char *const words[] = {"OK", "NO", "BAD"};
	char prefix[IMAP_TAG_MAX + 8];
	va_list ap;

	snprintf(prefix, sizeof(prefix), "%s %s ", s->tag[0] != '\0' ? s->tag : "*", words[st]);
	va_start(ap, fmt);
	imap_vsend(s, prefix, fmt, ap);
	va_end(ap);
	s->in_command = false;
	s->line_cb = NULL;
	s->cmd_ctx = NULL;
	s->cmd_free = NULL;
	s->tag[0] = '\0';
	imap_count_bad(s, st);
	if (!conn_is_open(s->conn) || s->state == IMAP_STATE_LOGOUT)
		return;
	if (s->bye_pending || s->srv->stopping) {
		imap_session_bye(s, "Server shutting down.", "Server shutting down");
		return;
	}
	imap_session_arm_timeout(s);
	if (s->waiting) {
		s->waiting = false;
		conn_resume(s->conn);
		if (!s->processing)
			imap_session_process(s);
	}
}

void imap_session_wait(struct imap_session *s)
{
	s->waiting = true;
	conn_pause(s->conn);
}

void imap_session_resume(struct imap_session *s)
{
	if (!s->waiting || !conn_is_open(s->conn))
		return;
	s->waiting = false;
	conn_resume(s->conn);
	if (!s->processing)
		imap_session_process(s);
}

void imap_session_expect_line(struct imap_session *s, imap_line_cb *cb)
{
	s->line_cb = cb;
	imap_parser_expect_line(s->parser);
	imap_session_arm_timeout(s);
	if (s->waiting) {
		s->waiting = false;
		conn_resume(s->conn);
		if (!s->processing)
			imap_session_process(s);
	}
}

void imap_session_arm_timeout(struct imap_session *s)
{
	const struct imap_limits *l = &s->srv->limits;

	/* RFC 9051 5.4: at least 30 minutes once logged in; before that a short time, as every
	   server does, so idle unauthenticated connections do not pile up. */
	conn_set_timeout(s->conn, s->state == IMAP_STATE_NOT_AUTH ? l->login_timeout_ms
	                                                          : l->autologout_timeout_ms);
}

static bool imap_ip_is_loopback(const char *ip)
{
	return strncmp(ip, "127.", 4) == 0 || strcmp(ip, "::1") == 0;
}

bool imap_session_login_allowed(const struct imap_session *s)
{
	/* On 993 the greeting is written before the handshake ends, yet it can only go out
	   encrypted: its CAPABILITY must not say LOGINDISABLED (mbsync believes it). */
	if (conn_is_tls(s->conn) || s->service == IMAP_SERVICE_IMAPS)
		return true;
	return s->srv->limits.plaintext_auth_loopback && imap_ip_is_loopback(conn_peer_ip(s->conn));
}

void imap_session_capability(const struct imap_session *s, char *buf, size_t size)
{
	struct imap_capability_state st = {
	    .authed = s->state != IMAP_STATE_NOT_AUTH,
	    .starttls =
	        s->service == IMAP_SERVICE_IMAP && s->srv->tls != NULL && !conn_is_tls(s->conn),
	    .login_allowed = imap_session_login_allowed(s),
	};

	if (imap_capability_build(&st, buf, size) < 0)
		fatal("imap: capability list does not fit %zu bytes", size);
}

void imap_session_parser_update(struct imap_session *s)
{
	struct imap_parser_limits limits;
	bool authed = s->state != IMAP_STATE_NOT_AUTH;

	imap_parser_limits_default(&limits, authed);
	limits.line_max = (size_t)s->srv->limits.line_max;
	if (authed)
		limits.literal_max = s->srv->limits.literal_max;
	if (imap_parser_set_limits(s->parser, &limits) < 0)
		fatal("imap: parser limits refused");
	imap_parser_set_flags(
	    s->parser, (s->enabled & (IMAP_ENABLED_UTF8_ACCEPT | IMAP_ENABLED_IMAP4REV2)) != 0
	                   ? IMAP_PARSER_UTF8
	                   : 0);
}

static void imap_on_read(struct conn *c, const uint8_t *data, size_t len, void *ctx)
{
	(void)c;
	imap_session_input(ctx, data, len);
}

void imap_session_free_deferred(struct imap_session *s);
void imap_session_free_deferred(struct imap_session *s)
{
	struct imap_server *srv = s->srv;

	if (s->cmd_free != NULL)
		s->cmd_free(s->cmd_ctx);
	imap_mailbox_unselect(s);
	imap_parser_free(&s->parser);
	free(s->in);
	free(s);
	imap_server_trim_soon(srv); /* a burst of disconnects gives its memory back */
	imap_server_session_gone(srv);
}

static void imap_on_close(struct conn *c, const char *reason, void *ctx)
{
	struct imap_session *s = ctx;
	struct imap_server *srv = s->srv;
	char key[IMAP_USER_MAX + 80];

	(void)c;
	imap_login_log_disconnect(s, s->close_reason != NULL ? s->close_reason : reason);
	imap_login_abort(s);
	if (s->ip_counted)
		imap_count_leave(srv->per_ip, conn_peer_ip(s->conn));
	if (s->user_ip_counted) {
		snprintf(key, sizeof(key), "%s\n%s", s->user, conn_peer_ip(s->conn));
		imap_count_leave(srv->per_user_ip, key);
	}
	/* A parked IPC request must not call back into a freed session. */
	for (int r = 0; r < ROLE_COUNT; r++)
		ipc_link_cancel(srv->w->peers[r], s);
	if (s->prev != NULL)
		s->prev->next = s->next;
	else
		srv->sessions = s->next;
	if (s->next != NULL)
		s->next->prev = s->prev;
	s->on_mailbox_changed = NULL;
	s->on_drain = NULL;
	/* A pool thread may be using the mailbox: the rest waits for it (imap_job.c). */
	if (imap_job_busy(s)) {
		s->close_deferred = true;
		return;
	}
	imap_session_free_deferred(s);
}

static void imap_on_timeout(struct conn *c, void *ctx)
{
	struct imap_session *s = ctx;

	if (s->refusal != NULL) {
		conn_close(c, false); /* its BYE is already written; the handshake never came */
		return;
	}
	imap_session_bye(s, "Disconnected for inactivity.", "Inactivity");
}

static void imap_on_eof(struct conn *c, void *ctx)
{
	struct imap_session *s = ctx;

	(void)c;
	if (s->close_reason == NULL)
		s->close_reason = "Connection closed";
	conn_close(s->conn, true);
}

static void imap_on_tls_ready(struct conn *c, void *ctx)
{
	struct imap_session *s = ctx;

	log_debug("imap-login: TLS established: %s with cipher %s, rip=%s, session=<%s>",
	          conn_tls_version(c), conn_tls_cipher(c), conn_peer_ip(c), s->id);
	if (s->refusal != NULL)
		conn_close(c, true); /* the BYE written at accept goes out first */
}

static void imap_on_drain(struct conn *c, void *ctx)
{
	struct imap_session *s = ctx;

	(void)c;
	if (s->on_drain != NULL)
		s->on_drain(s);
}

static const struct conn_callbacks imap_conn_callbacks = {
    .on_read = imap_on_read,
    .on_close = imap_on_close,
    .on_timeout = imap_on_timeout,
    .on_eof = imap_on_eof,
    .on_tls_ready = imap_on_tls_ready,
    .on_drain = imap_on_drain,
};

/* Dovecot-style session id: 9 random bytes, 12 base64 characters. */
static void imap_session_new_id(struct imap_session *s)
{
	uint8_t r[9];

	if (getrandom(r, sizeof(r), 0) != (ssize_t)sizeof(r))
		fatal("getrandom failed");
	if (base64_encode(r, sizeof(r), s->id, sizeof(s->id)) < 0)
		fatal("imap: session id does not fit");
}

static struct imap_session *imap_session_new(struct imap_listener *l)
{
	struct imap_session *s = calloc(1, sizeof(*s));
	struct imap_parser_limits limits;

	if (s == NULL)
		fatal("out of memory");
	s->srv = l->srv;
	s->service = l->service;
	s->state = IMAP_STATE_NOT_AUTH;
	imap_parser_limits_default(&limits, false);
	limits.line_max = (size_t)l->srv->limits.line_max;
	s->parser = imap_parser_new(&limits, 0);
	if (s->parser == NULL)
		fatal("imap: parser limits refused");
	imap_session_new_id(s);
	return s;
}

/* RELIABILITY 67, 74: caps on connections in total and per client address. NULL when within
   them, else the BYE text. */
static const char *imap_session_over_limits(struct imap_session *s)
{
	struct imap_server *srv = s->srv;
	const char *ip = conn_peer_ip(s->conn);

	if (srv->session_count > srv->limits.max_connections) {
		log_warning("imap-login: Disconnected: too many connections (imap.max_connections "
		            "%u): rip=%s, lip=%s, session=<%s>",
		            srv->limits.max_connections, ip, conn_local_ip(s->conn), s->id);
		return "Too many connections, try again later.";
	}
	if (!imap_count_enter(srv->per_ip, ip, srv->limits.max_connections_per_ip)) {
		log_warning("imap-login: Disconnected: too many connections from this address "
		            "(imap.max_connections_per_ip %u): rip=%s, lip=%s, session=<%s>",
		            srv->limits.max_connections_per_ip, ip, conn_local_ip(s->conn), s->id);
		return "Too many connections from your address.";
	}
	s->ip_counted = true;
	return NULL;
}

static void imap_session_greet(struct imap_session *s)
{
	char caps[IMAP_CAPABILITY_MAX];

	imap_session_capability(s, caps, sizeof(caps));
	imap_send(s, "* OK [CAPABILITY %s] maild ready.", caps);
	imap_session_arm_timeout(s);
}

void imap_session_accept(struct imap_listener *l)
{
	struct imap_server *srv = l->srv;
	struct imap_session *s = imap_session_new(l);

	s->conn = conn_new(srv->w->loop, (uv_stream_t *)&l->handle, &imap_conn_callbacks, s);
	if (s->conn == NULL) {
		imap_parser_free(&s->parser);
		free(s);
		return;
	}
	s->next = srv->sessions;
	if (s->next != NULL)
		s->next->prev = s;
	srv->sessions = s;
	srv->session_count++;
	s->start_ms = uv_now(srv->w->loop);
	conn_set_output_limit(s->conn, IMAP_OUTPUT_LIMIT);
	s->refusal = imap_session_over_limits(s);
	if (l->service == IMAP_SERVICE_IMAPS) {
		if (srv->tls == NULL || conn_start_tls(s->conn, srv->tls) < 0) {
			/* RELIABILITY F17: no certificate, no implicit-TLS service. */
			s->close_reason = "TLS unavailable";
			conn_close(s->conn, false);
			return;
		}
	}
	if (s->refusal != NULL) {
		s->state = IMAP_STATE_LOGOUT;
		s->close_reason = "Connection limit";
		imap_send(s, "* BYE %s", s->refusal);
		/* On 993 the BYE waits for the handshake; on_tls_ready closes after it. */
		if (l->service == IMAP_SERVICE_IMAP)
			conn_close(s->conn, true);
		else
			conn_set_timeout(s->conn, srv->limits.login_timeout_ms);
		return;
	}
	imap_session_greet(s);
}

void imap_sessions_stop(struct imap_server *srv)
{
	struct imap_session *next;

	for (struct imap_session *s = srv->sessions; s != NULL; s = next) {
		next = s->next; /* the close is asynchronous, but stay safe */
		/* A command that waits for another worker finishes first (imap_tagged says BYE);
		   one that waits for the client (a continuation line) does not. */
		if (s->in_command && s->line_cb == NULL)
			s->bye_pending = true;
		else
			imap_session_bye(s, "Server shutting down.", "Server shutting down");
	}
}
