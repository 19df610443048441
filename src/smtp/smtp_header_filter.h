#ifndef MAILD_SMTP_HEADER_FILTER_H
#define MAILD_SMTP_HEADER_FILTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Streaming removal of header fields by name prefix from a CRLF message, for the fields that
 * are ours to set (X-Spam-*: a sender must not be able to pre-mark its own mail as clean).
 * Pure and bounded: it holds at most the length of the prefix, never a whole field; a dropped
 * field's folded continuation lines go with it; the body passes untouched.
 */

#define SMTP_HEADER_FILTER_PREFIX_MAX 16

typedef void smtp_header_filter_out_cb(const uint8_t *p, size_t len, void *ctx);

struct smtp_header_filter {
	char prefix[SMTP_HEADER_FILTER_PREFIX_MAX]; /* lowercase, e.g. "x-spam-" */
	size_t prefix_len;
	smtp_header_filter_out_cb *out;
	void *ctx;
	bool in_body;
	bool line_start;  /* the next byte begins a line */
	bool dropping;	  /* inside a dropped field */
	bool deciding;	  /* collecting the start of a line in held[] */
	bool prev_cr;
	uint8_t held[SMTP_HEADER_FILTER_PREFIX_MAX];
	size_t held_len;
	unsigned dropped; /* fields removed */
};

/* prefix: lowercase ASCII, at most SMTP_HEADER_FILTER_PREFIX_MAX - 1 octets. */
void smtp_header_filter_init(struct smtp_header_filter *f, const char *prefix,
			     smtp_header_filter_out_cb *out, void *ctx);
/* Feed message octets in order, in any split; output goes to the callback. */
void smtp_header_filter_feed(struct smtp_header_filter *f, const uint8_t *in, size_t len);
/* The message ended: pass on whatever is still held (a header section cut short). */
void smtp_header_filter_finish(struct smtp_header_filter *f);

#endif
