#ifndef MAILD_SASL_AUTH_H
#define MAILD_SASL_AUTH_H

#include <stdbool.h>
#include <stddef.h>

#include "../core/worker.h"
#include "auth_penalty.h"

/* Server-side SASL for SMTP AUTH and IMAP AUTHENTICATE/LOGIN, through Cyrus SASL (PLAIN and
   LOGIN from libsasl2-modules). The password is never checked here: Cyrus SASL's checkpass
   callback asks the accounts worker (IPC_ACCT_VERIFY), or saslauthd when
   smtp.auth_backend = saslauthd. The accounts worker also keeps the per-IP failure penalty
   (growing delay, temporary lockout) for every service, so smtp and imap share it.

   Cyrus SASL is synchronous, so each step runs on the libuv thread pool; the callback comes
   back on the loop thread. The protocol layer does base64 and the "*" cancel itself: this API
   takes and gives raw bytes. IMAP LOGIN goes through here too: mechanism PLAIN with the
   initial response "\0user\0password". A failure's growing delay is applied here before
   the callback runs; the caller only answers. */

enum sasl_auth_status {
	SASL_AUTH_CONTINUE, /* send the challenge (out, outlen; may be empty) and call step again */
	SASL_AUTH_OK,       /* authenticated as user (the canonical local@domain) */
	SASL_AUTH_FAIL,     /* wrong user or password: one reply for both (535 5.7.8 / NO) */
	SASL_AUTH_LOCKED,   /* too many failures from this IP: 454 4.7.0 / NO [UNAVAILABLE] */
	SASL_AUTH_TEMPFAIL, /* accounts unreachable or broken: 454 4.7.0 / NO [UNAVAILABLE] */
	SASL_AUTH_MALFORMED /* the client's bytes make no sense for the mechanism: 501 / BAD */
};

/* out is valid only during the call. user is NULL unless status is SASL_AUTH_OK. */
typedef void sasl_auth_cb(void *arg, enum sasl_auth_status status, const char *out,
                          size_t outlen, const char *user);

struct sasl_auth;

/* Once per process, after the config is loaded and before privileges are dropped (Cyrus SASL
   loads its plugins then). app is the Cyrus application name ("maild"). 0 ok, -1 logged. */
int sasl_auth_global_init(const char *app);

/* Check passwords with saslauthd at path instead of the accounts worker (smtp.auth_backend),
   penalising failures with this process's own table. Call after sasl_auth_global_init(). */
int sasl_auth_use_saslauthd(const char *path, const struct auth_penalty_config *penalty);

/* The mechanisms offered: "PLAIN LOGIN". */
const char *sasl_auth_mechanisms(void);
bool sasl_auth_mechanism_known(const char *mech); /* case-insensitive */

/* One exchange. service is "smtp" or "imap" (for the logs and accounts' penalty table),
   remote_ip the client's address as text. NULL on allocation failure or unknown mechanism. */
struct sasl_auth *sasl_auth_new(struct worker *w, const char *service, const char *mech,
                                const char *remote_ip);

/* First call: the initial response (NULL when the client sent none; an empty one is
   in = "", inlen = 0). Later calls: the client's answer to the last challenge. cb runs
   exactly once per step, on the loop thread, never from inside this call.
   Returns -1 (no callback) when a step is already in flight or the exchange has finished. */
int sasl_auth_step(struct sasl_auth *a, const char *in, size_t inlen, sasl_auth_cb *cb,
                   void *arg);

/* Forget the exchange. Safe while a step is in flight: its callback is then never called and
   the memory goes once the thread-pool job is done. */
void sasl_auth_free(struct sasl_auth *a);

#endif
