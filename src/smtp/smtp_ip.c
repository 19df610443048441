/* Connections per client address: a small open hash keyed by the address text. Bounded by
   smtp.max_connections entries in use, since every entry is a live connection. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/log.h"
#include "smtp_server.h"

struct smtp_ip_count {
	struct smtp_ip_count *next;
	unsigned count;
	char ip[64];
};

#define SMTP_IP_BUCKETS 1024

static struct smtp_ip_count *smtp_ip_buckets[SMTP_IP_BUCKETS];

static struct smtp_ip_count **smtp_ip_slot(const char *ip)
{
	uint32_t h = 2166136261u;

	for (const char *p = ip; *p != '\0'; p++)
		h = (h ^ (uint8_t)*p) * 16777619u;
	struct smtp_ip_count **pp = &smtp_ip_buckets[h % SMTP_IP_BUCKETS];
	while (*pp != NULL && strcmp((*pp)->ip, ip) != 0)
		pp = &(*pp)->next;
	return pp;
}

bool smtp_ip_enter(struct smtp_server *srv, const char *ip)
{
	struct smtp_ip_count **pp = smtp_ip_slot(ip);

	if (*pp == NULL) {
		*pp = calloc(1, sizeof(**pp));
		if (*pp == NULL)
			fatal("out of memory");
		snprintf((*pp)->ip, sizeof((*pp)->ip), "%s", ip);
	}
	if ((*pp)->count >= srv->limits.max_connections_per_ip)
		return false;
	(*pp)->count++;
	return true;
}

void smtp_ip_leave(struct smtp_server *srv, const char *ip)
{
	struct smtp_ip_count **pp = smtp_ip_slot(ip);
	struct smtp_ip_count *e = *pp;

	(void)srv;
	if (e == NULL || e->count == 0)
		return;
	if (--e->count == 0) {
		*pp = e->next;
		free(e);
	}
}
