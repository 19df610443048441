#include <string.h>

#include "mime_charset.h"
#include "mime_decode.h"
#include "mime_parse.h"

/* Encoded octets decoded per step. */
#define TEXT_CHUNK 4096

static const char *const text_fields[] = {"subject", "from", "to", "cc"};

struct text_out {
	struct mime_buf *out;
	size_t max;
	bool cut;
	bool in_tag; /* HTML: inside "<...>" */
};

/* Append what fits under the maximum, never cutting a UTF-8 sequence. */
static void text_append(struct text_out *t, const uint8_t *p, size_t len)
{
	size_t room = t->max - t->out->len;

	if (t->cut)
		return;
	if (len > room) {
		len = room;
		while (len > 0 && (p[len] & 0xC0) == 0x80)
			len--;
		t->cut = true;
	}
	mime_buf_append(t->out, p, len);
}

/* Crude HTML to text: every tag becomes one space. */
static void text_append_html(struct text_out *t, const uint8_t *p, size_t len)
{
	size_t i, start = 0;

	for (i = 0; i < len && !t->cut; i++) {
		if (t->in_tag) {
			if (p[i] == '>') {
				t->in_tag = false;
				start = i + 1;
			}
			continue;
		}
		if (p[i] == '<') {
			text_append(t, p + start, i - start);
			text_append(t, (const uint8_t *)" ", 1);
			t->in_tag = true;
		}
	}
	if (!t->in_tag && start < len)
		text_append(t, p + start, len - start);
}

static void text_headers(const struct mime_message *m, const struct mime_part *part,
                         struct text_out *t)
{
	struct mime_header_iter it;
	struct mime_field f;
	struct mime_buf dec = MIME_BUF_INIT, raw = MIME_BUF_INIT;
	size_t i, n;

	mime_header_iter_init(&it, m->buf + part->header_off, part->header_len);
	while (mime_header_next(&it, &f) && !t->cut) {
		for (i = 0; i < sizeof(text_fields) / sizeof(text_fields[0]); i++) {
			if (mime_field_is(&f, text_fields[i]))
				break;
		}
		if (i == sizeof(text_fields) / sizeof(text_fields[0]))
			continue;
		mime_buf_truncate(&dec, 0);
		mime_buf_truncate(&raw, 0);
		mime_buf_append(&raw, f.value, f.value_len);
		n = mime_unfold(f.value, f.value_len, raw.p);
		mime_encword_decode((const uint8_t *)raw.p, n, &dec);
		text_append(t, (const uint8_t *)mime_buf_str(&dec), dec.len);
		text_append(t, (const uint8_t *)"\n", 1);
	}
	mime_buf_free(&dec);
	mime_buf_free(&raw);
}

static void text_body(const struct mime_message *m, const struct mime_part *part, bool html,
                      struct text_out *t)
{
	uint8_t dbuf[MIME_DECODER_OUT_MAX(TEXT_CHUNK)];
	struct mime_decoder dec;
	struct mime_conv conv;
	struct mime_buf utf = MIME_BUF_INIT;
	size_t pos, n;
	bool final = false;

	mime_decoder_init(&dec, mime_cte_from_name(part->encoding));
	(void)mime_conv_init(&conv, mime_part_param(part, "charset"));
	t->in_tag = false;
	for (pos = 0; !final && !t->cut; pos += n) {
		n = part->body_len - pos < TEXT_CHUNK ? part->body_len - pos : TEXT_CHUNK;
		final = pos + n == part->body_len;
		mime_buf_truncate(&utf, 0);
		mime_conv_feed(&conv, dbuf,
		               mime_decoder_feed(&dec, m->buf + part->body_off + pos, n, dbuf),
		               false, &utf);
		if (final)
			mime_conv_feed(&conv, dbuf, mime_decoder_finish(&dec, dbuf), true, &utf);
		if (html)
			text_append_html(t, (const uint8_t *)mime_buf_str(&utf), utf.len);
		else
			text_append(t, (const uint8_t *)mime_buf_str(&utf), utf.len);
	}
	text_append(t, (const uint8_t *)"\n", 1);
	mime_conv_deinit(&conv);
	mime_buf_free(&utf);
}

static void text_part(const struct mime_message *m, const struct mime_part *part,
                      struct text_out *t)
{
	const struct mime_part *c;

	if (part->parent == NULL || part->parent->is_message)
		text_headers(m, part, t);
	for (c = part->children; c != NULL && !t->cut; c = c->next)
		text_part(m, c, t);
	if (part->children != NULL || part->is_multipart || part->is_message)
		return;
	if (mime_part_is(part, "text", "plain"))
		text_body(m, part, false, t);
	else if (mime_part_is(part, "text", "html"))
		text_body(m, part, true, t);
}

int mime_text_extract(const struct mime_message *m, size_t max_out, struct mime_buf *out)
{
	struct text_out t = {.out = out, .max = out->len + max_out};

	text_part(m, m->root, &t);
	return t.cut ? 1 : 0;
}
