#ifndef MAILD_UTF8_H
#define MAILD_UTF8_H

#include <stddef.h>
#include <stdint.h>

/* Length (2-4) of the well-formed UTF-8 sequence starting at p (RFC 3629 4: no overlong
   forms, no surrogates, nothing past U+10FFFF), reading at most avail octets; 0 when p[0] does
   not start one. ASCII is the caller's to handle (p[0] < 0x80 gives 0). */
size_t utf8_char_len(const uint8_t *p, size_t avail);

#endif
