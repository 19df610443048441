#ifndef MAILD_CONN_INT_H
#define MAILD_CONN_INT_H

/* Shared by conn.c (socket, timers, close) and conn_tls.c (OpenSSL); not for other modules. */

#include <netinet/in.h>
#include <openssl/ssl.h>

#include "conn.h"

enum conn_state {
	CONN_OPEN,     /* reading and writing */
	CONN_FLUSHING, /* conn_close(c, true): sending what is queued, then shutdown */
	CONN_CLOSING,  /* uv_close called on every handle; on_close comes from the last one */
};

/* Plaintext accepted before TLS could take it (handshake not finished). */
struct conn_plain {
	struct conn_plain *next;
	size_t len;
	size_t off;
	uint8_t data[];
};

struct conn {
	uv_tcp_t tcp;
	uv_timer_t timer;
	uv_idle_t kick; /* delivers TLS data left over from a pause, from the next loop turn */
	uv_shutdown_t shutdown_req;
	int open_handles;
	enum conn_state state;
	bool notify; /* on_close is due (false when conn_new failed) */
	bool reading;
	bool paused;
	bool eof;
	struct conn_callbacks cb;
	void *ctx;
	char reason[160];

	char peer_ip[INET6_ADDRSTRLEN];
	char local_ip[INET6_ADDRSTRLEN];
	uint16_t peer_port;
	uint16_t local_port;

	size_t output_limit;
	bool drain_due; /* output had to wait: on_drain when it is all gone */
	uint64_t deadline, hs_deadline, flush_deadline; /* uv_now() ms; 0: none */
	uint64_t hs_timeout, flush_timeout;

	SSL *ssl; /* NULL until conn_start_tls() */
	BIO *rbio, *wbio;
	bool tls_ready;
	struct conn_plain *plain_head, **plain_tail;
	size_t plain_bytes;
};

/* The one read buffer of the process (conn.c): each read is consumed (delivered, or handed to
   OpenSSL) before the loop asks for the next, so connections need no buffer of their own. */
extern uint8_t conn_rbuf[CONN_READ_BUF];

/* conn.c, for conn_tls.c */
void conn_deliver(struct conn *c, const uint8_t *data, size_t len);
void conn_got_eof(struct conn *c);
/* Start the close with reason (the first reason given wins). */
void conn_shut(struct conn *c, bool flush, const char *reason);
/* Hand bytes to the socket (already encrypted when TLS is on). -1 when the conn closed. */
int conn_send(struct conn *c, const uint8_t *data, size_t len);
/* 0 when len more bytes may wait in our memory; otherwise close the conn and -1. */
int conn_check_limit(struct conn *c, size_t len);
/* Call on_drain if output had to wait and none is left. */
void conn_check_drained(struct conn *c);
void conn_arm_timer(struct conn *c);
void conn_update_reading(struct conn *c);

/* conn_tls.c */
int conn_tls_start(struct conn *c, struct tls_ctx *ctx);
/* Ciphertext arrived from the socket. */
void conn_tls_input(struct conn *c, const uint8_t *data, size_t len);
/* Handshake, then decrypt and deliver until TLS wants more input or the conn pauses. */
void conn_tls_process(struct conn *c);
bool conn_tls_has_input(const struct conn *c);
int conn_tls_write(struct conn *c, const uint8_t *data, size_t len);
/* Send close_notify (conn_close with flush). */
void conn_tls_shutdown(struct conn *c);
void conn_tls_free(struct conn *c);

#endif
