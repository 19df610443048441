#ifndef MAILD_ADDRESS_H
#define MAILD_ADDRESS_H

#include <stdbool.h>
#include <stddef.h>

/* RFC 5321 4.5.3.1.1 and 4.5.3.1.2, in octets. */
#define ADDRESS_LOCAL_MAX 64
#define ADDRESS_DOMAIN_MAX 255
/* Room for address_format(): the longest local part, "@", the longest domain, NUL. */
#define ADDRESS_FORMAT_MAX ((ADDRESS_LOCAL_MAX * 4 + 2) + 1 + ADDRESS_DOMAIN_MAX + 1)

/* A parsed mailbox. local is in canonical form (RFC 5321 4.1.2: "all quoted forms MUST be
   treated as equivalent"): a quoted local part whose content is a valid Dot-string is stored
   unquoted ("bob"@x gives bob), any other keeps its quotes with the least escaping ("a b",
   "a\"b"). local is "" only for a catch-all from address_parse_mailbox(). domain is lowercased
   (ASCII letters only; UTF-8 is kept as given), without a trailing dot; an address literal is
   kept with its brackets ("[192.0.2.1]", "[ipv6:2001:db8::1]"). */
struct address {
	char local[ADDRESS_LOCAL_MAX * 4 + 3];
	char domain[ADDRESS_DOMAIN_MAX + 1];
};

/* Parse "local@domain" (no angle brackets, no source route: the SMTP layer strips those) of
   exactly len bytes; a NUL inside is an invalid character, not an end.
   RFC 5321 4.1.2 and 4.1.3: the local part is a Dot-string (atext, dots not first, last or
   doubled) or a Quoted-string, at most 64 octets as written; the domain is dot-separated labels
   of letters, digits and hyphens (no hyphen first or last in a label, 1..63 octets each, at most
   255 in all, one trailing dot removed), or an address literal [192.0.2.1] or [IPv6:...]
   (general literals with another tag are refused). With allow_utf8 (the client said SMTPUTF8,
   RFC 6531 3.3), well-formed UTF-8 is allowed in atext, qtext and domain labels; overlong
   forms, surrogates, values past U+10FFFF and cut sequences never are.
   Returns 0, or -1 with *error_r a static text ("local part too long", "invalid character in
   local part", ...); *addr_r is written only on success. */
int address_parse(const char *text, size_t len, bool allow_utf8, struct address *addr_r,
                  const char **error_r);

/* The stricter form for names an admin creates (accounts, aliases, alias targets): the local
   part a Dot-string (no quotes), the domain a host name (no address literal), UTF-8 allowed.
   With allow_catchall, "@domain" is accepted too and gives local "". Same returns as
   address_parse(). */
int address_parse_mailbox(const char *text, bool allow_catchall, struct address *addr_r,
                          const char **error_r);

/* Whether a domain name may be added as a local domain: the domain rules of
   address_parse_mailbox(), but a trailing dot is refused (the caller stores the name as given).
   0 valid, -1 with *error_r a static text. */
int address_domain_valid(const char *domain, const char **error_r);

/* Write "local@domain" ("@domain" for a catch-all). size ADDRESS_FORMAT_MAX always suffices.
   Returns 0, or -1 with out emptied when it does not fit. */
int address_format(const struct address *addr, char *out, size_t size);

/* Same mailbox: local parts equal ignoring ASCII case, domains equal. */
bool address_equal(const struct address *a, const struct address *b);

/* The local part is "postmaster" in any ASCII case (RFC 5321 4.5.1: every domain must accept
   it). A bare "<postmaster>" without a domain is the SMTP layer's to recognise. */
bool address_is_postmaster(const struct address *addr);

#endif
