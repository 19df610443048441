/* A session's input: the parser's events turned into commands, literals, continuation lines
   and protocol errors. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../core/log.h"
#include "../core/strutil.h"
#include "imap_commands.h"
#include "imap_session.h"

/* The tag for the reply, or "" (untagged) when there is none or it is unusable. */
static void imap_input_take_tag(struct imap_session *s, const struct imap_command *cmd)
{
	if (cmd == NULL || cmd->tag == NULL || str_copy(s->tag, sizeof(s->tag), cmd->tag) < 0)
		s->tag[0] = '\0';
}

/* ERROR: the line is bad; the parser skips the rest of it. FATAL: it cannot resynchronise. */
static void imap_input_error(struct imap_session *s, bool fatal_error)
{
	const char *reason = imap_parser_error(s->parser);
	bool in_line = s->line_cb != NULL; /* a bad continuation line ends its command */

	if (!in_line)
		imap_input_take_tag(s, imap_parser_command(s->parser));
	if (in_line)
		imap_login_abort(s);
	s->in_command = true;
	/* RFC 9051 7.1 TOOBIG: a message over the size limit, refused before "+". */
	if (!fatal_error && !in_line && strcmp(reason, "literal too large") == 0 &&
	    imap_parser_command(s->parser) != NULL && imap_parser_command(s->parser)->name != NULL &&
	    strcasecmp(imap_parser_command(s->parser)->name, "APPEND") == 0) {
		imap_tagged(s, IMAP_NO, "[TOOBIG] Message too large.");
		return;
	}
	imap_tagged(s, IMAP_BAD, "%s", reason);
	/* RELIABILITY 59: a line past the limit ends the connection; RFC 7888 4: so does a
	   non-synchronising literal we cannot take. */
	if (fatal_error || strcmp(reason, "line too long") == 0)
		imap_session_bye(s, fatal_error ? "Protocol error." : "Line too long.", reason);
}

static void imap_input_command(struct imap_session *s)
{
	const struct imap_command *cmd = imap_parser_command(s->parser);

	if (cmd->tag != NULL && strlen(cmd->tag) >= IMAP_TAG_MAX) {
		s->tag[0] = '\0';
		s->in_command = true;
		imap_tagged(s, IMAP_BAD, "Tag too long.");
		return;
	}
	imap_input_take_tag(s, cmd);
	imap_command_dispatch(s, cmd);
}

static void imap_input_literal(struct imap_session *s)
{
	const struct imap_command *cmd = imap_parser_command(s->parser);

	imap_input_take_tag(s, cmd);
	imap_command_literal(s, cmd, imap_parser_literal(s->parser));
}

static void imap_input_line(struct imap_session *s)
{
	imap_line_cb *cb = s->line_cb;
	size_t len;
	const char *line = imap_parser_line(s->parser, &len);

	s->line_cb = NULL;
	if (cb == NULL)
		fatal("imap: continuation line without a taker");
	cb(s, line, len);
}

static void imap_input_event(struct imap_session *s, enum imap_parse_result r)
{
	switch (r) {
	case IMAP_PARSE_MORE:
		break;
	case IMAP_PARSE_COMMAND:
		imap_input_command(s);
		break;
	case IMAP_PARSE_LITERAL:
		imap_input_literal(s);
		break;
	case IMAP_PARSE_LINE:
		imap_input_line(s);
		break;
	case IMAP_PARSE_ERROR:
		imap_input_error(s, false);
		break;
	case IMAP_PARSE_FATAL:
		imap_input_error(s, true);
		break;
	}
}

/* Feed the held input until it is used up or a command waits. */
void imap_session_process(struct imap_session *s)
{
	size_t off = 0;

	s->processing = true;
	while (off < s->in_len && !s->waiting && conn_is_open(s->conn) &&
	       s->state != IMAP_STATE_LOGOUT) {
		size_t used = 0;
		enum imap_parse_result r =
		    imap_parser_feed(s->parser, s->in + off, s->in_len - off, &used);

		off += used;
		imap_input_event(s, r);
		if (s->discard_input) {
			/* RFC 9051 6.2.1, CVE-2011-0411: nothing sent before the TLS handshake
			   counts, so commands pipelined behind STARTTLS are dropped unread. */
			s->discard_input = false;
			off = s->in_len;
		}
	}
	s->processing = false;
	if (!conn_is_open(s->conn) || s->state == IMAP_STATE_LOGOUT)
		off = s->in_len;
	if (off == s->in_len) {
		/* Most sessions sit idle between commands: they hold no input buffer. */
		free(s->in);
		s->in = NULL;
		s->in_len = 0;
		return;
	}
	memmove(s->in, s->in + off, s->in_len - off);
	s->in_len -= off;
}

void imap_session_input(struct imap_session *s, const uint8_t *data, size_t len)
{
	if (s->state == IMAP_STATE_LOGOUT)
		return; /* after LOGOUT or BYE nothing more is read */
	if (s->in_len + len > IMAP_INPUT_MAX) {
		/* Reading pauses while a command waits, so this needs a client that ignores it. */
		imap_session_bye(s, "Too much pipelined input.", "Too much pipelined input");
		return;
	}
	if (s->in == NULL && (s->in = malloc(IMAP_INPUT_MAX)) == NULL)
		fatal("out of memory");
	memcpy(s->in + s->in_len, data, len);
	s->in_len += len;
	if (s->state != IMAP_STATE_NOT_AUTH)
		s->bytes_in += len;
	if (!s->waiting && !s->processing)
		imap_session_process(s);
}
