/* THREAD and UID THREAD (RFC 5256 3): ORDEREDSUBJECT and REFERENCES. */
#include <stdlib.h>
#include <string.h>

#include "../core/log.h"
#include "imap_commands.h"
#include "imap_search_job.h"
#include "imap_search_msg.h"
#include "imap_sort.h"
#include "imap_thread.h"

static char *imap_thread_dup(struct imap_msgdata *d, enum imap_hdr h)
{
	size_t len;
	const char *v = imap_msgdata_hdr(d, h, &len);
	char *copy = strdup(v);

	if (copy == NULL)
		fatal("out of memory");
	return copy;
}

static int imap_thread_render(struct imap_search_job *job)
{
	const struct imap_search_result *res = &job->res;
	struct imap_thread_msg *msgs = calloc(res->count + 1, sizeof(*msgs));
	struct imap_msgdata d;

	if (msgs == NULL)
		fatal("out of memory");
	imap_msgdata_init(&d, job->mb);
	for (size_t i = 0; i < res->count; i++) {
		struct imap_thread_msg *m = &msgs[i];
		struct mime_buf subject = MIME_BUF_INIT;
		size_t len;
		const char *raw;

		imap_msgdata_set(&d, res->seqs[i]);
		m->num = job->uid ? res->uids[i] : res->seqs[i];
		m->seq = res->seqs[i];
		m->date = imap_sort_sent_date(&d);
		raw = imap_msgdata_hdr(&d, IMAP_HDR_SUBJECT, &len);
		m->reply = imap_base_subject(raw, len, &subject);
		m->subject = strdup(mime_buf_str(&subject));
		mime_buf_free(&subject);
		m->message_id = imap_thread_dup(&d, IMAP_HDR_MESSAGE_ID);
		m->references = imap_thread_dup(&d, IMAP_HDR_REFERENCES);
		m->in_reply_to = imap_thread_dup(&d, IMAP_HDR_IN_REPLY_TO);
		if (m->subject == NULL)
			fatal("out of memory");
	}
	imap_msgdata_deinit(&d);
	mime_buf_append_str(&job->out, res->count > 0 ? "* THREAD " : "* THREAD");
	imap_thread_write(*(enum imap_thread_alg *)job->arg, msgs, res->count, &job->out);
	mime_buf_append_str(&job->out, "\r\n");
	for (size_t i = 0; i < res->count; i++) {
		free((char *)msgs[i].subject);
		free((char *)msgs[i].message_id);
		free((char *)msgs[i].references);
		free((char *)msgs[i].in_reply_to);
	}
	free(msgs);
	return 0;
}

/* THREAD algorithm charset search-key... */
static void imap_thread_cmd(struct imap_session *s, const struct imap_command *cmd, bool uid)
{
	const struct imap_arg *alg = cmd->args, *charset = alg != NULL ? alg->next : NULL;
	enum imap_thread_alg *which;
	struct imap_search_prog *prog;
	struct imap_search_job *job;
	const char *error, *name;
	size_t len;
	int rc;

	if (!imap_arg_atom_is(alg, "REFERENCES") && !imap_arg_atom_is(alg, "ORDEREDSUBJECT")) {
		imap_tagged(s, IMAP_BAD, "Unknown thread algorithm.");
		return;
	}
	if (!imap_arg_get_astring(charset, &name, &len)) {
		imap_tagged(s, IMAP_BAD, "Missing charset.");
		return;
	}
	if (!imap_search_charset_ok(name)) {
		imap_tagged(s, IMAP_NO, "[BADCHARSET (UTF-8 US-ASCII)] Unsupported charset.");
		return;
	}
	rc = imap_search_parse_keys(charset->next, &prog, &error);
	if (rc != IMAP_SEARCH_OK) {
		imap_search_parse_failed(s, rc, error, false);
		return;
	}
	which = malloc(sizeof(*which));
	if (which == NULL)
		fatal("out of memory");
	*which = imap_arg_atom_is(alg, "REFERENCES") ? IMAP_THREAD_REFERENCES
	                                             : IMAP_THREAD_ORDEREDSUBJECT;
	job = imap_search_job_new(s, prog, uid, "Thread completed.", imap_thread_render);
	job->arg = which;
	job->arg_free = free;
	imap_search_job_start(s, job);
}

void imap_cmd_thread(struct imap_session *s, const struct imap_command *cmd)
{
	imap_thread_cmd(s, cmd, false);
}

void imap_cmd_uid_thread(struct imap_session *s, const struct imap_command *cmd)
{
	imap_thread_cmd(s, cmd, true);
}
