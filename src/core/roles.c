#include <string.h>

#include "roles.h"

static const char *const role_names[ROLE_COUNT] = {
	[ROLE_ACCOUNTS] = "accounts", [ROLE_SMTP] = "smtp",   [ROLE_FILTER] = "filter",
	[ROLE_DELIVERY] = "delivery", [ROLE_QUEUE] = "queue", [ROLE_IMAP] = "imap",
	[ROLE_ADMIN] = "admin",
};

const char *role_name(enum role role)
{
	if ((unsigned)role >= ROLE_COUNT)
		return NULL;
	return role_names[role];
}

int role_from_name(const char *name)
{
	for (int i = 0; i < ROLE_COUNT; i++) {
		if (strcmp(role_names[i], name) == 0)
			return i;
	}
	return -1;
}
