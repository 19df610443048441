/* COPY and MOVE with their UID forms (RFC 9051 6.4.7-6.4.9, RFC 6851 MOVE, RFC 4315
   COPYUID). The destination is another handle opened on the pool (the selected one when the
   destination is the selected folder, so its \Recent messages stay its own). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/log.h"
#include "imap_commands.h"
#include "imap_seqset.h"
#include "imap_modify.h"

/* Maildir++: deleted mail is kept here, outside the quota. */
#define IMAP_TRASH_DIR ".Trash"

struct imap_copy_state {
	struct imap_cmd_state st; /* first: s->cmd_ctx */
	bool move, uid;
	struct mbox *src;
	char root[PATH_MAX];
	struct folder_name dst_name;
	bool same; /* the destination is the selected folder */
	struct maildir_quota_limit qbuf;
	const struct maildir_quota_limit *quota;
	uint32_t *uids, *dst_uids;
	size_t n, copied;
	/* results */
	bool missing;
	char *error;
	int rc;
	uint32_t uidvalidity;
	struct mbox_changes ch;
	size_t pos;
};

static void imap_copy_free(struct imap_cmd_state *st)
{
	struct imap_copy_state *cs = (struct imap_copy_state *)st;

	mbox_changes_free(&cs->ch);
	free(cs->uids);
	free(cs->dst_uids);
	free(cs->error);
	free(cs);
}

static void imap_copy_work(struct imap_cmd_state *st)
{
	struct imap_copy_state *cs = (struct imap_copy_state *)st;
	struct mbox *dst = cs->src;
	int ret = 1;

	if (!cs->same)
		ret = imap_modify_open(cs->root, cs->dst_name.dir, &dst, &cs->error);
	if (ret <= 0) {
		cs->missing = ret == 0;
		cs->rc = -1;
		return;
	}
	cs->uidvalidity = mbox_uidvalidity(dst);
	if (cs->n > 0) {
		cs->rc = cs->move ? mbox_move(cs->src, cs->uids, cs->n, dst, cs->quota,
		                              MAILDIR_QUOTA_NONINCLUSIVE, cs->dst_uids, &cs->ch)
		                  : mbox_copy(cs->src, cs->uids, cs->n, dst, cs->quota,
		                              MAILDIR_QUOTA_NONINCLUSIVE, cs->dst_uids);
		if (cs->rc == -1)
			cs->error = strdup(mbox_error(cs->src));
	}
	if (!cs->same)
		mbox_close(&dst);
}

/* "[COPYUID <uidvalidity> <source UIDs> <new UIDs>]" into b, both sets in the same order;
   0, or -1 when nothing was copied. */
static int imap_copy_code(struct imap_copy_state *cs, struct mime_buf *b)
{
	uint32_t *src = malloc((cs->n + 1) * sizeof(*src));
	uint32_t *dst = malloc((cs->n + 1) * sizeof(*dst));
	size_t k = 0;

	if (src == NULL || dst == NULL)
		fatal("out of memory");
	for (size_t i = 0; i < cs->n; i++) {
		if (cs->dst_uids[i] == 0)
			continue;
		src[k] = cs->uids[i];
		dst[k++] = cs->dst_uids[i];
	}
	cs->copied = k;
	if (k > 0) {
		mime_buf_printf(b, "[COPYUID %u ", cs->uidvalidity);
		imap_seqset_write(b, src, k);
		mime_buf_append_c(b, ' ');
		imap_seqset_write(b, dst, k);
		mime_buf_append_c(b, ']');
	}
	free(src);
	free(dst);
	return k > 0 ? 0 : -1;
}

static bool imap_copy_emit(struct imap_session *s, struct imap_cmd_state *st)
{
	struct imap_copy_state *cs = (struct imap_copy_state *)st;

	return imap_modify_emit_expunged(s, &cs->ch, &cs->pos);
}

static void imap_copy_moved(struct imap_session *s)
{
	struct imap_copy_state *cs = s->cmd_ctx;

	if (cs->rc < 0) {
		mime_buf_append_str(&cs->st.text, "[SERVERBUG] Move failed; see the server log.");
		imap_modify_finish(s, &cs->st, IMAP_NO, false, true);
		return;
	}
	mime_buf_append_str(&cs->st.text, "Move completed.");
	imap_modify_finish(s, &cs->st, IMAP_OK, true, cs->copied > 0);
}

/* The command failed before anything changed. */
static void imap_copy_refuse(struct imap_session *s, struct imap_copy_state *cs)
{
	const char *text = "[SERVERBUG] Copy failed; see the server log.";

	if (cs->missing)
		text = "[TRYCREATE] Mailbox doesn't exist.";
	else if (cs->rc == MBOX_OVER_QUOTA)
		text = "[OVERQUOTA] Quota exceeded.";
	else
		log_error("imap(%s): %s to %s failed: %s", s->user, cs->move ? "move" : "copy",
		          cs->dst_name.name, cs->error != NULL ? cs->error : "unknown error");
	mime_buf_append_str(&cs->st.text, text);
	imap_modify_finish(s, &cs->st, IMAP_NO, false, false);
}

static void imap_copy_after(struct imap_session *s, struct imap_cmd_state *st)
{
	struct imap_copy_state *cs = (struct imap_copy_state *)st;
	struct mime_buf code = MIME_BUF_INIT;
	bool have_code;

	/* mbox_move() fails after its copy only in the expunge: the copies exist then. */
	if (cs->rc < 0 && !(cs->move && cs->ch.expunged_count > 0)) {
		imap_copy_refuse(s, cs);
		return;
	}
	have_code = imap_copy_code(cs, &code) == 0;
	if (!cs->move) {
		if (have_code && code.len + 32 <= IMAP_MODIFY_TAGGED_TEXT_MAX) {
			mime_buf_append(&st->text, mime_buf_str(&code), code.len);
			mime_buf_append_c(&st->text, ' ');
		}
		mime_buf_append_str(&st->text, "Copy completed.");
		mime_buf_free(&code);
		imap_modify_finish(s, st, IMAP_OK, true, cs->copied > 0);
		return;
	}
	/* RFC 6851 4.3: COPYUID comes untagged before the expunges. */
	if (have_code && code.len <= IMAP_MODIFY_CODE_MAX) {
		struct mime_buf line = MIME_BUF_INIT;

		mime_buf_append_str(&line, "* OK ");
		mime_buf_append(&line, mime_buf_str(&code), code.len);
		mime_buf_append_str(&line, " Moved UIDs.");
		imap_modify_send_buf(s, &line);
		mime_buf_free(&line);
	}
	mime_buf_free(&code);
	imap_cmd_state_emit(s, st, imap_copy_emit, imap_copy_moved);
}

static void imap_copy(struct imap_session *s, const struct imap_command *cmd, bool uid, bool move)
{
	struct imap_copy_state *cs;
	struct imap_cmd_state *st;

	if (cmd->arg_count != 2) {
		imap_tagged(s, IMAP_BAD, "%s needs a message set and a mailbox.",
		            move ? "MOVE" : "COPY");
		return;
	}
	if (move && s->sel->readonly) {
		imap_tagged(s, IMAP_NO, "[READ-ONLY] The mailbox is read-only.");
		return;
	}
	cs = calloc(1, sizeof(*cs));
	if (cs == NULL)
		fatal("out of memory");
	cs->move = move;
	cs->uid = uid;
	cs->src = s->sel->mb;
	if (imap_mailbox_name_arg(s, cmd->args->next, &cs->dst_name) < 0 ||
	    imap_mailbox_set(s, cmd->args, uid, &cs->uids, &cs->n) < 0) {
		free(cs->uids);
		free(cs);
		return;
	}
	cs->dst_uids = calloc(cs->n + 1, sizeof(*cs->dst_uids));
	if (cs->dst_uids == NULL)
		fatal("out of memory");
	snprintf(cs->root, sizeof(cs->root), "%s", s->maildir);
	cs->same = strcmp(cs->dst_name.dir, s->sel->name.dir) == 0;
	/* A move within the account adds nothing to the quota, except out of Trash. */
	if (!move || strcmp(s->sel->name.dir, IMAP_TRASH_DIR) == 0)
		cs->quota = imap_modify_quota(s, &cs->qbuf);
	imap_cmd_state_start(s, &cs->st, imap_copy_free);
	if (imap_cmd_state_job(&cs->st, imap_copy_work, imap_copy_after) < 0) {
		st = &cs->st;
		imap_cmd_state_end(&st);
		imap_tagged(s, IMAP_NO, "[INUSE] Busy, try again.");
	}
}

void imap_cmd_copy(struct imap_session *s, const struct imap_command *cmd)
{
	imap_copy(s, cmd, false, false);
}

void imap_cmd_uid_copy(struct imap_session *s, const struct imap_command *cmd)
{
	imap_copy(s, cmd, true, false);
}

void imap_cmd_move(struct imap_session *s, const struct imap_command *cmd)
{
	imap_copy(s, cmd, false, true);
}

void imap_cmd_uid_move(struct imap_session *s, const struct imap_command *cmd)
{
	imap_copy(s, cmd, true, true);
}
