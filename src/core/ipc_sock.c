#include <errno.h>
#include <stdbool.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "ipc_sock.h"

/* Linux refuses a record longer than the send buffer less 32 bytes (af_unix.c); keep margin. */
#define SOCK_SNDBUF_WANT (IPC_RECV_BUF + 4096)
/* Room to receive, and close, a few fds more than the one a frame may carry. */
#define SOCK_FDS_MAX 8

struct sock_fds {
	int fd[SOCK_FDS_MAX];
	size_t count;
};

static int sock_sndbuf(int sock)
{
	int got;
	socklen_t len = sizeof(got);

	if (getsockopt(sock, SOL_SOCKET, SO_SNDBUF, &got, &len) < 0)
		return -1;
	return got;
}

static int sock_raise_sndbuf(int sock)
{
	int want = SOCK_SNDBUF_WANT;

	if (setsockopt(sock, SOL_SOCKET, SO_SNDBUF, &want, sizeof(want)) < 0)
		return -1;
	if (sock_sndbuf(sock) >= want)
		return 0;
	/* SO_SNDBUF is capped by net.core.wmem_max; the FORCE variant needs CAP_NET_ADMIN. */
	if (setsockopt(sock, SOL_SOCKET, SO_SNDBUFFORCE, &want, sizeof(want)) == 0 &&
	    sock_sndbuf(sock) >= want)
		return 0;
	errno = ENOBUFS;
	return -1;
}

int ipc_sock_pair(int sv[2])
{
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		return -1;
	if (sock_raise_sndbuf(sv[0]) < 0 || sock_raise_sndbuf(sv[1]) < 0) {
		int saved = errno;
		close(sv[0]);
		close(sv[1]);
		errno = saved;
		return -1;
	}
	return 0;
}

union sock_one_fd {
	struct cmsghdr align;
	uint8_t buf[CMSG_SPACE(sizeof(int))];
};

static void sock_attach_fd(struct msghdr *msg, union sock_one_fd *ctl, int fd)
{
	memset(ctl, 0, sizeof(*ctl));
	msg->msg_control = ctl->buf;
	msg->msg_controllen = sizeof(ctl->buf);
	struct cmsghdr *c = CMSG_FIRSTHDR(msg);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &fd, sizeof(int));
}

int ipc_sock_send(int sock, uint16_t type, uint32_t id, const void *payload, size_t len, int fd)
{
	uint8_t hdr[IPC_HEADER_SIZE];
	union sock_one_fd ctl;
	uint16_t flags = fd >= 0 ? IPC_FLAG_FD : 0;

	if (len > IPC_PAYLOAD_MAX ||
	    ipc_frame_header_encode(hdr, type, flags, id, (uint32_t)len) < 0) {
		errno = EMSGSIZE;
		return -1;
	}
	struct iovec iov[2] = {
	    {.iov_base = hdr, .iov_len = sizeof(hdr)},
	    {.iov_base = (void *)payload, .iov_len = len},
	};
	struct msghdr msg = {.msg_iov = iov, .msg_iovlen = len > 0 ? 2 : 1};
	if (fd >= 0)
		sock_attach_fd(&msg, &ctl, fd);
	ssize_t n;
	do
		n = sendmsg(sock, &msg, MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -1;
	/* SEQPACKET sends a record whole or fails; anything else is not the socket we expect. */
	if ((size_t)n != sizeof(hdr) + len) {
		errno = EIO;
		return -1;
	}
	return 0;
}

static void sock_collect_fds(struct msghdr *msg, struct sock_fds *fds)
{
	fds->count = 0;
	for (struct cmsghdr *c = CMSG_FIRSTHDR(msg); c != NULL; c = CMSG_NXTHDR(msg, c)) {
		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		size_t n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (size_t i = 0; i < n && fds->count < SOCK_FDS_MAX; i++) {
			memcpy(&fds->fd[fds->count], CMSG_DATA(c) + i * sizeof(int), sizeof(int));
			fds->count++;
		}
	}
}

static void sock_close_fds(const struct sock_fds *fds)
{
	int saved = errno;

	for (size_t i = 0; i < fds->count; i++)
		close(fds->fd[i]);
	errno = saved;
}

static const char *sock_check_record(const struct ipc_types *types, const uint8_t *buf, size_t n,
                                     int msg_flags, size_t nfds, struct ipc_frame *frame_r)
{
	const char *error;

	if ((msg_flags & MSG_TRUNC) != 0)
		return "IPC record larger than the receive buffer";
	/* Linux closes the fds that did not fit; the ones that did are in nfds. */
	if ((msg_flags & MSG_CTRUNC) != 0)
		return "IPC record with too much control data";
	if (n < IPC_HEADER_SIZE)
		return "IPC record shorter than a header";
	if (ipc_frame_header_decode(types, buf, frame_r, &error) < 0)
		return error;
	if (n - IPC_HEADER_SIZE != frame_r->len)
		return "IPC header length is not the record's";
	if (nfds > 1)
		return "more than one fd with an IPC record";
	bool flagged = (frame_r->flags & IPC_FLAG_FD) != 0;
	if (flagged && nfds == 0)
		return "IPC fd flag without an fd";
	if (!flagged && nfds == 1)
		return "fd with an IPC record without the fd flag";
	frame_r->payload = buf + IPC_HEADER_SIZE;
	return NULL;
}

int ipc_sock_recv(int sock, const struct ipc_types *types, uint8_t *buf, size_t size,
                  struct ipc_frame *frame_r, int *fd_r, const char **error_r)
{
	union {
		struct cmsghdr align;
		uint8_t buf[CMSG_SPACE(SOCK_FDS_MAX * sizeof(int))];
	} ctl;
	struct iovec iov = {.iov_base = buf, .iov_len = size};
	struct msghdr msg = {
	    .msg_iov = &iov,
	    .msg_iovlen = 1,
	    .msg_control = ctl.buf,
	    .msg_controllen = sizeof(ctl.buf),
	};
	struct sock_fds fds;
	ssize_t n;

	*fd_r = -1;
	do
		n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -1;
	sock_collect_fds(&msg, &fds);
	if (n == 0 && fds.count == 0 && (msg.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) == 0)
		return 0;
	*error_r = sock_check_record(types, buf, (size_t)n, msg.msg_flags, fds.count, frame_r);
	if (*error_r != NULL) {
		sock_close_fds(&fds);
		errno = EBADMSG;
		return -1;
	}
	*fd_r = fds.count == 1 ? fds.fd[0] : -1;
	return 1;
}
