#ifndef MAILD_IMAP_MAILBOX_H
#define MAILD_IMAP_MAILBOX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../store/folder_name.h"
#include "../store/mbox.h"
#include "../store/mime_buf.h"
#include "imap_seqset.h"
#include "imap_session.h"

/*
 * The selected mailbox of a session and the helpers every mailbox command shares
 * (imap_mailbox.c, imap_job.c).
 *
 * Threads. The mailbox library (src/store/mbox*.c) blocks on the file system and SQLite, so
 * its calls that touch the disk run on the libuv thread pool through imap_job_run(): the work
 * function runs on a pool thread while the session waits (no input is read, no other command
 * of this session runs, so the session's own struct mbox is used by one thread at a time), and
 * the after function runs back on the loop, where replies are written. Never write to the
 * connection from a work function. Cheap calls that read only the handle's memory (mbox_uid,
 * mbox_seq, mbox_msg, mbox_count, mbox_keyword_name, ...) may be made on the loop.
 *
 * Each session has its own struct mbox for its selected folder, so its sequence numbers change
 * only when it syncs: the sync's changes are reported (EXPUNGE, EXISTS, RECENT, FETCH FLAGS)
 * where RFC 9051 7.5.1 allows, i.e. after commands other than FETCH, STORE and SEARCH (their
 * UID forms allow it), and during IDLE.
 */

struct imap_selected {
	struct mbox *mb;
	struct folder_name name; /* name.name is UTF-8; encode with imap_mailbox_name_write() */
	bool readonly;           /* EXAMINE */
	uint32_t exists;         /* the EXISTS count the client was last told */
	/* RFC 7162: the client used CONDSTORE (ENABLE, SELECT (CONDSTORE), a MODSEQ fetch or an
	   UNCHANGEDSINCE store): FETCH responses then carry MODSEQ. */
	bool condstore;
	bool idling;     /* inside IDLE: changes are reported as they come */
	bool idle_dirty; /* a change came while a sync was under way: sync again */
	bool recheck;    /* IDLE: the last sync left a scan for later (imap_server_recheck_soon) */
	/* The search result variable "$" (RFC 9051 6.4.4.1, RFC 5182): the UIDs the last
	   successful SEARCH RETURN (SAVE) kept, as ranges; NULL is the empty set. It lives and
	   dies with the selection, so SELECT, EXAMINE (even failed), UNSELECT and CLOSE empty
	   it. UIDs are never reused within a UIDVALIDITY, and that never changes under an open
	   handle, so an expunged message just no longer matches. */
	struct imap_seqset *saved;
};

/* ----- thread-pool jobs (imap_job.c) ----- */

typedef void imap_work_fn(void *arg);
/* Back on the loop. s is never NULL: a session that closed meanwhile is freed only after its
   job ended, and then after is not called (free arg in work's own cleanup: see below). */
typedef void imap_after_fn(struct imap_session *s, void *arg);
/* Called instead of after when the connection closed while the job ran: free arg. */
typedef void imap_cancel_fn(void *arg);

/* Run work(arg) on the thread pool, then after(s, arg) on the loop. The session waits
   (imap_session_wait) meanwhile. One job per session at a time: -1 (nothing run) when one is
   under way. cancel may be NULL when arg needs no freeing. */
int imap_job_run(struct imap_session *s, imap_work_fn *work, imap_after_fn *after,
                 imap_cancel_fn *cancel, void *arg);
/* A job is under way: the session must not be freed yet (imap_session.c asks). */
bool imap_job_busy(const struct imap_session *s);

/* ----- the selected folder (imap_mailbox.c) ----- */

/* Close the selected folder, if any, and go back to the authenticated state. Loop thread:
   closing a handle writes nothing to disk. */
void imap_mailbox_unselect(struct imap_session *s);

/* A mailbox-name argument (astring): modified UTF-7 unless UTF8=ACCEPT/IMAP4rev2 is enabled
   (then UTF-8, RFC 6855 3), INBOX in any case. 0, or -1 with the session already answered
   (BAD for syntax, NO [CANNOT] for a name that cannot exist). */
int imap_mailbox_name_arg(struct imap_session *s, const struct imap_arg *arg,
                          struct folder_name *fn_r);
/* The name as the client must see it: a quoted string or literal, modified UTF-7 unless
   UTF-8 is enabled. */
void imap_mailbox_name_write(const struct imap_session *s, const char *utf8_name,
                             struct mime_buf *out);

/* The messages a sequence set names, as ascending UIDs of the selected folder. uid: the set
   holds UIDs (UID commands), else sequence numbers. A number past the end of a sequence set is
   an error (BAD "invalid message sequence number"); UIDs that do not exist are skipped. "$"
   names the saved UIDs still in the folder in either form (maybe none: an empty set, not an
   error). 0 with a malloc'ed array (maybe empty: *n_r 0, *uids_r NULL), or -1 with the session
   answered. */
int imap_mailbox_set(struct imap_session *s, const struct imap_arg *arg, bool uid,
                     uint32_t **uids_r, size_t *n_r);

/* "(\Answered \Seen $Label1)": system flags, keywords by name, \Recent when recent. */
void imap_flags_write(const struct mbox *mb, uint8_t flags, uint32_t keywords, bool recent,
                      struct mime_buf *out);
/* A flag-list argument (or a single flag): system flags into *flags_r, keywords into
   *keywords_r (created in the folder when create is true, which needs the thread pool:
   call it from a work function then). \Recent is refused. 0, or -1 with *error_r. */
int imap_flags_parse(struct mbox *mb, const struct imap_arg *arg, bool create, uint8_t *flags_r,
                     uint32_t *keywords_r, const char **error_r);
/* "* FLAGS (...)" and "* OK [PERMANENTFLAGS (... \*)]" for the selected folder. */
void imap_mailbox_send_flags(struct imap_session *s);

/* Write what a sync found: "* n EXPUNGE" for each expunged (or VANISHED with QRESYNC),
   "* n EXISTS" when the count grew, "* n RECENT", and "* n FETCH (FLAGS (...) [MODSEQ])"
   for changed messages. Loop thread. */
void imap_mailbox_report(struct imap_session *s, const struct mbox_changes *changes);

/* Sync the selected folder on the pool, report the changes, then call done(s) on the loop
   (done usually answers the command). Without a selected folder done is called at once. */
void imap_mailbox_sync_then(struct imap_session *s, imap_session_cb *done);
/* The same for a session that is going to sit idle (IDLE): the folder's index connection is
   closed after the sync (mbox_suspend) and opened again by the next command that needs it. */
void imap_mailbox_sync_idle(struct imap_session *s, imap_session_cb *done);

/* This session changed the account's folders (CLOSE's expunge, APPEND, COPY into another
   folder): other sessions of this worker on the same account look again (IDLE reports it).
   imap_mailbox_done() calls it for commands on a read-write selected folder. */
void imap_mailbox_tell_others(struct imap_session *s);

/* The tagged OK after a command in the selected state, preceded by a sync and its report
   when the command allows it (allow_expunge: not FETCH/STORE/SEARCH without UID). text is
   the OK text, e.g. "Fetch completed." */
void imap_mailbox_done(struct imap_session *s, bool allow_expunge, const char *text);

#endif
