/* Server-side SASL through Cyrus SASL (see sasl_auth.h).

   Two ways a password gets checked:
   - accounts (the default): Cyrus SASL runs the mechanism on the loop thread, and its checkpass
     callback only takes the decoded user and password; the step that completes the mechanism
     then asks the accounts worker, and the exchange succeeds only if accounts says so. Cyrus
     SASL never decides on its own, and no thread blocks on IPC.
   - saslauthd (smtp.auth_backend = saslauthd, for PAM/LDAP sites): Cyrus SASL asks saslauthd
     itself, a blocking socket call, so each step runs on the thread pool; failures are
     penalised with a table of our own since accounts does not see them. */
#include <pthread.h>
#include <sasl/sasl.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "../core/ipc_msg.h"
#include "../core/log.h"
#include "../core/strutil.h"
#include "auth_penalty.h"
#include "sasl_auth.h"

#define SASL_USER_MAX 520
#define SASL_PASS_MAX 1024
#define SASL_OUT_MAX 1024

/* Cyrus SASL stores every callback as int (*)(void); each is called with its own type. */
typedef int (*sasl_cb_proc)(void);

enum sasl_backend { BACKEND_ACCOUNTS, BACKEND_SASLAUTHD };

static struct {
	bool ready;
	enum sasl_backend backend;
	char saslauthd_path[256];
	struct auth_penalty *penalty; /* saslauthd only */
} sasl_global;

struct sasl_auth {
	struct worker *w;
	sasl_conn_t *conn;
	sasl_callback_t callbacks[3];
	char service[16];
	char ip[64];
	char mech[16];
	bool started;  /* sasl_server_start has run */
	bool finished; /* an OK/FAIL/... result was given */
	bool owner_gone;
	bool timer_closed;
	bool ipc_pending; /* an IPC_ACCT_VERIFY answer is awaited on link */
	bool work_pending;
	struct ipc_link *link;
	uv_timer_t timer; /* hands results back from the loop, after a delay for failures */
	uv_work_t work;
	/* the step in progress */
	sasl_auth_cb *cb;
	void *arg;
	const char *in;
	size_t inlen;
	char *in_copy;
	int sasl_rc;
	/* what the step resulted in, delivered by the timer */
	enum sasl_auth_status status;
	char out[SASL_OUT_MAX];
	size_t outlen;
	char user[SASL_USER_MAX];
	/* the checkpass callback's catch (accounts backend) */
	bool have_creds, creds_bad;
	char cred_user[SASL_USER_MAX];
	char cred_pass[SASL_PASS_MAX];
};

/* ----- Cyrus SASL callbacks ----- */

static int sasl_auth_getopt(void *context, const char *plugin, const char *option,
			    const char **result, unsigned *len)
{
	(void)context;
	(void)plugin;
	if (strcmp(option, "mech_list") == 0)
		*result = "PLAIN LOGIN";
	else if (strcmp(option, "pwcheck_method") == 0)
		*result = sasl_global.backend == BACKEND_SASLAUTHD ? "saslauthd" : "auxprop";
	else if (strcmp(option, "saslauthd_path") == 0)
		*result = sasl_global.saslauthd_path;
	else if (strcmp(option, "auxprop_plugin") == 0)
		/* No sasldb or SQL look-ups behind our back: accounts.db is the only store. */
		*result = "maild-none";
	else
		return SASL_FAIL;
	if (len != NULL)
		*len = (unsigned)strlen(*result);
	return SASL_OK;
}

static int sasl_auth_log(void *context, int level, const char *message)
{
	(void)context;
	(void)level;
	/* Cyrus SASL's own lines are for debugging: the session logs the outcome itself. */
	log_debug("sasl: %s", message);
	return SASL_OK;
}

/* Accounts backend: keep the credentials for the accounts worker; the answer comes later. */
static int sasl_auth_checkpass(sasl_conn_t *conn, void *context, const char *user,
			       const char *pass, unsigned passlen, struct propctx *propctx)
{
	struct sasl_auth *a = context;

	(void)conn;
	(void)propctx;
	a->have_creds = true;
	if (str_copy(a->cred_user, sizeof(a->cred_user), user) < 0 ||
	    passlen >= sizeof(a->cred_pass) || memchr(pass, '\0', passlen) != NULL) {
		a->creds_bad = true;
		return SASL_OK;
	}
	memcpy(a->cred_pass, pass, passlen);
	a->cred_pass[passlen] = '\0';
	return SASL_OK;
}

/* ----- mutexes: saslauthd steps run on several pool threads ----- */

static void *mutex_alloc(void)
{
	pthread_mutex_t *m = malloc(sizeof(*m));

	if (m != NULL)
		pthread_mutex_init(m, NULL);
	return m;
}

static int mutex_lock(void *m)
{
	return pthread_mutex_lock(m) == 0 ? SASL_OK : SASL_FAIL;
}

static int mutex_unlock(void *m)
{
	return pthread_mutex_unlock(m) == 0 ? SASL_OK : SASL_FAIL;
}

static void mutex_free(void *m)
{
	pthread_mutex_destroy(m);
	free(m);
}

int sasl_auth_global_init(const char *app)
{
	static sasl_callback_t global[] = {
	    {SASL_CB_GETOPT, (sasl_cb_proc)(void (*)(void))sasl_auth_getopt, NULL},
	    {SASL_CB_LOG, (sasl_cb_proc)(void (*)(void))sasl_auth_log, NULL},
	    {SASL_CB_LIST_END, NULL, NULL},
	};
	int rc;

	if (sasl_global.ready)
		return 0;
	sasl_set_mutex(mutex_alloc, mutex_lock, mutex_unlock, mutex_free);
	rc = sasl_server_init(global, app);
	if (rc != SASL_OK) {
		log_error("cannot initialise Cyrus SASL: %s", sasl_errstring(rc, NULL, NULL));
		return -1;
	}
	sasl_global.ready = true;
	return 0;
}

int sasl_auth_use_saslauthd(const char *path, const struct auth_penalty_config *penalty)
{
	if (str_copy(sasl_global.saslauthd_path, sizeof(sasl_global.saslauthd_path), path) < 0)
		return -1;
	sasl_global.penalty = auth_penalty_new(penalty);
	if (sasl_global.penalty == NULL)
		return -1;
	sasl_global.backend = BACKEND_SASLAUTHD;
	return 0;
}

const char *sasl_auth_mechanisms(void)
{
	return "PLAIN LOGIN";
}

bool sasl_auth_mechanism_known(const char *mech)
{
	return strcasecmp(mech, "PLAIN") == 0 || strcasecmp(mech, "LOGIN") == 0;
}

/* ----- lifetime ----- */

static void sasl_auth_destroy(struct sasl_auth *a)
{
	if (a->conn != NULL)
		sasl_dispose(&a->conn);
	free(a->in_copy);
	explicit_bzero(a, sizeof(*a));
	free(a);
}

/* Memory goes once the owner has let go and nothing of ours is still under way. */
static void sasl_auth_maybe_destroy(struct sasl_auth *a)
{
	if (a->owner_gone && a->timer_closed && !a->ipc_pending && !a->work_pending)
		sasl_auth_destroy(a);
}

static void sasl_auth_timer_closed(uv_handle_t *h)
{
	struct sasl_auth *a = h->data;

	a->timer_closed = true;
	sasl_auth_maybe_destroy(a);
}

struct sasl_auth *sasl_auth_new(struct worker *w, const char *service, const char *mech,
				const char *remote_ip)
{
	struct sasl_auth *a;
	int rc;

	if (!sasl_global.ready || !sasl_auth_mechanism_known(mech))
		return NULL;
	a = calloc(1, sizeof(*a));
	if (a == NULL)
		return NULL;
	a->w = w;
	(void)str_copy(a->service, sizeof(a->service), service);
	(void)str_copy(a->ip, sizeof(a->ip), remote_ip);
	(void)str_copy(a->mech, sizeof(a->mech), mech);
	for (char *p = a->mech; *p != '\0'; p++)
		*p = (char)(*p >= 'a' && *p <= 'z' ? *p - 32 : *p);
	a->callbacks[0] = (sasl_callback_t){SASL_CB_LIST_END, NULL, NULL};
	if (sasl_global.backend == BACKEND_ACCOUNTS) {
		a->callbacks[0] = (sasl_callback_t){
		    SASL_CB_SERVER_USERDB_CHECKPASS,
		    (sasl_cb_proc)(void (*)(void))sasl_auth_checkpass, a};
		a->callbacks[1] = (sasl_callback_t){SASL_CB_LIST_END, NULL, NULL};
	}
	rc = sasl_server_new(service, NULL, NULL, NULL, NULL, a->callbacks, 0, &a->conn);
	if (rc != SASL_OK) {
		log_error("sasl: cannot start an exchange: %s", sasl_errstring(rc, NULL, NULL));
		free(a);
		return NULL;
	}
	uv_timer_init(w->loop, &a->timer);
	a->timer.data = a;
	return a;
}

void sasl_auth_free(struct sasl_auth *a)
{
	if (a == NULL)
		return;
	a->owner_gone = true;
	if (a->ipc_pending) {
		ipc_link_cancel(a->link, a);
		a->ipc_pending = false;
	}
	explicit_bzero(a->cred_pass, sizeof(a->cred_pass));
	uv_close((uv_handle_t *)&a->timer, sasl_auth_timer_closed);
}

/* ----- results ----- */

static void sasl_auth_deliver(uv_timer_t *t)
{
	struct sasl_auth *a = t->data;
	sasl_auth_cb *cb = a->cb;

	a->cb = NULL;
	if (a->owner_gone || cb == NULL)
		return;
	cb(a->arg, a->status, a->status == SASL_AUTH_CONTINUE ? a->out : NULL,
	   a->status == SASL_AUTH_CONTINUE ? a->outlen : 0,
	   a->status == SASL_AUTH_OK ? a->user : NULL);
}

/* Hand the result to the caller from the loop, after delay_ms. */
static void sasl_auth_finish(struct sasl_auth *a, enum sasl_auth_status status, uint64_t delay_ms)
{
	a->status = status;
	if (status != SASL_AUTH_CONTINUE)
		a->finished = true;
	explicit_bzero(a->cred_pass, sizeof(a->cred_pass));
	uv_timer_start(&a->timer, sasl_auth_deliver, delay_ms, 0);
}

static void sasl_auth_verified(const struct ipc_frame *frame, int fd, void *ctx)
{
	struct sasl_auth *a = ctx;
	struct ipc_rbuf r;
	uint8_t result = IPC_VERIFY_TEMPFAIL;
	uint32_t delay = 0;

	if (fd >= 0)
		close(fd);
	a->ipc_pending = false;
	if (a->owner_gone) {
		sasl_auth_maybe_destroy(a);
		return;
	}
	if (frame != NULL) {
		ipc_rbuf_init(&r, frame->payload, frame->len);
		result = ipc_get_u8(&r);
		ipc_get_str(&r, a->user, sizeof(a->user));
		delay = ipc_get_u32(&r);
		if (ipc_rbuf_end(&r) < 0)
			result = IPC_VERIFY_TEMPFAIL;
	}
	switch (result) {
	case IPC_VERIFY_OK:
		sasl_auth_finish(a, SASL_AUTH_OK, 0);
		break;
	case IPC_VERIFY_FAIL:
		sasl_auth_finish(a, SASL_AUTH_FAIL, delay);
		break;
	case IPC_VERIFY_LOCKED:
		sasl_auth_finish(a, SASL_AUTH_LOCKED, 0);
		break;
	default:
		sasl_auth_finish(a, SASL_AUTH_TEMPFAIL, 0);
	}
}

/* The mechanism is complete: ask the accounts worker about the credentials it produced. */
static void sasl_auth_ask_accounts(struct sasl_auth *a)
{
	struct ipc_link *link = a->w->peers[ROLE_ACCOUNTS];
	struct ipc_wbuf b;
	int rc;

	if (!a->have_creds) {
		/* Cyrus completed without a password check: not a mechanism we offer. */
		sasl_auth_finish(a, SASL_AUTH_TEMPFAIL, 0);
		return;
	}
	if (link == NULL || !ipc_link_is_open(link)) {
		sasl_auth_finish(a, SASL_AUTH_TEMPFAIL, 0);
		return;
	}
	ipc_wbuf_init(&b);
	/* An over-long user or a password with NUL in it still costs a full check. */
	ipc_put_str(&b, a->creds_bad ? "" : a->cred_user);
	ipc_put_str(&b, a->creds_bad ? "" : a->cred_pass);
	ipc_put_str(&b, a->service);
	ipc_put_str(&b, a->ip);
	rc = ipc_link_request(link, IPC_ACCT_VERIFY, &b, -1, sasl_auth_verified, a);
	explicit_bzero(b.data, b.len);
	ipc_wbuf_free(&b);
	explicit_bzero(a->cred_pass, sizeof(a->cred_pass));
	if (rc < 0) {
		sasl_auth_finish(a, SASL_AUTH_TEMPFAIL, 0);
		return;
	}
	a->link = link;
	a->ipc_pending = true;
}

/* One call into Cyrus SASL; the outcome lands in a->sasl_rc and a->out. */
static void sasl_auth_run_step(struct sasl_auth *a)
{
	const char *out = NULL;
	unsigned outlen = 0;
	unsigned inlen = (unsigned)a->inlen;

	if (!a->started) {
		a->started = true;
		a->sasl_rc = sasl_server_start(a->conn, a->mech, a->in, inlen, &out, &outlen);
	} else {
		a->sasl_rc = sasl_server_step(a->conn, a->in, inlen, &out, &outlen);
	}
	a->outlen = 0;
	if (a->sasl_rc == SASL_CONTINUE) {
		if (outlen > sizeof(a->out))
			a->sasl_rc = SASL_FAIL;
		else if (out != NULL) {
			memcpy(a->out, out, outlen);
			a->outlen = outlen;
		}
	}
	if (a->sasl_rc == SASL_OK) {
		const void *name = NULL;

		if (sasl_getprop(a->conn, SASL_USERNAME, &name) != SASL_OK || name == NULL ||
		    str_copy(a->user, sizeof(a->user), name) < 0)
			a->sasl_rc = SASL_FAIL;
	}
}

/* What a Cyrus SASL result means for the client. */
static enum sasl_auth_status sasl_auth_status_of(int rc)
{
	switch (rc) {
	case SASL_BADPROT:
	case SASL_BADPARAM:
	case SASL_BADMAC:
		return SASL_AUTH_MALFORMED;
	case SASL_BADAUTH:
	case SASL_NOUSER:
	case SASL_NOAUTHZ:
	case SASL_EXPIRED:
	case SASL_DISABLED:
	case SASL_NOVERIFY:
		return SASL_AUTH_FAIL;
	default:
		return SASL_AUTH_TEMPFAIL;
	}
}

static void sasl_auth_saslauthd_work(uv_work_t *work)
{
	sasl_auth_run_step(work->data);
}

static void sasl_auth_saslauthd_done(uv_work_t *work, int status)
{
	struct sasl_auth *a = work->data;
	uint64_t now = uv_now(a->w->loop);
	enum sasl_auth_status st;

	a->work_pending = false;
	free(a->in_copy);
	a->in_copy = NULL;
	if (a->owner_gone) {
		sasl_auth_maybe_destroy(a);
		return;
	}
	if (status != 0)
		a->sasl_rc = SASL_FAIL;
	if (a->sasl_rc == SASL_CONTINUE) {
		sasl_auth_finish(a, SASL_AUTH_CONTINUE, 0);
		return;
	}
	if (a->sasl_rc == SASL_OK) {
		auth_penalty_succeeded(sasl_global.penalty, a->ip);
		sasl_auth_finish(a, SASL_AUTH_OK, 0);
		return;
	}
	st = sasl_auth_status_of(a->sasl_rc);
	if (st == SASL_AUTH_FAIL)
		sasl_auth_finish(a, st, auth_penalty_failed(sasl_global.penalty, a->ip, now));
	else
		sasl_auth_finish(a, st, 0);
}

int sasl_auth_step(struct sasl_auth *a, const char *in, size_t inlen, sasl_auth_cb *cb, void *arg)
{
	if (a->finished || a->cb != NULL || a->ipc_pending || a->work_pending ||
	    inlen > 64 * 1024)
		return -1;
	a->cb = cb;
	a->arg = arg;
	if (sasl_global.backend == BACKEND_SASLAUTHD) {
		if (!a->started && auth_penalty_locked(sasl_global.penalty, a->ip,
						       uv_now(a->w->loop))) {
			sasl_auth_finish(a, SASL_AUTH_LOCKED, 0);
			return 0;
		}
		a->in_copy = in != NULL ? malloc(inlen + 1) : NULL;
		if (in != NULL && a->in_copy == NULL) {
			sasl_auth_finish(a, SASL_AUTH_TEMPFAIL, 0);
			return 0;
		}
		if (in != NULL)
			memcpy(a->in_copy, in, inlen);
		a->in = a->in_copy;
		a->inlen = inlen;
		a->work.data = a;
		a->work_pending = true;
		if (uv_queue_work(a->w->loop, &a->work, sasl_auth_saslauthd_work,
				  sasl_auth_saslauthd_done) != 0) {
			a->work_pending = false;
			sasl_auth_finish(a, SASL_AUTH_TEMPFAIL, 0);
		}
		return 0;
	}
	a->in = in;
	a->inlen = inlen;
	sasl_auth_run_step(a);
	a->in = NULL;
	if (a->sasl_rc == SASL_CONTINUE)
		sasl_auth_finish(a, SASL_AUTH_CONTINUE, 0);
	else if (a->sasl_rc == SASL_OK)
		sasl_auth_ask_accounts(a);
	else {
		/* Malformed input, or an identity Cyrus SASL refused (authzid); never a password:
		   our checkpass does not refuse. */
		log_debug("sasl: %s exchange ended: %s", a->mech,
			  sasl_errstring(a->sasl_rc, NULL, NULL));
		/* Past the password, only the identity can have been refused (RFC 4616: an
		   authorization identity other than the user's). */
		sasl_auth_finish(a, a->have_creds ? SASL_AUTH_FAIL
						  : sasl_auth_status_of(a->sasl_rc), 0);
	}
	return 0;
}
