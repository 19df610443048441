#include <string.h>

#include "smtp_cmd.h"

/* What a verb's argument parser is given. */
struct smtp_cmd_in {
	struct smtp_bytes arg;
	const struct smtp_cmd_opts *opts;
	struct smtp_cmd *cmd;
	struct smtp_reply *reply;
};

typedef int smtp_cmd_args_fn(const struct smtp_cmd_in *in);

/* A MAIL or RCPT parameter: its keyword, the extensions that bring it (any of them), and the
   parser of its value (value empty and has_value false for a bare keyword). */
struct smtp_param_def {
	const char *keyword;
	unsigned ext;
	int (*parse)(struct smtp_bytes value, bool has_value, const struct smtp_cmd_in *in);
};

/* The replies, with the classes RELIABILITY.md asks for (see the header). */
#define REPLY(c, s, t)                                                                             \
	{                                                                                          \
		.code = (c), .status = (s), .text = (t), .detail = NULL                            \
	}
static const struct smtp_reply reply_bad_char = REPLY(500, "5.5.2", "invalid character in command");
static const struct smtp_reply reply_empty = REPLY(500, "5.5.2", "empty command");
static const struct smtp_reply reply_unknown = REPLY(500, "5.5.1", "command not recognized");
static const struct smtp_reply reply_no_args =
    REPLY(501, "5.5.4", "syntax error: command takes no arguments");
static const struct smtp_reply reply_helo = REPLY(501, "5.5.4", "syntax: EHLO domain");
static const struct smtp_reply reply_helo_domain = REPLY(501, "5.5.4", "invalid domain name");
static const struct smtp_reply reply_mail = REPLY(501, "5.5.4", "syntax: MAIL FROM:<address>");
static const struct smtp_reply reply_rcpt = REPLY(501, "5.5.4", "syntax: RCPT TO:<address>");
static const struct smtp_reply reply_sender = REPLY(553, "5.1.7", "sender address syntax error");
static const struct smtp_reply reply_recipient =
    REPLY(501, "5.1.3", "recipient address syntax error");
static const struct smtp_reply reply_null_rcpt = REPLY(501, "5.1.3", "null recipient not allowed");
static const struct smtp_reply reply_8bit =
    REPLY(553, "5.6.7", "non-ASCII address requires SMTPUTF8");
static const struct smtp_reply reply_param_syntax = REPLY(501, "5.5.4", "invalid parameter syntax");
static const struct smtp_reply reply_param_unknown = REPLY(555, "5.5.4", "parameter not supported");
static const struct smtp_reply reply_param_dup = REPLY(501, "5.5.4", "duplicate parameter");
static const struct smtp_reply reply_param_value = REPLY(501, "5.5.4", "invalid parameter value");
static const struct smtp_reply reply_xtext = REPLY(501, "5.5.4", "invalid xtext in parameter");
static const struct smtp_reply reply_body_type = REPLY(555, "5.5.4", "BODY type not supported");
static const struct smtp_reply reply_too_big =
    REPLY(552, "5.3.4", "message size exceeds fixed maximum");
static const struct smtp_reply reply_bdat = REPLY(501, "5.5.4", "syntax: BDAT size [LAST]");
static const struct smtp_reply reply_auth =
    REPLY(501, "5.5.4", "syntax: AUTH mechanism [initial-response]");
static const struct smtp_reply reply_auth_base64 =
    REPLY(501, "5.5.2", "invalid base64 in initial response");

static int smtp_cmd_refuse(const struct smtp_cmd_in *in, const struct smtp_reply *reply,
                           const char *detail)
{
	*in->reply = *reply;
	in->reply->detail = detail;
	return -1;
}

/* ---- bytes ---- */

static uint8_t ascii_upper(uint8_t c)
{
	return c >= 'a' && c <= 'z' ? (uint8_t)(c - 'a' + 'A') : c;
}

static bool ascii_alnum(uint8_t c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

/* Whether b starts with word (upper case) in any ASCII case. */
static bool bytes_caseprefix(struct smtp_bytes b, const char *word)
{
	size_t n = strlen(word);

	if (b.len < n)
		return false;
	for (size_t i = 0; i < n; i++) {
		if (ascii_upper(b.p[i]) != (uint8_t)word[i])
			return false;
	}
	return true;
}

static bool bytes_caseeq(struct smtp_bytes b, const char *word)
{
	return b.len == strlen(word) && bytes_caseprefix(b, word);
}

static struct smtp_bytes bytes_skip(struct smtp_bytes b, size_t n)
{
	return (struct smtp_bytes){.p = b.p + n, .len = b.len - n};
}

static struct smtp_bytes bytes_skip_spaces(struct smtp_bytes b)
{
	while (b.len > 0 && b.p[0] == ' ')
		b = bytes_skip(b, 1);
	return b;
}

/* Split b at the first sep: returns what comes before it and leaves *b after it (empty when
   there is no sep). *found_r, if not NULL, says whether there was one. */
static struct smtp_bytes bytes_split(struct smtp_bytes *b, uint8_t sep, bool *found_r)
{
	const uint8_t *at = b->len > 0 ? memchr(b->p, sep, b->len) : NULL;
	struct smtp_bytes head = *b;

	if (found_r != NULL)
		*found_r = at != NULL;
	if (at == NULL) {
		*b = bytes_skip(*b, b->len);
		return head;
	}
	head.len = (size_t)(at - b->p);
	*b = bytes_skip(*b, head.len + 1);
	return head;
}

/* 1*DIGIT: 1 with *n_r, 0 when b is not a number, -1 when it is past UINT64_MAX. */
static int bytes_number(struct smtp_bytes b, uint64_t *n_r)
{
	uint64_t n = 0;
	bool overflow = false;

	if (b.len == 0)
		return 0;
	for (size_t i = 0; i < b.len; i++) {
		uint64_t digit;

		if (b.p[i] < '0' || b.p[i] > '9')
			return 0;
		digit = (uint64_t)(b.p[i] - '0');
		if (n > (UINT64_MAX - digit) / 10)
			overflow = true;
		else
			n = n * 10 + digit;
	}
	*n_r = n;
	return overflow ? -1 : 1;
}

/* ---- domains and paths ---- */

/* A Domain or address-literal (RFC 5321 4.1.2, 4.1.3), checked by address_parse()'s rules. */
static int smtp_cmd_domain(struct smtp_bytes d, bool utf8, struct address *addr_r,
                           const char **error_r)
{
	char text[2 + ADDRESS_DOMAIN_MAX + 1];

	/* one more than the longest domain: room for the trailing dot address_parse() drops */
	if (d.len > ADDRESS_DOMAIN_MAX + 1) {
		*error_r = "domain too long";
		return -1;
	}
	if (d.len > 0 && memchr(d.p, '@', d.len) != NULL) {
		*error_r = "invalid character in domain";
		return -1;
	}
	memcpy(text, "x@", 2);
	if (d.len > 0)
		memcpy(text + 2, d.p, d.len);
	return address_parse(text, 2 + d.len, utf8, addr_r, error_r);
}

/* RFC 5321 4.1.2: A-d-l = At-domain *( "," At-domain ), At-domain = "@" Domain. Appendix C
   (row 22): a source route is checked, then ignored; *path is left at the mailbox. */
static int smtp_cmd_route(struct smtp_bytes *path, const char **error_r)
{
	struct smtp_bytes route, hop;
	struct address addr;
	bool colon, more;

	if (path->len == 0 || path->p[0] != '@')
		return 0;
	route = bytes_split(path, ':', &colon);
	if (!colon) {
		*error_r = "source route without colon";
		return -1;
	}
	do {
		hop = bytes_split(&route, ',', &more);
		if (hop.len < 2 || hop.p[0] != '@' || hop.p[1] == '[' ||
		    smtp_cmd_domain(bytes_skip(hop, 1), false, &addr, error_r) < 0) {
			*error_r = "invalid source route";
			return -1;
		}
	} while (more);
	return 0;
}

/* Where the '>' closing a path at arg.p[0] == '<' is, skipping quoted strings (a quoted local
   part may hold '>'); 0 when there is none. */
static size_t smtp_cmd_path_end(struct smtp_bytes arg)
{
	bool quoted = false;

	for (size_t i = 1; i < arg.len; i++) {
		if (quoted && arg.p[i] == '\\')
			i++;
		else if (arg.p[i] == '"')
			quoted = !quoted;
		else if (!quoted && arg.p[i] == '>')
			return i;
	}
	return 0;
}

/* keyword [SP] "<" path ">" [SP params], as in "FROM:<a@b> SIZE=1". *path_r is what is
   between the brackets, *params_r what follows them. RFC 5321 4.1.1.2 has no space after the
   colon; one is tolerated, as common clients send it. */
static int smtp_cmd_path(struct smtp_bytes arg, const char *keyword, struct smtp_bytes *path_r,
                         struct smtp_bytes *params_r)
{
	size_t end;

	if (!bytes_caseprefix(arg, keyword))
		return -1;
	arg = bytes_skip(arg, strlen(keyword));
	if (arg.len > 0 && arg.p[0] == ' ')
		arg = bytes_skip(arg, 1);
	if (arg.len == 0 || arg.p[0] != '<')
		return -1;
	end = smtp_cmd_path_end(arg);
	if (end == 0)
		return -1;
	*path_r = (struct smtp_bytes){.p = arg.p + 1, .len = end - 1};
	*params_r = bytes_skip(arg, end + 1);
	if (params_r->len > 0 && params_r->p[0] != ' ')
		return -1;
	return 0;
}

static bool bytes_8bit(struct smtp_bytes b)
{
	for (size_t i = 0; i < b.len; i++) {
		if (b.p[i] >= 0x80)
			return true;
	}
	return false;
}

/* The mailbox of a non-empty path: route dropped, then address_parse(). bad is the reply for
   a syntax error. */
static int smtp_cmd_address(const struct smtp_cmd_in *in, struct smtp_bytes path, bool utf8,
                            const struct smtp_reply *bad, struct address *addr_r)
{
	const char *error;

	/* RFC 6531 3.5 (row 25): an 8-bit address needs SMTPUTF8 on this transaction */
	if (!utf8 && bytes_8bit(path))
		return smtp_cmd_refuse(in, &reply_8bit, NULL);
	if (smtp_cmd_route(&path, &error) < 0 ||
	    address_parse((const char *)path.p, path.len, utf8, addr_r, &error) < 0)
		return smtp_cmd_refuse(in, bad, error);
	return 0;
}

/* ---- MAIL and RCPT parameters ---- */

/* RFC 5321 4.1.2: esmtp-keyword = (ALPHA / DIGIT) *(ALPHA / DIGIT / "-") */
static bool smtp_param_keyword_ok(struct smtp_bytes k)
{
	if (k.len == 0 || !ascii_alnum(k.p[0]))
		return false;
	for (size_t i = 1; i < k.len; i++) {
		if (!ascii_alnum(k.p[i]) && k.p[i] != '-')
			return false;
	}
	return true;
}

/* RFC 5321 4.1.2: esmtp-value = 1*(%d33-60 / %d62-126); none of ours takes RFC 6531's UTF-8. */
static bool smtp_param_value_ok(struct smtp_bytes v)
{
	if (v.len == 0)
		return false;
	for (size_t i = 0; i < v.len; i++) {
		if (v.p[i] < 33 || v.p[i] > 126 || v.p[i] == '=')
			return false;
	}
	return true;
}

static int hex_value(uint8_t c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = ascii_upper(c);
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* RFC 3461 4: xtext = *( xchar / hexchar ), hexchar = "+" 2HEXDIG naming one octet (RFC 3461
   asks for upper-case digits; lower case is unambiguous and accepted). v already passed
   smtp_param_value_ok(), so '+' is the only octet that needs care. The decoded text must be
   printable ASCII (RFC 3461 4.2, 4.4): no control octet ever reaches a DSN or a header.
   out has room for v.len + 1 octets; it is NUL-terminated. */
static int smtp_xtext_decode(struct smtp_bytes v, char *out)
{
	size_t o = 0;

	if (v.len == 0)
		return -1;
	for (size_t i = 0; i < v.len; i++) {
		int hi, lo;

		if (v.p[i] != '+') {
			out[o++] = (char)v.p[i];
			continue;
		}
		if (v.len - i < 3)
			return -1;
		hi = hex_value(v.p[i + 1]);
		lo = hex_value(v.p[i + 2]);
		if (hi < 0 || lo < 0 || hi * 16 + lo < 32 || hi * 16 + lo > 126)
			return -1;
		out[o++] = (char)(hi * 16 + lo);
		i += 2;
	}
	out[o] = '\0';
	return 0;
}

/* An xtext value of at most max octets as sent, decoded into out (max + 1 octets). */
static int smtp_param_xtext(const struct smtp_cmd_in *in, struct smtp_bytes v, bool has_value,
                            size_t max, char *out)
{
	if (!has_value || v.len > max)
		return smtp_cmd_refuse(in, &reply_param_value, NULL);
	if (smtp_xtext_decode(v, out) < 0)
		return smtp_cmd_refuse(in, &reply_xtext, NULL);
	return 0;
}

/* RFC 1870 6: SIZE=size-value, refused at MAIL time when above the limit (row 10). */
static int smtp_param_size(struct smtp_bytes v, bool has_value, const struct smtp_cmd_in *in)
{
	struct smtp_mail *mail = &in->cmd->mail;
	int r = has_value ? bytes_number(v, &mail->size) : 0;

	if (r == 0)
		return smtp_cmd_refuse(in, &reply_param_value, "invalid SIZE");
	if (r < 0 || mail->size > in->opts->size_max)
		return smtp_cmd_refuse(in, &reply_too_big, NULL);
	mail->has_size = true;
	return 0;
}

/* RFC 6152 2 and RFC 3030 3: BODY=7BIT / 8BITMIME / BINARYMIME */
static int smtp_param_body(struct smtp_bytes v, bool has_value, const struct smtp_cmd_in *in)
{
	static const struct {
		const char *name;
		enum smtp_body body;
		unsigned ext;
	} types[] = {
	    {"7BIT", SMTP_BODY_7BIT, SMTP_EXT_8BITMIME},
	    {"8BITMIME", SMTP_BODY_8BITMIME, SMTP_EXT_8BITMIME},
	    {"BINARYMIME", SMTP_BODY_BINARYMIME, SMTP_EXT_BINARYMIME},
	};

	for (size_t i = 0; has_value && i < sizeof(types) / sizeof(types[0]); i++) {
		if (!bytes_caseeq(v, types[i].name))
			continue;
		if ((in->opts->ext & types[i].ext) == 0)
			return smtp_cmd_refuse(in, &reply_body_type, NULL);
		in->cmd->mail.body = types[i].body;
		return 0;
	}
	return smtp_cmd_refuse(in, &reply_param_value, "invalid BODY");
}

/* RFC 6531 3.4: SMTPUTF8 has no value. */
static int smtp_param_smtputf8(struct smtp_bytes v, bool has_value, const struct smtp_cmd_in *in)
{
	(void)v;
	if (has_value)
		return smtp_cmd_refuse(in, &reply_param_value, "SMTPUTF8 takes no value");
	in->cmd->mail.smtputf8 = true;
	return 0;
}

/* RFC 3461 4.3: RET=FULL / HDRS */
static int smtp_param_ret(struct smtp_bytes v, bool has_value, const struct smtp_cmd_in *in)
{
	if (has_value && bytes_caseeq(v, "FULL"))
		in->cmd->mail.ret = SMTP_RET_FULL;
	else if (has_value && bytes_caseeq(v, "HDRS"))
		in->cmd->mail.ret = SMTP_RET_HDRS;
	else
		return smtp_cmd_refuse(in, &reply_param_value, "invalid RET");
	return 0;
}

/* RFC 3461 4.4: ENVID=xtext, at most 100 characters */
static int smtp_param_envid(struct smtp_bytes v, bool has_value, const struct smtp_cmd_in *in)
{
	struct smtp_mail *mail = &in->cmd->mail;

	if (smtp_param_xtext(in, v, has_value, SMTP_ENVID_MAX, mail->envid) < 0)
		return -1;
	mail->has_envid = true;
	return 0;
}

/* RFC 4954 5: AUTH=xtext (a mailbox, or "<>" for an unknown submitter). */
static int smtp_param_auth(struct smtp_bytes v, bool has_value, const struct smtp_cmd_in *in)
{
	struct smtp_mail *mail = &in->cmd->mail;

	if (smtp_param_xtext(in, v, has_value, SMTP_AUTH_PARAM_MAX, mail->auth) < 0)
		return -1;
	mail->has_auth = true;
	return 0;
}

/* RFC 3461 4.1: NOTIFY="NEVER" / 1#( "SUCCESS" / "FAILURE" / "DELAY" ) */
static int smtp_param_notify(struct smtp_bytes v, bool has_value, const struct smtp_cmd_in *in)
{
	/* in the order of the SMTP_NOTIFY_* bits */
	static const char *const words[] = {"NEVER", "SUCCESS", "FAILURE", "DELAY"};
	const size_t nwords = sizeof(words) / sizeof(words[0]);
	unsigned bits = 0;
	bool more = has_value;
	size_t i;

	while (more) {
		struct smtp_bytes word = bytes_split(&v, ',', &more);

		for (i = 0; i < nwords && !bytes_caseeq(word, words[i]); i++)
			;
		if (i == nwords || (bits & (1u << i)) != 0)
			return smtp_cmd_refuse(in, &reply_param_value, "invalid NOTIFY");
		bits |= 1u << i;
	}
	/* NEVER stands alone */
	if (bits == 0 || ((bits & SMTP_NOTIFY_NEVER) != 0 && bits != SMTP_NOTIFY_NEVER))
		return smtp_cmd_refuse(in, &reply_param_value, "invalid NOTIFY");
	in->cmd->rcpt.notify = bits;
	return 0;
}

/* RFC 5322 3.2.3 atext, for the atom of an ORCPT addr-type. */
static bool smtp_atom_ok(struct smtp_bytes a)
{
	if (a.len == 0)
		return false;
	for (size_t i = 0; i < a.len; i++) {
		if (!ascii_alnum(a.p[i]) && strchr("!#$%&'*+-/=?^_`{|}~", a.p[i]) == NULL)
			return false;
	}
	return true;
}

/* RFC 3461 4.2: ORCPT=addr-type ";" xtext, at most 500 characters */
static int smtp_param_orcpt(struct smtp_bytes v, bool has_value, const struct smtp_cmd_in *in)
{
	struct smtp_rcpt *rcpt = &in->cmd->rcpt;
	struct smtp_bytes type;
	bool semicolon;

	if (!has_value || v.len > SMTP_ORCPT_MAX)
		return smtp_cmd_refuse(in, &reply_param_value, "invalid ORCPT");
	type = bytes_split(&v, ';', &semicolon);
	if (!semicolon || type.len > SMTP_ADDR_TYPE_MAX || !smtp_atom_ok(type))
		return smtp_cmd_refuse(in, &reply_param_value, "invalid ORCPT");
	if (smtp_xtext_decode(v, rcpt->orcpt) < 0)
		return smtp_cmd_refuse(in, &reply_xtext, NULL);
	memcpy(rcpt->orcpt_type, type.p, type.len);
	rcpt->orcpt_type[type.len] = '\0';
	rcpt->has_orcpt = true;
	return 0;
}

static const struct smtp_param_def smtp_mail_params[] = {
    {"SIZE", SMTP_EXT_SIZE, smtp_param_size},
    {"BODY", SMTP_EXT_8BITMIME | SMTP_EXT_BINARYMIME, smtp_param_body},
    {"SMTPUTF8", SMTP_EXT_SMTPUTF8, smtp_param_smtputf8},
    {"RET", SMTP_EXT_DSN, smtp_param_ret},
    {"ENVID", SMTP_EXT_DSN, smtp_param_envid},
    {"AUTH", SMTP_EXT_AUTH, smtp_param_auth},
};

static const struct smtp_param_def smtp_rcpt_params[] = {
    {"NOTIFY", SMTP_EXT_DSN, smtp_param_notify},
    {"ORCPT", SMTP_EXT_DSN, smtp_param_orcpt},
};

/* The index of keyword among defs, if the session advertised its extension; else n. */
static size_t smtp_param_find(const struct smtp_param_def *defs, size_t n, struct smtp_bytes key,
                              unsigned ext)
{
	for (size_t i = 0; i < n; i++) {
		if (bytes_caseeq(key, defs[i].keyword))
			return (defs[i].ext & ext) != 0 ? i : n;
	}
	return n;
}

/* RFC 5321 4.1.2: Mail-parameters = esmtp-param *(SP esmtp-param), esmtp-param =
   esmtp-keyword ["=" esmtp-value]. Each known keyword at most once (row 29). */
static int smtp_cmd_params(struct smtp_bytes params, const struct smtp_param_def *defs, size_t n,
                           const struct smtp_cmd_in *in)
{
	struct smtp_bytes value, key;
	unsigned seen = 0;
	bool has_value;
	size_t i;

	for (params = bytes_skip_spaces(params); params.len > 0;
	     params = bytes_skip_spaces(params)) {
		value = bytes_split(&params, ' ', NULL);
		key = bytes_split(&value, '=', &has_value);
		if (!smtp_param_keyword_ok(key) || (has_value && !smtp_param_value_ok(value)))
			return smtp_cmd_refuse(in, &reply_param_syntax, NULL);
		i = smtp_param_find(defs, n, key, in->opts->ext);
		if (i == n)
			return smtp_cmd_refuse(in, &reply_param_unknown, NULL);
		if ((seen & (1u << i)) != 0)
			return smtp_cmd_refuse(in, &reply_param_dup, NULL);
		seen |= 1u << i;
		if (defs[i].parse(value, has_value, in) < 0)
			return -1;
	}
	return 0;
}

/* ---- verbs ---- */

/* RFC 5321 4.1.1.1: "EHLO" SP ( Domain / address-literal ); HELO takes the same here, as
   clients send literals to both. ASCII only: the name goes into Received: fields. */
static int smtp_cmd_helo(const struct smtp_cmd_in *in)
{
	struct smtp_helo *helo = &in->cmd->helo;
	struct address addr;
	const char *error;

	if (in->arg.len == 0)
		return smtp_cmd_refuse(in, &reply_helo, NULL);
	if (smtp_cmd_domain(in->arg, false, &addr, &error) < 0)
		return smtp_cmd_refuse(in, &reply_helo_domain, error);
	memcpy(helo->domain, addr.domain, sizeof(helo->domain));
	helo->literal = addr.domain[0] == '[';
	return 0;
}

/* RFC 5321 4.1.1.2: "MAIL FROM:" Reverse-path [SP Mail-parameters]. The parameters go first:
   SMTPUTF8 among them decides how the address is read. */
static int smtp_cmd_mail(const struct smtp_cmd_in *in)
{
	struct smtp_mail *mail = &in->cmd->mail;
	struct smtp_bytes path, params;

	if (smtp_cmd_path(in->arg, "FROM:", &path, &params) < 0)
		return smtp_cmd_refuse(in, &reply_mail, NULL);
	if (smtp_cmd_params(params, smtp_mail_params,
	                    sizeof(smtp_mail_params) / sizeof(smtp_mail_params[0]), in) < 0)
		return -1;
	/* RFC 5321 4.5.5 (row 24): the null reverse-path of bounces */
	if (path.len == 0) {
		mail->null_sender = true;
		return 0;
	}
	return smtp_cmd_address(in, path, mail->smtputf8, &reply_sender, &mail->addr);
}

/* RFC 5321 4.1.1.3: "RCPT TO:" ( "<Postmaster@" Domain ">" / "<Postmaster>" / Forward-path )
   [SP Rcpt-parameters] */
static int smtp_cmd_rcpt(const struct smtp_cmd_in *in)
{
	struct smtp_rcpt *rcpt = &in->cmd->rcpt;
	struct smtp_bytes path, params;

	if (smtp_cmd_path(in->arg, "TO:", &path, &params) < 0)
		return smtp_cmd_refuse(in, &reply_rcpt, NULL);
	if (smtp_cmd_params(params, smtp_rcpt_params,
	                    sizeof(smtp_rcpt_params) / sizeof(smtp_rcpt_params[0]), in) < 0)
		return -1;
	if (path.len == 0)
		return smtp_cmd_refuse(in, &reply_null_rcpt, NULL);
	if (bytes_caseeq(path, "POSTMASTER")) {
		memcpy(rcpt->addr.local, path.p, path.len);
		rcpt->addr.local[path.len] = '\0';
		rcpt->postmaster = true;
		return 0;
	}
	return smtp_cmd_address(in, path, in->opts->smtputf8, &reply_recipient, &rcpt->addr);
}

/* RFC 3030 2: "BDAT" SP chunk-size [SP "LAST"], chunk-size = 1*DIGIT (row 17: checked for
   overflow; nothing is allocated from it here) */
static int smtp_cmd_bdat(const struct smtp_cmd_in *in)
{
	struct smtp_bytes rest = in->arg, size = bytes_split(&rest, ' ', NULL);
	int r = bytes_number(size, &in->cmd->bdat.size);

	if (r < 0)
		return smtp_cmd_refuse(in, &reply_too_big, NULL);
	if (r == 0 || (rest.len > 0 && !bytes_caseeq(rest, "LAST")))
		return smtp_cmd_refuse(in, &reply_bdat, NULL);
	in->cmd->bdat.last = rest.len > 0;
	return 0;
}

/* RFC 4422 3.1: sasl-mech = 1*20mech-char, mech-char = UPPER-ALPHA / DIGIT / "-" / "_" */
static bool smtp_sasl_mech_ok(struct smtp_bytes m)
{
	if (m.len == 0 || m.len > SMTP_SASL_MECH_MAX)
		return false;
	for (size_t i = 0; i < m.len; i++) {
		if (!ascii_alnum(m.p[i]) && m.p[i] != '-' && m.p[i] != '_')
			return false;
	}
	return true;
}

/* RFC 4648 4 base64 with its padding, or RFC 4954 4's "=" for an empty response. */
static bool smtp_base64_ok(struct smtp_bytes b)
{
	size_t pad = 0;

	if (b.len == 1 && b.p[0] == '=')
		return true;
	if (b.len == 0 || b.len % 4 != 0)
		return false;
	while (pad < 2 && b.p[b.len - 1 - pad] == '=')
		pad++;
	for (size_t i = 0; i < b.len - pad; i++) {
		if (!ascii_alnum(b.p[i]) && b.p[i] != '+' && b.p[i] != '/')
			return false;
	}
	return true;
}

/* RFC 4954 4: "AUTH" SP sasl-mech [SP initial-response] */
static int smtp_cmd_auth(const struct smtp_cmd_in *in)
{
	struct smtp_auth *auth = &in->cmd->auth;
	struct smtp_bytes rest = in->arg, mech = bytes_split(&rest, ' ', NULL);
	bool more;

	if (!smtp_sasl_mech_ok(mech))
		return smtp_cmd_refuse(in, &reply_auth, NULL);
	for (size_t i = 0; i < mech.len; i++)
		auth->mech[i] = (char)ascii_upper(mech.p[i]);
	auth->mech[mech.len] = '\0';
	if (rest.len == 0)
		return 0;
	auth->initial = bytes_split(&rest, ' ', &more);
	if (more)
		return smtp_cmd_refuse(in, &reply_auth, NULL);
	/* row 31: not base64 is a syntax error, before any SASL work */
	if (!smtp_base64_ok(auth->initial))
		return smtp_cmd_refuse(in, &reply_auth_base64, NULL);
	auth->has_initial = true;
	return 0;
}

/* DATA, RSET, QUIT, STARTTLS (RFC 5321 4.1.1.4, 4.1.1.5, 4.1.1.10; RFC 3207 4) */
static int smtp_cmd_no_args(const struct smtp_cmd_in *in)
{
	if (in->arg.len > 0)
		return smtp_cmd_refuse(in, &reply_no_args, NULL);
	return 0;
}

/* NOOP, HELP, VRFY: the argument is the session's to use or ignore. */
static int smtp_cmd_any_args(const struct smtp_cmd_in *in)
{
	(void)in;
	return 0;
}

static const struct smtp_verb_def {
	const char *name;
	enum smtp_verb verb;
	smtp_cmd_args_fn *args;
} smtp_verbs[] = {
    {.name = "EHLO", .verb = SMTP_VERB_EHLO, .args = smtp_cmd_helo},
    {.name = "HELO", .verb = SMTP_VERB_HELO, .args = smtp_cmd_helo},
    {.name = "MAIL", .verb = SMTP_VERB_MAIL, .args = smtp_cmd_mail},
    {.name = "RCPT", .verb = SMTP_VERB_RCPT, .args = smtp_cmd_rcpt},
    {.name = "DATA", .verb = SMTP_VERB_DATA, .args = smtp_cmd_no_args},
    {.name = "BDAT", .verb = SMTP_VERB_BDAT, .args = smtp_cmd_bdat},
    {.name = "RSET", .verb = SMTP_VERB_RSET, .args = smtp_cmd_no_args},
    {.name = "NOOP", .verb = SMTP_VERB_NOOP, .args = smtp_cmd_any_args},
    {.name = "QUIT", .verb = SMTP_VERB_QUIT, .args = smtp_cmd_no_args},
    {.name = "VRFY", .verb = SMTP_VERB_VRFY, .args = smtp_cmd_any_args},
    {.name = "HELP", .verb = SMTP_VERB_HELP, .args = smtp_cmd_any_args},
    {.name = "STARTTLS", .verb = SMTP_VERB_STARTTLS, .args = smtp_cmd_no_args},
    {.name = "AUTH", .verb = SMTP_VERB_AUTH, .args = smtp_cmd_auth},
};

#define SMTP_VERBS_COUNT (sizeof(smtp_verbs) / sizeof(smtp_verbs[0]))

static const struct smtp_verb_def *smtp_verb_find(struct smtp_bytes name)
{
	for (size_t i = 0; i < SMTP_VERBS_COUNT; i++) {
		if (bytes_caseeq(name, smtp_verbs[i].name))
			return &smtp_verbs[i];
	}
	return NULL;
}

int smtp_cmd_parse(const uint8_t *line, size_t len, const struct smtp_cmd_opts *opts,
                   struct smtp_cmd *cmd_r, struct smtp_reply *reply_r)
{
	static const uint8_t none[1];
	struct smtp_bytes rest = {.p = len > 0 ? line : none, .len = len};
	struct smtp_cmd_in in = {.opts = opts, .cmd = cmd_r, .reply = reply_r};
	const struct smtp_verb_def *def;

	memset(cmd_r, 0, sizeof(*cmd_r));
	/* trailing spaces are a common client slip; nothing in SMTP ends with a meaningful one */
	while (rest.len > 0 && rest.p[rest.len - 1] == ' ')
		rest.len--;
	cmd_r->name = bytes_split(&rest, ' ', NULL);
	cmd_r->arg = in.arg = rest;
	def = smtp_verb_find(cmd_r->name);
	cmd_r->verb = def != NULL ? def->verb : SMTP_VERB_UNKNOWN;
	/* row 12, RFC 5321 2.3.8: NUL, CR and LF have no place in a command; the length, not a
	   NUL, ends the line, so a NUL cannot hide what follows it */
	if (len > 0 && (memchr(line, '\0', len) != NULL || memchr(line, '\r', len) != NULL ||
	                memchr(line, '\n', len) != NULL))
		return smtp_cmd_refuse(&in, &reply_bad_char, NULL);
	if (cmd_r->name.len == 0)
		return smtp_cmd_refuse(&in, rest.len == 0 ? &reply_empty : &reply_unknown, NULL);
	if (def == NULL)
		return smtp_cmd_refuse(&in, &reply_unknown, NULL);
	return def->args(&in);
}

const char *smtp_verb_name(enum smtp_verb verb)
{
	for (size_t i = 0; i < SMTP_VERBS_COUNT; i++) {
		if (smtp_verbs[i].verb == verb)
			return smtp_verbs[i].name;
	}
	return "UNKNOWN";
}
