/* Per-address failed-login penalties (see auth_penalty.h). */
#include <stdlib.h>
#include <string.h>

#include "../core/strutil.h"
#include "auth_penalty.h"

/* Slots probed per address: a small window keeps lookups cheap and bounded. */
#define PROBE 16
#define IP_MAX 64

struct slot {
	char ip[IP_MAX]; /* "" when free */
	uint64_t first_ms;
	unsigned failures;
};

struct auth_penalty {
	struct auth_penalty_config config;
	size_t mask;
	struct slot *slots;
};

static uint64_t hash_ip(const char *ip)
{
	uint64_t h = 1469598103934665603ull; /* FNV-1a */

	for (; *ip != '\0'; ip++)
		h = (h ^ (unsigned char)*ip) * 1099511628211ull;
	return h;
}

struct auth_penalty *auth_penalty_new(const struct auth_penalty_config *config)
{
	struct auth_penalty *p = calloc(1, sizeof(*p));
	size_t n = PROBE;

	if (p == NULL)
		return NULL;
	while (n < config->slots && n < ((size_t)1 << 24))
		n <<= 1;
	p->slots = calloc(n, sizeof(*p->slots));
	if (p->slots == NULL) {
		free(p);
		return NULL;
	}
	p->config = *config;
	p->mask = n - 1;
	return p;
}

void auth_penalty_free(struct auth_penalty *p)
{
	if (p == NULL)
		return;
	free(p->slots);
	free(p);
}

static bool slot_expired(const struct auth_penalty *p, const struct slot *s, uint64_t now_ms)
{
	return s->ip[0] == '\0' || now_ms - s->first_ms >= p->config.window_ms;
}

/* The slot holding ip, or NULL. Every slot of the window is looked at (no tombstones). */
static struct slot *find(struct auth_penalty *p, const char *ip)
{
	uint64_t h = hash_ip(ip);

	for (size_t i = 0; i < PROBE; i++) {
		struct slot *s = &p->slots[(h + i) & p->mask];

		if (s->ip[0] != '\0' && strcmp(s->ip, ip) == 0)
			return s;
	}
	return NULL;
}

/* A slot for a new address: a free or expired one, else the oldest window. */
static struct slot *claim(struct auth_penalty *p, const char *ip, uint64_t now_ms)
{
	uint64_t h = hash_ip(ip);
	struct slot *oldest = NULL;

	for (size_t i = 0; i < PROBE; i++) {
		struct slot *s = &p->slots[(h + i) & p->mask];

		if (slot_expired(p, s, now_ms)) {
			oldest = s;
			break;
		}
		if (oldest == NULL || s->first_ms < oldest->first_ms)
			oldest = s;
	}
	(void)str_copy(oldest->ip, sizeof(oldest->ip), ip);
	oldest->first_ms = now_ms;
	oldest->failures = 0;
	return oldest;
}

bool auth_penalty_locked(struct auth_penalty *p, const char *ip, uint64_t now_ms)
{
	struct slot *s = find(p, ip);

	if (s == NULL)
		return false;
	if (slot_expired(p, s, now_ms)) {
		s->ip[0] = '\0';
		return false;
	}
	return s->failures >= p->config.max_failures;
}

uint64_t auth_penalty_failed(struct auth_penalty *p, const char *ip, uint64_t now_ms)
{
	struct slot *s = find(p, ip);
	uint64_t delay = p->config.delay_ms;

	if (s == NULL || slot_expired(p, s, now_ms))
		s = claim(p, ip, now_ms);
	if (s->failures < 1000000)
		s->failures++;
	for (unsigned i = 1; i < s->failures && i < 64 && delay < p->config.delay_max_ms; i++)
		delay *= 2;
	return delay < p->config.delay_max_ms ? delay : p->config.delay_max_ms;
}

void auth_penalty_succeeded(struct auth_penalty *p, const char *ip)
{
	struct slot *s = find(p, ip);

	if (s != NULL)
		s->ip[0] = '\0';
}
