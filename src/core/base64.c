/* Strict base64 (see base64.h). */
#include <stdbool.h>
#include <stdint.h>

#include "base64.h"

static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

ssize_t base64_encode(const void *in, size_t len, char *out, size_t out_size)
{
	const uint8_t *p = in;
	size_t o = 0;

	if (out_size < BASE64_ENCODED_SIZE(len))
		return -1;
	for (size_t i = 0; i < len; i += 3) {
		uint32_t v = (uint32_t)p[i] << 16;

		if (i + 1 < len)
			v |= (uint32_t)p[i + 1] << 8;
		if (i + 2 < len)
			v |= p[i + 2];
		out[o++] = alphabet[(v >> 18) & 63];
		out[o++] = alphabet[(v >> 12) & 63];
		out[o++] = i + 1 < len ? alphabet[(v >> 6) & 63] : '=';
		out[o++] = i + 2 < len ? alphabet[v & 63] : '=';
	}
	out[o] = '\0';
	return (ssize_t)o;
}

static int sextet(char c)
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

ssize_t base64_decode(const char *in, size_t len, void *out, size_t out_size)
{
	uint8_t *o = out;
	size_t n = 0;

	if (len % 4 != 0)
		return -1;
	for (size_t i = 0; i < len; i += 4) {
		bool last = i + 4 == len;
		int pad = 0;
		uint32_t v = 0;

		for (size_t j = 0; j < 4; j++) {
			int x = sextet(in[i + j]);

			if (x < 0) {
				/* '=' only as the last one or two characters of the text. */
				if (in[i + j] != '=' || !last || j < 2 || (j == 2 && in[i + 3] != '='))
					return -1;
				pad++;
				x = 0;
			}
			v = v << 6 | (uint32_t)x;
		}
		/* Canonical: the bits under the padding are zero. */
		if ((pad == 1 && (v & 0xff) != 0) || (pad == 2 && (v & 0xffff) != 0))
			return -1;
		if (n + 3 - (size_t)pad > out_size)
			return -1;
		o[n++] = (uint8_t)(v >> 16);
		if (pad < 2)
			o[n++] = (uint8_t)(v >> 8);
		if (pad < 1)
			o[n++] = (uint8_t)v;
	}
	if (n < out_size)
		o[n] = '\0';
	return (ssize_t)n;
}
