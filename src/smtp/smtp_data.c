#include <limits.h>
#include <stdbool.h>

#include "smtp_data.h"

/* Where the decoder is within a line. */
enum smtp_data_state {
	DATA_BOL,    /* at the start of a line (after CRLF, or at the start of the message) */
	DATA_TEXT,   /* inside a line */
	DATA_CR,     /* inside a line, after a CR already passed on */
	DATA_DOT,    /* after a "." that began a line, taken out */
	DATA_DOT_CR, /* after "." CR at the start of a line, the CR held back */
	DATA_END,    /* the terminator was taken */
};

/* RFC 5322 3.6.7: the trace field a relay prepends, matched up to its colon. */
static const char smtp_data_received[] = "received";
#define RECEIVED_LEN (sizeof(smtp_data_received) - 1)

/* The held-back CR of "." CR when no LF follows: passed on from here, not from the input. */
static const uint8_t smtp_data_cr = '\r';

/* A run of output octets, contiguous in memory, not yet handed to the callback. */
struct smtp_data_run {
	const uint8_t *p;
	size_t len;
};

void smtp_data_init(struct smtp_data *d, const struct smtp_data_limits *limits,
                    enum smtp_data_mode mode, smtp_data_out_cb *out, void *ctx)
{
	static const struct smtp_data_limits defaults = {
	    .size_max = SMTP_DATA_SIZE_MAX_DEFAULT,
	    .line_max = SMTP_DATA_LINE_MAX_DEFAULT,
	    .hops_max = SMTP_DATA_HOPS_MAX_DEFAULT,
	};

	*d = (struct smtp_data){
	    .limits = limits != NULL ? *limits : defaults,
	    .mode = mode,
	    .out = out,
	    .ctx = ctx,
	    .state = DATA_BOL,
	    .in_headers = true,
	};
}

static void smtp_data_flush(struct smtp_data *d, struct smtp_data_run *run)
{
	if (run->len > 0 && d->out != NULL)
		d->out(run->p, run->len, d->ctx);
	run->len = 0;
}

static char ascii_lower(uint8_t c)
{
	return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : (char)c;
}

/* Follow a header line's first octets: "Received" in any case, blanks, then the colon. */
static void smtp_data_match(struct smtp_data *d, uint8_t c)
{
	if ((size_t)d->match < RECEIVED_LEN) {
		if (ascii_lower(c) == smtp_data_received[d->match])
			d->match++;
		else
			d->match = -1;
		return;
	}
	/* RFC 5322 4.5 (obsolete syntax): blanks may come before the colon */
	if (c == ' ' || c == '\t')
		return;
	if (c == ':') {
		if (d->hops < UINT_MAX)
			d->hops++;
		if (d->hops > d->limits.hops_max)
			d->flags |= SMTP_DATA_TOO_MANY_HOPS;
	}
	d->match = -1;
}

/* One octet of the decoded message, at p (in the input, or smtp_data_cr). */
static void smtp_data_put(struct smtp_data *d, struct smtp_data_run *run, const uint8_t *p)
{
	if (d->size < UINT64_MAX)
		d->size++;
	if (d->line_len < UINT64_MAX)
		d->line_len++;
	if (d->line_len > d->limits.line_max)
		d->flags |= SMTP_DATA_LINE_TOO_LONG;
	if (d->in_headers && d->match >= 0)
		smtp_data_match(d, *p);
	/* row 11: nothing past the limit is passed on, but the count goes on for the log */
	if (d->size > d->limits.size_max) {
		d->flags |= SMTP_DATA_TOO_BIG;
		return;
	}
	if (run->len > 0 && run->p + run->len != p)
		smtp_data_flush(d, run);
	if (run->len == 0)
		run->p = p;
	run->len++;
}

/* The LF of a CRLF was passed on: a new line starts. */
static void smtp_data_newline(struct smtp_data *d)
{
	/* RFC 5322 2.1: the header section ends at the first empty line */
	if (d->line_len == 2)
		d->in_headers = false;
	d->line_len = 0;
	d->match = 0;
	d->state = DATA_BOL;
}

/* An octet inside a line (not one that may begin the terminator). */
static void smtp_data_text(struct smtp_data *d, struct smtp_data_run *run, const uint8_t *p)
{
	/* RFC 5321 2.3.8: a LF without CR is no line break; it never starts a new line, so
	   "\n.\n" and the like cannot end the data (SMTP smuggling). */
	if (*p == '\n')
		d->flags |= SMTP_DATA_BAD_LINE_ENDING;
	else if (*p == '\0')
		d->flags |= SMTP_DATA_NUL;
	smtp_data_put(d, run, p);
	d->state = *p == '\r' ? DATA_CR : DATA_TEXT;
}

/* One octet of input, in any state but DATA_END. */
static void smtp_data_byte(struct smtp_data *d, struct smtp_data_run *run, const uint8_t *p)
{
	switch (d->state) {
	case DATA_BOL:
		/* RFC 5321 4.5.2: a line's leading dot is taken out; "." alone ends the data */
		if (*p == '.' && d->mode == SMTP_DATA_DOT) {
			d->state = DATA_DOT;
			return;
		}
		break;
	case DATA_DOT:
		if (*p == '\r') {
			d->state = DATA_DOT_CR;
			return;
		}
		break;
	case DATA_DOT_CR:
		if (*p == '\n') {
			d->state = DATA_END;
			return;
		}
		/* "." CR then no LF: the dot was stuffing and the CR is bare (row 2: "\r\n.\r") */
		d->flags |= SMTP_DATA_BAD_LINE_ENDING;
		smtp_data_flush(d, run);
		smtp_data_put(d, run, &smtp_data_cr);
		smtp_data_flush(d, run); /* never let a run span two objects */
		break;
	case DATA_CR:
		if (*p == '\n') {
			smtp_data_put(d, run, p);
			smtp_data_newline(d);
			return;
		}
		/* RFC 5321 2.3.8: a CR without LF is no line break either (row 3) */
		d->flags |= SMTP_DATA_BAD_LINE_ENDING;
		break;
	default:
		break;
	}
	smtp_data_text(d, run, p);
}

/* Octets that need the state machine when they appear inside a line. */
static const bool smtp_data_special[256] = {['\r'] = true, ['\n'] = true, ['\0'] = true};

/* How many octets from p on are plain text: none of them ends a line or is a NUL. */
static size_t smtp_data_plain_len(const uint8_t *p, size_t len)
{
	size_t n = 0;

	while (n + 4 <= len && !(smtp_data_special[p[n]] | smtp_data_special[p[n + 1]] |
	                         smtp_data_special[p[n + 2]] | smtp_data_special[p[n + 3]]))
		n += 4;
	while (n < len && !smtp_data_special[p[n]])
		n++;
	return n;
}

/* The fast path for the bulk of a message: inside a line, past the part of a header line
   that could name a Received field, a run of plain octets changes only the counters and
   extends the output run. It is taken only while the whole run fits under size_max, so
   the octet-by-octet path stays the one that handles the limit. Returns octets taken. */
static size_t smtp_data_plain_run(struct smtp_data *d, struct smtp_data_run *run,
                                  const uint8_t *p, size_t len)
{
	size_t n;

	if (d->state != DATA_TEXT || (d->in_headers && d->match >= 0))
		return 0;
	n = smtp_data_plain_len(p, len);
	if (n == 0 || d->size > d->limits.size_max || n > d->limits.size_max - d->size)
		return 0;
	d->size += n;
	d->line_len += n;
	if (d->line_len > d->limits.line_max)
		d->flags |= SMTP_DATA_LINE_TOO_LONG;
	if (run->len > 0 && run->p + run->len != p)
		smtp_data_flush(d, run);
	if (run->len == 0)
		run->p = p;
	run->len += n;
	return n;
}

enum smtp_data_result smtp_data_feed(struct smtp_data *d, const uint8_t *in, size_t len,
                                     size_t *used_r)
{
	struct smtp_data_run run = {.p = NULL, .len = 0};
	size_t i;

	if (d->state == DATA_END) {
		*used_r = 0;
		return SMTP_DATA_END;
	}
	for (i = 0; i < len && d->state != DATA_END; i++) {
		i += smtp_data_plain_run(d, &run, in + i, len - i);
		if (i == len)
			break;
		smtp_data_byte(d, &run, in + i);
	}
	smtp_data_flush(d, &run);
	*used_r = i;
	return d->state == DATA_END ? SMTP_DATA_END : SMTP_DATA_MORE;
}

unsigned smtp_data_finish(struct smtp_data *d)
{
	if (d->state == DATA_CR)
		d->flags |= SMTP_DATA_BAD_LINE_ENDING;
	return d->flags;
}

unsigned smtp_data_flags(const struct smtp_data *d)
{
	return d->flags;
}

uint64_t smtp_data_size(const struct smtp_data *d)
{
	return d->size;
}

unsigned smtp_data_hops(const struct smtp_data *d)
{
	return d->hops;
}
