/* LOGIN (RFC 9051 6.2.3): user and password as astrings, checked through SASL PLAIN. */
#include <stdlib.h>
#include <string.h>

#include "../core/log.h"
#include "imap_commands.h"

/* Without TLS the password must not even be sent: a synchronising literal in LOGIN is refused
   before "+" (a non-synchronising one is already on its way and is read, then refused). */
enum imap_literal_action imap_cmd_login_literal(struct imap_session *s,
                                                const struct imap_command *so_far,
                                                const struct imap_literal *lit)
{
	(void)so_far;
	if (!lit->sync || imap_session_login_allowed(s))
		return IMAP_LITERAL_BUFFER;
	s->in_command = true;
	(void)imap_login_refuse_plaintext(s);
	imap_parser_literal_refuse(s->parser);
	return IMAP_LITERAL_HANDLED;
}

void imap_cmd_login(struct imap_session *s, const struct imap_command *cmd)
{
	const char *user, *pass;
	size_t ulen, plen;
	uint8_t *plain;

	if (cmd->arg_count != 2 || !imap_arg_get_astring(cmd->args, &user, &ulen) ||
	    !imap_arg_get_astring(cmd->args->next, &pass, &plen) ||
	    memchr(user, '\0', ulen) != NULL || memchr(pass, '\0', plen) != NULL) {
		imap_tagged(s, IMAP_BAD, "Invalid arguments.");
		return;
	}
	if (imap_login_refuse_plaintext(s))
		return;
	if (ulen >= IMAP_LOGIN_USER_MAX || plen >= IMAP_LOGIN_PASS_MAX) {
		imap_login_fail_now(s, "PLAIN");
		return;
	}
	/* RFC 4616: authzid (empty) NUL authcid NUL passwd. */
	plain = malloc(ulen + plen + 2);
	if (plain == NULL)
		fatal("out of memory");
	plain[0] = '\0';
	memcpy(plain + 1, user, ulen);
	plain[1 + ulen] = '\0';
	memcpy(plain + 2 + ulen, pass, plen);
	imap_login_start(s, "PLAIN", user, plain, ulen + plen + 2);
	explicit_bzero(plain, ulen + plen + 2);
	free(plain);
}
