/* Questions the admin passes on to the accounts worker, so an admin sees exactly what smtp and
   imap would be told: a password check (like `doveadm auth test`) and where mail for an
   address goes (like `postmap -q`). */
#include <string.h>
#include <unistd.h>

#include "../accounts/resolve.h"
#include "../core/ipc_msg.h"
#include "admin_int.h"

static struct ipc_link *admin_accounts_link(struct admin_call *call, const char *what)
{
	struct ipc_link *link = call->st->w->peers[ROLE_ACCOUNTS];

	if (!ipc_link_is_open(link)) {
		admin_reply_error(call, ADMIN_EX_TEMPFAIL, "%s: the accounts worker is not "
				  "available; try again", what);
		return NULL;
	}
	return link;
}

static void admin_auth_test_done(const struct ipc_frame *frame, int fd, void *ctx)
{
	struct admin_call *call = ctx;
	const char *who = admin_arg_str(&call->req, "address");
	char canonical[520] = "";
	struct ipc_rbuf r;
	uint8_t result = IPC_VERIFY_TEMPFAIL;

	if (fd >= 0)
		close(fd);
	if (frame != NULL) {
		ipc_rbuf_init(&r, frame->payload, frame->len);
		result = ipc_get_u8(&r);
		ipc_get_str(&r, canonical, sizeof(canonical));
		(void)ipc_get_u32(&r); /* the failure delay is for network clients */
		if (ipc_rbuf_end(&r) < 0)
			result = IPC_VERIFY_TEMPFAIL;
	}
	if (result == IPC_VERIFY_OK)
		admin_reply_ok(call, json_pack("{s:s, s:b}", "address", canonical, "ok", 1));
	else if (result == IPC_VERIFY_FAIL)
		admin_reply_error(call, ADMIN_EX_NOPERM, "auth %s: authentication failed", who);
	else
		admin_reply_error(call, ADMIN_EX_TEMPFAIL, "auth %s: temporary failure", who);
}

void admin_auth_test(struct admin_call *call)
{
	struct ipc_link *link = admin_accounts_link(call, "auth");
	struct ipc_wbuf b;

	if (link == NULL)
		return;
	ipc_wbuf_init(&b);
	ipc_put_str(&b, admin_arg_str(&call->req, "address"));
	ipc_put_str(&b, admin_arg_str(&call->req, "password"));
	ipc_put_str(&b, "admin");
	ipc_put_str(&b, "local");
	if (ipc_link_request(link, IPC_ACCT_VERIFY, &b, -1, admin_auth_test_done, call) < 0)
		admin_reply_error(call, ADMIN_EX_TEMPFAIL, "auth: request too large or link down");
	explicit_bzero(b.data, b.len);
	ipc_wbuf_free(&b);
}

static json_t *admin_resolve_targets(struct ipc_rbuf *r, uint32_t n)
{
	json_t *list = json_array();

	for (uint32_t i = 0; i < n && !r->failed; i++) {
		char address[520], maildir[4096];
		bool local = ipc_get_bool(r);
		int64_t id = ipc_get_i64(r);
		uint64_t quota;

		ipc_get_str(r, address, sizeof(address));
		quota = ipc_get_u64(r);
		ipc_get_str(r, maildir, sizeof(maildir));
		if (!r->failed)
			json_array_append_new(list, json_pack("{s:s, s:b, s:I, s:I, s:s}", "address",
							      address, "local", local, "account_id",
							      (json_int_t)id, "quota",
							      (json_int_t)quota, "maildir", maildir));
	}
	return list;
}

static void admin_resolve_reply(struct admin_call *call, uint8_t status, const char *fail_text,
				json_t *targets)
{
	const char *who = admin_arg_str(&call->req, "address");

	switch (status) {
	case RESOLVE_OK:
		admin_reply_ok(call, targets);
		return;
	case RESOLVE_NOT_LOCAL:
		json_decref(targets);
		admin_reply_ok(call, json_pack("[{s:s, s:b}]", "address", who, "local", 0));
		return;
	case RESOLVE_FAIL:
		admin_reply_error(call, ADMIN_EX_NOUSER, "address %s: rejected: %s", who, fail_text);
		break;
	case RESOLVE_UNKNOWN_USER:
		admin_reply_error(call, ADMIN_EX_NOUSER, "address %s: unknown user", who);
		break;
	case RESOLVE_INACTIVE:
		admin_reply_error(call, ADMIN_EX_NOUSER, "address %s: account disabled", who);
		break;
	case RESOLVE_LOOP:
		admin_reply_error(call, ADMIN_EX_DATAERR, "address %s: alias loop or nesting too "
				  "deep", who);
		break;
	case RESOLVE_TOO_MANY:
		admin_reply_error(call, ADMIN_EX_DATAERR, "address %s: too many targets", who);
		break;
	default:
		admin_reply_error(call, ADMIN_EX_TEMPFAIL, "address %s: temporary failure", who);
	}
	json_decref(targets);
}

static void admin_resolve_done(const struct ipc_frame *frame, int fd, void *ctx)
{
	struct admin_call *call = ctx;
	char fail_text[512] = "";
	json_t *targets = NULL;
	uint8_t status = RESOLVE_TEMPFAIL;
	struct ipc_rbuf r;

	if (fd >= 0)
		close(fd);
	if (frame != NULL) {
		ipc_rbuf_init(&r, frame->payload, frame->len);
		status = ipc_get_u8(&r);
		ipc_get_str(&r, fail_text, sizeof(fail_text));
		targets = admin_resolve_targets(&r, ipc_get_u32(&r));
		if (ipc_rbuf_end(&r) < 0)
			status = RESOLVE_TEMPFAIL;
	}
	admin_resolve_reply(call, status, fail_text, targets != NULL ? targets : json_array());
}

void admin_address_resolve(struct admin_call *call)
{
	struct ipc_link *link = admin_accounts_link(call, "address");
	struct ipc_wbuf b;

	if (link == NULL)
		return;
	ipc_wbuf_init(&b);
	ipc_put_str(&b, admin_arg_str(&call->req, "address"));
	if (ipc_link_request(link, IPC_ACCT_RESOLVE, &b, -1, admin_resolve_done, call) < 0)
		admin_reply_error(call, ADMIN_EX_TEMPFAIL, "address: request too large or link down");
	ipc_wbuf_free(&b);
}
