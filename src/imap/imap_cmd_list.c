/* LIST (RFC 9051 6.3.9, LIST-EXTENDED RFC 5258, SPECIAL-USE RFC 6154, LIST-STATUS RFC 5819)
   and LSUB (RFC 3501 6.3.9).

   The folder tree is read and matched on a pool thread (folder_list.h); the names found are
   then written from the loop while the connection's queued output stays under a mark, going
   on from on_drain, so a huge folder list never sits whole in the output queue. RETURN
   (STATUS ...) opens each listed folder on the pool, a batch at a time, just before its
   lines are written; the selected folder is answered from the session's own handle. */
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
/* Folders opened by one pool job for RETURN (STATUS ...). */
#define IMAP_LIST_STATUS_BATCH 32

enum imap_list_status_state {
	IMAP_LIST_STATUS_NONE,    /* not asked, or not a folder (\NonExistent) */
	IMAP_LIST_STATUS_PENDING, /* asked, not read yet */
	IMAP_LIST_STATUS_READ,
	IMAP_LIST_STATUS_FAILED, /* gone meanwhile or unreadable: no STATUS line */
};

struct imap_list_entry {
	char *name; /* UTF-8 */
	unsigned attrs;
	enum imap_list_status_state status;
	struct imap_status_values v;
};

struct imap_list_run {
	struct imap_server *srv;
	struct imap_session *s;
	struct imap_list_run *next_waiting; /* imap_list_waiting */
	bool lsub;
	char root[PATH_MAX];
	struct imap_list_args args;
	/* the pool's answer */
	struct imap_list_entry *entries;
	size_t count, alloc;
	int rc; /* 0, -1 server error (NO), -2 request error (BAD) */
	const char *error;
	/* writing */
	size_t next;
	size_t batch_end;
	char *status_error; /* the first folder a batch could not open, for the log */
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
	if (run->args.status_items != 0 && (attrs & FOLDER_ATTR_NONEXISTENT) == 0)
		e->status = IMAP_LIST_STATUS_PENDING;
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

/* ----- pool thread: STATUS of a batch ----- */

static void imap_list_status_work(void *arg)
{
	struct imap_list_run *run = arg;

	for (size_t i = run->next; i < run->batch_end; i++) {
		struct imap_list_entry *e = &run->entries[i];
		struct folder_name fn;
		char *error = NULL;

		if (e->status != IMAP_LIST_STATUS_PENDING)
			continue;
		e->status = IMAP_LIST_STATUS_FAILED;
		if (folder_name_from_utf8(e->name, strlen(e->name), &fn) != FOLDER_NAME_OK)
			continue;
		if (imap_status_read(run->root, fn.dir, &e->v, &error) == 1)
			e->status = IMAP_LIST_STATUS_READ;
		if (error != NULL && run->status_error == NULL)
			run->status_error = error;
		else
			free(error);
	}
}

/* ----- loop: writing ----- */

static bool imap_list_is_selected(const struct imap_session *s, const char *name)
{
	return s->sel != NULL && strcmp(s->sel->name.name, name) == 0;
}

static void imap_list_write_entry(struct imap_session *s, struct imap_list_run *run,
                                  const struct imap_list_entry *e)
{
	struct mime_buf b = MIME_BUF_INIT;
	char attrs[256];

	if (folder_attrs_format(e->attrs & ~(unsigned)FOLDER_ATTR_CHILDINFO, run->args.extended,
	                        attrs, sizeof(attrs)) < 0)
		fatal("imap: folder attributes do not fit");
	mime_buf_printf(&b, "* %s (%s) \"/\" ", run->lsub ? "LSUB" : "LIST", attrs);
	imap_mailbox_name_write(s, e->name, &b);
	if ((e->attrs & FOLDER_ATTR_CHILDINFO) != 0) {
		/* RFC 5258 3.5: which selection criteria a child met */
		bool subscribed = (run->args.select & FOLDER_SEL_SUBSCRIBED) != 0;

		mime_buf_printf(
		    &b, " (\"CHILDINFO\" (%s%s%s))", subscribed ? "\"SUBSCRIBED\"" : "",
		    subscribed && (run->args.select & FOLDER_SEL_SPECIAL_USE) ? " " : "",
		    (run->args.select & FOLDER_SEL_SPECIAL_USE) ? "\"SPECIAL-USE\"" : "");
	}
	mime_buf_append_str(&b, "\r\n");
	if (run->args.status_items != 0 && imap_list_is_selected(s, e->name)) {
		struct imap_status_values v;

		imap_status_from_mbox(s->sel->mb, &v);
		imap_status_format(s, e->name, run->args.status_items, &v, &b);
	} else if (e->status == IMAP_LIST_STATUS_READ) {
		imap_status_format(s, e->name, run->args.status_items, &e->v, &b);
	}
	imap_write(s, b.p, b.len);
	mime_buf_free(&b);
}

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

static void imap_list_continue(struct imap_session *s);

static void imap_list_status_after(struct imap_session *s, void *arg)
{
	struct imap_list_run *run = arg;

	if (run->status_error != NULL) {
		log_warning("imap(%s): STATUS for LIST: %s", s->user, run->status_error);
		free(run->status_error);
		run->status_error = NULL;
	}
	imap_list_continue(s);
}

/* The next batch of folders whose STATUS is asked, from run->next on: 1 when a job reads
   them, 0 when the entry at run->next needs none. */
static int imap_list_status_batch(struct imap_session *s, struct imap_list_run *run)
{
	size_t n = 0, i;

	for (i = run->next; i < run->count && n < IMAP_LIST_STATUS_BATCH; i++) {
		struct imap_list_entry *e = &run->entries[i];

		if (e->status != IMAP_LIST_STATUS_PENDING)
			continue;
		if (imap_list_is_selected(s, e->name)) {
			e->status = IMAP_LIST_STATUS_NONE; /* answered from the session's handle */
			continue;
		}
		n++;
	}
	if (n == 0 || run->entries[run->next].status != IMAP_LIST_STATUS_PENDING)
		return 0;
	run->batch_end = i;
	if (imap_job_run(s, imap_list_status_work, imap_list_status_after, imap_list_run_free,
	                 run) < 0)
		fatal("imap: LIST job while another runs");
	return 1;
}

static void imap_list_drained(struct imap_session *s)
{
	struct imap_list_run *run = s->cmd_ctx;

	s->on_drain = NULL;
	imap_list_unwait(run);
	imap_list_sweep();
	imap_list_continue(s);
}

static void imap_list_continue(struct imap_session *s)
{
	struct imap_list_run *run = s->cmd_ctx;

	while (run->next < run->count) {
		if (imap_list_status_batch(s, run))
			return;
		imap_list_write_entry(s, run, &run->entries[run->next++]);
		if (conn_output_pending(s->conn) >= IMAP_LIST_OUTPUT_MARK) {
			run->next_waiting = imap_list_waiting;
			imap_list_waiting = run;
			s->on_drain = imap_list_drained;
			return;
		}
	}
	imap_list_finish(s, run);
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
	imap_list_continue(s);
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
