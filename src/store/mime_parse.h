#ifndef MAILD_MIME_PARSE_H
#define MAILD_MIME_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mime_buf.h"
#include "mime_header.h"

/*
 * The MIME structure of one message (RFC 2045, RFC 2046, RFC 5322), parsed in place from the
 * caller's bytes (a mmapped Maildir file: nothing of the message is copied; the tree points
 * into buf, which must outlive it). Memory is a constant per part plus the parsed header
 * values of the MIME fields, never proportional to the bodies.
 *
 * The tree: the root is the message (header = the message header, body = the rest). A
 * multipart part's children are its body parts; a message/rfc822 (or message/global) part has
 * exactly one child, the embedded message, whose header and body split the part's body. Every
 * offset is from the start of buf. Line ends may be CRLF or bare LF anywhere.
 *
 * Multipart bodies (RFC 2046 5.1.1): a delimiter is a line "--" boundary, optionally "--" (the
 * close delimiter), optionally blanks, then the line end or the end of the body. The line end
 * before a delimiter belongs to the delimiter. What comes before the first delimiter is the
 * preamble and after the close delimiter the epilogue; neither is a part. Without a close
 * delimiter the last part runs to the end of the enclosing body. A delimiter must be the whole
 * boundary followed by one of those, so nested boundaries that are prefixes of each other stay
 * apart. A multipart without a boundary parameter, or with no delimiter in its body, has no
 * children. Parts with a base64 or quoted-printable Content-Transfer-Encoding are never parsed
 * as multipart or message (RFC 2045 6.4).
 *
 * Limits (struct mime_limits): a part deeper than depth_max (the root is depth 0) is never
 * created: a multipart or message at depth_max is kept as an opaque leaf with no children (not
 * an error; MIME_MSG_DEPTH_LIMITED is set). At most parts_max parts are created in all, the
 * root and embedded messages included; the rest of a body that would need more is not split
 * (MIME_MSG_PARTS_LIMITED). depth_max is clamped to 1..MIME_DEPTH_CAP (the parser recurses
 * once per level) and parts_max to 1..MIME_PARTS_CAP.
 */

#define MIME_DEPTH_MAX_DEFAULT 50
#define MIME_PARTS_MAX_DEFAULT 10000
#define MIME_DEPTH_CAP 500
#define MIME_PARTS_CAP 1000000
/* Boundaries longer than this are not looked for (RFC 2046 5.1.1 allows 70). */
#define MIME_BOUNDARY_MAX 1024

struct mime_limits {
	unsigned depth_max;
	unsigned parts_max;
};

enum mime_msg_flag {
	MIME_MSG_DEPTH_LIMITED = 1 << 0,
	MIME_MSG_PARTS_LIMITED = 1 << 1,
};

struct mime_part {
	struct mime_part *parent;
	struct mime_part *children;   /* the first child */
	struct mime_part *next;       /* the next sibling */
	struct mime_part *last_child; /* the parser's, to append in constant time */
	unsigned nchildren;
	unsigned depth;

	size_t header_off, header_len; /* the header section, its empty line included */
	size_t body_off, body_len;
	size_t body_lines; /* line ends in the body, plus one for a last line without any */

	/* Content-Type; type/subtype as written, or the RFC 2045 5.2 default ("text"/"plain";
	   "message"/"rfc822" in a multipart/digest) when the field is absent or invalid. */
	const char *type, *subtype;
	struct mime_param *params;
	size_t nparams;
	bool ctype_given; /* a valid Content-Type field was there */

	/* the other MIME fields, unfolded and trimmed; NULL when absent */
	const char *id, *description, *encoding, *md5, *location;
	const char *disposition; /* the disposition type as written */
	struct mime_param *disp_params;
	size_t disp_nparams;
	const char **languages; /* Content-Language, split at commas and blanks */
	size_t nlanguages;

	bool is_multipart; /* type "multipart" */
	bool is_message;   /* message/rfc822 or message/global, not base64/qp encoded */
	bool opaque;       /* a multipart or message not parsed: depth or part limit */
};

struct mime_message {
	const uint8_t *buf;
	size_t len;
	struct mime_part *root;
	unsigned nparts;
	unsigned flags; /* MIME_MSG_* */
	struct mime_limits limits;
	struct mime_arena arena;
};

/* Parse buf[0..len). limits NULL means the defaults. Never fails (out of memory is fatal);
   free the result with mime_message_free(). */
struct mime_message *mime_message_parse(const uint8_t *buf, size_t len,
                                        const struct mime_limits *limits);
void mime_message_free(struct mime_message **mp);

/* Whether the part's type/subtype is type/subtype (ASCII case-insensitive; subtype NULL: any). */
bool mime_part_is(const struct mime_part *part, const char *type, const char *subtype);
/* The Content-Type parameter named name, or NULL. */
const char *mime_part_param(const struct mime_part *part, const char *name);

/*
 * IMAP section specifications (RFC 3501 6.4.5, RFC 9051 6.4.5): "1.2.3", "HEADER",
 * "1.HEADER.FIELDS", "2.TEXT", "1.MIME", "" (the whole message). The field list of
 * HEADER.FIELDS comes from the IMAP parser apart from this text and is set by the caller.
 */
#define MIME_SECTION_PATH_MAX 64

enum mime_section_kind {
	MIME_SECTION_BODY, /* no specifier: the part's body, or the whole message at the top */
	MIME_SECTION_HEADER,
	MIME_SECTION_HEADER_FIELDS,
	MIME_SECTION_HEADER_FIELDS_NOT,
	MIME_SECTION_TEXT,
	MIME_SECTION_MIME,
};

struct mime_section {
	unsigned path[MIME_SECTION_PATH_MAX]; /* part numbers, each >= 1 */
	unsigned path_len;
	enum mime_section_kind kind;
	const char *const *fields; /* HEADER.FIELDS[.NOT] */
	size_t nfields;
};

/* Parse len octets of section text (ASCII case-insensitive keywords). 0, or -1 when it is not
   valid section syntax (a number 0, a leading zero, MIME without a part number, a path longer
   than MIME_SECTION_PATH_MAX, trailing text). fields are left empty. */
int mime_section_parse(const char *text, size_t len, struct mime_section *s_r);

/*
 * Resolve a section against the message (RFC 3501 6.4.5): part numbers select the children
 * of a multipart; part 1 of a message that is not multipart is its body; a number after a
 * message/rfc822 part reaches into the embedded message the same way. HEADER, HEADER.FIELDS
 * and TEXT of a part number need a message/rfc822 part and mean its embedded message's header
 * and body; MIME is the part's own header. At the top (no number) the message itself.
 *
 * Returns 1 with *off_r and *len_r the octets of buf (for HEADER.FIELDS[.NOT]: the header section
 * to filter with mime_header_filter() or mime_section_fetch()), 0 when the message has no
 * such part (the caller answers with an empty string, as Dovecot does).
 */
int mime_section_resolve(const struct mime_message *m, const struct mime_section *s, size_t *off_r,
                         size_t *len_r);
/* The part a section's numbers select (the root for none), or NULL. */
const struct mime_part *mime_section_part(const struct mime_message *m,
                                          const struct mime_section *s);
/* Append the section's text to out: the bytes for most kinds, the filtered header for
   HEADER.FIELDS[.NOT]. Returns what mime_section_resolve() does; out is unchanged on 0. */
int mime_section_fetch(const struct mime_message *m, const struct mime_section *s,
                       struct mime_buf *out);

#endif
