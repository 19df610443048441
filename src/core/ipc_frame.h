#ifndef MAILD_IPC_FRAME_H
#define MAILD_IPC_FRAME_H

#include <stddef.h>
#include <stdint.h>

#include "ipc_buf.h"

/*
 * An IPC frame is a 16-byte header, all little-endian,
 *   u32 magic and version   IPC_MAGIC_VERSION: 'M','L' in the high half, IPC_VERSION in the low
 *   u16 type                one of the caller's ipc_types; any other is malformed
 *   u16 flags               IPC_FLAG_FD or 0; any other bit is malformed
 *   u32 id                  request id, echoed by the reply
 *   u32 length              payload bytes that follow, at most the type's max_len
 * then the payload (ipc_buf.h).
 */

/* Bump whenever a header or payload layout changes: both ends must be the same build. */
#define IPC_VERSION 2
#define IPC_MAGIC 0x4D4C0000u
#define IPC_MAGIC_VERSION (IPC_MAGIC | IPC_VERSION)
#define IPC_HEADER_SIZE 16
/* A file descriptor travels with this frame (ipc_sock.h). */
#define IPC_FLAG_FD 0x0001u

struct ipc_type_info {
	uint16_t type;
	uint32_t max_len; /* at most IPC_PAYLOAD_MAX */
	const char *name;
};

/* The types a link accepts. Only the pointer is kept: the table must outlive its users. */
struct ipc_types {
	const struct ipc_type_info *list;
	size_t count;
};

struct ipc_frame {
	uint16_t type;
	uint16_t flags;
	uint32_t id;
	uint32_t len;
	const uint8_t *payload; /* len bytes; never NULL in a complete frame */
};

/* Checks a table once, at start-up: names set, no type twice, every max_len at most
 * IPC_PAYLOAD_MAX. Returns 0, or -1 with error_r. */
int ipc_types_check(const struct ipc_types *types, const char **error_r);
/* The entry for a type, or NULL. */
const struct ipc_type_info *ipc_types_find(const struct ipc_types *types, uint16_t type);

/* Writes a header. Returns 0, or -1 when flags has unknown bits or len > IPC_PAYLOAD_MAX. */
int ipc_frame_header_encode(uint8_t out[IPC_HEADER_SIZE], uint16_t type, uint16_t flags,
                            uint32_t id, uint32_t len);

/*
 * Reads and checks a header: magic and version, flags, type known to types, length within the
 * type's max_len and IPC_PAYLOAD_MAX. The one place where headers are validated. Returns 0 with
 * frame_r filled (payload NULL), or -1 with error_r; frame_r then still holds the raw fields,
 * for a log line.
 */
int ipc_frame_header_decode(const struct ipc_types *types, const uint8_t in[IPC_HEADER_SIZE],
                            struct ipc_frame *frame_r, const char **error_r);

/*
 * Incremental decoder for a byte stream of frames. Holds at most IPC_HEADER_SIZE + the largest
 * max_len of its table, allocated once. Never touches a socket.
 */
struct ipc_decoder;

/* NULL with errno EINVAL when ipc_types_check() refuses the table, ENOMEM when out of memory.
 * types must outlive the decoder. */
struct ipc_decoder *ipc_decoder_new(const struct ipc_types *types);
void ipc_decoder_free(struct ipc_decoder **dp);

/*
 * Feeds bytes, split anywhere. *consumed_r says how many of in were used; the caller calls
 * again with the rest. Returns
 *    1  a frame is complete: *frame_r points into the decoder, valid until the next call;
 *       the bytes after it were not consumed
 *    0  every byte was consumed and more are needed
 *   -1  malformed, with *error_r: the header is refused as soon as its 16 bytes are in, before
 *       any payload byte is buffered. The decoder stays failed: every later call returns -1
 *       with the same error and consumes nothing.
 */
int ipc_decoder_feed(struct ipc_decoder *d, const uint8_t *in, size_t len, size_t *consumed_r,
                     struct ipc_frame *frame_r, const char **error_r);

#endif
