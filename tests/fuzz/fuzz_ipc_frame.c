/*
 * libFuzzer target for the IPC frame decoder and payload reader.
 *
 * Input: one byte that seeds how the stream is split, then the stream. The stream is decoded
 * twice, in one piece and in fuzzer-chosen pieces; both must see the same frames and end the
 * same way. Frames of the sample type are read with a typical layout, and every payload the
 * reader accepts must re-encode to exactly the same bytes (the encoding is canonical).
 *
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -D_GNU_SOURCE -Isrc/core \
 *       src/core/ipc_buf.c src/core/ipc_frame.c tests/fuzz/fuzz_ipc_frame.c
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ipc_buf.h"
#include "ipc_frame.h"

enum { T_EMPTY = 0, T_SAMPLE = 1, T_SMALL = 2, T_LARGE = 0x7fff };

static const struct ipc_type_info fuzz_type_list[] = {
    {T_EMPTY, 0, "empty"},
    {T_SAMPLE, 512, "sample"},
    {T_SMALL, 4, "small"},
    {T_LARGE, 4096, "large"},
};
static const struct ipc_types fuzz_types = {fuzz_type_list,
                                            sizeof(fuzz_type_list) / sizeof(fuzz_type_list[0])};

#define SAMPLE_NAMES_MAX 4

/* A layout like the ones the roles will use: fixed fields, strings, bytes, a bounded list. */
struct sample {
	uint32_t session;
	int name_kind; /* ipc_get_str()'s result: 1 string, 0 NULL */
	char name[32];
	const uint8_t *body;
	size_t body_len;
	bool last;
	uint64_t size;
	int64_t delta;
	uint8_t nnames;
	char names[SAMPLE_NAMES_MAX][16];
};

static int sample_read(const uint8_t *p, size_t len, struct sample *s)
{
	struct ipc_rbuf r;

	ipc_rbuf_init(&r, p, len);
	s->session = ipc_get_u32(&r);
	s->name_kind = ipc_get_str(&r, s->name, sizeof(s->name));
	s->body_len = ipc_get_bytes_ref(&r, &s->body);
	s->last = ipc_get_bool(&r);
	s->size = ipc_get_u64(&r);
	s->delta = ipc_get_i64(&r);
	s->nnames = ipc_get_u8(&r);
	if (s->nnames > SAMPLE_NAMES_MAX)
		return -1;
	for (uint8_t i = 0; i < s->nnames; i++) {
		if (ipc_get_str(&r, s->names[i], sizeof(s->names[i])) != 1)
			return -1;
	}
	return ipc_rbuf_end(&r);
}

static void sample_write(struct ipc_wbuf *w, const struct sample *s)
{
	ipc_put_u32(w, s->session);
	ipc_put_str(w, s->name_kind == 1 ? s->name : NULL);
	ipc_put_bytes(w, s->body, s->body_len);
	ipc_put_bool(w, s->last);
	ipc_put_u64(w, s->size);
	ipc_put_i64(w, s->delta);
	ipc_put_u8(w, s->nnames);
	for (uint8_t i = 0; i < s->nnames; i++)
		ipc_put_str(w, s->names[i]);
}

static void check_sample(const struct ipc_frame *f)
{
	struct sample s;
	struct ipc_wbuf w;

	if (sample_read(f->payload, f->len, &s) < 0)
		return;
	ipc_wbuf_init(&w);
	sample_write(&w, &s);
	if (w.failed || w.len != f->len || (w.len > 0 && memcmp(w.data, f->payload, w.len) != 0))
		abort();
	ipc_wbuf_free(&w);
}

/* What one decoding of the stream saw; compared between the two splittings. */
#define TRACE_MAX 64
struct trace {
	uint64_t frame[TRACE_MAX];
	size_t nframes;
	int end;           /* last result: 0 or -1 */
	const char *error; /* when end is -1 */
};

static uint64_t frame_digest(const struct ipc_frame *f)
{
	uint64_t h = 1469598103934665603ull; /* FNV-1a */
	const uint64_t fields[] = {f->type, f->flags, f->id, f->len};

	for (size_t i = 0; i < 4; i++)
		h = (h ^ fields[i]) * 1099511628211ull;
	for (uint32_t i = 0; i < f->len; i++)
		h = (h ^ f->payload[i]) * 1099511628211ull;
	return h;
}

static void check_frame(const struct ipc_frame *f)
{
	const struct ipc_type_info *t = ipc_types_find(&fuzz_types, f->type);

	if (t == NULL || f->len > t->max_len || (f->flags & ~IPC_FLAG_FD) != 0 ||
	    f->payload == NULL)
		abort();
	if (f->type == T_SAMPLE)
		check_sample(f);
}

/* Decodes in[0..len) in pieces whose sizes come from seed (0: one piece). */
static void decode(const uint8_t *in, size_t len, uint8_t seed, struct trace *t)
{
	struct ipc_decoder *d = ipc_decoder_new(&fuzz_types);
	uint32_t rng = seed;
	size_t pos = 0;

	if (d == NULL)
		abort();
	*t = (struct trace){0};
	while (pos < len) {
		size_t piece = len - pos;
		if (seed != 0) {
			rng = rng * 1103515245u + 12345u;
			size_t n = (rng >> 16) % 24 + 1;
			piece = n < piece ? n : piece;
		}
		size_t end = pos + piece;
		while (pos < end) {
			struct ipc_frame f;
			size_t consumed;
			int ret =
			    ipc_decoder_feed(d, in + pos, end - pos, &consumed, &f, &t->error);
			if (consumed > end - pos)
				abort();
			pos += consumed;
			t->end = ret < 0 ? -1 : 0;
			if (ret < 0)
				goto out;
			if (ret == 0 && pos != end)
				abort();
			if (ret == 1) {
				check_frame(&f);
				if (t->nframes < TRACE_MAX)
					t->frame[t->nframes] = frame_digest(&f);
				t->nframes++;
			}
		}
	}
out:
	ipc_decoder_free(&d);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct trace whole, pieces;

	if (size < 1)
		return 0;
	decode(data + 1, size - 1, 0, &whole);
	decode(data + 1, size - 1, data[0] == 0 ? 1 : data[0], &pieces);
	if (whole.nframes != pieces.nframes || whole.end != pieces.end ||
	    (whole.end < 0 && strcmp(whole.error, pieces.error) != 0))
		abort();
	for (size_t i = 0; i < whole.nframes && i < TRACE_MAX; i++) {
		if (whole.frame[i] != pieces.frame[i])
			abort();
	}
	return 0;
}
