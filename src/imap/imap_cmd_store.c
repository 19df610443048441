/* STORE and UID STORE (RFC 9051 6.4.6, 6.4.9), with CONDSTORE's UNCHANGEDSINCE and MODSEQ
   (RFC 7162 3.1.3). */
#include <stdlib.h>
#include <string.h>

#include "../core/log.h"
#include "imap_commands.h"
#include "imap_seqset.h"
#include "imap_modify.h"
#include "imap_modify_args.h"

struct imap_store_state {
	struct imap_cmd_state st; /* first: s->cmd_ctx */
	struct mbox *mb;
	bool uid;
	struct imap_store_args args;
	uint32_t *uids;
	size_t n, pos;
	struct mbox_store_req req;
	struct mbox_store_result res;
	int rc;
	const char *flag_error; /* static text */
	bool too_many_modified;
};

static void imap_store_free(struct imap_cmd_state *st)
{
	struct imap_store_state *ss = (struct imap_store_state *)st;

	mbox_store_result_free(&ss->res);
	free(ss->uids);
	free(ss);
}

/* The flags argument(s) into req: one list, or several flag atoms in a row. */
static int imap_store_flags(struct mbox *mb, const struct imap_store_args *args, bool create,
                            uint8_t *flags_r, uint32_t *keywords_r, const char **error_r)
{
	*flags_r = 0;
	*keywords_r = 0;
	if (args->flags_list)
		return imap_flags_parse(mb, args->flags, create, flags_r, keywords_r, error_r);
	for (const struct imap_arg *f = args->flags; f != NULL; f = f->next) {
		uint8_t fl;
		uint32_t kw;

		if (imap_flags_parse(mb, f, create, &fl, &kw, error_r) < 0)
			return -1;
		*flags_r |= fl;
		*keywords_r |= kw;
	}
	return 0;
}

/* The messages UNCHANGEDSINCE will refuse, counted before anything changes: their set must
   fit the tagged [MODIFIED] reply (imap_tagged() lines are bounded). */
static bool imap_store_modified_fits(struct imap_store_state *ss)
{
	size_t len = 0;
	uint32_t prev = 0;

	for (size_t i = 0; i < ss->n; i++) {
		struct mbox_msg_info info;
		uint32_t seq = mbox_seq(ss->mb, ss->uids[i]);

		if (seq == 0 || mbox_msg(ss->mb, seq, &info) != 1 ||
		    info.modseq <= ss->req.unchangedsince)
			continue;
		/* a rough upper bound: every number written with its separator */
		if ((ss->uid ? info.uid : seq) != prev + 1 || prev == 0)
			len += 11;
		prev = ss->uid ? info.uid : seq;
	}
	return len <= IMAP_MODIFY_TAGGED_TEXT_MAX - 64;
}

static void imap_store_work(struct imap_cmd_state *st)
{
	struct imap_store_state *ss = (struct imap_store_state *)st;
	bool create = ss->args.op != IMAP_STORE_OP_REMOVE;

	if (imap_store_flags(ss->mb, &ss->args, create, &ss->req.flags, &ss->req.keywords,
	                     &ss->flag_error) < 0)
		return;
	if (ss->req.unchangedsince_set && !imap_store_modified_fits(ss)) {
		ss->too_many_modified = true;
		return;
	}
	ss->rc = mbox_store(ss->mb, ss->uids, ss->n, &ss->req, &ss->res);
}

static bool imap_uid_in(const uint32_t *v, size_t n, uint32_t uid)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (v[mid] == uid)
			return true;
		if (v[mid] < uid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return false;
}

/* One FETCH response for the next message of the set. RFC 7162 3.1.3: with CONDSTORE on,
   FETCH carries MODSEQ, and is sent for changed messages even with .SILENT. */
static bool imap_store_emit(struct imap_session *s, struct imap_cmd_state *st)
{
	struct imap_store_state *ss = (struct imap_store_state *)st;
	bool condstore = s->sel->condstore;
	struct mbox_msg_info info;
	struct mime_buf b = MIME_BUF_INIT;

	for (; ss->pos < ss->n; ss->pos++) {
		uint32_t uid = ss->uids[ss->pos];
		uint32_t seq = mbox_seq(ss->mb, uid);

		if (seq == 0 || imap_uid_in(ss->res.failed, ss->res.failed_count, uid) ||
		    mbox_msg(ss->mb, seq, &info) != 1)
			continue;
		if (ss->args.silent &&
		    (!condstore || !imap_uid_in(ss->res.changed, ss->res.changed_count, uid)))
			continue;
		mime_buf_printf(&b, "* %u FETCH (", seq);
		if (ss->uid)
			mime_buf_printf(&b, "UID %u ", uid);
		if (!ss->args.silent) {
			mime_buf_append_str(&b, "FLAGS ");
			imap_flags_write(ss->mb, info.flags, info.keywords, info.recent, &b);
			if (condstore)
				mime_buf_append_c(&b, ' ');
		}
		if (condstore)
			mime_buf_printf(&b, "MODSEQ (%llu)", (unsigned long long)info.modseq);
		mime_buf_append_c(&b, ')');
		imap_modify_send_buf(s, &b);
		mime_buf_free(&b);
		ss->pos++;
		return true;
	}
	return false;
}

static void imap_store_done(struct imap_session *s)
{
	struct imap_store_state *ss = s->cmd_ctx;

	if (ss->res.failed_count > 0) {
		uint32_t *v = malloc(ss->res.failed_count * sizeof(*v));
		size_t n = 0;

		if (v == NULL)
			fatal("out of memory");
		/* RFC 7162 3.1.3: UIDs for UID STORE, sequence numbers for STORE */
		for (size_t i = 0; i < ss->res.failed_count; i++) {
			uint32_t x =
			    ss->uid ? ss->res.failed[i] : mbox_seq(ss->mb, ss->res.failed[i]);

			if (x != 0)
				v[n++] = x;
		}
		mime_buf_append_str(&ss->st.text, "[MODIFIED ");
		imap_seqset_write(&ss->st.text, v, n);
		mime_buf_append_str(&ss->st.text, "] Conditional STORE failed.");
		free(v);
	} else {
		mime_buf_append_str(&ss->st.text, "Store completed.");
	}
	/* RFC 9051 7.5.1: no EXPUNGE after STORE, but after UID STORE */
	imap_modify_finish(s, &ss->st, IMAP_OK, ss->uid, ss->res.changed_count > 0);
}

static void imap_store_after(struct imap_session *s, struct imap_cmd_state *st)
{
	struct imap_store_state *ss = (struct imap_store_state *)st;

	if (ss->flag_error != NULL || ss->too_many_modified || ss->rc < 0) {
		const char *text = ss->flag_error;
		enum imap_status status = text != NULL && text[0] != '[' ? IMAP_BAD : IMAP_NO;

		if (ss->too_many_modified)
			text = "[LIMIT] Too many messages changed since UNCHANGEDSINCE; nothing "
			       "stored.";
		if (ss->rc < 0) {
			log_error("imap(%s): store in %s failed: %s", s->user, s->sel->name.name,
			          mbox_error(ss->mb));
			text = "[SERVERBUG] Store failed; see the server log.";
		}
		mime_buf_append_str(&st->text, text);
		imap_modify_finish(s, st, status, false, ss->rc < 0);
		return;
	}
	if (ss->args.unchangedsince_set)
		s->sel->condstore = true; /* RFC 7162 3.1: the client now knows MODSEQ */
	imap_cmd_state_emit(s, st, imap_store_emit, imap_store_done);
}

static void imap_store(struct imap_session *s, const struct imap_command *cmd, bool uid)
{
	struct imap_store_state *ss;
	const char *error;
	uint8_t flags;
	uint32_t keywords;

	if (s->sel->readonly) {
		imap_tagged(s, IMAP_NO, "[READ-ONLY] The mailbox is read-only.");
		return;
	}
	ss = calloc(1, sizeof(*ss));
	if (ss == NULL)
		fatal("out of memory");
	ss->mb = s->sel->mb;
	ss->uid = uid;
	error = "STORE needs a message set.";
	/* The grammar and the flags' syntax first, on the loop: keywords are created only in
	   the job, once the set is known to be valid too. */
	if (cmd->args == NULL || imap_store_args_parse(cmd->args->next, &ss->args, &error) < 0 ||
	    imap_store_flags(ss->mb, &ss->args, false, &flags, &keywords, &error) < 0) {
		free(ss);
		imap_tagged(s, error[0] == '[' ? IMAP_NO : IMAP_BAD, "%s", error);
		return;
	}
	if (imap_mailbox_set(s, cmd->args, uid, &ss->uids, &ss->n) < 0) {
		free(ss);
		return;
	}
	static const enum mbox_store_mode modes[] = {
	    [IMAP_STORE_OP_SET] = MBOX_STORE_SET,
	    [IMAP_STORE_OP_ADD] = MBOX_STORE_ADD,
	    [IMAP_STORE_OP_REMOVE] = MBOX_STORE_REMOVE,
	};
	ss->req.mode = modes[ss->args.op];
	ss->req.unchangedsince_set = ss->args.unchangedsince_set;
	ss->req.unchangedsince = ss->args.unchangedsince;
	imap_cmd_state_start(s, &ss->st, imap_store_free);
	if (imap_cmd_state_job(&ss->st, imap_store_work, imap_store_after) < 0) {
		struct imap_cmd_state *st = &ss->st;

		imap_cmd_state_end(&st);
		imap_tagged(s, IMAP_NO, "[INUSE] Busy, try again.");
	}
}

void imap_cmd_store(struct imap_session *s, const struct imap_command *cmd)
{
	imap_store(s, cmd, false);
}

void imap_cmd_uid_store(struct imap_session *s, const struct imap_command *cmd)
{
	imap_store(s, cmd, true);
}
