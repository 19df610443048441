#include <string.h>
#include <strings.h>

#include "mime_parse.h"

/* RFC 3501 9: section-text keywords after the part numbers. */
static const struct {
	const char *name;
	enum mime_section_kind kind;
} section_keywords[] = {
    {"HEADER", MIME_SECTION_HEADER},
    {"HEADER.FIELDS", MIME_SECTION_HEADER_FIELDS},
    {"HEADER.FIELDS.NOT", MIME_SECTION_HEADER_FIELDS_NOT},
    {"TEXT", MIME_SECTION_TEXT},
    {"MIME", MIME_SECTION_MIME},
};

/* A part number (nz-number) at text[*pos]: -1 when there is none or it is malformed. */
static int read_number(const char *text, size_t len, size_t *pos, unsigned *n_r)
{
	size_t i = *pos;
	unsigned long n = 0;

	if (i >= len || text[i] < '1' || text[i] > '9')
		return -1;
	for (; i < len && text[i] >= '0' && text[i] <= '9'; i++) {
		n = n * 10 + (unsigned long)(text[i] - '0');
		if (n > MIME_PARTS_CAP)
			return -1;
	}
	*n_r = (unsigned)n;
	*pos = i;
	return 0;
}

int mime_section_parse(const char *text, size_t len, struct mime_section *s_r)
{
	size_t pos = 0, i, klen;

	*s_r = (struct mime_section){.kind = MIME_SECTION_BODY};
	while (pos < len && text[pos] >= '0' && text[pos] <= '9') {
		if (s_r->path_len == MIME_SECTION_PATH_MAX ||
		    read_number(text, len, &pos, &s_r->path[s_r->path_len]) < 0)
			return -1;
		s_r->path_len++;
		if (pos == len)
			return 0;
		if (text[pos++] != '.' || pos == len)
			return -1;
	}
	if (pos == len)
		return 0;
	for (i = 0; i < sizeof(section_keywords) / sizeof(section_keywords[0]); i++) {
		klen = strlen(section_keywords[i].name);
		if (len - pos == klen &&
		    strncasecmp(text + pos, section_keywords[i].name, klen) == 0)
			break;
	}
	if (i == sizeof(section_keywords) / sizeof(section_keywords[0]))
		return -1;
	s_r->kind = section_keywords[i].kind;
	if (s_r->kind == MIME_SECTION_MIME && s_r->path_len == 0)
		return -1;
	return 0;
}

static const struct mime_part *child_n(const struct mime_part *p, unsigned n)
{
	const struct mime_part *c = p->children;

	while (c != NULL && --n > 0)
		c = c->next;
	return c;
}

const struct mime_part *mime_section_part(const struct mime_message *m,
                                          const struct mime_section *s)
{
	const struct mime_part *cur = m->root;
	bool message = true; /* cur stands for a whole message, not a body part */
	unsigned i;

	for (i = 0; i < s->path_len; i++) {
		if (cur->is_multipart)
			cur = child_n(cur, s->path[i]);
		else if (!message || s->path[i] != 1)
			return NULL;
		if (cur == NULL)
			return NULL;
		message = false;
		/* RFC 3501 6.4.5: numbers after a message/rfc822 part are its message's parts */
		if (i + 1 < s->path_len && cur->is_message) {
			cur = cur->children;
			if (cur == NULL)
				return NULL;
			message = true;
		}
	}
	return cur;
}

int mime_section_resolve(const struct mime_message *m, const struct mime_section *s, size_t *off_r,
                         size_t *len_r)
{
	const struct mime_part *p = mime_section_part(m, s);

	if (p == NULL)
		return 0;
	if (s->path_len > 0 && s->kind != MIME_SECTION_BODY && s->kind != MIME_SECTION_MIME) {
		/* HEADER, TEXT and HEADER.FIELDS of a part number are its embedded message's */
		if (!p->is_message || p->children == NULL)
			return 0;
		p = p->children;
	}
	switch (s->kind) {
	case MIME_SECTION_BODY:
		*off_r = s->path_len == 0 ? 0 : p->body_off;
		*len_r = s->path_len == 0 ? m->len : p->body_len;
		break;
	case MIME_SECTION_TEXT:
		*off_r = p->body_off;
		*len_r = p->body_len;
		break;
	default: /* HEADER, HEADER.FIELDS[.NOT], MIME */
		*off_r = p->header_off;
		*len_r = p->header_len;
		break;
	}
	return 1;
}

int mime_section_fetch(const struct mime_message *m, const struct mime_section *s,
                       struct mime_buf *out)
{
	size_t off, len;

	if (mime_section_resolve(m, s, &off, &len) != 1)
		return 0;
	if (s->kind == MIME_SECTION_HEADER_FIELDS || s->kind == MIME_SECTION_HEADER_FIELDS_NOT)
		mime_header_filter(m->buf + off, len, s->fields, s->nfields,
		                   s->kind == MIME_SECTION_HEADER_FIELDS_NOT, out);
	else
		mime_buf_append(out, m->buf + off, len);
	return 1;
}
