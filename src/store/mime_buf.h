#ifndef MAILD_MIME_BUF_H
#define MAILD_MIME_BUF_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Two small memory helpers for the MIME library and the IMAP renderers.
 *
 * struct mime_buf is a growable byte string, always NUL-terminated (the NUL is not counted in
 * len) so it can be used as a C string when the bytes hold no NUL. Running out of memory is
 * fatal() (STYLE.md habit 9), so the append functions cannot fail.
 *
 * struct mime_arena hands out memory that lives until mime_arena_free(): one parsed message's
 * strings and parts are freed in one call.
 */

struct mime_buf {
	char *p; /* NULL until the first append; "" is returned by mime_buf_str() then */
	size_t len;
	size_t size;
};

#define MIME_BUF_INIT                                                                              \
	{                                                                                          \
		NULL, 0, 0                                                                         \
	}

void mime_buf_append(struct mime_buf *b, const void *p, size_t len);
void mime_buf_append_str(struct mime_buf *b, const char *s);
void mime_buf_append_c(struct mime_buf *b, char c);
/* v in decimal: what "%llu" writes, without printf's cost per response line. */
void mime_buf_append_uint(struct mime_buf *b, uint64_t v);
/* Room for add more octets, so that appends up to that many do not reallocate. */
void mime_buf_reserve(struct mime_buf *b, size_t add);
void mime_buf_printf(struct mime_buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Drop everything after the first len octets (len <= b->len). */
void mime_buf_truncate(struct mime_buf *b, size_t len);
/* The contents as a C string; never NULL. */
const char *mime_buf_str(const struct mime_buf *b);
/* Free the memory; the buffer is empty and reusable afterwards. */
void mime_buf_free(struct mime_buf *b);

struct mime_arena_block;

struct mime_arena {
	struct mime_arena_block *head;
	size_t used;  /* octets used in head */
	size_t total; /* octets handed out in all, for tests and limits */
};

#define MIME_ARENA_INIT                                                                            \
	{                                                                                          \
		NULL, 0, 0                                                                         \
	}

/* size zeroed octets, aligned for any object. */
void *mime_arena_alloc(struct mime_arena *a, size_t size);
/* A NUL-terminated copy of len octets. */
char *mime_arena_strndup(struct mime_arena *a, const void *p, size_t len);
void mime_arena_free(struct mime_arena *a);

#endif
