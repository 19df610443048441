#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "mime_buf.h"

void mime_buf_reserve(struct mime_buf *b, size_t add)
{
	size_t need, size;
	char *p;

	if (add > SIZE_MAX - b->len - 1)
		fatal("mime: buffer size overflow");
	need = b->len + add + 1;
	if (need <= b->size)
		return;
	size = b->size < 64 ? 64 : b->size;
	while (size < need)
		size = size > SIZE_MAX / 2 ? need : size * 2;
	p = realloc(b->p, size);
	if (p == NULL)
		fatal("mime: out of memory (%zu octets)", size);
	b->p = p;
	b->size = size;
}

void mime_buf_append(struct mime_buf *b, const void *p, size_t len)
{
	mime_buf_reserve(b, len);
	if (len > 0)
		memcpy(b->p + b->len, p, len);
	b->len += len;
	b->p[b->len] = '\0';
}

void mime_buf_append_str(struct mime_buf *b, const char *s)
{
	mime_buf_append(b, s, strlen(s));
}

void mime_buf_append_c(struct mime_buf *b, char c)
{
	mime_buf_append(b, &c, 1);
}

void mime_buf_append_uint(struct mime_buf *b, uint64_t v)
{
	char digits[20];
	size_t n = 0;

	do {
		digits[sizeof(digits) - ++n] = (char)('0' + v % 10);
		v /= 10;
	} while (v > 0);
	mime_buf_append(b, digits + sizeof(digits) - n, n);
}

void mime_buf_printf(struct mime_buf *b, const char *fmt, ...)
{
	size_t room = b->size > b->len ? b->size - b->len : 0;
	va_list ap;
	int n;

	/* Formatted straight into the free room, which mostly suffices; measured and formatted
	   again only when it does not. */
	va_start(ap, fmt);
	n = vsnprintf(room > 0 ? b->p + b->len : NULL, room, fmt, ap);
	va_end(ap);
	if (n < 0)
		fatal("mime: bad format \"%s\"", fmt);
	if ((size_t)n >= room) {
		mime_buf_reserve(b, (size_t)n);
		va_start(ap, fmt);
		(void)vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
		va_end(ap);
	}
	b->len += (size_t)n;
}

void mime_buf_truncate(struct mime_buf *b, size_t len)
{
	if (len >= b->len)
		return;
	b->len = len;
	b->p[len] = '\0';
}

const char *mime_buf_str(const struct mime_buf *b)
{
	return b->p != NULL ? b->p : "";
}

void mime_buf_free(struct mime_buf *b)
{
	free(b->p);
	*b = (struct mime_buf)MIME_BUF_INIT;
}

/* Blocks are at least this big; a larger request gets a block of its own size. */
#define ARENA_BLOCK_MIN 4096

struct mime_arena_block {
	struct mime_arena_block *next;
	size_t size;
	max_align_t data[];
};

void *mime_arena_alloc(struct mime_arena *a, size_t size)
{
	size_t align = sizeof(max_align_t);
	size_t rounded, bsize;
	struct mime_arena_block *blk;
	uint8_t *p;

	if (size > SIZE_MAX / 2)
		fatal("mime: arena request too big");
	rounded = (size + align - 1) / align * align;
	if (rounded == 0)
		rounded = align;
	if (a->head == NULL || a->head->size - a->used < rounded) {
		bsize = rounded > ARENA_BLOCK_MIN ? rounded : ARENA_BLOCK_MIN;
		blk = malloc(sizeof(*blk) + bsize);
		if (blk == NULL)
			fatal("mime: out of memory (%zu octets)", bsize);
		blk->next = a->head;
		blk->size = bsize;
		a->head = blk;
		a->used = 0;
	}
	p = (uint8_t *)a->head->data + a->used;
	a->used += rounded;
	a->total += rounded;
	memset(p, 0, size);
	return p;
}

char *mime_arena_strndup(struct mime_arena *a, const void *p, size_t len)
{
	char *s = mime_arena_alloc(a, len + 1);

	if (len > 0)
		memcpy(s, p, len);
	s[len] = '\0';
	return s;
}

void mime_arena_free(struct mime_arena *a)
{
	struct mime_arena_block *blk = a->head, *next;

	for (; blk != NULL; blk = next) {
		next = blk->next;
		free(blk);
	}
	*a = (struct mime_arena)MIME_ARENA_INIT;
}
