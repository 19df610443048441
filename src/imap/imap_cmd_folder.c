/* CREATE, DELETE, RENAME, SUBSCRIBE and UNSUBSCRIBE (RFC 9051 6.3.4-6.3.8, RFC 3501
   6.3.3-6.3.7, CREATE-SPECIAL-USE RFC 6154 3) over the folder library (folder_ops.h), each
   run on the pool. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/log.h"
#include "../store/folder_list.h"
#include "../store/folder_ops.h"
#include "imap_commands.h"
#include "imap_mailbox.h"

enum imap_folder_cmd {
	IMAP_FOLDER_CREATE,
	IMAP_FOLDER_DELETE,
	IMAP_FOLDER_RENAME,
	IMAP_FOLDER_SUBSCRIBE,
	IMAP_FOLDER_UNSUBSCRIBE,
};

static const char *const imap_folder_done_text[] = {
    [IMAP_FOLDER_CREATE] = "Create completed.",
    [IMAP_FOLDER_DELETE] = "Delete completed.",
    [IMAP_FOLDER_RENAME] = "Rename completed.",
    [IMAP_FOLDER_SUBSCRIBE] = "Subscribe completed.",
    [IMAP_FOLDER_UNSUBSCRIBE] = "Unsubscribe completed.",
};

struct imap_folder_job {
	enum imap_folder_cmd cmd;
	char root[PATH_MAX];
	struct folder_name from, to; /* to: RENAME only */
	/* results */
	enum folder_op_error err;
	const char *error;
	bool has_children;       /* DELETE of a name that only exists as a parent */
	const char *purge_error; /* folder_purge_deleted after DELETE */
};

/* ----- pool thread ----- */

/* DELETE of a name with no directory: is it a \Noselect parent of existing folders? */
static bool imap_folder_is_parent(const char *root, const char *name)
{
	struct folder_list *fl;
	const char *error;
	unsigned attrs = 0;
	bool parent;

	if (folder_list_scan(root, &fl, &error) < 0)
		return false;
	parent = folder_list_lookup(fl, name, &attrs) == 1 &&
	         (attrs & FOLDER_ATTR_NONEXISTENT) != 0 && (attrs & FOLDER_ATTR_HASCHILDREN) != 0;
	folder_list_free(&fl);
	return parent;
}

static void imap_folder_work(void *arg)
{
	struct imap_folder_job *job = arg;

	switch (job->cmd) {
	case IMAP_FOLDER_CREATE:
		job->err = folder_create(job->root, job->from.name, &job->error);
		break;
	case IMAP_FOLDER_DELETE:
		job->err = folder_delete(job->root, job->from.name, &job->error);
		if (job->err == FOLDER_OP_NONEXISTENT)
			job->has_children = imap_folder_is_parent(job->root, job->from.name);
		/* Finish what an interrupted DELETE or CREATE left behind (folder_ops.h). */
		if (folder_purge_deleted(job->root, &job->purge_error) == 0)
			job->purge_error = NULL;
		break;
	case IMAP_FOLDER_RENAME:
		job->err = folder_rename(job->root, job->from.name, job->to.name, &job->error);
		break;
	case IMAP_FOLDER_SUBSCRIBE:
	case IMAP_FOLDER_UNSUBSCRIBE:
		job->err = folder_subscribe(job->root, job->from.name,
		                            job->cmd == IMAP_FOLDER_SUBSCRIBE, &job->error);
		break;
	}
}

/* ----- loop ----- */

static void imap_folder_ok(struct imap_session *s)
{
	const char *text = s->cmd_ctx;

	imap_tagged(s, IMAP_OK, "%s", text);
}

static void imap_folder_fail(struct imap_session *s, const struct imap_folder_job *job)
{
	switch (job->err) {
	case FOLDER_OP_OK:
		break;
	case FOLDER_OP_BAD_NAME:
		imap_tagged(s, IMAP_NO, "[CANNOT] Invalid mailbox name: %s.", job->error);
		break;
	case FOLDER_OP_EXISTS:
		imap_tagged(s, IMAP_NO, "[ALREADYEXISTS] Mailbox already exists.");
		break;
	case FOLDER_OP_NONEXISTENT:
		if (job->has_children)
			/* RFC 9051 6.3.4: a \Noselect name with inferiors cannot be deleted */
			imap_tagged(s, IMAP_NO,
			            "[HASCHILDREN] Mailbox has children and no messages.");
		else
			imap_tagged(s, IMAP_NO, "[NONEXISTENT] Mailbox doesn't exist.");
		break;
	case FOLDER_OP_INBOX:
		imap_tagged(s, IMAP_NO, "[CANNOT] INBOX cannot be deleted.");
		break;
	case FOLDER_OP_INTO_ITSELF:
		imap_tagged(s, IMAP_NO, "[CANNOT] A mailbox cannot be moved below itself.");
		break;
	case FOLDER_OP_LOCKED:
		imap_tagged(s, IMAP_NO, "[INUSE] Subscriptions are being changed; try again.");
		break;
	case FOLDER_OP_IO:
		log_error("imap(%s): %s of %s failed: %s", s->user,
		          job->cmd == IMAP_FOLDER_CREATE   ? "CREATE"
		          : job->cmd == IMAP_FOLDER_DELETE ? "DELETE"
		          : job->cmd == IMAP_FOLDER_RENAME ? "RENAME"
		                                           : "SUBSCRIBE",
		          job->from.name, job->error);
		imap_tagged(s, IMAP_NO, "[SERVERBUG] Internal error; see the server log.");
		break;
	}
}

/* The selected folder is gone (DELETE) or moved (RENAME of it or of a parent): its handle
   points at a directory that is no longer its, so it is closed (RFC 7162's CLOSED code). */
static void imap_folder_close_selected(struct imap_session *s, const struct imap_folder_job *job)
{
	if (s->sel == NULL || folder_name_is_inbox(&s->sel->name) ||
	    folder_name_is_inbox(&job->from))
		return; /* RENAME INBOX leaves INBOX and its children where they are */
	if (!folder_name_is_under(s->sel->name.name, job->from.name))
		return;
	if (job->cmd == IMAP_FOLDER_DELETE && strcmp(s->sel->name.name, job->from.name) != 0)
		return; /* a child of a deleted folder stays */
	imap_mailbox_unselect(s);
	imap_send(s, "* OK [CLOSED] Selected mailbox was %s.",
	          job->cmd == IMAP_FOLDER_DELETE ? "deleted" : "renamed");
}

static void imap_folder_after(struct imap_session *s, void *arg)
{
	struct imap_folder_job *job = arg;

	if (job->purge_error != NULL)
		log_warning("imap(%s): removing deleted folders: %s", s->user, job->purge_error);
	if (job->err != FOLDER_OP_OK) {
		imap_folder_fail(s, job);
		free(job);
		return;
	}
	if (job->cmd == IMAP_FOLDER_DELETE || job->cmd == IMAP_FOLDER_RENAME) {
		imap_folder_close_selected(s, job);
		imap_mailbox_tell_others(s);
	}
	/* RENAME INBOX empties a selected INBOX: the sync reports the expunges. */
	s->cmd_ctx = (void *)imap_folder_done_text[job->cmd];
	free(job);
	imap_mailbox_sync_then(s, imap_folder_ok);
}

static void imap_folder_run(struct imap_session *s, struct imap_folder_job *job)
{
	if (snprintf(job->root, sizeof(job->root), "%s", s->maildir) >= (int)sizeof(job->root))
		fatal("imap: Maildir path too long");
	if (imap_job_run(s, imap_folder_work, imap_folder_after, free, job) < 0) {
		free(job);
		imap_tagged(s, IMAP_NO, "[INUSE] Busy, try again.");
	}
}

static struct imap_folder_job *imap_folder_job_new(enum imap_folder_cmd cmd)
{
	struct imap_folder_job *job = calloc(1, sizeof(*job));

	if (job == NULL)
		fatal("out of memory");
	job->cmd = cmd;
	return job;
}

/* A name a new folder would get: no LIST wildcards (RELIABILITY 64), which could never be
   listed on their own. */
static bool imap_folder_new_name_ok(struct imap_session *s, const struct folder_name *fn)
{
	if (strpbrk(fn->name, "*%") == NULL)
		return true;
	imap_tagged(s, IMAP_NO, "[CANNOT] Mailbox names cannot contain * or %%.");
	return false;
}

/* ----- CREATE ----- */

static const struct {
	const char *name, *use;
} imap_special_use_names[] = {
    {"Archive", "\\Archive"}, {"Drafts", "\\Drafts"}, {"Junk", "\\Junk"},
    {"Sent", "\\Sent"},       {"Trash", "\\Trash"},
};

/* RFC 6154 3: (USE (\Sent ...)). Special use is given by name here (folder_list.h), so a
   folder can only be created with the use its name already has. 0, or -1 answered. */
static int imap_create_use(struct imap_session *s, const struct imap_arg *opts,
                           const struct folder_name *fn)
{
	const struct imap_arg *use;

	if (opts == NULL)
		return 0;
	if (opts->type != IMAP_ARG_LIST || opts->next != NULL || opts->count != 2 ||
	    !imap_arg_atom_is(opts->list, "USE") || opts->list->next->type != IMAP_ARG_LIST) {
		imap_tagged(s, IMAP_BAD, "Invalid CREATE parameters.");
		return -1;
	}
	for (use = opts->list->next->list; use != NULL; use = use->next) {
		bool ok = false;

		for (size_t i = 0;
		     i < sizeof(imap_special_use_names) / sizeof(imap_special_use_names[0]); i++) {
			if (imap_arg_atom_is(use, imap_special_use_names[i].use))
				ok = strcmp(fn->name, imap_special_use_names[i].name) == 0;
		}
		if (!ok) {
			imap_tagged(
			    s, IMAP_NO,
			    "[USEATTR] Special use is given by name: Archive, Drafts, Junk, "
			    "Sent, Trash.");
			return -1;
		}
	}
	return 0;
}

void imap_cmd_create(struct imap_session *s, const struct imap_command *cmd)
{
	struct imap_folder_job *job;
	struct imap_arg name_arg;
	struct folder_name fn;

	if (cmd->arg_count < 1 || cmd->arg_count > 2) {
		imap_tagged(s, IMAP_BAD, "CREATE needs a mailbox name.");
		return;
	}
	/* RFC 9051 6.3.4: a trailing separator only declares that children will follow. */
	name_arg = *cmd->args;
	if (name_arg.str != NULL && name_arg.len > 1 &&
	    name_arg.str[name_arg.len - 1] == FOLDER_SEP)
		name_arg.len--;
	if (imap_mailbox_name_arg(s, &name_arg, &fn) < 0 || !imap_folder_new_name_ok(s, &fn) ||
	    imap_create_use(s, cmd->args->next, &fn) < 0)
		return;
	job = imap_folder_job_new(IMAP_FOLDER_CREATE);
	job->from = fn;
	imap_folder_run(s, job);
}

/* ----- DELETE, RENAME, SUBSCRIBE, UNSUBSCRIBE ----- */

void imap_cmd_delete(struct imap_session *s, const struct imap_command *cmd)
{
	struct imap_folder_job *job;
	struct folder_name fn;

	if (cmd->arg_count != 1) {
		imap_tagged(s, IMAP_BAD, "DELETE needs a mailbox name.");
		return;
	}
	if (imap_mailbox_name_arg(s, cmd->args, &fn) < 0)
		return;
	job = imap_folder_job_new(IMAP_FOLDER_DELETE);
	job->from = fn;
	imap_folder_run(s, job);
}

void imap_cmd_rename(struct imap_session *s, const struct imap_command *cmd)
{
	struct imap_folder_job *job;
	struct folder_name from, to;

	if (cmd->arg_count != 2) {
		imap_tagged(s, IMAP_BAD, "RENAME needs two mailbox names.");
		return;
	}
	if (imap_mailbox_name_arg(s, cmd->args, &from) < 0 ||
	    imap_mailbox_name_arg(s, cmd->args->next, &to) < 0 || !imap_folder_new_name_ok(s, &to))
		return;
	job = imap_folder_job_new(IMAP_FOLDER_RENAME);
	job->from = from;
	job->to = to;
	imap_folder_run(s, job);
}

static void imap_subscribe_common(struct imap_session *s, const struct imap_command *cmd,
                                  enum imap_folder_cmd which)
{
	struct imap_folder_job *job;
	struct folder_name fn;

	if (cmd->arg_count != 1) {
		imap_tagged(s, IMAP_BAD, "%s needs a mailbox name.",
		            which == IMAP_FOLDER_SUBSCRIBE ? "SUBSCRIBE" : "UNSUBSCRIBE");
		return;
	}
	if (imap_mailbox_name_arg(s, cmd->args, &fn) < 0)
		return;
	job = imap_folder_job_new(which);
	job->from = fn;
	imap_folder_run(s, job);
}

void imap_cmd_subscribe(struct imap_session *s, const struct imap_command *cmd)
{
	imap_subscribe_common(s, cmd, IMAP_FOLDER_SUBSCRIBE);
}

void imap_cmd_unsubscribe(struct imap_session *s, const struct imap_command *cmd)
{
	imap_subscribe_common(s, cmd, IMAP_FOLDER_UNSUBSCRIBE);
}
