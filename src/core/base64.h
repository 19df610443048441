#ifndef MAILD_BASE64_H
#define MAILD_BASE64_H

#include <stddef.h>
#include <sys/types.h>

/* RFC 4648 base64 as SASL exchanges use it (SMTP AUTH, IMAP AUTHENTICATE): the standard
   alphabet, padded, no line breaks, nothing else tolerated. */

/* Bytes needed to encode len octets, NUL included. */
#define BASE64_ENCODED_SIZE(len) ((((len) + 2) / 3) * 4 + 1)

/* Encode in[0..len) into out (NUL-terminated); returns the text length, or -1 when out_size
   is too small. */
ssize_t base64_encode(const void *in, size_t len, char *out, size_t out_size);
/* Decode exactly the text in[0..len); returns the octet count, or -1 when the text is not
   canonical padded base64 or out_size is too small. out gets a NUL after the octets when there
   is room (SASL payloads are then safe to treat as strings up to their first NUL). */
ssize_t base64_decode(const char *in, size_t len, void *out, size_t out_size);

#endif
