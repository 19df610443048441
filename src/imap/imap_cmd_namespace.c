/* NAMESPACE (RFC 2342, RFC 9051 6.3.10): one personal namespace, folders separated by "/".
   The archive namespace (read-only) will be added here as "other users"/"shared". */
#include "imap_commands.h"

void imap_cmd_namespace(struct imap_session *s, const struct imap_command *cmd)
{
	if (cmd->arg_count != 0) {
		imap_tagged(s, IMAP_BAD, "NAMESPACE takes no arguments.");
		return;
	}
	imap_send(s, "* NAMESPACE ((\"\" \"/\")) NIL NIL");
	imap_tagged(s, IMAP_OK, "Namespace completed.");
}
