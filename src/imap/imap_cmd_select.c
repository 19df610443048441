/* SELECT and EXAMINE (RFC 9051 6.3.2-6.3.3, RFC 7162 CONDSTORE/QRESYNC parameters), CLOSE,
   UNSELECT (RFC 3691) and CHECK. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "../core/log.h"
#include "imap_commands.h"
#include "imap_fts_indexer.h"
#include "imap_mailbox.h"
#include "imap_seqset.h"

struct imap_select_job {
	char root[PATH_MAX];
	struct folder_name name;
	bool readonly, condstore;
	/* QRESYNC (RFC 7162 3.2.5) */
	bool qresync;
	uint32_t known_uidvalidity;
	uint64_t known_modseq;
	struct imap_seqset *known_uids; /* NULL: every UID up to UIDNEXT */
	/* results */
	struct mbox *mb;
	char *error;
	bool missing;
	struct mbox_counts counts;
	uint32_t *vanished; /* QRESYNC: UIDs the client may know that are gone */
	size_t vanished_count;
};

static void imap_select_job_free(void *arg)
{
	struct imap_select_job *job = arg;

	mbox_close(&job->mb);
	imap_seqset_free(&job->known_uids);
	free(job->vanished);
	free(job->error);
	free(job);
}

/* QRESYNC: the UIDs at or below the last one in use that the client may know and that are no
   longer here. Without an expunge log every absent UID is reported (RFC 7162 3.2.5.2 allows
   a superset as VANISHED (EARLIER)). */
static void imap_select_vanished(struct imap_select_job *job)
{
	uint32_t count = mbox_count(job->mb);
	uint32_t last = count > 0 ? mbox_uid(job->mb, count) : 0;
	size_t cap = 0;

	if (job->known_uids != NULL)
		imap_seqset_resolve(job->known_uids, last);
	for (uint32_t uid = 1, seq = 1; uid <= last; uid++) {
		if (seq <= count && mbox_uid(job->mb, seq) == uid) {
			seq++;
			continue;
		}
		if (job->known_uids != NULL && !imap_seqset_contains(job->known_uids, uid))
			continue;
		if (job->vanished_count == cap) {
			cap = cap == 0 ? 64 : cap * 2;
			job->vanished = realloc(job->vanished, cap * sizeof(uint32_t));
			if (job->vanished == NULL)
				fatal("out of memory");
		}
		job->vanished[job->vanished_count++] = uid;
	}
}

static void imap_select_work(void *arg)
{
	struct imap_select_job *job = arg;
	char cur[PATH_MAX + 300];
	struct stat st;

	snprintf(cur, sizeof(cur), "%s/%s%scur", job->root, job->name.dir,
	         job->name.dir[0] != '\0' ? "/" : "");
	if (stat(cur, &st) < 0 || !S_ISDIR(st.st_mode)) {
		job->missing = true;
		return;
	}
	if (mbox_open_flags(job->root, job->name.dir, MBOX_OPEN_DEFER_ROWS, &job->mb, &job->error) < 0)
		return;
	mbox_counts(job->mb, &job->counts);
	if (job->qresync && job->known_uidvalidity == mbox_uidvalidity(job->mb))
		imap_select_vanished(job);
}

static void imap_select_send_qresync(struct imap_session *s, struct imap_select_job *job)
{
	struct mbox *mb = s->sel->mb;
	struct mime_buf b = MIME_BUF_INIT;

	if (job->known_uidvalidity != mbox_uidvalidity(mb))
		return; /* the client must resync from scratch */
	if (job->vanished_count > 0) {
		mime_buf_append_str(&b, "* VANISHED (EARLIER) ");
		for (size_t i = 0; i < job->vanished_count;) {
			size_t j = i;

			while (j + 1 < job->vanished_count &&
			       job->vanished[j + 1] == job->vanished[j] + 1)
				j++;
			mime_buf_printf(&b, i > 0 ? ",%u" : "%u", job->vanished[i]);
			if (j > i)
				mime_buf_printf(&b, ":%u", job->vanished[j]);
			i = j + 1;
		}
		imap_send(s, "%s", mime_buf_str(&b));
		mime_buf_truncate(&b, 0);
	}
	for (uint32_t seq = 1; seq <= mbox_count(mb); seq++) {
		struct mbox_msg_info info;

		if (mbox_msg(mb, seq, &info) != 1 || info.modseq <= job->known_modseq)
			continue;
		mime_buf_truncate(&b, 0);
		mime_buf_printf(&b, "* %u FETCH (UID %u FLAGS ", seq, info.uid);
		imap_flags_write(mb, info.flags, info.keywords, info.recent, &b);
		mime_buf_printf(&b, " MODSEQ (%llu))", (unsigned long long)info.modseq);
		imap_send(s, "%s", mime_buf_str(&b));
	}
	mime_buf_free(&b);
}

static void imap_select_after(struct imap_session *s, void *arg)
{
	struct imap_select_job *job = arg;
	struct imap_selected *sel;
	struct mbox *mb;
	struct mime_buf b = MIME_BUF_INIT;

	if (job->missing || job->mb == NULL) {
		if (!job->missing)
			log_error("imap(%s): cannot open %s: %s", s->user, job->name.name,
			          job->error != NULL ? job->error : "unknown error");
		imap_tagged(s, IMAP_NO, "%s",
		            job->missing ? "[NONEXISTENT] Mailbox doesn't exist."
		                         : "[SERVERBUG] Mailbox cannot be opened; see the server log.");
		imap_select_job_free(job);
		return;
	}
	sel = calloc(1, sizeof(*sel));
	if (sel == NULL)
		fatal("out of memory");
	sel->mb = mb = job->mb;
	job->mb = NULL;
	sel->name = job->name;
	sel->readonly = job->readonly;
	sel->condstore = job->condstore || (s->enabled & (IMAP_ENABLED_CONDSTORE |
	                                                  IMAP_ENABLED_QRESYNC)) != 0;
	sel->exists = mbox_count(mb);
	s->sel = sel;
	s->state = IMAP_STATE_SELECTED;

	imap_mailbox_send_flags(s);
	imap_send(s, "* %u EXISTS", sel->exists);
	if ((s->enabled & IMAP_ENABLED_IMAP4REV2) == 0) {
		imap_send(s, "* %u RECENT", job->counts.recent);
		if (job->counts.first_unseen != 0)
			imap_send(s, "* OK [UNSEEN %u] First unseen.", job->counts.first_unseen);
	} else {
		mime_buf_append_str(&b, "* LIST () \"/\" ");
		imap_mailbox_name_write(s, sel->name.name, &b);
		imap_send(s, "%s", mime_buf_str(&b));
	}
	imap_send(s, "* OK [UIDVALIDITY %u] UIDs valid.", mbox_uidvalidity(mb));
	imap_send(s, "* OK [UIDNEXT %u] Predicted next UID.", mbox_uidnext(mb));
	imap_send(s, "* OK [HIGHESTMODSEQ %llu] Highest.",
	          (unsigned long long)mbox_highestmodseq(mb));
	if (job->qresync)
		imap_select_send_qresync(s, job);
	mime_buf_free(&b);
	imap_tagged(s, IMAP_OK, "%s",
	            sel->readonly ? "[READ-ONLY] Examine completed." : "[READ-WRITE] Select completed.");
	if (s->srv->limits.fts_background_min > 0 &&
	    sel->exists >= s->srv->limits.fts_background_min) {
		struct imap_fts_folder_state state = {.uidvalidity = mbox_uidvalidity(mb),
		                                      .uidnext = mbox_uidnext(mb),
		                                      .exists = sel->exists};

		imap_fts_indexer_start(job->root, job->name.dir, &state);
	}
	imap_select_job_free(job);
}

/* (CONDSTORE) or (QRESYNC (uidvalidity modseq [known-uids [seq-match-data]])) */
static int imap_select_params(struct imap_session *s, const struct imap_arg *a,
                              struct imap_select_job *job)
{
	const char *error;

	if (a == NULL)
		return 0;
	if (a->type != IMAP_ARG_LIST || a->next != NULL)
		return -1;
	for (const struct imap_arg *p = a->list; p != NULL; p = p->next) {
		if (p->type == IMAP_ARG_ATOM && strcasecmp(p->str, "CONDSTORE") == 0) {
			job->condstore = true;
			continue;
		}
		if (p->type != IMAP_ARG_ATOM || strcasecmp(p->str, "QRESYNC") != 0 ||
		    p->next == NULL || p->next->type != IMAP_ARG_LIST)
			return -1;
		if ((s->enabled & IMAP_ENABLED_QRESYNC) == 0)
			return -1; /* RFC 7162 3.2.5: ENABLE QRESYNC first */
		p = p->next;
		const struct imap_arg *v = p->list;
		char *end;

		if (v == NULL || v->type != IMAP_ARG_ATOM || v->next == NULL ||
		    v->next->type != IMAP_ARG_ATOM)
			return -1;
		errno = 0;
		unsigned long uv = strtoul(v->str, &end, 10);
		if (*end != '\0' || uv == 0 || uv > UINT32_MAX || errno != 0)
			return -1;
		unsigned long long ms = strtoull(v->next->str, &end, 10);
		if (*end != '\0' || ms == 0 || errno != 0)
			return -1;
		job->qresync = true;
		job->condstore = true;
		job->known_uidvalidity = (uint32_t)uv;
		job->known_modseq = ms;
		v = v->next->next;
		if (v != NULL && v->type == IMAP_ARG_ATOM &&
		    imap_seqset_parse(v->str, v->len, IMAP_SEQSET_RANGES_MAX, &job->known_uids,
		                      &error) < 0)
			return -1;
	}
	return 0;
}

static void imap_select_common(struct imap_session *s, const struct imap_command *cmd,
                               bool readonly)
{
	struct imap_select_job *job;
	struct folder_name name;

	if (cmd->arg_count < 1 || cmd->arg_count > 2) {
		imap_tagged(s, IMAP_BAD, "%s needs a mailbox name.", readonly ? "EXAMINE" : "SELECT");
		return;
	}
	/* RFC 9051 6.3.2: a SELECT first deselects, whatever its outcome. */
	if (s->sel != NULL) {
		imap_mailbox_unselect(s);
		imap_send(s, "* OK [CLOSED] Previous mailbox closed.");
	}
	if (imap_mailbox_name_arg(s, cmd->args, &name) < 0)
		return;
	job = calloc(1, sizeof(*job));
	if (job == NULL)
		fatal("out of memory");
	if (imap_select_params(s, cmd->args->next, job) < 0) {
		imap_select_job_free(job);
		imap_tagged(s, IMAP_BAD, "Invalid SELECT parameters.");
		return;
	}
	snprintf(job->root, sizeof(job->root), "%s", s->maildir);
	job->name = name;
	job->readonly = readonly;
	if (imap_job_run(s, imap_select_work, imap_select_after, imap_select_job_free, job) < 0) {
		imap_select_job_free(job);
		imap_tagged(s, IMAP_NO, "[INUSE] Busy, try again.");
	}
}

void imap_cmd_select(struct imap_session *s, const struct imap_command *cmd)
{
	imap_select_common(s, cmd, false);
}

void imap_cmd_examine(struct imap_session *s, const struct imap_command *cmd)
{
	imap_select_common(s, cmd, true);
}

void imap_cmd_unselect(struct imap_session *s, const struct imap_command *cmd)
{
	if (cmd->arg_count != 0) {
		imap_tagged(s, IMAP_BAD, "UNSELECT takes no arguments.");
		return;
	}
	imap_mailbox_unselect(s);
	imap_tagged(s, IMAP_OK, "Unselect completed.");
}

/* CLOSE: \Deleted messages go silently (RFC 9051 6.4.1), unless the folder is read-only. */
struct imap_close_job {
	struct mbox *mb;
	int rc;
	size_t expunged;
};

static void imap_close_work(void *arg)
{
	struct imap_close_job *job = arg;
	uint32_t count = mbox_count(job->mb), *uids = NULL;
	struct mbox_changes ch = {0};
	size_t n = 0;

	for (uint32_t seq = 1; seq <= count; seq++) {
		struct mbox_msg_info info;

		if (mbox_msg(job->mb, seq, &info) == 1 && (info.flags & MBOX_FLAG_DELETED)) {
			if (uids == NULL) {
				uids = malloc(count * sizeof(*uids));
				if (uids == NULL)
					fatal("out of memory");
			}
			uids[n++] = info.uid;
		}
	}
	job->rc = n > 0 ? mbox_expunge(job->mb, uids, n, &ch) : 0;
	job->expunged = n;
	mbox_changes_free(&ch);
	free(uids);
}

static void imap_close_after(struct imap_session *s, void *arg)
{
	struct imap_close_job *job = arg;

	if (job->rc < 0)
		log_warning("imap(%s): expunge at CLOSE failed: %s", s->user, mbox_error(job->mb));
	else if (job->expunged > 0)
		imap_mailbox_tell_others(s);
	free(job);
	imap_mailbox_unselect(s);
	imap_tagged(s, IMAP_OK, "Close completed.");
}

void imap_cmd_close(struct imap_session *s, const struct imap_command *cmd)
{
	struct imap_close_job *job;

	if (cmd->arg_count != 0) {
		imap_tagged(s, IMAP_BAD, "CLOSE takes no arguments.");
		return;
	}
	if (s->sel->readonly) {
		imap_mailbox_unselect(s);
		imap_tagged(s, IMAP_OK, "Close completed.");
		return;
	}
	job = calloc(1, sizeof(*job));
	if (job == NULL)
		fatal("out of memory");
	job->mb = s->sel->mb;
	if (imap_job_run(s, imap_close_work, imap_close_after, free, job) < 0) {
		free(job);
		imap_tagged(s, IMAP_NO, "[INUSE] Busy, try again.");
	}
}

void imap_cmd_check(struct imap_session *s, const struct imap_command *cmd)
{
	if (cmd->arg_count != 0) {
		imap_tagged(s, IMAP_BAD, "CHECK takes no arguments.");
		return;
	}
	imap_mailbox_done(s, true, "Check completed.");
}
