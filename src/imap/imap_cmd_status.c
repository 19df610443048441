/* STATUS (RFC 9051 6.3.11, RFC 3501 6.3.10): another folder is opened on the pool with its
   own handle; the selected one is answered from the session's handle (imap_status.h). */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/log.h"
#include "imap_commands.h"
#include "imap_mailbox.h"
#include "imap_status.h"

struct imap_status_job {
	char root[PATH_MAX];
	struct folder_name name;
	unsigned items;
	/* results */
	int rc;
	char *error;
	struct imap_status_values v;
};

static void imap_status_job_free(void *arg)
{
	struct imap_status_job *job = arg;

	free(job->error);
	free(job);
}

static void imap_status_ok(struct imap_session *s)
{
	imap_tagged(s, IMAP_OK, "Status completed.");
}

/* The untagged STATUS, then the selected folder's changes (RFC 9051 7.5.1 allows them after
   STATUS) and the tagged OK. */
static void imap_status_answer(struct imap_session *s, const char *name, unsigned items,
                               const struct imap_status_values *v)
{
	struct mime_buf b = MIME_BUF_INIT;

	imap_status_format(s, name, items, v, &b);
	imap_write(s, b.p, b.len);
	mime_buf_free(&b);
	imap_mailbox_sync_then(s, imap_status_ok);
}

static void imap_status_work(void *arg)
{
	struct imap_status_job *job = arg;

	job->rc = imap_status_read(job->root, job->name.dir, &job->v, &job->error);
}

static void imap_status_after(struct imap_session *s, void *arg)
{
	struct imap_status_job *job = arg;

	if (job->rc == 1) {
		imap_status_answer(s, job->name.name, job->items, &job->v);
	} else if (job->rc == 0) {
		imap_tagged(s, IMAP_NO, "[NONEXISTENT] Mailbox doesn't exist.");
	} else {
		log_error("imap(%s): STATUS of %s failed: %s", s->user, job->name.name,
		          job->error != NULL ? job->error : "unknown error");
		imap_tagged(s, IMAP_NO,
		            "[SERVERBUG] Mailbox cannot be opened; see the server log.");
	}
	imap_status_job_free(job);
}

void imap_cmd_status(struct imap_session *s, const struct imap_command *cmd)
{
	struct imap_status_job *job;
	struct folder_name name;
	const char *error;
	unsigned items;

	if (cmd->arg_count != 2) {
		imap_tagged(s, IMAP_BAD, "STATUS needs a mailbox name and a list of items.");
		return;
	}
	if (imap_status_parse(cmd->args->next, &items, &error) < 0) {
		imap_tagged(s, IMAP_BAD, "%s", error);
		return;
	}
	if (imap_mailbox_name_arg(s, cmd->args, &name) < 0)
		return;
	if ((items & IMAP_STATUS_HIGHESTMODSEQ) != 0) {
		/* RFC 7162 3.1: STATUS (HIGHESTMODSEQ) enables CONDSTORE for the session. */
		s->enabled |= IMAP_ENABLED_CONDSTORE;
		if (s->sel != NULL)
			s->sel->condstore = true;
	}
	if (s->sel != NULL && strcmp(s->sel->name.name, name.name) == 0) {
		struct imap_status_values v;

		imap_status_from_mbox(s->sel->mb, &v);
		imap_status_answer(s, name.name, items, &v);
		return;
	}
	job = calloc(1, sizeof(*job));
	if (job == NULL)
		fatal("out of memory");
	if (snprintf(job->root, sizeof(job->root), "%s", s->maildir) >= (int)sizeof(job->root))
		fatal("imap: Maildir path too long");
	job->name = name;
	job->items = items;
	if (imap_job_run(s, imap_status_work, imap_status_after, imap_status_job_free, job) < 0) {
		imap_status_job_free(job);
		imap_tagged(s, IMAP_NO, "[INUSE] Busy, try again.");
	}
}
