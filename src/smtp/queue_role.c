/* The queue role (maild/qmgr): takes messages for remote recipients from smtp and keeps them
   durably in <state_dir>/queue. Sending them on (scheduler, SMTP client, DSN) is the next
   step of the queue; until then they stay queued, and nothing acknowledged is lost. */
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../core/ipc_msg.h"
#include "../core/log.h"
#include "../core/strutil.h"
#include "../core/worker.h"
#include "queue_store.h"

struct queue_state {
	struct worker *w;
	char dir[PATH_MAX];
	bool stopping;
	unsigned in_flight;
};

struct queue_job_rcpt {
	char address[IPC_DELIVER_ADDRESS_MAX];
	char orig_to[IPC_DELIVER_ADDRESS_MAX];
	char orcpt[IPC_DELIVER_ADDRESS_MAX];
	uint8_t notify;
};

struct queue_job {
	uv_work_t work;
	struct queue_state *st;
	int from;
	uint32_t gen, id;
	uint16_t type;
	int fd;
	char queue_id[IPC_DELIVER_QUEUE_ID_MAX];
	char sender[IPC_DELIVER_ADDRESS_MAX];
	char envid[IPC_DELIVER_ADDRESS_MAX];
	char auth[IPC_DELIVER_ADDRESS_MAX];
	int64_t arrival_ms;
	uint8_t ret;
	uint32_t count;
	struct queue_job_rcpt *rcpts;
	int rc;
	uint64_t size;
	const char *error;
};

static int queue_decode(struct queue_job *job, const struct ipc_frame *frame)
{
	struct ipc_rbuf r;

	ipc_rbuf_init(&r, frame->payload, frame->len);
	ipc_get_str(&r, job->queue_id, sizeof(job->queue_id));
	ipc_get_str(&r, job->sender, sizeof(job->sender));
	job->arrival_ms = ipc_get_i64(&r);
	job->ret = ipc_get_u8(&r);
	ipc_get_str(&r, job->envid, sizeof(job->envid));
	ipc_get_str(&r, job->auth, sizeof(job->auth));
	job->count = ipc_get_u32(&r);
	if (r.failed || job->count == 0 || job->count > IPC_DELIVER_RCPT_MAX)
		return -1;
	job->rcpts = calloc(job->count, sizeof(*job->rcpts));
	if (job->rcpts == NULL)
		fatal("out of memory");
	for (uint32_t i = 0; i < job->count && !r.failed; i++) {
		ipc_get_str(&r, job->rcpts[i].address, sizeof(job->rcpts[i].address));
		ipc_get_str(&r, job->rcpts[i].orig_to, sizeof(job->rcpts[i].orig_to));
		job->rcpts[i].notify = ipc_get_u8(&r);
		ipc_get_str(&r, job->rcpts[i].orcpt, sizeof(job->rcpts[i].orcpt));
	}
	/* The id names files: only what smtp makes (hex) may come in. */
	for (const char *p = job->queue_id; *p != '\0'; p++)
		if (!((*p >= '0' && *p <= '9') || (*p >= 'A' && *p <= 'F')))
			return -1;
	if (job->queue_id[0] == '\0')
		return -1;
	return ipc_rbuf_end(&r);
}

static void queue_work(uv_work_t *work)
{
	struct queue_job *job = work->data;
	struct queue_rcpt *rcpts = calloc(job->count, sizeof(*rcpts));
	struct queue_envelope env = {
		.id = job->queue_id,
		.sender = job->sender,
		.arrival_ms = job->arrival_ms,
		.ret = job->ret,
		.envid = job->envid,
		.auth_user = job->auth,
		.rcpts = rcpts,
		.count = job->count,
	};

	if (rcpts == NULL) {
		job->rc = -1;
		job->error = "out of memory";
		return;
	}
	for (uint32_t i = 0; i < job->count; i++)
		rcpts[i] = (struct queue_rcpt){ job->rcpts[i].address, job->rcpts[i].orig_to,
						job->rcpts[i].notify, job->rcpts[i].orcpt };
	job->rc = queue_store_add(job->st->dir, job->fd, &env, &job->size, &job->error);
	free(rcpts);
}

static void queue_reply(struct queue_job *job, uint8_t status, const char *text)
{
	struct worker *w = job->st->w;
	struct ipc_wbuf b;

	ipc_wbuf_init(&b);
	ipc_put_u8(&b, status);
	ipc_put_str(&b, text);
	if (w->peer_gen[job->from] == job->gen && ipc_link_is_open(w->peers[job->from]))
		ipc_link_send(w->peers[job->from], (uint16_t)(job->type | IPC_REPLY), job->id, &b,
			      -1);
	ipc_wbuf_free(&b);
}

static void queue_job_free(struct queue_job *job)
{
	if (job->fd >= 0)
		close(job->fd);
	free(job->rcpts);
	free(job);
}

static void queue_done(uv_work_t *work, int status)
{
	struct queue_job *job = work->data;
	struct queue_state *st = job->st;

	if (status != 0 || job->rc < 0) {
		log_error("%s: cannot queue: %s", job->queue_id,
			  job->error != NULL ? job->error : "cancelled");
		queue_reply(job, IPC_DELIVER_TEMPFAIL, "queue file write error");
	} else {
		log_info("%s: from=<%s>, size=%llu, nrcpt=%u (queue active)", job->queue_id,
			 log_esc(job->sender), (unsigned long long)job->size, job->count);
		queue_reply(job, IPC_DELIVER_OK, "queued");
	}
	queue_job_free(job);
	st->in_flight--;
	if (st->stopping && st->in_flight == 0)
		exit(0);
}

static void queue_on_add(struct queue_state *st, int from, const struct ipc_frame *frame, int fd)
{
	struct queue_job *job = calloc(1, sizeof(*job));

	if (job == NULL)
		fatal("out of memory");
	job->st = st;
	job->from = from;
	job->gen = st->w->peer_gen[from];
	job->type = frame->type;
	job->id = frame->id;
	job->fd = fd;
	job->work.data = job;
	if (fd < 0 || queue_decode(job, frame) < 0) {
		log_warning("malformed queue request from %s", role_name(from));
		queue_reply(job, IPC_DELIVER_TEMPFAIL, "malformed queue request");
		queue_job_free(job);
		return;
	}
	st->in_flight++;
	if (uv_queue_work(st->w->loop, &job->work, queue_work, queue_done) != 0)
		fatal("uv_queue_work failed");
}

static void queue_on_message(struct worker *w, int from, struct ipc_link *link,
			     const struct ipc_frame *frame, int fd)
{
	(void)link;
	if (from == ROLE_SMTP && frame->type == IPC_QUEUE_ADD) {
		queue_on_add(w->state, from, frame, fd);
		return;
	}
	if (from >= 0)
		log_warning("unexpected message type %u from %s", frame->type, role_name(from));
	if (fd >= 0)
		close(fd);
}

static int queue_start(struct worker *w, const char **error_r)
{
	static struct queue_state st;
	unsigned swept;

	st.w = w;
	if (str_printf(st.dir, sizeof(st.dir), "%s/queue", config_str(w->config, "state_dir")) <
	    0) {
		*error_r = "state_dir too long";
		return -1;
	}
	swept = queue_store_sweep(st.dir);
	if (swept > 0)
		log_notice("removed %u unfinished queue files (never acknowledged)", swept);
	w->state = &st;
	return 0;
}

static void queue_stop(struct worker *w)
{
	struct queue_state *st = w->state;

	st->stopping = true;
	if (st->in_flight == 0)
		exit(0);
}

const struct role_ops queue_role_ops = {
	.start = queue_start,
	.on_message = queue_on_message,
	.stop = queue_stop,
};
