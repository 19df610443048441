/* Strict RFC 4648 base64 for AUTHENTICATE. */
#include <stdbool.h>

#include "imap_base64.h"

static const char imap_b64_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static int imap_b64_value(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

/* One group of four; pad is how many of them are "=" (only in the last group). */
static int imap_b64_group(const char *in, size_t pad, uint8_t out[3])
{
	uint32_t v = 0;

	for (size_t k = 0; k < 4; k++) {
		int d = k < 4 - pad ? imap_b64_value(in[k]) : 0;

		if (d < 0)
			return -1;
		v = v << 6 | (uint32_t)d;
	}
	/* Bits past the data must be zero, so each byte string has exactly one encoding. */
	if ((pad == 1 && (v & 0xff) != 0) || (pad == 2 && (v & 0xffff) != 0))
		return -1;
	out[0] = (uint8_t)(v >> 16);
	out[1] = (uint8_t)(v >> 8);
	out[2] = (uint8_t)v;
	return 0;
}

ssize_t imap_base64_decode(const char *in, size_t len, uint8_t *out, size_t out_size)
{
	size_t o = 0;

	if (len % 4 != 0 || len / 4 * 3 > out_size)
		return -1;
	for (size_t i = 0; i < len; i += 4) {
		bool last = i + 4 == len;
		size_t pad = 0;
		uint8_t bytes[3];

		if (last && in[i + 3] == '=')
			pad = in[i + 2] == '=' ? 2 : 1;
		if (imap_b64_group(in + i, pad, bytes) < 0)
			return -1;
		for (size_t k = 0; k < 3 - pad; k++)
			out[o++] = bytes[k];
	}
	return (ssize_t)o;
}

int imap_base64_encode(const uint8_t *in, size_t len, char *out, size_t out_size)
{
	size_t o = 0;

	if (out_size < IMAP_BASE64_LEN(len) + 1)
		return -1;
	for (size_t i = 0; i < len; i += 3) {
		uint32_t v = (uint32_t)in[i] << 16;
		size_t n = len - i < 3 ? len - i : 3;

		if (n > 1)
			v |= (uint32_t)in[i + 1] << 8;
		if (n > 2)
			v |= in[i + 2];
		out[o++] = imap_b64_alphabet[v >> 18 & 63];
		out[o++] = imap_b64_alphabet[v >> 12 & 63];
		out[o++] = n > 1 ? imap_b64_alphabet[v >> 6 & 63] : '=';
		out[o++] = n > 2 ? imap_b64_alphabet[v & 63] : '=';
	}
	out[o] = '\0';
	return 0;
}
