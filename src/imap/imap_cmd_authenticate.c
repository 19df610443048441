/* AUTHENTICATE (RFC 9051 6.2.2) with SASL-IR (RFC 4959). Only PLAIN is offered: it is what
   every client speaks, and only ever under TLS. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../accounts/sasl_auth.h"
#include "../core/base64.h"
#include "../core/log.h"
#include "imap_commands.h"

void imap_cmd_authenticate(struct imap_session *s, const struct imap_command *cmd)
{
	const char *mech, *ir = NULL;
	size_t mlen, irlen = 0;
	uint8_t *buf;
	ssize_t n;

	if (cmd->arg_count < 1 || cmd->arg_count > 2 || cmd->args->type != IMAP_ARG_ATOM ||
	    (cmd->arg_count == 2 && !imap_arg_get_astring(cmd->args->next, &ir, &irlen))) {
		imap_tagged(s, IMAP_BAD, "Invalid arguments.");
		return;
	}
	mech = cmd->args->str;
	mlen = cmd->args->len;
	if (mlen != 5 || strncasecmp(mech, "PLAIN", 5) != 0 ||
	    !sasl_auth_mechanism_known("PLAIN")) {
		imap_tagged(s, IMAP_NO, "Unsupported authentication mechanism.");
		return;
	}
	if (imap_login_refuse_plaintext(s))
		return;
	if (ir == NULL) {
		imap_login_start(s, "PLAIN", NULL, NULL, 0);
		return;
	}
	/* RFC 4959 3: "=" is an empty initial response. */
	if (irlen == 1 && ir[0] == '=')
		irlen = 0;
	buf = malloc(irlen / 4 * 3 + 1);
	if (buf == NULL)
		fatal("out of memory");
	n = base64_decode(ir, irlen, buf, irlen / 4 * 3 + 1);
	if (n < 0)
		imap_tagged(s, IMAP_BAD, "Invalid base64 data in initial response.");
	else
		imap_login_start(s, "PLAIN", NULL, buf, (size_t)n);
	explicit_bzero(buf, irlen / 4 * 3 + 1);
	free(buf);
}
