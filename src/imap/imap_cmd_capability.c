/* CAPABILITY (RFC 9051 6.1.1). */
#include "imap_capability.h"
#include "imap_commands.h"

void imap_cmd_capability(struct imap_session *s, const struct imap_command *cmd)
{
	char caps[IMAP_CAPABILITY_MAX];

	if (cmd->arg_count != 0) {
		imap_tagged(s, IMAP_BAD, "CAPABILITY takes no arguments.");
		return;
	}
	imap_session_capability(s, caps, sizeof(caps));
	imap_send(s, "* CAPABILITY %s", caps);
	imap_tagged(s, IMAP_OK, "Capability completed.");
}
