/* FETCH and UID FETCH (RFC 9051 6.4.5, 6.4.9; RFC 3516; RFC 7162 CHANGEDSINCE and VANISHED).
   The responses are produced in batches (imap_fetch_run.c) — on the thread pool when they need
   the disk, on the loop when the folder's memory suffices — and written while the connection's
   queue is under IMAP_FETCH_MARK; the rest goes out from on_drain, so a client that reads
   slowly, or not at all, never makes the session hold more than about two batches. */
#include <stdlib.h>
#include <string.h>

#include "../core/log.h"
#include "imap_commands.h"
#include "imap_fetch_run.h"
#include "imap_mailbox.h"
#include "imap_seqset.h"

/* Write more only while less than this waits in the connection's queue. */
#define IMAP_FETCH_MARK (256u * 1024u)
/* A VANISHED (EARLIER) line is cut after this many octets and another one started. */
#define IMAP_FETCH_VANISHED_LINE (64u * 1024u)
/* How often FETCHes whose session went away meanwhile are looked for (ms). */
#define IMAP_FETCH_SWEEP_MS 1000u

struct imap_fetch_ctx {
	struct imap_fetch_ctx *next; /* imap_fetch_live */
	struct imap_server *srv;
	struct imap_session *s; /* compared, never followed, once the session may be gone */
	struct imap_fetch_run *run;
	bool uid;
	bool memory; /* batches from the folder's memory, on the loop */
	bool in_job; /* a pool thread is producing a batch */
};

/*
 * A session whose client stops reading waits for on_drain; if the connection then closes, the
 * session is freed without a word to its command (imap_session.c has no hook for that), so the
 * FETCHes waiting for output are listed here and a timer frees those whose session is no longer
 * among the server's sessions. A FETCH whose pool job is under way is freed by the job's
 * cancel callback instead.
 */
static struct imap_fetch_ctx *imap_fetch_live;
static uv_timer_t imap_fetch_sweep_timer;
static bool imap_fetch_sweep_ready;

static void imap_fetch_ctx_free(struct imap_fetch_ctx *ctx)
{
	for (struct imap_fetch_ctx **p = &imap_fetch_live; *p != NULL; p = &(*p)->next) {
		if (*p == ctx) {
			*p = ctx->next;
			break;
		}
	}
	imap_fetch_run_free(&ctx->run);
	free(ctx);
	if (imap_fetch_live == NULL && imap_fetch_sweep_ready)
		uv_timer_stop(&imap_fetch_sweep_timer);
}

static bool imap_fetch_alive(const struct imap_fetch_ctx *ctx)
{
	for (struct imap_session *o = ctx->srv->sessions; o != NULL; o = o->next)
		if (o == ctx->s)
			return o->cmd_ctx == ctx;
	return false;
}

static void imap_fetch_sweep(uv_timer_t *t)
{
	struct imap_fetch_ctx *ctx = imap_fetch_live, *next;

	(void)t;
	for (; ctx != NULL; ctx = next) {
		next = ctx->next;
		if (!ctx->in_job && !imap_fetch_alive(ctx))
			imap_fetch_ctx_free(ctx);
	}
}

static void imap_fetch_register(struct imap_fetch_ctx *ctx)
{
	if (!imap_fetch_sweep_ready) {
		uv_timer_init(ctx->srv->w->loop, &imap_fetch_sweep_timer);
		uv_unref((uv_handle_t *)&imap_fetch_sweep_timer);
		imap_fetch_sweep_ready = true;
	}
	ctx->next = imap_fetch_live;
	imap_fetch_live = ctx;
	if (!uv_is_active((uv_handle_t *)&imap_fetch_sweep_timer))
		uv_timer_start(&imap_fetch_sweep_timer, imap_fetch_sweep, IMAP_FETCH_SWEEP_MS,
		               IMAP_FETCH_SWEEP_MS);
}

/* ----- the end ----- */

static void imap_fetch_finish(struct imap_session *s, struct imap_fetch_ctx *ctx)
{
	struct imap_fetch_run *run = ctx->run;
	bool uid = ctx->uid, seen = run->seen_set;
	bool unknown_cte = run->unknown_cte, failed = run->failed, expunged = run->expunged;

	if (failed)
		log_error("imap(%s): fetch in %s failed: %s", s->user, s->sel->name.name,
		          run->error);
	s->on_drain = NULL;
	imap_fetch_ctx_free(ctx);
	if (!unknown_cte && !failed && !expunged) {
		imap_mailbox_done(s, uid, "Fetch completed.");
		return;
	}
	if (seen)
		imap_mailbox_tell_others(s);
	if (unknown_cte)
		imap_tagged(s, IMAP_NO, "[UNKNOWN-CTE] Unknown Content-Transfer-Encoding.");
	else if (failed)
		imap_tagged(s, IMAP_NO,
		            "[SERVERBUG] Some messages could not be read; see the server "
		            "log.");
	else
		imap_tagged(s, IMAP_NO,
		            "[EXPUNGEISSUED] Some of the requested messages no longer exist.");
}

/* ----- producing and writing ----- */

static void imap_fetch_pump(struct imap_session *s);

static void imap_fetch_work(void *arg)
{
	struct imap_fetch_ctx *ctx = arg;

	imap_fetch_run_batch(ctx->run, IMAP_FETCH_BATCH_BYTES);
}

static void imap_fetch_after(struct imap_session *s, void *arg)
{
	struct imap_fetch_ctx *ctx = arg;

	ctx->in_job = false;
	imap_fetch_pump(s);
}

static void imap_fetch_cancel(void *arg)
{
	imap_fetch_ctx_free(arg);
}

static void imap_fetch_drain(struct imap_session *s)
{
	imap_session_arm_timeout(s); /* the client is reading: not idle */
	imap_fetch_pump(s);
}

/* Write what is produced while the queue allows, produce the next batch, or finish. */
static void imap_fetch_pump(struct imap_session *s)
{
	struct imap_fetch_ctx *ctx = s->cmd_ctx;
	struct imap_fetch_run *run;

	s->on_drain = NULL;
	if (ctx == NULL || ctx->in_job)
		return;
	run = ctx->run;
	for (;;) {
		if (!conn_is_open(s->conn))
			return; /* the close frees the session; the sweep frees ctx */
		if (run->out.len > 0) {
			if (conn_output_pending(s->conn) >= IMAP_FETCH_MARK) {
				s->on_drain = imap_fetch_drain;
				return;
			}
			imap_write(s, run->out.p, run->out.len);
			mime_buf_truncate(&run->out, 0);
			continue;
		}
		if (run->done) {
			imap_fetch_finish(s, ctx);
			return;
		}
		if (ctx->memory) {
			imap_fetch_run_batch(run, IMAP_FETCH_BATCH_BYTES);
			continue;
		}
		ctx->in_job = true;
		if (imap_job_run(s, imap_fetch_work, imap_fetch_after, imap_fetch_cancel, ctx) < 0)
			fatal("imap fetch: a job is already under way");
		return;
	}
}

/* ----- the command ----- */

static void imap_fetch_vanished_flush(struct imap_session *s, struct mime_buf *b, size_t start,
                                      bool force)
{
	if (b->len == start || (!force && b->len < IMAP_FETCH_VANISHED_LINE))
		return;
	mime_buf_append_str(b, "\r\n");
	imap_write(s, b->p, b->len);
	mime_buf_truncate(b, start);
}

/* "lo:hi", or "lo" alone, after a comma unless it is the first since start. */
static void imap_vanished_range(struct mime_buf *b, size_t start, uint32_t lo, uint32_t hi)
{
	if (b->len > start)
		mime_buf_append_c(b, ',');
	mime_buf_append_uint(b, lo);
	if (hi != lo) {
		mime_buf_append_c(b, ':');
		mime_buf_append_uint(b, hi);
	}
}

/* RFC 7162 3.2.6: UIDs of the set that are no longer in the folder, up to the last UID ever
   given. Without an expunge log every such UID is reported, which 3.2.6 allows. */
static void imap_fetch_vanished(struct imap_session *s, const struct imap_arg *set_arg)
{
	struct mbox *mb = s->sel->mb;
	uint32_t count = mbox_count(mb), top = mbox_uidnext(mb) - 1;
	struct mime_buf b = MIME_BUF_INIT;
	struct imap_seqset *set;
	const char *error;
	size_t start;

	if (imap_seqset_parse(set_arg->str, set_arg->len, IMAP_SEQSET_RANGES_MAX, &set, &error) < 0)
		return; /* imap_mailbox_set() accepted it: cannot happen */
	if (set->dollar)
		imap_seqset_assign(set, s->sel->saved);
	imap_seqset_resolve(set, count > 0 ? mbox_uid(mb, count) : 0);
	mime_buf_append_str(&b, "* VANISHED (EARLIER) ");
	start = b.len;
	for (size_t i = 0; i < set->count && set->ranges[i].lo <= top; i++) {
		uint32_t lo = set->ranges[i].lo,
		         hi = set->ranges[i].hi < top ? set->ranges[i].hi : top;
		uint32_t first, last, next = lo;

		if (mbox_seq_range(mb, lo, hi, &first, &last) == 1) {
			for (uint32_t seq = first; seq <= last; seq++) {
				uint32_t u = mbox_uid(mb, seq);

				if (u > next)
					imap_vanished_range(&b, start, next, u - 1);
				next = u + 1;
				imap_fetch_vanished_flush(s, &b, start, false);
			}
		}
		if (next <= hi && next != 0)
			imap_vanished_range(&b, start, next, hi);
		imap_fetch_vanished_flush(s, &b, start, false);
	}
	imap_fetch_vanished_flush(s, &b, start, true);
	mime_buf_free(&b);
	imap_seqset_free(&set);
}

static void imap_fetch_common(struct imap_session *s, const struct imap_command *cmd, bool uid)
{
	struct imap_fetch_plan plan;
	struct imap_fetch_ctx *ctx;
	struct imap_fetch_run *run;
	const char *error;
	uint32_t *uids;
	size_t n;

	if (cmd->arg_count < 2) {
		imap_tagged(s, IMAP_BAD, "FETCH needs a message set and data items.");
		return;
	}
	if (imap_fetch_plan_parse(cmd->args->next, uid, &plan, &error) < 0) {
		imap_fetch_plan_free(&plan);
		imap_tagged(s, IMAP_BAD, "%s", error);
		return;
	}
	if (plan.vanished && (s->enabled & IMAP_ENABLED_QRESYNC) == 0) {
		imap_fetch_plan_free(&plan);
		imap_tagged(s, IMAP_BAD, "VANISHED needs ENABLE QRESYNC first.");
		return;
	}
	if (imap_mailbox_set(s, cmd->args, uid, &uids, &n) < 0) {
		imap_fetch_plan_free(&plan);
		return;
	}
	if (plan.attrs & IMAP_FETCH_MODSEQ)
		s->sel->condstore = true; /* RFC 7162 3.1: the client is CONDSTORE-aware now */
	run = calloc(1, sizeof(*run));
	ctx = calloc(1, sizeof(*ctx));
	if (run == NULL || ctx == NULL)
		fatal("out of memory");
	*run = (struct imap_fetch_run){.mb = s->sel->mb,
	                               .plan = plan,
	                               .uids = uids,
	                               .n = n,
	                               .readonly = s->sel->readonly,
	                               .condstore = s->sel->condstore};
	run->done = n == 0;
	*ctx = (struct imap_fetch_ctx){.srv = s->srv,
	                               .s = s,
	                               .run = run,
	                               .uid = uid,
	                               .memory = imap_fetch_run_memory_only(run)};
	imap_fetch_register(ctx);
	s->cmd_ctx = ctx;
	imap_session_wait(s);
	if (plan.vanished)
		imap_fetch_vanished(s, cmd->args);
	imap_fetch_pump(s);
}

void imap_cmd_fetch(struct imap_session *s, const struct imap_command *cmd)
{
	imap_fetch_common(s, cmd, false);
}

void imap_cmd_uid_fetch(struct imap_session *s, const struct imap_command *cmd)
{
	imap_fetch_common(s, cmd, true);
}
