/* LOGOUT (RFC 9051 6.1.3): untagged BYE, then the tagged OK, then the close. */
#include "imap_commands.h"

void imap_cmd_logout(struct imap_session *s, const struct imap_command *cmd)
{
	if (cmd->arg_count != 0) {
		imap_tagged(s, IMAP_BAD, "LOGOUT takes no arguments.");
		return;
	}
	imap_send(s, "* BYE Logging out.");
	s->state = IMAP_STATE_LOGOUT; /* nothing more is read */
	s->close_reason = "Logged out";
	imap_tagged(s, IMAP_OK, "Logout completed.");
	conn_close(s->conn, true);
}
