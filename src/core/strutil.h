#ifndef MAILD_STRUTIL_H
#define MAILD_STRUTIL_H

#include <stddef.h>

/* Copy a NUL-terminated string; -1 (and dst emptied) when it does not fit. */
int str_copy(char *dst, size_t size, const char *src);
/* snprintf that reports truncation as -1 instead of silently cutting. */
int str_printf(char *dst, size_t size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Lowercase ASCII letters in place. */
void str_lower(char *s);

#endif
