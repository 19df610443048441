#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "ipc_frame.h"

struct ipc_decoder {
	const struct ipc_types *types;
	uint8_t *buf; /* the current frame: header, then payload */
	size_t have;  /* bytes of it in buf */
	struct ipc_frame frame;
	bool frame_done;   /* returned to the caller; start afresh on the next feed */
	const char *error; /* set once malformed, and then for good */
};

int ipc_types_check(const struct ipc_types *types, const char **error_r)
{
	for (size_t i = 0; i < types->count; i++) {
		const struct ipc_type_info *t = &types->list[i];
		if (t->name == NULL) {
			*error_r = "IPC type without a name";
			return -1;
		}
		if (t->max_len > IPC_PAYLOAD_MAX) {
			*error_r = "IPC type limit over IPC_PAYLOAD_MAX";
			return -1;
		}
		if (ipc_types_find(types, t->type) != t) {
			*error_r = "IPC type listed twice";
			return -1;
		}
	}
	return 0;
}

const struct ipc_type_info *ipc_types_find(const struct ipc_types *types, uint16_t type)
{
	/* Tables hold tens of entries; a scan costs less than keeping them sorted by hand. */
	for (size_t i = 0; i < types->count; i++) {
		if (types->list[i].type == type)
			return &types->list[i];
	}
	return NULL;
}

static void put_le(uint8_t *p, uint32_t v, size_t width)
{
	for (size_t i = 0; i < width; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

int ipc_frame_header_encode(uint8_t out[IPC_HEADER_SIZE], uint16_t type, uint16_t flags,
                            uint32_t id, uint32_t len)
{
	if ((flags & ~IPC_FLAG_FD) != 0 || len > IPC_PAYLOAD_MAX)
		return -1;
	put_le(out, IPC_MAGIC_VERSION, 4);
	put_le(out + 4, type, 2);
	put_le(out + 6, flags, 2);
	put_le(out + 8, id, 4);
	put_le(out + 12, len, 4);
	return 0;
}

static const char *header_check(const struct ipc_types *types, uint32_t magic,
                                const struct ipc_frame *f)
{
	if ((magic & 0xFFFF0000u) != IPC_MAGIC)
		return "bad IPC magic";
	if (magic != IPC_MAGIC_VERSION)
		return "IPC version mismatch";
	if ((f->flags & ~IPC_FLAG_FD) != 0)
		return "unknown IPC frame flags";
	const struct ipc_type_info *t = ipc_types_find(types, f->type);
	if (t == NULL)
		return "unknown IPC frame type";
	if (f->len > t->max_len || f->len > IPC_PAYLOAD_MAX)
		return "IPC payload over the type's limit";
	return NULL;
}

int ipc_frame_header_decode(const struct ipc_types *types, const uint8_t in[IPC_HEADER_SIZE],
                            struct ipc_frame *frame_r, const char **error_r)
{
	struct ipc_rbuf r;

	ipc_rbuf_init(&r, in, IPC_HEADER_SIZE);
	uint32_t magic = ipc_get_u32(&r);
	frame_r->type = ipc_get_u16(&r);
	frame_r->flags = ipc_get_u16(&r);
	frame_r->id = ipc_get_u32(&r);
	frame_r->len = ipc_get_u32(&r);
	frame_r->payload = NULL;

	*error_r = header_check(types, magic, frame_r);
	return *error_r == NULL ? 0 : -1;
}

struct ipc_decoder *ipc_decoder_new(const struct ipc_types *types)
{
	const char *error;
	size_t max_len = 0;

	if (ipc_types_check(types, &error) < 0) {
		errno = EINVAL;
		return NULL;
	}
	for (size_t i = 0; i < types->count; i++) {
		if (types->list[i].max_len > max_len)
			max_len = types->list[i].max_len;
	}
	struct ipc_decoder *d = calloc(1, sizeof(*d));
	if (d == NULL)
		return NULL;
	d->buf = malloc(IPC_HEADER_SIZE + max_len);
	if (d->buf == NULL) {
		free(d);
		return NULL;
	}
	d->types = types;
	return d;
}

void ipc_decoder_free(struct ipc_decoder **dp)
{
	struct ipc_decoder *d = *dp;

	if (d == NULL)
		return;
	free(d->buf);
	free(d);
	*dp = NULL;
}

/* Moves bytes from in[*pos..len) into the frame until it holds `want` bytes. */
static void decoder_fill(struct ipc_decoder *d, const uint8_t *in, size_t len, size_t *pos,
                         size_t want)
{
	size_t n = want - d->have;

	if (n > len - *pos)
		n = len - *pos;
	if (n == 0)
		return;
	memcpy(d->buf + d->have, in + *pos, n);
	d->have += n;
	*pos += n;
}

static int decoder_fail(struct ipc_decoder *d, const char *error, const char **error_r)
{
	d->error = error;
	*error_r = error;
	return -1;
}

int ipc_decoder_feed(struct ipc_decoder *d, const uint8_t *in, size_t len, size_t *consumed_r,
                     struct ipc_frame *frame_r, const char **error_r)
{
	size_t pos = 0;
	const char *error;

	*consumed_r = 0;
	if (d->error != NULL)
		return decoder_fail(d, d->error, error_r);
	if (d->frame_done) {
		d->have = 0;
		d->frame_done = false;
	}
	if (d->have < IPC_HEADER_SIZE) {
		decoder_fill(d, in, len, &pos, IPC_HEADER_SIZE);
		*consumed_r = pos;
		if (d->have < IPC_HEADER_SIZE)
			return 0;
		/* Refuse the header before taking a payload byte: its length is not trusted yet. */
		if (ipc_frame_header_decode(d->types, d->buf, &d->frame, &error) < 0)
			return decoder_fail(d, error, error_r);
	}
	decoder_fill(d, in, len, &pos, IPC_HEADER_SIZE + (size_t)d->frame.len);
	*consumed_r = pos;
	if (d->have < IPC_HEADER_SIZE + (size_t)d->frame.len)
		return 0;
	d->frame.payload = d->buf + IPC_HEADER_SIZE;
	d->frame_done = true;
	*frame_r = d->frame;
	return 1;
}
