/* TLS for struct conn: OpenSSL reads and writes two memory BIOs; conn.c moves ciphertext between
   them and the socket. */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>

#include "conn_int.h"
#include "log.h"
#include "strutil.h"
#include "tls_ctx.h"

int conn_tls_start(struct conn *c, struct tls_ctx *ctx)
{
	SSL *ssl = tls_ctx_new_ssl(ctx);
	BIO *rbio = BIO_new(BIO_s_mem());
	BIO *wbio = BIO_new(BIO_s_mem());

	if (ssl == NULL || rbio == NULL || wbio == NULL) {
		log_error("TLS: cannot set up a connection for [%s]:%u", c->peer_ip, c->peer_port);
		SSL_free(ssl);
		BIO_free(rbio);
		BIO_free(wbio);
		ERR_clear_error();
		return -1;
	}
	/* An empty memory BIO means "wait for more", never end of file. */
	BIO_set_mem_eof_return(rbio, -1);
	BIO_set_mem_eof_return(wbio, -1);
	SSL_set_bio(ssl, rbio, wbio);
	SSL_set_accept_state(ssl);
	c->ssl = ssl;
	c->rbio = rbio;
	c->wbio = wbio;
	return 0;
}

void conn_tls_free(struct conn *c)
{
	struct conn_plain *p;

	while ((p = c->plain_head) != NULL) {
		c->plain_head = p->next;
		free(p);
	}
	c->plain_tail = &c->plain_head;
	c->plain_bytes = 0;
	SSL_free(c->ssl); /* frees both BIOs, drops the SSL_CTX reference */
	c->ssl = NULL;
	c->rbio = c->wbio = NULL;
}

/* Why OpenSSL failed, as a short phrase ("unsupported protocol", "sslv3 alert handshake
   failure"); clears the thread's error queue, which every connection shares. */
static void conn_tls_error_text(int err, char *out, size_t size)
{
	unsigned long e = ERR_peek_last_error();
	const char *reason = e != 0 ? ERR_reason_error_string(e) : NULL;

	if (reason != NULL)
		(void)str_copy(out, size, reason);
	else if (err == SSL_ERROR_SYSCALL)
		(void)str_copy(out, size, "unexpected end of stream");
	else
		(void)str_printf(out, size, "OpenSSL error %d", err);
	ERR_clear_error();
}

/* A handshake failure, a fatal alert from the client or a protocol error: log at info (the
   client's doing, not ours) and close after sending our alert, if OpenSSL wrote one. */
static void conn_tls_fail(struct conn *c, const char *what, int err)
{
	char text[96];
	char reason[160];

	conn_tls_error_text(err, text, sizeof(text));
	log_info("%s from [%s]:%u: %s", what, c->peer_ip, c->peer_port, text);
	(void)str_printf(reason, sizeof(reason), "%s: %s", what, text);
	conn_shut(c, true, reason);
}

/* Move what OpenSSL wrote to the socket, in pieces of at most CONN_TLS_OUT_CHUNK. -1 when the
   conn closed. */
#define CONN_TLS_OUT_CHUNK (256u * 1024)

static int conn_tls_flush_out(struct conn *c)
{
	size_t n;

	while ((n = BIO_ctrl_pending(c->wbio)) > 0) {
		uint8_t *buf;
		int ret;

		if (n > CONN_TLS_OUT_CHUNK)
			n = CONN_TLS_OUT_CHUNK;
		buf = malloc(n);
		if (buf == NULL)
			fatal("out of memory");
		if (BIO_read(c->wbio, buf, (int)n) != (int)n)
			fatal("conn: memory BIO returned less than it holds");
		ret = conn_send(c, buf, n);
		free(buf);
		if (ret < 0)
			return -1;
	}
	return 0;
}

void conn_tls_input(struct conn *c, const uint8_t *data, size_t len)
{
	if (BIO_write(c->rbio, data, (int)len) != (int)len)
		fatal("out of memory");
}

bool conn_tls_has_input(const struct conn *c)
{
	return BIO_ctrl_pending(c->rbio) > 0 || SSL_has_pending(c->ssl);
}

/* Encrypt as much of data as TLS takes now; *done_r says how much. -1 when the conn closed. */
static int conn_tls_write_now(struct conn *c, const uint8_t *data, size_t len, size_t *done_r)
{
	*done_r = 0;
	while (*done_r < len) {
		size_t chunk = len - *done_r < INT_MAX ? len - *done_r : INT_MAX;
		int n, err;

		ERR_clear_error();
		n = SSL_write(c->ssl, data + *done_r, (int)chunk);
		if (n > 0) {
			/* Partial writes come back record by record: move each batch on at once, so
			   a huge write meets the output limit early instead of piling up in the
			   BIO. */
			*done_r += (size_t)n;
			if (conn_tls_flush_out(c) < 0)
				return -1;
			continue;
		}
		err = SSL_get_error(c->ssl, n);
		if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE)
			return 0;
		conn_tls_fail(c, "TLS write error", err);
		return -1;
	}
	return 0;
}

static int conn_tls_queue_plain(struct conn *c, const uint8_t *data, size_t len)
{
	struct conn_plain *p;

	if (conn_check_limit(c, len) < 0)
		return -1;
	c->drain_due = true;
	p = malloc(sizeof(*p) + len);
	if (p == NULL)
		fatal("out of memory");
	p->next = NULL;
	p->len = len;
	p->off = 0;
	memcpy(p->data, data, len);
	*c->plain_tail = p;
	c->plain_tail = &p->next;
	c->plain_bytes += len;
	return 0;
}

/* Encrypt queued plaintext, in order, as far as TLS allows. -1 when the conn closed. */
static int conn_tls_write_queued(struct conn *c)
{
	struct conn_plain *p;

	while (c->tls_ready && (p = c->plain_head) != NULL) {
		size_t done;

		if (conn_tls_write_now(c, p->data + p->off, p->len - p->off, &done) < 0)
			return -1;
		p->off += done;
		c->plain_bytes -= done;
		if (p->off < p->len)
			break;
		c->plain_head = p->next;
		if (c->plain_head == NULL)
			c->plain_tail = &c->plain_head;
		free(p);
	}
	return 0;
}

int conn_tls_write(struct conn *c, const uint8_t *data, size_t len)
{
	size_t done = 0;

	if (c->tls_ready && c->plain_head == NULL && conn_tls_write_now(c, data, len, &done) < 0)
		return -1;
	if (conn_tls_flush_out(c) < 0)
		return -1;
	return done < len ? conn_tls_queue_plain(c, data + done, len - done) : 0;
}

static void conn_tls_established(struct conn *c)
{
	c->tls_ready = true;
	c->hs_deadline = 0;
	conn_arm_timer(c);
	if (conn_tls_write_queued(c) < 0 || conn_tls_flush_out(c) < 0)
		return;
	/* Output that waited for the handshake may be gone already: tell a writer waiting. */
	conn_check_drained(c);
	if (c->state == CONN_OPEN && c->cb.on_tls_ready != NULL)
		c->cb.on_tls_ready(c, c->ctx);
}

/* 1 when the handshake is done, 0 when it needs more input, -1 when the conn is closing. */
static int conn_tls_handshake(struct conn *c)
{
	int ret, err;

	ERR_clear_error();
	ret = SSL_do_handshake(c->ssl);
	err = ret == 1 ? SSL_ERROR_NONE : SSL_get_error(c->ssl, ret);
	/* Our flight, or the alert that explains a failure, goes out either way. */
	if (conn_tls_flush_out(c) < 0)
		return -1;
	if (ret == 1) {
		conn_tls_established(c);
		return c->state == CONN_OPEN ? 1 : -1;
	}
	if (err == SSL_ERROR_WANT_READ)
		return 0;
	conn_tls_fail(c, "TLS handshake failed", err);
	return -1;
}

/* Decrypt and deliver until TLS needs more input, or the owner paused or closed. */
static void conn_tls_read_loop(struct conn *c)
{
	while (c->state == CONN_OPEN && !c->paused && !c->eof) {
		int n, err;

		ERR_clear_error();
		n = SSL_read(c->ssl, conn_rbuf, (int)sizeof(conn_rbuf));
		if (n > 0) {
			conn_deliver(c, conn_rbuf, (size_t)n);
			continue;
		}
		err = SSL_get_error(c->ssl, n);
		if (err == SSL_ERROR_WANT_READ)
			return;
		if (err == SSL_ERROR_ZERO_RETURN) {
			/* close_notify: the client is done sending, like a TCP FIN. */
			conn_got_eof(c);
			return;
		}
		conn_tls_fail(c, "TLS error", err);
		return;
	}
}

void conn_tls_process(struct conn *c)
{
	if (c->state != CONN_OPEN || c->paused)
		return;
	if (!c->tls_ready && conn_tls_handshake(c) <= 0)
		return;
	conn_tls_read_loop(c);
	/* Reading can produce output (a KeyUpdate answer, an alert) and can unblock writes. */
	if (c->state == CONN_OPEN && conn_tls_write_queued(c) == 0)
		(void)conn_tls_flush_out(c);
}

void conn_tls_shutdown(struct conn *c)
{
	if (!c->tls_ready)
		return;
	ERR_clear_error();
	(void)SSL_shutdown(c->ssl);
	ERR_clear_error();
	(void)conn_tls_flush_out(c);
}

bool conn_is_tls(const struct conn *c)
{
	return c->ssl != NULL && c->tls_ready;
}

const char *conn_tls_version(const struct conn *c)
{
	return conn_is_tls(c) ? SSL_get_version(c->ssl) : NULL;
}

const char *conn_tls_cipher(const struct conn *c)
{
	return conn_is_tls(c) ? SSL_get_cipher_name(c->ssl) : NULL;
}
