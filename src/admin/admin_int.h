#ifndef MAILD_ADMIN_INT_H
#define MAILD_ADMIN_INT_H

#include <jansson.h>
#include <sys/types.h>

#include "../accounts/accounts_db.h"
#include "../core/worker.h"
#include "admin_request.h"

struct admin_state {
	struct worker *w;
	struct accounts_db *db;
	const char *mail_root;
	char removed_dir[4096];
	unsigned connections;
	unsigned calls_in_flight;
	unsigned writes_in_flight;
	bool stopping;
	uv_pipe_t server;
};

struct admin_conn;

/* One request being answered. Handlers answer exactly once, now or later (status, reload). */
struct admin_call {
	struct admin_state *st;
	struct admin_conn *conn; /* NULL when the client went away before the answer */
	struct admin_request req;
	uid_t uid;
};

typedef void admin_handler(struct admin_call *call);

/* Answer and finish the call (it is freed). result is stolen; NULL means {}. */
void admin_reply_ok(struct admin_call *call, json_t *result);
void admin_reply_error(struct admin_call *call, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* details (stolen) is an array of strings shown under the error. */
void admin_reply_error_details(struct admin_call *call, int code, json_t *details,
			       const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* The sysexits code for an accounts_db result that is not ADB_OK. */
int admin_db_code(int adb_result);

/* sysexits codes (docs/admin-protocol.md) */
enum { ADMIN_EX_USAGE = 64, ADMIN_EX_DATAERR = 65, ADMIN_EX_NOUSER = 67, ADMIN_EX_SOFTWARE = 70,
       ADMIN_EX_CANTCREAT = 73, ADMIN_EX_TEMPFAIL = 75, ADMIN_EX_NOPERM = 77,
       ADMIN_EX_CONFIG = 78 };

void admin_domain_add(struct admin_call *call);
void admin_domain_list(struct admin_call *call);
void admin_domain_show(struct admin_call *call);
void admin_domain_remove(struct admin_call *call);
void admin_user_add(struct admin_call *call);
void admin_user_list(struct admin_call *call);
void admin_user_show(struct admin_call *call);
void admin_user_passwd(struct admin_call *call);
void admin_user_quota(struct admin_call *call);
void admin_user_disable(struct admin_call *call);
void admin_user_enable(struct admin_call *call);
void admin_user_remove(struct admin_call *call);
void admin_alias_add(struct admin_call *call);
void admin_alias_list(struct admin_call *call);
void admin_alias_remove(struct admin_call *call);
void admin_auth_test(struct admin_call *call);
void admin_address_resolve(struct admin_call *call);
void admin_status(struct admin_call *call);
void admin_reload(struct admin_call *call);

/* accounts -> admin: store a rehashed password after a login with a legacy scheme. */
void admin_on_rehash(struct admin_state *st, struct ipc_link *link, const struct ipc_frame *frame);

#endif
