/* UID FETCH/SEARCH/SORT/THREAD/STORE/COPY/MOVE/EXPUNGE (RFC 9051 6.4.9, RFC 4315, RFC 6851,
   RFC 5256): the sub-command runs with its arguments as a command of its own, through a
   handler of the UID form. */
#include <string.h>
#include <strings.h>

#include "imap_commands.h"

struct imap_uid_def {
	const char *name;
	imap_cmd_fn *run;
};

/* One row per UID form; the table ends with a NULL row (it is short: a scan will do). */
static const struct imap_uid_def imap_uid_table[] = {
    {"COPY", imap_cmd_uid_copy},
    {"EXPUNGE", imap_cmd_uid_expunge},
    {"FETCH", imap_cmd_uid_fetch},
    {"MOVE", imap_cmd_uid_move},
    {"SEARCH", imap_cmd_uid_search},
    {"SORT", imap_cmd_uid_sort},
    {"STORE", imap_cmd_uid_store},
    {"THREAD", imap_cmd_uid_thread},
    {NULL, NULL},
};

void imap_cmd_uid(struct imap_session *s, const struct imap_command *cmd)
{
	const struct imap_arg *sub = cmd->args;

	if (sub == NULL || sub->type != IMAP_ARG_ATOM) {
		imap_tagged(s, IMAP_BAD, "UID needs a command.");
		return;
	}
	for (const struct imap_uid_def *def = imap_uid_table; def->name != NULL; def++) {
		if (strcasecmp(sub->str, def->name) != 0)
			continue;
		/* Kept in the session: a handler that waits may hold on to its command. */
		s->uid_cmd.tag = cmd->tag;
		s->uid_cmd.name = sub->str;
		s->uid_cmd.args = sub->next;
		s->uid_cmd.arg_count = cmd->arg_count - 1;
		def->run(s, &s->uid_cmd);
		return;
	}
	imap_tagged(s, IMAP_BAD, "Unknown UID command.");
}
