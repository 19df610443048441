#ifndef MAILD_MIME_HDRCACHE_H
#define MAILD_MIME_HDRCACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mime_buf.h"

/*
 * The header lines the index keeps per message (MBOX_CACHE_HDR_LINES), so that a client's
 * BODY.PEEK[HEADER.FIELDS (...)] over a whole folder is answered without opening 100,000
 * files. The set of fields (mime_hdrcache.c, the one place it is written down) is the union of
 * what common clients ask for: Thunderbird, Apple Mail, mutt/neomutt, K-9/Thunderbird for
 * Android, and the ENVELOPE fields. Left out on purpose: bulky trace and authentication fields
 * (Received, DKIM-Signature, Authentication-Results, BIMI-Indicator, Autocrypt), which would
 * grow every entry by kilobytes; a request naming one of them reads the file.
 *
 * An entry is what mime_header_filter() writes for the message's header section and the names
 * of the set: the set's fields as written, in file order with duplicates, folding kept, every
 * line end made CRLF, then the empty line "\r\n". It is therefore itself a header section, and
 * for any names that are all in the set,
 *     mime_header_filter(entry, names) == mime_header_filter(header section, names)
 * octet for octet (the fuzz target fuzz_mime checks it): BODY[HEADER.FIELDS (names)] is
 * filtered from the entry. An entry is never empty; an empty value in the index means "the
 * set's fields take more than MIME_HDRCACHE_MAX octets here: read the file".
 *
 * Changing the set changes what entries mean: give the cache field a new number then
 * (mbox.h), so entries written before are not read.
 */

/* The largest entry kept (a long References field fits, a pathological header does not). */
#define MIME_HDRCACHE_MAX 8192u

/* Whether every one of names[0..n) is in the set (ASCII case-insensitive, whole names:
   "To" is, "To-Foo" is not). false for n == 0. */
bool mime_hdrcache_covers(const char *const *names, size_t n);

/* The entry of the header section p[0..len) appended to out: 1, or 0 when it would be longer
   than MIME_HDRCACHE_MAX (out is then as it was). */
int mime_hdrcache_build(const uint8_t *p, size_t len, struct mime_buf *out);

#endif
