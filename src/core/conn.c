#include <arpa/inet.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "conn_int.h"
#include "log.h"
#include "strutil.h"

struct conn_wreq {
	uv_write_t req; /* first: the callback frees the whole request through it */
	uint8_t data[];
};

static void conn_on_timer(uv_timer_t *timer);
static void conn_on_kick(uv_idle_t *idle);

/* Address to text; an IPv4-mapped IPv6 address as plain IPv4, which is what logs and fail2ban
   expect from a dual-stack listener. */
static void conn_addr_text(const struct sockaddr_storage *ss, char *ip, size_t size,
                           uint16_t *port_r)
{
	const void *addr = NULL;
	int family = ss->ss_family;

	*port_r = 0;
	if (family == AF_INET) {
		const struct sockaddr_in *sin = (const struct sockaddr_in *)ss;

		addr = &sin->sin_addr;
		*port_r = ntohs(sin->sin_port);
	} else if (family == AF_INET6) {
		const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)ss;

		addr = &sin6->sin6_addr;
		*port_r = ntohs(sin6->sin6_port);
		if (IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr)) {
			family = AF_INET;
			addr = &sin6->sin6_addr.s6_addr[12];
		}
	}
	if (addr == NULL || inet_ntop(family, addr, ip, (socklen_t)size) == NULL)
		(void)str_copy(ip, size, "unknown");
}

static void conn_fill_addresses(struct conn *c)
{
	struct sockaddr_storage ss;
	int len = sizeof(ss);

	memset(&ss, 0, sizeof(ss));
	if (uv_tcp_getpeername(&c->tcp, (struct sockaddr *)&ss, &len) != 0)
		ss.ss_family = AF_UNSPEC;
	conn_addr_text(&ss, c->peer_ip, sizeof(c->peer_ip), &c->peer_port);
	len = sizeof(ss);
	memset(&ss, 0, sizeof(ss));
	if (uv_tcp_getsockname(&c->tcp, (struct sockaddr *)&ss, &len) != 0)
		ss.ss_family = AF_UNSPEC;
	conn_addr_text(&ss, c->local_ip, sizeof(c->local_ip), &c->local_port);
}

static void conn_free(struct conn **cp)
{
	struct conn *c = *cp;

	if (c == NULL)
		return;
	*cp = NULL;
	conn_tls_free(c);
	free(c);
}

static void conn_on_handle_closed(uv_handle_t *handle)
{
	struct conn *c = handle->data;

	if (--c->open_handles > 0)
		return;
	/* libuv has cancelled every write and the shutdown before this last close callback: no
	   callback of ours can run after this point. */
	if (c->notify)
		c->cb.on_close(c, c->reason[0] != '\0' ? c->reason : "closed by server", c->ctx);
	conn_free(&c);
}

static void conn_close_handles(struct conn *c)
{
	if (c->state == CONN_CLOSING)
		return;
	c->state = CONN_CLOSING;
	c->reading = false;
	uv_close((uv_handle_t *)&c->tcp, conn_on_handle_closed);
	uv_close((uv_handle_t *)&c->timer, conn_on_handle_closed);
	uv_close((uv_handle_t *)&c->kick, conn_on_handle_closed);
}

uint8_t conn_rbuf[CONN_READ_BUF];

static void conn_alloc(uv_handle_t *handle, size_t suggested, uv_buf_t *buf)
{
	(void)handle;
	(void)suggested;
	*buf = uv_buf_init((char *)conn_rbuf, sizeof(conn_rbuf));
}

static void conn_on_read(uv_stream_t *stream, ssize_t nread, const uv_buf_t *buf)
{
	struct conn *c = stream->data;

	(void)buf;
	if (nread == 0 || c->state != CONN_OPEN)
		return;
	if (nread == UV_EOF) {
		conn_got_eof(c);
	} else if (nread < 0) {
		conn_shut(c, false, uv_strerror((int)nread));
	} else if (c->ssl != NULL) {
		conn_tls_input(c, conn_rbuf, (size_t)nread);
		conn_tls_process(c);
	} else {
		conn_deliver(c, conn_rbuf, (size_t)nread);
	}
}

void conn_update_reading(struct conn *c)
{
	bool want = c->state == CONN_OPEN && !c->paused && !c->eof;
	int ret;

	if (want == c->reading)
		return;
	if (!want) {
		uv_read_stop((uv_stream_t *)&c->tcp);
		c->reading = false;
		return;
	}
	ret = uv_read_start((uv_stream_t *)&c->tcp, conn_alloc, conn_on_read);
	if (ret != 0) {
		conn_shut(c, false, uv_strerror(ret));
		return;
	}
	c->reading = true;
}

static struct conn *conn_alloc_handles(uv_loop_t *loop, const struct conn_callbacks *cb, void *ctx)
{
	struct conn *c = calloc(1, sizeof(*c));

	if (c == NULL)
		fatal("out of memory");
	if (uv_tcp_init(loop, &c->tcp) != 0 || uv_timer_init(loop, &c->timer) != 0 ||
	    uv_idle_init(loop, &c->kick) != 0)
		fatal("conn: cannot initialise libuv handles");
	c->tcp.data = c->timer.data = c->kick.data = c;
	c->open_handles = 3;
	c->state = CONN_OPEN;
	c->cb = *cb;
	c->ctx = ctx;
	c->output_limit = CONN_OUTPUT_LIMIT_DEFAULT;
	c->hs_timeout = CONN_HANDSHAKE_TIMEOUT_DEFAULT;
	c->flush_timeout = CONN_FLUSH_TIMEOUT_DEFAULT;
	c->plain_tail = &c->plain_head;
	return c;
}

struct conn *conn_new(uv_loop_t *loop, uv_stream_t *server, const struct conn_callbacks *cb,
                      void *ctx)
{
	struct conn *c = conn_alloc_handles(loop, cb, ctx);
	int ret = uv_accept(server, (uv_stream_t *)&c->tcp);

	if (ret != 0) {
		log_warning("accept failed: %s", uv_strerror(ret));
		conn_close_handles(c);
		return NULL;
	}
	conn_fill_addresses(c);
	(void)uv_tcp_nodelay(&c->tcp, 1);
	conn_update_reading(c);
	if (c->state != CONN_OPEN) {
		/* Already gone: freed by the close callbacks, without a word to the caller. */
		return NULL;
	}
	c->notify = true;
	return c;
}

void conn_deliver(struct conn *c, const uint8_t *data, size_t len)
{
	c->cb.on_read(c, data, len, c->ctx);
}

void conn_got_eof(struct conn *c)
{
	c->eof = true;
	conn_update_reading(c);
	if (c->reason[0] == '\0')
		(void)str_copy(c->reason, sizeof(c->reason), "connection closed by client");
	if (c->cb.on_eof != NULL)
		c->cb.on_eof(c, c->ctx);
	else
		conn_shut(c, true, NULL);
}

/* ---- output ---- */

size_t conn_output_pending(const struct conn *c)
{
	return uv_stream_get_write_queue_size((const uv_stream_t *)&c->tcp) + c->plain_bytes;
}

void conn_set_output_limit(struct conn *c, size_t bytes)
{
	c->output_limit = bytes;
}

int conn_check_limit(struct conn *c, size_t len)
{
	size_t queued = conn_output_pending(c);

	if (len <= c->output_limit && queued <= c->output_limit - len)
		return 0;
	log_info("output limit of %zu bytes exceeded for [%s]:%u, client not reading; closing",
	         c->output_limit, c->peer_ip, c->peer_port);
	conn_shut(c, false, "output limit exceeded");
	return -1;
}

static void conn_on_written(uv_write_t *req, int status)
{
	struct conn *c = req->handle->data;

	free(req);
	if (status < 0) {
		if (status != UV_ECANCELED)
			conn_shut(c, false, uv_strerror(status));
		return;
	}
	conn_check_drained(c);
}

void conn_check_drained(struct conn *c)
{
	if (c->state != CONN_OPEN || !c->drain_due || conn_output_pending(c) > 0)
		return;
	c->drain_due = false;
	if (c->cb.on_drain != NULL)
		c->cb.on_drain(c, c->ctx);
}

/* Copy what the kernel did not take into a write request that libuv sends in order. */
static int conn_queue_write(struct conn *c, const uint8_t *data, size_t len)
{
	struct conn_wreq *w;
	uv_buf_t buf;
	int ret;

	if (conn_check_limit(c, len) < 0)
		return -1;
	c->drain_due = true;
	w = malloc(sizeof(*w) + len);
	if (w == NULL)
		fatal("out of memory");
	memcpy(w->data, data, len);
	buf = uv_buf_init((char *)w->data, (unsigned)len);
	ret = uv_write(&w->req, (uv_stream_t *)&c->tcp, &buf, 1, conn_on_written);
	if (ret != 0) {
		free(w);
		conn_shut(c, false, uv_strerror(ret));
		return -1;
	}
	return 0;
}

int conn_send(struct conn *c, const uint8_t *data, size_t len)
{
	uv_buf_t buf = uv_buf_init((char *)data, (unsigned)len);
	int n;

	if (len == 0)
		return 0;
	/* Straight to the kernel when nothing is queued (libuv answers EAGAIN otherwise, which
	   keeps the order): no copy, and only what really waits counts against the limit. */
	n = uv_try_write((uv_stream_t *)&c->tcp, &buf, 1);
	if (n < 0 && n != UV_EAGAIN) {
		conn_shut(c, false, uv_strerror(n));
		return -1;
	}
	if (n > 0) {
		data += n;
		len -= (size_t)n;
	}
	return len > 0 ? conn_queue_write(c, data, len) : 0;
}

int conn_write(struct conn *c, const void *data, size_t len)
{
	if (len > INT_MAX)
		fatal("conn_write: %zu bytes in one call", len);
	if (c->state != CONN_OPEN)
		return -1;
	if (c->ssl != NULL)
		return conn_tls_write(c, data, len);
	return conn_send(c, data, len);
}

/* ---- input control ---- */

int conn_start_tls(struct conn *c, struct tls_ctx *ctx)
{
	if (c->state != CONN_OPEN || c->ssl != NULL)
		return -1;
	/* Nothing to discard here: every chunk read is delivered whole by the time on_read
	   returns, and a paused conn reads nothing. What the socket yields from now on is fed to
	   TLS, where injected plaintext breaks the handshake. */
	if (conn_tls_start(c, ctx) < 0)
		return -1;
	c->hs_deadline = c->hs_timeout != 0 ? uv_now(c->tcp.loop) + c->hs_timeout : 0;
	conn_arm_timer(c);
	return 0;
}

void conn_pause(struct conn *c)
{
	c->paused = true;
	uv_idle_stop(&c->kick);
	conn_update_reading(c);
}

void conn_resume(struct conn *c)
{
	if (!c->paused || c->state != CONN_OPEN)
		return;
	c->paused = false;
	conn_update_reading(c);
	if (c->ssl != NULL && conn_tls_has_input(c))
		uv_idle_start(&c->kick, conn_on_kick);
}

static void conn_on_kick(uv_idle_t *idle)
{
	struct conn *c = idle->data;

	uv_idle_stop(idle);
	if (c->state == CONN_OPEN && !c->paused)
		conn_tls_process(c);
}

/* ---- close ---- */

static void conn_on_shutdown(uv_shutdown_t *req, int status)
{
	(void)status;
	conn_close_handles(req->handle->data);
}

static void conn_start_flush(struct conn *c)
{
	c->state = CONN_FLUSHING;
	uv_idle_stop(&c->kick);
	uv_read_stop((uv_stream_t *)&c->tcp);
	c->reading = false;
	if (c->ssl != NULL)
		conn_tls_shutdown(c);
	if (c->state != CONN_FLUSHING)
		return;
	/* uv_shutdown completes after every queued write: the flush and the FIN in one step. */
	if (uv_shutdown(&c->shutdown_req, (uv_stream_t *)&c->tcp, conn_on_shutdown) != 0) {
		conn_close_handles(c);
		return;
	}
	c->deadline = c->hs_deadline = 0;
	c->flush_deadline = uv_now(c->tcp.loop) + c->flush_timeout;
	conn_arm_timer(c);
}

void conn_shut(struct conn *c, bool flush, const char *reason)
{
	if (reason != NULL && c->reason[0] == '\0')
		(void)str_copy(c->reason, sizeof(c->reason), reason);
	if (c->state == CONN_CLOSING)
		return;
	if (!flush)
		conn_close_handles(c);
	else if (c->state == CONN_OPEN)
		conn_start_flush(c);
}

void conn_close(struct conn *c, bool flush)
{
	conn_shut(c, flush, "closed by server");
}

bool conn_is_open(const struct conn *c)
{
	return c->state == CONN_OPEN;
}

/* ---- timers ---- */

static uint64_t conn_earliest(uint64_t a, uint64_t b)
{
	if (a == 0)
		return b;
	if (b == 0)
		return a;
	return a < b ? a : b;
}

void conn_arm_timer(struct conn *c)
{
	uint64_t next =
	    conn_earliest(conn_earliest(c->deadline, c->hs_deadline), c->flush_deadline);
	uint64_t now = uv_now(c->tcp.loop);

	if (c->state == CONN_CLOSING)
		return;
	if (next == 0) {
		uv_timer_stop(&c->timer);
		return;
	}
	uv_timer_start(&c->timer, conn_on_timer, next > now ? next - now : 0, 0);
}

static void conn_on_deadline(struct conn *c)
{
	bool ours = c->reason[0] == '\0';

	c->deadline = 0;
	/* Set first, so a conn_close() from on_timeout reports the real cause. */
	if (ours)
		(void)str_copy(c->reason, sizeof(c->reason), "timeout");
	if (c->cb.on_timeout != NULL) {
		c->cb.on_timeout(c, c->ctx);
		if (c->state != CONN_OPEN)
			return;
		if (c->deadline != 0) {
			if (ours)
				c->reason[0] = '\0'; /* re-armed: not closing after all */
			return;
		}
	}
	conn_shut(c, true, "timeout");
}

static void conn_on_timer(uv_timer_t *timer)
{
	struct conn *c = timer->data;
	uint64_t now = uv_now(timer->loop);

	if (c->flush_deadline != 0 && now >= c->flush_deadline) {
		/* Queued output is lost: that says more than who started the close. */
		log_info("flush timeout for [%s]:%u, %zu bytes unsent", c->peer_ip, c->peer_port,
		         conn_output_pending(c));
		(void)str_copy(c->reason, sizeof(c->reason), "flush timeout");
		conn_shut(c, false, NULL);
	} else if (c->hs_deadline != 0 && now >= c->hs_deadline) {
		log_info("TLS handshake timeout from [%s]:%u", c->peer_ip, c->peer_port);
		conn_shut(c, false, "TLS handshake timeout");
	} else if (c->deadline != 0 && now >= c->deadline) {
		conn_on_deadline(c);
	}
	conn_arm_timer(c);
}

void conn_set_timeout(struct conn *c, uint64_t ms)
{
	if (c->state != CONN_OPEN)
		return;
	c->deadline = ms != 0 ? uv_now(c->tcp.loop) + ms : 0;
	conn_arm_timer(c);
}

void conn_set_handshake_timeout(struct conn *c, uint64_t ms)
{
	c->hs_timeout = ms;
	if (c->ssl != NULL && !c->tls_ready && c->state == CONN_OPEN) {
		c->hs_deadline = ms != 0 ? uv_now(c->tcp.loop) + ms : 0;
		conn_arm_timer(c);
	}
}

void conn_set_flush_timeout(struct conn *c, uint64_t ms)
{
	c->flush_timeout = ms;
}

/* ---- getters ---- */

const char *conn_peer_ip(const struct conn *c)
{
	return c->peer_ip;
}

uint16_t conn_peer_port(const struct conn *c)
{
	return c->peer_port;
}

const char *conn_local_ip(const struct conn *c)
{
	return c->local_ip;
}

uint16_t conn_local_port(const struct conn *c)
{
	return c->local_port;
}
