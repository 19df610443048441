/* Modified UTF-7 (RFC 3501 5.1.3) <-> UTF-8, strict in both directions. */
#include <stdbool.h>
#include <stdint.h>

#include "imap_mutf7.h"

static const char b64_chars[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,";

struct mutf7_out {
	char *p;
	size_t size, len;
	bool full;
};

static void out_put(struct mutf7_out *o, char c)
{
	if (o->len + 1 >= o->size) {
		o->full = true;
		return;
	}
	o->p[o->len++] = c;
}

static int out_end(struct mutf7_out *o, size_t *len_r, const char **error_r)
{
	if (o->full) {
		if (o->size > 0)
			o->p[0] = '\0';
		*error_r = "name too long";
		return -1;
	}
	o->p[o->len] = '\0';
	*len_r = o->len;
	return 0;
}

static int fail(struct mutf7_out *o, const char **error_r, const char *error)
{
	if (o->size > 0)
		o->p[0] = '\0';
	*error_r = error;
	return -1;
}

/* RFC 3501 5.1.3: printable US-ASCII represents itself. */
static bool printable(uint32_t c)
{
	return c >= 0x20 && c <= 0x7e;
}

static int b64_value(char c)
{
	for (int i = 0; i < 64; i++) {
		if (b64_chars[i] == c)
			return i;
	}
	return -1;
}

static void out_utf8(struct mutf7_out *o, uint32_t cp)
{
	if (cp < 0x80) {
		out_put(o, (char)cp);
	} else if (cp < 0x800) {
		out_put(o, (char)(0xc0 | cp >> 6));
		out_put(o, (char)(0x80 | (cp & 0x3f)));
	} else if (cp < 0x10000) {
		out_put(o, (char)(0xe0 | cp >> 12));
		out_put(o, (char)(0x80 | (cp >> 6 & 0x3f)));
		out_put(o, (char)(0x80 | (cp & 0x3f)));
	} else {
		out_put(o, (char)(0xf0 | cp >> 18));
		out_put(o, (char)(0x80 | (cp >> 12 & 0x3f)));
		out_put(o, (char)(0x80 | (cp >> 6 & 0x3f)));
		out_put(o, (char)(0x80 | (cp & 0x3f)));
	}
}

/* One UTF-16 unit of a base64 run. *high holds a pending high surrogate. NULL or an error. */
static const char *decode_unit(struct mutf7_out *o, uint32_t unit, uint32_t *high)
{
	if (*high != 0) {
		if (unit < 0xdc00 || unit > 0xdfff)
			return "invalid modified UTF-7: unpaired surrogate";
		out_utf8(o, 0x10000 + ((*high - 0xd800) << 10) + (unit - 0xdc00));
		*high = 0;
		return NULL;
	}
	if (unit >= 0xd800 && unit <= 0xdbff) {
		*high = unit;
		return NULL;
	}
	if (unit >= 0xdc00 && unit <= 0xdfff)
		return "invalid modified UTF-7: unpaired surrogate";
	if (unit == 0)
		return "invalid modified UTF-7: NUL";
	if (printable(unit))
		return "invalid modified UTF-7: encoded printable ASCII";
	out_utf8(o, unit);
	return NULL;
}

/* A base64 run from in[*pos] (after "&") through its "-". */
static const char *decode_run(struct mutf7_out *o, const char *in, size_t len, size_t *pos)
{
	uint32_t bits = 0, high = 0;
	unsigned nbits = 0, units = 0;
	const char *error;
	size_t i;

	for (i = *pos; i < len && in[i] != '-'; i++) {
		int v = b64_value(in[i]);

		if (v < 0)
			return "invalid modified UTF-7: bad base64";
		bits = (bits << 6 | (uint32_t)v) & 0x3fffff;
		nbits += 6;
		if (nbits >= 16) {
			nbits -= 16;
			units++;
			error = decode_unit(o, bits >> nbits & 0xffff, &high);
			if (error != NULL)
				return error;
		}
	}
	if (i == len)
		return "invalid modified UTF-7: unterminated &";
	/* The shortest encoding leaves fewer than 6 bits, all zero. */
	if (units == 0 || nbits >= 6 || (bits & ((1u << nbits) - 1)) != 0)
		return "invalid modified UTF-7: non-canonical base64";
	if (high != 0)
		return "invalid modified UTF-7: unpaired surrogate";
	*pos = i + 1;
	return NULL;
}

int imap_mutf7_to_utf8(const char *in, size_t len, char *out, size_t out_size, size_t *len_r,
                       const char **error_r)
{
	struct mutf7_out o = {out, out_size, 0, false};
	size_t i = 0, run_end = SIZE_MAX;
	const char *error;

	while (i < len) {
		if (!printable((uint8_t)in[i]))
			return fail(&o, error_r,
			            "invalid modified UTF-7: 8-bit or control character");
		if (in[i] != '&') {
			out_put(&o, in[i++]);
		} else if (i + 1 < len && in[i + 1] == '-') {
			out_put(&o, '&');
			i += 2;
		} else if (i == run_end) {
			/* the encoder puts consecutive characters in one run */
			return fail(&o, error_r, "invalid modified UTF-7: adjacent encoded runs");
		} else {
			i++;
			error = decode_run(&o, in, len, &i);
			if (error != NULL)
				return fail(&o, error_r, error);
			run_end = i;
		}
	}
	return out_end(&o, len_r, error_r);
}

/* The well-formed UTF-8 sequence at s (RFC 3629): its length and *cp_r, or 0. */
static size_t utf8_next(const uint8_t *s, size_t len, uint32_t *cp_r)
{
	uint8_t c = s[0], lo, hi;
	size_t n;
	uint32_t cp;

	if (c < 0x80) {
		*cp_r = c;
		return 1;
	}
	if (c < 0xc2 || c > 0xf4)
		return 0;
	n = c < 0xe0 ? 2 : c < 0xf0 ? 3 : 4;
	lo = c == 0xe0 ? 0xa0 : c == 0xf0 ? 0x90 : 0x80;
	hi = c == 0xed ? 0x9f : c == 0xf4 ? 0x8f : 0xbf;
	if (len < n || s[1] < lo || s[1] > hi)
		return 0;
	cp = c & (0x7f >> n);
	for (size_t k = 1; k < n; k++) {
		if (s[k] < 0x80 || s[k] > 0xbf)
			return 0;
		cp = cp << 6 | (s[k] & 0x3f);
	}
	*cp_r = cp;
	return n;
}

static void encode_unit(struct mutf7_out *o, uint32_t unit, uint32_t *bits, unsigned *nbits)
{
	*bits = (*bits << 16 | unit) & 0x3fffff;
	*nbits += 16;
	while (*nbits >= 6) {
		*nbits -= 6;
		out_put(o, b64_chars[*bits >> *nbits & 0x3f]);
	}
}

/* The characters from in[*pos] up to the next printable ASCII, as one base64 run. */
static const char *encode_run(struct mutf7_out *o, const uint8_t *in, size_t len, size_t *pos)
{
	uint32_t bits = 0, cp;
	unsigned nbits = 0;
	size_t i = *pos, n;

	out_put(o, '&');
	while (i < len && !printable(in[i])) {
		n = utf8_next(in + i, len - i, &cp);
		if (n == 0)
			return "invalid UTF-8";
		if (cp == 0)
			return "NUL in name";
		if (cp >= 0x10000) {
			encode_unit(o, 0xd800 + ((cp - 0x10000) >> 10), &bits, &nbits);
			encode_unit(o, 0xdc00 + ((cp - 0x10000) & 0x3ff), &bits, &nbits);
		} else {
			encode_unit(o, cp, &bits, &nbits);
		}
		i += n;
	}
	if (nbits > 0)
		out_put(o, b64_chars[bits << (6 - nbits) & 0x3f]);
	out_put(o, '-');
	*pos = i;
	return NULL;
}

int imap_mutf7_from_utf8(const char *in, size_t len, char *out, size_t out_size, size_t *len_r,
                         const char **error_r)
{
	struct mutf7_out o = {out, out_size, 0, false};
	const uint8_t *s = (const uint8_t *)in;
	const char *error;
	size_t i = 0;

	while (i < len) {
		if (printable(s[i])) {
			out_put(&o, in[i]);
			if (in[i++] == '&')
				out_put(&o, '-');
			continue;
		}
		error = encode_run(&o, s, len, &i);
		if (error != NULL)
			return fail(&o, error_r, error);
	}
	return out_end(&o, len_r, error_r);
}
