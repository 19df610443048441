/* ENABLE (RFC 5161): what a client turns on is recorded in the session; UTF8=ACCEPT (RFC 6855)
   and IMAP4rev2 (RFC 9051) switch the parser to UTF-8 quoted strings. Unknown names are
   ignored, as the RFC says. */
#include <string.h>

#include "imap_commands.h"

static const struct {
	const char *name;
	unsigned bit;
} imap_enable_names[] = {
    {"UTF8=ACCEPT", IMAP_ENABLED_UTF8_ACCEPT},
    {"IMAP4rev2", IMAP_ENABLED_IMAP4REV2},
    {"CONDSTORE", IMAP_ENABLED_CONDSTORE},
    {"QRESYNC", IMAP_ENABLED_QRESYNC},
};

#define IMAP_ENABLE_COUNT (sizeof(imap_enable_names) / sizeof(imap_enable_names[0]))

void imap_cmd_enable(struct imap_session *s, const struct imap_command *cmd)
{
	char enabled[128] = "";
	size_t len = 0;

	if (cmd->arg_count == 0) {
		imap_tagged(s, IMAP_BAD, "ENABLE needs at least one capability.");
		return;
	}
	for (const struct imap_arg *a = cmd->args; a != NULL; a = a->next) {
		if (a->type != IMAP_ARG_ATOM) {
			imap_tagged(s, IMAP_BAD, "Invalid ENABLE arguments.");
			return;
		}
	}
	for (size_t i = 0; i < IMAP_ENABLE_COUNT; i++) {
		unsigned bit = imap_enable_names[i].bit;
		bool asked = false;

		for (const struct imap_arg *a = cmd->args; a != NULL; a = a->next)
			asked = asked || imap_arg_atom_is(a, imap_enable_names[i].name);
		/* RFC 5161 3.1: ENABLED lists only what this command newly enabled. */
		if (!asked || (s->enabled & bit) != 0)
			continue;
		s->enabled |= bit;
		size_t n = strlen(imap_enable_names[i].name);
		enabled[len++] = ' ';
		memcpy(enabled + len, imap_enable_names[i].name, n + 1);
		len += n;
	}
	/* RFC 7162 3.2.3: QRESYNC implies CONDSTORE. */
	if ((s->enabled & IMAP_ENABLED_QRESYNC) != 0)
		s->enabled |= IMAP_ENABLED_CONDSTORE;
	imap_session_parser_update(s);
	imap_send(s, "* ENABLED%s", enabled);
	imap_tagged(s, IMAP_OK, "Enabled.");
}
