#ifndef MAILD_SMTP_DATA_H
#define MAILD_SMTP_DATA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Incremental decoder of the message text that follows "354" (RFC 5321 4.1.1.4, 4.5.2). Pure:
 * fed raw bytes by the caller, it hands the message on through a callback and never buffers
 * it (a few words of state per message).
 *
 * - Transparency: a line that begins with "." loses that dot (RFC 5321 4.5.2).
 * - The end of data is CRLF "." CRLF and nothing else; a "." line right after the 354 counts,
 *   the CRLF before it belonging to the message. A bare LF or a bare CR is never a line break
 *   and never part of an end: "\n.\n", "\n.\r\n", "\r\n.\n", "\r.\r\n" and "\r\n.\r" (SMTP
 *   smuggling) are message text. Such a message is marked SMTP_DATA_BAD_LINE_ENDING and
 *   decoding goes on to the real terminator, so the session stays in step with the client.
 * - The decoder stops right after the terminator: *used_r says how many bytes it took, and the
 *   bytes after them (the next pipelined command) stay with the caller.
 *
 * Faults never stop decoding; they set flags for the session to answer after the terminator:
 *   SMTP_DATA_BAD_LINE_ENDING  bare CR or LF somewhere              550 5.5.2 (row 1-3)
 *   SMTP_DATA_LINE_TOO_LONG    a line longer than line_max          552 5.3.4 (row 9)
 *   SMTP_DATA_TOO_BIG          more than size_max octets            552 5.3.4 (row 11)
 *   SMTP_DATA_TOO_MANY_HOPS    more than hops_max Received: fields  554 5.4.6 (row 28)
 *   SMTP_DATA_NUL              a NUL octet somewhere (not a fault by itself; row 13 policy)
 * Only TOO_BIG changes the output: the callback is given the first size_max octets of the
 * message and nothing after them. For the other flags the caller decides whether to keep
 * writing (it may check smtp_data_flags() after each feed and stop early).
 *
 * Sizes and line lengths count the message as decoded: without the dots taken out, with every
 * CRLF (a line's length includes its CRLF, as in RFC 5321 4.5.3.1.6). The header section is the
 * lines before the first empty line; a field named "Received" (any case, optional blanks
 * before the colon) that starts a line there counts as a hop.
 *
 * SMTP_DATA_CHUNK mode decodes BDAT chunks (RFC 3030) with the same checks but no dot
 * handling and no terminator: the caller feeds exactly the chunk octets, chunk after chunk of
 * one message, and calls smtp_data_finish() after the LAST chunk.
 */

/* Text line cap, CRLF included (row 9: a hard cap well past RFC 5321's 1000). */
#define SMTP_DATA_LINE_MAX_DEFAULT (64 * 1024)
/* Received: fields allowed before a loop is assumed (row 28; RFC 5321 6.3). */
#define SMTP_DATA_HOPS_MAX_DEFAULT 50
/* Message size cap, the default of limits.message_size. */
#define SMTP_DATA_SIZE_MAX_DEFAULT (25 * 1024 * 1024)

enum smtp_data_flag {
	SMTP_DATA_BAD_LINE_ENDING = 1 << 0,
	SMTP_DATA_LINE_TOO_LONG = 1 << 1,
	SMTP_DATA_TOO_BIG = 1 << 2,
	SMTP_DATA_TOO_MANY_HOPS = 1 << 3,
	SMTP_DATA_NUL = 1 << 4,
};

/* The flags that make the message unacceptable (SMTP_DATA_NUL is left to policy). */
#define SMTP_DATA_REJECT                                                                           \
	(SMTP_DATA_BAD_LINE_ENDING | SMTP_DATA_LINE_TOO_LONG | SMTP_DATA_TOO_BIG |                 \
	 SMTP_DATA_TOO_MANY_HOPS)

enum smtp_data_mode {
	SMTP_DATA_DOT,   /* DATA: dot-stuffed, ends at CRLF.CRLF */
	SMTP_DATA_CHUNK, /* BDAT: raw chunks, ended by the caller */
};

enum smtp_data_result {
	SMTP_DATA_MORE, /* all input taken, the end not reached */
	SMTP_DATA_END,  /* the terminator was taken; *used_r says where it ended */
};

struct smtp_data_limits {
	uint64_t size_max; /* octets of message passed on */
	uint64_t line_max; /* octets of a line, CRLF included; at least 2 */
	unsigned hops_max; /* Received: fields */
};

/* Octets of the message, in order. p is valid only during the call. */
typedef void smtp_data_out_cb(const uint8_t *p, size_t len, void *ctx);

/* Read only through the functions below. */
struct smtp_data {
	struct smtp_data_limits limits;
	enum smtp_data_mode mode;
	smtp_data_out_cb *out;
	void *ctx;
	int state;
	unsigned flags;
	unsigned hops;
	uint64_t size;     /* decoded octets, counted on past size_max */
	uint64_t line_len; /* decoded octets of the current line */
	bool in_headers;
	int match; /* position in "received:", or -1 when the line is no Received */
};

/* Start decoding one message. limits NULL means the defaults above; out may be NULL to only
   check and count. */
void smtp_data_init(struct smtp_data *d, const struct smtp_data_limits *limits,
                    enum smtp_data_mode mode, smtp_data_out_cb *out, void *ctx);

/* Feed len raw bytes; output goes to the callback before this returns. Returns SMTP_DATA_END
   once the terminator is taken, with *used_r the bytes up to and including its LF; otherwise
   SMTP_DATA_MORE with *used_r = len. After the end every call returns SMTP_DATA_END, takes
   nothing and outputs nothing. Feeding the same bytes in any split gives the same output
   bytes, flags and end. The output is never longer than the input fed so far. */
enum smtp_data_result smtp_data_feed(struct smtp_data *d, const uint8_t *in, size_t len,
                                     size_t *used_r);

/* SMTP_DATA_CHUNK only: the LAST chunk was fed. A message whose final octet is a CR that no LF
   follows is marked SMTP_DATA_BAD_LINE_ENDING. Returns the flags. */
unsigned smtp_data_finish(struct smtp_data *d);

/* SMTP_DATA_* flags so far. */
unsigned smtp_data_flags(const struct smtp_data *d);
/* Decoded octets so far, also those past size_max (for the log). */
uint64_t smtp_data_size(const struct smtp_data *d);
/* Received: fields counted so far in the header section. */
unsigned smtp_data_hops(const struct smtp_data *d);

#endif
