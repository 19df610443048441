#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "smtp_line.h"

#define EVENTS_MAX (64 * 1024)

static const char *const kind_names[] = {"MORE", "OK", "BARE_LF", "BARE_CR", "NUL", "TOO_LONG"};

static void text_append(char *out, size_t size, const char *text)
{
	size_t o = strlen(out), n = strlen(text);

	assert_true(o + n < size);
	memcpy(out + o, text, n + 1);
}

/* Appends "KIND:text;" with unprintable octets as \xHH. */
static void event_append(char *out, size_t size, enum smtp_line_result r,
                         const struct smtp_bytes *line)
{
	size_t o = strlen(out);

	o += (size_t)snprintf(out + o, size - o, "%s:", kind_names[r]);
	for (size_t i = 0; i < line->len && o + 5 < size; i++) {
		uint8_t c = line->p[i];

		if (c >= 32 && c < 127 && c != '\\')
			out[o++] = (char)c;
		else
			o += (size_t)snprintf(out + o, size - o, "\\x%02x", c);
	}
	assert_true(o + 2 < size);
	out[o++] = ';';
	out[o] = '\0';
}

/* Feeds in[0..split) then in[split..len), each in pieces of at most step octets, through a
   reader with cap max; writes every line it yields into out, then "pending" if part of a line
   is held. */
static void collect(const uint8_t *in, size_t len, size_t max, size_t split, size_t step, char *out,
                    size_t size)
{
	uint8_t *buf = malloc(max);
	struct smtp_line lr;
	struct smtp_bytes line;
	size_t pos = 0, used;

	assert_non_null(buf);
	smtp_line_init(&lr, buf, max);
	out[0] = '\0';
	while (pos < len) {
		size_t end = pos < split ? split : len;
		size_t n = end - pos < step ? end - pos : step;

		while (n > 0) {
			enum smtp_line_result r = smtp_line_feed(&lr, in + pos, n, &used, &line);

			assert_true(used <= n);
			if (r == SMTP_LINE_MORE) {
				assert_int_equal(used, n);
			} else {
				assert_true(used > 0);
				event_append(out, size, r, &line);
			}
			pos += used;
			n -= used;
		}
	}
	if (smtp_line_pending(&lr))
		text_append(out, size, "pending");
	free(buf);
}

/* One-shot, byte at a time and every split in two all give want. */
static void check_all_splits(const uint8_t *in, size_t len, size_t max, const char *want)
{
	char *got = malloc(EVENTS_MAX);

	assert_non_null(got);
	collect(in, len, max, 0, len, got, EVENTS_MAX);
	assert_string_equal(got, want);
	collect(in, len, max, 0, 1, got, EVENTS_MAX);
	assert_string_equal(got, want);
	for (size_t split = 1; split < len; split++) {
		collect(in, len, max, split, len, got, EVENTS_MAX);
		assert_string_equal(got, want);
	}
	free(got);
}

struct line_case {
	const char *in;
	size_t len; /* 0: strlen(in) */
	const char *want;
};

static const struct line_case cases[] = {
    {"EHLO mx.example\r\n", 0, "OK:EHLO mx.example;"},
    {"\r\n", 0, "OK:;"},
    {"EHLO x\r\nMAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\n", 0,
     "OK:EHLO x;OK:MAIL FROM:<a@b>;OK:RCPT TO:<c@d>;"},
    {"NOOP", 0, "pending"},
    {"NOOP\r", 0, "pending"},
    /* row 4: a bare LF ends the line as an error, so that it can be answered */
    {"EHLO x\n", 0, "BARE_LF:EHLO x;"},
    {"EHLO x\nQUIT\r\n", 0, "BARE_LF:EHLO x;OK:QUIT;"},
    {"\n", 0, "BARE_LF:;"},
    /* RFC 5321 2.3.8: a CR without LF is refused, the line ends at the CRLF */
    {"EH\rLO x\r\n", 0, "BARE_CR:EH\\x0dLO x;"},
    {"EHLO x\r\r\n", 0, "BARE_CR:EHLO x\\x0d;"},
    {"\r\r\r\n", 0, "BARE_CR:\\x0d\\x0d;"},
    {"MAIL FROM:<a@b>\rRCPT TO:<c@d>\r\n", 0, "BARE_CR:MAIL FROM:<a@b>\\x0dRCPT TO:<c@d>;"},
    /* row 12: NUL inside a command is refused; the length, not the NUL, ends the line */
    {"EHLO a\0b\r\n", 10, "NUL:EHLO a\\x00b;"},
    {"\0\r\n", 3, "NUL:\\x00;"},
    /* the first fault of a line is the one reported */
    {"A\0B\rC\r\n", 7, "NUL:A\\x00B\\x0dC;"},
    {"A\rB\0C\r\n", 7, "BARE_CR:A\\x0dB\\x00C;"},
    {"A\0B\n", 4, "NUL:A\\x00B;"},
    {"A\rB\n", 0, "BARE_CR:A\\x0dB;"},
};

static void test_lines_end_only_at_crlf_and_faults_are_reported(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct line_case *c = &cases[i];
		size_t len = c->len > 0 ? c->len : strlen(c->in);

		check_all_splits((const uint8_t *)c->in, len, SMTP_LINE_MAX, c->want);
	}
}

/* A line of n octets of 'x' after prefix, then tail; returns its length. */
static size_t make_line(uint8_t *out, const char *prefix, size_t n, const char *tail)
{
	size_t plen = strlen(prefix), tlen = strlen(tail);

	memcpy(out, prefix, plen);
	memset(out + plen, 'x', n);
	memcpy(out + plen + n, tail, tlen);
	return plen + n + tlen;
}

static char *expect_ok(const char *prefix, size_t n, const char *kind, const char *after)
{
	char *want = malloc(EVENTS_MAX);
	size_t o;

	assert_non_null(want);
	o = (size_t)snprintf(want, EVENTS_MAX, "%s:%s", kind, prefix);
	memset(want + o, 'x', n);
	snprintf(want + o + n, EVENTS_MAX - o - n, ";%s", after);
	return want;
}

/* RFC 5321 4.5.3.1.4: 512 octets with the CRLF are allowed, 513 are not (rows 8, 14). */
static void test_line_of_512_octets_passes_and_513_is_too_long(void **state)
{
	uint8_t in[2 * SMTP_LINE_MAX];
	size_t len;
	char *want;

	(void)state;
	/* 510 octets of text + CRLF = 512 */
	len = make_line(in, "", SMTP_LINE_MAX - 2, "\r\nQUIT\r\n");
	want = expect_ok("", SMTP_LINE_MAX - 2, "OK", "OK:QUIT;");
	check_all_splits(in, len, SMTP_LINE_MAX, want);
	free(want);
	/* 511 + CRLF: too long after 511 octets, the rest of the line swallowed */
	len = make_line(in, "", SMTP_LINE_MAX - 1, "\r\nQUIT\r\n");
	want = expect_ok("", SMTP_LINE_MAX - 2, "TOO_LONG", "OK:QUIT;");
	check_all_splits(in, len, SMTP_LINE_MAX, want);
	free(want);
	/* 510 + a bare LF: the LF fits, the line is a bare LF one */
	len = make_line(in, "", SMTP_LINE_MAX - 2, "\n");
	want = expect_ok("", SMTP_LINE_MAX - 2, "BARE_LF", "");
	check_all_splits(in, len, SMTP_LINE_MAX, want);
	free(want);
	/* 510 + a bare CR + one more: past the cap */
	len = make_line(in, "", SMTP_LINE_MAX - 2, "\rx\r\nQUIT\r\n");
	want = expect_ok("", SMTP_LINE_MAX - 2, "TOO_LONG", "OK:QUIT;");
	check_all_splits(in, len, SMTP_LINE_MAX, want);
	free(want);
	/* 509 + a bare CR + CRLF: fits, and is a bare CR line */
	len = make_line(in, "", SMTP_LINE_MAX - 3, "\r\r\n");
	want = expect_ok("", SMTP_LINE_MAX - 3, "BARE_CR", "");
	want[strlen(want) - 1] = '\0';
	text_append(want, EVENTS_MAX, "\\x0d;");
	check_all_splits(in, len, SMTP_LINE_MAX, want);
	free(want);
}

/* Row 14: EHLO with a 10 000-character argument is cut at the cap; the prefix tells the
   session which command it was. */
static void test_ehlo_with_10000_characters_is_too_long(void **state)
{
	static uint8_t in[10100];
	size_t len = make_line(in, "EHLO ", 10000, "\r\nEHLO ok\r\n");
	char *want = expect_ok("EHLO ", SMTP_LINE_MAX - 2 - 5, "TOO_LONG", "OK:EHLO ok;");

	(void)state;
	check_all_splits(in, len, SMTP_LINE_MAX, want);
	free(want);
}

/* Row 8: a megabyte without CRLF is reported once, read through a fixed buffer, and swallowed
   to the next CRLF; a bare LF in the junk does not end it. */
static void test_megabyte_without_crlf_is_reported_once_and_swallowed(void **state)
{
	const size_t junk = 1024 * 1024;
	uint8_t buf[SMTP_LINE_MAX];
	struct smtp_line lr;
	struct smtp_bytes line;
	uint8_t *in = malloc(junk + 32);
	size_t used, len;

	(void)state;
	assert_non_null(in);
	memset(in, 'A', junk);
	len = junk;
	memcpy(in + len, "\nQUIT\r\nRSET\r\n", 13);
	len += 13;
	smtp_line_init(&lr, buf, sizeof(buf));
	assert_int_equal(smtp_line_feed(&lr, in, len, &used, &line), SMTP_LINE_TOO_LONG);
	assert_int_equal(used, SMTP_LINE_MAX - 1);
	assert_int_equal(line.len, SMTP_LINE_MAX - 2);
	assert_ptr_equal(line.p, buf);
	assert_true(smtp_line_discarding(&lr));
	assert_true(smtp_line_pending(&lr));
	/* the junk runs to "\nQUIT\r\n": the bare LF does not end it, the CRLF does */
	assert_int_equal(smtp_line_feed(&lr, in + used, len - used, &used, &line), SMTP_LINE_OK);
	assert_int_equal(line.len, 4);
	assert_memory_equal(line.p, "RSET", 4);
	assert_false(smtp_line_discarding(&lr));
	assert_int_equal(smtp_line_discarded(&lr), junk - (SMTP_LINE_MAX - 2) + 7);
	free(in);
}

/* Pipelined commands, or plaintext after STARTTLS (row 6): the reader stops after the line it
   yields and keeps nothing of what follows; the caller sees the bytes left over. */
static void test_reader_stops_after_each_line_and_leaves_the_rest(void **state)
{
	const char *in = "STARTTLS\r\nRSET\r\n";
	uint8_t buf[SMTP_LINE_MAX];
	struct smtp_line lr;
	struct smtp_bytes line;
	size_t used;

	(void)state;
	smtp_line_init(&lr, buf, sizeof(buf));
	assert_int_equal(smtp_line_feed(&lr, (const uint8_t *)in, strlen(in), &used, &line),
	                 SMTP_LINE_OK);
	assert_int_equal(used, 10);
	assert_int_equal(line.len, 8);
	assert_memory_equal(line.p, "STARTTLS", 8);
	assert_false(smtp_line_pending(&lr));
	/* a partial line is held, and reset forgets it */
	assert_int_equal(smtp_line_feed(&lr, (const uint8_t *)"RS", 2, &used, &line),
	                 SMTP_LINE_MORE);
	assert_int_equal(used, 2);
	assert_true(smtp_line_pending(&lr));
	smtp_line_reset(&lr);
	assert_false(smtp_line_pending(&lr));
	assert_int_equal(smtp_line_feed(&lr, (const uint8_t *)"QUIT\r\n", 6, &used, &line),
	                 SMTP_LINE_OK);
	assert_int_equal(line.len, 4);
	/* nothing fed: nothing happens */
	assert_int_equal(smtp_line_feed(&lr, (const uint8_t *)"", 0, &used, &line), SMTP_LINE_MORE);
	assert_int_equal(used, 0);
}

/* RFC 4954 4: an AUTH exchange may use a larger cap, up to the buffer's size; lowering the
   cap under a longer line in progress reports it at once. */
static void test_cap_can_be_raised_to_the_buffer_and_lowered(void **state)
{
	static uint8_t buf[12288], in[12300];
	struct smtp_line lr;
	struct smtp_bytes line;
	size_t used, len;

	(void)state;
	smtp_line_init(&lr, buf, sizeof(buf));
	smtp_line_set_max(&lr, SMTP_LINE_MAX);
	len = make_line(in, "", SMTP_LINE_MAX, "\r\n");
	assert_int_equal(smtp_line_feed(&lr, in, len, &used, &line), SMTP_LINE_TOO_LONG);
	assert_int_equal(smtp_line_feed(&lr, in + used, len - used, &used, &line), SMTP_LINE_MORE);
	smtp_line_set_max(&lr, 1000000); /* clamped to the buffer */
	len = make_line(in, "", sizeof(buf) - 2, "\r\n");
	assert_int_equal(smtp_line_feed(&lr, in, len, &used, &line), SMTP_LINE_OK);
	assert_int_equal(line.len, sizeof(buf) - 2);
	len = make_line(in, "", sizeof(buf) - 1, "\r\n");
	assert_int_equal(smtp_line_feed(&lr, in, len, &used, &line), SMTP_LINE_TOO_LONG);
	assert_int_equal(smtp_line_feed(&lr, in + used, len - used, &used, &line), SMTP_LINE_MORE);
	/* 100 octets held, then the cap drops to 50 */
	assert_int_equal(smtp_line_feed(&lr, in, 100, &used, &line), SMTP_LINE_MORE);
	smtp_line_set_max(&lr, 50);
	assert_int_equal(smtp_line_feed(&lr, in, 0, &used, &line), SMTP_LINE_TOO_LONG);
	assert_int_equal(used, 0);
	assert_int_equal(line.len, 48);
	assert_int_equal(smtp_line_feed(&lr, (const uint8_t *)"x\r\nQUIT\r\n", 9, &used, &line),
	                 SMTP_LINE_OK);
	assert_int_equal(used, 9);
	assert_int_equal(line.len, 4);
	smtp_line_set_max(&lr, 0); /* clamped to the smallest cap: one octet of text */
	assert_int_equal(smtp_line_feed(&lr, (const uint8_t *)"A\r\n", 3, &used, &line),
	                 SMTP_LINE_OK);
	assert_int_equal(smtp_line_feed(&lr, (const uint8_t *)"AB\r\n", 4, &used, &line),
	                 SMTP_LINE_TOO_LONG);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_lines_end_only_at_crlf_and_faults_are_reported),
	    cmocka_unit_test(test_line_of_512_octets_passes_and_513_is_too_long),
	    cmocka_unit_test(test_ehlo_with_10000_characters_is_too_long),
	    cmocka_unit_test(test_megabyte_without_crlf_is_reported_once_and_swallowed),
	    cmocka_unit_test(test_reader_stops_after_each_line_and_leaves_the_rest),
	    cmocka_unit_test(test_cap_can_be_raised_to_the_buffer_and_lowered),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
