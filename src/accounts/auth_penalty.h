#ifndef MAILD_AUTH_PENALTY_H
#define MAILD_AUTH_PENALTY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Failed logins per client address, shared by every service the accounts worker answers:
   each failure in a window makes the next answer slower (base delay doubling up to a maximum),
   and max_failures of them lock the address out until the window, counted from its first
   failure, has passed. A success forgets the address.

   The table has a fixed number of slots, so an attacker with many addresses cannot grow our
   memory: when the slots an address hashes to are all taken, the one whose window started
   longest ago is reused. */

struct auth_penalty_config {
	unsigned max_failures;  /* failures that lock the address out */
	uint64_t window_ms;     /* how long failures are remembered, from the first one */
	uint64_t delay_ms;      /* delay after the first failure; doubles with each further one */
	uint64_t delay_max_ms;  /* cap on that delay */
	size_t slots;           /* table size; rounded up to a power of two */
};

struct auth_penalty;

struct auth_penalty *auth_penalty_new(const struct auth_penalty_config *config);
void auth_penalty_free(struct auth_penalty *p);

/* The address has reached max_failures inside its window: refuse without checking. */
bool auth_penalty_locked(struct auth_penalty *p, const char *ip, uint64_t now_ms);
/* Count one failure; returns the delay to apply before answering it. */
uint64_t auth_penalty_failed(struct auth_penalty *p, const char *ip, uint64_t now_ms);
/* A successful login: the address starts afresh. */
void auth_penalty_succeeded(struct auth_penalty *p, const char *ip);

#endif
