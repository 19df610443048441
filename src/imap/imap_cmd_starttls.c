/* STARTTLS (RFC 9051 6.2.1, RFC 2595). */
#include "imap_commands.h"

void imap_cmd_starttls(struct imap_session *s, const struct imap_command *cmd)
{
	if (cmd->arg_count != 0) {
		imap_tagged(s, IMAP_BAD, "STARTTLS takes no arguments.");
		return;
	}
	if (conn_is_tls(s->conn)) {
		imap_tagged(s, IMAP_BAD, "TLS is already active.");
		return;
	}
	if (s->srv->tls == NULL) {
		imap_tagged(s, IMAP_NO, "[UNAVAILABLE] TLS is not available.");
		return;
	}
	imap_tagged(s, IMAP_OK, "Begin TLS negotiation now.");
	if (!conn_is_open(s->conn))
		return;
	if (conn_start_tls(s->conn, s->srv->tls) < 0) {
		imap_session_bye(s, "TLS failed.", "TLS failed");
		return;
	}
	/* RFC 9051 6.2.1 and CVE-2011-0411: commands pipelined behind STARTTLS were sent in
	   plaintext and may come from a man in the middle: drop them, and the parser's partial
	   state with them. Nothing learnt before TLS is kept (no ENABLE or login can precede it).
	 */
	s->discard_input = true;
	imap_parser_reset(s->parser);
	s->enabled = 0;
	imap_session_parser_update(s);
}
