#ifndef MAILD_IMAP_MUTF7_H
#define MAILD_IMAP_MUTF7_H

#include <stddef.h>

/*
 * Modified UTF-7 mailbox names (RFC 3501 5.1.3), to and from UTF-8. Strict both ways, for
 * names that will become paths (RELIABILITY row 64):
 * - printable US-ASCII other than "&" is itself and never base64-encoded; "&" is "&-";
 * - anything else is UTF-16 in modified base64 ("," for "/", no "=") between "&" and "-",
 *   using the fewest characters, with zero padding bits, and two encoded runs never adjacent;
 * - surrogates only in high-low pairs; U+0000 is refused (it would cut a C string);
 * - the UTF-8 side is well-formed (no overlongs, surrogates or values past U+10FFFF).
 * Decoding then encoding gives the input back exactly, and the other way round.
 * These functions only convert: control characters, "/" and ".." are the mailbox-name
 * validator's business.
 */

/* Output room that is always enough: decoding never grows a name by more than 1/8th, encoding
   at most five times (one control character becomes "&AAE-"); both plus the NUL. */
#define IMAP_MUTF7_DECODED_MAX(len) ((len) + (len) / 8 + 1)
#define IMAP_MUTF7_ENCODED_MAX(len) ((len)*5 + 1)

/* Modified UTF-7 (len bytes) to UTF-8 in out (NUL-terminated, *len_r bytes before it).
   Returns 0, or -1 with *error_r a static text ("invalid modified UTF-7: ...", "name too long"
   when out_size is too small); out is then emptied. */
int imap_mutf7_to_utf8(const char *in, size_t len, char *out, size_t out_size, size_t *len_r,
                       const char **error_r);
/* UTF-8 (len bytes) to modified UTF-7; same returns ("invalid UTF-8", "name too long"). */
int imap_mutf7_from_utf8(const char *in, size_t len, char *out, size_t out_size, size_t *len_r,
                         const char **error_r);

#endif
