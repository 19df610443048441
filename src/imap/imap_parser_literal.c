/* IMAP parser: literal announcements and the caller's decision on them, literal data,
   skipping the rest of a bad line, and raw lines. */
#include <string.h>

#include "imap_parser_int.h"
#include "log.h"

static bool digit(uint8_t c)
{
	return c >= '0' && c <= '9';
}

/* Saturates: a size past every limit stays past it, however many digits follow. */
static uint64_t size_add_digit(uint64_t size, uint8_t c)
{
	if (size > (UINT64_MAX - 9) / 10)
		return UINT64_MAX;
	return size * 10 + (uint64_t)(c - '0');
}

static bool nonsync_too_large(const struct imap_parser *p, uint64_t size)
{
	return size > p->limits.literal_nonsync_max || size > p->limits.literal_max;
}

/* "}" read: the size is checked before the client is told anything and before any byte of
   the literal is read or allocated (RELIABILITY rows 56, 57). A synchronising literal is
   refused with BAD and the client will not send it; a non-synchronising one is already on its
   way and cannot be skipped safely, so the connection must end (RFC 7888 4). */
static enum imap_step lit_closed(struct imap_parser *p)
{
	if (!p->lit.sync && nonsync_too_large(p, p->lit.size))
		return imap_parser_fatal(p, "literal too large");
	if (p->lit.size > p->limits.literal_max)
		return imap_parser_fail(p, "literal too large");
	p->state = PS_LIT_CLOSED;
	return STEP_TAKE;
}

static enum imap_step lit_announce(struct imap_parser *p)
{
	p->state = PS_LIT_WAIT;
	p->event = IMAP_PARSE_LITERAL;
	return STEP_TAKE;
}

static enum imap_step lit_size_step(struct imap_parser *p, uint8_t c)
{
	if (digit(c) && p->state != PS_LIT_PLUS) {
		p->lit.size = size_add_digit(p->lit.size, c);
		p->state = PS_LIT_DIGITS;
		return STEP_TAKE;
	}
	if (c == '+' && p->state == PS_LIT_DIGITS) {
		p->lit.sync = false;
		p->state = PS_LIT_PLUS;
		return STEP_TAKE;
	}
	if (c == '}' && p->state != PS_LIT_OPEN)
		return lit_closed(p);
	return imap_parser_fail(p, "invalid literal size");
}

enum imap_step imap_parser_lit_step(struct imap_parser *p, uint8_t c)
{
	switch (p->state) {
	case PS_LIT_OPEN:
	case PS_LIT_DIGITS:
	case PS_LIT_PLUS:
		return lit_size_step(p, c);
	case PS_LIT_CLOSED:
	case PS_LIT_CR:
		if (c == '\r' && p->state == PS_LIT_CLOSED) {
			p->state = PS_LIT_CR;
			return STEP_TAKE;
		}
		if (c == '\n') /* a bare LF ends the line here too */
			return lit_announce(p);
		return imap_parser_fail(p, "literal size not followed by CRLF");
	default:
		fatal("imap parser: byte in state %d", (int)p->state);
	}
}

const struct imap_literal *imap_parser_literal(const struct imap_parser *p)
{
	return p->state == PS_LIT_WAIT ? &p->lit : NULL;
}

static void lit_decided(struct imap_parser *p, const char *what)
{
	if (p->state != PS_LIT_WAIT)
		fatal("imap_parser_literal_%s: no literal pending", what);
}

static void lit_finish(struct imap_parser *p)
{
	struct imap_arg *a;

	if (p->lit_nul) {
		/* RFC 9051 CHAR8 excludes NUL; only literal8 may carry it (RFC 3516). */
		(void)imap_parser_fail(p, "NUL in literal");
		return;
	}
	a = imap_args_add(p, IMAP_ARG_LITERAL);
	a->str = (const char *)p->lit_buf;
	a->len = (size_t)p->lit.size;
	a->literal8 = p->lit.binary;
	a->streamed = p->sink != NULL;
	p->state = PS_ARGS;
}

static void lit_start_data(struct imap_parser *p)
{
	p->lit_left = p->lit.size;
	p->lit_nul = false;
	p->state = PS_LIT_DATA;
	if (p->lit_left == 0)
		lit_finish(p);
}

int imap_parser_literal_buffer(struct imap_parser *p)
{
	lit_decided(p, "buffer");
	if (p->lit.size > p->limits.literal_mem_max - p->lit_mem_used) {
		p->error = "literal too large";
		p->fail_result = p->lit.sync ? IMAP_PARSE_ERROR : IMAP_PARSE_FATAL;
		p->state = PS_LIT_FAIL;
		return -1;
	}
	p->lit_mem_used += (size_t)p->lit.size;
	p->lit_buf = imap_arena_alloc(p, (size_t)p->lit.size + 1);
	p->lit_buf[p->lit.size] = '\0';
	p->sink = NULL;
	lit_start_data(p);
	return 0;
}

void imap_parser_literal_stream(struct imap_parser *p, imap_literal_sink_cb *sink, void *ctx)
{
	lit_decided(p, "stream");
	if (sink == NULL)
		fatal("imap_parser_literal_stream: no sink");
	p->lit_buf = NULL;
	p->sink = sink;
	p->sink_ctx = ctx;
	lit_start_data(p);
}

void imap_parser_literal_refuse(struct imap_parser *p)
{
	lit_decided(p, "refuse");
	if (p->lit.sync) {
		/* RFC 9051 7.5: refused before "+", the client sends neither the literal nor the
		   rest of the command. */
		p->state = PS_DONE;
		return;
	}
	p->error = "non-synchronising literal refused";
	p->state = PS_FATAL;
}

size_t imap_parser_lit_data(struct imap_parser *p, const uint8_t *in, size_t len)
{
	size_t n = len < p->lit_left ? len : (size_t)p->lit_left;

	if (!p->lit.binary && memchr(in, 0, n) != NULL)
		p->lit_nul = true;
	if (p->sink != NULL)
		p->sink(p->sink_ctx, in, n);
	else
		memcpy(p->lit_buf + (p->lit.size - p->lit_left), in, n);
	p->lit_left -= n;
	if (p->lit_left == 0)
		lit_finish(p);
	return n;
}

/* Where a bad line's skipper starts when the error came inside a literal announcement. */
enum imap_skip imap_parser_skip_from(enum imap_pstate state)
{
	switch (state) {
	case PS_LIT_OPEN:
		return SK_OPEN;
	case PS_LIT_DIGITS:
		return SK_DIGITS;
	case PS_LIT_PLUS:
		return SK_PLUS;
	case PS_LIT_CLOSED:
		return SK_CLOSED;
	case PS_LIT_CR:
		return SK_CR;
	default:
		return SK_NONE;
	}
}

static void skip_restart(struct imap_parser *p, uint8_t c)
{
	p->skip = c == '{' ? SK_OPEN : SK_NONE;
	p->lit.size = 0;
	p->lit.sync = true;
}

/* The bad line ended. If it ended with "{n+}", n bytes of literal follow that are not
   commands: skip them too (or give up when n is over the limits), then the rest of the line. */
static enum imap_step skip_line_end(struct imap_parser *p)
{
	bool nonsync = (p->skip == SK_CLOSED || p->skip == SK_CR) && !p->lit.sync;

	if (!nonsync) {
		imap_parser_begin(p);
		return STEP_TAKE;
	}
	if (nonsync_too_large(p, p->lit.size))
		return imap_parser_fatal(p, "literal too large");
	p->lit_left = p->lit.size;
	p->skip = SK_NONE;
	p->state = p->lit_left > 0 ? PS_SKIP_DATA : PS_SKIP;
	return STEP_TAKE;
}

enum imap_step imap_parser_skip_step(struct imap_parser *p, uint8_t c)
{
	if (c == '\n')
		return skip_line_end(p);
	if (digit(c) && (p->skip == SK_OPEN || p->skip == SK_DIGITS)) {
		p->lit.size = size_add_digit(p->lit.size, c);
		p->skip = SK_DIGITS;
	} else if (c == '+' && p->skip == SK_DIGITS) {
		p->lit.sync = false;
		p->skip = SK_PLUS;
	} else if (c == '}' && (p->skip == SK_DIGITS || p->skip == SK_PLUS)) {
		p->skip = SK_CLOSED;
	} else if (c == '\r' && p->skip == SK_CLOSED) {
		p->skip = SK_CR;
	} else {
		skip_restart(p, c);
	}
	return STEP_TAKE;
}

size_t imap_parser_skip_data(struct imap_parser *p, size_t len)
{
	size_t n = len < p->lit_left ? len : (size_t)p->lit_left;

	p->lit_left -= n;
	if (p->lit_left == 0)
		p->state = PS_SKIP;
	return n;
}

/* A raw line for AUTHENTICATE or IDLE: only NUL and a bare CR are refused here. */
enum imap_step imap_parser_line_step(struct imap_parser *p, uint8_t c)
{
	if (c == '\n') {
		p->state = PS_DONE;
		p->event = IMAP_PARSE_LINE;
		return STEP_TAKE;
	}
	if (p->state == PS_LINE_CR)
		return imap_parser_fail(p, "CR without LF");
	if (c == 0)
		return imap_parser_fail(p, "NUL in line");
	if (c == '\r')
		p->state = PS_LINE_CR;
	else
		imap_scratch_add(p, c);
	return STEP_TAKE;
}
