/*
 * libFuzzer target for the MIME library and the IMAP structures built on it.
 *
 * Input: one byte that picks the limits, then a message. The message is parsed; ENVELOPE,
 * BODY and BODYSTRUCTURE are rendered; sections of every part are resolved and fetched; every
 * leaf body is decoded in one piece and in pieces (both must agree); the searchable text is
 * extracted; the header lines cache entry is built. Invariants: every range lies inside the
 * message; parts stay within the limits; the text is valid UTF-8 and within its bound; the
 * rendered structures balance their parentheses outside strings; HEADER.FIELDS of cached
 * names filtered from the entry equals the same filtered from the message (mime_hdrcache.h).
 *
 *   CC=clang meson setup build-fuzz -Dfuzz=true -Db_sanitize=address,undefined -Db_lundef=false
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "imap_bodystructure.h"
#include "imap_envelope.h"
#include "mime_charset.h"
#include "mime_decode.h"
#include "mime_hdrcache.h"
#include "mime_header.h"
#include "mime_parse.h"
#include "utf8.h"

#define CHECK(cond)                                                                                \
	do {                                                                                       \
		if (!(cond))                                                                       \
			abort();                                                                   \
	} while (0)

/* Parentheses balance outside quoted strings and literals. */
static void check_balanced(const char *s, size_t len)
{
	size_t i;
	long depth = 0;

	for (i = 0; i < len; i++) {
		if (s[i] == '"') {
			for (i++; i < len && s[i] != '"'; i++) {
				if (s[i] == '\\')
					i++;
			}
		} else if (s[i] == '{') {
			size_t n = strtoul(s + i + 1, NULL, 10);

			i = (size_t)(strchr(s + i, '\n') - s) + n;
		} else if (s[i] == '(') {
			depth++;
		} else if (s[i] == ')') {
			CHECK(--depth >= 0);
		}
	}
	CHECK(depth == 0);
}

static void check_utf8(const uint8_t *p, size_t len)
{
	size_t i = 0, n;

	while (i < len) {
		if (p[i] < 0x80) {
			i++;
			continue;
		}
		n = utf8_char_len(p + i, len - i);
		CHECK(n > 0);
		i += n;
	}
}

static void check_decode(const struct mime_message *m, const struct mime_part *p)
{
	enum mime_cte cte = mime_cte_from_name(p->encoding);
	struct mime_decoder d1, d2;
	uint8_t *o1 = malloc(MIME_DECODER_OUT_MAX(p->body_len) + 3);
	uint8_t *o2 = malloc(MIME_DECODER_OUT_MAX(p->body_len) + 3 * (p->body_len + 1));
	size_t n1, n2 = 0, pos, step;

	CHECK(o1 != NULL && o2 != NULL);
	mime_decoder_init(&d1, cte);
	n1 = mime_decoder_feed(&d1, m->buf + p->body_off, p->body_len, o1);
	n1 += mime_decoder_finish(&d1, o1 + n1);
	mime_decoder_init(&d2, cte);
	for (pos = 0; pos < p->body_len; pos += step) {
		step = 1 + pos % 7;
		if (step > p->body_len - pos)
			step = p->body_len - pos;
		n2 += mime_decoder_feed(&d2, m->buf + p->body_off + pos, step, o2 + n2);
	}
	n2 += mime_decoder_finish(&d2, o2 + n2);
	CHECK(n1 == n2 && memcmp(o1, o2, n1) == 0);
	CHECK(mime_decoder_flags(&d1) == mime_decoder_flags(&d2));
	free(o1);
	free(o2);
}

static void check_part(const struct mime_message *m, const struct mime_part *p,
                       struct mime_section *s)
{
	const struct mime_part *c;
	struct mime_buf out = MIME_BUF_INIT;
	static const char *const fields[] = {"subject", "from", "content-type"};
	size_t off, len;
	unsigned k, i = 1;

	CHECK(p->header_off + p->header_len == p->body_off);
	CHECK(p->body_off <= m->len && p->body_len <= m->len - p->body_off);
	CHECK(p->depth <= m->limits.depth_max);
	if (p->parent != NULL)
		CHECK(p->body_off + p->body_len <= p->parent->body_off + p->parent->body_len &&
		      p->header_off >= p->parent->body_off);
	for (k = MIME_SECTION_BODY; k <= MIME_SECTION_MIME; k++) {
		s->kind = k;
		s->fields = fields;
		s->nfields = 3;
		if (k == MIME_SECTION_MIME && s->path_len == 0)
			continue;
		if (mime_section_resolve(m, s, &off, &len) == 1)
			CHECK(off <= m->len && len <= m->len - off);
		(void)mime_section_fetch(m, s, &out);
	}
	mime_buf_free(&out);
	if (p->children == NULL && !p->is_multipart)
		check_decode(m, p);
	for (c = p->children; c != NULL; c = c->next, i++) {
		struct mime_section sub = *s;

		/* an embedded message has no number of its own: its parts follow its part's */
		if (p->is_multipart) {
			if (sub.path_len == MIME_SECTION_PATH_MAX)
				return;
			sub.path[sub.path_len++] = i;
		}
		check_part(m, c, &sub);
	}
}

static void check_hdrcache(const uint8_t *p, size_t len)
{
	static const char *const lists[][3] = {
	    {"FROM", "SUBJECT", "DATE"},
	    {"to", "Cc", "references"},
	    {"List-Id", "X-Priority", "content-type"},
	};
	struct mime_buf entry = MIME_BUF_INIT;
	size_t hsize = mime_header_size(p, len);

	if (mime_hdrcache_build(p, hsize, &entry) == 0) {
		CHECK(entry.len == 0);
		mime_buf_free(&entry);
		return;
	}
	CHECK(entry.len >= 2 && entry.len <= MIME_HDRCACHE_MAX);
	CHECK(mime_header_size((const uint8_t *)entry.p, entry.len) == entry.len);
	for (size_t i = 0; i < sizeof(lists) / sizeof(lists[0]); i++) {
		struct mime_buf a = MIME_BUF_INIT, b = MIME_BUF_INIT;

		CHECK(mime_hdrcache_covers(lists[i], 3));
		mime_header_filter(p, hsize, lists[i], 3, false, &a);
		mime_header_filter((const uint8_t *)entry.p, entry.len, lists[i], 3, false, &b);
		CHECK(a.len == b.len && memcmp(a.p, b.p, a.len) == 0);
		mime_buf_free(&a);
		mime_buf_free(&b);
	}
	mime_buf_free(&entry);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mime_limits lim;
	struct mime_message *m;
	struct mime_buf out = MIME_BUF_INIT;
	struct mime_section s;
	size_t before;

	if (size < 1)
		return 0;
	lim.depth_max = (data[0] & 0x0f) + 1;
	lim.parts_max = (data[0] & 0x80) != 0 ? 10000 : (unsigned)(data[0] >> 4 & 7) * 3 + 1;
	data++;
	size--;
	m = mime_message_parse(data, size, &lim);
	CHECK(m->nparts >= 1 && m->nparts <= lim.parts_max);

	imap_envelope_write(&out, data + m->root->header_off, m->root->header_len);
	check_balanced(out.p, out.len);
	mime_buf_truncate(&out, 0);
	imap_bodystructure_write(&out, m, true);
	check_balanced(out.p, out.len);
	mime_buf_truncate(&out, 0);
	imap_bodystructure_write(&out, m, false);
	check_balanced(out.p, out.len);
	mime_buf_truncate(&out, 0);

	memset(&s, 0, sizeof(s));
	check_part(m, m->root, &s);
	check_hdrcache(data, size);
	(void)mime_section_parse((const char *)data, size < 40 ? size : 40, &s);

	mime_buf_append_str(&out, "x");
	before = out.len;
	(void)mime_text_extract(m, 512, &out);
	CHECK(out.len - before <= 512);
	check_utf8((const uint8_t *)out.p + before, out.len - before);

	mime_buf_free(&out);
	mime_message_free(&m);
	return 0;
}
