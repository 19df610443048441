#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "log.h"
#include "mime_decode.h"
#include "mime_parse.h"

/* Content-Language values kept per part. */
#define LANGUAGES_MAX 16

static void part_parse(struct mime_message *m, struct mime_part *part, size_t off, size_t end,
                       bool in_digest);

static struct mime_part *part_new(struct mime_message *m, struct mime_part *parent)
{
	struct mime_part *part;

	if (m->nparts >= m->limits.parts_max) {
		m->flags |= MIME_MSG_PARTS_LIMITED;
		return NULL;
	}
	part = mime_arena_alloc(&m->arena, sizeof(*part));
	m->nparts++;
	part->parent = parent;
	if (parent != NULL) {
		part->depth = parent->depth + 1;
		if (parent->last_child != NULL)
			parent->last_child->next = part;
		else
			parent->children = part;
		parent->last_child = part;
		parent->nchildren++;
	}
	return part;
}

static size_t count_lines(const uint8_t *p, size_t len)
{
	const uint8_t *end = p + len, *nl;
	size_t n = 0;

	while (p < end && (nl = memchr(p, '\n', (size_t)(end - p))) != NULL) {
		n++;
		p = nl + 1;
	}
	return p < end ? n + 1 : n;
}

static void read_languages(struct mime_arena *a, const char *v, struct mime_part *part)
{
	const char *langs[LANGUAGES_MAX];
	size_t n = 0, len;

	while (*v != '\0' && n < LANGUAGES_MAX) {
		v += strspn(v, ", \t");
		len = strcspn(v, ", \t");
		if (len > 0)
			langs[n++] = mime_arena_strndup(a, v, len);
		v += len;
	}
	if (n == 0)
		return;
	part->languages = mime_arena_alloc(a, n * sizeof(*part->languages));
	memcpy(part->languages, langs, n * sizeof(*langs));
	part->nlanguages = n;
}

/* The first token of a value: Content-Transfer-Encoding without comments or garbage. */
static const char *first_token(struct mime_arena *a, const char *v)
{
	return mime_arena_strndup(a, v, strcspn(v, " \t;("));
}

/* One MIME field of the part's header, the first of each name only. */
static void read_field(struct mime_message *m, struct mime_part *part, const struct mime_field *f,
                       bool *seen_ct)
{
	struct mime_arena *a = &m->arena;
	struct mime_ctype ct;

	if (mime_field_is(f, "content-type") && !*seen_ct) {
		*seen_ct = true;
		if (mime_content_type_parse(a, mime_field_value(a, f), &ct) == 1) {
			part->type = ct.type;
			part->subtype = ct.subtype;
			part->params = ct.params;
			part->nparams = ct.nparams;
			part->ctype_given = true;
		}
	} else if (mime_field_is(f, "content-transfer-encoding") && part->encoding == NULL) {
		part->encoding = first_token(a, mime_field_value(a, f));
	} else if (mime_field_is(f, "content-id") && part->id == NULL) {
		part->id = mime_field_value(a, f);
	} else if (mime_field_is(f, "content-description") && part->description == NULL) {
		part->description = mime_field_value(a, f);
	} else if (mime_field_is(f, "content-md5") && part->md5 == NULL) {
		part->md5 = mime_field_value(a, f);
	} else if (mime_field_is(f, "content-location") && part->location == NULL) {
		part->location = mime_field_value(a, f);
	} else if (mime_field_is(f, "content-disposition") && part->disposition == NULL) {
		if (mime_disposition_parse(a, mime_field_value(a, f), &ct) == 1) {
			part->disposition = ct.type;
			part->disp_params = ct.params;
			part->disp_nparams = ct.nparams;
		}
	} else if (mime_field_is(f, "content-language") && part->languages == NULL) {
		read_languages(a, mime_field_value(a, f), part);
	}
}

static void read_fields(struct mime_message *m, struct mime_part *part, bool in_digest)
{
	struct mime_header_iter it;
	struct mime_field f;
	bool seen_ct = false;
	enum mime_cte cte;

	mime_header_iter_init(&it, m->buf + part->header_off, part->header_len);
	while (mime_header_next(&it, &f))
		read_field(m, part, &f, &seen_ct);
	if (!part->ctype_given) {
		/* RFC 2045 5.2; RFC 2046 5.1.5 for digests */
		part->type = in_digest ? "message" : "text";
		part->subtype = in_digest ? "rfc822" : "plain";
	}
	/* RFC 2045 6.4: a multipart or message body is never base64 or quoted-printable */
	cte = mime_cte_from_name(part->encoding);
	if (cte == MIME_CTE_BASE64 || cte == MIME_CTE_QP)
		return;
	part->is_multipart = strcasecmp(part->type, "multipart") == 0;
	part->is_message =
	    mime_part_is(part, "message", "rfc822") || mime_part_is(part, "message", "global");
}

/* Whether a delimiter line for b (blen octets) starts at pos; *close_r for "--b--". */
static bool delimiter_at(const uint8_t *buf, size_t pos, size_t end, const char *b, size_t blen,
                         bool *close_r)
{
	size_t q = pos + 2 + blen;

	if (end - pos < 2 + blen || buf[pos] != '-' || buf[pos + 1] != '-' ||
	    memcmp(buf + pos + 2, b, blen) != 0)
		return false;
	*close_r = end - q >= 2 && buf[q] == '-' && buf[q + 1] == '-';
	if (*close_r)
		q += 2;
	while (q < end && (buf[q] == ' ' || buf[q] == '\t'))
		q++;
	return q == end || buf[q] == '\n' ||
	       (buf[q] == '\r' && (q + 1 == end || buf[q + 1] == '\n'));
}

/* Start of the line end before a delimiter line at pos, not before floor. */
static size_t delimiter_start(const uint8_t *buf, size_t pos, size_t floor)
{
	if (pos > floor && buf[pos - 1] == '\n') {
		pos--;
		if (pos > floor && buf[pos - 1] == '\r')
			pos--;
	}
	return pos;
}

/* Parse a child body part at [off, end); false when the part limit stops the split. */
static bool add_child(struct mime_message *m, struct mime_part *part, size_t off, size_t end)
{
	struct mime_part *child = part_new(m, part);

	if (child == NULL)
		return false;
	part_parse(m, child, off, end, mime_part_is(part, "multipart", "digest"));
	return true;
}

static void multipart_split(struct mime_message *m, struct mime_part *part)
{
	const struct mime_param *bp = mime_param_find(part->params, part->nparams, "boundary");
	const char *b = bp == NULL ? NULL : bp->extended ? bp->decoded : bp->value;
	size_t blen, pos = part->body_off, end = part->body_off + part->body_len, next;
	size_t start = SIZE_MAX; /* of the current body part, SIZE_MAX before the first */
	bool close;

	if (b == NULL || (blen = strlen(b)) == 0 || blen > MIME_BOUNDARY_MAX)
		return;
	for (; pos < end; pos = next) {
		const uint8_t *nl = memchr(m->buf + pos, '\n', end - pos);

		next = nl != NULL ? (size_t)(nl - m->buf) + 1 : end;
		if (m->buf[pos] != '-' || !delimiter_at(m->buf, pos, end, b, blen, &close))
			continue;
		if (start != SIZE_MAX &&
		    !add_child(m, part, start, delimiter_start(m->buf, pos, start)))
			return;
		if (close)
			return;
		start = next;
	}
	if (start != SIZE_MAX)
		(void)add_child(m, part, start, end);
}

static void part_parse(struct mime_message *m, struct mime_part *part, size_t off, size_t end,
                       bool in_digest)
{
	part->header_off = off;
	part->header_len = mime_header_size(m->buf + off, end - off);
	part->body_off = off + part->header_len;
	part->body_len = end - part->body_off;
	part->body_lines = count_lines(m->buf + part->body_off, part->body_len);
	read_fields(m, part, in_digest);
	if (!part->is_multipart && !part->is_message)
		return;
	if (part->depth >= m->limits.depth_max) {
		part->opaque = true;
		m->flags |= MIME_MSG_DEPTH_LIMITED;
		return;
	}
	if (part->is_multipart) {
		multipart_split(m, part);
	} else {
		struct mime_part *inner = part_new(m, part);

		if (inner != NULL)
			part_parse(m, inner, part->body_off, end, false);
	}
	if ((m->flags & MIME_MSG_PARTS_LIMITED) != 0 && part->nchildren == 0)
		part->opaque = true;
}

static unsigned clamp(unsigned v, unsigned max)
{
	return v < 1 ? 1 : v > max ? max : v;
}

struct mime_message *mime_message_parse(const uint8_t *buf, size_t len,
                                        const struct mime_limits *limits)
{
	struct mime_message *m = calloc(1, sizeof(*m));

	if (m == NULL)
		fatal("mime: out of memory");
	m->buf = buf;
	m->len = len;
	m->limits.depth_max =
	    limits != NULL ? clamp(limits->depth_max, MIME_DEPTH_CAP) : MIME_DEPTH_MAX_DEFAULT;
	m->limits.parts_max =
	    limits != NULL ? clamp(limits->parts_max, MIME_PARTS_CAP) : MIME_PARTS_MAX_DEFAULT;
	m->root = part_new(m, NULL);
	part_parse(m, m->root, 0, len, false);
	return m;
}

void mime_message_free(struct mime_message **mp)
{
	struct mime_message *m = *mp;

	if (m == NULL)
		return;
	mime_arena_free(&m->arena);
	free(m);
	*mp = NULL;
}

bool mime_part_is(const struct mime_part *part, const char *type, const char *subtype)
{
	return strcasecmp(part->type, type) == 0 &&
	       (subtype == NULL || strcasecmp(part->subtype, subtype) == 0);
}

const char *mime_part_param(const struct mime_part *part, const char *name)
{
	const struct mime_param *p = mime_param_find(part->params, part->nparams, name);

	return p != NULL ? p->value : NULL;
}
