#include <limits.h>
#include <string.h>

#include "../accounts/address.h"
#include "../accounts/password.h"
#include "../core/log.h"
#include "../store/maildir_create.h"
#include "../store/maildir_path.h"
#include "admin_int.h"

static int admin_user_address(struct admin_call *call, struct address *addr)
{
	const char *text = admin_arg_str(&call->req, "address");
	const char *error;

	if (address_parse_mailbox(text, false, addr, &error) < 0) {
		admin_reply_error(call, ADMIN_EX_DATAERR, "user %s: %s", text, error);
		return -1;
	}
	return 0;
}

/* The stored form of the password argument: a new yescrypt hash of "password", or the
   imported "password_hash". Exactly one must be given. */
static int admin_user_secret(struct admin_call *call, const char *who, char *hash, size_t size)
{
	const char *plain = admin_arg_str(&call->req, "password");
	const char *imported = admin_arg_str(&call->req, "password_hash");
	const char *error;

	if ((plain == NULL) == (imported == NULL)) {
		admin_reply_error(call, ADMIN_EX_USAGE,
				  "user %s: give exactly one of a password or a password hash", who);
		return -1;
	}
	if (plain != NULL && *plain == '\0') {
		admin_reply_error(call, ADMIN_EX_DATAERR, "user %s: empty password", who);
		return -1;
	}
	int ret = plain != NULL ? password_hash(plain, hash, size, &error)
				: password_import(imported, hash, size, &error);

	if (ret < 0) {
		admin_reply_error(call, ADMIN_EX_DATAERR, "user %s: %s", who, error);
		return -1;
	}
	return 0;
}

static int admin_user_maildir(struct admin_state *st, const struct adb_account *a, char *out,
			      size_t size)
{
	return maildir_path(st->mail_root, a->domain, a->localpart, out, size);
}

static void admin_user_add_reply(struct admin_call *call, struct adb_account *acct,
				 const char *who)
{
	char maildir[PATH_MAX];
	const char *error = "path too long";
	int ret = accounts_db_account_add(call->st->db, acct);

	if (ret == ADB_EXISTS) {
		admin_reply_error(call, ADMIN_EX_CANTCREAT, "user %s: already exists", who);
		return;
	}
	if (ret == ADB_NOT_FOUND) {
		admin_reply_error(call, ADMIN_EX_NOUSER, "user %s: no such domain %s", who,
				  acct->domain);
		return;
	}
	if (ret != ADB_OK) {
		admin_reply_error(call, admin_db_code(ret), "user %s: %s", who,
				  accounts_db_last_error(call->st->db));
		return;
	}
	if (admin_user_maildir(call->st, acct, maildir, sizeof(maildir)) < 0 ||
	    maildir_create(maildir, &error) < 0) {
		/* No half-made account: without its mailbox it could not receive mail. */
		accounts_db_account_remove(call->st->db, acct->localpart, acct->domain);
		admin_reply_error(call, ADMIN_EX_CANTCREAT, "user %s: cannot create mailbox: %s",
				  who, error);
		return;
	}
	admin_reply_ok(call, json_pack("{s:s, s:s}", "address", who, "maildir", maildir));
}

void admin_user_add(struct admin_call *call)
{
	struct adb_account acct = { .active = true };
	const char *name = admin_arg_str(&call->req, "name");
	struct address addr;
	char who[520];

	if (admin_user_address(call, &addr) < 0)
		return;
	address_format(&addr, who, sizeof(who));
	if (name != NULL && strlen(name) >= sizeof(acct.real_name)) {
		admin_reply_error(call, ADMIN_EX_DATAERR, "user %s: name too long", who);
		return;
	}
	snprintf(acct.localpart, sizeof(acct.localpart), "%s", addr.local);
	snprintf(acct.domain, sizeof(acct.domain), "%s", addr.domain);
	snprintf(acct.real_name, sizeof(acct.real_name), "%s", name != NULL ? name : "");
	admin_arg_uint(&call->req, "quota", &acct.quota_bytes);
	if (admin_user_secret(call, who, acct.password_hash, sizeof(acct.password_hash)) < 0)
		return;
	admin_user_add_reply(call, &acct, who);
	explicit_bzero(acct.password_hash, sizeof(acct.password_hash));
}

static json_t *admin_user_json(const struct adb_account *a)
{
	char address[520];

	snprintf(address, sizeof(address), "%s@%s", a->localpart, a->domain);
	return json_pack("{s:s, s:s, s:I, s:b, s:I}", "address", address, "name", a->real_name,
			 "quota", (json_int_t)a->quota_bytes, "active", a->active, "created",
			 (json_int_t)a->created);
}

static int admin_user_row(const struct adb_account *a, void *ctx)
{
	json_array_append_new(ctx, admin_user_json(a));
	return 0;
}

void admin_user_list(struct admin_call *call)
{
	const char *domain = admin_arg_str(&call->req, "domain");
	json_t *list = json_array();
	int ret = accounts_db_account_list(call->st->db, domain, admin_user_row, list);

	if (ret < 0) {
		json_decref(list);
		admin_reply_error(call, admin_db_code(ret), "users: %s",
				  accounts_db_last_error(call->st->db));
		return;
	}
	admin_reply_ok(call, list);
}

/* Look the account up, answering the error itself. 0 found, -1 answered. */
static int admin_user_get(struct admin_call *call, struct address *addr, struct adb_account *a)
{
	int ret;

	if (admin_user_address(call, addr) < 0)
		return -1;
	ret = accounts_db_account_get(call->st->db, addr->local, addr->domain, a);
	if (ret == ADB_OK)
		return 0;
	if (ret == ADB_NOT_FOUND)
		admin_reply_error(call, ADMIN_EX_NOUSER, "user %s@%s: no such user", addr->local,
				  addr->domain);
	else
		admin_reply_error(call, admin_db_code(ret), "user %s@%s: %s", addr->local,
				  addr->domain, accounts_db_last_error(call->st->db));
	return -1;
}

static const char *admin_password_scheme(const char *hash)
{
	static char scheme[32];
	const char *end;

	if (hash[0] == '{' && (end = strchr(hash, '}')) != NULL && end - hash < 30) {
		snprintf(scheme, sizeof(scheme), "%.*s", (int)(end - hash - 1), hash + 1);
		return scheme;
	}
	if (strncmp(hash, "$y$", 3) == 0)
		return "YESCRYPT";
	if (strncmp(hash, "$6$", 3) == 0)
		return "SHA512-CRYPT";
	return "CRYPT";
}

void admin_user_show(struct admin_call *call)
{
	struct adb_account a;
	struct address addr;
	char maildir[PATH_MAX] = "";
	json_t *j;

	if (admin_user_get(call, &addr, &a) < 0)
		return;
	admin_user_maildir(call->st, &a, maildir, sizeof(maildir));
	j = admin_user_json(&a);
	json_object_set_new(j, "maildir", json_string(maildir));
	json_object_set_new(j, "password_scheme",
			    json_string(admin_password_scheme(a.password_hash)));
	explicit_bzero(&a, sizeof(a));
	admin_reply_ok(call, j);
}

static void admin_user_done(struct admin_call *call, const struct address *addr, int ret,
			    json_t *extra)
{
	char who[520];

	address_format(addr, who, sizeof(who));
	if (ret == ADB_NOT_FOUND) {
		json_decref(extra);
		admin_reply_error(call, ADMIN_EX_NOUSER, "user %s: no such user", who);
	} else if (ret != ADB_OK) {
		json_decref(extra);
		admin_reply_error(call, admin_db_code(ret), "user %s: %s", who,
				  accounts_db_last_error(call->st->db));
	} else {
		json_t *j = extra != NULL ? extra : json_object();

		json_object_set_new(j, "address", json_string(who));
		admin_reply_ok(call, j);
	}
}

void admin_user_passwd(struct admin_call *call)
{
	char hash[PASSWORD_HASH_MAX], who[520];
	struct address addr;
	int ret;

	if (admin_user_address(call, &addr) < 0)
		return;
	address_format(&addr, who, sizeof(who));
	if (admin_user_secret(call, who, hash, sizeof(hash)) < 0)
		return;
	ret = accounts_db_account_set_password(call->st->db, addr.local, addr.domain, hash);
	explicit_bzero(hash, sizeof(hash));
	admin_user_done(call, &addr, ret, NULL);
}

void admin_user_quota(struct admin_call *call)
{
	struct address addr;
	uint64_t quota = 0;
	int ret;

	if (admin_user_address(call, &addr) < 0)
		return;
	admin_arg_uint(&call->req, "quota", &quota);
	ret = accounts_db_account_set_quota(call->st->db, addr.local, addr.domain, quota);
	admin_user_done(call, &addr, ret, json_pack("{s:I}", "quota", (json_int_t)quota));
}

static void admin_user_set_active(struct admin_call *call, bool active)
{
	struct address addr;
	int ret;

	if (admin_user_address(call, &addr) < 0)
		return;
	ret = accounts_db_account_set_active(call->st->db, addr.local, addr.domain, active);
	admin_user_done(call, &addr, ret, json_pack("{s:b}", "active", active));
}

void admin_user_disable(struct admin_call *call)
{
	admin_user_set_active(call, false);
}

void admin_user_enable(struct admin_call *call)
{
	admin_user_set_active(call, true);
}

void admin_user_remove(struct admin_call *call)
{
	char maildir[PATH_MAX], moved[PATH_MAX];
	const char *error = "path too long";
	struct adb_account a;
	struct address addr;
	const char *base;
	int ret;

	if (admin_user_get(call, &addr, &a) < 0)
		return;
	/* Mail first: if it cannot be moved aside, the account stays as it was. */
	if (admin_user_maildir(call->st, &a, maildir, sizeof(maildir)) < 0 ||
	    maildir_move_aside(maildir, call->st->removed_dir, a.domain,
			       (base = strrchr(maildir, '/')) != NULL ? base + 1 : a.localpart,
			       moved, sizeof(moved), &error) < 0) {
		admin_reply_error(call, ADMIN_EX_CANTCREAT, "user %s@%s: cannot move the mailbox "
				  "aside: %s", a.localpart, a.domain, error);
		return;
	}
	ret = accounts_db_account_remove(call->st->db, addr.local, addr.domain);
	if (ret == ADB_OK && moved[0] != '\0')
		log_info("user %s@%s removed; mail kept in %s", a.localpart, a.domain, moved);
	admin_user_done(call, &addr, ret, json_pack("{s:s}", "moved_to", moved));
}

void admin_on_rehash(struct admin_state *st, struct ipc_link *link, const struct ipc_frame *frame)
{
	char address[520], hash[PASSWORD_HASH_MAX];
	struct address addr;
	const char *error;
	struct ipc_rbuf r;
	struct ipc_wbuf b;
	bool ok = false;

	ipc_rbuf_init(&r, frame->payload, frame->len);
	ipc_get_str(&r, address, sizeof(address));
	ipc_get_str(&r, hash, sizeof(hash));
	/* Only a yescrypt hash may replace a stored one this way. */
	if (ipc_rbuf_end(&r) == 0 && strncmp(hash, "$y$", 3) == 0 &&
	    address_parse_mailbox(address, false, &addr, &error) == 0)
		ok = accounts_db_account_set_password(st->db, addr.local, addr.domain, hash) ==
		     ADB_OK;
	if (ok)
		log_info("user %s: legacy password hash replaced by yescrypt", log_esc(address));
	explicit_bzero(hash, sizeof(hash));
	ipc_wbuf_init(&b);
	ipc_put_u8(&b, ok);
	worker_reply(link, frame, &b, -1);
	ipc_wbuf_free(&b);
}
