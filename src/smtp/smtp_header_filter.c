#include <string.h>

#include "smtp_header_filter.h"

void smtp_header_filter_init(struct smtp_header_filter *f, const char *prefix,
			     smtp_header_filter_out_cb *out, void *ctx)
{
	memset(f, 0, sizeof(*f));
	f->prefix_len = strlen(prefix);
	if (f->prefix_len >= sizeof(f->prefix))
		f->prefix_len = sizeof(f->prefix) - 1;
	memcpy(f->prefix, prefix, f->prefix_len);
	f->out = out;
	f->ctx = ctx;
	f->line_start = true;
}

static uint8_t hf_lower(uint8_t c)
{
	return c >= 'A' && c <= 'Z' ? (uint8_t)(c - 'A' + 'a') : c;
}

static void hf_emit(struct smtp_header_filter *f, const uint8_t *p, size_t len)
{
	if (len > 0 && !f->dropping)
		f->out(p, len, f->ctx);
}

static void hf_end_headers(struct smtp_header_filter *f)
{
	f->dropping = false;
	if (f->on_end != NULL && !f->ended) {
		f->ended = true;
		f->on_end(f, f->ctx);
	}
}

static bool hf_held_is(const struct smtp_header_filter *f, const char *name_colon)
{
	size_t n = strlen(name_colon);

	if (f->held_len != n)
		return false;
	for (size_t i = 0; i < n; i++)
		if (hf_lower(f->held[i]) != (uint8_t)name_colon[i])
			return false;
	return true;
}

/* The held start of a line is decided: a new field (dropped or kept), a continuation
   (follows the fate of its field), or the empty line ending the header section. */
static void hf_decide(struct smtp_header_filter *f)
{
	uint8_t c = f->held[0];
	bool matched = f->held_len >= f->prefix_len;

	for (size_t i = 0; i < f->prefix_len && matched; i++)
		matched = hf_lower(f->held[i]) == (uint8_t)f->prefix[i];
	f->deciding = false;
	if (c == ' ' || c == '\t') {
		/* RFC 5322 2.2.3: a folded line belongs to the field before it. */
	} else if (c == '\r') {
		hf_end_headers(f);
		f->in_body = true;
	} else {
		f->dropping = matched;
		if (matched)
			f->dropped++;
		if (hf_held_is(f, "message-id:"))
			f->seen |= SMTP_HEADER_SEEN_MESSAGE_ID;
		else if (hf_held_is(f, "date:"))
			f->seen |= SMTP_HEADER_SEEN_DATE;
	}
	hf_emit(f, f->held, f->held_len);
	f->held_len = 0;
}

/* One octet of a line start: collect until the field name is known (its colon), or the line
   is a continuation or the end of the header section. */
static void hf_hold(struct smtp_header_filter *f, uint8_t c)
{
	f->held[f->held_len++] = c;
	if ((f->held_len == 1 && (c == ' ' || c == '\t' || c == '\r')) || c == ':' ||
	    c <= ' ' || c >= 0x7f || f->held_len == sizeof(f->held))
		hf_decide(f);
}

static void hf_byte(struct smtp_header_filter *f, uint8_t c)
{
	if (f->line_start) {
		f->line_start = false;
		f->deciding = true;
	}
	if (f->deciding) {
		hf_hold(f, c);
	} else {
		hf_emit(f, &c, 1);
	}
	if (c == '\n' && f->prev_cr && !f->in_body)
		f->line_start = true;
	f->prev_cr = c == '\r';
}

void smtp_header_filter_feed(struct smtp_header_filter *f, const uint8_t *in, size_t len)
{
	size_t i = 0;

	/* Header octets one by one (headers are small); the body in one piece. */
	while (i < len && !f->in_body)
		hf_byte(f, in[i++]);
	if (i < len) {
		if (f->deciding || f->held_len > 0)
			hf_decide(f);
		hf_emit(f, in + i, len - i);
	}
}

void smtp_header_filter_on_end(struct smtp_header_filter *f, smtp_header_filter_end_cb *on_end)
{
	f->on_end = on_end;
}

void smtp_header_filter_finish(struct smtp_header_filter *f)
{
	if (f->held_len > 0)
		hf_decide(f);
	/* A message of header fields only: new fields may follow its last complete line. */
	if (!f->in_body && f->line_start)
		hf_end_headers(f);
}
