#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "log.h"
#include "mime_charset.h"
#include "utf8.h"

static const char utf8_replacement[] = "\xEF\xBF\xBD";

/* Charset names seen in real mail that glibc's iconv does not accept, and what to use. */
static const struct {
	const char *name, *iconv_name;
} charset_aliases[] = {
    {"ks_c_5601-1987", "CP949"},
    {"ks_c_5601", "CP949"},
    {"x-sjis", "SHIFT_JIS"},
    {"x-mac-roman", "MACINTOSH"},
    {"iso-8859-8-i", "ISO-8859-8"},
    {"gb2312", "GB18030"},
    {"x-gbk", "GBK"},
    {"unicode-1-1-utf-7", "UTF-7"},
    {"x-unknown", NULL},
};

static bool charset_name_ok(const char *s)
{
	size_t i;

	for (i = 0; s[i] != '\0'; i++) {
		char c = s[i];

		if (i >= MIME_CHARSET_NAME_MAX)
			return false;
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      strchr("._:+()-", c) != NULL))
			return false;
	}
	return i > 0;
}

int mime_conv_init(struct mime_conv *c, const char *charset)
{
	const char *name = charset;
	size_t i;

	*c = (struct mime_conv){.cd = (iconv_t)-1};
	if (charset == NULL || !charset_name_ok(charset))
		return 0;
	if (strcasecmp(charset, "utf-8") == 0 || strcasecmp(charset, "utf8") == 0 ||
	    strcasecmp(charset, "us-ascii") == 0 || strcasecmp(charset, "ascii") == 0)
		return 0;
	for (i = 0; i < sizeof(charset_aliases) / sizeof(charset_aliases[0]); i++) {
		if (strcasecmp(charset, charset_aliases[i].name) == 0) {
			name = charset_aliases[i].iconv_name;
			break;
		}
	}
	if (name == NULL)
		return 0;
	c->cd = iconv_open("UTF-8", name);
	return c->cd == (iconv_t)-1 ? 0 : 1;
}

/* Length of the UTF-8 sequence that p[0] starts when the octets present are a valid prefix of
   one but fewer than it needs; 0 otherwise. */
static size_t utf8_cut_len(const uint8_t *p, size_t avail)
{
	size_t need, i;

	if (p[0] >= 0xC2 && p[0] <= 0xDF)
		need = 2;
	else if (p[0] >= 0xE0 && p[0] <= 0xEF)
		need = 3;
	else if (p[0] >= 0xF0 && p[0] <= 0xF4)
		need = 4;
	else
		return 0;
	if (avail >= need)
		return 0;
	for (i = 1; i < avail; i++) {
		if ((p[i] & 0xC0) != 0x80)
			return 0;
	}
	/* RFC 3629: E0 and F0 need a high second octet, ED and F4 a low one */
	if (avail >= 2 && ((p[0] == 0xE0 && p[1] < 0xA0) || (p[0] == 0xED && p[1] > 0x9F) ||
	                   (p[0] == 0xF0 && p[1] < 0x90) || (p[0] == 0xF4 && p[1] > 0x8F)))
		return 0;
	return need;
}

/* Sanitise in; returns how many octets at the end form a cut sequence left unconsumed
   (always 0 when final). */
static size_t utf8_sanitize_part(const uint8_t *in, size_t len, bool final, struct mime_buf *out)
{
	size_t i = 0, start = 0, n;

	if (len == 0)
		return 0;
	while (i < len) {
		if (in[i] < 0x80) {
			i++;
			continue;
		}
		n = utf8_char_len(in + i, len - i);
		if (n > 0) {
			i += n;
			continue;
		}
		mime_buf_append(out, in + start, i - start);
		if (!final && utf8_cut_len(in + i, len - i) > 0)
			return len - i;
		mime_buf_append(out, utf8_replacement, 3);
		i++;
		start = i;
	}
	mime_buf_append(out, in + start, i - start);
	return 0;
}

void mime_utf8_sanitize(const uint8_t *in, size_t len, struct mime_buf *out)
{
	(void)utf8_sanitize_part(in, len, true, out);
}

static void conv_iconv(struct mime_conv *c, const uint8_t *in, size_t len, bool final,
                       struct mime_buf *out)
{
	char obuf[1024];
	char *inp = (char *)in, *outp;
	size_t inleft = len, outleft;

	while (inleft > 0) {
		size_t r;

		outp = obuf;
		outleft = sizeof(obuf);
		r = iconv(c->cd, &inp, &inleft, &outp, &outleft);
		mime_buf_append(out, obuf, sizeof(obuf) - outleft);
		if (r != (size_t)-1 || errno == E2BIG)
			continue;
		if (errno == EINVAL && !final && inleft <= MIME_CONV_CARRY_MAX) {
			memcpy(c->carry, inp, inleft);
			c->ncarry = inleft;
			return;
		}
		/* EILSEQ, or a cut sequence at the very end: one replacement, skip one octet */
		mime_buf_append(out, utf8_replacement, 3);
		inp++;
		inleft--;
	}
	if (final) {
		outp = obuf;
		outleft = sizeof(obuf);
		if (iconv(c->cd, NULL, NULL, &outp, &outleft) != (size_t)-1)
			mime_buf_append(out, obuf, sizeof(obuf) - outleft);
		(void)iconv(c->cd, NULL, NULL, NULL, NULL);
	}
}

void mime_conv_feed(struct mime_conv *c, const uint8_t *in, size_t len, bool final,
                    struct mime_buf *out)
{
	static const uint8_t nothing[1];
	const uint8_t *p = in != NULL ? in : nothing;
	uint8_t *joined = NULL;
	size_t n = len, left;

	if (c->ncarry > 0) {
		joined = malloc(c->ncarry + len);
		if (joined == NULL)
			fatal("mime: out of memory");
		memcpy(joined, c->carry, c->ncarry);
		if (len > 0)
			memcpy(joined + c->ncarry, p, len);
		p = joined;
		n = c->ncarry + len;
		c->ncarry = 0;
	}
	if (c->cd == (iconv_t)-1) {
		left = utf8_sanitize_part(p, n, final, out);
		memcpy(c->carry, p + n - left, left);
		c->ncarry = left;
	} else {
		conv_iconv(c, p, n, final, out);
	}
	free(joined);
}

void mime_conv_deinit(struct mime_conv *c)
{
	if (c->cd != (iconv_t)-1)
		iconv_close(c->cd);
	c->cd = (iconv_t)-1;
	c->ncarry = 0;
}

int mime_charset_to_utf8(const char *charset, const uint8_t *in, size_t len, struct mime_buf *out)
{
	struct mime_conv c;
	int ret = mime_conv_init(&c, charset);

	mime_conv_feed(&c, in, len, true, out);
	mime_conv_deinit(&c);
	return ret;
}
