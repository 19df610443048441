#ifndef MAILD_IMAP_BASE64_H
#define MAILD_IMAP_BASE64_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Base64 for SASL exchanges (RFC 4648 section 4, RFC 9051 7.5 continuation data). */

/* Strict decoding: the alphabet only, no white space, length a multiple of 4, "=" padding only
   at the end and only as needed, unused bits zero. The empty text decodes to zero bytes.
   Returns the decoded length, or -1 when in is not such base64 or out_size is too small
   (out needs len / 4 * 3 bytes). */
ssize_t imap_base64_decode(const char *in, size_t len, uint8_t *out, size_t out_size);

/* Encoded length of len bytes, NUL excluded. */
#define IMAP_BASE64_LEN(len) (((len) + 2) / 3 * 4)

/* Encode with padding and a NUL; -1 when out_size < IMAP_BASE64_LEN(len) + 1. */
int imap_base64_encode(const uint8_t *in, size_t len, char *out, size_t out_size);

#endif
