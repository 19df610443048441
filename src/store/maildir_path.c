#include <stdint.h>
#include <stdio.h>

#include "../core/strutil.h"
#include "maildir_path.h"

static char maildir_lower(char c)
{
	return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

/* FNV-1a: stable across versions and machines, which is all a fan-out needs. */
static uint8_t maildir_bucket(const char *local)
{
	uint32_t h = 2166136261u;

	for (const char *p = local; *p != '\0'; p++) {
		h ^= (uint8_t)maildir_lower(*p);
		h *= 16777619u;
	}
	return (uint8_t)(h ^ (h >> 8) ^ (h >> 16) ^ (h >> 24));
}

int maildir_path(const char *mail_root, const char *domain, const char *localpart, char *out,
		 size_t size)
{
	char local[64 * 4 * 3 + 1];
	size_t o = 0;

	for (const char *p = localpart; *p != '\0'; p++) {
		if (o + 4 > sizeof(local))
			return -1;
		if (*p == '/' || *p == '%')
			o += (size_t)snprintf(local + o, 4, "%%%02X", (unsigned char)*p);
		else
			local[o++] = maildir_lower(*p);
	}
	local[o] = '\0';
	if (o == 0 || local[0] == '.')
		return -1;
	return str_printf(out, size, "%s/%s/%02x/%s", mail_root, domain,
			  maildir_bucket(localpart), local) < 0
		       ? -1
		       : 0;
}
