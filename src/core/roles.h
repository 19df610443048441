#ifndef MAILD_ROLES_H
#define MAILD_ROLES_H

/* The worker roles of DESIGN.md. The supervisor is not a worker; it has no bit. */
enum role {
	ROLE_ACCOUNTS = 0,
	ROLE_SMTP,
	ROLE_FILTER,
	ROLE_DELIVERY,
	ROLE_QUEUE,
	ROLE_IMAP,
	ROLE_ADMIN,
	ROLE_COUNT
};

#define ROLE_BIT(r) (1u << (r))
#define ROLE_ALL ((1u << ROLE_COUNT) - 1)
/* Settings read only by the supervisor itself. */
#define ROLE_NONE 0u

/* "accounts", "smtp", ...; NULL for an out-of-range value. */
const char *role_name(enum role role);
/* Returns the role for a name, or -1. */
int role_from_name(const char *name);

#endif
