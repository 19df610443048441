#ifndef MAILD_RESOLVE_H
#define MAILD_RESOLVE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "accounts_db.h"

/* Recipient resolution: which mailboxes an RCPT TO address reaches.

   1. An address whose domain is not in accounts.db gives RESOLVE_NOT_LOCAL: whether to relay
      is the caller's question. An address that does not parse (address_parse(), UTF-8
      allowed) gives RESOLVE_UNKNOWN_USER; the SMTP layer has refused bad syntax before.
   2. For local@domain, the first of these that exists decides:
      a. an alias for exactly that address: its targets are expanded (3);
      b. an account: delivered to it; RESOLVE_INACTIVE if it is disabled;
      c. with a delimiter set and present in the local part: a and b again for the local part
         cut at the first delimiter (bob+lists gives bob). Quoted local parts are not cut;
      d. a local part "postmaster" (any case, RFC 5321 4.5.1): cfg->postmaster when set,
         expanded like an alias with that one target;
      e. the domain's catch-all alias @domain: expanded (3);
      f. postmaster again: the domain's oldest active account, so postmaster always reaches
         someone while the domain has an account (an explicit catch-all is preferred to this
         implicit choice);
      g. otherwise RESOLVE_UNKNOWN_USER.
   3. Expanding an alias, each target in turn:
      - ":fail: text": when it is the only target of the alias that matched the address itself
        (2a, 2c or 2e), the result is RESOLVE_FAIL with the text (spaces after the colon
        removed) in fail_text. Deeper in an expansion it contributes nothing.
      - an address in a domain that is not ours: a remote target (local = false).
      - a local address: resolved by 2a-2c only. A catch-all never matches inside an
        expansion, and postmaster has no fallback there.
      - an address whose alias is already being expanded on the way here (a loop): delivered
        to its account if it has one (so bob -> bob, archive@x keeps a copy for bob), else
        dropped.
      - a disabled account reached through an alias: skipped.
      Aliases nest at most max_depth deep: an alias whose expansion would start level
      max_depth + 1 ends the resolution with RESOLVE_LOOP. The top address's own alias is
      level 1 (as is the postmaster address of 2d), so max_depth 1 allows no alias pointing to
      another alias.
      Targets reaching the same account, or the same remote address (ignoring ASCII case), are
      collapsed into one; more than max_targets distinct targets give RESOLVE_TOO_MANY, and so
      does visiting more than 10 * max_targets targets in all (diamond-shaped alias graphs).
      When nothing is left: RESOLVE_INACTIVE if a disabled account was skipped, else
      RESOLVE_LOOP if a loop was cut, else RESOLVE_UNKNOWN_USER.
   4. ADB_BUSY or ADB_ERROR from the database at any point: RESOLVE_TEMPFAIL; the reason is in
      accounts_db_last_error().
   targets are filled only for RESOLVE_OK, in the order the expansion reached them. */

#define RESOLVE_DEFAULT_MAX_DEPTH 20
/* Larger max_depth values are taken as this: each level is a stack frame. */
#define RESOLVE_MAX_DEPTH_LIMIT 100
#define RESOLVE_DEFAULT_MAX_TARGETS 1000

struct resolve_config {
	char delimiter;         /* '\0' = plus-addressing off, else e.g. '+' */
	unsigned max_depth;     /* alias nesting; 0 = RESOLVE_DEFAULT_MAX_DEPTH */
	unsigned max_targets;   /* 0 = RESOLVE_DEFAULT_MAX_TARGETS */
	const char *postmaster; /* NULL or "" = none, else an address */
};

enum resolve_status {
	RESOLVE_OK,
	RESOLVE_NOT_LOCAL, /* domain not ours: relay question for the caller */
	RESOLVE_UNKNOWN_USER,
	RESOLVE_INACTIVE,
	RESOLVE_FAIL, /* ":fail:" alias: text in fail_text */
	RESOLVE_LOOP, /* expansion loops or is too deep */
	RESOLVE_TOO_MANY,
	RESOLVE_TEMPFAIL, /* database busy or error */
};

struct resolve_target {
	bool local;
	int64_t account_id; /* local targets only, else 0 */
	/* a local account's canonical localpart@domain as stored, or the remote address */
	char address[520];
};

struct resolve_result {
	enum resolve_status status;
	char fail_text[512];
	struct resolve_target *targets;
	size_t count;
};

/* Resolve one recipient into *result_r (overwritten; clear it with resolve_result_clear()).
   Returns 0 with the outcome in result_r->status, or -1 when memory ran out (result_r is then
   empty, status RESOLVE_TEMPFAIL). */
int resolve_recipient(struct accounts_db *db, const struct resolve_config *cfg, const char *address,
                      struct resolve_result *result_r);
/* Free the targets and zero the result; accepts a zeroed result. */
void resolve_result_clear(struct resolve_result *r);

#endif
