#ifndef MAILD_PRIVDROP_H
#define MAILD_PRIVDROP_H

#include <stdbool.h>
#include <sys/types.h>

struct run_identity {
	char user[64];
	uid_t uid;
	gid_t gid;
	/* A second group kept beside the primary one (0: none), e.g. the accounts.db group. */
	gid_t extra_gid;
};

/* Look up a user's uid and primary gid. -1 with *error_r when it does not exist. */
int privdrop_lookup(const char *user, struct run_identity *id_r, const char **error_r);
/* True when this process may change identity (euid 0). */
bool privdrop_is_root(void);
/* Become id for good: no supplementary groups, real/effective/saved ids changed, no capability
   left, PR_SET_NO_NEW_PRIVS set, and a check that root cannot be regained. Not root: only
   PR_SET_NO_NEW_PRIVS. Any failure is fatal: a worker must never run with more than it should. */
void privdrop_become(const struct run_identity *id);

#endif
