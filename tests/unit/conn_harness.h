#ifndef MAILD_TEST_CONN_HARNESS_H
#define MAILD_TEST_CONN_HARNESS_H

/* For test_conn.c: a small line server on struct conn, run on a real libuv loop on 127.0.0.1,
   and the client side (plain sockets, OpenSSL) that runs in a thread against it.

   Server commands, one per line: STARTTLS (220, then TLS; the rest of the line buffer is
   dropped), PAUSE (conn_pause, "PAUSED", resume 100 ms later), FLOOD (write up to FLOOD_TOTAL
   until conn_write refuses), FILL (FLOOD then conn_close with flush), BIG (one write of
   BIG_REPLY 'b' and CRLF), HUGE (HUGE_REPLY 'h' paced by on_drain), RELOAD (load cert b, free
   the old context), QUIT ("BYE", close with flush); anything else is echoed. The greeting is
   "HELLO". */

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include <openssl/ssl.h>

#include "conn.h"
#include "strutil.h"
#include "tls_ctx.h"

#define HANG_GUARD_MS 120000 /* only against a hang; no test measures speed */
#define FLOOD_TOTAL (10u * 1024 * 1024)
#define BIG_REPLY (512u * 1024)
#define HUGE_REPLY (4u * 1024 * 1024) /* streamed with on_drain, well past the output limit */
#define HUGE_MARK (256u * 1024)

/* Two self-signed EC certificates (CN a.test and b.test) and a file that is not PEM, made by
   harness_setup() in a temporary directory. */
extern char cert_a[256], key_a[256], cert_b[256], key_b[256], junk[256];

struct result {
	char reason[160];
	char got[4096]; /* everything on_read delivered */
	size_t got_len;
	char got_tls[4096]; /* the part delivered after conn_start_tls */
	size_t got_tls_len;
	int tls_ready_calls;
	char version[16];
	char cipher[64];
	uint64_t elapsed;
	size_t flood_written, peak_pending;
	int timeouts;
	bool read_while_paused;
	int resumes;
};

struct server {
	uv_loop_t loop;
	uv_tcp_t listener;
	uv_async_t client_done;
	uv_timer_t guard, resume_timer;
	int port;
	struct tls_ctx *tls;
	/* behaviour */
	bool implicit_tls, use_on_eof, goodbye_on_timeout, rearm_once, close_on_tls_ready;
	uint64_t hs_timeout, idle_timeout, flush_timeout;
	size_t output_limit;
	/* state */
	int open, nconn;
	bool done, finished;
	atomic_int closed;
	struct session *paused;
	struct result res[4];
};

struct session {
	struct server *srv;
	struct conn *c;
	struct result *r;
	uint64_t started;
	bool tls_started;
	size_t huge_left;
	char line[1024];
	size_t line_len;
};

struct client {
	struct server *srv;
	void (*fn)(struct client *);
	char error[256];
	bool flag; /* scenario-specific outcome */
	char text[8192];
	size_t text_len;
};

struct peer {
	int fd;
	SSL_CTX *ctx;
	SSL *ssl;
};

/* Client-side check, in the client thread (no cmocka there): record the first failure, which
   server_run() reports, and leave the scenario. */
#define CHECK(cl, cond)                                                                            \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			if ((cl)->error[0] == '\0')                                                \
				(void)str_printf((cl)->error, sizeof((cl)->error), "line %d: %s",  \
				                 __LINE__, #cond);                                 \
			return;                                                                    \
		}                                                                                  \
	} while (0)

void server_start(struct server *srv);
/* server_start, with cert a loaded and implicit TLS on (clear srv->implicit_tls for STARTTLS). */
void tls_server_start(struct server *srv);
/* Run fn in a client thread and the loop until the client is done and every conn has closed. */
void server_run(struct server *srv, struct client *cl, void (*fn)(struct client *));

bool peer_connect(struct client *cl, struct peer *p, int rcvbuf);
/* Client handshake with versions [minv, maxv]; an old version needs security level 0 to be
   offered at all by OpenSSL 3. */
bool peer_tls(struct peer *p, int minv, int maxv, const char *sni);
void peer_close(struct peer *p);
bool peer_send(struct peer *p, const char *text);
/* 0 at EOF, -1 on error. */
int peer_recv(struct peer *p, char *buf, size_t size);
/* Read one CRLF line and compare it with line. */
bool peer_expect(struct peer *p, const char *line);
/* Read exactly n bytes, all equal to c. */
bool peer_expect_bytes(struct peer *p, size_t n, char c);
/* Read until EOF or error into cl->text. */
void peer_drain(struct client *cl, struct peer *p);
bool peer_cn_is(struct peer *p, const char *cn);

int harness_setup(void **state);
int harness_teardown(void **state);

#endif
