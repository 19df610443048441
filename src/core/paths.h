#ifndef MAILD_PATHS_H
#define MAILD_PATHS_H

#include <stddef.h>

#include "config.h"

/* Where maild keeps things below state_dir (see docs/architecture.md). -1 if too long. */
int paths_accounts_db(const struct config *config, char *out, size_t size);
int paths_db_dir(const struct config *config, char *out, size_t size);
int paths_removed_dir(const struct config *config, char *out, size_t size);

#endif
