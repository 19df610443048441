#ifndef MAILD_SMTP_LINE_H
#define MAILD_SMTP_LINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Incremental reader of SMTP command lines. Pure: fed bytes by the caller, it never reads a
 * socket and never allocates; the line buffer is the caller's.
 *
 * Only CRLF ends a good line (RFC 5321 2.3.8). Every line the reader yields is one of:
 *   SMTP_LINE_OK        a command line; *line_r is its text without the CRLF
 *   SMTP_LINE_BARE_LF   the line ended with LF not preceded by CR (reply 500 5.5.2, or close)
 *   SMTP_LINE_BARE_CR   a CR not followed by LF inside the line; the line then ended with CRLF
 *   SMTP_LINE_NUL       a NUL byte inside the line; the line ended with CRLF
 *   SMTP_LINE_TOO_LONG  the line has more than `max` octets counting its CRLF
 * BARE_CR and NUL are decided when the line ends; a line with both reports the first one seen.
 * A line that ends in a bare LF after a bare CR or NUL still reports that earlier fault.
 *
 * TOO_LONG is reported as soon as the line passes the cap, having read at most `max` octets of
 * it, with *line_r its first max - 2 octets (for logging, or to answer EHLO 501 5.5.4). The reader
 * then swallows everything up to and including the next CRLF (a bare LF does not end the junk)
 * without storing it and without reporting it again; smtp_line_discarding() says whether it is
 * doing so and smtp_line_discarded() how much it has swallowed, so the session can close when junk
 * goes on.
 *
 * The reader stops right after the LF of each line it yields: *used_r tells how many input
 * bytes it took, and the bytes after them (pipelined commands, or plaintext after STARTTLS)
 * stay with the caller. After a line is yielded the reader holds nothing of the input.
 */

/* RFC 5321 4.5.3.1.4: a command line is at most 512 octets including the CRLF. */
#define SMTP_LINE_MAX 512
/* The smallest cap smtp_line_init() accepts: one octet of command and the CRLF. */
#define SMTP_LINE_MAX_MIN 3

/* Bytes from the wire, with their length; not NUL-terminated. */
struct smtp_bytes {
	const uint8_t *p;
	size_t len;
};

enum smtp_line_result {
	SMTP_LINE_MORE,
	SMTP_LINE_OK,
	SMTP_LINE_BARE_LF,
	SMTP_LINE_BARE_CR,
	SMTP_LINE_NUL,
	SMTP_LINE_TOO_LONG,
};

/* Opaque in spirit: read it only through the functions below. */
struct smtp_line {
	uint8_t *buf;
	size_t size; /* of buf */
	size_t max;  /* octets of a line, CRLF included */
	size_t len;  /* octets stored of the current line */
	uint64_t discarded;
	enum smtp_line_result fault; /* first BARE_CR or NUL of the current line, else MORE */
	bool cr;                     /* the last byte seen was a CR not yet stored */
	bool discarding;             /* swallowing the rest of a too long line */
	bool yielded;                /* a line was returned: the next feed starts a new one */
};

/* Set up a reader over the caller's buffer buf of size octets (at least SMTP_LINE_MAX_MIN): lines
   may be up to size octets with their CRLF, and the cap starts at that (uint8_t
   buf[SMTP_LINE_MAX] gives RFC 5321's 512). The buffer must live as long as the reader. */
void smtp_line_init(struct smtp_line *lr, uint8_t *buf, size_t size);

/* Change the cap for the lines that follow (e.g. a larger one for an AUTH exchange, RFC 4954
   4: 12288 octets, given a buffer that large). max is clamped to SMTP_LINE_MAX_MIN .. size. It
   takes effect at once: a line in progress already longer is reported TOO_LONG by the next
   feed, which then takes no input. */
void smtp_line_set_max(struct smtp_line *lr, size_t max);

/* Forget any partial line (e.g. after STARTTLS, RFC 3207 4.2). */
void smtp_line_reset(struct smtp_line *lr);

/* Feed len bytes. Returns SMTP_LINE_MORE when all of them were taken without completing a
   line, else the kind of line that ended; *used_r is always set to the bytes taken (all of them
   for MORE). For every result but MORE, *line_r is set; it points into the reader's buffer and
   stays valid until the next call on the reader. Feeding the same bytes in any split gives the
   same lines in the same order. */
enum smtp_line_result smtp_line_feed(struct smtp_line *lr, const uint8_t *in, size_t len,
                                     size_t *used_r, struct smtp_bytes *line_r);

/* Whether part of a line (or the junk of a too long one) has been fed and not yet yielded:
   for a session that must know no command is half received (before STARTTLS, at close). */
bool smtp_line_pending(const struct smtp_line *lr);

/* Whether the reader is swallowing the rest of a too long line, and how many octets it has
   swallowed so far for it. */
bool smtp_line_discarding(const struct smtp_line *lr);
uint64_t smtp_line_discarded(const struct smtp_line *lr);

#endif
