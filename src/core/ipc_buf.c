#include <stdlib.h>
#include <string.h>

#include "ipc_buf.h"

#define WBUF_INITIAL_CAP 256

void ipc_wbuf_init(struct ipc_wbuf *w)
{
	*w = (struct ipc_wbuf){0};
}

void ipc_wbuf_free(struct ipc_wbuf *w)
{
	free(w->data);
	ipc_wbuf_init(w);
}

static int wbuf_grow(struct ipc_wbuf *w, size_t need)
{
	size_t cap = w->cap == 0 ? WBUF_INITIAL_CAP : w->cap;

	while (cap < need)
		cap *= 2;
	if (cap > IPC_PAYLOAD_MAX)
		cap = IPC_PAYLOAD_MAX;
	uint8_t *data = realloc(w->data, cap);
	if (data == NULL)
		return -1;
	w->data = data;
	w->cap = cap;
	return 0;
}

/* Appends n bytes to the payload and returns where they go, or NULL with w failed. */
static uint8_t *wbuf_append(struct ipc_wbuf *w, size_t n)
{
	if (w->failed || n > IPC_PAYLOAD_MAX - w->len) {
		w->failed = true;
		return NULL;
	}
	if (w->len + n > w->cap && wbuf_grow(w, w->len + n) < 0) {
		w->failed = true;
		return NULL;
	}
	uint8_t *p = w->data + w->len;
	w->len += n;
	return p;
}

static void put_le(struct ipc_wbuf *w, uint64_t v, size_t width)
{
	uint8_t *p = wbuf_append(w, width);

	if (p == NULL)
		return;
	for (size_t i = 0; i < width; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

void ipc_put_u8(struct ipc_wbuf *w, uint8_t v)
{
	put_le(w, v, 1);
}

void ipc_put_u16(struct ipc_wbuf *w, uint16_t v)
{
	put_le(w, v, 2);
}

void ipc_put_u32(struct ipc_wbuf *w, uint32_t v)
{
	put_le(w, v, 4);
}

void ipc_put_u64(struct ipc_wbuf *w, uint64_t v)
{
	put_le(w, v, 8);
}

void ipc_put_i64(struct ipc_wbuf *w, int64_t v)
{
	put_le(w, (uint64_t)v, 8);
}

void ipc_put_bool(struct ipc_wbuf *w, bool v)
{
	put_le(w, v ? 1 : 0, 1);
}

void ipc_put_bytes(struct ipc_wbuf *w, const void *p, size_t len)
{
	/* Checked before adding 4 so that the sum cannot wrap; it also keeps len within u32. */
	if (len > IPC_PAYLOAD_MAX) {
		w->failed = true;
		return;
	}
	uint8_t *out = wbuf_append(w, 4 + len);
	if (out == NULL)
		return;
	for (size_t i = 0; i < 4; i++)
		out[i] = (uint8_t)(len >> (8 * i));
	if (len > 0)
		memcpy(out + 4, p, len);
}

void ipc_put_str(struct ipc_wbuf *w, const char *s)
{
	if (s == NULL)
		ipc_put_u32(w, IPC_STR_NULL);
	else
		ipc_put_bytes(w, s, strlen(s));
}

void ipc_rbuf_init(struct ipc_rbuf *r, const void *p, size_t len)
{
	*r = (struct ipc_rbuf){.p = p, .len = len};
}

/* Takes the next n bytes, or returns NULL with r failed when they are not all there. */
static const uint8_t *rbuf_take(struct ipc_rbuf *r, size_t n)
{
	if (r->failed || n > r->len - r->pos) {
		r->failed = true;
		return NULL;
	}
	const uint8_t *p = r->p + r->pos;
	r->pos += n;
	return p;
}

static uint64_t get_le(struct ipc_rbuf *r, size_t width)
{
	const uint8_t *p = rbuf_take(r, width);
	uint64_t v = 0;

	if (p == NULL)
		return 0;
	for (size_t i = 0; i < width; i++)
		v |= (uint64_t)p[i] << (8 * i);
	return v;
}

uint8_t ipc_get_u8(struct ipc_rbuf *r)
{
	return (uint8_t)get_le(r, 1);
}

uint16_t ipc_get_u16(struct ipc_rbuf *r)
{
	return (uint16_t)get_le(r, 2);
}

uint32_t ipc_get_u32(struct ipc_rbuf *r)
{
	return (uint32_t)get_le(r, 4);
}

uint64_t ipc_get_u64(struct ipc_rbuf *r)
{
	return get_le(r, 8);
}

int64_t ipc_get_i64(struct ipc_rbuf *r)
{
	/* Converting out-of-range u64 to i64 is implementation-defined; memcpy is not. */
	uint64_t u = get_le(r, 8);
	int64_t v;

	memcpy(&v, &u, sizeof(v));
	return v;
}

bool ipc_get_bool(struct ipc_rbuf *r)
{
	uint8_t v = ipc_get_u8(r);

	if (v > 1) {
		r->failed = true;
		return false;
	}
	return v == 1;
}

int ipc_get_str(struct ipc_rbuf *r, char *out, size_t size)
{
	if (size == 0) {
		r->failed = true;
		return -1;
	}
	out[0] = '\0';
	uint32_t n = ipc_get_u32(r);
	if (r->failed)
		return -1;
	if (n == IPC_STR_NULL)
		return 0;
	const uint8_t *p = rbuf_take(r, n);
	if (p == NULL || n >= size || memchr(p, '\0', n) != NULL) {
		r->failed = true;
		return -1;
	}
	memcpy(out, p, n);
	out[n] = '\0';
	return 1;
}

size_t ipc_get_bytes_ref(struct ipc_rbuf *r, const uint8_t **p_r)
{
	uint32_t n = ipc_get_u32(r);
	const uint8_t *p = rbuf_take(r, n);

	*p_r = p;
	return p == NULL ? 0 : n;
}

int ipc_rbuf_end(const struct ipc_rbuf *r)
{
	return !r->failed && r->pos == r->len ? 0 : -1;
}
