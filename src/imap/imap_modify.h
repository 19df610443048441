#ifndef MAILD_IMAP_MODIFY_H
#define MAILD_IMAP_MODIFY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "imap_mailbox.h"

/*
 * What STORE, EXPUNGE, COPY/MOVE and APPEND share (imap_modify.c).
 *
 * Command state. A command that lives across callbacks (a pool job, output continued from
 * on_drain, APPEND's literal) keeps its state in a struct that starts with struct
 * imap_cmd_state and is s->cmd_ctx meanwhile. The session has no hook that frees a
 * command's state when the connection closes or a parse error ends the command, so every
 * state is registered here, and a sweep (a timer while any exist, and each new state) frees
 * those whose session is gone or has moved on (s->cmd_ctx no longer points to them). A state
 * in a pool job is never swept: the job's cancel frees it.
 *
 * Output. Responses that grow with the number of messages (one FETCH per message, one
 * EXPUNGE per message) are written while conn_output_pending() is under
 * IMAP_MODIFY_OUTPUT_MARK and continued from on_drain, so a session's queued output stays
 * bounded whatever the set.
 */

#define IMAP_MODIFY_OUTPUT_MARK (256u * 1024)
/* An untagged response code listing UIDs (MOVE's [COPYUID]) longer than this is left out:
   the client then looks the UIDs up itself, as without UIDPLUS. */
#define IMAP_MODIFY_CODE_MAX (256u * 1024)
/* VANISHED lines are cut at about this length (several VANISHED responses are fine). */
#define IMAP_MODIFY_VANISHED_LINE 900u
/* "* n EXPUNGE" lines are written this many bytes at a time (about one TLS record). */
#define IMAP_MODIFY_EXPUNGE_CHUNK (15u * 1024)

struct imap_cmd_state;
typedef void imap_cmd_state_free_fn(struct imap_cmd_state *st);
typedef void imap_cmd_work_fn(struct imap_cmd_state *st);
typedef void imap_cmd_after_fn(struct imap_session *s, struct imap_cmd_state *st);
/* Write one more piece of output; false when there is nothing left. */
typedef bool imap_emit_fn(struct imap_session *s, struct imap_cmd_state *st);

struct imap_cmd_state {
	struct imap_cmd_state *prev, *next; /* every live state of this process */
	struct imap_server *srv;
	struct imap_session *s; /* compared, dereferenced only while in srv->sessions */
	imap_cmd_state_free_fn *free_fn;
	bool busy; /* in a pool job */
	imap_cmd_work_fn *work;
	imap_cmd_after_fn *after;
	imap_emit_fn *emit;
	imap_session_cb *emit_done;
	/* imap_modify_finish(): the tagged reply */
	enum imap_status status;
	struct mime_buf text;
};

/* Register st (zeroed by the caller apart from its own fields) as s's command state:
   s->cmd_ctx = st. free_fn frees the whole struct, whatever it holds. */
void imap_cmd_state_start(struct imap_session *s, struct imap_cmd_state *st,
                          imap_cmd_state_free_fn *free_fn);
/* Unregister and free; NULL is fine, *stp becomes NULL, s->cmd_ctx is cleared if it is st. */
void imap_cmd_state_end(struct imap_cmd_state **stp);
/* s's command state when it is one of ours of kind free_fn, else NULL. */
struct imap_cmd_state *imap_cmd_state_get(struct imap_session *s, imap_cmd_state_free_fn *free_fn);

/* Run work(st) on the pool, then after(s, st) on the loop; if the connection closes
   meanwhile, st is freed instead. -1 when a job is already under way (nothing run). */
int imap_cmd_state_job(struct imap_cmd_state *st, imap_cmd_work_fn *work, imap_cmd_after_fn *after);

/* Call emit until it returns false, pausing whenever the queued output passes the mark and
   going on from on_drain; then done(s) (which answers the command). */
void imap_cmd_state_emit(struct imap_session *s, struct imap_cmd_state *st, imap_emit_fn *emit,
                         imap_session_cb *done);

/* End the command: other sessions of the account are told when tell (the command changed a
   folder), a sync of the selected folder and its report come first when allow_expunge, then
   st is freed and the tagged reply is status with st->text. */
void imap_modify_finish(struct imap_session *s, struct imap_cmd_state *st, enum imap_status status,
                        bool allow_expunge, bool tell);
/* Longest text given to imap_tagged() in one piece (its line is cut at 1 KiB). */
#define IMAP_MODIFY_TAGGED_TEXT_MAX 800u

/* ----- small shared helpers ----- */

/* b's bytes and CRLF, however long, without a format string. */
void imap_modify_send_buf(struct imap_session *s, const struct mime_buf *b);
/* One EXPUNGE report piece for expunged messages (mbox_changes order: descending
   sequence numbers): "* n EXPUNGE" lines from *pos on (IMAP_MODIFY_EXPUNGE_CHUNK bytes),
   or with QRESYNC one VANISHED line from the UIDs at *pos on. Advances *pos; false when *pos
   reached count. Counts sel->exists down. */
bool imap_modify_emit_expunged(struct imap_session *s, const struct mbox_changes *ch, size_t *pos);

/* The account's quota as the mailbox library takes it (NULL when unlimited). */
const struct maildir_quota_limit *imap_modify_quota(const struct imap_session *s,
                                                    struct maildir_quota_limit *buf);

/* Pool thread: open folder dir of the Maildir at root for writing into it. 1 opened, 0 the
   folder does not exist (TRYCREATE), -1 with *error_r (malloc'ed). */
int imap_modify_open(const char *root, const char *dir, struct mbox **mb_r, char **error_r);

#endif
