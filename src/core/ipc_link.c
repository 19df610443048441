#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ipc_link.h"
#include "ipc_sock.h"
#include "log.h"
#include "strutil.h"

struct ipc_out {
	struct ipc_out *next;
	uint16_t type;
	uint32_t id;
	int fd;
	size_t len;
	uint8_t payload[];
};

struct ipc_pending {
	struct ipc_pending *next;
	uint32_t id;
	uint16_t type;
	ipc_reply_cb *cb;
	void *ctx;
};

struct ipc_link {
	uv_poll_t poll;
	int sock;
	bool open;
	bool closing_handle;
	const struct ipc_types *types;
	char peer[32];
	ipc_msg_cb *on_msg;
	ipc_close_cb *on_close;
	void *ctx;
	struct ipc_out *out_head, **out_tail;
	size_t out_bytes;
	struct ipc_pending *pending;
	uint32_t next_id;
	uint8_t *recv_buf;
};

static void ipc_link_on_poll(uv_poll_t *poll, int status, int events);

struct ipc_link *ipc_link_new(uv_loop_t *loop, int sock, const struct ipc_types *types,
			      const char *peer, ipc_msg_cb *on_msg, ipc_close_cb *on_close,
			      void *ctx)
{
	struct ipc_link *link = calloc(1, sizeof(*link));

	if (link == NULL || (link->recv_buf = malloc(IPC_RECV_BUF)) == NULL)
		fatal("out of memory");
	int flags = fcntl(sock, F_GETFL);
	if (flags < 0 || fcntl(sock, F_SETFL, flags | O_NONBLOCK) < 0)
		fatal("ipc: fcntl O_NONBLOCK: %s", strerror(errno));
	link->sock = sock;
	link->open = true;
	link->types = types;
	(void)str_copy(link->peer, sizeof(link->peer), peer);
	link->on_msg = on_msg;
	link->on_close = on_close;
	link->ctx = ctx;
	link->out_tail = &link->out_head;
	link->next_id = 1;
	if (uv_poll_init(loop, &link->poll, sock) != 0)
		fatal("ipc: uv_poll_init failed");
	link->poll.data = link;
	uv_poll_start(&link->poll, UV_READABLE, ipc_link_on_poll);
	return link;
}

bool ipc_link_is_open(const struct ipc_link *link)
{
	return link != NULL && link->open;
}

const char *ipc_link_peer(const struct ipc_link *link)
{
	return link->peer;
}

static void ipc_link_drop_queue(struct ipc_link *link)
{
	while (link->out_head != NULL) {
		struct ipc_out *o = link->out_head;

		link->out_head = o->next;
		if (o->fd >= 0)
			close(o->fd);
		free(o);
	}
	link->out_tail = &link->out_head;
	link->out_bytes = 0;
}

static void ipc_link_fail_pending(struct ipc_link *link)
{
	while (link->pending != NULL) {
		struct ipc_pending *p = link->pending;

		link->pending = p->next;
		if (p->cb != NULL)
			p->cb(NULL, -1, p->ctx);
		free(p);
	}
}

/* Stop using the socket; tell the owner once. */
static void ipc_link_shut(struct ipc_link *link, bool malformed, const char *reason)
{
	if (!link->open)
		return;
	link->open = false;
	uv_poll_stop(&link->poll);
	ipc_link_drop_queue(link);
	ipc_link_fail_pending(link);
	if (link->on_close != NULL)
		link->on_close(link, malformed, reason, link->ctx);
}

static void ipc_link_on_handle_closed(uv_handle_t *handle)
{
	struct ipc_link *link = handle->data;

	close(link->sock);
	free(link->recv_buf);
	free(link);
}

void ipc_link_free(struct ipc_link **linkp)
{
	struct ipc_link *link = *linkp;

	if (link == NULL)
		return;
	*linkp = NULL;
	link->on_close = NULL;
	ipc_link_shut(link, false, "closed");
	if (!link->closing_handle) {
		link->closing_handle = true;
		uv_close((uv_handle_t *)&link->poll, ipc_link_on_handle_closed);
	}
}

static void ipc_link_update_poll(struct ipc_link *link)
{
	int events = UV_READABLE | (link->out_head != NULL ? UV_WRITABLE : 0);

	uv_poll_start(&link->poll, events, ipc_link_on_poll);
}

/* Write queued frames until the socket is full. -1 when the link broke. */
static int ipc_link_flush(struct ipc_link *link)
{
	while (link->out_head != NULL) {
		struct ipc_out *o = link->out_head;

		if (ipc_sock_send(link->sock, o->type, o->id, o->payload, o->len, o->fd) < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				break;
			ipc_link_shut(link, false, strerror(errno));
			return -1;
		}
		link->out_head = o->next;
		if (link->out_head == NULL)
			link->out_tail = &link->out_head;
		link->out_bytes -= o->len;
		if (o->fd >= 0)
			close(o->fd);
		free(o);
	}
	ipc_link_update_poll(link);
	return 0;
}

int ipc_link_send(struct ipc_link *link, uint16_t type, uint32_t id, const struct ipc_wbuf *payload,
		  int fd)
{
	size_t len = payload != NULL ? payload->len : 0;
	struct ipc_out *o;

	if (!ipc_link_is_open(link) || (payload != NULL && payload->failed))
		return -1;
	if (link->out_bytes + len > IPC_LINK_QUEUE_MAX) {
		log_error("ipc: %s is not reading its messages; closing the link", link->peer);
		ipc_link_shut(link, false, "output queue full");
		return -1;
	}
	o = malloc(sizeof(*o) + len);
	if (o == NULL)
		fatal("out of memory");
	o->next = NULL;
	o->type = type;
	o->id = id;
	o->len = len;
	o->fd = fd >= 0 ? fcntl(fd, F_DUPFD_CLOEXEC, 3) : -1;
	if (fd >= 0 && o->fd < 0) {
		free(o);
		return -1;
	}
	if (len > 0)
		memcpy(o->payload, payload->data, len);
	*link->out_tail = o;
	link->out_tail = &o->next;
	link->out_bytes += len;
	return ipc_link_flush(link);
}

int ipc_link_request(struct ipc_link *link, uint16_t type, const struct ipc_wbuf *payload, int fd,
		     ipc_reply_cb *cb, void *ctx)
{
	struct ipc_pending *p;
	uint32_t id;

	if (!ipc_link_is_open(link))
		return -1;
	id = link->next_id++;
	if (link->next_id == 0)
		link->next_id = 1;
	if (ipc_link_send(link, type, id, payload, fd) < 0)
		return -1;
	p = calloc(1, sizeof(*p));
	if (p == NULL)
		fatal("out of memory");
	p->id = id;
	p->type = type;
	p->cb = cb;
	p->ctx = ctx;
	p->next = link->pending;
	link->pending = p;
	return 0;
}

void ipc_link_cancel(struct ipc_link *link, void *ctx)
{
	if (link == NULL)
		return;
	for (struct ipc_pending *p = link->pending; p != NULL; p = p->next) {
		if (p->ctx == ctx)
			p->cb = NULL;
	}
}

/* A reply to one of our requests? Then hand it over and return true. */
static bool ipc_link_take_reply(struct ipc_link *link, const struct ipc_frame *frame, int fd)
{
	struct ipc_pending **pp;

	if ((frame->type & IPC_REPLY) == 0)
		return false;
	for (pp = &link->pending; *pp != NULL; pp = &(*pp)->next) {
		struct ipc_pending *p = *pp;

		if (p->id != frame->id || (p->type | IPC_REPLY) != frame->type)
			continue;
		*pp = p->next;
		if (p->cb != NULL)
			p->cb(frame, fd, p->ctx);
		else if (fd >= 0)
			close(fd);
		free(p);
		return true;
	}
	return false;
}

static void ipc_link_read(struct ipc_link *link)
{
	/* A bounded batch per wake-up keeps one busy peer from starving the loop. */
	for (int i = 0; i < 64 && link->open; i++) {
		struct ipc_frame frame;
		const char *error = NULL;
		int fd = -1;
		int ret = ipc_sock_recv(link->sock, link->types, link->recv_buf, IPC_RECV_BUF,
					&frame, &fd, &error);

		if (ret == 0) {
			ipc_link_shut(link, false, "end of file");
			return;
		}
		if (ret < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
				return;
			if (errno == EBADMSG) {
				log_error("ipc: malformed message from %s: %s", link->peer,
					  error != NULL ? error : "?");
				ipc_link_shut(link, true, error != NULL ? error : "malformed");
			} else {
				ipc_link_shut(link, false, strerror(errno));
			}
			return;
		}
		if (ipc_link_take_reply(link, &frame, fd))
			continue;
		if ((frame.type & IPC_REPLY) != 0) {
			/* A late reply for a cancelled request, or one never asked: harmless. */
			if (fd >= 0)
				close(fd);
			continue;
		}
		link->on_msg(link, &frame, fd, link->ctx);
	}
}

static void ipc_link_on_poll(uv_poll_t *poll, int status, int events)
{
	struct ipc_link *link = poll->data;

	if (status < 0) {
		ipc_link_shut(link, false, uv_strerror(status));
		return;
	}
	if ((events & UV_WRITABLE) != 0 && ipc_link_flush(link) < 0)
		return;
	if ((events & UV_READABLE) != 0)
		ipc_link_read(link);
}
