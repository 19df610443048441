#ifndef MAILD_IPC_BUF_H
#define MAILD_IPC_BUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Typed IPC payloads. A payload is a fixed sequence of fields that both sides agree on per
 * message type; nothing on the wire names or tags a field. Encoding, all little-endian:
 *   u8/u16/u32/u64   fixed width
 *   i64              two's complement, as u64
 *   bool             one byte, 0 or 1; any other value is malformed
 *   bytes, str       u32 length, then that many bytes; a string has no NUL on the wire, and
 *                    the NULL string is the length IPC_STR_NULL with no bytes
 * Changing any layout means bumping IPC_VERSION (ipc_frame.h).
 */

/* The largest payload of any frame; each type has its own smaller limit (ipc_frame.h). */
#define IPC_PAYLOAD_MAX (256u * 1024u)
/* The length that encodes a NULL string. */
#define IPC_STR_NULL UINT32_MAX

/*
 * Payload writer. Grows as needed. A put that would take the payload past IPC_PAYLOAD_MAX, or
 * that runs out of memory, sets failed; failed is sticky and every later put does nothing, so a
 * builder checks it once, after its last put. data/len hold the payload when !failed.
 */
struct ipc_wbuf {
	uint8_t *data;
	size_t len, cap;
	bool failed;
};

void ipc_wbuf_init(struct ipc_wbuf *w);
/* Frees the data and leaves w empty, as after ipc_wbuf_init(). */
void ipc_wbuf_free(struct ipc_wbuf *w);

void ipc_put_u8(struct ipc_wbuf *w, uint8_t v);
void ipc_put_u16(struct ipc_wbuf *w, uint16_t v);
void ipc_put_u32(struct ipc_wbuf *w, uint32_t v);
void ipc_put_u64(struct ipc_wbuf *w, uint64_t v);
void ipc_put_i64(struct ipc_wbuf *w, int64_t v);
void ipc_put_bool(struct ipc_wbuf *w, bool v);
/* u32 length + bytes. p may be NULL when len is 0. */
void ipc_put_bytes(struct ipc_wbuf *w, const void *p, size_t len);
/* u32 length + bytes without the NUL; s == NULL writes IPC_STR_NULL. */
void ipc_put_str(struct ipc_wbuf *w, const char *s);

/*
 * Payload reader over bytes it does not own. Every getter checks that its bytes are there: on a
 * short or already failed reader it reads nothing, returns 0 (false, "", NULL), and sets failed.
 * A parser reads all its fields, then asks ipc_rbuf_end() once.
 */
struct ipc_rbuf {
	const uint8_t *p;
	size_t len, pos;
	bool failed;
};

/* p may be NULL when len is 0. */
void ipc_rbuf_init(struct ipc_rbuf *r, const void *p, size_t len);

uint8_t ipc_get_u8(struct ipc_rbuf *r);
uint16_t ipc_get_u16(struct ipc_rbuf *r);
uint32_t ipc_get_u32(struct ipc_rbuf *r);
uint64_t ipc_get_u64(struct ipc_rbuf *r);
int64_t ipc_get_i64(struct ipc_rbuf *r);
/* Only 0 and 1 are valid; anything else fails the reader. */
bool ipc_get_bool(struct ipc_rbuf *r);

/*
 * Copies a string into out[size] with a NUL. Returns 1 for a string, 0 for the NULL string
 * (out is ""), -1 when the reader fails (out is ""): short payload, a string of size bytes or
 * more (it would not fit with its NUL), a NUL byte inside it, or size 0.
 */
int ipc_get_str(struct ipc_rbuf *r, char *out, size_t size);

/*
 * Reads a u32 length + bytes without copying: *p_r points into the reader's buffer and stays
 * valid as long as that buffer. Returns the length; on failure 0 with *p_r NULL. The NULL
 * string fails here: read strings with ipc_get_str().
 */
size_t ipc_get_bytes_ref(struct ipc_rbuf *r, const uint8_t **p_r);

/* 0 when every read succeeded and the whole payload was consumed; -1 otherwise. Trailing
 * bytes are an error: a payload has exactly the fields of its layout. */
int ipc_rbuf_end(const struct ipc_rbuf *r);

#endif
