/* Table-driven dispatch of IMAP commands by name and state (RFC 9051 6). */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "imap_commands.h"
#include "core/array_sort.h"

/* Sorted by name (strcmp order): imap_command_find() searches it by halves. */
static const struct imap_command_def imap_command_table[] = {
    {"APPEND", IMAP_AUTH | IMAP_SELECTED, imap_cmd_append, imap_cmd_append_literal},
    {"AUTHENTICATE", IMAP_NOT_AUTH, imap_cmd_authenticate, NULL},
    {"CAPABILITY", IMAP_ANY_STATE, imap_cmd_capability, NULL},
    {"CHECK", IMAP_SELECTED, imap_cmd_check, NULL},
    {"CLOSE", IMAP_SELECTED, imap_cmd_close, NULL},
    {"COPY", IMAP_SELECTED, imap_cmd_copy, NULL},
    {"CREATE", IMAP_AUTH | IMAP_SELECTED, imap_cmd_create, NULL},
    {"DELETE", IMAP_AUTH | IMAP_SELECTED, imap_cmd_delete, NULL},
    {"ENABLE", IMAP_AUTH, imap_cmd_enable, NULL}, /* RFC 5161 3.1: before SELECT */
    {"EXAMINE", IMAP_AUTH | IMAP_SELECTED, imap_cmd_examine, NULL},
    {"EXPUNGE", IMAP_SELECTED, imap_cmd_expunge, NULL},
    {"FETCH", IMAP_SELECTED, imap_cmd_fetch, NULL},
    {"GETQUOTA", IMAP_AUTH | IMAP_SELECTED, imap_cmd_getquota, NULL},
    {"GETQUOTAROOT", IMAP_AUTH | IMAP_SELECTED, imap_cmd_getquotaroot, NULL},
    {"ID", IMAP_ANY_STATE, imap_cmd_id, NULL},
    {"IDLE", IMAP_AUTH | IMAP_SELECTED, imap_cmd_idle, NULL},
    {"LIST", IMAP_AUTH | IMAP_SELECTED, imap_cmd_list, NULL},
    {"LOGIN", IMAP_NOT_AUTH, imap_cmd_login, imap_cmd_login_literal},
    {"LOGOUT", IMAP_ANY_STATE, imap_cmd_logout, NULL},
    {"LSUB", IMAP_AUTH | IMAP_SELECTED, imap_cmd_lsub, NULL},
    {"MOVE", IMAP_SELECTED, imap_cmd_move, NULL},
    {"NAMESPACE", IMAP_AUTH | IMAP_SELECTED, imap_cmd_namespace, NULL},
    {"NOOP", IMAP_ANY_STATE, imap_cmd_noop, NULL},
    {"RENAME", IMAP_AUTH | IMAP_SELECTED, imap_cmd_rename, NULL},
    {"SEARCH", IMAP_SELECTED, imap_cmd_search, NULL},
    {"SELECT", IMAP_AUTH | IMAP_SELECTED, imap_cmd_select, NULL},
    {"SETQUOTA", IMAP_AUTH | IMAP_SELECTED, imap_cmd_setquota, NULL},
    {"SORT", IMAP_SELECTED, imap_cmd_sort, NULL},
    {"STARTTLS", IMAP_NOT_AUTH, imap_cmd_starttls, NULL},
    {"STATUS", IMAP_AUTH | IMAP_SELECTED, imap_cmd_status, NULL},
    {"STORE", IMAP_SELECTED, imap_cmd_store, NULL},
    {"SUBSCRIBE", IMAP_AUTH | IMAP_SELECTED, imap_cmd_subscribe, NULL},
    {"THREAD", IMAP_SELECTED, imap_cmd_thread, NULL},
    {"UID", IMAP_SELECTED, imap_cmd_uid, NULL},
    {"UNSELECT", IMAP_SELECTED, imap_cmd_unselect, NULL},
    {"UNSUBSCRIBE", IMAP_AUTH | IMAP_SELECTED, imap_cmd_unsubscribe, NULL},
};

#define IMAP_COMMAND_COUNT (sizeof(imap_command_table) / sizeof(imap_command_table[0]))

static int imap_command_cmp(const void *key, const void *elem)
{
	const struct imap_command_def *def = elem;

	return strcasecmp(key, def->name);
}

const struct imap_command_def *imap_command_find(const char *name)
{
	if (name == NULL)
		return NULL;
	return array_search(name, imap_command_table, IMAP_COMMAND_COUNT, sizeof(imap_command_table[0]),
	               imap_command_cmp);
}

/* Unknown, or not valid now: BAD (RFC 9051 7.1.5: "command unknown or arguments invalid"). */
static const struct imap_command_def *imap_command_check(struct imap_session *s, const char *name)
{
	const struct imap_command_def *def = imap_command_find(name);

	if (def == NULL) {
		imap_tagged(s, IMAP_BAD, "Unknown command.");
		return NULL;
	}
	if ((def->states & IMAP_STATE_BIT(s->state)) == 0) {
		imap_tagged(s, IMAP_BAD, "%s",
		            s->state == IMAP_STATE_NOT_AUTH ? "Command not valid before login."
		                                            : "Command not valid in this state.");
		return NULL;
	}
	return def;
}

void imap_command_dispatch(struct imap_session *s, const struct imap_command *cmd)
{
	const struct imap_command_def *def;

	s->in_command = true;
	def = imap_command_check(s, cmd->name);
	if (def != NULL)
		def->run(s, cmd);
}

void imap_command_literal(struct imap_session *s, const struct imap_command *so_far,
                          const struct imap_literal *lit)
{
	const struct imap_command_def *def = imap_command_find(so_far->name);

	/* A synchronising literal of a command we would refuse anyway is refused before "+":
	   the client does not send it and we read nothing. */
	if (lit->sync && (def == NULL || (def->states & IMAP_STATE_BIT(s->state)) == 0)) {
		s->in_command = true;
		(void)imap_command_check(s, so_far->name);
		imap_parser_literal_refuse(s->parser);
		return;
	}
	if (def != NULL && def->literal != NULL &&
	    def->literal(s, so_far, lit) == IMAP_LITERAL_HANDLED)
		return;
	if (imap_parser_literal_buffer(s->parser) < 0)
		return; /* the next feed reports "literal too large" */
	if (lit->sync)
		imap_send(s, "+ Ready for literal data");
}
