/* EXPUNGE (RFC 9051 6.4.3) and UID EXPUNGE (RFC 4315 2.1, RFC 9051 6.4.9): the \Deleted
   messages go, each reported as "* n EXPUNGE", or as VANISHED after ENABLE QRESYNC
   (RFC 7162 3.2.10). The quota is given back by the mailbox library. */
#include <stdlib.h>

#include "../core/log.h"
#include "imap_commands.h"
#include "imap_modify.h"

struct imap_expunge_state {
	struct imap_cmd_state st; /* first: s->cmd_ctx */
	struct mbox *mb;
	uint32_t *set; /* UID EXPUNGE: the UIDs it names; NULL: every message */
	size_t set_n;
	bool uid;
	struct mbox_changes ch;
	int rc;
	size_t pos;
};

static void imap_expunge_free(struct imap_cmd_state *st)
{
	struct imap_expunge_state *es = (struct imap_expunge_state *)st;

	mbox_changes_free(&es->ch);
	free(es->set);
	free(es);
}

static void imap_expunge_work(struct imap_cmd_state *st)
{
	struct imap_expunge_state *es = (struct imap_expunge_state *)st;
	uint32_t count = mbox_count(es->mb);
	size_t n = 0, cap = es->uid ? es->set_n : count;
	uint32_t *uids = malloc((cap + 1) * sizeof(*uids));

	if (uids == NULL)
		fatal("out of memory");
	for (size_t i = 0; i < cap; i++) {
		struct mbox_msg_info info;
		uint32_t seq = es->uid ? mbox_seq(es->mb, es->set[i]) : (uint32_t)i + 1;

		if (seq != 0 && mbox_msg(es->mb, seq, &info) == 1 &&
		    (info.flags & MBOX_FLAG_DELETED) != 0)
			uids[n++] = info.uid;
	}
	es->rc = n > 0 ? mbox_expunge(es->mb, uids, n, &es->ch) : 0;
	free(uids);
}

static bool imap_expunge_emit(struct imap_session *s, struct imap_cmd_state *st)
{
	struct imap_expunge_state *es = (struct imap_expunge_state *)st;

	return imap_modify_emit_expunged(s, &es->ch, &es->pos);
}

static void imap_expunge_done(struct imap_session *s)
{
	struct imap_expunge_state *es = s->cmd_ctx;
	bool changed = es->ch.expunged_count > 0;

	if (es->rc < 0) {
		mime_buf_append_str(&es->st.text,
		                    "[SERVERBUG] Expunge failed; see the server log.");
		imap_modify_finish(s, &es->st, IMAP_NO, false, changed);
		return;
	}
	mime_buf_append_str(&es->st.text, "Expunge completed.");
	imap_modify_finish(s, &es->st, IMAP_OK, true, changed);
}

static void imap_expunge_after(struct imap_session *s, struct imap_cmd_state *st)
{
	struct imap_expunge_state *es = (struct imap_expunge_state *)st;

	if (es->rc < 0)
		log_error("imap(%s): expunge in %s failed: %s", s->user, s->sel->name.name,
		          mbox_error(es->mb));
	/* What was expunged before a failure is gone all the same: report it. */
	imap_cmd_state_emit(s, st, imap_expunge_emit, imap_expunge_done);
}

static void imap_expunge(struct imap_session *s, const struct imap_command *cmd, bool uid)
{
	struct imap_expunge_state *es;

	if (cmd->arg_count != (uid ? 1u : 0u)) {
		imap_tagged(s, IMAP_BAD, "%s",
		            uid ? "UID EXPUNGE needs a UID set." : "EXPUNGE takes no arguments.");
		return;
	}
	if (s->sel->readonly) {
		imap_tagged(s, IMAP_NO, "[READ-ONLY] The mailbox is read-only.");
		return;
	}
	es = calloc(1, sizeof(*es));
	if (es == NULL)
		fatal("out of memory");
	es->mb = s->sel->mb;
	es->uid = uid;
	if (uid && imap_mailbox_set(s, cmd->args, true, &es->set, &es->set_n) < 0) {
		free(es);
		return;
	}
	imap_cmd_state_start(s, &es->st, imap_expunge_free);
	if (imap_cmd_state_job(&es->st, imap_expunge_work, imap_expunge_after) < 0) {
		struct imap_cmd_state *st = &es->st;

		imap_cmd_state_end(&st);
		imap_tagged(s, IMAP_NO, "[INUSE] Busy, try again.");
	}
}

void imap_cmd_expunge(struct imap_session *s, const struct imap_command *cmd)
{
	imap_expunge(s, cmd, false);
}

void imap_cmd_uid_expunge(struct imap_session *s, const struct imap_command *cmd)
{
	imap_expunge(s, cmd, true);
}
