/* Live connections by key: an open hash of the key text, one entry per key in use. */
#include <stdlib.h>
#include <string.h>

#include "../core/log.h"
#include "imap_server.h"

#define IMAP_COUNT_BUCKETS 1024
#define IMAP_COUNT_KEY 600 /* "user\nip": an address (< 520) and an IP text */

struct imap_count_entry {
	struct imap_count_entry *next;
	unsigned count;
	char key[IMAP_COUNT_KEY];
};

struct imap_count {
	struct imap_count_entry *buckets[IMAP_COUNT_BUCKETS];
};

struct imap_count *imap_count_new(void)
{
	struct imap_count *t = calloc(1, sizeof(*t));

	if (t == NULL)
		fatal("out of memory");
	return t;
}

/* The slot for full, cut to what an entry holds (a longer key then shares a count: never
   more connections than the limit); the cut key is left in key. */
static struct imap_count_entry **imap_count_slot(struct imap_count *t, const char *full,
                                                 char key[static IMAP_COUNT_KEY])
{
	uint32_t h = 2166136261u; /* FNV-1a */
	size_t n = strlen(full);

	if (n >= IMAP_COUNT_KEY)
		n = IMAP_COUNT_KEY - 1;
	memcpy(key, full, n);
	key[n] = '\0';
	for (const char *p = key; *p != '\0'; p++)
		h = (h ^ (uint8_t)*p) * 16777619u;
	struct imap_count_entry **pp = &t->buckets[h % IMAP_COUNT_BUCKETS];
	while (*pp != NULL && strcmp((*pp)->key, key) != 0)
		pp = &(*pp)->next;
	return pp;
}

bool imap_count_enter(struct imap_count *t, const char *full, unsigned limit)
{
	char key[IMAP_COUNT_KEY];
	struct imap_count_entry **pp = imap_count_slot(t, full, key);

	if (*pp == NULL) {
		if (limit == 0)
			return false;
		*pp = calloc(1, sizeof(**pp));
		if (*pp == NULL)
			fatal("out of memory");
		memcpy((*pp)->key, key, sizeof(key));
	}
	if ((*pp)->count >= limit)
		return false;
	(*pp)->count++;
	return true;
}

void imap_count_leave(struct imap_count *t, const char *full)
{
	char key[IMAP_COUNT_KEY];
	struct imap_count_entry **pp = imap_count_slot(t, full, key);
	struct imap_count_entry *e = *pp;

	if (e == NULL || e->count == 0)
		return;
	if (--e->count == 0) {
		*pp = e->next;
		free(e);
	}
}
