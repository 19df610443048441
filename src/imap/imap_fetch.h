#ifndef MAILD_IMAP_FETCH_H
#define MAILD_IMAP_FETCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../store/mime_buf.h"
#include "../store/mime_decode.h"
#include "../store/mime_parse.h"
#include "imap_parser.h"

/*
 * FETCH (RFC 9051 6.4.5, RFC 3516 BINARY, RFC 7162 CONDSTORE/QRESYNC): the pieces that do not
 * touch a session.
 *
 * imap_fetch_plan_parse() turns the arguments after the sequence set into a plan: the simple
 * data items as bits, every BODY[...]/BINARY[...]/RFC822* item as a struct imap_fetch_body,
 * and the modifiers. It is pure (fuzzed by tests/fuzz/fuzz_imap_fetch_args.c).
 *
 * struct imap_fetch_lit is one body item of one message as a literal: resolved against the
 * message's bytes (imap_fetch_lit_init), its exact size known before the first byte is written
 * (IMAP literals announce it), then written in pieces of any size (imap_fetch_lit_emit), so a
 * 20 MB message goes out from its mmap in bounded chunks across many batches.
 */

/* Simple data items (plan->attrs). */
#define IMAP_FETCH_UID 0x001u
#define IMAP_FETCH_FLAGS 0x002u
#define IMAP_FETCH_INTERNALDATE 0x004u
#define IMAP_FETCH_RFC822_SIZE 0x008u
#define IMAP_FETCH_ENVELOPE 0x010u
#define IMAP_FETCH_BODY 0x020u /* BODY without a section: the non-extended structure */
#define IMAP_FETCH_BODYSTRUCTURE 0x040u
#define IMAP_FETCH_MODSEQ 0x080u
/* The items answered from the folder's memory alone (mbox_msg), without the thread pool. */
#define IMAP_FETCH_MEMORY_ATTRS (IMAP_FETCH_UID | IMAP_FETCH_FLAGS | IMAP_FETCH_MODSEQ)

/* Body items per FETCH command, and field names per HEADER.FIELDS list (habit 5). */
#define IMAP_FETCH_BODIES_MAX 64u
#define IMAP_FETCH_FIELDS_MAX 256u
/* A header field name (RFC 5322 2.2) in HEADER.FIELDS. */
#define IMAP_FETCH_FIELD_LEN_MAX 256u
/* Data items in one FETCH list (repetitions included). */
#define IMAP_FETCH_ITEMS_MAX 1000u

enum imap_fetch_body_kind {
	IMAP_FETCH_SECTION,     /* BODY[...], BODY.PEEK[...], RFC822, RFC822.HEADER, RFC822.TEXT */
	IMAP_FETCH_BINARY,      /* BINARY[part], BINARY.PEEK[part] */
	IMAP_FETCH_BINARY_SIZE, /* BINARY.SIZE[part] */
};

struct imap_fetch_body {
	enum imap_fetch_body_kind kind;
	struct mime_section section; /* fields point into the plan's arena */
	bool set_seen;               /* not PEEK (RFC 9051 6.4.5: BODY[] sets \Seen) */
	bool partial;                /* <origin.length> */
	uint64_t partial_off, partial_len;
	const char *label; /* the response's name: "BODY[HEADER.FIELDS (FROM)]<0>", "RFC822" */
	/* BODY[HEADER.FIELDS (...)] of the message itself naming only fields of the header
	   lines cache (mime_hdrcache.h): answered from imap_fetch_src.hdr_lines when given. */
	bool hdr_cached;
};

struct imap_fetch_plan {
	unsigned attrs; /* IMAP_FETCH_* */
	struct imap_fetch_body *bodies;
	size_t nbodies;
	bool set_seen; /* some body item sets \Seen */
	/* RFC 7162 3.1.4 CHANGEDSINCE (implies MODSEQ) and 3.2.6 VANISHED. */
	bool changedsince_set;
	uint64_t changedsince;
	bool vanished;
	struct mime_arena arena;
};

/* Parse the arguments of FETCH after the sequence set: a macro (ALL, FAST, FULL), one data
   item or a list of them, then optionally a list of modifiers; nothing may follow. uid: UID
   FETCH (UID is then always included, RFC 9051 6.4.9). 0, or -1 with *error_r a static text
   for the BAD reply. Free with imap_fetch_plan_free() either way. */
int imap_fetch_plan_parse(const struct imap_arg *args, bool uid, struct imap_fetch_plan *plan_r,
                          const char **error_r);
void imap_fetch_plan_free(struct imap_fetch_plan *plan);

/* The bytes of one message as the literals read them. */
struct imap_fetch_src {
	const uint8_t *buf; /* the whole file (mmap), len octets */
	size_t len;
	/* The parsed message, or NULL: then only sections without part numbers are resolved
	   (imap_fetch_body_needs_parse() says which need it). */
	const struct mime_message *msg;
	/* The file has bare LFs (RFC822.SIZE differs from the file size): sections go out with
	   every bare LF made CRLF, as RFC822.SIZE counts them. */
	bool crlf;
	/* The message's header lines cache entry (MBOX_CACHE_HDR_LINES, never empty), or NULL.
	   With it, items with hdr_cached need neither buf nor msg. */
	const uint8_t *hdr_lines;
	size_t hdr_lines_len;
};

/* Whether body needs the parsed message (part numbers, MIME, BINARY of a part). */
bool imap_fetch_body_needs_parse(const struct imap_fetch_body *body);
/* Whether body is answered from src->hdr_lines, without the file. */
bool imap_fetch_body_from_lines(const struct imap_fetch_body *body,
                                const struct imap_fetch_src *src);

enum imap_fetch_xform {
	IMAP_FETCH_XF_COPY, /* as stored */
	IMAP_FETCH_XF_CRLF, /* bare LF made CRLF */
	IMAP_FETCH_XF_DECODE,
};

/* One body item of one message, being written as a literal. */
struct imap_fetch_lit {
	const struct imap_fetch_body *body;
	bool nil;           /* the message has no such part: NIL, no literal */
	bool binary8;       /* ~{n}: the (decoded) data holds NUL (RFC 3516 4.2) */
	uint64_t size;      /* octets of the literal */
	uint64_t part_size; /* the whole transformed source (BINARY.SIZE) */
	/* the source: src[0..src_len), transformed by xform */
	const uint8_t *src;
	size_t src_len;
	enum imap_fetch_xform xform;
	enum mime_cte cte;
	struct mime_buf owned; /* HEADER.FIELDS: the filtered header */
	/* progress */
	size_t in_pos;    /* source octets consumed */
	uint64_t pos;     /* transformed octets consumed (written or skipped) */
	uint64_t written; /* octets of the literal written */
	bool header_sent; /* "LABEL {n}\r\n" written */
	bool prev_cr;     /* XF_CRLF: the last source octet was CR */
	bool finished;    /* the decoder's finish was called */
	struct mime_decoder dec;
	uint8_t *scratch; /* transformed octets not yet taken */
	size_t scratch_len, scratch_pos;
};

/* Resolve body against the message. 0, or -1 when a BINARY item's part has a
   Content-Transfer-Encoding we cannot decode (RFC 3516 4.3: NO [UNKNOWN-CTE]). Sizes that need
   a pass over the data (CRLF, decoding) are counted here. Release with imap_fetch_lit_free()
   either way. */
int imap_fetch_lit_init(struct imap_fetch_lit *lit, const struct imap_fetch_body *body,
                        const struct imap_fetch_src *src);
void imap_fetch_lit_free(struct imap_fetch_lit *lit);
/* Append "LABEL {n}\r\n<data>" (or "LABEL NIL", "BINARY.SIZE[1] n") to out, at most max
   octets of data per call (max > 0). true when the item is complete. */
bool imap_fetch_lit_emit(struct imap_fetch_lit *lit, struct mime_buf *out, size_t max);
/* Source octets [0, lit->in_pos) will not be read again (for madvise). */
static inline size_t imap_fetch_lit_consumed(const struct imap_fetch_lit *lit)
{
	return lit->in_pos;
}

/* INTERNALDATE text "17-Jul-1996 02:44:25 -0700" (local time) into buf of at least 32. */
void imap_fetch_date(int64_t t, char *buf, size_t size);

#endif
