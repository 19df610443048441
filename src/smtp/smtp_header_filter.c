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

/* The held start of a line is decided: a new field (dropped or kept), a continuation
   (follows the fate of its field), or the empty line ending the header section. */
static void hf_decide(struct smtp_header_filter *f, bool matched)
{
	uint8_t c = f->held[0];

	f->deciding = false;
	if (c == ' ' || c == '\t') {
		/* RFC 5322 2.2.3: a folded line belongs to the field before it. */
	} else if (c == '\r') {
		f->dropping = false;
		f->in_body = true;
	} else {
		f->dropping = matched;
		if (matched)
			f->dropped++;
	}
	hf_emit(f, f->held, f->held_len);
	f->held_len = 0;
}

/* One octet of a line start: collect until the line's fate is known. */
static void hf_hold(struct smtp_header_filter *f, uint8_t c)
{
	f->held[f->held_len++] = c;
	if (f->held_len == 1 && (c == ' ' || c == '\t' || c == '\r')) {
		hf_decide(f, false);
		return;
	}
	if (hf_lower(c) != (uint8_t)f->prefix[f->held_len - 1]) {
		hf_decide(f, false);
		return;
	}
	if (f->held_len == f->prefix_len)
		hf_decide(f, true);
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
			hf_decide(f, false);
		hf_emit(f, in + i, len - i);
	}
}

void smtp_header_filter_finish(struct smtp_header_filter *f)
{
	if (f->held_len > 0)
		hf_decide(f, false);
}
