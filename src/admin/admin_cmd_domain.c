#include "../accounts/address.h"
#include "admin_int.h"

static json_t *admin_domain_json(const struct adb_domain *d)
{
	return json_pack("{s:s, s:I, s:I, s:I, s:b}", "domain", d->name, "accounts",
			 (json_int_t)d->accounts, "aliases", (json_int_t)d->aliases, "created",
			 (json_int_t)d->created, "active", d->active);
}

/* Domain names are stored lowercased; validate and normalise what the admin typed. */
static int admin_domain_arg(struct admin_call *call, char *out, size_t size)
{
	const char *name = admin_arg_str(&call->req, "domain");
	const char *error;

	if (address_domain_valid(name, &error) < 0) {
		admin_reply_error(call, ADMIN_EX_DATAERR, "domain %s: %s", name, error);
		return -1;
	}
	snprintf(out, size, "%s", name);
	for (char *p = out; *p != '\0'; p++)
		*p = (*p >= 'A' && *p <= 'Z') ? (char)(*p - 'A' + 'a') : *p;
	return 0;
}

/* The answer to a failed look-up or change of domain name. */
static void admin_domain_fail(struct admin_call *call, const char *name, int ret)
{
	if (ret == ADB_NOT_FOUND)
		admin_reply_error(call, ADMIN_EX_NOUSER, "domain %s: no such domain", name);
	else
		admin_reply_error(call, admin_db_code(ret), "domain %s: %s", name,
				  accounts_db_last_error(call->st->db));
}

void admin_domain_add(struct admin_call *call)
{
	char name[256];
	int ret;

	if (admin_domain_arg(call, name, sizeof(name)) < 0)
		return;
	ret = accounts_db_domain_add(call->st->db, name);
	if (ret == ADB_EXISTS)
		admin_reply_error(call, ADMIN_EX_CANTCREAT, "domain %s: already exists", name);
	else if (ret != ADB_OK)
		admin_domain_fail(call, name, ret);
	else
		admin_reply_ok(call, json_pack("{s:s}", "domain", name));
}

static int admin_domain_row(const struct adb_domain *d, void *ctx)
{
	json_array_append_new(ctx, admin_domain_json(d));
	return 0;
}

void admin_domain_list(struct admin_call *call)
{
	json_t *list = json_array();
	int ret = accounts_db_domain_list(call->st->db, admin_domain_row, list);

	if (ret < 0) {
		json_decref(list);
		admin_reply_error(call, admin_db_code(ret), "domains: %s",
				  accounts_db_last_error(call->st->db));
		return;
	}
	admin_reply_ok(call, list);
}

void admin_domain_show(struct admin_call *call)
{
	struct adb_domain d;
	char name[256];
	int ret;

	if (admin_domain_arg(call, name, sizeof(name)) < 0)
		return;
	ret = accounts_db_domain_get(call->st->db, name, &d);
	if (ret != ADB_OK)
		admin_domain_fail(call, name, ret);
	else
		admin_reply_ok(call, admin_domain_json(&d));
}

void admin_domain_remove(struct admin_call *call)
{
	struct adb_domain d;
	char name[256];
	int ret;

	if (admin_domain_arg(call, name, sizeof(name)) < 0)
		return;
	ret = accounts_db_domain_get(call->st->db, name, &d);
	if (ret == ADB_OK)
		ret = accounts_db_domain_remove(call->st->db, name);
	if (ret == ADB_IN_USE)
		admin_reply_error(call, ADMIN_EX_DATAERR,
				  "domain %s: still has %lld account(s); remove them first", name,
				  (long long)d.accounts);
	else if (ret != ADB_OK)
		admin_domain_fail(call, name, ret);
	else
		admin_reply_ok(call, json_pack("{s:s}", "domain", name));
}
