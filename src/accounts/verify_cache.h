#ifndef MAILD_VERIFY_CACHE_H
#define MAILD_VERIFY_CACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Successful password checks, remembered for a while, so that a client that logs in again
   (webmail logs in on every page, mail clients on every new connection) does not pay for
   the slow password hash (yescrypt: tens of milliseconds of CPU) each time.

   What is kept per account is an HMAC-SHA256, under a key drawn at start and never written
   anywhere, of the stored hash and the password: never the password. The stored hash is in
   the MAC, so a new password (or a rehash) makes the entry useless at once; a disabled
   account never gets this far. Only successes are remembered: a wrong password always costs
   the full check. A fixed number of slots (one per address hash) bounds the memory. */

struct verify_cache;

/* ttl_ms 0: nothing is remembered (verify_cache_hit() is always false). */
struct verify_cache *verify_cache_new(uint64_t ttl_ms, size_t slots);
void verify_cache_free(struct verify_cache *c);

/* Whether address logged in with exactly this password against this stored hash within
   the ttl before now_ms. Compares in constant time. */
bool verify_cache_hit(struct verify_cache *c, const char *address, const char *stored,
                      const char *password, uint64_t now_ms);
/* Remember a successful check. */
void verify_cache_put(struct verify_cache *c, const char *address, const char *stored,
                      const char *password, uint64_t now_ms);

#endif
