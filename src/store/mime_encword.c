#include <string.h>
#include <strings.h>

#include "mime_charset.h"
#include "mime_decode.h"
#include "mime_header.h"

/* RFC 2047 2 allows 75 octets per word; longer ones are common enough to accept up to this. */
#define ENCWORD_MAX 1024

/* One encoded word found in the input. */
struct encword {
	char charset[MIME_CHARSET_NAME_MAX + 1];
	char encoding;       /* 'B' or 'Q' */
	const uint8_t *text; /* between the third "?" and "?=" */
	size_t text_len;
	size_t len; /* of the whole word */
};

static bool is_wsp(uint8_t c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* Parse the encoded word at p ("=?" already seen there): true when well-formed. */
static bool encword_parse(const uint8_t *p, size_t len, struct encword *w)
{
	size_t i = 2, cs_start = 2, cs_len, t;
	const uint8_t *star;

	if (len > ENCWORD_MAX)
		len = ENCWORD_MAX;
	while (i < len && p[i] != '?' && !is_wsp(p[i]))
		i++;
	if (i + 3 >= len || p[i] != '?' || p[i + 2] != '?')
		return false;
	cs_len = i - cs_start;
	/* RFC 2231 5: charset*language */
	star = memchr(p + cs_start, '*', cs_len);
	if (star != NULL)
		cs_len = (size_t)(star - (p + cs_start));
	if (cs_len == 0 || cs_len > MIME_CHARSET_NAME_MAX)
		return false;
	memcpy(w->charset, p + cs_start, cs_len);
	w->charset[cs_len] = '\0';
	w->encoding = (char)(p[i + 1] & ~0x20);
	if (w->encoding != 'B' && w->encoding != 'Q')
		return false;
	for (t = i + 3; t + 1 < len; t++) {
		if (is_wsp(p[t]))
			return false;
		if (p[t] == '?' && p[t + 1] == '=') {
			w->text = p + i + 3;
			w->text_len = t - (i + 3);
			w->len = t + 2;
			return true;
		}
	}
	return false;
}

static int hex_value(uint8_t c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c |= 0x20;
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* Append the decoded octets of w to raw. */
static void encword_bytes(const struct encword *w, struct mime_buf *raw)
{
	size_t i;

	if (w->encoding == 'B') {
		struct mime_b64 d;
		uint8_t out[ENCWORD_MAX];
		size_t n;

		mime_b64_init(&d);
		n = mime_b64_decode(&d, w->text, w->text_len, out);
		n += mime_b64_finish(&d, out + n);
		mime_buf_append(raw, out, n);
		return;
	}
	for (i = 0; i < w->text_len; i++) {
		uint8_t c = w->text[i];
		int hi, lo;

		if (c == '_') {
			mime_buf_append_c(raw, ' ');
		} else if (c == '=' && i + 2 < w->text_len &&
		           (hi = hex_value(w->text[i + 1])) >= 0 &&
		           (lo = hex_value(w->text[i + 2])) >= 0) {
			mime_buf_append_c(raw, (char)(hi << 4 | lo));
			i += 2;
		} else {
			mime_buf_append_c(raw, (char)c);
		}
	}
}

/* Convert the pending octets of one charset and forget them. */
static void flush_pending(struct mime_buf *pending, const char *charset, struct mime_buf *out)
{
	if (pending->len == 0)
		return;
	(void)mime_charset_to_utf8(charset, (const uint8_t *)pending->p, pending->len, out);
	mime_buf_truncate(pending, 0);
}

void mime_encword_decode(const uint8_t *p, size_t len, struct mime_buf *out)
{
	struct mime_buf pending = MIME_BUF_INIT;
	char pending_cs[MIME_CHARSET_NAME_MAX + 1] = "";
	struct encword w;
	size_t i = 0, text_start = 0, ws;
	bool after_word = false;

	while (i < len) {
		if (!(p[i] == '=' && i + 1 < len && p[i + 1] == '?' &&
		      encword_parse(p + i, len - i, &w))) {
			i++;
			continue;
		}
		/* text since the last word: dropped when it is only blanks between two words */
		for (ws = text_start; ws < i && is_wsp(p[ws]); ws++)
			;
		if (!(after_word && ws == i)) {
			flush_pending(&pending, pending_cs, out);
			mime_utf8_sanitize(p + text_start, i - text_start, out);
		}
		if (strcasecmp(pending_cs, w.charset) != 0)
			flush_pending(&pending, pending_cs, out);
		memcpy(pending_cs, w.charset, sizeof(w.charset));
		encword_bytes(&w, &pending);
		i += w.len;
		text_start = i;
		after_word = true;
	}
	flush_pending(&pending, pending_cs, out);
	mime_utf8_sanitize(p + text_start, len - text_start, out);
	mime_buf_free(&pending);
}
