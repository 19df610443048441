#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "mime_charset.h"
#include "mime_header.h"

/* A parameter as written, before RFC 2231 sections are merged. */
struct raw_param {
	char *name; /* without the "*N" / "*" suffix */
	char *value;
	int section; /* -1 when not a continuation */
	bool extended;
	bool used;
};

/* RFC 2045 5.1 tspecials, plus blanks and controls: what ends a token. */
static bool is_token_char(char c)
{
	return (unsigned char)c > ' ' && c != 0x7f && strchr("()<>@,;:\\\"/[]?=", c) == NULL;
}

static const char *skip_cfws(const char *s)
{
	int depth;

	for (;;) {
		while (*s == ' ' || *s == '\t' || *s == '\r' || *s == '\n')
			s++;
		if (*s != '(')
			return s;
		for (depth = 0; *s != '\0'; s++) {
			if (*s == '\\' && s[1] != '\0')
				s++;
			else if (*s == '(')
				depth++;
			else if (*s == ')' && --depth == 0) {
				s++;
				break;
			}
		}
	}
}

static const char *token_end(const char *s)
{
	while (is_token_char(*s))
		s++;
	return s;
}

/* A quoted string at s (after its opening quote) into a, unescaped; *end_r after it. */
static char *quoted_dup(struct mime_arena *a, const char *s, const char **end_r)
{
	size_t len = 0;
	char *out = mime_arena_alloc(a, strlen(s) + 1);

	for (; *s != '\0' && *s != '"'; s++) {
		if (*s == '\\' && s[1] != '\0')
			s++;
		out[len++] = *s;
	}
	out[len] = '\0';
	*end_r = *s == '"' ? s + 1 : s;
	return out;
}

/* Split "name*N*" into its parts. */
static void raw_name(struct raw_param *rp)
{
	char *star = strchr(rp->name, '*');
	char *end;
	long n;

	rp->section = -1;
	if (star == NULL)
		return;
	if (star[1] == '\0') {
		rp->extended = true;
		*star = '\0';
		return;
	}
	if (star[1] < '0' || star[1] > '9' || (star[1] == '0' && star[2] >= '0' && star[2] <= '9'))
		return;
	n = strtol(star + 1, &end, 10);
	if (n > MIME_PARAMS_MAX || (*end != '\0' && strcmp(end, "*") != 0))
		return;
	rp->section = (int)n;
	rp->extended = *end == '*';
	*star = '\0';
}

/* Read the parameters after s into raw[]; returns how many. */
static size_t params_read(struct mime_arena *a, const char *s, struct raw_param *raw)
{
	size_t n = 0;
	const char *e;

	while (n < MIME_PARAMS_MAX) {
		s = strchr(s, ';');
		if (s == NULL)
			break;
		s = skip_cfws(s + 1);
		e = token_end(s);
		if (e == s)
			continue;
		raw[n] = (struct raw_param){.name = mime_arena_strndup(a, s, (size_t)(e - s))};
		s = skip_cfws(e);
		if (*s != '=')
			continue;
		s = skip_cfws(s + 1);
		if (*s == '"') {
			raw[n].value = quoted_dup(a, s + 1, &s);
		} else {
			/* lenient: an unquoted value runs to the next ";" (spaces, tspecials...) */
			e = strchr(s, ';');
			if (e == NULL)
				e = s + strlen(s);
			while (e > s && (e[-1] == ' ' || e[-1] == '\t'))
				e--;
			raw[n].value = mime_arena_strndup(a, s, (size_t)(e - s));
			s = e;
		}
		raw_name(&raw[n]);
		n++;
	}
	return n;
}

static int hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c |= 0x20;
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* RFC 2231 7: attribute-char, what an extended value may carry without %-encoding. */
static bool is_attr_char(char c)
{
	return is_token_char(c) && c != '*' && c != '\'' && c != '%' && (unsigned char)c < 0x80;
}

/* Append s %-decoded to raw. */
static void pct_decode(const char *s, struct mime_buf *raw)
{
	for (; *s != '\0'; s++) {
		if (*s == '%' && hex_value(s[1]) >= 0 && hex_value(s[2]) >= 0) {
			mime_buf_append_c(raw, (char)(hex_value(s[1]) << 4 | hex_value(s[2])));
			s += 2;
		} else {
			mime_buf_append_c(raw, *s);
		}
	}
}

static void pct_encode(const char *s, struct mime_buf *out)
{
	for (; *s != '\0'; s++) {
		if (is_attr_char(*s))
			mime_buf_append_c(out, *s);
		else
			mime_buf_printf(out, "%%%02X", (unsigned char)*s);
	}
}

/* Split "charset'language'text": the charset into cs, returns the text. */
static const char *ext_split(const char *v, char *cs, size_t cs_size)
{
	const char *q1 = strchr(v, '\''), *q2;
	size_t n;

	cs[0] = '\0';
	if (q1 == NULL || (q2 = strchr(q1 + 1, '\'')) == NULL)
		return v;
	n = (size_t)(q1 - v);
	if (n < cs_size) {
		memcpy(cs, v, n);
		cs[n] = '\0';
	}
	return q2 + 1;
}

/* Merge the sections of raw[first]'s name, from 0 up to the first missing one, into p. */
static void merge_sections(struct mime_arena *a, struct raw_param *raw, size_t n, size_t first,
                           struct mime_param *p)
{
	struct mime_buf value = MIME_BUF_INIT, bytes = MIME_BUF_INIT, dec = MIME_BUF_INIT;
	char cs[MIME_CHARSET_NAME_MAX + 1] = "";
	bool extended = false;
	size_t i;
	int sec;

	for (sec = 0;; sec++) {
		for (i = 0; i < n; i++) {
			if (!raw[i].used && raw[i].section == sec &&
			    strcasecmp(raw[i].name, raw[first].name) == 0)
				break;
		}
		if (i == n)
			break;
		raw[i].used = true;
		if (sec == 0 && raw[i].extended) {
			extended = true;
			mime_buf_append_str(&value, raw[i].value);
			pct_decode(ext_split(raw[i].value, cs, sizeof(cs)), &bytes);
		} else if (raw[i].extended) {
			mime_buf_append_str(&value, raw[i].value);
			pct_decode(raw[i].value, &bytes);
		} else {
			if (extended)
				pct_encode(raw[i].value, &value);
			else
				mime_buf_append_str(&value, raw[i].value);
			mime_buf_append_str(&bytes, raw[i].value);
		}
	}
	p->name = raw[first].name;
	p->extended = extended;
	p->value = mime_arena_strndup(a, mime_buf_str(&value), value.len);
	if (extended)
		(void)mime_charset_to_utf8(cs, (const uint8_t *)mime_buf_str(&bytes), bytes.len,
		                           &dec);
	else
		mime_encword_decode((const uint8_t *)mime_buf_str(&bytes), bytes.len, &dec);
	p->decoded = mime_arena_strndup(a, mime_buf_str(&dec), dec.len);
	mime_buf_free(&value);
	mime_buf_free(&bytes);
	mime_buf_free(&dec);
}

/* One parameter that is no continuation. */
static void single_param(struct mime_arena *a, struct raw_param *rp, struct mime_param *p)
{
	struct mime_buf bytes = MIME_BUF_INIT, dec = MIME_BUF_INIT;
	char cs[MIME_CHARSET_NAME_MAX + 1];

	rp->used = true;
	p->name = rp->name;
	p->value = rp->value;
	p->extended = rp->extended;
	if (rp->extended) {
		pct_decode(ext_split(rp->value, cs, sizeof(cs)), &bytes);
		(void)mime_charset_to_utf8(cs, (const uint8_t *)mime_buf_str(&bytes), bytes.len,
		                           &dec);
	} else {
		mime_encword_decode((const uint8_t *)rp->value, strlen(rp->value), &dec);
	}
	p->decoded = mime_arena_strndup(a, mime_buf_str(&dec), dec.len);
	mime_buf_free(&bytes);
	mime_buf_free(&dec);
}

static void params_parse(struct mime_arena *a, const char *s, struct mime_ctype *ct)
{
	struct raw_param raw[MIME_PARAMS_MAX];
	size_t n = params_read(a, s, raw), i;

	ct->params = n > 0 ? mime_arena_alloc(a, n * sizeof(*ct->params)) : NULL;
	ct->nparams = 0;
	for (i = 0; i < n; i++) {
		if (raw[i].used || raw[i].value == NULL)
			continue;
		if (raw[i].section >= 0)
			merge_sections(a, raw, n, i, &ct->params[ct->nparams]);
		else
			single_param(a, &raw[i], &ct->params[ct->nparams]);
		/* a continuation without its section 0 gives an empty value: leave it out */
		if (ct->params[ct->nparams].value[0] != '\0' || raw[i].section < 0)
			ct->nparams++;
	}
}

int mime_content_type_parse(struct mime_arena *a, const char *value, struct mime_ctype *ct_r)
{
	const char *s = skip_cfws(value), *e, *sub;

	*ct_r = (struct mime_ctype){0};
	e = token_end(s);
	if (e == s)
		return 0;
	sub = skip_cfws(e);
	if (*sub != '/')
		return 0;
	sub = skip_cfws(sub + 1);
	if (token_end(sub) == sub)
		return 0;
	ct_r->type = mime_arena_strndup(a, s, (size_t)(e - s));
	ct_r->subtype = mime_arena_strndup(a, sub, (size_t)(token_end(sub) - sub));
	params_parse(a, token_end(sub), ct_r);
	return 1;
}

int mime_disposition_parse(struct mime_arena *a, const char *value, struct mime_ctype *ct_r)
{
	const char *s = skip_cfws(value), *e = token_end(s);

	*ct_r = (struct mime_ctype){0};
	if (e == s)
		return 0;
	ct_r->type = mime_arena_strndup(a, s, (size_t)(e - s));
	params_parse(a, e, ct_r);
	return 1;
}

const struct mime_param *mime_param_find(const struct mime_param *params, size_t n,
                                         const char *name)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (strcasecmp(params[i].name, name) == 0)
			return &params[i];
	}
	return NULL;
}
