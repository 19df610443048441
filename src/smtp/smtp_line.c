#include "smtp_line.h"

/* Octets of text a line may have: the cap less its CRLF. */
static size_t smtp_line_room(const struct smtp_line *lr)
{
	size_t max = lr->max <= lr->size ? lr->max : lr->size;

	return max >= 2 ? max - 2 : 0;
}

void smtp_line_init(struct smtp_line *lr, uint8_t *buf, size_t size)
{
	*lr = (struct smtp_line){.buf = buf, .size = size, .max = size, .fault = SMTP_LINE_MORE};
}

void smtp_line_set_max(struct smtp_line *lr, size_t max)
{
	if (max > lr->size)
		max = lr->size;
	if (max < SMTP_LINE_MAX_MIN)
		max = SMTP_LINE_MAX_MIN;
	lr->max = max;
}

void smtp_line_reset(struct smtp_line *lr)
{
	smtp_line_init(lr, lr->buf, lr->size);
}

static void smtp_line_fault(struct smtp_line *lr, enum smtp_line_result fault)
{
	if (lr->fault == SMTP_LINE_MORE)
		lr->fault = fault;
}

/* Store one octet of text; false when the line would pass the cap. */
static bool smtp_line_put(struct smtp_line *lr, uint8_t c)
{
	if (lr->len >= smtp_line_room(lr))
		return false;
	lr->buf[lr->len++] = c;
	return true;
}

/* Swallow one octet of a too long line. RFC 5321 2.3.8: only CRLF ends the junk, so a bare LF
   in it cannot make the rest of the line look like a new command. */
static void smtp_line_discard(struct smtp_line *lr, uint8_t c)
{
	lr->discarded++;
	if (lr->cr && c == '\n') {
		lr->discarding = false;
		lr->cr = false;
		return;
	}
	lr->cr = c == '\r';
}

/* The line passed the cap at c: c and everything up to the next CRLF are junk. */
static enum smtp_line_result smtp_line_overflow(struct smtp_line *lr, uint8_t c)
{
	lr->discarding = true;
	lr->discarded = 0;
	smtp_line_discard(lr, c);
	return SMTP_LINE_TOO_LONG;
}

/* A CR was seen and c follows it. */
static enum smtp_line_result smtp_line_after_cr(struct smtp_line *lr, uint8_t c)
{
	lr->cr = false;
	if (c == '\n')
		return lr->fault != SMTP_LINE_MORE ? lr->fault : SMTP_LINE_OK;
	/* RFC 5321 2.3.8: a CR without LF is not a line end; the command is refused whole. */
	smtp_line_fault(lr, SMTP_LINE_BARE_CR);
	if (!smtp_line_put(lr, '\r'))
		return smtp_line_overflow(lr, c);
	return SMTP_LINE_MORE;
}

/* One octet of input: MORE, or the kind of the line it ended. */
static enum smtp_line_result smtp_line_byte(struct smtp_line *lr, uint8_t c)
{
	enum smtp_line_result r;

	if (lr->discarding) {
		smtp_line_discard(lr, c);
		return SMTP_LINE_MORE;
	}
	if (lr->cr) {
		r = smtp_line_after_cr(lr, c);
		if (r != SMTP_LINE_MORE)
			return r;
	}
	if (c == '\r') {
		lr->cr = true;
		return SMTP_LINE_MORE;
	}
	/* RFC 5321 2.3.8: a bare LF ends nothing good; the line is reported so that the session
	   answers it (500 5.5.2) instead of waiting for a CRLF the client will never send. */
	if (c == '\n')
		return lr->fault != SMTP_LINE_MORE ? lr->fault : SMTP_LINE_BARE_LF;
	if (c == '\0')
		smtp_line_fault(lr, SMTP_LINE_NUL);
	if (!smtp_line_put(lr, c))
		return smtp_line_overflow(lr, c);
	return SMTP_LINE_MORE;
}

enum smtp_line_result smtp_line_feed(struct smtp_line *lr, const uint8_t *in, size_t len,
                                     size_t *used_r, struct smtp_bytes *line_r)
{
	enum smtp_line_result r;

	if (lr->yielded) {
		lr->yielded = false;
		lr->len = 0;
		lr->fault = SMTP_LINE_MORE;
	}
	*used_r = 0;
	if (!lr->discarding && lr->len > smtp_line_room(lr)) {
		/* the cap was lowered under a line in progress; a pending CR stays pending */
		lr->len = smtp_line_room(lr);
		lr->discarding = true;
		lr->discarded = 0;
		r = SMTP_LINE_TOO_LONG;
	} else {
		for (r = SMTP_LINE_MORE; r == SMTP_LINE_MORE && *used_r < len; (*used_r)++)
			r = smtp_line_byte(lr, in[*used_r]);
		if (r == SMTP_LINE_MORE)
			return r;
	}
	lr->yielded = true;
	line_r->p = lr->buf;
	line_r->len = lr->len;
	return r;
}

bool smtp_line_pending(const struct smtp_line *lr)
{
	return lr->discarding || lr->cr || (!lr->yielded && lr->len > 0);
}

bool smtp_line_discarding(const struct smtp_line *lr)
{
	return lr->discarding;
}

uint64_t smtp_line_discarded(const struct smtp_line *lr)
{
	return lr->discarded;
}
