#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "verify_cache.h"

#define TAG_SIZE 32
/* Longer addresses are not remembered (they are checked every time). */
#define ADDRESS_MAX 256

struct verify_slot {
	uint64_t expires_ms; /* 0: empty */
	unsigned char tag[TAG_SIZE];
	char address[ADDRESS_MAX];
};

struct verify_cache {
	uint64_t ttl_ms;
	size_t mask;
	unsigned char key[32];
	struct verify_slot *slots;
};

struct verify_cache *verify_cache_new(uint64_t ttl_ms, size_t slots)
{
	struct verify_cache *c = calloc(1, sizeof(*c));
	size_t n = 1;

	if (c == NULL)
		return NULL;
	c->ttl_ms = ttl_ms;
	if (ttl_ms == 0)
		return c;
	while (n < slots)
		n <<= 1;
	c->mask = n - 1;
	c->slots = calloc(n, sizeof(*c->slots));
	if (c->slots == NULL || getrandom(c->key, sizeof(c->key), 0) != (ssize_t)sizeof(c->key)) {
		verify_cache_free(c);
		return NULL;
	}
	return c;
}

void verify_cache_free(struct verify_cache *c)
{
	if (c == NULL)
		return;
	if (c->slots != NULL)
		OPENSSL_cleanse(c->slots, (c->mask + 1) * sizeof(*c->slots));
	free(c->slots);
	OPENSSL_cleanse(c->key, sizeof(c->key));
	free(c);
}

/* FNV-1a: the slot only; the tag decides. */
static size_t slot_of(const struct verify_cache *c, const char *address)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	for (const unsigned char *p = (const unsigned char *)address; *p != '\0'; p++)
		h = (h ^ *p) * 0x100000001b3ULL;
	return (size_t)h & c->mask;
}

/* HMAC(key, address NUL stored NUL password). */
static bool make_tag(const struct verify_cache *c, const char *address, const char *stored,
                     const char *password, unsigned char tag[TAG_SIZE])
{
	size_t la = strlen(address) + 1, ls = strlen(stored) + 1, lp = strlen(password);
	unsigned char *msg = malloc(la + ls + lp + 1);
	unsigned int len = 0;
	bool ok;

	if (msg == NULL)
		return false;
	memcpy(msg, address, la);
	memcpy(msg + la, stored, ls);
	memcpy(msg + la + ls, password, lp);
	ok = HMAC(EVP_sha256(), c->key, sizeof(c->key), msg, la + ls + lp, tag, &len) != NULL &&
	     len == TAG_SIZE;
	OPENSSL_cleanse(msg, la + ls + lp);
	free(msg);
	return ok;
}

bool verify_cache_hit(struct verify_cache *c, const char *address, const char *stored,
                      const char *password, uint64_t now_ms)
{
	unsigned char tag[TAG_SIZE];
	struct verify_slot *s;
	bool hit;

	if (c->ttl_ms == 0)
		return false;
	s = &c->slots[slot_of(c, address)];
	if (s->expires_ms <= now_ms || strcmp(s->address, address) != 0 ||
	    !make_tag(c, address, stored, password, tag))
		return false;
	hit = CRYPTO_memcmp(tag, s->tag, TAG_SIZE) == 0;
	OPENSSL_cleanse(tag, sizeof(tag));
	return hit;
}

void verify_cache_put(struct verify_cache *c, const char *address, const char *stored,
                      const char *password, uint64_t now_ms)
{
	struct verify_slot *s;
	size_t len = strlen(address);

	if (c->ttl_ms == 0 || len >= ADDRESS_MAX)
		return;
	s = &c->slots[slot_of(c, address)];
	if (!make_tag(c, address, stored, password, s->tag)) {
		s->expires_ms = 0;
		return;
	}
	memcpy(s->address, address, len + 1);
	s->expires_ms = now_ms + c->ttl_ms;
}
