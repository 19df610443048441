#ifndef MAILD_MIME_CHARSET_H
#define MAILD_MIME_CHARSET_H

#include <iconv.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mime_buf.h"

/*
 * Conversion of text in a MIME charset to UTF-8 (glibc iconv), streaming, never failing:
 * - "utf-8", "us-ascii", an empty name and any charset iconv does not know are taken as UTF-8;
 *   their invalid sequences become U+FFFD (so 8-bit text mislabelled as ASCII, which is common,
 *   survives when it is UTF-8).
 * - A few names real mail uses but glibc lacks are mapped (ks_c_5601-1987 to CP949, x-sjis,
 *   iso-8859-8-i, gb2312 to its superset GB18030, ...). Names longer than
 *   MIME_CHARSET_NAME_MAX or with characters outside [A-Za-z0-9._:+()-] are unknown.
 * - Octets iconv refuses become U+FFFD and conversion goes on with the next octet; a sequence
 *   cut by the end of a chunk is held (at most MIME_CONV_CARRY_MAX octets) for the next one.
 * The output is always valid UTF-8.
 */

#define MIME_CHARSET_NAME_MAX 40
#define MIME_CONV_CARRY_MAX 16

struct mime_conv {
	iconv_t cd; /* (iconv_t)-1 when the input is taken as UTF-8 */
	uint8_t carry[MIME_CONV_CARRY_MAX];
	size_t ncarry;
};

/* Returns 1 when iconv converts from charset, 0 when the text is taken as UTF-8 (charset NULL,
   empty, UTF-8, US-ASCII or unknown). Call mime_conv_deinit() either way. */
int mime_conv_init(struct mime_conv *c, const char *charset);
/* Append the UTF-8 form of the next len octets to out (in may be NULL when len is 0). final: no
   more input follows, so a held partial sequence becomes U+FFFD and a stateful charset's shift
   state is closed. */
void mime_conv_feed(struct mime_conv *c, const uint8_t *in, size_t len, bool final,
                    struct mime_buf *out);
void mime_conv_deinit(struct mime_conv *c);

/* One-shot form: returns what mime_conv_init() returned. */
int mime_charset_to_utf8(const char *charset, const uint8_t *in, size_t len, struct mime_buf *out);

/* Append in to out with every ill-formed UTF-8 sequence replaced by U+FFFD. */
void mime_utf8_sanitize(const uint8_t *in, size_t len, struct mime_buf *out);

#endif
