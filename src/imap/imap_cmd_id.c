/* ID (RFC 2971): the client's fields are checked and logged at debug; ours is the name only
   (no version: nothing that helps an attacker pick an exploit). */
#include <stdio.h>

#include "../core/log.h"
#include "imap_commands.h"

/* RFC 2971 3.3: at most 30 pairs, field names up to 30 octets, values up to 1024. */
#define IMAP_ID_PAIRS_MAX 30
#define IMAP_ID_FIELD_MAX 30
#define IMAP_ID_VALUE_MAX 1024

static bool imap_id_valid(const struct imap_arg *list, unsigned count)
{
	if (count % 2 != 0 || count / 2 > IMAP_ID_PAIRS_MAX)
		return false;
	for (const struct imap_arg *a = list; a != NULL; a = a->next->next) {
		const char *field, *value;
		size_t flen, vlen;

		if (!imap_arg_get_string(a, &field, &flen) || flen > IMAP_ID_FIELD_MAX ||
		    !imap_arg_get_nstring(a->next, &value, &vlen) || vlen > IMAP_ID_VALUE_MAX)
			return false;
	}
	return true;
}

static void imap_id_log(struct imap_session *s, const struct imap_arg *list)
{
	for (const struct imap_arg *a = list; a != NULL; a = a->next->next) {
		const char *field, *value;
		size_t flen, vlen;

		if (imap_arg_get_string(a, &field, &flen) &&
		    imap_arg_get_nstring(a->next, &value, &vlen) && value != NULL)
			log_debug("imap-login: ID sent: %s=%s, rip=%s, session=<%s>",
			          log_esc(field), log_esc(value), conn_peer_ip(s->conn), s->id);
	}
}

void imap_cmd_id(struct imap_session *s, const struct imap_command *cmd)
{
	const struct imap_arg *list = NULL;
	unsigned count = 0;

	if (cmd->arg_count != 1 ||
	    (cmd->args->type != IMAP_ARG_NIL && !imap_arg_get_list(cmd->args, &list, &count)) ||
	    !imap_id_valid(list, count)) {
		imap_tagged(s, IMAP_BAD, "Invalid ID arguments.");
		return;
	}
	imap_id_log(s, list);
	imap_send(s, "* ID (\"name\" \"maild\")");
	imap_tagged(s, IMAP_OK, "ID completed.");
}
