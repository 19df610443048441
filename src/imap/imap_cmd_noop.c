/* NOOP (RFC 9051 6.1.2): resets the inactivity timer; once mailboxes exist, the place where
   pending EXISTS/EXPUNGE updates of the selected mailbox are sent. */
#include "imap_commands.h"
#include "imap_mailbox.h"

void imap_cmd_noop(struct imap_session *s, const struct imap_command *cmd)
{
	if (cmd->arg_count != 0) {
		imap_tagged(s, IMAP_BAD, "NOOP takes no arguments.");
		return;
	}
	/* In the selected state: the place where other programs' changes are reported. */
	imap_mailbox_done(s, true, "NOOP completed.");
}
