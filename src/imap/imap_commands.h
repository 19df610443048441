#ifndef MAILD_IMAP_COMMANDS_H
#define MAILD_IMAP_COMMANDS_H

#include "imap_session.h"

/*
 * The command table (imap_commands.c). Adding a command: write imap_cmd_<name>.c with
 *   void imap_cmd_<name>(struct imap_session *s, const struct imap_command *cmd)
 * that checks its arguments (imap_parser.h helpers), acts, and ends with imap_tagged(); declare
 * it below, add one row to imap_command_table (sorted by name) with the states it is allowed
 * in, and the file to meson.build. The dispatcher has already checked the state, copied the
 * tag to s->tag and refused unknown names. The arguments live until the next parser feed, which
 * does not happen before the command ends: a handler that waits may keep pointers into them.
 */

typedef void imap_cmd_fn(struct imap_session *s, const struct imap_command *cmd);

/* A literal announced in a command's arguments, before "+" is sent. */
enum imap_literal_action {
	IMAP_LITERAL_BUFFER, /* keep it in memory (within the parser's literal_mem_max) */
	IMAP_LITERAL_HANDLED /* the hook answered and called imap_parser_literal_stream/_refuse */
};
typedef enum imap_literal_action imap_literal_fn(struct imap_session *s,
                                                 const struct imap_command *so_far,
                                                 const struct imap_literal *lit);

struct imap_command_def {
	const char *name; /* upper case */
	unsigned states;  /* IMAP_STATE_BIT()s it is valid in */
	imap_cmd_fn *run;
	imap_literal_fn *literal; /* NULL: buffer every literal (APPEND will stream) */
};

/* The row for name (any case), NULL when unknown. */
const struct imap_command_def *imap_command_find(const char *name);
/* Run a complete command: state check, then the handler. */
void imap_command_dispatch(struct imap_session *s, const struct imap_command *cmd);
/* Decide on a literal announced by a command not yet complete. */
void imap_command_literal(struct imap_session *s, const struct imap_command *so_far,
                          const struct imap_literal *lit);

/* Handlers, one file each. */
imap_cmd_fn imap_cmd_append;
imap_literal_fn imap_cmd_append_literal;
imap_cmd_fn imap_cmd_authenticate;
imap_cmd_fn imap_cmd_capability;
imap_cmd_fn imap_cmd_check;
imap_cmd_fn imap_cmd_close;
imap_cmd_fn imap_cmd_copy;
imap_cmd_fn imap_cmd_create;
imap_cmd_fn imap_cmd_delete;
imap_cmd_fn imap_cmd_enable;
imap_cmd_fn imap_cmd_examine;
imap_cmd_fn imap_cmd_expunge;
imap_cmd_fn imap_cmd_fetch;
imap_cmd_fn imap_cmd_getquota;
imap_cmd_fn imap_cmd_getquotaroot;
imap_cmd_fn imap_cmd_id;
imap_cmd_fn imap_cmd_idle;
imap_cmd_fn imap_cmd_list;
imap_cmd_fn imap_cmd_login;
imap_literal_fn imap_cmd_login_literal;
imap_cmd_fn imap_cmd_logout;
imap_cmd_fn imap_cmd_lsub;
imap_cmd_fn imap_cmd_move;
imap_cmd_fn imap_cmd_namespace;
imap_cmd_fn imap_cmd_noop;
imap_cmd_fn imap_cmd_rename;
imap_cmd_fn imap_cmd_search;
imap_cmd_fn imap_cmd_select;
imap_cmd_fn imap_cmd_setquota;
imap_cmd_fn imap_cmd_sort;
imap_cmd_fn imap_cmd_starttls;
imap_cmd_fn imap_cmd_status;
imap_cmd_fn imap_cmd_store;
imap_cmd_fn imap_cmd_subscribe;
imap_cmd_fn imap_cmd_thread;
imap_cmd_fn imap_cmd_uid; /* dispatches to the UID forms in imap_cmd_uid.c */
imap_cmd_fn imap_cmd_uid_copy;
imap_cmd_fn imap_cmd_uid_expunge;
imap_cmd_fn imap_cmd_uid_fetch;
imap_cmd_fn imap_cmd_uid_move;
imap_cmd_fn imap_cmd_uid_search;
imap_cmd_fn imap_cmd_uid_sort;
imap_cmd_fn imap_cmd_uid_store;
imap_cmd_fn imap_cmd_uid_thread;
imap_cmd_fn imap_cmd_unselect;
imap_cmd_fn imap_cmd_unsubscribe;

#endif
