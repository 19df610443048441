#ifndef MAILD_IPC_LINK_H
#define MAILD_IPC_LINK_H

#include <stdint.h>
#include <uv.h>

#include "ipc_buf.h"
#include "ipc_frame.h"

/* Reply types are request types with this bit set; a frame of such a type whose id matches a
   parked request goes to that request's callback instead of the message callback. */
#define IPC_REPLY 0x8000u

struct ipc_link;

/* A message that is not a reply. fd is -1 or an fd now owned by the callback. */
typedef void ipc_msg_cb(struct ipc_link *link, const struct ipc_frame *frame, int fd, void *ctx);
/* The link is gone: EOF, an error, or a malformed frame (then malformed is true). The callback
   must not free the link; call ipc_link_free after it returns, e.g. from the owner's cleanup. */
typedef void ipc_close_cb(struct ipc_link *link, bool malformed, const char *reason, void *ctx);
/* The reply to a request; frame NULL when the link closed before it came. */
typedef void ipc_reply_cb(const struct ipc_frame *frame, int fd, void *ctx);

/* Takes ownership of sock (made non-blocking). peer names the other side in log lines. */
struct ipc_link *ipc_link_new(uv_loop_t *loop, int sock, const struct ipc_types *types,
			      const char *peer, ipc_msg_cb *on_msg, ipc_close_cb *on_close,
			      void *ctx);
/* Closes the socket, fails parked requests (their callbacks run with NULL), frees the link
   once libuv is done with it. Accepts NULL; leaves *link NULL. */
void ipc_link_free(struct ipc_link **link);
bool ipc_link_is_open(const struct ipc_link *link);
const char *ipc_link_peer(const struct ipc_link *link);

/* Send a message. fd (or -1) is duplicated, so the caller keeps its own. Queued in order when
   the socket is full; a peer that lets more than IPC_LINK_QUEUE_MAX bytes pile up is cut off.
   0 ok, -1 when the link is closed or the payload failed to build. */
int ipc_link_send(struct ipc_link *link, uint16_t type, uint32_t id, const struct ipc_wbuf *payload,
		  int fd);
/* Send a request with a fresh id and park cb until the reply (type | IPC_REPLY, same id).
   -1 when it could not be sent (cb is not called then). */
int ipc_link_request(struct ipc_link *link, uint16_t type, const struct ipc_wbuf *payload, int fd,
		     ipc_reply_cb *cb, void *ctx);
/* Forget a parked request (its owner went away); the reply, if it comes, is dropped. */
void ipc_link_cancel(struct ipc_link *link, void *ctx);

#define IPC_LINK_QUEUE_MAX (4u * 1024 * 1024)

#endif
