/* SORT and UID SORT (RFC 5256 3, RFC 5957 DISPLAYFROM/DISPLAYTO), MODSEQ as RFC 7162 3.1.5. */
#include <stdlib.h>

#include "../core/log.h"
#include "imap_commands.h"
#include "imap_search_job.h"
#include "imap_sort.h"

struct imap_sort_args {
	struct imap_sort_crit crit[IMAP_SORT_CRIT_MAX];
	size_t n;
};

static int imap_sort_render(struct imap_search_job *job)
{
	struct imap_sort_args *sa = job->arg;
	const struct imap_search_result *res = &job->res;

	imap_sort_run(job->mb, &job->res, sa->crit, sa->n);
	mime_buf_append_str(&job->out, "* SORT");
	for (size_t i = 0; i < res->count; i++)
		mime_buf_printf(&job->out, " %u", job->uid ? res->uids[i] : res->seqs[i]);
	if (job->prog->has_modseq && res->count > 0)
		mime_buf_printf(&job->out, " (MODSEQ %llu)",
		                (unsigned long long)res->highest_modseq);
	mime_buf_append_str(&job->out, "\r\n");
	return 0;
}

/* SORT (criteria) charset search-key... */
static void imap_sort_cmd(struct imap_session *s, const struct imap_command *cmd, bool uid)
{
	struct imap_sort_args *sa = calloc(1, sizeof(*sa));
	const struct imap_arg *charset = cmd->args != NULL ? cmd->args->next : NULL;
	struct imap_search_prog *prog;
	struct imap_search_job *job;
	const char *error, *name;
	size_t len;
	int rc;

	if (sa == NULL)
		fatal("out of memory");
	if (imap_sort_parse(cmd->args, sa->crit, &sa->n, &error) < 0) {
		free(sa);
		imap_tagged(s, IMAP_BAD, "%s", error);
		return;
	}
	if (!imap_arg_get_astring(charset, &name, &len)) {
		free(sa);
		imap_tagged(s, IMAP_BAD, "Missing charset.");
		return;
	}
	if (!imap_search_charset_ok(name)) {
		free(sa);
		imap_tagged(s, IMAP_NO, "[BADCHARSET (UTF-8 US-ASCII)] Unsupported charset.");
		return;
	}
	rc = imap_search_parse_keys(charset->next, &prog, &error);
	if (rc != IMAP_SEARCH_OK) {
		free(sa);
		imap_search_parse_failed(s, rc, error, false);
		return;
	}
	job = imap_search_job_new(s, prog, uid, "Sort completed.", imap_sort_render);
	job->arg = sa;
	job->arg_free = free;
	imap_search_job_start(s, job);
}

void imap_cmd_sort(struct imap_session *s, const struct imap_command *cmd)
{
	imap_sort_cmd(s, cmd, false);
}

void imap_cmd_uid_sort(struct imap_session *s, const struct imap_command *cmd)
{
	imap_sort_cmd(s, cmd, true);
}
