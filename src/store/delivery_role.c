/* The delivery role (maild/local): stores messages from smtp and queue in local Maildirs
   (delivery_exec.c on the thread pool), answers RCPT-time quota checks, and tells imap where
   new mail arrived. */
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../core/ipc_msg.h"
#include "../core/log.h"
#include "../core/strutil.h"
#include "../core/worker.h"
#include "delivery_exec.h"
#include "maildir_quota.h"

/* The wire and the library must agree on every size and status value. */
_Static_assert(IPC_DELIVER_RCPT_MAX == DELIVERY_RCPT_MAX, "recipient limit");
_Static_assert(IPC_DELIVER_ADDRESS_MAX == DELIVERY_ADDRESS_MAX, "address size");
_Static_assert(IPC_DELIVER_FOLDER_MAX == DELIVERY_FOLDER_MAX, "folder size");
_Static_assert(IPC_DELIVER_DSN_MAX == DELIVERY_DSN_MAX, "dsn size");
_Static_assert(IPC_DELIVER_TEXT_MAX == DELIVERY_TEXT_MAX, "text size");
_Static_assert((int)IPC_DELIVER_OK == (int)DELIVERY_OK &&
		       (int)IPC_DELIVER_TEMPFAIL == (int)DELIVERY_TEMPFAIL &&
		       (int)IPC_DELIVER_PERMFAIL == (int)DELIVERY_PERMFAIL,
	       "status values");
_Static_assert((int)IPC_QUOTA_ACCEPT == (int)DELIVERY_QUOTA_ACCEPT &&
		       (int)IPC_QUOTA_OVER == (int)DELIVERY_QUOTA_OVER &&
		       (int)IPC_QUOTA_TEMPFAIL == (int)DELIVERY_QUOTA_TEMPFAIL,
	       "quota verdicts");

struct delivery_state {
	struct worker *w;
	char hostname[256];
	uint64_t max_size;
	bool stopping;
	unsigned int in_flight; /* thread-pool jobs not yet answered */
};

/* Who asked, so the answer goes to the same link generation (accounts_role.c). */
struct delivery_asker {
	int from;
	uint32_t gen;
	uint16_t type;
	uint32_t id;
};

struct deliver_job_rcpt {
	char *address;
	char *orig_to;
	char *maildir;
	char *folder;
	uint64_t quota;
};

/* One IPC_DELIVER, carried to the thread pool and back. Owns the spool fd. */
struct deliver_job {
	uv_work_t work;
	struct delivery_state *st;
	struct delivery_asker asker;
	int spool_fd;
	char queue_id[IPC_DELIVER_QUEUE_ID_MAX];
	char sender[IPC_DELIVER_ADDRESS_MAX];
	int64_t arrival_ms, received_ms, started_ms, done_ms;
	uint32_t count;
	struct deliver_job_rcpt *rcpts;
	struct delivery_rcpt *exec_rcpts;
	struct delivery_result *results;
};

/* One IPC_QUOTA_CHECK. */
struct quota_job {
	uv_work_t work;
	struct delivery_state *st;
	struct delivery_asker asker;
	char maildir[PATH_MAX];
	uint64_t quota, size, usage;
	enum delivery_quota_verdict verdict;
	const char *error;
};

static int64_t delivery_now_ms(void)
{
	struct timespec ts;

	(void)clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void *delivery_calloc(size_t n, size_t size)
{
	void *p = calloc(n, size);

	if (p == NULL)
		fatal("out of memory");
	return p;
}

static struct delivery_asker delivery_asker_of(struct worker *w, int from,
					       const struct ipc_frame *frame)
{
	struct delivery_asker a = { from, w->peer_gen[from], frame->type, frame->id };

	return a;
}

static void delivery_answer(struct worker *w, const struct delivery_asker *a,
			    const struct ipc_wbuf *b)
{
	/* The asker may have restarted meanwhile: its new link must not get an old answer. */
	if (w->peer_gen[a->from] == a->gen && ipc_link_is_open(w->peers[a->from]))
		ipc_link_send(w->peers[a->from], (uint16_t)(a->type | IPC_REPLY), a->id, b, -1);
}

/* After SIGTERM: exit once every job in flight has been answered. */
static void delivery_exit_if_idle(const struct delivery_state *st)
{
	if (st->stopping && st->in_flight == 0)
		exit(0);
}

/* ----- IPC_DELIVER ----- */

static void deliver_job_free(struct deliver_job **jp)
{
	struct deliver_job *job = *jp;

	if (job == NULL)
		return;
	if (job->spool_fd >= 0)
		(void)close(job->spool_fd);
	for (uint32_t i = 0; job->rcpts != NULL && i < job->count; i++) {
		free(job->rcpts[i].address);
		free(job->rcpts[i].orig_to);
		free(job->rcpts[i].maildir);
		free(job->rcpts[i].folder);
	}
	free(job->rcpts);
	free(job->exec_rcpts);
	free(job->results);
	free(job);
	*jp = NULL;
}

/* A string of fewer than size bytes (size <= PATH_MAX), copied to the heap; NULL when the
   reader failed (the caller checks ipc_rbuf_end). */
static char *deliver_get_str(struct ipc_rbuf *r, size_t size)
{
	char buf[PATH_MAX];
	char *s;

	if (ipc_get_str(r, buf, size) < 0)
		return NULL;
	s = strdup(buf);
	if (s == NULL)
		fatal("out of memory");
	return s;
}

static void deliver_decode_rcpt(struct ipc_rbuf *r, struct deliver_job_rcpt *rc)
{
	rc->address = deliver_get_str(r, IPC_DELIVER_ADDRESS_MAX);
	rc->orig_to = deliver_get_str(r, IPC_DELIVER_ADDRESS_MAX);
	rc->maildir = deliver_get_str(r, PATH_MAX);
	rc->quota = ipc_get_u64(r);
	rc->folder = deliver_get_str(r, IPC_DELIVER_FOLDER_MAX);
}

/* 0 when the whole payload is a valid request. Otherwise -1 with job->count the number of
   recipients to fail: what the request says when that much could be read, else 0. */
static int deliver_decode(struct deliver_job *job, const struct ipc_frame *frame)
{
	struct ipc_rbuf r;
	uint32_t n;

	ipc_rbuf_init(&r, frame->payload, frame->len);
	ipc_get_str(&r, job->queue_id, sizeof(job->queue_id));
	ipc_get_str(&r, job->sender, sizeof(job->sender));
	job->arrival_ms = ipc_get_i64(&r);
	n = ipc_get_u32(&r);
	if (r.failed || n == 0 || n > IPC_DELIVER_RCPT_MAX)
		return -1;
	job->count = n;
	job->rcpts = delivery_calloc(n, sizeof(*job->rcpts));
	job->results = delivery_calloc(n, sizeof(*job->results));
	for (uint32_t i = 0; i < n && !r.failed; i++)
		deliver_decode_rcpt(&r, &job->rcpts[i]);
	return ipc_rbuf_end(&r);
}

static void deliver_reply(struct deliver_job *job)
{
	struct ipc_wbuf b;

	ipc_wbuf_init(&b);
	ipc_put_u32(&b, job->count);
	for (uint32_t i = 0; i < job->count; i++) {
		ipc_put_u8(&b, (uint8_t)job->results[i].status);
		ipc_put_str(&b, job->results[i].dsn);
		ipc_put_str(&b, job->results[i].text);
	}
	delivery_answer(job->st->w, &job->asker, &b);
	ipc_wbuf_free(&b);
}

/* Answer at once, every recipient failed temporarily: smtp keeps the message (4xx). */
static void deliver_refuse(struct deliver_job *job, const char *dsn, const char *text)
{
	for (uint32_t i = 0; i < job->count; i++) {
		job->results[i].status = DELIVERY_TEMPFAIL;
		(void)str_copy(job->results[i].dsn, sizeof(job->results[i].dsn), dsn);
		(void)str_copy(job->results[i].text, sizeof(job->results[i].text), text);
	}
	deliver_reply(job);
	deliver_job_free(&job);
}

/* Postfix's delay format: "0" below 10 ms, two digits below 10 s, whole seconds above. */
static const char *deliver_fmt_delay(int64_t ms, char *buf, size_t size)
{
	if (ms < 10)
		(void)str_copy(buf, size, "0");
	else if (ms < 1000)
		(void)str_printf(buf, size, "0.%02d", (int)(ms / 10));
	else if (ms < 10000)
		(void)str_printf(buf, size, "%d.%d", (int)(ms / 1000), (int)(ms % 1000 / 100));
	else
		(void)str_printf(buf, size, "%lld", (long long)(ms / 1000));
	return buf;
}

static const char *deliver_status_word(enum delivery_status status)
{
	switch (status) {
	case DELIVERY_OK:
		return "sent";
	case DELIVERY_TEMPFAIL:
		return "deferred";
	case DELIVERY_PERMFAIL:
		return "bounced";
	}
	return "deferred";
}

/* delays=a/b/c/d as Postfix splits them: before delivery got the message, waiting for a
   thread, connection set-up (none for a local Maildir), the delivery itself. */
static void deliver_fmt_delays(const struct deliver_job *job, char *buf, size_t size)
{
	int64_t a = job->received_ms - job->arrival_ms, b = job->started_ms - job->received_ms;
	int64_t d = job->done_ms - job->started_ms;
	char sa[16], sb[16], sd[16];

	(void)str_printf(buf, size, "%s/%s/0/%s", deliver_fmt_delay(a, sa, sizeof(sa)),
			 deliver_fmt_delay(b, sb, sizeof(sb)),
			 deliver_fmt_delay(d, sd, sizeof(sd)));
}

/* Postfix-shaped (CONVENTIONS.md), orig_to only when it differs, as Postfix does. */
static void deliver_log_rcpt(const struct deliver_job *job, uint32_t i, const char *delay,
			     const char *delays)
{
	const struct deliver_job_rcpt *rc = &job->rcpts[i];
	const struct delivery_result *res = &job->results[i];
	char qid[128], to[512], orig[512], text[512];
	bool same = strcmp(rc->address, rc->orig_to) == 0;

	log_esc_buf(job->queue_id, strlen(job->queue_id), qid, sizeof(qid));
	log_esc_buf(rc->address, strlen(rc->address), to, sizeof(to));
	log_esc_buf(rc->orig_to, strlen(rc->orig_to), orig, sizeof(orig));
	log_esc_buf(res->text, strlen(res->text), text, sizeof(text));
	log_info("%s: to=<%s>%s%s%s, relay=local, delay=%s, delays=%s, dsn=%s, status=%s (%s)",
		 qid, to, same ? "" : ", orig_to=<", same ? "" : orig, same ? "" : ">", delay,
		 delays, res->dsn, deliver_status_word(res->status), text);
	if (res->warning[0] != '\0')
		log_warning("%s: to=<%s>: %s", qid, to, log_esc(res->warning));
	if (res->quota_warned)
		log_notice("%s: to=<%s>: mailbox reached %u%% of its quota; warning delivered", qid,
			   to, MAILDIR_QUOTA_WARN_PERCENT);
}

static void deliver_log(const struct deliver_job *job)
{
	char delay[16], delays[64];

	deliver_fmt_delay(job->done_ms - job->arrival_ms, delay, sizeof(delay));
	deliver_fmt_delays(job, delays, sizeof(delays));
	for (uint32_t i = 0; i < job->count; i++)
		deliver_log_rcpt(job, i, delay, delays);
}

/* imap learns where new mail is (IDLE); a duplicate shares its first recipient's file. */
static void deliver_notify_imap(const struct deliver_job *job)
{
	struct ipc_link *imap = job->st->w->peers[ROLE_IMAP];

	for (uint32_t i = 0; i < job->count && ipc_link_is_open(imap); i++) {
		struct ipc_wbuf b;

		if (job->results[i].status != DELIVERY_OK || job->results[i].duplicate)
			continue;
		ipc_wbuf_init(&b);
		ipc_put_str(&b, job->rcpts[i].maildir);
		ipc_put_str(&b, job->results[i].folder);
		ipc_link_send(imap, IPC_MAILBOX_CHANGED, 0, &b, -1);
		ipc_wbuf_free(&b);
	}
}

static void deliver_work(uv_work_t *work)
{
	struct deliver_job *job = work->data;
	struct delivery_request req = {
		.sender = job->sender,
		.rcpts = job->exec_rcpts,
		.count = job->count,
		.strategy = MAILDIR_STRATEGY_LINK,
		.hostname = job->st->hostname,
		.max_size = job->st->max_size,
	};

	job->started_ms = delivery_now_ms();
	if (delivery_exec(job->spool_fd, &req, job->results) < 0)
		fatal("delivery_exec refused a checked request");
	job->done_ms = delivery_now_ms();
}

static void deliver_done(uv_work_t *work, int status)
{
	struct deliver_job *job = work->data;
	struct delivery_state *st = job->st;

	if (status != 0)
		fatal("delivery job cancelled");
	deliver_log(job);
	deliver_notify_imap(job);
	deliver_reply(job);
	deliver_job_free(&job);
	st->in_flight--;
	delivery_exit_if_idle(st);
}

static void deliver_start(struct deliver_job *job)
{
	job->exec_rcpts = delivery_calloc(job->count, sizeof(*job->exec_rcpts));
	for (uint32_t i = 0; i < job->count; i++) {
		job->exec_rcpts[i].address = job->rcpts[i].address;
		job->exec_rcpts[i].maildir = job->rcpts[i].maildir;
		job->exec_rcpts[i].quota_bytes = job->rcpts[i].quota;
		job->exec_rcpts[i].folder = job->rcpts[i].folder;
	}
	job->work.data = job;
	job->st->in_flight++;
	if (uv_queue_work(job->st->w->loop, &job->work, deliver_work, deliver_done) != 0)
		fatal("uv_queue_work failed");
}

static void delivery_on_deliver(struct delivery_state *st, int from,
				const struct ipc_frame *frame, int fd)
{
	struct deliver_job *job = delivery_calloc(1, sizeof(*job));

	job->st = st;
	job->asker = delivery_asker_of(st->w, from, frame);
	job->spool_fd = fd;
	job->received_ms = delivery_now_ms();
	if (deliver_decode(job, frame) < 0) {
		log_error("malformed delivery request from %s: every recipient deferred",
			  role_name(from));
		deliver_refuse(job, "4.3.0", "malformed delivery request");
	} else if (fd < 0) {
		log_error("%s: delivery request from %s without a message file: every recipient "
			  "deferred", log_esc(job->queue_id), role_name(from));
		deliver_refuse(job, "4.3.0", "no message file");
	} else if (st->stopping) {
		deliver_refuse(job, "4.3.2", "delivery is shutting down");
	} else {
		deliver_start(job);
	}
}

/* ----- IPC_QUOTA_CHECK ----- */

static void quota_reply(struct quota_job *job)
{
	struct ipc_wbuf b;

	ipc_wbuf_init(&b);
	ipc_put_u8(&b, (uint8_t)job->verdict);
	ipc_put_u64(&b, job->usage);
	delivery_answer(job->st->w, &job->asker, &b);
	ipc_wbuf_free(&b);
}

static void quota_work(uv_work_t *work)
{
	struct quota_job *job = work->data;

	job->verdict = delivery_quota_check(job->maildir, job->quota, job->size, &job->usage,
					    &job->error);
}

static void quota_done(uv_work_t *work, int status)
{
	struct quota_job *job = work->data;
	struct delivery_state *st = job->st;

	if (status != 0)
		fatal("quota job cancelled");
	if (job->verdict == DELIVERY_QUOTA_TEMPFAIL)
		log_warning("quota of %s unknown: %s", log_esc(job->maildir), job->error);
	quota_reply(job);
	free(job);
	st->in_flight--;
	delivery_exit_if_idle(st);
}

static void delivery_on_quota(struct delivery_state *st, int from,
			      const struct ipc_frame *frame)
{
	struct quota_job *job = delivery_calloc(1, sizeof(*job));
	struct ipc_rbuf r;

	job->st = st;
	job->asker = delivery_asker_of(st->w, from, frame);
	job->verdict = DELIVERY_QUOTA_TEMPFAIL;
	ipc_rbuf_init(&r, frame->payload, frame->len);
	ipc_get_str(&r, job->maildir, sizeof(job->maildir));
	job->quota = ipc_get_u64(&r);
	job->size = ipc_get_u64(&r);
	if (ipc_rbuf_end(&r) < 0 || job->maildir[0] != '/' || st->stopping) {
		if (!st->stopping)
			log_error("malformed quota check from %s", role_name(from));
		quota_reply(job);
		free(job);
		return;
	}
	job->work.data = job;
	st->in_flight++;
	if (uv_queue_work(st->w->loop, &job->work, quota_work, quota_done) != 0)
		fatal("uv_queue_work failed");
}

/* ----- the role ----- */

static void delivery_on_message(struct worker *w, int from, struct ipc_link *link,
				const struct ipc_frame *frame, int fd)
{
	struct delivery_state *st = w->state;

	(void)link;
	if (from != ROLE_SMTP && from != ROLE_QUEUE) {
		if (from >= 0)
			log_warning("unexpected message type %u from %s", frame->type,
				    role_name(from));
		if (fd >= 0)
			(void)close(fd);
		return;
	}
	switch (frame->type) {
	case IPC_DELIVER:
		delivery_on_deliver(st, from, frame, fd);
		return;
	case IPC_QUOTA_CHECK:
		delivery_on_quota(st, from, frame);
		break;
	default:
		log_warning("unexpected message type %u from %s", frame->type, role_name(from));
	}
	if (fd >= 0)
		(void)close(fd);
}

static void delivery_stop(struct worker *w)
{
	struct delivery_state *st = w->state;

	st->stopping = true;
	delivery_exit_if_idle(st);
}

#ifndef DELIVERY_THREADS
#define DELIVERY_THREADS "16"
#endif

static int delivery_start(struct worker *w, const char **error_r)
{
	static struct delivery_state st;
	const char *host = config_str(w->config, "hostname");

	st.w = w;
	st.max_size = config_uint(w->config, "limits.message_size");
	/* Deliveries wait on fsync, not on the CPU: more of them in flight lets the file system
	   commit several in one journal transaction. libuv reads this at its first queued job. */
	setenv("UV_THREADPOOL_SIZE", DELIVERY_THREADS, 1);
	if (host[0] != '\0') {
		if (str_copy(st.hostname, sizeof(st.hostname), host) < 0) {
			*error_r = "hostname too long";
			return -1;
		}
	} else if (gethostname(st.hostname, sizeof(st.hostname) - 1) < 0) {
		(void)str_copy(st.hostname, sizeof(st.hostname), "localhost");
	}
	w->state = &st;
	return 0;
}

const struct role_ops delivery_role_ops = {
	.start = delivery_start,
	.on_message = delivery_on_message,
	.stop = delivery_stop,
};
