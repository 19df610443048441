#ifndef MAILD_MIME_TEST_UTIL_H
#define MAILD_MIME_TEST_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mime_parse.h"

/* The shared mail corpus (../shared/corpus beside the project, or $MAILD_CORPUS), or NULL
   when this checkout has none: tests that need it skip. */
const char *mime_test_corpus(void);
/* The whole file, malloc'd (NUL added after len octets); NULL when it cannot be read. */
uint8_t *mime_test_read(const char *path, size_t *len_r);
/* Call cb for every regular file under dir (recursively, sorted); returns how many. */
size_t mime_test_walk(const char *dir, void (*cb)(const char *path, void *ctx), void *ctx);
/* Whether p[0..len) is well-formed UTF-8. */
bool mime_test_utf8_ok(const uint8_t *p, size_t len);
/* Parse text (a C string in which every "\n" is made "\r\n" when crlf). */
struct mime_message *mime_test_parse(const char *text, bool crlf, uint8_t **buf_r);
/* Resolve a section given as text ("1.2.HEADER") and return its octets as a malloc'd
   string, or NULL when it resolves to nothing. */
char *mime_test_section(const struct mime_message *m, const char *spec, const char *const *fields,
                        size_t nfields);

#endif
