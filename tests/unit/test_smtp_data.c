#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "smtp_data.h"

/* What decoding one input gave. */
struct decoded {
	uint8_t *out;
	size_t out_len, out_size;
	size_t calls;
	bool end;
	size_t used; /* input taken up to and including the terminator, or all of it */
	unsigned flags;
	uint64_t size;
	unsigned hops;
};

static void decoded_out(const uint8_t *p, size_t len, void *ctx)
{
	struct decoded *d = ctx;

	assert_true(len > 0);
	assert_true(d->out_len + len <= d->out_size);
	memcpy(d->out + d->out_len, p, len);
	d->out_len += len;
	d->calls++;
}

/* Decodes in[0..split) then in[split..len), in pieces of at most step octets, stopping at the
   terminator. The caller frees r->out. */
static void decode(const uint8_t *in, size_t len, const struct smtp_data_limits *limits,
                   enum smtp_data_mode mode, size_t split, size_t step, struct decoded *r)
{
	struct smtp_data d;
	size_t pos = 0, used;

	*r = (struct decoded){.out = malloc(len + 1), .out_size = len};
	assert_non_null(r->out);
	smtp_data_init(&d, limits, mode, decoded_out, r);
	while (pos < len && !r->end) {
		size_t end = pos < split ? split : len;
		size_t n = end - pos < step ? end - pos : step;
		enum smtp_data_result res = smtp_data_feed(&d, in + pos, n, &used);

		r->end = res == SMTP_DATA_END;
		assert_true(r->end ? used <= n : used == n);
		/* never more out than in */
		assert_true(r->out_len <= pos + used);
		pos += used;
	}
	r->used = pos;
	if (mode == SMTP_DATA_CHUNK) {
		unsigned flags = smtp_data_finish(&d);

		assert_int_equal(flags, smtp_data_flags(&d));
	}
	r->flags = smtp_data_flags(&d);
	r->size = smtp_data_size(&d);
	r->hops = smtp_data_hops(&d);
	/* after the end nothing more is taken or given */
	if (r->end) {
		size_t before = r->out_len;

		assert_int_equal(smtp_data_feed(&d, (const uint8_t *)"x\r\n.\r\n", 6, &used),
		                 SMTP_DATA_END);
		assert_int_equal(used, 0);
		assert_int_equal(r->out_len, before);
	}
}

static void assert_same(const struct decoded *a, const struct decoded *b)
{
	assert_int_equal(a->end, b->end);
	assert_int_equal(a->used, b->used);
	assert_int_equal(a->flags, b->flags);
	assert_int_equal(a->size, b->size);
	assert_int_equal(a->hops, b->hops);
	assert_int_equal(a->out_len, b->out_len);
	if (a->out_len > 0)
		assert_memory_equal(a->out, b->out, a->out_len);
}

/* Decodes one-shot, checks it against want, then byte at a time and every split in two
   (STYLE habit 15): each must give the very same result. */
static void decode_all_splits(const uint8_t *in, size_t len, const struct smtp_data_limits *lim,
                              enum smtp_data_mode mode, struct decoded *want)
{
	struct decoded once, other;

	decode(in, len, lim, mode, 0, len, &once);
	assert_same(&once, want);
	decode(in, len, lim, mode, 0, 1, &other);
	assert_same(&once, &other);
	free(other.out);
	for (size_t split = 1; split < len; split++) {
		decode(in, len, lim, mode, split, len, &other);
		assert_same(&once, &other);
		free(other.out);
	}
	free(once.out);
}

struct data_case {
	const char *in;
	size_t len; /* 0: strlen(in) */
	const char *out;
	size_t out_len; /* 0: strlen(out) */
	bool end;
	size_t used; /* 0: all of the input */
	unsigned flags;
};

#define BAD SMTP_DATA_BAD_LINE_ENDING

static const struct data_case cases[] = {
    /* RFC 5321 4.1.1.4: "." right after the 354 ends an empty message */
    {".\r\n", 0, "", 0, true, 0, 0},
    {"Subject: x\r\n\r\nHello\r\n.\r\n", 0, "Subject: x\r\n\r\nHello\r\n", 0, true, 0, 0},
    /* pipelining: what follows the terminator is the next command, not taken */
    {"Hi\r\n.\r\nQUIT\r\n", 0, "Hi\r\n", 0, true, 7, 0},
    {"Hi\r\n.\r\n.\r\n", 0, "Hi\r\n", 0, true, 7, 0},
    /* RFC 5321 4.5.2: a leading dot is taken out, wherever the line is */
    {"..\r\n.\r\n", 0, ".\r\n", 0, true, 0, 0},
    {"a\r\n..b\r\n...\r\n.\r\n", 0, "a\r\n.b\r\n..\r\n", 0, true, 0, 0},
    {".x\r\n.\r\n", 0, "x\r\n", 0, true, 0, 0},
    /* a dot elsewhere is text */
    {"a.\r\n a\r\n.\r\n", 0, "a.\r\n a\r\n", 0, true, 0, 0},
    /* not there yet */
    {"Hi\r\n", 0, "Hi\r\n", 0, false, 0, 0},
    {"Hi\r\n.", 0, "Hi\r\n", 0, false, 0, 0},
    {"Hi\r\n.\r", 0, "Hi\r\n", 0, false, 0, 0},
    {"", 0, "", 0, false, 0, 0},
    /* row 1: "\n.\n" is no terminator; the message is marked and read to the real one */
    {"a\n.\nMAIL FROM:<x@y>\r\n.\r\n", 0, "a\n.\nMAIL FROM:<x@y>\r\n", 0, true, 0, BAD},
    /* row 2: the smtpsmug shapes */
    {"a\n.\r\nRSET\r\n.\r\n", 0, "a\n.\r\nRSET\r\n", 0, true, 0, BAD},
    {"a\r\n.\nRSET\r\n.\r\n", 0, "a\r\n\nRSET\r\n", 0, true, 0, BAD},
    {"a\r.\r\nRSET\r\n.\r\n", 0, "a\r.\r\nRSET\r\n", 0, true, 0, BAD},
    {"a\r\n.\rRSET\r\n.\r\n", 0, "a\r\n\rRSET\r\n", 0, true, 0, BAD},
    {"a\r\n.\r\r\n.\r\n", 0, "a\r\n\r\r\n", 0, true, 0, BAD},
    {"a\r\n.\r.\r\n.\r\n", 0, "a\r\n\r.\r\n", 0, true, 0, BAD},
    {".\n.\r\n", 0, "\n.\r\n", 0, false, 0, BAD},
    {".\r.\r\n.\r\n", 0, "\r.\r\n", 0, true, 0, BAD},
    /* row 3: bare CR or LF anywhere, never turned into a line break */
    {"a\rb\r\n.\r\n", 0, "a\rb\r\n", 0, true, 0, BAD},
    {"a\nb\r\n.\r\n", 0, "a\nb\r\n", 0, true, 0, BAD},
    {"\n.\r\n", 0, "\n.\r\n", 0, false, 0, BAD},
    {"\r\r\n.\r\n", 0, "\r\r\n", 0, true, 0, BAD},
    {"a\r\n\n.\r\n", 0, "a\r\n\n.\r\n", 0, false, 0, BAD},
    /* row 13: NUL is passed on and flagged, the length carries it */
    {"a\0b\r\n.\r\n", 8, "a\0b\r\n", 5, true, 0, SMTP_DATA_NUL},
};

static void test_data_ends_only_at_crlf_dot_crlf(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct data_case *c = &cases[i];
		size_t len = c->len > 0 ? c->len : strlen(c->in);
		struct decoded want = {
		    .out = (uint8_t *)c->out,
		    .out_len = c->out_len > 0 ? c->out_len : strlen(c->out),
		    .end = c->end,
		    .used = c->used > 0 ? c->used : len,
		    .flags = c->flags,
		};

		want.size = want.out_len;
		decode_all_splits((const uint8_t *)c->in, len, NULL, SMTP_DATA_DOT, &want);
	}
}

/* A message of n lines "x...x" of width octets (CRLF included) then ".\r\n". */
static size_t make_message(uint8_t *out, size_t width, size_t lines)
{
	size_t o = 0;

	for (size_t l = 0; l < lines; l++) {
		memset(out + o, 'x', width - 2);
		memcpy(out + o + width - 2, "\r\n", 2);
		o += width;
	}
	memcpy(out + o, ".\r\n", 3);
	return o + 3;
}

static void check_message(const uint8_t *in, size_t len, const struct smtp_data_limits *lim,
                          size_t out_len, uint64_t size, unsigned flags)
{
	struct decoded want = {.out = (uint8_t *)in,
	                       .out_len = out_len,
	                       .end = true,
	                       .used = len,
	                       .flags = flags,
	                       .size = size};

	decode_all_splits(in, len, lim, SMTP_DATA_DOT, &want);
}

/* Row 9: a line of line_max octets with its CRLF passes, one more octet is flagged; the
   message is still read to its end and passed on whole. */
static void test_line_at_the_cap_passes_and_one_more_is_flagged(void **state)
{
	const struct smtp_data_limits lim = {.size_max = 1000, .line_max = 10, .hops_max = 50};
	uint8_t in[64];
	size_t len;

	(void)state;
	len = make_message(in, 10, 3);
	check_message(in, len, &lim, 30, 30, 0);
	len = make_message(in, 11, 3);
	check_message(in, len, &lim, 33, 33, SMTP_DATA_LINE_TOO_LONG);
	/* the stuffed dot does not count (RFC 5321 4.5.3.1.6) */
	memcpy(in, "..xxxxxxx\r\n.\r\n", 14);
	{
		struct decoded want = {.out = (uint8_t *)".xxxxxxx\r\n",
		                       .out_len = 10,
		                       .end = true,
		                       .used = 14,
		                       .size = 10};

		decode_all_splits(in, 14, &lim, SMTP_DATA_DOT, &want);
	}
}

/* The default cap is 64 KiB: at the cap, one past it, and 100 KB without a line end (row 9). */
static void test_default_line_cap_is_64k(void **state)
{
	const size_t cap = SMTP_DATA_LINE_MAX_DEFAULT;
	uint8_t *in = malloc(200 * 1024);
	struct decoded got;
	size_t len;

	(void)state;
	assert_non_null(in);
	len = make_message(in, cap, 2);
	decode(in, len, NULL, SMTP_DATA_DOT, 0, len, &got);
	assert_true(got.end);
	assert_int_equal(got.flags, 0);
	assert_int_equal(got.out_len, 2 * cap);
	free(got.out);
	len = make_message(in, cap + 1, 1);
	decode(in, len, NULL, SMTP_DATA_DOT, 0, 4096, &got);
	assert_true(got.end);
	assert_int_equal(got.flags, SMTP_DATA_LINE_TOO_LONG);
	assert_int_equal(got.out_len, cap + 1);
	assert_memory_equal(got.out, in, cap + 1);
	free(got.out);
	len = make_message(in, 100 * 1000, 1);
	decode(in, len, NULL, SMTP_DATA_DOT, 0, 1000, &got);
	assert_true(got.end);
	assert_int_equal(got.flags, SMTP_DATA_LINE_TOO_LONG);
	free(got.out);
	free(in);
}

/* Row 11: size_max octets pass; past them nothing more is passed on, yet the decoder reads to
   the terminator and counts on. */
static void test_message_at_the_size_cap_passes_and_one_more_is_cut(void **state)
{
	const struct smtp_data_limits lim = {.size_max = 20, .line_max = 1000, .hops_max = 50};
	uint8_t in[64];
	size_t len;

	(void)state;
	len = make_message(in, 10, 2);
	check_message(in, len, &lim, 20, 20, 0);
	len = make_message(in, 7, 3); /* 21 octets */
	check_message(in, len, &lim, 20, 21, SMTP_DATA_TOO_BIG);
	memcpy(in, "0123456789abcdefghij\r\nQUIT\r\n.\r\nRSET\r\n", 37);
	{
		struct decoded want = {.out = in,
		                       .out_len = 20,
		                       .end = true,
		                       .used = 31,
		                       .flags = SMTP_DATA_TOO_BIG,
		                       .size = 28};

		decode_all_splits(in, 37, &lim, SMTP_DATA_DOT, &want);
	}
	/* the cap falls inside a run of plain text: cut at exactly size_max octets */
	memcpy(in, "0123456789abcdefghijKLMNO\r\n.\r\n", 30);
	{
		struct decoded want = {.out = in,
		                       .out_len = 20,
		                       .end = true,
		                       .used = 30,
		                       .flags = SMTP_DATA_TOO_BIG,
		                       .size = 27};

		decode_all_splits(in, 30, &lim, SMTP_DATA_DOT, &want);
	}
}

/* Row 28: Received: fields are counted in the header section only; 50 pass, 51 are a loop. */
static void test_received_headers_are_counted_up_to_the_first_empty_line(void **state)
{
	const struct smtp_data_limits lim = {.size_max = 100000, .line_max = 1000, .hops_max = 2};
	const char *two = "Received: a\r\nreceived :b\r\nReceived-SPF: x\r\nX-Received: y\r\n"
	                  " Received: folded\r\nReceived\r\n"
	                  "\r\nReceived: in the body\r\n.\r\n";
	const char *three = "Received: a\r\nRECEIVED\t: b\r\nReceived:c\r\n\r\n.\r\n";
	const char *none = "\r\nReceived: a\r\nReceived: b\r\nReceived: c\r\n.\r\n";
	const char *stuffed = "..Received: a\r\nReceived: b\r\n.\r\n";
	struct decoded got;

	(void)state;
	decode((const uint8_t *)two, strlen(two), &lim, SMTP_DATA_DOT, 0, 1, &got);
	assert_int_equal(got.hops, 2);
	assert_int_equal(got.flags, 0);
	free(got.out);
	decode((const uint8_t *)three, strlen(three), &lim, SMTP_DATA_DOT, 0, 1, &got);
	assert_int_equal(got.hops, 3);
	assert_int_equal(got.flags, SMTP_DATA_TOO_MANY_HOPS);
	free(got.out);
	decode((const uint8_t *)none, strlen(none), &lim, SMTP_DATA_DOT, 0, 1, &got);
	assert_int_equal(got.hops, 0);
	free(got.out);
	decode((const uint8_t *)stuffed, strlen(stuffed), &lim, SMTP_DATA_DOT, 0, 1, &got);
	assert_int_equal(got.hops, 1);
	free(got.out);
}

static void test_fifty_received_headers_pass_and_fifty_one_do_not(void **state)
{
	static uint8_t in[4096];
	struct decoded got;
	size_t len;

	(void)state;
	for (unsigned n = 50; n <= 51; n++) {
		len = 0;
		for (unsigned i = 0; i < n; i++) {
			memcpy(in + len, "Received: from x by y\r\n", 23);
			len += 23;
		}
		memcpy(in + len, "\r\nbody\r\n.\r\n", 11);
		len += 11;
		decode(in, len, NULL, SMTP_DATA_DOT, 0, len, &got);
		assert_int_equal(got.hops, n);
		assert_int_equal(got.flags,
		                 n > SMTP_DATA_HOPS_MAX_DEFAULT ? SMTP_DATA_TOO_MANY_HOPS : 0);
		free(got.out);
	}
}

/* BDAT chunks: no dot handling, no terminator, the same checks; a final bare CR is caught at
   finish. */
static void test_chunk_mode_passes_dots_and_checks_line_ends(void **state)
{
	const char *in = "Received: x\r\n\r\n.\r\n..\r\n";
	struct decoded want = {.out = (uint8_t *)in,
	                       .out_len = strlen(in),
	                       .end = false,
	                       .used = strlen(in),
	                       .size = strlen(in),
	                       .hops = 1};

	(void)state;
	decode_all_splits((const uint8_t *)in, strlen(in), NULL, SMTP_DATA_CHUNK, &want);
	want = (struct decoded){
	    .out = (uint8_t *)"a\r\nb\r", .out_len = 5, .used = 5, .size = 5, .flags = BAD};
	decode_all_splits(want.out, 5, NULL, SMTP_DATA_CHUNK, &want);
	want = (struct decoded){
	    .out = (uint8_t *)"a\nb\r\n", .out_len = 5, .used = 5, .size = 5, .flags = BAD};
	decode_all_splits(want.out, 5, NULL, SMTP_DATA_CHUNK, &want);
}

/* Output comes in runs of the input, not octet by octet. */
static void test_output_is_passed_on_in_runs(void **state)
{
	const char *in = "Subject: x\r\n\r\nline one\r\n..line two\r\n.\r\n";
	struct decoded got;

	(void)state;
	decode((const uint8_t *)in, strlen(in), NULL, SMTP_DATA_DOT, 0, strlen(in), &got);
	assert_int_equal(got.calls, 2);
	free(got.out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_data_ends_only_at_crlf_dot_crlf),
	    cmocka_unit_test(test_line_at_the_cap_passes_and_one_more_is_flagged),
	    cmocka_unit_test(test_default_line_cap_is_64k),
	    cmocka_unit_test(test_message_at_the_size_cap_passes_and_one_more_is_cut),
	    cmocka_unit_test(test_received_headers_are_counted_up_to_the_first_empty_line),
	    cmocka_unit_test(test_fifty_received_headers_pass_and_fifty_one_do_not),
	    cmocka_unit_test(test_chunk_mode_passes_dots_and_checks_line_ends),
	    cmocka_unit_test(test_output_is_passed_on_in_runs),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
