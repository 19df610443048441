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
/* Octets of a line start held to learn its field name: enough for "message-id:". */
#define SMTP_HEADER_FILTER_HOLD_MAX 32

/* Fields whose presence is noted (seen), for the ones submission adds when missing. */
#define SMTP_HEADER_SEEN_MESSAGE_ID 1u
#define SMTP_HEADER_SEEN_DATE 2u

struct smtp_header_filter;
typedef void smtp_header_filter_out_cb(const uint8_t *p, size_t len, void *ctx);
/* The header section is about to end (its empty line, or the message ended inside it after a
   complete line): fields written now through the out callback join it. */
typedef void smtp_header_filter_end_cb(struct smtp_header_filter *f, void *ctx);

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
	uint8_t held[SMTP_HEADER_FILTER_HOLD_MAX];
	size_t held_len;
	unsigned dropped; /* fields removed */
	unsigned seen;	  /* SMTP_HEADER_SEEN_* */
	smtp_header_filter_end_cb *on_end;
	bool ended; /* on_end has run */
};

/* prefix: lowercase ASCII, at most SMTP_HEADER_FILTER_PREFIX_MAX - 1 octets. */
void smtp_header_filter_init(struct smtp_header_filter *f, const char *prefix,
			     smtp_header_filter_out_cb *out, void *ctx);
/* Call on_end once where the header section ends (optional). */
void smtp_header_filter_on_end(struct smtp_header_filter *f, smtp_header_filter_end_cb *on_end);
/* Feed message octets in order, in any split; output goes to the callback. */
void smtp_header_filter_feed(struct smtp_header_filter *f, const uint8_t *in, size_t len);
/* The message ended: pass on whatever is still held (a header section cut short). */
void smtp_header_filter_finish(struct smtp_header_filter *f);

#endif
