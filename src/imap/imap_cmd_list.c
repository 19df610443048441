/* LIST (RFC 9051 6.3.9, LIST-EXTENDED RFC 5258, SPECIAL-USE RFC 6154, LIST-STATUS RFC 5819)
   and LSUB (RFC 3501 6.3.9).

   The folder tree is read and matched on a pool thread (folder_list.h). The responses are
   then formatted on the pool too, a chunk at a time (RETURN (STATUS ...) opens each listed
   folder there, just before its lines), and each chunk is written from the loop while the
   connection's queued output stays under a mark, going on from on_drain. So a huge folder
   list never sits whole in the output queue, and the loop never spends long on one session
   (the supervisor's health ping must be answered). */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/log.h"
#include "../store/folder_list.h"
#include "imap_commands.h"
#include "imap_list_args.h"
#include "imap_mailbox.h"
#include "imap_status.h"

/* Queued output past which writing waits for the client to read (IMAP_OUTPUT_LIMIT is the
   hard cut-off). */
#define IMAP_LIST_OUTPUT_MARK (128u * 1024)
/* One pool job formats about this much output ... */
#define IMAP_LIST_CHUNK (32u * 1024)
/* ... or opens at most this many folders for RETURN (STATUS ...). */
#define IMAP_LIST_STATUS_BATCH 32

struct imap_list_entry {
	char *name; /* UTF-8 */
	unsigned attrs;
};

struct imap_list_run {
	struct imap_server *srv;
	struct imap_session *s;
	struct imap_list_run *next_waiting; /* imap_list_waiting */
	bool lsub;
	char root[PATH_MAX];
	struct imap_list_args args;
	/* the selected folder, answered from the session's handle (fixed during the command) */
	const char *sel_name;
	const struct mbox *sel_mb;
	/* the pool's answer */
	struct imap_list_entry *entries;
	size_t count, alloc;
	int rc; /* 0, -1 server error (NO), -2 request error (BAD) */
	const char *error;
	/* formatting */
	size_t next;         /* the first entry not formatted yet */
	struct mime_buf out; /* the chunk to write */
	char *status_error;  /* the first folder a chunk could not open, for the log */
};

/* Runs waiting for on_drain. A connection that closes meanwhile frees its session without
   telling the command (imap_session.c has no such hook), so runs whose session is gone are
   freed the next time any LIST starts or drains. */
static struct imap_list_run *imap_list_waiting;

static void imap_list_run_free(void *arg)
{
	struct imap_list_run *run = arg;

	if (run == NULL)
		return;
	for (size_t i = 0; i < run->count; i++)
		free(run->entries[i].name);
	free(run->entries);
	free(run->status_error);
	mime_buf_free(&run->out);
	imap_list_args_free(&run->args);
	free(run);
}

static bool imap_list_alive(const struct imap_list_run *run)
{
	for (const struct imap_session *o = run->srv->sessions; o != NULL; o = o->next) {
		if (o == run->s && o->cmd_ctx == run)
			return true;
	}
	return false;
}

static void imap_list_sweep(void)
{
	struct imap_list_run **pp = &imap_list_waiting;

	while (*pp != NULL) {
		struct imap_list_run *run = *pp;

		if (imap_list_alive(run)) {
			pp = &run->next_waiting;
			continue;
		}
		*pp = run->next_waiting;
		imap_list_run_free(run);
	}
}

static void imap_list_unwait(struct imap_list_run *run)
{
	for (struct imap_list_run **pp = &imap_list_waiting; *pp != NULL;
	     pp = &(*pp)->next_waiting) {
		if (*pp == run) {
			*pp = run->next_waiting;
			return;
		}
	}
}

/* ----- pool thread: the tree and the matching names ----- */

static void imap_list_found(const char *name, unsigned attrs, void *ctx)
{
	struct imap_list_run *run = ctx;
	struct imap_list_entry *e;

	if (run->count == run->alloc) {
		run->alloc = run->alloc == 0 ? 64 : run->alloc * 2;
		run->entries = reallocarray(run->entries, run->alloc, sizeof(*run->entries));
		if (run->entries == NULL)
			fatal("out of memory");
	}
	e = &run->entries[run->count++];
	*e = (struct imap_list_entry){.name = strdup(name), .attrs = attrs};
	if (e->name == NULL)
		fatal("out of memory");
}

static void imap_list_work(void *arg)
{
	struct imap_list_run *run = arg;
	struct folder_list *fl;
	struct folder_query q = {
	    .reference = run->args.reference,
	    .patterns = (const char *const *)run->args.patterns,
	    .pattern_count = run->args.pattern_count,
	    .select = run->args.select,
	    /* CHILDREN (RFC 3348) and the special-use attributes on every LIST, as Dovecot */
	    .ret = run->args.ret | FOLDER_RET_CHILDREN | FOLDER_RET_SPECIAL_USE,
	    .lsub = run->lsub,
	};

	if (folder_list_scan(run->root, &fl, &run->error) < 0) {
		run->rc = -1;
		return;
	}
	if (folder_list_query(fl, &q, imap_list_found, run, &run->error) < 0)
		run->rc = -2;
	folder_list_free(&fl);
}

/* ----- pool thread: formatting a chunk -----
   The session is only read for s->enabled (how names are encoded), which nothing changes
   while a command runs; the selected handle is used by this thread alone meanwhile
   (imap_mailbox.h). */

/* RETURN (STATUS ...) for one listed folder: 1 with *v_r, 0 none (not a folder, or gone). */
static int imap_list_status(struct imap_list_run *run, const struct imap_list_entry *e,
                            struct imap_status_values *v_r)
{
	struct folder_name fn;
	char *error = NULL;
	int rc;

	if (run->sel_name != NULL && strcmp(run->sel_name, e->name) == 0) {
		imap_status_from_mbox(run->sel_mb, v_r);
		return 1;
	}
	if (folder_name_from_utf8(e->name, strlen(e->name), &fn) != FOLDER_NAME_OK)
		return 0;
	rc = imap_status_read(run->root, fn.dir, v_r, &error);
	if (error != NULL && run->status_error == NULL)
		run->status_error = error;
	else
		free(error);
	return rc == 1;
}

static void imap_list_format(const struct imap_session *s, struct imap_list_run *run,
                             const struct imap_list_entry *e, bool *opened_r)
{
	struct mime_buf *b = &run->out;
	struct imap_status_values v;
	char attrs[256];

	*opened_r = false;
	if (folder_attrs_format(e->attrs & ~(unsigned)FOLDER_ATTR_CHILDINFO, run->args.extended,
	                        attrs, sizeof(attrs)) < 0)
		fatal("imap: folder attributes do not fit");
	mime_buf_printf(b, "* %s (%s) \"/\" ", run->lsub ? "LSUB" : "LIST", attrs);
	imap_mailbox_name_write(s, e->name, b);
	if ((e->attrs & FOLDER_ATTR_CHILDINFO) != 0) {
		/* RFC 5258 3.5: which selection criteria a child met */
		bool subscribed = (run->args.select & FOLDER_SEL_SUBSCRIBED) != 0;
		bool special = (run->args.select & FOLDER_SEL_SPECIAL_USE) != 0;

		mime_buf_printf(b, " (\"CHILDINFO\" (%s%s%s))", subscribed ? "\"SUBSCRIBED\"" : "",
		                subscribed && special ? " " : "", special ? "\"SPECIAL-USE\"" : "");
	}
	mime_buf_append_str(b, "\r\n");
	if (run->args.status_items == 0 || (e->attrs & FOLDER_ATTR_NONEXISTENT) != 0)
		return;
	*opened_r = true;
	if (imap_list_status(run, e, &v) == 1)
		imap_status_format(s, e->name, run->args.status_items, &v, b);
}

static void imap_list_chunk_work(void *arg)
{
	struct imap_list_run *run = arg;
	unsigned opened = 0;

	mime_buf_truncate(&run->out, 0);
	while (run->next < run->count && run->out.len < IMAP_LIST_CHUNK &&
	       opened < IMAP_LIST_STATUS_BATCH) {
		bool o;

		imap_list_format(run->s, run, &run->entries[run->next++], &o);
		opened += o;
	}
}

/* ----- loop ----- */

static void imap_list_ok(struct imap_session *s)
{
	imap_tagged(s, IMAP_OK, "List completed.");
}

static void imap_lsub_ok(struct imap_session *s)
{
	imap_tagged(s, IMAP_OK, "Lsub completed.");
}

static void imap_list_finish(struct imap_session *s, struct imap_list_run *run)
{
	imap_session_cb *done = run->lsub ? imap_lsub_ok : imap_list_ok;

	s->on_drain = NULL;
	s->cmd_ctx = NULL;
	imap_list_run_free(run);
	/* Changes to the selected folder may be reported after LIST (RFC 9051 7.5.1). */
	imap_mailbox_sync_then(s, done);
}

static void imap_list_chunk_after(struct imap_session *s, void *arg);

static void imap_list_next_chunk(struct imap_session *s, struct imap_list_run *run)
{
	if (run->next == run->count) {
		imap_list_finish(s, run);
		return;
	}
	if (imap_job_run(s, imap_list_chunk_work, imap_list_chunk_after, imap_list_run_free, run) <
	    0)
		fatal("imap: LIST job while another runs");
}

static void imap_list_drained(struct imap_session *s)
{
	struct imap_list_run *run = s->cmd_ctx;

	s->on_drain = NULL;
	imap_list_unwait(run);
	imap_list_sweep();
	imap_list_next_chunk(s, run);
}

static void imap_list_chunk_after(struct imap_session *s, void *arg)
{
	struct imap_list_run *run = arg;

	if (run->status_error != NULL) {
		log_warning("imap(%s): STATUS for LIST: %s", s->user, run->status_error);
		free(run->status_error);
		run->status_error = NULL;
	}
	imap_write(s, run->out.p, run->out.len);
	if (run->next < run->count && conn_output_pending(s->conn) >= IMAP_LIST_OUTPUT_MARK) {
		run->next_waiting = imap_list_waiting;
		imap_list_waiting = run;
		s->on_drain = imap_list_drained;
		return;
	}
	imap_list_next_chunk(s, run);
}

static void imap_list_after(struct imap_session *s, void *arg)
{
	struct imap_list_run *run = arg;

	if (run->rc < 0) {
		if (run->rc == -1)
			log_error("imap(%s): LIST of %s failed: %s", s->user, run->root,
			          run->error);
		imap_tagged(s, run->rc == -1 ? IMAP_NO : IMAP_BAD, "%s%s.",
		            run->rc == -1 ? "[SERVERBUG] Folders cannot be listed: " : "",
		            run->error);
		imap_list_run_free(run);
		return;
	}
	s->cmd_ctx = run;
	imap_list_next_chunk(s, run);
}

static void imap_list_common(struct imap_session *s, const struct imap_command *cmd, bool lsub)
{
	bool utf8 = (s->enabled & (IMAP_ENABLED_UTF8_ACCEPT | IMAP_ENABLED_IMAP4REV2)) != 0;
	struct imap_list_run *run;
	const char *error;

	imap_list_sweep();
	run = calloc(1, sizeof(*run));
	if (run == NULL)
		fatal("out of memory");
	if (imap_list_args_parse(cmd->args, lsub, utf8, &run->args, &error) < 0) {
		free(run);
		imap_tagged(s, IMAP_BAD, "%s", error);
		return;
	}
	run->srv = s->srv;
	run->s = s;
	run->lsub = lsub;
	if (s->sel != NULL) {
		run->sel_name = s->sel->name.name;
		run->sel_mb = s->sel->mb;
	}
	/* IMAP4rev2 has LIST-EXTENDED built in (RFC 9051 6.3.9): \NonExistent, not \Noselect. */
	if ((s->enabled & IMAP_ENABLED_IMAP4REV2) != 0 && !lsub)
		run->args.extended = true;
	if (run->args.empty_pattern) {
		/* RFC 9051 6.3.9: an empty pattern asks for the separator and the root. */
		imap_send(s, "* %s (\\Noselect) \"/\" \"\"", lsub ? "LSUB" : "LIST");
	}
	if (run->args.pattern_count == 0) {
		s->cmd_ctx = run;
		imap_list_finish(s, run);
		return;
	}
	if (snprintf(run->root, sizeof(run->root), "%s", s->maildir) >= (int)sizeof(run->root))
		fatal("imap: Maildir path too long");
	if (imap_job_run(s, imap_list_work, imap_list_after, imap_list_run_free, run) < 0) {
		imap_list_run_free(run);
		imap_tagged(s, IMAP_NO, "[INUSE] Busy, try again.");
	}
}

void imap_cmd_list(struct imap_session *s, const struct imap_command *cmd)
{
	imap_list_common(s, cmd, false);
}

void imap_cmd_lsub(struct imap_session *s, const struct imap_command *cmd)
{
	imap_list_common(s, cmd, true);
}
