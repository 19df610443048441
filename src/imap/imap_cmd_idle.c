/* IDLE (RFC 2177, RFC 9051 6.3.13): changes to the selected folder are reported as they
   happen. Delivery tells the imap worker of each new message (IPC_MAILBOX_CHANGED), and other
   sessions of this worker tell after they change a folder (imap_mailbox_done), so no polling is
   needed; the client ends with DONE, or the autologout timeout (30 min) ends the session. */
#include <string.h>
#include <strings.h>

#include "imap_commands.h"
#include "imap_mailbox.h"

static void imap_idle_line(struct imap_session *s, const char *line, size_t len);

/* The sync left cur/ to be read a second later (mbox_sync_deferred()): nothing else may
   wake this session, so a timer does. */
static void imap_idle_recheck_if_deferred(struct imap_session *s)
{
	if (mbox_sync_deferred(s->sel->mb)) {
		s->sel->recheck = true;
		imap_server_recheck_soon(s->srv);
	}
}

static void imap_idle_synced(struct imap_session *s)
{
	if (s->sel == NULL || !s->sel->idling)
		return;
	if (s->sel->idle_dirty) {
		s->sel->idle_dirty = false;
		imap_mailbox_sync_idle(s, imap_idle_synced);
		return;
	}
	imap_idle_recheck_if_deferred(s);
	imap_session_resume(s); /* listen for DONE again */
}

static void imap_idle_changed(struct imap_session *s)
{
	if (s->sel == NULL || !s->sel->idling)
		return;
	if (imap_job_busy(s)) {
		s->sel->idle_dirty = true;
		return;
	}
	imap_mailbox_sync_idle(s, imap_idle_synced);
}

static void imap_idle_line(struct imap_session *s, const char *line, size_t len)
{
	if (s->sel != NULL) {
		s->sel->idling = false;
		s->sel->idle_dirty = false;
	}
	s->on_mailbox_changed = NULL;
	if (len == 4 && strncasecmp(line, "DONE", 4) == 0)
		imap_tagged(s, IMAP_OK, "Idle completed.");
	else
		imap_tagged(s, IMAP_BAD, "Expected DONE.");
}

static void imap_idle_started(struct imap_session *s)
{
	if (s->sel != NULL)
		s->sel->idling = true;
	s->on_mailbox_changed = imap_idle_changed;
	if (s->sel != NULL) {
		imap_idle_recheck_if_deferred(s);
		imap_server_trim_soon(s->srv); /* the sync closed the folder's index */
	}
	imap_send(s, "+ idling");
	imap_session_expect_line(s, imap_idle_line);
}

void imap_cmd_idle(struct imap_session *s, const struct imap_command *cmd)
{
	if (cmd->arg_count != 0) {
		imap_tagged(s, IMAP_BAD, "IDLE takes no arguments.");
		return;
	}
	/* What changed since the last command first, then the continuation. */
	imap_mailbox_sync_idle(s, imap_idle_started);
}
