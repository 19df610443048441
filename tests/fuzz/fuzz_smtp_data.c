/*
 * libFuzzer target for the DATA/BDAT decoder.
 *
 * Input: one byte for the mode and limits, then the bytes a client sends after "354". The
 * stream is decoded in one piece and in pieces whose sizes come from the stream itself; both
 * must give the same output, flags, counts and end. Invariants: the output is never longer
 * than the input taken; the end is reported once and nothing is taken after it; in DOT mode
 * the input taken ends with the terminator, and a message with no fault, dot-stuffed again and
 * followed by ".\r\n", is exactly the input taken.
 *
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -D_GNU_SOURCE -Isrc/smtp \
 *       src/smtp/smtp_data.c tests/fuzz/fuzz_smtp_data.c
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "smtp_data.h"

#define CHECK(cond)                                                                                \
	do {                                                                                       \
		if (!(cond))                                                                       \
			abort();                                                                   \
	} while (0)

struct result {
	uint8_t *out;
	size_t out_len, out_size;
	size_t used;
	int ends;
	unsigned flags;
	uint64_t size;
	unsigned hops;
};

static void collect(const uint8_t *p, size_t len, void *ctx)
{
	struct result *r = ctx;

	CHECK(len > 0 && r->out_len + len <= r->out_size);
	memcpy(r->out + r->out_len, p, len);
	r->out_len += len;
}

/* Decodes in pieces: all at once when pieces is NULL, else of sizes taken from pieces. */
static void decode(const uint8_t *in, size_t len, const struct smtp_data_limits *lim,
                   enum smtp_data_mode mode, const uint8_t *pieces, struct result *r)
{
	struct smtp_data d;
	size_t pos = 0, used, k = 0;

	smtp_data_init(&d, lim, mode, collect, r);
	while (pos < len) {
		size_t n = pieces == NULL ? len - pos : 1 + (size_t)(pieces[k++ % len] % 16);

		if (n > len - pos)
			n = len - pos;
		if (smtp_data_feed(&d, in + pos, n, &used) == SMTP_DATA_END) {
			CHECK(used <= n);
			r->ends++;
			pos += used;
			break;
		}
		CHECK(used == n);
		pos += used;
		CHECK(r->out_len <= pos);
	}
	CHECK(r->out_len <= pos);
	r->used = pos;
	/* once ended, always ended, and nothing more is taken or given */
	if (r->ends > 0) {
		size_t before = r->out_len;

		CHECK(smtp_data_feed(&d, in, len, &used) == SMTP_DATA_END && used == 0);
		CHECK(r->out_len == before);
	}
	if (mode == SMTP_DATA_CHUNK)
		(void)smtp_data_finish(&d);
	r->flags = smtp_data_flags(&d);
	r->size = smtp_data_size(&d);
	r->hops = smtp_data_hops(&d);
}

/* The input taken must be out with a dot before some lines, then ".\r\n": RFC 5321 4.5.2 has
   the receiver drop any line's leading dot, so a dot must precede each line of out that begins
   with one, and may precede any other. */
static void check_round_trip(const struct result *r, const uint8_t *in)
{
	size_t o = 0, i = 0;
	bool bol = true;

	for (; o < r->out_len; o++) {
		if (bol && i < r->used && in[i] == '.')
			i++;
		else if (bol)
			CHECK(r->out[o] != '.');
		CHECK(i < r->used && in[i++] == r->out[o]);
		bol = r->out[o] == '\n';
		/* no fault: every LF comes after a CR, every CR before a LF */
		if (r->out[o] == '\n')
			CHECK(o > 0 && r->out[o - 1] == '\r');
		if (r->out[o] == '\r')
			CHECK(o + 1 < r->out_len && r->out[o + 1] == '\n');
	}
	CHECK(r->used - i == 3 && memcmp(in + i, ".\r\n", 3) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct smtp_data_limits lim;
	enum smtp_data_mode mode;
	struct result once = {0}, split = {0};

	if (size < 1)
		return 0;
	mode = (data[0] & 1) != 0 ? SMTP_DATA_CHUNK : SMTP_DATA_DOT;
	lim.line_max = 2 + (data[0] >> 1 & 7) * 4;
	lim.size_max = (data[0] & 0x10) != 0 ? UINT64_MAX : 64;
	lim.hops_max = data[0] >> 5 & 3;
	data++;
	size--;
	once.out = malloc(size + 1);
	split.out = malloc(size + 1);
	if (once.out == NULL || split.out == NULL)
		goto out;
	once.out_size = split.out_size = size;
	decode(data, size, &lim, mode, NULL, &once);
	decode(data, size, &lim, mode, data, &split);
	CHECK(once.ends <= 1 && once.ends == split.ends && once.used == split.used);
	CHECK(once.flags == split.flags && once.size == split.size && once.hops == split.hops);
	CHECK(once.out_len == split.out_len && memcmp(once.out, split.out, once.out_len) == 0);
	CHECK(once.size >= once.out_len);
	if ((once.flags & SMTP_DATA_TOO_BIG) == 0)
		CHECK(once.size == once.out_len);
	if (mode == SMTP_DATA_CHUNK)
		CHECK(once.ends == 0 && once.used == size);
	if (mode == SMTP_DATA_DOT && once.ends == 1) {
		CHECK(once.used >= 3 && memcmp(data + once.used - 3, ".\r\n", 3) == 0);
		CHECK(once.used == 3 || memcmp(data + once.used - 5, "\r\n", 2) == 0);
		if ((once.flags & (SMTP_DATA_BAD_LINE_ENDING | SMTP_DATA_TOO_BIG)) == 0)
			check_round_trip(&once, data);
	}
out:
	free(once.out);
	free(split.out);
	return 0;
}
