#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "config.h"

#define NAME "fuzz.conf"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Every accessor on every key of a config that loaded: none may crash or disagree. */
static void exercise(const struct config *c)
{
	struct config_listen listen[CONFIG_LISTEN_MAX];
	struct config *defaults = config_defaults();
	bool supervisor;
	uint32_t roles = config_changed_roles(defaults, c, &supervisor);
	unsigned line;

	for (size_t i = 0; i < config_keys_count; i++) {
		const struct config_key *key = &config_keys[i];
		const char *origin = config_origin(c, key->name, &line);
		bool is_default = config_is_default(c, key->name);
		if (strlen(config_value_text(c, key->name)) > CONFIG_LINE_MAX)
			__builtin_trap();
		if ((origin == NULL) != (line == 0))
			__builtin_trap();
		if (origin == NULL && !is_default)
			__builtin_trap();
		if (!is_default && (roles & key->roles) != key->roles)
			__builtin_trap();
		if (!is_default && key->roles == ROLE_NONE && !supervisor)
			__builtin_trap();
		if (key->type == CONFIG_LISTEN &&
		    config_listen(c, key->name, listen, CONFIG_LISTEN_MAX) > CONFIG_LISTEN_MAX)
			__builtin_trap();
		if (key->type == CONFIG_SIZE || key->type == CONFIG_DURATION ||
		    key->type == CONFIG_UINT) {
			uint64_t n = config_uint(c, key->name);
			if (n < key->min || (key->max != 0 && n > key->max))
				__builtin_trap();
		}
	}
	if (config_changed_roles(c, c, &supervisor) != 0 || supervisor)
		__builtin_trap();
	config_free(&defaults);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct config_errors errors = {0};
	struct config *c = NULL;
	int ret = config_load_string(NAME, (const char *)data, size, &c, &errors);

	if (ret == 0) {
		if (c == NULL || errors.count != 0)
			__builtin_trap();
		exercise(c);
	} else {
		if (c != NULL || errors.count == 0 || errors.count > CONFIG_ERRORS_MAX + 1)
			__builtin_trap();
		for (size_t i = 0; i < errors.count; i++) {
			if (strncmp(errors.lines[i], NAME ":", strlen(NAME) + 1) != 0)
				__builtin_trap();
		}
	}
	config_free(&c);
	config_errors_clear(&errors);
	return 0;
}
