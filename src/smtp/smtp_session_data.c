/* DATA: the message text into an unlinked spool file, then to the delivery worker; 250 only
   when every recipient's copy is durable (DESIGN.md, "How a message flows"). */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "../core/ipc_msg.h"
#include "../core/log.h"
#include "smtp_session.h"

static void smtp_spool_flush(struct smtp_session *s)
{
	size_t off = 0;

	while (off < s->spool_len && !s->spool_failed) {
		ssize_t n = write(s->spool_fd, s->spool_buf + off, s->spool_len - off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			log_error("%s: spool write: %s", s->queue_id, strerror(errno));
			s->spool_failed = true;
			break;
		}
		off += (size_t)n;
	}
	s->spool_len = 0;
}

static void smtp_spool_put(struct smtp_session *s, const void *p, size_t len)
{
	const uint8_t *b = p;

	while (len > 0 && !s->spool_failed) {
		size_t room = sizeof(s->spool_buf) - s->spool_len;
		size_t n = len < room ? len : room;

		memcpy(s->spool_buf + s->spool_len, b, n);
		s->spool_len += n;
		b += n;
		len -= n;
		if (s->spool_len == sizeof(s->spool_buf))
			smtp_spool_flush(s);
	}
}

static void smtp_spool_out(const uint8_t *p, size_t len, void *ctx)
{
	smtp_spool_put(ctx, p, len);
}

/* Decoded message text goes through the header filter on its way to the spool: X-Spam-*
   fields are ours to set (the filter step), never the sender's. */
static void smtp_data_out(const uint8_t *p, size_t len, void *ctx)
{
	struct smtp_session *s = ctx;

	smtp_header_filter_feed(&s->headers, p, len);
}

static void smtp_date(char *out, size_t size)
{
	time_t now = time(NULL);
	struct tm tm;

	localtime_r(&now, &tm);
	strftime(out, size, "%a, %d %b %Y %H:%M:%S %z", &tm);
}

/* RFC 5321 4.4: our trace field first. The client's HELO is untrusted: escaped as in logs.
   A submitting user is named (never the password), as Postfix's smtpd_sasl_authenticated_header
   does; RFC 3848 gives the protocol name. */
static void smtp_put_received(struct smtp_session *s)
{
	char date[64], line[2048], auth[600] = "";
	int n;

	smtp_date(date, sizeof(date));
	if (s->auth_user[0] != '\0')
		snprintf(auth, sizeof(auth), "\t(Authenticated sender: %s)\r\n",
			 log_esc(s->auth_user));
	n = snprintf(line, sizeof(line),
		     "Received: from %s (%s)\r\n%s\tby %s (maild) with %s id %s\r\n%s%s%s%s%s"
		     "\tfor <%s>; %s\r\n",
		     log_esc(s->helo), s->client, auth, s->srv->hostname, smtp_proto(s),
		     s->queue_id, conn_is_tls(s->conn) ? "\t(using " : "",
		     conn_is_tls(s->conn) ? conn_tls_version(s->conn) : "",
		     conn_is_tls(s->conn) ? " with cipher " : "",
		     conn_is_tls(s->conn) ? conn_tls_cipher(s->conn) : "",
		     conn_is_tls(s->conn) ? ")\r\n" : "", log_esc(s->rcpts[0].orig_to), date);
	if (n > 0 && (size_t)n < sizeof(line))
		smtp_spool_put(s, line, (size_t)n);
}

/* RFC 6409 8.2-8.3: a submission server adds Message-ID and Date when the client did not. */
static void smtp_submission_fields(struct smtp_header_filter *f, void *ctx)
{
	struct smtp_session *s = ctx;
	char line[600], date[64];
	uint8_t r[8];
	int n;

	if (!(f->seen & SMTP_HEADER_SEEN_MESSAGE_ID)) {
		if (getrandom(r, sizeof(r), 0) != (ssize_t)sizeof(r))
			memset(r, 0, sizeof(r));
		n = snprintf(line, sizeof(line),
			     "Message-ID: <%s.%02x%02x%02x%02x%02x%02x%02x%02x@%s>\r\n",
			     s->queue_id, r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7],
			     s->srv->hostname);
		if (n > 0 && (size_t)n < sizeof(line))
			smtp_spool_put(s, line, (size_t)n);
	}
	if (!(f->seen & SMTP_HEADER_SEEN_DATE)) {
		smtp_date(date, sizeof(date));
		n = snprintf(line, sizeof(line), "Date: %s\r\n", date);
		if (n > 0 && (size_t)n < sizeof(line))
			smtp_spool_put(s, line, (size_t)n);
	}
}

/* The spool file and the decoder for one message; -1 when the file cannot be made. */
static int smtp_message_open(struct smtp_session *s, enum smtp_data_mode mode)
{
	struct smtp_data_limits limits = { .size_max = s->srv->size_max,
					   .line_max = s->srv->limits.line_length,
					   .hops_max = SMTP_DATA_HOPS_MAX_DEFAULT };

	/* Unlinked: nothing is acknowledged from this file, so it needs no fsync and no
	   clean-up after a crash; delivery makes the durable copies. */
	s->spool_fd = smtp_spool_take(&s->srv->spool_pool, s->srv->spool_dir);
	if (s->spool_fd < 0) {
		log_error("%s: spool file in %s: %s", s->queue_id, s->srv->spool_dir,
			  strerror(errno));
		return -1;
	}
	s->spool_len = 0;
	s->spool_failed = false;
	smtp_put_received(s);
	smtp_header_filter_init(&s->headers, "x-spam-", smtp_spool_out, s);
	if (s->auth_user[0] != '\0')
		smtp_header_filter_on_end(&s->headers, smtp_submission_fields);
	smtp_data_init(&s->data, &limits, mode, smtp_data_out, s);
	return 0;
}

void smtp_session_data_start(struct smtp_session *s)
{
	if (smtp_message_open(s, SMTP_DATA_DOT) < 0) {
		smtp_reply_error(s, "451 4.3.0 Error: queue file write error");
		return;
	}
	s->mode = SMTP_MODE_DATA;
	smtp_arm_timeout(s, s->srv->limits.data_timeout_ms);
	smtp_reply(s, "354 End data with <CR><LF>.<CR><LF>");
}

static void smtp_data_reject(struct smtp_session *s, const char *reply)
{
	log_info("%s: reject: DATA from %s: %s; from=<%s> to=<%s> proto=%s helo=<%s>",
		 s->queue_id, s->client, reply, log_esc(s->sender), log_esc(s->rcpts[0].orig_to),
		 smtp_proto(s), log_esc(s->helo));
	smtp_reply_error(s, "%s", reply);
	smtp_tx_reset(s);
}

static size_t smtp_count_remote(const struct smtp_session *s)
{
	size_t n = 0;

	for (size_t i = 0; i < s->nrcpt; i++)
		n += s->rcpts[i].remote;
	return n;
}

/* The single DATA reply for every recipient (RFC 5321 4.2.5): 250 only if all are durable. */
static void smtp_message_accepted(struct smtp_session *s)
{
	if (s->auth_user[0] != '\0')
		log_info("%s: client=%s, sasl_method=%s, sasl_username=%s", s->queue_id, s->client,
			 s->auth_method, log_esc(s->auth_user));
	log_info("%s: from=<%s>, size=%llu, nrcpt=%zu (%s)", s->queue_id, log_esc(s->sender),
		 (unsigned long long)smtp_data_size(&s->data), s->nrcpt,
		 smtp_count_remote(s) > 0 ? "queued" : "delivered");
	s->messages++;
	smtp_reply(s, "250 2.0.0 Ok: queued as %s", s->queue_id);
}

static void smtp_transaction_done(struct smtp_session *s)
{
	smtp_tx_reset(s);
	s->mode = SMTP_MODE_COMMAND;
	smtp_session_resume(s);
}

static void smtp_queue_done(const struct ipc_frame *frame, int fd, void *ctx)
{
	struct smtp_session *s = ctx;
	char text[256] = "queue unavailable, try again";
	uint8_t status = IPC_DELIVER_TEMPFAIL;
	struct ipc_rbuf r;

	if (fd >= 0)
		close(fd);
	if (frame != NULL) {
		s->spool_lent = false;
		ipc_rbuf_init(&r, frame->payload, frame->len);
		status = ipc_get_u8(&r);
		ipc_get_str(&r, text, sizeof(text));
		if (ipc_rbuf_end(&r) < 0)
			status = IPC_DELIVER_TEMPFAIL;
	}
	if (status == IPC_DELIVER_OK)
		smtp_message_accepted(s);
	else
		smtp_reply_error(s, "451 4.3.0 Error: %s", text);
	smtp_transaction_done(s);
}

/* Remote recipients to the outbound queue; its answer ends the transaction. */
static void smtp_queue(struct smtp_session *s)
{
	struct ipc_wbuf b;
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	ipc_wbuf_init(&b);
	ipc_put_str(&b, s->queue_id);
	ipc_put_str(&b, s->sender);
	ipc_put_i64(&b, (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
	ipc_put_u8(&b, s->ret);
	ipc_put_str(&b, s->envid);
	ipc_put_str(&b, s->auth_user);
	ipc_put_u32(&b, (uint32_t)smtp_count_remote(s));
	for (size_t i = 0; i < s->nrcpt; i++) {
		if (!s->rcpts[i].remote)
			continue;
		ipc_put_str(&b, s->rcpts[i].address);
		ipc_put_str(&b, s->rcpts[i].orig_to);
		ipc_put_u8(&b, s->rcpts[i].notify);
		ipc_put_str(&b, s->rcpts[i].orcpt);
	}
	if (ipc_link_request(s->srv->w->peers[ROLE_QUEUE], IPC_QUEUE_ADD, &b, s->spool_fd,
			     smtp_queue_done, s) < 0) {
		smtp_reply_error(s, "451 4.3.0 Error: queue unavailable, try again");
		smtp_tx_reset(s);
	} else {
		s->spool_lent = true;
		smtp_session_wait(s);
	}
	ipc_wbuf_free(&b);
}

/* delivery's answer for the local recipients: all durable, or the first failure decides and
   the client retries the whole message. */
static bool smtp_deliver_answer(struct smtp_session *s, struct ipc_rbuf *r)
{
	uint32_t n = ipc_get_u32(r);
	char dsn[16] = "4.3.0", text[256] = "temporary failure";
	bool ok = n == s->nrcpt - smtp_count_remote(s);

	for (uint32_t i = 0; i < n && !r->failed; i++) {
		char d[16], t[256];
		uint8_t status = ipc_get_u8(r);

		ipc_get_str(r, d, sizeof(d));
		ipc_get_str(r, t, sizeof(t));
		if (status != 0 && ok) {
			ok = false;
			snprintf(dsn, sizeof(dsn), "%s", d);
			snprintf(text, sizeof(text), "%s", t);
		}
	}
	if (ipc_rbuf_end(r) < 0)
		ok = false;
	if (!ok)
		smtp_reply_error(s, "%s %s Error: %s", dsn[0] == '5' ? "554" : "451", dsn, text);
	return ok;
}

static void smtp_deliver_done(const struct ipc_frame *frame, int fd, void *ctx)
{
	struct smtp_session *s = ctx;
	struct ipc_rbuf r;

	if (fd >= 0)
		close(fd);
	if (frame == NULL) {
		smtp_reply_error(s, "451 4.3.0 Error: delivery unavailable, try again");
	} else {
		s->spool_lent = false;
		ipc_rbuf_init(&r, frame->payload, frame->len);
		if (smtp_deliver_answer(s, &r)) {
			if (smtp_count_remote(s) == 0)
				smtp_message_accepted(s);
			else {
				smtp_queue(s);
				return;
			}
		}
	}
	smtp_transaction_done(s);
}

static void smtp_deliver(struct smtp_session *s)
{
	size_t nlocal = s->nrcpt - smtp_count_remote(s);
	struct ipc_wbuf b;
	struct timespec ts;

	if (nlocal == 0) {
		smtp_queue(s);
		return;
	}
	clock_gettime(CLOCK_REALTIME, &ts);
	ipc_wbuf_init(&b);
	ipc_put_str(&b, s->queue_id);
	ipc_put_str(&b, s->sender);
	ipc_put_i64(&b, (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
	ipc_put_u32(&b, (uint32_t)nlocal);
	for (size_t i = 0; i < s->nrcpt; i++) {
		if (s->rcpts[i].remote)
			continue;
		ipc_put_str(&b, s->rcpts[i].address);
		ipc_put_str(&b, s->rcpts[i].orig_to);
		ipc_put_str(&b, s->rcpts[i].maildir);
		ipc_put_u64(&b, s->rcpts[i].quota);
		ipc_put_str(&b, "");
	}
	/* The link sends a duplicate: ours stays open for the queue. */
	if (ipc_link_request(s->srv->w->peers[ROLE_DELIVERY], IPC_DELIVER, &b, s->spool_fd,
			     smtp_deliver_done, s) < 0) {
		smtp_reply_error(s, "451 4.3.0 Error: delivery unavailable, try again");
		smtp_tx_reset(s);
	} else {
		s->spool_lent = true;
		smtp_session_wait(s);
	}
	ipc_wbuf_free(&b);
}

static void smtp_message_end(struct smtp_session *s, unsigned flags)
{
	smtp_header_filter_finish(&s->headers);
	s->mode = SMTP_MODE_COMMAND;
	smtp_arm_timeout(s, s->srv->limits.command_timeout_ms);
	smtp_spool_flush(s);
	if (flags & SMTP_DATA_BAD_LINE_ENDING)
		smtp_data_reject(s, "550 5.5.2 Error: bare <CR> or <LF> in message text");
	else if (flags & (SMTP_DATA_TOO_BIG | SMTP_DATA_LINE_TOO_LONG))
		smtp_data_reject(s, flags & SMTP_DATA_TOO_BIG
					    ? "552 5.3.4 Error: message size exceeds fixed limit"
					    : "552 5.3.4 Error: message line too long");
	else if (flags & SMTP_DATA_TOO_MANY_HOPS)
		smtp_data_reject(s, "554 5.4.6 Error: too many hops");
	else if (s->spool_failed)
		smtp_data_reject(s, "451 4.3.0 Error: queue file write error");
	else
		smtp_deliver(s);
}

size_t smtp_session_data_feed(struct smtp_session *s, const uint8_t *in, size_t len)
{
	size_t used = 0;

	if (smtp_data_feed(&s->data, in, len, &used) == SMTP_DATA_END)
		smtp_message_end(s, smtp_data_flags(&s->data));
	return used;
}

/* RFC 3030 2: a chunk is read whatever happens, so the session stays in step; what would
   have refused the command is answered once its octets are in. */
static const char *smtp_bdat_refusal(struct smtp_session *s)
{
	if (!s->has_mail)
		return "503 5.5.1 Error: need MAIL command";
	if (s->nrcpt == 0)
		return "554 5.5.1 Error: no valid recipients";
	if (!s->bdat_started && smtp_message_open(s, SMTP_DATA_CHUNK) < 0)
		return "451 4.3.0 Error: queue file write error";
	s->bdat_started = true;
	return NULL;
}

static void smtp_bdat_chunk_done(struct smtp_session *s)
{
	s->mode = SMTP_MODE_COMMAND;
	smtp_arm_timeout(s, s->srv->limits.command_timeout_ms);
	if (s->bdat_refusal != NULL) {
		smtp_reply_error(s, "%s", s->bdat_refusal);
		if (s->bdat_started)
			smtp_tx_reset(s);
		return;
	}
	if (s->bdat_last) {
		smtp_message_end(s, smtp_data_finish(&s->data));
		return;
	}
	smtp_reply(s, "250 2.0.0 Ok: %llu octets received",
		   (unsigned long long)smtp_data_size(&s->data));
}

void smtp_session_bdat_start(struct smtp_session *s, uint64_t size, bool last)
{
	s->bdat_refusal = smtp_bdat_refusal(s);
	s->bdat_left = size;
	s->bdat_last = last;
	s->mode = SMTP_MODE_BDAT;
	smtp_arm_timeout(s, s->srv->limits.data_timeout_ms);
	if (size == 0)
		smtp_bdat_chunk_done(s);
}

size_t smtp_session_bdat_feed(struct smtp_session *s, const uint8_t *in, size_t len)
{
	size_t n = len < s->bdat_left ? len : (size_t)s->bdat_left;
	size_t used = 0;

	if (s->bdat_refusal == NULL)
		(void)smtp_data_feed(&s->data, in, n, &used);
	s->bdat_left -= n;
	if (s->bdat_left == 0)
		smtp_bdat_chunk_done(s);
	return n;
}
