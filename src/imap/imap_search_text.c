/* Text helpers of SEARCH, SORT and THREAD that touch no mailbox: case folding, dates,
   sequence-set output (imap_search.h). */
#include <ctype.h>
#include <locale.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <wctype.h>

#include "../core/utf8.h"
#include "imap_search.h"

static pthread_once_t imap_fold_once = PTHREAD_ONCE_INIT;
static locale_t imap_fold_locale = (locale_t)0;

static void imap_fold_init(void)
{
	/* towlower_l() with its own locale object: the process locale stays "C" and threads
	   need no setlocale(). Debian always ships C.UTF-8. */
	imap_fold_locale = newlocale(LC_CTYPE_MASK, "C.UTF-8", (locale_t)0);
}

static uint32_t imap_utf8_decode(const uint8_t *p, size_t n)
{
	uint32_t c = p[0] & (n == 2 ? 0x1f : n == 3 ? 0x0f : 0x07);

	for (size_t i = 1; i < n; i++)
		c = (c << 6) | (p[i] & 0x3f);
	return c;
}

static void imap_utf8_encode(uint32_t c, struct mime_buf *out)
{
	char b[4];

	if (c < 0x80) {
		mime_buf_append_c(out, (char)c);
	} else if (c < 0x800) {
		b[0] = (char)(0xc0 | (c >> 6));
		b[1] = (char)(0x80 | (c & 0x3f));
		mime_buf_append(out, b, 2);
	} else if (c < 0x10000) {
		b[0] = (char)(0xe0 | (c >> 12));
		b[1] = (char)(0x80 | ((c >> 6) & 0x3f));
		b[2] = (char)(0x80 | (c & 0x3f));
		mime_buf_append(out, b, 3);
	} else {
		b[0] = (char)(0xf0 | (c >> 18));
		b[1] = (char)(0x80 | ((c >> 12) & 0x3f));
		b[2] = (char)(0x80 | ((c >> 6) & 0x3f));
		b[3] = (char)(0x80 | (c & 0x3f));
		mime_buf_append(out, b, 4);
	}
}

void imap_search_fold(const char *in, size_t len, struct mime_buf *out)
{
	const uint8_t *p = (const uint8_t *)in;

	pthread_once(&imap_fold_once, imap_fold_init);
	for (size_t i = 0; i < len;) {
		size_t n;
		uint32_t c, lc;

		if (p[i] < 0x80) {
			/* a run of ASCII in one step: message text is mostly that, and a
			   direct BODY search folds megabytes of it */
			size_t j = i;
			char *o;

			while (j < len && p[j] < 0x80)
				j++;
			mime_buf_reserve(out, j - i);
			o = out->p + out->len;
			for (size_t k = i; k < j; k++)
				*o++ = (char)(p[k] >= 'A' && p[k] <= 'Z' ? p[k] + 32 : p[k]);
			*o = '\0';
			out->len += j - i;
			i = j;
			continue;
		}
		n = utf8_char_len(p + i, len - i);
		if (n == 0) {
			mime_buf_append_c(out, (char)p[i++]);
			continue;
		}
		c = imap_utf8_decode(p + i, n);
		lc = imap_fold_locale != (locale_t)0
		         ? (uint32_t)towlower_l((wint_t)c, imap_fold_locale)
		         : c;
		/* A lower case that is not a valid scalar value would be a broken locale. */
		if (lc == 0 || lc > 0x10ffff || (lc >= 0xd800 && lc <= 0xdfff))
			lc = c;
		imap_utf8_encode(lc, out);
		i += n;
	}
}

/* ----- dates ----- */

static const char imap_months[12][4] = {"jan", "feb", "mar", "apr", "may", "jun",
                                        "jul", "aug", "sep", "oct", "nov", "dec"};

static int imap_month(const char *s, size_t len)
{
	if (len != 3)
		return 0;
	for (int i = 0; i < 12; i++) {
		if (strncasecmp(s, imap_months[i], 3) == 0)
			return i + 1;
	}
	return 0;
}

int32_t imap_search_days(int year, int month, int day)
{
	/* Count from 0000-03-01 so that the leap day ends the counted year; 719468 days lie
	   between that origin and 1970-01-01. */
	int64_t y = year - (month <= 2 ? 1 : 0);
	int64_t m = month <= 2 ? month + 12 : month;
	int64_t days = 365 * y + y / 4 - y / 100 + y / 400 + (153 * (m - 3) + 2) / 5 + day - 1;

	return (int32_t)(days - 719468);
}

static bool imap_digits(const char *s, size_t len, size_t min, size_t max, int *val_r)
{
	int v = 0;

	if (len < min || len > max)
		return false;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (s[i] - '0');
	}
	*val_r = v;
	return true;
}

int imap_search_date_parse(const char *s, size_t len, int32_t *day_r)
{
	const char *d1 = memchr(s, '-', len), *d2;
	int day, month, year;

	if (d1 == NULL)
		return -1;
	d2 = memchr(d1 + 1, '-', len - (size_t)(d1 + 1 - s));
	if (d2 == NULL || !imap_digits(s, (size_t)(d1 - s), 1, 2, &day) ||
	    !imap_digits(d2 + 1, len - (size_t)(d2 + 1 - s), 4, 4, &year))
		return -1;
	month = imap_month(d1 + 1, (size_t)(d2 - d1 - 1));
	if (month == 0 || day < 1 || day > 31)
		return -1;
	*day_r = imap_search_days(year, month, day);
	return 0;
}

/* RFC 5322 4.3 obsolete zones; military letters other than Z mean -0000 (unknown). */
static int imap_zone_name(const char *s, size_t len, int *minutes_r)
{
	static const struct {
		const char *name;
		int minutes;
	} zones[] = {{"UT", 0},        {"UTC", 0},       {"GMT", 0},       {"Z", 0},
	             {"EST", -5 * 60}, {"EDT", -4 * 60}, {"CST", -6 * 60}, {"CDT", -5 * 60},
	             {"MST", -7 * 60}, {"MDT", -6 * 60}, {"PST", -8 * 60}, {"PDT", -7 * 60}};

	for (size_t i = 0; i < sizeof(zones) / sizeof(zones[0]); i++) {
		if (strlen(zones[i].name) == len && strncasecmp(s, zones[i].name, len) == 0) {
			*minutes_r = zones[i].minutes;
			return 0;
		}
	}
	if (len == 1 && isalpha((unsigned char)s[0])) {
		*minutes_r = 0;
		return 0;
	}
	return -1;
}

struct imap_tokens {
	const char *tok[8];
	size_t len[8];
	size_t n;
};

/* Split at blanks and commas, comments "(...)" dropped; at most 8 tokens. */
static void imap_date_tokens(const char *s, size_t len, struct imap_tokens *t)
{
	size_t i = 0;

	t->n = 0;
	while (i < len && t->n < 8) {
		unsigned depth = 0;

		while (i < len && (s[i] == ' ' || s[i] == '\t' || s[i] == ',' || s[i] == '\r' ||
		                   s[i] == '\n' || s[i] == '(' || depth > 0)) {
			if (s[i] == '(')
				depth++;
			else if (s[i] == ')' && depth > 0)
				depth--;
			i++;
		}
		if (i >= len)
			break;
		t->tok[t->n] = s + i;
		while (i < len && s[i] != ' ' && s[i] != '\t' && s[i] != ',' && s[i] != '\r' &&
		       s[i] != '\n' && s[i] != '(')
			i++;
		t->len[t->n] = (size_t)(s + i - t->tok[t->n]);
		t->n++;
	}
}

static int imap_time_parse(const char *s, size_t len, int *secs_r)
{
	int h, m, sec = 0;
	const char *c1 = memchr(s, ':', len), *c2;

	if (c1 == NULL || !imap_digits(s, (size_t)(c1 - s), 1, 2, &h))
		return -1;
	c2 = memchr(c1 + 1, ':', len - (size_t)(c1 + 1 - s));
	if (c2 == NULL) {
		if (!imap_digits(c1 + 1, len - (size_t)(c1 + 1 - s), 2, 2, &m))
			return -1;
	} else if (!imap_digits(c1 + 1, (size_t)(c2 - c1 - 1), 2, 2, &m) ||
	           !imap_digits(c2 + 1, len - (size_t)(c2 + 1 - s), 2, 2, &sec)) {
		return -1;
	}
	if (h > 23 || m > 59 || sec > 60)
		return -1;
	*secs_r = h * 3600 + m * 60 + sec;
	return 0;
}

int imap_search_rfc5322_date(const char *s, size_t len, int32_t *day_r, int64_t *utc_r)
{
	struct imap_tokens t;
	size_t i = 0;
	int day, month, year, secs = 0, zone = 0;

	imap_date_tokens(s, len, &t);
	if (t.n > 0 && t.len[0] >= 3 && isalpha((unsigned char)t.tok[0][0]))
		i++; /* day of week */
	if (t.n < i + 3 || !imap_digits(t.tok[i], t.len[i], 1, 2, &day) ||
	    (month = imap_month(t.tok[i + 1], t.len[i + 1])) == 0 ||
	    !imap_digits(t.tok[i + 2], t.len[i + 2], 2, 4, &year) || day < 1 || day > 31)
		return -1;
	/* RFC 5322 4.3: two-digit years below 50 are 20xx, others and three digits add 1900 */
	if (t.len[i + 2] == 2)
		year += year < 50 ? 2000 : 1900;
	else if (t.len[i + 2] == 3)
		year += 1900;
	i += 3;
	if (i < t.n && imap_time_parse(t.tok[i], t.len[i], &secs) == 0) {
		i++;
		if (i < t.n) {
			int hh, mm;

			if (t.len[i] == 5 && (t.tok[i][0] == '+' || t.tok[i][0] == '-') &&
			    imap_digits(t.tok[i] + 1, 2, 2, 2, &hh) &&
			    imap_digits(t.tok[i] + 3, 2, 2, 2, &mm))
				zone = (t.tok[i][0] == '-' ? -1 : 1) * (hh * 60 + mm);
			else if (imap_zone_name(t.tok[i], t.len[i], &zone) < 0)
				zone = 0;
		}
	}
	*day_r = imap_search_days(year, month, day);
	*utc_r = (int64_t)*day_r * 86400 + secs - (int64_t)zone * 60;
	return 0;
}

/* ----- output ----- */
