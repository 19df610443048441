#ifndef MAILD_ADMIN_REQUEST_H
#define MAILD_ADMIN_REQUEST_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Longest request line, without its newline (docs/admin-protocol.md). */
#define ADMIN_REQUEST_MAX 65536

enum admin_cmd_id {
	ADMIN_DOMAIN_ADD, ADMIN_DOMAIN_LIST, ADMIN_DOMAIN_SHOW, ADMIN_DOMAIN_REMOVE,
	ADMIN_USER_ADD, ADMIN_USER_LIST, ADMIN_USER_SHOW, ADMIN_USER_PASSWD, ADMIN_USER_QUOTA,
	ADMIN_USER_DISABLE, ADMIN_USER_ENABLE, ADMIN_USER_REMOVE,
	ADMIN_ALIAS_ADD, ADMIN_ALIAS_LIST, ADMIN_ALIAS_REMOVE,
	ADMIN_AUTH_TEST, ADMIN_ADDRESS_RESOLVE,
	ADMIN_STATUS, ADMIN_RELOAD,
	ADMIN_CMD_COUNT
};

enum admin_arg_type { ADMIN_ARG_STRING, ADMIN_ARG_UINT, ADMIN_ARG_STRINGS };

struct admin_arg_spec {
	const char *name;
	enum admin_arg_type type;
	bool required;
};

struct admin_cmd_spec {
	const char *name;     /* "user.add" */
	bool changes;         /* logged with the caller's uid */
	const char *log_arg;  /* argument shown in the log line, never a secret */
	struct admin_arg_spec args[6];
};

extern const struct admin_cmd_spec admin_cmd_specs[ADMIN_CMD_COUNT];

/* A decoded, validated request: every argument present has the declared type, required ones
   are there, nothing unknown. */
struct admin_request {
	enum admin_cmd_id cmd;
	json_t *root;
	json_t *args; /* borrowed from root; an empty object when omitted */
};

/* Decode one line (no newline). 0 ok; -1 with a one-line reason in error. Never trusts len
   beyond ADMIN_REQUEST_MAX; NUL bytes and duplicate keys are rejected. */
int admin_request_parse(const char *line, size_t len, struct admin_request *req_r, char *error,
			size_t error_size);
void admin_request_clear(struct admin_request *req);

/* Argument accessors; NULL/false when the optional argument is absent. */
const char *admin_arg_str(const struct admin_request *req, const char *name);
bool admin_arg_uint(const struct admin_request *req, const char *name, uint64_t *value_r);
json_t *admin_arg_strings(const struct admin_request *req, const char *name);

#endif
