/* The accounts role: read-only access to accounts.db; answers password checks, recipient
   resolution and quota look-ups for smtp, imap and admin. */
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../core/ipc_msg.h"
#include "../core/log.h"
#include "../core/paths.h"
#include "../core/strutil.h"
#include "../core/worker.h"
#include "../store/maildir_path.h"
#include "accounts_db.h"
#include "address.h"
#include "auth_penalty.h"
#include "password.h"
#include "resolve.h"
#include "verify_cache.h"

/* Accounts whose last successful check is remembered at once (verify_cache.h). */
#define VERIFY_CACHE_SLOTS 1024

struct accounts_state {
	struct accounts_db *db;
	struct resolve_config resolve;
	char postmaster[520];
	const char *mail_root;
	struct auth_penalty *penalty;
	struct verify_cache *verify_cache;
};

/* One password check, carried to the thread pool and back. */
struct verify_job {
	uv_work_t work;
	struct worker *w;
	int from;	  /* the asking peer's role */
	uint32_t gen;	  /* its link generation when it asked */
	uint16_t type;
	uint32_t id;
	bool known;
	char stored[PASSWORD_HASH_MAX];
	char password[1024];
	char address[520];
	char service[32];
	char ip[64];
	int result;
	bool locked; /* refused without a check: too many failures from ip */
	bool lookup_failed; /* the database could not answer: try again later, no penalty */
	bool needs_rehash;
	char new_hash[PASSWORD_HASH_MAX];
};

static struct accounts_state *accounts_state(struct worker *w)
{
	return w->state;
}

static void accounts_verify_work(uv_work_t *work)
{
	struct verify_job *job = work->data;
	const char *error = NULL;

	if (job->locked || job->lookup_failed)
		return;
	if (!job->known) {
		/* Same work and same answer as a wrong password: no user enumeration by timing. */
		password_verify_dummy(job->password);
		job->result = 0;
		return;
	}
	job->result = password_verify(job->stored, job->password, &job->needs_rehash, &error);
	if (job->result == 1 && job->needs_rehash &&
	    password_hash(job->password, job->new_hash, sizeof(job->new_hash), &error) < 0)
		job->needs_rehash = false;
	if (job->result < 0)
		log_error("%s: stored password hash unusable: %s", log_esc(job->address), error);
}

static void accounts_send_rehash(struct worker *w, const struct verify_job *job)
{
	struct ipc_wbuf b;

	if (!ipc_link_is_open(w->peers[ROLE_ADMIN]))
		return;
	ipc_wbuf_init(&b);
	ipc_put_str(&b, job->address);
	ipc_put_str(&b, job->new_hash);
	ipc_link_request(w->peers[ROLE_ADMIN], IPC_ADMIN_REHASH, &b, -1, NULL, NULL);
	ipc_wbuf_free(&b);
}

/* Logins from maild's own admin socket carry no client address and are not penalised. */
static bool verify_is_remote(const struct verify_job *job)
{
	return job->ip[0] != '\0' && strcmp(job->service, "admin") != 0;
}

static void accounts_verify_done(uv_work_t *work, int status)
{
	struct verify_job *job = work->data;
	struct accounts_state *st = accounts_state(job->w);
	struct ipc_wbuf b;
	uint8_t result = job->result == 1 ? IPC_VERIFY_OK : IPC_VERIFY_FAIL;
	uint64_t delay = 0;

	if (status != 0 || job->result < 0)
		result = job->result < 0 ? IPC_VERIFY_FAIL : IPC_VERIFY_TEMPFAIL;
	if (job->locked)
		result = IPC_VERIFY_LOCKED;
	else if (job->lookup_failed)
		result = IPC_VERIFY_TEMPFAIL;
	else if (result == IPC_VERIFY_OK && verify_is_remote(job))
		auth_penalty_succeeded(st->penalty, job->ip);
	else if (result == IPC_VERIFY_FAIL && verify_is_remote(job))
		delay = auth_penalty_failed(st->penalty, job->ip, uv_now(job->w->loop));
	if (result == IPC_VERIFY_OK && job->needs_rehash)
		accounts_send_rehash(job->w, job);
	else if (result == IPC_VERIFY_OK)
		verify_cache_put(st->verify_cache, job->address, job->stored, job->password,
				 uv_now(job->w->loop));
	log_debug("%s: password check for %s from %s: %s", job->service, log_esc(job->address),
		  job->ip,
		  result == IPC_VERIFY_OK       ? "ok"
		  : result == IPC_VERIFY_LOCKED ? "refused, too many failures"
						: "failed");
	ipc_wbuf_init(&b);
	ipc_put_u8(&b, result);
	ipc_put_str(&b, result == IPC_VERIFY_OK ? job->address : "");
	ipc_put_u32(&b, (uint32_t)delay);
	/* The asker may have restarted meanwhile: its new link must not get an old answer. */
	if (job->w->peer_gen[job->from] == job->gen && ipc_link_is_open(job->w->peers[job->from]))
		ipc_link_send(job->w->peers[job->from], (uint16_t)(job->type | IPC_REPLY), job->id,
			      &b, -1);
	ipc_wbuf_free(&b);
	explicit_bzero(job, sizeof(*job));
	free(job);
}

static void accounts_lookup_for_verify(struct accounts_state *st, struct verify_job *job,
				       const char *user)
{
	struct address addr;
	struct adb_account acct;
	const char *error;
	int ret = ADB_NOT_FOUND;

	if (address_parse_mailbox(user, false, &addr, &error) == 0)
		ret = accounts_db_account_get(st->db, addr.local, addr.domain, &acct);
	if (ret != ADB_OK && ret != ADB_NOT_FOUND) {
		/* A busy or failing database is no wrong password: the client is told to try
		   again, and its address is not penalised. */
		log_error("%s: account lookup failed: %s", job->service,
			  log_esc(accounts_db_last_error(st->db)));
		job->lookup_failed = true;
		(void)str_copy(job->address, sizeof(job->address), user);
		return;
	}
	if (ret != ADB_OK || !acct.active) {
		job->known = false;
		(void)str_copy(job->address, sizeof(job->address), user);
		return;
	}
	job->known = true;
	(void)str_copy(job->stored, sizeof(job->stored), acct.password_hash);
	(void)str_printf(job->address, sizeof(job->address), "%s@%s", acct.localpart, acct.domain);
	explicit_bzero(&acct, sizeof(acct));
}

static void accounts_on_verify(struct worker *w, int from, const struct ipc_frame *frame)
{
	struct verify_job *job = calloc(1, sizeof(*job));
	char user[520];
	struct ipc_rbuf r;

	if (job == NULL)
		fatal("out of memory");
	ipc_rbuf_init(&r, frame->payload, frame->len);
	ipc_get_str(&r, user, sizeof(user));
	ipc_get_str(&r, job->password, sizeof(job->password));
	ipc_get_str(&r, job->service, sizeof(job->service));
	ipc_get_str(&r, job->ip, sizeof(job->ip));
	if (ipc_rbuf_end(&r) < 0) {
		/* Over-long user or password: an ordinary failed login, not a broken peer. */
		memset(job->password, 0, sizeof(job->password));
		(void)str_copy(user, sizeof(user), "");
	}
	job->w = w;
	job->from = from;
	job->gen = w->peer_gen[from];
	job->type = frame->type;
	job->id = frame->id;
	job->work.data = job;
	if (verify_is_remote(job) &&
	    auth_penalty_locked(accounts_state(w)->penalty, job->ip, uv_now(w->loop)))
		job->locked = true;
	else
		accounts_lookup_for_verify(accounts_state(w), job, user);
	if (job->known && !job->locked &&
	    verify_cache_hit(accounts_state(w)->verify_cache, job->address, job->stored,
			     job->password, uv_now(w->loop))) {
		job->result = 1;
		accounts_verify_done(&job->work, 0);
		return;
	}
	if (uv_queue_work(w->loop, &job->work, accounts_verify_work, accounts_verify_done) != 0)
		fatal("uv_queue_work failed");
}

/* One target of a resolve answer: local ones carry their Maildir and quota, so smtp can ask
   delivery about the quota and later deliver without another round trip. */
static void accounts_put_target(struct accounts_state *st, struct ipc_wbuf *b,
				const struct resolve_target *t)
{
	char maildir[PATH_MAX] = "";
	struct adb_account acct;
	struct address addr;
	const char *error;
	uint64_t quota = 0;

	if (t->local && address_parse_mailbox(t->address, false, &addr, &error) == 0 &&
	    accounts_db_account_get(st->db, addr.local, addr.domain, &acct) == ADB_OK) {
		quota = acct.quota_bytes;
		if (maildir_path(st->mail_root, acct.domain, acct.localpart, maildir,
				 sizeof(maildir)) < 0)
			maildir[0] = '\0';
		explicit_bzero(acct.password_hash, sizeof(acct.password_hash));
	}
	ipc_put_bool(b, t->local);
	ipc_put_i64(b, t->account_id);
	ipc_put_str(b, t->address);
	ipc_put_u64(b, quota);
	ipc_put_str(b, maildir);
}

static void accounts_on_resolve(struct worker *w, struct ipc_link *link,
				const struct ipc_frame *frame)
{
	struct accounts_state *st = accounts_state(w);
	struct resolve_result res = { 0 };
	char address[1024];
	struct ipc_rbuf r;
	struct ipc_wbuf b;

	ipc_rbuf_init(&r, frame->payload, frame->len);
	ipc_get_str(&r, address, sizeof(address));
	if (ipc_rbuf_end(&r) < 0)
		res.status = RESOLVE_UNKNOWN_USER;
	else if (resolve_recipient(st->db, &st->resolve, address, &res) < 0)
		res.status = RESOLVE_TEMPFAIL;
	ipc_wbuf_init(&b);
	ipc_put_u8(&b, (uint8_t)res.status);
	ipc_put_str(&b, res.fail_text);
	ipc_put_u32(&b, (uint32_t)res.count);
	for (size_t i = 0; i < res.count; i++)
		accounts_put_target(st, &b, &res.targets[i]);
	worker_reply(link, frame, &b, -1);
	ipc_wbuf_free(&b);
	resolve_result_clear(&res);
}

static void accounts_on_quota(struct worker *w, struct ipc_link *link,
			      const struct ipc_frame *frame)
{
	struct accounts_state *st = accounts_state(w);
	char address[1024], maildir[PATH_MAX] = "";
	struct adb_account acct;
	struct address addr;
	const char *error;
	struct ipc_rbuf r;
	struct ipc_wbuf b;
	bool found = false;

	ipc_rbuf_init(&r, frame->payload, frame->len);
	ipc_get_str(&r, address, sizeof(address));
	if (ipc_rbuf_end(&r) == 0 && address_parse_mailbox(address, false, &addr, &error) == 0 &&
	    accounts_db_account_get(st->db, addr.local, addr.domain, &acct) == ADB_OK)
		found = maildir_path(st->mail_root, acct.domain, acct.localpart, maildir,
				     sizeof(maildir)) == 0;
	ipc_wbuf_init(&b);
	ipc_put_u8(&b, found);
	ipc_put_u64(&b, found ? acct.quota_bytes : 0);
	ipc_put_str(&b, maildir);
	worker_reply(link, frame, &b, -1);
	ipc_wbuf_free(&b);
}

static void accounts_on_message(struct worker *w, int from, struct ipc_link *link,
				const struct ipc_frame *frame, int fd)
{
	if (fd >= 0)
		close(fd);
	if (from < 0)
		return;
	switch (frame->type) {
	case IPC_ACCT_VERIFY:
		accounts_on_verify(w, from, frame);
		break;
	case IPC_ACCT_RESOLVE:
		accounts_on_resolve(w, link, frame);
		break;
	case IPC_ACCT_QUOTA:
		accounts_on_quota(w, link, frame);
		break;
	default:
		log_warning("unexpected message type %u from %s", frame->type, role_name(from));
	}
}

static int accounts_start(struct worker *w, const char **error_r)
{
	static struct accounts_state st;
	static char path[PATH_MAX];
	const char *delim = config_str(w->config, "accounts.recipient_delimiter");
	char *error = NULL;

	if (paths_accounts_db(w->config, path, sizeof(path)) < 0) {
		*error_r = "state_dir too long";
		return -1;
	}
	if (accounts_db_open(path, ACCOUNTS_DB_READONLY, &st.db, &error) < 0) {
		log_error("%s", error != NULL ? error : "cannot open accounts.db");
		free(error);
		*error_r = "cannot open the accounts database";
		return -1;
	}
	(void)str_copy(st.postmaster, sizeof(st.postmaster),
		       config_str(w->config, "accounts.postmaster"));
	st.resolve.delimiter = delim[0];
	st.resolve.max_depth = (unsigned)config_uint(w->config, "accounts.alias_max_depth");
	st.resolve.max_targets = 1000;
	st.resolve.postmaster = st.postmaster;
	st.mail_root = config_str(w->config, "mail_root");
	st.penalty = auth_penalty_new(&(struct auth_penalty_config){
		.max_failures = (unsigned)config_uint(w->config, "accounts.auth_failures_max"),
		.window_ms = config_uint(w->config, "accounts.auth_failure_window"),
		.delay_ms = config_uint(w->config, "accounts.auth_failure_delay"),
		.delay_max_ms = config_uint(w->config, "accounts.auth_failure_delay_max"),
		.slots = 8192,
	});
	st.verify_cache = verify_cache_new(config_uint(w->config, "accounts.auth_cache_ttl"),
					   VERIFY_CACHE_SLOTS);
	if (st.penalty == NULL || st.verify_cache == NULL) {
		*error_r = "out of memory";
		return -1;
	}
	w->state = &st;
	return 0;
}

const struct role_ops accounts_role_ops = {
	.start = accounts_start,
	.on_message = accounts_on_message,
};
