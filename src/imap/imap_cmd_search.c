/* SEARCH and UID SEARCH (RFC 9051 6.4.4, RFC 3501 6.4.4), with ESEARCH answers (RFC 4731,
   RFC 9051 7.3.4), RETURN (SAVE) (RFC 5182) and MODSEQ (RFC 7162 3.1.5). */
#include <stdio.h>
#include <string.h>

#include "imap_commands.h"
#include "imap_seqset.h"
#include "imap_search_job.h"

static uint64_t imap_modseq_of(struct mbox *mb, uint32_t seq)
{
	struct mbox_msg_info info;

	return mbox_msg(mb, seq, &info) == 1 ? info.modseq : 0;
}

/* "(TAG "x")": the tag is an atom, but escape anyway so the string is always valid. */
static void imap_esearch_tag(struct mime_buf *out, const char *tag)
{
	mime_buf_append_str(out, "* ESEARCH (TAG \"");
	for (const char *p = tag; *p != '\0'; p++) {
		if (*p == '"' || *p == '\\')
			mime_buf_append_c(out, '\\');
		mime_buf_append_c(out, *p);
	}
	mime_buf_append_str(out, "\")");
}

static int imap_esearch_render(struct imap_search_job *job)
{
	const struct imap_search_result *res = &job->res;
	const uint32_t *nums = job->uid ? res->uids : res->seqs;
	unsigned ret = job->prog->ret;
	struct mime_buf *out = &job->out;

	if (ret == 0)
		return 0; /* RETURN (SAVE) alone: no ESEARCH at all (RFC 9051 6.4.4) */
	imap_esearch_tag(out, job->tag);
	if (job->uid)
		mime_buf_append_str(out, " UID");
	if (res->count > 0) {
		if (ret & IMAP_SEARCH_RETURN_MIN)
			mime_buf_printf(out, " MIN %u", nums[0]);
		if (ret & IMAP_SEARCH_RETURN_MAX)
			mime_buf_printf(out, " MAX %u", nums[res->count - 1]);
		if (ret & IMAP_SEARCH_RETURN_ALL) {
			mime_buf_append_str(out, " ALL ");
			imap_seqset_write(out, nums, res->count);
		}
	}
	if (ret & IMAP_SEARCH_RETURN_COUNT)
		mime_buf_printf(out, " COUNT %zu", res->count);
	if (job->prog->has_modseq && res->count > 0) {
		/* RFC 7162 3.1.5: the highest modseq of the messages returned; MIN and MAX
		   alone return just those two. */
		uint64_t modseq = res->highest_modseq;

		if ((ret & (IMAP_SEARCH_RETURN_ALL | IMAP_SEARCH_RETURN_COUNT)) == 0) {
			uint64_t a = (ret & IMAP_SEARCH_RETURN_MIN)
			                 ? imap_modseq_of(job->mb, res->seqs[0])
			                 : 0;
			uint64_t b = (ret & IMAP_SEARCH_RETURN_MAX)
			                 ? imap_modseq_of(job->mb, res->seqs[res->count - 1])
			                 : 0;

			modseq = a > b ? a : b;
		}
		mime_buf_printf(out, " MODSEQ %llu", (unsigned long long)modseq);
	}
	mime_buf_append_str(out, "\r\n");
	return 0;
}

static int imap_search_render(struct imap_search_job *job)
{
	const struct imap_search_result *res = &job->res;
	const uint32_t *nums = job->uid ? res->uids : res->seqs;

	if (job->prog->esearch)
		return imap_esearch_render(job);
	mime_buf_append_str(&job->out, "* SEARCH");
	for (size_t i = 0; i < res->count; i++)
		mime_buf_printf(&job->out, " %u", nums[i]);
	if (job->prog->has_modseq && res->count > 0)
		mime_buf_printf(&job->out, " (MODSEQ %llu)",
		                (unsigned long long)res->highest_modseq);
	mime_buf_append_str(&job->out, "\r\n");
	return 0;
}

static void imap_search_cmd(struct imap_session *s, const struct imap_command *cmd, bool uid)
{
	struct imap_search_prog *prog;
	const char *error;
	int rc = imap_search_parse(cmd->args, &prog, &error);

	if (rc != IMAP_SEARCH_OK) {
		imap_search_parse_failed(s, rc, error, imap_search_args_save(cmd->args));
		return;
	}
	/* RFC 9051 6.4.4: under IMAP4rev2 a SEARCH without RETURN is RETURN (ALL), answered
	   with ESEARCH. */
	if (!prog->esearch && (s->enabled & IMAP_ENABLED_IMAP4REV2) != 0) {
		prog->esearch = true;
		prog->ret = IMAP_SEARCH_RETURN_ALL;
	}
	imap_search_job_start(
	    s, imap_search_job_new(s, prog, uid, "Search completed.", imap_search_render));
}

void imap_cmd_search(struct imap_session *s, const struct imap_command *cmd)
{
	imap_search_cmd(s, cmd, false);
}

void imap_cmd_uid_search(struct imap_session *s, const struct imap_command *cmd)
{
	imap_search_cmd(s, cmd, true);
}
