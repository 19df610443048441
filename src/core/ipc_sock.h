#ifndef MAILD_IPC_SOCK_H
#define MAILD_IPC_SOCK_H

#include <stddef.h>
#include <stdint.h>

#include "ipc_frame.h"

/*
 * One frame per record of an AF_UNIX SOCK_SEQPACKET socket, with at most one file descriptor
 * passed alongside (SCM_RIGHTS). A record is delivered whole or not at all, so there is no
 * partial send to resume and no stream to decode: ipc_sock_recv() checks the record itself.
 */

/* A receive buffer of this size holds any frame. */
#define IPC_RECV_BUF (IPC_HEADER_SIZE + IPC_PAYLOAD_MAX)

/*
 * socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC) with send buffers raised to carry a frame
 * of IPC_RECV_BUF bytes: the default (net.core.wmem_default, 208 KiB) refuses one with
 * EMSGSIZE. Tries SO_SNDBUFFORCE when net.core.wmem_max is too low for SO_SNDBUF. Blocking;
 * the caller sets O_NONBLOCK and clears FD_CLOEXEC on the end a child inherits.
 * Returns 0, or -1 with errno (ENOBUFS when the buffers cannot be raised far enough).
 */
int ipc_sock_pair(int sv[2]);

/*
 * Sends a header and the payload as one record; fd >= 0 goes with it and sets IPC_FLAG_FD.
 * The fd stays open on our side. Retries on EINTR; never raises SIGPIPE. Returns 0, or -1 with
 * errno: EAGAIN when a non-blocking socket's buffer is full (queue the frame and retry when
 * writable), EMSGSIZE when len > IPC_PAYLOAD_MAX or the socket's send buffer is too small,
 * EPIPE when the peer is gone. The per-type limit is the receiver's to enforce.
 */
int ipc_sock_send(int sock, uint16_t type, uint32_t id, const void *payload, size_t len, int fd);

/*
 * Receives one record into buf[size] (IPC_RECV_BUF holds any frame). Retries on EINTR.
 * Returns
 *    1  *frame_r is a checked frame whose payload points into buf; *fd_r is the fd that came
 *       with it (close-on-exec, now the caller's) or -1
 *    0  orderly EOF (a zero-length record reads the same; our senders never make one)
 *   -1  errno EAGAIN: nothing ready on a non-blocking socket; other errnos from recvmsg
 *   -1  errno EBADMSG with *error_r: a malformed record. Truncated (bigger than size, or more
 *       control data than we take), shorter than a header, a header refused by
 *       ipc_frame_header_decode(), a header length that is not the record's, IPC_FLAG_FD with
 *       no fd, an fd without IPC_FLAG_FD, or more than one fd. Every fd that came is closed.
 * Control messages other than SCM_RIGHTS (SO_PASSCRED credentials) are ignored.
 */
int ipc_sock_recv(int sock, const struct ipc_types *types, uint8_t *buf, size_t size,
                  struct ipc_frame *frame_r, int *fd_r, const char **error_r);

#endif
