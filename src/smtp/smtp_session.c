/* One SMTP connection: input framing, replies, limits, lifetime (RFC 5321). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../core/ipc_link.h"
#include "../core/log.h"
#include "../core/tls_ctx.h"
#include "smtp_session.h"

void smtp_server_session_gone(struct smtp_server *srv);

static const struct conn_callbacks smtp_conn_callbacks;

static void smtp_vreply(struct smtp_session *s, const char *fmt, va_list ap)
{
	char line[1024];
	int n = vsnprintf(line, sizeof(line) - 2, fmt, ap);

	if (n < 0)
		return;
	if ((size_t)n > sizeof(line) - 3)
		n = (int)(sizeof(line) - 3);
	line[n++] = '\r';
	line[n++] = '\n';
	conn_write(s->conn, line, (size_t)n);
}

void smtp_reply(struct smtp_session *s, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	smtp_vreply(s, fmt, ap);
	va_end(ap);
}

void smtp_reply_error(struct smtp_session *s, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	smtp_vreply(s, fmt, ap);
	va_end(ap);
	/* RELIABILITY 16: a client that keeps failing is cut off. */
	if (++s->errors >= s->srv->limits.max_errors)
		smtp_session_end(s, "421 4.7.0 %s Error: too many errors", s->srv->hostname);
}

const char *smtp_proto(const struct smtp_session *s)
{
	if (!s->esmtp)
		return "SMTP";
	if (s->auth_user[0] != '\0') /* RFC 3848 */
		return conn_is_tls(s->conn) ? "ESMTPSA" : "ESMTPA";
	return conn_is_tls(s->conn) ? "ESMTPS" : "ESMTP";
}

void smtp_tx_reset(struct smtp_session *s)
{
	s->has_mail = false;
	s->null_sender = false;
	s->smtputf8 = false;
	s->sender[0] = '\0';
	s->queue_id[0] = '\0';
	s->ret = 0;
	s->envid[0] = '\0';
	free(s->rcpts);
	s->rcpts = NULL;
	s->nrcpt = 0;
	free(s->cand);
	s->cand = NULL;
	s->ncand = 0;
	if (s->spool_lent && s->spool_fd >= 0)
		close(s->spool_fd);
	else
		smtp_spool_give_back(&s->srv->spool_pool, s->spool_fd);
	s->spool_fd = -1;
	s->spool_lent = false;
	s->spool_len = 0;
	s->spool_failed = false;
	s->bdat_started = false;
}

/* Say a last line and close; the rest happens in on_close. */
void smtp_session_end(struct smtp_session *s, const char *fmt, ...)
{
	va_list ap;

	if (!conn_is_open(s->conn))
		return;
	va_start(ap, fmt);
	smtp_vreply(s, fmt, ap);
	va_end(ap);
	s->mode = SMTP_MODE_WAIT; /* take no more input */
	conn_close(s->conn, true);
}

void smtp_arm_timeout(struct smtp_session *s, uint64_t ms)
{
	uint64_t age = uv_now(s->srv->w->loop) - s->start_ms;
	uint64_t left = age < s->srv->limits.session_timeout_ms
				? s->srv->limits.session_timeout_ms - age
				: 1;

	conn_set_timeout(s->conn, ms < left ? ms : left);
}

void smtp_session_wait(struct smtp_session *s)
{
	s->mode = SMTP_MODE_WAIT;
	conn_pause(s->conn);
}

static void smtp_process(struct smtp_session *s);

void smtp_session_resume(struct smtp_session *s)
{
	if (!conn_is_open(s->conn))
		return;
	smtp_arm_timeout(s, s->srv->limits.command_timeout_ms);
	conn_resume(s->conn);
	smtp_process(s);
}

static void smtp_line_fault(struct smtp_session *s, enum smtp_line_result r)
{
	s->commands++;
	switch (r) {
	case SMTP_LINE_BARE_LF:
		/* RELIABILITY 4: only CRLF ends a command line. */
		smtp_reply_error(s, "500 5.5.2 Error: bare <LF> received");
		break;
	case SMTP_LINE_BARE_CR:
		smtp_reply_error(s, "500 5.5.2 Error: bare <CR> received");
		break;
	case SMTP_LINE_NUL:
		smtp_reply_error(s, "500 5.5.2 Error: NUL character in command");
		break;
	default:
		smtp_reply_error(s, "500 5.5.2 Error: line too long");
	}
}

/* One step of input: a command line, or message text. Returns the bytes taken. */
static size_t smtp_step(struct smtp_session *s, const uint8_t *in, size_t len)
{
	struct smtp_bytes line;
	enum smtp_line_result r;
	size_t used = 0;

	if (s->mode == SMTP_MODE_DATA)
		return smtp_session_data_feed(s, in, len);
	if (s->mode == SMTP_MODE_BDAT)
		return smtp_session_bdat_feed(s, in, len);
	r = smtp_line_feed(&s->reader, in, len, &used, &line);
	if (r == SMTP_LINE_OK && s->auth_reading)
		smtp_session_auth_response(s, &line);
	else if (r == SMTP_LINE_OK)
		smtp_session_command(s, &line);
	else if (r != SMTP_LINE_MORE && s->auth_reading)
		/* RELIABILITY 35: an over-long or broken AUTH response ends the session. */
		smtp_session_end(s, "500 5.5.6 Error: authentication exchange line is too long or "
				    "malformed");
	else if (r != SMTP_LINE_MORE)
		smtp_line_fault(s, r);
	/* RELIABILITY 8: junk without end is not read forever. */
	if (smtp_line_discarding(&s->reader) && smtp_line_discarded(&s->reader) > 1024 * 1024)
		smtp_session_end(s, "421 4.7.0 %s Error: too much junk", s->srv->hostname);
	return used;
}

static void smtp_process(struct smtp_session *s)
{
	size_t off = 0;

	while (off < s->in_len && s->mode != SMTP_MODE_WAIT && conn_is_open(s->conn)) {
		s->sync_point = NULL;
		off += smtp_step(s, s->in + off, s->in_len - off);
		if (s->sync_point != NULL && off < s->in_len && conn_is_open(s->conn)) {
			/* RELIABILITY 5 (Postfix smtpd_forbid_unauth_pipelining): a client that
			   does not wait where it must is a spam engine or an attack. */
			log_info("improper command pipelining after %s from %s", s->sync_point,
				 s->client);
			smtp_session_end(s, "554 5.5.0 Error: improper use of SMTP command pipelining");
			off = s->in_len;
			break;
		}
		if (s->discard_input) {
			/* RFC 3207 4.2 / CVE-2011-0411: plaintext behind STARTTLS is dropped. */
			s->discard_input = false;
			off = s->in_len;
		}
	}
	memmove(s->in, s->in + off, s->in_len - off);
	s->in_len -= off;
}

static void smtp_on_read(struct conn *c, const uint8_t *data, size_t len, void *ctx)
{
	struct smtp_session *s = ctx;

	(void)c;
	if (s->in_len + len > sizeof(s->in)) {
		smtp_session_end(s, "421 4.7.0 %s Error: too much pipelined input", s->srv->hostname);
		return;
	}
	memcpy(s->in + s->in_len, data, len);
	s->in_len += len;
	if (s->mode != SMTP_MODE_WAIT)
		smtp_process(s);
}

static void smtp_log_disconnect(struct smtp_session *s, const char *reason)
{
	char counts[256] = "";
	size_t o = 0;

	for (int v = SMTP_VERB_EHLO; v <= SMTP_VERB_AUTH && o < sizeof(counts) - 32; v++) {
		if (s->counts[v] == 0)
			continue;
		char name[16];
		snprintf(name, sizeof(name), "%s", smtp_verb_name(v));
		for (char *p = name; *p != '\0'; p++)
			*p = (char)(*p >= 'A' && *p <= 'Z' ? *p - 'A' + 'a' : *p);
		o += (size_t)snprintf(counts + o, sizeof(counts) - o, " %s=%u", name, s->counts[v]);
	}
	log_info("disconnect from %s%s commands=%u%s%s", s->client, counts, s->commands,
		 reason != NULL ? " reason=" : "", reason != NULL ? reason : "");
}

static void smtp_on_close(struct conn *c, const char *reason, void *ctx)
{
	struct smtp_session *s = ctx;
	struct smtp_server *srv = s->srv;

	(void)c;
	smtp_log_disconnect(s, reason);
	if (s->ip_counted)
		smtp_ip_leave(srv, conn_peer_ip(s->conn));
	/* A parked IPC request must not call back into a freed session. */
	for (int r = 0; r < ROLE_COUNT; r++)
		ipc_link_cancel(srv->w->peers[r], s);
	smtp_tx_reset(s);
	smtp_session_auth_end(s);
	free(s);
	smtp_server_session_gone(srv);
}

static void smtp_on_timeout(struct conn *c, void *ctx)
{
	struct smtp_session *s = ctx;

	(void)c;
	/* RELIABILITY 72-73: a per-command deadline, not reset by single bytes. */
	smtp_session_end(s, "421 4.4.2 %s Error: timeout exceeded", s->srv->hostname);
}

static void smtp_on_tls_ready(struct conn *c, void *ctx)
{
	struct smtp_session *s = ctx;

	log_info("%s: TLS established: %s with cipher %s", s->client, conn_tls_version(c),
		 conn_tls_cipher(c));
}

static const struct conn_callbacks smtp_conn_callbacks = {
	.on_read = smtp_on_read,
	.on_close = smtp_on_close,
	.on_timeout = smtp_on_timeout,
	.on_tls_ready = smtp_on_tls_ready,
};

static struct smtp_session *smtp_session_new(struct smtp_listener *l)
{
	struct smtp_session *s = calloc(1, sizeof(*s));

	if (s == NULL)
		fatal("out of memory");
	s->srv = l->srv;
	s->service = l->service;
	s->spool_fd = -1;
	smtp_line_init(&s->reader, s->line_buf, sizeof(s->line_buf));
	return s;
}

/* RELIABILITY 74: caps on connections in total and per client address. */
static bool smtp_session_over_limits(struct smtp_session *s)
{
	struct smtp_server *srv = s->srv;

	if (srv->sessions > srv->limits.max_connections) {
		log_warning("%s: too many connections (smtp.max_connections %u)", s->client,
			    srv->limits.max_connections);
		smtp_session_end(s, "421 4.7.0 %s Error: too many connections", srv->hostname);
		return true;
	}
	if (!smtp_ip_enter(srv, conn_peer_ip(s->conn))) {
		log_warning("%s: too many connections from this address "
			    "(smtp.max_connections_per_ip %u)", s->client,
			    srv->limits.max_connections_per_ip);
		smtp_session_end(s, "421 4.7.0 %s Error: too many connections from your address",
				 srv->hostname);
		return true;
	}
	s->ip_counted = true;
	return false;
}

void smtp_session_accept(struct smtp_listener *l)
{
	struct smtp_server *srv = l->srv;
	struct smtp_session *s = smtp_session_new(l);

	s->conn = conn_new(srv->w->loop, (uv_stream_t *)&l->handle, &smtp_conn_callbacks, s);
	if (s->conn == NULL) {
		free(s);
		return;
	}
	srv->sessions++;
	s->start_ms = uv_now(srv->w->loop);
	snprintf(s->client, sizeof(s->client), "unknown[%s]", conn_peer_ip(s->conn));
	log_info("connect from %s", s->client);
	if (smtp_session_over_limits(s))
		return;
	if (l->service == SMTP_SERVICE_SMTPS) {
		if (srv->tls == NULL || conn_start_tls(s->conn, srv->tls) < 0) {
			/* RELIABILITY F17: no certificate, no implicit-TLS service. */
			conn_close(s->conn, false);
			return;
		}
	}
	smtp_arm_timeout(s, srv->limits.command_timeout_ms);
	smtp_reply(s, "220 %s ESMTP maild", srv->hostname);
}
