/* QUOTA (RFC 9208): GETQUOTAROOT, GETQUOTA and SETQUOTA.
 *
 * An account has at most one quota root, "", holding every folder, with one resource,
 * STORAGE, in units of 1024 octets (RFC 9208 5.1), rounded up; usage comes from the Maildir++
 * maildirsize (maildir_quota.h), as delivery keeps it. An account without a quota has no
 * quota root. Limits are the administrator's (mailctl user quota): SETQUOTA is refused.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../core/log.h"
#include "imap_commands.h"
#include "imap_modify.h"

struct imap_quota_job {
	char root[PATH_MAX];
	struct folder_name name;
	bool want_folder; /* GETQUOTAROOT: the folder must exist */
	struct maildir_quota_limit limit;
	/* results */
	bool missing;
	int rc; /* maildir_quota_get() */
	const char *error;
	struct maildir_quota_usage usage;
};

static uint64_t imap_kib(uint64_t bytes)
{
	return bytes / 1024 + (bytes % 1024 != 0);
}

static void imap_quota_work(void *arg)
{
	struct imap_quota_job *job = arg;

	if (job->want_folder) {
		char cur[PATH_MAX + 300];

		snprintf(cur, sizeof(cur), "%s/%s%scur", job->root, job->name.dir,
		         job->name.dir[0] != '\0' ? "/" : "");
		if (access(cur, F_OK) != 0) {
			job->missing = true;
			return;
		}
	}
	if (job->limit.bytes > 0)
		job->rc = maildir_quota_get(job->root, &job->limit, &job->usage, &job->error);
}

/* "* QUOTA "" (STORAGE used limit)"; false when usage is unknown (answered NO). */
static bool imap_quota_send(struct imap_session *s, struct imap_quota_job *job)
{
	if (job->rc < 0) {
		log_warning("imap(%s): quota usage unknown: %s", s->user, job->error);
		imap_tagged(s, IMAP_NO, "[UNAVAILABLE] Quota usage unknown, try again later.");
		return false;
	}
	imap_send(s, "* QUOTA \"\" (STORAGE %llu %llu)",
	          (unsigned long long)imap_kib(job->usage.bytes),
	          (unsigned long long)imap_kib(job->limit.bytes));
	return true;
}

static void imap_getquotaroot_after(struct imap_session *s, void *arg)
{
	struct imap_quota_job *job = arg;
	struct mime_buf b = MIME_BUF_INIT;

	if (job->missing) {
		free(job);
		imap_tagged(s, IMAP_NO, "[NONEXISTENT] Mailbox doesn't exist.");
		return;
	}
	if (job->limit.bytes > 0 && job->rc < 0) {
		(void)imap_quota_send(s, job);
		free(job);
		return;
	}
	mime_buf_append_str(&b, "* QUOTAROOT ");
	imap_mailbox_name_write(s, job->name.name, &b);
	if (job->limit.bytes > 0)
		mime_buf_append_str(&b, " \"\"");
	imap_modify_send_buf(s, &b);
	mime_buf_free(&b);
	if (job->limit.bytes > 0)
		(void)imap_quota_send(s, job);
	free(job);
	imap_tagged(s, IMAP_OK, "Getquotaroot completed.");
}

static void imap_getquota_after(struct imap_session *s, void *arg)
{
	struct imap_quota_job *job = arg;
	bool ok = imap_quota_send(s, job);

	free(job);
	if (ok)
		imap_tagged(s, IMAP_OK, "Getquota completed.");
}

static struct imap_quota_job *imap_quota_job_new(struct imap_session *s)
{
	struct imap_quota_job *job = calloc(1, sizeof(*job));

	if (job == NULL)
		fatal("out of memory");
	snprintf(job->root, sizeof(job->root), "%s", s->maildir);
	job->limit.bytes = s->quota;
	return job;
}

static void imap_quota_run(struct imap_session *s, struct imap_quota_job *job, imap_after_fn *after)
{
	if (imap_job_run(s, imap_quota_work, after, free, job) < 0) {
		free(job);
		imap_tagged(s, IMAP_NO, "[INUSE] Busy, try again.");
	}
}

void imap_cmd_getquotaroot(struct imap_session *s, const struct imap_command *cmd)
{
	struct imap_quota_job *job;
	struct folder_name name;

	if (cmd->arg_count != 1) {
		imap_tagged(s, IMAP_BAD, "GETQUOTAROOT needs a mailbox name.");
		return;
	}
	if (imap_mailbox_name_arg(s, cmd->args, &name) < 0)
		return;
	job = imap_quota_job_new(s);
	job->name = name;
	job->want_folder = true;
	imap_quota_run(s, job, imap_getquotaroot_after);
}

void imap_cmd_getquota(struct imap_session *s, const struct imap_command *cmd)
{
	const char *root;
	size_t len;

	if (cmd->arg_count != 1 || !imap_arg_get_astring(cmd->args, &root, &len)) {
		imap_tagged(s, IMAP_BAD, "GETQUOTA needs a quota root.");
		return;
	}
	if (len != 0 || s->quota == 0) {
		imap_tagged(s, IMAP_NO, "[NONEXISTENT] No such quota root.");
		return;
	}
	imap_quota_run(s, imap_quota_job_new(s), imap_getquota_after);
}

void imap_cmd_setquota(struct imap_session *s, const struct imap_command *cmd)
{
	if (cmd->arg_count != 2 || cmd->args->next->type != IMAP_ARG_LIST) {
		imap_tagged(s, IMAP_BAD, "SETQUOTA needs a quota root and a resource list.");
		return;
	}
	imap_tagged(s, IMAP_NO, "[CANNOT] Quotas are set by the administrator.");
}
