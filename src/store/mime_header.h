#ifndef MAILD_MIME_HEADER_H
#define MAILD_MIME_HEADER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mime_buf.h"

/*
 * The header section of a message or body part (RFC 5322 2.2, 3.6; RFC 2045; RFC 2047;
 * RFC 2231). Everything here reads the caller's bytes in place and never fails on garbage:
 * what cannot be parsed is skipped or kept raw.
 *
 * Line ends: CRLF and a bare LF both end a line (many stored messages are LF-only); a bare CR
 * is an ordinary octet. A header section ends at the first empty line, which belongs to it (as
 * IMAP's BODY[HEADER] wants), or at the end of the input.
 *
 * Fields: a line that starts with a space or tab continues the field before it (folding). A
 * field's name is what comes before the first colon of its first line, blanks before the colon
 * dropped (RFC 5322 4.5.1, obsolete syntax); a first line without a colon, or whose name has
 * blanks, controls or 8-bit octets, is not a field and is skipped with its continuation lines.
 */

/* One header field, pointing into the caller's bytes. */
struct mime_field {
	const uint8_t *name;  /* not NUL-terminated */
	size_t name_len;      /* blanks before the colon not counted */
	const uint8_t *value; /* after the colon, folded as written, without the final line end */
	size_t value_len;
	size_t offset; /* of the field's first octet from the start of the section */
	size_t len;    /* the whole field, continuation lines and the final line end included */
};

struct mime_header_iter {
	const uint8_t *p;
	size_t len;
	size_t pos;
};

/* Octets of the header section at the start of p[0..len): up to and including the first
   empty line, or len when there is none. */
size_t mime_header_size(const uint8_t *p, size_t len);

/* Iterate the fields of a header section (the empty line and what follows it are not read). */
void mime_header_iter_init(struct mime_header_iter *it, const uint8_t *p, size_t len);
/* The next field in *f_r: true, or false at the end. */
bool mime_header_next(struct mime_header_iter *it, struct mime_field *f_r);

/* Whether f is named name (ASCII case-insensitive). */
bool mime_field_is(const struct mime_field *f, const char *name);
/* The first field named name: 1 with *f_r set, 0 when there is none. */
int mime_header_find(const uint8_t *p, size_t len, const char *name, struct mime_field *f_r);

/* Unfold len octets of a field value into out (room for len + 1 octets): line ends inside are
   removed (RFC 5322 2.2.3; the blanks after them stay), NUL octets become spaces, blanks at
   both ends are trimmed, and out is NUL-terminated. Returns the length. */
size_t mime_unfold(const uint8_t *p, size_t len, char *out);
/* The same, as a copy in the arena. */
char *mime_field_value(struct mime_arena *a, const struct mime_field *f);

/* Append to out every field of the section p[0..len) whose name is (exclude false) or is not
   (exclude true) one of names[0..n), as written but with every line end made CRLF, then the
   empty line "\r\n": the text of IMAP BODY[HEADER.FIELDS (...)] / HEADER.FIELDS.NOT. */
void mime_header_filter(const uint8_t *p, size_t len, const char *const *names, size_t n,
                        bool exclude, struct mime_buf *out);

/*
 * Content-Type and Content-Disposition (RFC 2045 5.1, RFC 2183, RFC 2231).
 *
 * Parameters keep their order. RFC 2231 continuations (name*0, name*1*, ...) are merged into
 * one parameter, from section 0 up to the first missing section. A parameter that was in the
 * extended form (name* or name*0*) keeps it, Dovecot-style, in name and value: extended is
 * true and value is "charset'language'%XX..." (continuation pieces that were not extended
 * %-encoded into it). decoded is always the value as UTF-8: %XX and charset decoded for an
 * extended value; RFC 2047 encoded words decoded for any other (mailers put them in quoted
 * filenames although RFC 2047 5 forbids it). At most MIME_PARAMS_MAX parameters are kept.
 */
#define MIME_PARAMS_MAX 64

struct mime_param {
	const char *name;    /* as written, without the RFC 2231 "*" and section number */
	const char *value;   /* quotes and backslash escapes removed */
	const char *decoded; /* UTF-8 */
	bool extended;       /* written "name*" in IMAP BODYSTRUCTURE (as Dovecot does) */
};

struct mime_ctype {
	const char *type;    /* as written ("text"); for Content-Disposition the disposition */
	const char *subtype; /* as written ("plain"); NULL for Content-Disposition */
	struct mime_param *params;
	size_t nparams;
};

/* Parse an unfolded Content-Type value. 1 when it has a valid type/subtype, else 0 with
 *ct_r empty (the caller applies the RFC 2045 5.2 default). Strings live in a. */
int mime_content_type_parse(struct mime_arena *a, const char *value, struct mime_ctype *ct_r);
/* Parse an unfolded Content-Disposition value: 1 when it has a disposition type, else 0. */
int mime_disposition_parse(struct mime_arena *a, const char *value, struct mime_ctype *ct_r);
/* The first parameter named name (ASCII case-insensitive), or NULL. */
const struct mime_param *mime_param_find(const struct mime_param *params, size_t n,
                                         const char *name);

/*
 * RFC 2047 encoded words ("=?charset?B?...?=", "=?charset?Q?...?=", charset may carry an
 * RFC 2231 "*language") decoded and appended to out as UTF-8. Blanks between two encoded words
 * are dropped (RFC 2047 6.2); adjacent words in one charset are decoded together, so a
 * character split between them survives. Text outside encoded words is taken as UTF-8
 * (RFC 6532). A malformed word stays as written; bytes a charset cannot convert become U+FFFD;
 * an unknown charset's bytes are taken as UTF-8. The output is always valid UTF-8.
 */
void mime_encword_decode(const uint8_t *p, size_t len, struct mime_buf *out);

/*
 * RFC 5322 3.4 address lists, as IMAP ENVELOPE needs them (RFC 3501 7.4.2): each mailbox as
 * (display name, source route, local part, domain), groups as a start entry carrying the group
 * name and an end entry. Lenient: obsolete syntax (RFC 5322 4.4: routes, empty list elements,
 * CFWS between dot-atoms, a phrase with dots), a missing ">" or ";", stray specials skipped, an
 * addr-spec's trailing comment taken as its display name when it has none (as Dovecot does).
 * Nothing is decoded: names keep their encoded words; quotes and backslashes of a quoted
 * display name are removed, a quoted local part keeps them ("a b"@x stays so).
 */
enum mime_addr_kind {
	MIME_ADDR_MAILBOX,
	MIME_ADDR_GROUP_START, /* name is the group's display name */
	MIME_ADDR_GROUP_END,   /* every string NULL */
};

struct mime_address {
	struct mime_address *next;
	enum mime_addr_kind kind;
	const char *name;    /* NULL when none */
	const char *route;   /* "@a,@b", NULL when none */
	const char *mailbox; /* the local part; NULL when missing ("<>") */
	const char *host;    /* NULL when missing ("user" without "@") */
};

/* Parse a field value (folded as written is fine). Returns the number of entries, *list_r
   their list (NULL when none); the entries live in a. */
size_t mime_address_parse(struct mime_arena *a, const uint8_t *p, size_t len,
                          struct mime_address **list_r);

#endif
