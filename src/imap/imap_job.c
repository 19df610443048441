/* Thread-pool jobs of a session (imap_mailbox.h): the mailbox library blocks, the loop must
   not. The session waits while its job runs, so its mailbox handle is used by one thread at a
   time, and a session whose connection closes meanwhile is freed only once the job is back. */
#include <stdlib.h>

#include "../core/log.h"
#include "imap_mailbox.h"

struct imap_job {
	uv_work_t work;
	struct imap_session *s;
	imap_work_fn *fn;
	imap_after_fn *after;
	imap_cancel_fn *cancel;
	void *arg;
};

/* imap_session.c: finish freeing a session whose close waited for its job. */
void imap_session_free_deferred(struct imap_session *s);

static void imap_job_work(uv_work_t *work)
{
	struct imap_job *job = work->data;

	job->fn(job->arg);
}

static void imap_job_done(uv_work_t *work, int status)
{
	struct imap_job *job = work->data;
	struct imap_session *s = job->s;

	(void)status; /* jobs are never cancelled */
	s->job = NULL;
	if (s->close_deferred) {
		if (job->cancel != NULL)
			job->cancel(job->arg);
		free(job);
		imap_session_free_deferred(s);
		return;
	}
	imap_after_fn *after = job->after;
	void *arg = job->arg;

	free(job);
	after(s, arg);
}

int imap_job_run(struct imap_session *s, imap_work_fn *work, imap_after_fn *after,
                 imap_cancel_fn *cancel, void *arg)
{
	static bool pool_sized;
	struct imap_job *job;

	if (s->job != NULL)
		return -1;
	if (!pool_sized) {
		/* Jobs wait on the disk more than on the CPU; libuv reads this at its first job. */
		setenv("UV_THREADPOOL_SIZE", "8", 0);
		pool_sized = true;
	}
	job = calloc(1, sizeof(*job));
	if (job == NULL)
		fatal("out of memory");
	*job = (struct imap_job){.s = s, .fn = work, .after = after, .cancel = cancel, .arg = arg};
	job->work.data = job;
	s->job = job;
	imap_session_wait(s);
	if (uv_queue_work(s->srv->w->loop, &job->work, imap_job_work, imap_job_done) != 0)
		fatal("uv_queue_work failed");
	return 0;
}

bool imap_job_busy(const struct imap_session *s)
{
	return s->job != NULL;
}
