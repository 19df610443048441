#include <stdio.h>
#include <string.h>

#include "admin_request.h"

#define S(n) { n, ADMIN_ARG_STRING, true }
#define S_OPT(n) { n, ADMIN_ARG_STRING, false }

const struct admin_cmd_spec admin_cmd_specs[ADMIN_CMD_COUNT] = {
	[ADMIN_DOMAIN_ADD] = { "domain.add", true, "domain", { S("domain") } },
	[ADMIN_DOMAIN_LIST] = { "domain.list", false, NULL, { { 0 } } },
	[ADMIN_DOMAIN_SHOW] = { "domain.show", false, NULL, { S("domain") } },
	[ADMIN_DOMAIN_REMOVE] = { "domain.remove", true, "domain", { S("domain") } },
	[ADMIN_USER_ADD] = { "user.add", true, "address",
			     { S("address"), S_OPT("password"), S_OPT("password_hash"),
			       { "quota", ADMIN_ARG_UINT, false }, S_OPT("name") } },
	[ADMIN_USER_LIST] = { "user.list", false, NULL, { S_OPT("domain") } },
	[ADMIN_USER_SHOW] = { "user.show", false, NULL, { S("address") } },
	[ADMIN_USER_PASSWD] = { "user.passwd", true, "address",
				{ S("address"), S_OPT("password"), S_OPT("password_hash") } },
	[ADMIN_USER_QUOTA] = { "user.quota", true, "address",
			       { S("address"), { "quota", ADMIN_ARG_UINT, true } } },
	[ADMIN_USER_DISABLE] = { "user.disable", true, "address", { S("address") } },
	[ADMIN_USER_ENABLE] = { "user.enable", true, "address", { S("address") } },
	[ADMIN_USER_REMOVE] = { "user.remove", true, "address", { S("address") } },
	[ADMIN_ALIAS_ADD] = { "alias.add", true, "address",
			      { S("address"), { "targets", ADMIN_ARG_STRINGS, true } } },
	[ADMIN_ALIAS_LIST] = { "alias.list", false, NULL, { S_OPT("domain") } },
	[ADMIN_ALIAS_REMOVE] = { "alias.remove", true, "address", { S("address"), S_OPT("target") } },
	[ADMIN_AUTH_TEST] = { "auth.test", false, NULL, { S("address"), S("password") } },
	[ADMIN_ADDRESS_RESOLVE] = { "address.resolve", false, NULL, { S("address") } },
	[ADMIN_STATUS] = { "status", false, NULL, { { 0 } } },
	[ADMIN_RELOAD] = { "reload", true, NULL, { { 0 } } },
};

/* Up to this many alias targets in one request. */
#define ADMIN_TARGETS_MAX 1000

static const struct admin_arg_spec *admin_find_arg(const struct admin_cmd_spec *spec,
						   const char *name)
{
	for (size_t i = 0; i < sizeof(spec->args) / sizeof(spec->args[0]); i++) {
		if (spec->args[i].name != NULL && strcmp(spec->args[i].name, name) == 0)
			return &spec->args[i];
	}
	return NULL;
}

static bool admin_arg_type_ok(const struct admin_arg_spec *arg, json_t *value)
{
	size_t i;
	json_t *item;

	switch (arg->type) {
	case ADMIN_ARG_STRING:
		return json_is_string(value);
	case ADMIN_ARG_UINT:
		return json_is_integer(value) && json_integer_value(value) >= 0;
	case ADMIN_ARG_STRINGS:
		if (!json_is_array(value) || json_array_size(value) == 0 ||
		    json_array_size(value) > ADMIN_TARGETS_MAX)
			return false;
		json_array_foreach(value, i, item) {
			if (!json_is_string(item))
				return false;
		}
		return true;
	}
	return false;
}

static int admin_check_args(const struct admin_cmd_spec *spec, json_t *args, char *error,
			    size_t size)
{
	const char *key;
	json_t *value;

	json_object_foreach(args, key, value) {
		const struct admin_arg_spec *arg = admin_find_arg(spec, key);

		if (arg == NULL) {
			snprintf(error, size, "%s: unknown argument '%.64s'", spec->name, key);
			return -1;
		}
		if (!admin_arg_type_ok(arg, value)) {
			snprintf(error, size, "%s: argument '%s' has the wrong type", spec->name,
				 key);
			return -1;
		}
	}
	for (size_t i = 0; i < sizeof(spec->args) / sizeof(spec->args[0]); i++) {
		if (spec->args[i].name != NULL && spec->args[i].required &&
		    json_object_get(args, spec->args[i].name) == NULL) {
			snprintf(error, size, "%s: missing argument '%s'", spec->name,
				 spec->args[i].name);
			return -1;
		}
	}
	return 0;
}

static int admin_find_cmd(json_t *root, enum admin_cmd_id *id_r, char *error, size_t size)
{
	json_t *cmd = json_object_get(root, "cmd");

	if (!json_is_string(cmd)) {
		snprintf(error, size, "request: 'cmd' must be a string");
		return -1;
	}
	for (int i = 0; i < ADMIN_CMD_COUNT; i++) {
		if (strcmp(admin_cmd_specs[i].name, json_string_value(cmd)) == 0) {
			*id_r = (enum admin_cmd_id)i;
			return 0;
		}
	}
	snprintf(error, size, "request: unknown command '%.64s'", json_string_value(cmd));
	return -1;
}

int admin_request_parse(const char *line, size_t len, struct admin_request *req_r, char *error,
			size_t error_size)
{
	json_error_t jerr;
	const char *key;
	json_t *value;

	memset(req_r, 0, sizeof(*req_r));
	if (len > ADMIN_REQUEST_MAX) {
		snprintf(error, error_size, "request: too large");
		return -1;
	}
	req_r->root = json_loadb(line, len, JSON_REJECT_DUPLICATES, &jerr);
	if (req_r->root == NULL || !json_is_object(req_r->root)) {
		snprintf(error, error_size, "request: not a JSON object");
		goto fail;
	}
	json_object_foreach(req_r->root, key, value) {
		if (strcmp(key, "cmd") != 0 && strcmp(key, "args") != 0) {
			snprintf(error, error_size, "request: unknown field '%.64s'", key);
			goto fail;
		}
	}
	if (admin_find_cmd(req_r->root, &req_r->cmd, error, error_size) < 0)
		goto fail;
	req_r->args = json_object_get(req_r->root, "args");
	if (req_r->args == NULL) {
		req_r->args = json_object();
		json_object_set_new(req_r->root, "args", req_r->args);
	} else if (!json_is_object(req_r->args)) {
		snprintf(error, error_size, "request: 'args' must be an object");
		goto fail;
	}
	if (admin_check_args(&admin_cmd_specs[req_r->cmd], req_r->args, error, error_size) < 0)
		goto fail;
	return 0;
fail:
	admin_request_clear(req_r);
	return -1;
}

void admin_request_clear(struct admin_request *req)
{
	if (req->root != NULL)
		json_decref(req->root);
	req->root = NULL;
	req->args = NULL;
}

const char *admin_arg_str(const struct admin_request *req, const char *name)
{
	return json_string_value(json_object_get(req->args, name));
}

bool admin_arg_uint(const struct admin_request *req, const char *name, uint64_t *value_r)
{
	json_t *v = json_object_get(req->args, name);

	if (!json_is_integer(v))
		return false;
	*value_r = (uint64_t)json_integer_value(v);
	return true;
}

json_t *admin_arg_strings(const struct admin_request *req, const char *name)
{
	return json_object_get(req->args, name);
}
