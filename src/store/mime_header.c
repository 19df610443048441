#include <string.h>

#include "mime_header.h"

static bool is_blank(uint8_t c)
{
	return c == ' ' || c == '\t';
}

static uint8_t ascii_lower(uint8_t c)
{
	return c >= 'A' && c <= 'Z' ? (uint8_t)(c - 'A' + 'a') : c;
}

/* Offset just past the line that starts at pos (its LF included), or len. */
static size_t line_next(const uint8_t *p, size_t len, size_t pos)
{
	const uint8_t *nl = memchr(p + pos, '\n', len - pos);

	return nl != NULL ? (size_t)(nl - p) + 1 : len;
}

/* Whether the line at pos is empty: "\r\n", "\n", or a lone "\r" at the very end. */
static size_t empty_line_len(const uint8_t *p, size_t len, size_t pos)
{
	if (pos < len && p[pos] == '\n')
		return 1;
	if (pos + 1 < len && p[pos] == '\r' && p[pos + 1] == '\n')
		return 2;
	return 0;
}

size_t mime_header_size(const uint8_t *p, size_t len)
{
	size_t pos = 0, n;

	while (pos < len) {
		n = empty_line_len(p, len, pos);
		if (n > 0)
			return pos + n;
		pos = line_next(p, len, pos);
	}
	return len;
}

void mime_header_iter_init(struct mime_header_iter *it, const uint8_t *p, size_t len)
{
	*it = (struct mime_header_iter){.p = p, .len = len};
}

/* RFC 5322 2.2: a field name is printable US-ASCII except the colon. */
static bool field_name_ok(const uint8_t *name, size_t len)
{
	size_t i;

	if (len == 0)
		return false;
	for (i = 0; i < len; i++) {
		if (name[i] < 33 || name[i] > 126)
			return false;
	}
	return true;
}

/* Fill f from the field at [start, end); false when its first line is no field. */
static bool field_split(const uint8_t *p, size_t start, size_t end, size_t first_end,
                        struct mime_field *f)
{
	const uint8_t *colon = memchr(p + start, ':', first_end - start);
	size_t name_len, vstart, vend = end;

	if (colon == NULL)
		return false;
	name_len = (size_t)(colon - (p + start));
	while (name_len > 0 && is_blank(p[start + name_len - 1]))
		name_len--;
	if (!field_name_ok(p + start, name_len))
		return false;
	if (vend > start && p[vend - 1] == '\n')
		vend--;
	if (vend > start && p[vend - 1] == '\r')
		vend--;
	vstart = (size_t)(colon - p) + 1;
	if (vend < vstart)
		vend = vstart;
	*f = (struct mime_field){
	    .name = p + start,
	    .name_len = name_len,
	    .value = p + vstart,
	    .value_len = vend - vstart,
	    .offset = start,
	    .len = end - start,
	};
	return true;
}

bool mime_header_next(struct mime_header_iter *it, struct mime_field *f_r)
{
	const uint8_t *p = it->p;
	size_t start, first_end, end;

	while (it->pos < it->len) {
		if (empty_line_len(p, it->len, it->pos) > 0) {
			it->pos = it->len;
			return false;
		}
		start = it->pos;
		first_end = end = line_next(p, it->len, start);
		while (end < it->len && is_blank(p[end]))
			end = line_next(p, it->len, end);
		it->pos = end;
		if (field_split(p, start, end, first_end, f_r))
			return true;
	}
	return false;
}

bool mime_field_is(const struct mime_field *f, const char *name)
{
	size_t i;

	/* No strlen first: most names differ in their first octet (a field name holds no NUL,
	   so name's NUL ends the loop as a mismatch). */
	for (i = 0; i < f->name_len; i++) {
		if (ascii_lower(f->name[i]) != ascii_lower((uint8_t)name[i]))
			return false;
	}
	return name[i] == '\0';
}

int mime_header_find(const uint8_t *p, size_t len, const char *name, struct mime_field *f_r)
{
	struct mime_header_iter it;

	mime_header_iter_init(&it, p, len);
	while (mime_header_next(&it, f_r)) {
		if (mime_field_is(f_r, name))
			return 1;
	}
	return 0;
}

size_t mime_unfold(const uint8_t *p, size_t len, char *out)
{
	size_t i, n = 0, start;

	for (i = 0; i < len; i++) {
		uint8_t c = p[i];

		if (c == '\n')
			continue;
		if (c == '\r' && i + 1 < len && p[i + 1] == '\n')
			continue;
		out[n++] = c == '\0' ? ' ' : (char)c;
	}
	out[n] = '\0';
	while (n > 0 && is_blank((uint8_t)out[n - 1]))
		out[--n] = '\0';
	for (start = 0; start < n && is_blank((uint8_t)out[start]); start++)
		;
	if (start > 0) {
		memmove(out, out + start, n - start + 1);
		n -= start;
	}
	return n;
}

char *mime_field_value(struct mime_arena *a, const struct mime_field *f)
{
	char *s = mime_arena_alloc(a, f->value_len + 1);

	(void)mime_unfold(f->value, f->value_len, s);
	return s;
}

static bool name_listed(const struct mime_field *f, const char *const *names, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (mime_field_is(f, names[i]))
			return true;
	}
	return false;
}

/* Append p[0..len) with every bare LF made CRLF. A field that has CRLFs only goes out in one
   piece (FETCH of a header lines cache entry, mime_hdrcache.h, is all such fields). */
static void append_crlf(struct mime_buf *out, const uint8_t *p, size_t len)
{
	size_t start = 0, pos = 0;
	const uint8_t *nl;

	while (pos < len && (nl = memchr(p + pos, '\n', len - pos)) != NULL) {
		size_t i = (size_t)(nl - p);

		if (i == 0 || p[i - 1] != '\r') {
			mime_buf_append(out, p + start, i - start);
			mime_buf_append(out, "\r\n", 2);
			start = i + 1;
		}
		pos = i + 1;
	}
	mime_buf_append(out, p + start, len - start);
	/* the last field of a section without an empty line may have no line end at all */
	if (len > 0 && p[len - 1] == '\r')
		mime_buf_append(out, "\n", 1);
	else if (len > 0 && p[len - 1] != '\n')
		mime_buf_append(out, "\r\n", 2);
}

void mime_header_filter(const uint8_t *p, size_t len, const char *const *names, size_t n,
                        bool exclude, struct mime_buf *out)
{
	struct mime_header_iter it;
	struct mime_field f;

	mime_header_iter_init(&it, p, len);
	while (mime_header_next(&it, &f)) {
		if (name_listed(&f, names, n) != exclude)
			append_crlf(out, p + f.offset, f.len);
	}
	mime_buf_append(out, "\r\n", 2);
}
