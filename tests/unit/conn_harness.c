/* The test server and client of test_conn.c: see conn_harness.h. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/x509.h>

#include "conn_harness.h"

static char tmp_dir[] = "/tmp/maild-test-conn-XXXXXX";
char cert_a[256], key_a[256], cert_b[256], key_b[256], junk[256];

/* ---- the test server ---- */

static void on_resume_timer(uv_timer_t *t);

static void server_maybe_finish(struct server *srv)
{
	if (!srv->done || srv->open > 0 || srv->finished)
		return;
	srv->finished = true;
	uv_close((uv_handle_t *)&srv->listener, NULL);
	uv_close((uv_handle_t *)&srv->client_done, NULL);
	uv_close((uv_handle_t *)&srv->guard, NULL);
	uv_close((uv_handle_t *)&srv->resume_timer, NULL);
}

static void record(char *buf, size_t *len, size_t size, const uint8_t *data, size_t n)
{
	if (n > size - *len)
		n = size - *len;
	memcpy(buf + *len, data, n);
	*len += n;
}

static void say(struct session *s, const char *text)
{
	(void)conn_write(s->c, text, strlen(text));
}

static void session_flood(struct session *s)
{
	static uint8_t chunk[64 * 1024];

	memset(chunk, 'f', sizeof(chunk));
	while (s->r->flood_written < FLOOD_TOTAL && conn_write(s->c, chunk, sizeof(chunk)) == 0) {
		s->r->flood_written += sizeof(chunk);
		if (conn_output_pending(s->c) > s->r->peak_pending)
			s->r->peak_pending = conn_output_pending(s->c);
	}
}

static void session_big(struct session *s)
{
	uint8_t *big = malloc(BIG_REPLY);

	assert_non_null(big);
	memset(big, 'b', BIG_REPLY);
	(void)conn_write(s->c, big, BIG_REPLY);
	free(big);
	say(s, "\r\n");
}

/* Write while little waits, continue from on_drain: how IMAP will send a large message. */
static void session_pump(struct session *s)
{
	static uint8_t chunk[64 * 1024];

	memset(chunk, 'h', sizeof(chunk));
	while (s->huge_left > 0 && conn_output_pending(s->c) < HUGE_MARK) {
		size_t n = s->huge_left < sizeof(chunk) ? s->huge_left : sizeof(chunk);

		if (conn_write(s->c, chunk, n) < 0)
			return;
		s->huge_left -= n;
	}
}

static void on_drain(struct conn *c, void *ctx)
{
	(void)c;
	session_pump(ctx);
}

static void session_reload(struct session *s)
{
	struct tls_ctx *fresh;
	char error[256];

	if (tls_ctx_load(cert_b, key_b, &fresh, error, sizeof(error)) < 0)
		fail_msg("reload: %s", error);
	tls_ctx_free(&s->srv->tls);
	s->srv->tls = fresh;
	say(s, "RELOADED\r\n");
}

/* One command; false when parsing must stop (TLS started, paused, closed). */
static bool session_command(struct session *s, const char *cmd)
{
	if (strcmp(cmd, "STARTTLS") == 0) {
		say(s, "220 go\r\n");
		s->tls_started = conn_start_tls(s->c, s->srv->tls) == 0;
		/* RFC 3207 4.2: what followed STARTTLS in plaintext is dropped, unread. */
		s->line_len = 0;
		return false;
	}
	if (strcmp(cmd, "PAUSE") == 0) {
		conn_pause(s->c);
		s->srv->paused = s;
		say(s, "PAUSED\r\n");
		uv_timer_start(&s->srv->resume_timer, on_resume_timer, 100, 0);
		return false;
	}
	if (strcmp(cmd, "FLOOD") == 0)
		session_flood(s);
	else if (strcmp(cmd, "BIG") == 0)
		session_big(s);
	else if (strcmp(cmd, "FILL") == 0)
		session_flood(s), conn_close(s->c, true);
	else if (strcmp(cmd, "HUGE") == 0)
		s->huge_left = HUGE_REPLY, session_pump(s);
	else if (strcmp(cmd, "RELOAD") == 0)
		session_reload(s);
	else if (strcmp(cmd, "QUIT") == 0)
		say(s, "BYE\r\n"), conn_close(s->c, true);
	else
		say(s, cmd), say(s, "\r\n");
	return conn_is_open(s->c);
}

static void session_lines(struct session *s)
{
	char *nl;

	while ((nl = memchr(s->line, '\n', s->line_len)) != NULL) {
		size_t used = (size_t)(nl - s->line) + 1;
		char cmd[sizeof(s->line)];

		memcpy(cmd, s->line, used - 1);
		cmd[used > 1 && s->line[used - 2] == '\r' ? used - 2 : used - 1] = '\0';
		memmove(s->line, s->line + used, s->line_len - used);
		s->line_len -= used;
		if (!session_command(s, cmd))
			return;
	}
}

static void on_resume_timer(uv_timer_t *t)
{
	struct server *srv = t->data;
	struct session *s = srv->paused;

	srv->paused = NULL;
	if (s == NULL)
		return;
	s->r->resumes++;
	conn_resume(s->c);
	session_lines(s);
}

static void on_read(struct conn *c, const uint8_t *data, size_t len, void *ctx)
{
	struct session *s = ctx;

	(void)c;
	if (s->srv->paused == s)
		s->r->read_while_paused = true;
	record(s->r->got, &s->r->got_len, sizeof(s->r->got), data, len);
	if (s->tls_started)
		record(s->r->got_tls, &s->r->got_tls_len, sizeof(s->r->got_tls), data, len);
	assert_true(len <= sizeof(s->line) - s->line_len);
	memcpy(s->line + s->line_len, data, len);
	s->line_len += len;
	session_lines(s);
}

static void on_tls_ready(struct conn *c, void *ctx)
{
	struct session *s = ctx;

	s->r->tls_ready_calls++;
	(void)str_copy(s->r->version, sizeof(s->r->version), conn_tls_version(c));
	(void)str_copy(s->r->cipher, sizeof(s->r->cipher), conn_tls_cipher(c));
	if (s->srv->close_on_tls_ready)
		conn_close(c, false);
}

static void on_eof(struct conn *c, void *ctx)
{
	(void)ctx;
	(void)conn_write(c, "EOF\r\n", 5);
	conn_close(c, true);
}

/* The first deadline only warns and re-arms; the second one says goodbye. */
static void on_timeout(struct conn *c, void *ctx)
{
	struct session *s = ctx;

	if (s->r->timeouts++ == 0 && s->srv->rearm_once) {
		say(s, "WAIT\r\n");
		conn_set_timeout(c, s->srv->idle_timeout);
		return;
	}
	say(s, "421 timeout\r\n");
	conn_close(c, true);
}

static void on_close(struct conn *c, const char *reason, void *ctx)
{
	struct session *s = ctx;
	struct server *srv = s->srv;

	(void)str_copy(s->r->reason, sizeof(s->r->reason), reason);
	s->r->elapsed = uv_now(&srv->loop) - s->started;
	assert_non_null(conn_peer_ip(c));
	if (srv->paused == s)
		srv->paused = NULL;
	free(s);
	srv->open--;
	atomic_fetch_add(&srv->closed, 1);
	server_maybe_finish(srv);
}

static void on_connection(uv_stream_t *listener, int status)
{
	struct server *srv = listener->data;
	struct conn_callbacks cb = {.on_read = on_read,
	                            .on_close = on_close,
	                            .on_tls_ready = on_tls_ready,
	                            .on_drain = on_drain};
	struct session *s = calloc(1, sizeof(*s));

	assert_int_equal(status, 0);
	assert_non_null(s);
	assert_true(srv->nconn < 4);
	cb.on_eof = srv->use_on_eof ? on_eof : NULL;
	cb.on_timeout = srv->goodbye_on_timeout ? on_timeout : NULL;
	s->srv = srv;
	s->r = &srv->res[srv->nconn++];
	s->started = uv_now(&srv->loop);
	s->c = conn_new(&srv->loop, listener, &cb, s);
	assert_non_null(s->c);
	srv->open++;
	assert_string_equal(conn_peer_ip(s->c), "127.0.0.1");
	assert_string_equal(conn_local_ip(s->c), "127.0.0.1");
	assert_int_equal(conn_local_port(s->c), srv->port);
	assert_true(conn_peer_port(s->c) != 0);
	if (srv->output_limit != 0)
		conn_set_output_limit(s->c, srv->output_limit);
	if (srv->flush_timeout != 0)
		conn_set_flush_timeout(s->c, srv->flush_timeout);
	if (srv->hs_timeout != 0)
		conn_set_handshake_timeout(s->c, srv->hs_timeout);
	if (srv->idle_timeout != 0)
		conn_set_timeout(s->c, srv->idle_timeout);
	if (srv->implicit_tls)
		s->tls_started = conn_start_tls(s->c, srv->tls) == 0;
	say(s, "HELLO\r\n"); /* with implicit TLS it waits for the handshake */
}

static void on_client_done(uv_async_t *async)
{
	struct server *srv = async->data;

	srv->done = true;
	server_maybe_finish(srv);
}

static void on_guard(uv_timer_t *t)
{
	(void)t;
	fprintf(stderr, "test_conn: hung for %d ms, aborting\n", HANG_GUARD_MS);
	abort();
}

void server_start(struct server *srv)
{
	struct sockaddr_in sin;
	struct sockaddr_storage ss;
	int len = sizeof(ss);

	assert_int_equal(uv_loop_init(&srv->loop), 0);
	assert_int_equal(uv_tcp_init(&srv->loop, &srv->listener), 0);
	assert_int_equal(uv_ip4_addr("127.0.0.1", 0, &sin), 0);
	assert_int_equal(uv_tcp_bind(&srv->listener, (struct sockaddr *)&sin, 0), 0);
	srv->listener.data = srv;
	assert_int_equal(uv_listen((uv_stream_t *)&srv->listener, 16, on_connection), 0);
	assert_int_equal(uv_tcp_getsockname(&srv->listener, (struct sockaddr *)&ss, &len), 0);
	srv->port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
	uv_async_init(&srv->loop, &srv->client_done, on_client_done);
	uv_timer_init(&srv->loop, &srv->guard);
	uv_timer_init(&srv->loop, &srv->resume_timer);
	srv->client_done.data = srv->resume_timer.data = srv;
	uv_timer_start(&srv->guard, on_guard, HANG_GUARD_MS, 0);
}

void tls_server_start(struct server *srv)
{
	char error[256];

	server_start(srv);
	if (tls_ctx_load(cert_a, key_a, &srv->tls, error, sizeof(error)) < 0)
		fail_msg("%s", error);
	srv->implicit_tls = true;
}

static void *client_main(void *arg)
{
	struct client *cl = arg;

	cl->fn(cl);
	uv_async_send(&cl->srv->client_done);
	return NULL;
}

void server_run(struct server *srv, struct client *cl, void (*fn)(struct client *))
{
	pthread_t thread;

	cl->srv = srv;
	cl->fn = fn;
	assert_int_equal(pthread_create(&thread, NULL, client_main, cl), 0);
	uv_run(&srv->loop, UV_RUN_DEFAULT);
	assert_int_equal(pthread_join(thread, NULL), 0);
	assert_int_equal(uv_loop_close(&srv->loop), 0);
	if (cl->error[0] != '\0')
		fail_msg("client: %s", cl->error);
}

/* ---- the client side (in its own thread: no cmocka asserts here) ---- */

bool peer_connect(struct client *cl, struct peer *p, int rcvbuf)
{
	struct sockaddr_in sin = {.sin_family = AF_INET,
	                          .sin_port = htons((uint16_t)cl->srv->port),
	                          .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	struct timeval tv = {.tv_sec = 60};

	memset(p, 0, sizeof(*p));
	p->fd = socket(AF_INET, SOCK_STREAM, 0);
	if (p->fd < 0)
		return false;
	(void)setsockopt(p->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (rcvbuf > 0)
		(void)setsockopt(p->fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
	return connect(p->fd, (struct sockaddr *)&sin, sizeof(sin)) == 0;
}

bool peer_tls(struct peer *p, int minv, int maxv, const char *sni)
{
	p->ctx = SSL_CTX_new(TLS_client_method());
	SSL_CTX_set_min_proto_version(p->ctx, minv);
	SSL_CTX_set_max_proto_version(p->ctx, maxv);
	if (minv < TLS1_2_VERSION) {
		SSL_CTX_set_security_level(p->ctx, 0);
		SSL_CTX_set_cipher_list(p->ctx, "DEFAULT:@SECLEVEL=0");
	}
	p->ssl = SSL_new(p->ctx);
	SSL_set_fd(p->ssl, p->fd);
	if (sni != NULL)
		SSL_set_tlsext_host_name(p->ssl, sni);
	return SSL_connect(p->ssl) == 1;
}

void peer_close(struct peer *p)
{
	SSL_free(p->ssl);
	SSL_CTX_free(p->ctx);
	if (p->fd >= 0)
		close(p->fd);
	ERR_clear_error();
	memset(p, 0, sizeof(*p));
	p->fd = -1;
}

bool peer_send(struct peer *p, const char *text)
{
	int len = (int)strlen(text);

	if (p->ssl != NULL)
		return SSL_write(p->ssl, text, len) == len;
	return send(p->fd, text, (size_t)len, MSG_NOSIGNAL) == len;
}

int peer_recv(struct peer *p, char *buf, size_t size)
{
	if (p->ssl != NULL) {
		int n = SSL_read(p->ssl, buf, (int)size);

		return n > 0 ? n : SSL_get_error(p->ssl, n) == SSL_ERROR_ZERO_RETURN ? 0 : -1;
	}
	return (int)recv(p->fd, buf, size, 0);
}

bool peer_expect(struct peer *p, const char *line)
{
	char buf[256];
	size_t len = 0;

	while (len < sizeof(buf) - 1 && (len < 2 || memcmp(buf + len - 2, "\r\n", 2) != 0)) {
		if (peer_recv(p, buf + len, 1) != 1)
			return false;
		len++;
	}
	buf[len] = '\0';
	return len == strlen(line) + 2 && memcmp(buf, line, len - 2) == 0;
}

bool peer_expect_bytes(struct peer *p, size_t n, char c)
{
	char buf[16384];
	size_t got = 0;

	while (got < n) {
		size_t want = n - got < sizeof(buf) ? n - got : sizeof(buf);
		int r = peer_recv(p, buf, want);

		if (r <= 0)
			return false;
		for (int i = 0; i < r; i++) {
			if (buf[i] != c)
				return false;
		}
		got += (size_t)r;
	}
	return true;
}

void peer_drain(struct client *cl, struct peer *p)
{
	char buf[4096];
	int n;

	while ((n = peer_recv(p, buf, sizeof(buf))) > 0) {
		size_t take = (size_t)n < sizeof(cl->text) - 1 - cl->text_len
		                  ? (size_t)n
		                  : sizeof(cl->text) - 1 - cl->text_len;

		memcpy(cl->text + cl->text_len, buf, take);
		cl->text_len += take;
	}
	cl->text[cl->text_len] = '\0';
}

bool peer_cn_is(struct peer *p, const char *cn)
{
	X509 *cert = SSL_get1_peer_certificate(p->ssl);
	char name[64] = "";

	if (cert != NULL)
		X509_NAME_get_text_by_NID(X509_get_subject_name(cert), NID_commonName, name,
		                          sizeof(name));
	X509_free(cert);
	return strcmp(name, cn) == 0;
}

/* ---- fixtures ---- */

static int make_cert(char *cert, char *key, const char *name)
{
	char cmd[1024];

	if (str_printf(cert, 256, "%s/%s.crt", tmp_dir, name) < 0 ||
	    str_printf(key, 256, "%s/%s.key", tmp_dir, name) < 0 ||
	    str_printf(cmd, sizeof(cmd),
	               "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -noenc "
	               "-days 2 -subj /CN=%s.test -keyout %s -out %s 2>/dev/null",
	               name, key, cert) < 0)
		return -1;
	return system(cmd) == 0 ? 0 : -1;
}

int harness_setup(void **state)
{
	FILE *fp;

	(void)state;
	if (mkdtemp(tmp_dir) == NULL || make_cert(cert_a, key_a, "a") < 0 ||
	    make_cert(cert_b, key_b, "b") < 0 ||
	    str_printf(junk, sizeof(junk), "%s/junk.pem", tmp_dir) < 0)
		return -1;
	fp = fopen(junk, "w");
	if (fp == NULL)
		return -1;
	fputs("not a PEM file\n", fp);
	fclose(fp);
	return 0;
}

int harness_teardown(void **state)
{
	const char *files[] = {cert_a, key_a, cert_b, key_b, junk};

	(void)state;
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++)
		unlink(files[i]);
	return rmdir(tmp_dir);
}
