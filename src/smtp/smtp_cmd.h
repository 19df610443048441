#ifndef MAILD_SMTP_CMD_H
#define MAILD_SMTP_CMD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "address.h"
#include "smtp_line.h"

/*
 * Parser of one SMTP command line (the text smtp_line_feed() yields, without its CRLF). Pure
 * and length-based: a NUL, CR or LF anywhere refuses the line (500 5.5.2), it never ends it.
 * It checks syntax and the limits a line can break; what the session's state allows (command
 * order, relay, AUTH before TLS, whether CHUNKING was offered) is the session's to decide.
 *
 * A refused command comes back as the reply to send (struct smtp_reply): the reply codes
 * chosen for the rows of RELIABILITY.md are
 *   500 5.5.2  NUL, CR or LF in the line, empty line (rows 4, 12)
 *   500 5.5.1  unknown verb
 *   501 5.5.4  bad arguments, bad or duplicate MAIL/RCPT parameter, broken xtext (row 29),
 *              non-numeric or negative BDAT size (row 17)
 *   555 5.5.4  MAIL/RCPT parameter unknown, or of an extension not advertised (RFC 5321
 *              4.1.1.11)
 *   552 5.3.4  SIZE= above opts->size_max, SIZE= or BDAT size past 2^64 - 1 (rows 10, 17)
 *   553 5.1.7  bad sender mailbox syntax (row 18)
 *   501 5.1.3  bad recipient mailbox syntax, `<>` as recipient (row 23)
 *   553 5.6.7  non-ASCII octet in an address without SMTPUTF8 (row 25; RFC 6531 3.5)
 *   501 5.5.2  AUTH initial response that is not base64 (row 31)
 *
 * Tolerated beyond the strict grammar, as most servers do: verbs and keywords in any case
 * (RFC 5321 2.4), trailing spaces on the line, one space after "FROM:"/"TO:", several spaces
 * between MAIL/RCPT parameters, lower-case hex digits in xtext.
 */

/* RFC 3461 4.4: an ENVID value is at most 100 characters. */
#define SMTP_ENVID_MAX 100
/* RFC 3461 4.2: an ORCPT value is at most 500 characters. */
#define SMTP_ORCPT_MAX 500
/* The addr-type of ORCPT ("rfc822"), an atom; longer is refused. */
#define SMTP_ADDR_TYPE_MAX 32
/* RFC 4954 5: AUTH= carries an xtext mailbox (or "<>"); longer is refused. */
#define SMTP_AUTH_PARAM_MAX 500
/* RFC 4422 3.1: a SASL mechanism name is 1 to 20 characters. */
#define SMTP_SASL_MECH_MAX 20

enum smtp_verb {
	SMTP_VERB_UNKNOWN,
	SMTP_VERB_EHLO,
	SMTP_VERB_HELO,
	SMTP_VERB_MAIL,
	SMTP_VERB_RCPT,
	SMTP_VERB_DATA,
	SMTP_VERB_BDAT,
	SMTP_VERB_RSET,
	SMTP_VERB_NOOP,
	SMTP_VERB_QUIT,
	SMTP_VERB_VRFY,
	SMTP_VERB_HELP,
	SMTP_VERB_STARTTLS,
	SMTP_VERB_AUTH,
};

/* Service extensions whose MAIL/RCPT parameters the session advertised in its EHLO reply. */
enum smtp_ext {
	SMTP_EXT_SIZE = 1 << 0,       /* RFC 1870: SIZE= */
	SMTP_EXT_8BITMIME = 1 << 1,   /* RFC 6152: BODY=7BIT|8BITMIME */
	SMTP_EXT_BINARYMIME = 1 << 2, /* RFC 3030: BODY=BINARYMIME */
	SMTP_EXT_SMTPUTF8 = 1 << 3,   /* RFC 6531: SMTPUTF8 */
	SMTP_EXT_DSN = 1 << 4,        /* RFC 3461: RET= ENVID= NOTIFY= ORCPT= */
	SMTP_EXT_AUTH = 1 << 5,       /* RFC 4954: AUTH= */
};

struct smtp_cmd_opts {
	unsigned ext;      /* SMTP_EXT_* advertised; 0 after HELO: no parameters at all */
	bool smtputf8;     /* RCPT: the transaction's MAIL carried SMTPUTF8 */
	uint64_t size_max; /* SIZE= above it is refused 552 5.3.4 (RFC 1870 6.1) */
};

/* The answer to a refused command. text is a static reply text; detail, if not NULL, a static
   text saying more (the address parser's error), for the log or the reply. */
struct smtp_reply {
	int code;
	const char *status;
	const char *text;
	const char *detail;
};

enum smtp_body {
	SMTP_BODY_NONE, /* no BODY= */
	SMTP_BODY_7BIT,
	SMTP_BODY_8BITMIME,
	SMTP_BODY_BINARYMIME,
};

enum smtp_ret {
	SMTP_RET_NONE, /* no RET= */
	SMTP_RET_FULL,
	SMTP_RET_HDRS,
};

enum smtp_notify {
	SMTP_NOTIFY_NEVER = 1 << 0,
	SMTP_NOTIFY_SUCCESS = 1 << 1,
	SMTP_NOTIFY_FAILURE = 1 << 2,
	SMTP_NOTIFY_DELAY = 1 << 3,
};

/* EHLO and HELO: RFC 5321 4.1.1.1, a domain (ASCII, lowercased, trailing dot removed) or an
   address literal ("[192.0.2.1]", "[ipv6:2001:db8::1]"), as address_parse() normalises it. */
struct smtp_helo {
	char domain[ADDRESS_DOMAIN_MAX + 1];
	bool literal;
};

/* MAIL FROM:<reverse-path> [params]. A source route is dropped (RFC 5321 Appendix C).
   Decoded xtext values are printable ASCII (RFC 3461 4), NUL-terminated, "" when absent. */
struct smtp_mail {
	bool null_sender; /* <>: addr is all empty */
	struct address addr;
	bool has_size;
	uint64_t size;
	enum smtp_body body;
	bool smtputf8;
	enum smtp_ret ret;
	bool has_envid;
	char envid[SMTP_ENVID_MAX + 1];
	bool has_auth;
	char auth[SMTP_AUTH_PARAM_MAX + 1]; /* "<>" is kept as such (RFC 4954 5) */
};

/* RCPT TO:<forward-path> [params]. A source route is dropped (RFC 5321 Appendix C). */
struct smtp_rcpt {
	bool postmaster; /* <postmaster> without a domain (RFC 5321 4.1.1.3): addr.local is the
	                    word as sent, addr.domain "" */
	struct address addr;
	unsigned notify; /* SMTP_NOTIFY_* bits; 0 when NOTIFY= is absent */
	bool has_orcpt;
	char orcpt_type[SMTP_ADDR_TYPE_MAX + 1]; /* as sent, e.g. "rfc822" */
	char orcpt[SMTP_ORCPT_MAX + 1];          /* the decoded address */
};

/* BDAT size [LAST] (RFC 3030 2). */
struct smtp_bdat {
	uint64_t size;
	bool last;
};

/* AUTH mechanism [initial-response] (RFC 4954 4). initial is the base64 text as sent, not
   decoded, and points into the line; "=" (an empty response) is kept as "=". */
struct smtp_auth {
	char mech[SMTP_SASL_MECH_MAX + 1]; /* upper-cased */
	bool has_initial;
	struct smtp_bytes initial;
};

struct smtp_cmd {
	enum smtp_verb verb;
	struct smtp_bytes name; /* the verb as sent, for the log */
	struct smtp_bytes arg;  /* what follows the verb and its space; VRFY, HELP, NOOP */
	union {
		struct smtp_helo helo;
		struct smtp_mail mail;
		struct smtp_rcpt rcpt;
		struct smtp_bdat bdat;
		struct smtp_auth auth;
	};
};

/* Parse the command line of len octets at line. Returns 0 with *cmd_r filled, or -1 with
   *reply_r the reply to send. Either way cmd_r->verb, name and arg are set (verb UNKNOWN for an
   unrecognised verb), so the session can count and log the command; the union member is valid
   only on success. name, arg and auth.initial point into line and live as long as it does. */
int smtp_cmd_parse(const uint8_t *line, size_t len, const struct smtp_cmd_opts *opts,
                   struct smtp_cmd *cmd_r, struct smtp_reply *reply_r);

/* "EHLO", "MAIL", ...; "UNKNOWN" for SMTP_VERB_UNKNOWN or a value out of range. */
const char *smtp_verb_name(enum smtp_verb verb);

#endif
