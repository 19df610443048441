#include "paths.h"
#include "strutil.h"

int paths_db_dir(const struct config *config, char *out, size_t size)
{
	return str_printf(out, size, "%s/db", config_str(config, "state_dir")) < 0 ? -1 : 0;
}

int paths_accounts_db(const struct config *config, char *out, size_t size)
{
	return str_printf(out, size, "%s/db/accounts.db", config_str(config, "state_dir")) < 0
		       ? -1
		       : 0;
}

int paths_removed_dir(const struct config *config, char *out, size_t size)
{
	return str_printf(out, size, "%s/removed", config_str(config, "state_dir")) < 0 ? -1 : 0;
}
