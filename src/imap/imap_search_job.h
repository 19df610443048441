#ifndef MAILD_IMAP_SEARCH_JOB_H
#define MAILD_IMAP_SEARCH_JOB_H

#include <stdbool.h>

#include "imap_mailbox.h"
#include "imap_search.h"

/*
 * What SEARCH, SORT and THREAD share on the session side (imap_search_job.c): run the
 * program on the pool, let the command turn the matches into its response text (still on
 * the pool), write that text to the client in pieces under a mark (continuing from on_drain,
 * so a 100,000-message answer never sits in the connection's queue at once), then answer
 * with imap_mailbox_done(): no EXPUNGE after the sequence-number forms (RFC 9051 7.5.1).
 *
 * A program with RETURN (SAVE) (SEARCH only: SORT and THREAD would need ESORT) sets the
 * selected folder's "$" when it succeeds and empties it when it fails with NO (RFC 9051
 * 6.4.4.1); a BAD (a sequence number past the end) leaves it as it was.
 */

/* Output queued on the connection before we wait for it to drain, and written per piece. */
#define IMAP_SEARCH_OUT_MARK (256u * 1024)
#define IMAP_SEARCH_OUT_PIECE (64u * 1024)

struct imap_search_job;
/* Pool thread: append the untagged response(s) for job->res to job->out. 0, or -1 with
   job->error (malloc'ed). */
typedef int imap_search_render_fn(struct imap_search_job *job);

struct imap_search_job {
	struct mbox *mb;
	struct imap_search_prog *prog;
	bool uid;               /* the UID form: numbers are UIDs */
	char tag[IMAP_TAG_MAX]; /* for ESEARCH's (TAG "...") */
	const char *ok_text;    /* "Search completed." */
	imap_search_render_fn *render;
	char *root, *folder; /* the folder, to have its full text indexed in the background */
	void *arg;           /* the command's own data, freed with arg_free */
	void (*arg_free)(void *arg);
	/* results */
	struct imap_search_result res;
	struct imap_seqset *saved; /* prog->save: the new "$" (imap_search_saved) */
	struct mime_buf out;
	char *error;
	size_t out_pos; /* written so far */
};

/* A job for prog (taken over) on the selected folder. */
struct imap_search_job *imap_search_job_new(struct imap_session *s, struct imap_search_prog *prog,
                                            bool uid, const char *ok_text,
                                            imap_search_render_fn *render);
/* Check the program against the folder (BAD for a bad sequence number), then run it; the
   session is answered in every case and the job freed. */
void imap_search_job_start(struct imap_session *s, struct imap_search_job *job);

/* Answer a parse error of imap_search_parse*(): BAD, or NO [BADCHARSET ...]. save: the
   command asked for RETURN (SAVE), so a NO empties "$". */
void imap_search_parse_failed(struct imap_session *s, int rc, const char *error, bool save);

#endif
