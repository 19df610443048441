/* NOOP (RFC 9051 6.1.2): resets the inactivity timer; once mailboxes exist, the place where
   pending EXISTS/EXPUNGE updates of the selected mailbox are sent. */
#include "imap_commands.h"

void imap_cmd_noop(struct imap_session *s, const struct imap_command *cmd)
{
	if (cmd->arg_count != 0) {
		imap_tagged(s, IMAP_BAD, "NOOP takes no arguments.");
		return;
	}
	imap_tagged(s, IMAP_OK, "NOOP completed.");
}
