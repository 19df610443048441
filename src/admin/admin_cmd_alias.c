#include <string.h>

#include "../accounts/address.h"
#include "admin_int.h"

/* "local@domain" or "@domain" (catch-all). */
static int admin_alias_address(struct admin_call *call, struct address *addr)
{
	const char *text = admin_arg_str(&call->req, "address");
	const char *error;

	if (address_parse_mailbox(text, true, addr, &error) < 0) {
		admin_reply_error(call, ADMIN_EX_DATAERR, "alias %s: %s", text, error);
		return -1;
	}
	return 0;
}

/* A target is an address (local or remote) or ":fail: text". */
static int admin_alias_target_ok(struct admin_call *call, const char *alias, const char *target)
{
	struct address addr;
	const char *error;

	if (strncmp(target, ":fail:", 6) == 0) {
		for (const char *p = target; *p != '\0'; p++) {
			if ((unsigned char)*p < 0x20) {
				admin_reply_error(call, ADMIN_EX_DATAERR,
						  "alias %s: control character in :fail: text",
						  alias);
				return -1;
			}
		}
		return 0;
	}
	if (address_parse_mailbox(target, false, &addr, &error) < 0) {
		admin_reply_error(call, ADMIN_EX_DATAERR, "alias %s: target %s: %s", alias, target,
				  error);
		return -1;
	}
	return 0;
}

void admin_alias_add(struct admin_call *call)
{
	const char *alias = admin_arg_str(&call->req, "address");
	json_t *targets = admin_arg_strings(&call->req, "targets");
	struct address addr;
	size_t i, added = 0;
	json_t *t;
	int ret = ADB_OK;

	if (admin_alias_address(call, &addr) < 0)
		return;
	json_array_foreach(targets, i, t) {
		if (admin_alias_target_ok(call, alias, json_string_value(t)) < 0)
			return;
	}
	json_array_foreach(targets, i, t) {
		ret = accounts_db_alias_add(call->st->db, addr.local, addr.domain,
					    json_string_value(t));
		if (ret == ADB_OK)
			added++;
		else if (ret != ADB_EXISTS)
			break;
	}
	if (ret == ADB_NOT_FOUND)
		admin_reply_error(call, ADMIN_EX_NOUSER, "alias %s: no such domain %s", alias,
				  addr.domain);
	else if (ret != ADB_OK && ret != ADB_EXISTS)
		admin_reply_error(call, admin_db_code(ret), "alias %s: %s", alias,
				  accounts_db_last_error(call->st->db));
	else if (added == 0)
		admin_reply_error(call, ADMIN_EX_CANTCREAT, "alias %s: already exists", alias);
	else
		admin_reply_ok(call, json_pack("{s:s, s:O}", "address", alias, "targets", targets));
}

static int admin_alias_row(const struct adb_alias *a, void *ctx)
{
	json_array_append_new(ctx, json_pack("{s:s, s:s, s:I}", "address", a->address, "target",
					     a->target, "created", (json_int_t)a->created));
	return 0;
}

void admin_alias_list(struct admin_call *call)
{
	const char *domain = admin_arg_str(&call->req, "domain");
	json_t *list = json_array();
	int ret = accounts_db_alias_list(call->st->db, domain, admin_alias_row, list);

	if (ret < 0) {
		json_decref(list);
		admin_reply_error(call, admin_db_code(ret), "aliases: %s",
				  accounts_db_last_error(call->st->db));
		return;
	}
	admin_reply_ok(call, list);
}

void admin_alias_remove(struct admin_call *call)
{
	const char *alias = admin_arg_str(&call->req, "address");
	const char *target = admin_arg_str(&call->req, "target");
	struct address addr;
	int ret;

	if (admin_alias_address(call, &addr) < 0)
		return;
	ret = accounts_db_alias_remove(call->st->db, addr.local, addr.domain, target);
	if (ret == ADB_NOT_FOUND)
		admin_reply_error(call, ADMIN_EX_NOUSER, "alias %s%s%s: no such alias", alias,
				  target != NULL ? " -> " : "", target != NULL ? target : "");
	else if (ret != ADB_OK)
		admin_reply_error(call, admin_db_code(ret), "alias %s: %s", alias,
				  accounts_db_last_error(call->st->db));
	else
		admin_reply_ok(call, json_pack("{s:s, s:s?}", "address", alias, "removed", target));
}
