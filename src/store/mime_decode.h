#ifndef MAILD_MIME_DECODE_H
#define MAILD_MIME_DECODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mime_buf.h"

struct mime_message;

/*
 * Streaming Content-Transfer-Encoding decoders (RFC 2045 6.7, 6.8) for IMAP BINARY[] /
 * BINARY.SIZE (RFC 3516) and text extraction. Feed the encoded body in chunks of any size;
 * the state between chunks is a few octets in the struct. Decoding is lenient and never fails:
 * what is not valid encoding is skipped (base64) or kept as written (quoted-printable), and the
 * decoder remembers that it saw it (MIME_DECODE_INVALID) so BINARY can answer
 * UNKNOWN-CTE if it wants to. Feeding the same input in any split gives the same output.
 */

enum mime_decode_flag {
	MIME_DECODE_INVALID = 1 << 0, /* octets that were not valid encoding were seen */
};

/* Base64: characters outside the alphabet (line ends, blanks, garbage) are skipped; "="
   ends a group of four, flushing the octets it holds, and decoding goes on after it (so
   concatenated base64 bodies decode). The bits of an incomplete final group are dropped. */
struct mime_b64 {
	uint32_t acc;
	unsigned n; /* characters in acc, 0..3 */
	unsigned flags;
};

/* Room out needs for a chunk of len encoded octets. */
#define MIME_B64_OUT_MAX(len) (((len) + 3) / 4 * 3 + 3)

void mime_b64_init(struct mime_b64 *d);
/* Decode len octets into out (room for MIME_B64_OUT_MAX(len)); returns the octets written. */
size_t mime_b64_decode(struct mime_b64 *d, const uint8_t *in, size_t len, uint8_t *out);
/* End of input: writes at most 2 octets an incomplete group holds; returns how many. */
size_t mime_b64_finish(struct mime_b64 *d, uint8_t *out);

/* Quoted-printable: "=XX" (either case of hex) is an octet, "=" then optional blanks then a
   line end is a soft line break, blanks before a line end are dropped (RFC 2045 6.7 rule 3),
   other line ends are kept as written (CRLF or LF). An "=" not starting any of those is kept
   as written, with what follows it. Runs of blanks are held back until what follows them is
   known, up to MIME_QP_HOLD_MAX; longer runs are passed on. */
#define MIME_QP_HOLD_MAX 64

struct mime_qp {
	int state;
	uint8_t hex; /* the first hex digit after "=" */
	uint8_t held[MIME_QP_HOLD_MAX];
	size_t nheld;
	unsigned flags;
};

/* Room out needs for a chunk of len encoded octets. */
#define MIME_QP_OUT_MAX(len) ((len) + MIME_QP_HOLD_MAX + 3)

void mime_qp_init(struct mime_qp *d);
/* Decode len octets into out (room for MIME_QP_OUT_MAX(len)); returns the octets written. */
size_t mime_qp_decode(struct mime_qp *d, const uint8_t *in, size_t len, uint8_t *out);
/* End of input: a final "=" is a soft line break, "=X" is written as it was (at most 2
   octets), trailing blanks are dropped. Returns the octets written. */
size_t mime_qp_finish(struct mime_qp *d, uint8_t *out);

/* Which decoder a Content-Transfer-Encoding value calls for. */
enum mime_cte {
	MIME_CTE_IDENTITY, /* 7bit, 8bit, binary, absent */
	MIME_CTE_BASE64,
	MIME_CTE_QP,
	MIME_CTE_UNKNOWN, /* x-uuencode and other names: the body is passed on as it is */
};
enum mime_cte mime_cte_from_name(const char *name);

/* Streaming decoder for any of the above. */
struct mime_decoder {
	enum mime_cte cte;
	union {
		struct mime_b64 b64;
		struct mime_qp qp;
	} u;
};

#define MIME_DECODER_OUT_MAX(len) MIME_QP_OUT_MAX(len)

void mime_decoder_init(struct mime_decoder *d, enum mime_cte cte);
/* Decode len octets into out (room for MIME_DECODER_OUT_MAX(len)); returns the octets. */
size_t mime_decoder_feed(struct mime_decoder *d, const uint8_t *in, size_t len, uint8_t *out);
/* End of input; out needs room for 3 octets. */
size_t mime_decoder_finish(struct mime_decoder *d, uint8_t *out);
/* MIME_DECODE_* flags seen so far. */
unsigned mime_decoder_flags(const struct mime_decoder *d);

/*
 * The searchable text of a parsed message, as UTF-8, for SEARCH TEXT/BODY and the full-text
 * index: the decoded Subject, From, To and Cc (RFC 2047) of the message and of every embedded
 * message/rfc822, one per line, then every text/plain and text/html body part decoded
 * (transfer encoding, then charset through iconv) with HTML tags crudely replaced by a space
 * (no entity decoding, script and style text kept). Parts are separated by a line end. At most
 * max_out octets are appended to out, cut at a character boundary. Returns 1 when the text was
 * cut there, 0 when it is complete.
 */
#define MIME_TEXT_MAX_DEFAULT (1024 * 1024)

int mime_text_extract(const struct mime_message *m, size_t max_out, struct mime_buf *out);

#endif
