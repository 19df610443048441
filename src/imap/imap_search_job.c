/* SEARCH/SORT/THREAD on the thread pool and their streamed answers (imap_search_job.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/log.h"
#include "../core/strutil.h"
#include "imap_fts_indexer.h"
#include "imap_search_job.h"

struct imap_search_job *imap_search_job_new(struct imap_session *s, struct imap_search_prog *prog,
                                            bool uid, const char *ok_text,
                                            imap_search_render_fn *render)
{
	struct imap_search_job *job = calloc(1, sizeof(*job));

	if (job == NULL)
		fatal("out of memory");
	job->mb = s->sel->mb;
	job->prog = prog;
	job->uid = uid;
	job->ok_text = ok_text;
	job->render = render;
	job->root = strdup(s->maildir);
	job->folder = strdup(s->sel->name.dir);
	if (job->root == NULL || job->folder == NULL)
		fatal("out of memory");
	(void)str_copy(job->tag, sizeof(job->tag), s->tag);
	return job;
}

static void imap_search_job_free(void *arg)
{
	struct imap_search_job *job = arg;

	imap_search_prog_free(&job->prog);
	imap_search_result_free(&job->res);
	imap_seqset_free(&job->saved);
	mime_buf_free(&job->out);
	free(job->error);
	free(job->root);
	free(job->folder);
	if (job->arg_free != NULL)
		job->arg_free(job->arg);
	free(job);
}

static void imap_search_work(void *arg)
{
	struct imap_search_job *job = arg;

	if (imap_search_run(job->mb, job->prog, &job->res, &job->error) < 0)
		return;
	if (job->res.unindexed > 0) {
		/* Read directly this time; indexed for the next search. */
		struct imap_fts_folder_state state = {.uidvalidity = mbox_uidvalidity(job->mb),
		                                      .uidnext = mbox_uidnext(job->mb),
		                                      .exists = mbox_count(job->mb)};

		imap_fts_indexer_start(job->root, job->folder, &state);
	}
	if (job->prog->save)
		job->saved = imap_search_saved(job->prog->ret, &job->res);
	(void)job->render(job);
}

/* The new "$": uids (taken; NULL for the empty set, after a NO). */
static void imap_search_keep(struct imap_session *s, struct imap_seqset **uids)
{
	imap_seqset_free(&s->sel->saved);
	s->sel->saved = *uids;
	*uids = NULL;
}

/* ----- streaming ----- */

/* Jobs whose answer is being written, so that one whose session closed meanwhile (on_drain
   then never comes, and the session frees nothing of a command's own) is found and freed
   when the next answer starts: an orphan is a job no session holds as cmd_ctx. */
struct imap_search_streaming {
	struct imap_search_job *job;
	struct imap_search_streaming *next;
};
static struct imap_search_streaming *imap_streaming;

static bool imap_search_held(const struct imap_server *srv, const void *job)
{
	for (const struct imap_session *o = srv->sessions; o != NULL; o = o->next) {
		if (o->cmd_ctx == job)
			return true;
	}
	return false;
}

static void imap_search_collect(const struct imap_server *srv)
{
	for (struct imap_search_streaming **pp = &imap_streaming; *pp != NULL;) {
		struct imap_search_streaming *e = *pp;

		if (imap_search_held(srv, e->job)) {
			pp = &e->next;
			continue;
		}
		*pp = e->next;
		imap_search_job_free(e->job);
		free(e);
	}
}

static void imap_search_forget(struct imap_search_job *job)
{
	for (struct imap_search_streaming **pp = &imap_streaming; *pp != NULL; pp = &(*pp)->next) {
		if ((*pp)->job == job) {
			struct imap_search_streaming *e = *pp;

			*pp = e->next;
			free(e);
			return;
		}
	}
}

static void imap_search_write_more(struct imap_session *s)
{
	struct imap_search_job *job = s->cmd_ctx;
	char text[64];
	bool uid = job->uid;

	while (job->out_pos < job->out.len) {
		size_t n = job->out.len - job->out_pos;

		if (!conn_is_open(s->conn))
			return; /* the close frees the session; imap_search_collect() the job */
		if (conn_output_pending(s->conn) >= IMAP_SEARCH_OUT_MARK) {
			s->on_drain = imap_search_write_more;
			return;
		}
		n = n < IMAP_SEARCH_OUT_PIECE ? n : IMAP_SEARCH_OUT_PIECE;
		imap_write(s, job->out.p + job->out_pos, n);
		job->out_pos += n;
	}
	s->on_drain = NULL;
	s->cmd_ctx = NULL;
	imap_search_forget(job);
	(void)str_copy(text, sizeof(text), job->ok_text);
	imap_search_job_free(job);
	/* RFC 9051 7.5.1: no EXPUNGE after SEARCH/SORT/THREAD, only after their UID forms. */
	imap_mailbox_done(s, uid, text);
}

static void imap_search_after(struct imap_session *s, void *arg)
{
	struct imap_search_job *job = arg;
	struct imap_search_streaming *e;

	if (job->error != NULL) {
		log_error("imap(%s): search in %s failed: %s", s->user,
		          s->sel != NULL ? s->sel->name.name : "?", job->error);
		if (job->prog->save)
			imap_search_keep(s, &job->saved);
		imap_search_job_free(job);
		imap_tagged(s, IMAP_NO, "[SERVERBUG] Search failed; see the server log.");
		return;
	}
	/* Set before the answer is written: the session runs nothing else meanwhile, so a
	   pipelined "FETCH $" (RFC 9051 6.4.4.2) sees it. */
	if (job->prog->save)
		imap_search_keep(s, &job->saved);
	imap_search_collect(s->srv);
	e = calloc(1, sizeof(*e));
	if (e == NULL)
		fatal("out of memory");
	e->job = job;
	e->next = imap_streaming;
	imap_streaming = e;
	s->cmd_ctx = job;
	imap_search_write_more(s);
}

void imap_search_job_start(struct imap_session *s, struct imap_search_job *job)
{
	const char *error;

	if (imap_search_prepare(job->prog, job->mb, s->sel->saved, &error) < 0) {
		imap_search_job_free(job);
		imap_tagged(s, IMAP_BAD, "%s", error);
		return;
	}
	/* RFC 7162 3.1: a MODSEQ search key enables CONDSTORE. */
	if (job->prog->has_modseq)
		s->sel->condstore = true;
	if (imap_job_run(s, imap_search_work, imap_search_after, imap_search_job_free, job) < 0) {
		if (job->prog->save)
			imap_search_keep(s, &job->saved);
		imap_search_job_free(job);
		imap_tagged(s, IMAP_NO, "[INUSE] Another operation is under way.");
	}
}

void imap_search_parse_failed(struct imap_session *s, int rc, const char *error, bool save)
{
	struct imap_seqset *none = NULL;

	if (rc != IMAP_SEARCH_BADCHARSET) {
		imap_tagged(s, IMAP_BAD, "%s", error);
		return;
	}
	if (save)
		imap_search_keep(s, &none);
	imap_tagged(s, IMAP_NO, "%s", error);
}
