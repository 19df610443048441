#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "smtp_cmd.h"
#include "smtp_line.h"

/* The default of limits.message_size, 25M. */
#define TEST_SIZE_MAX (25 * 1024 * 1024)
#define DESC_MAX 2048

#define ALL                                                                                        \
	(SMTP_EXT_SIZE | SMTP_EXT_8BITMIME | SMTP_EXT_BINARYMIME | SMTP_EXT_SMTPUTF8 |             \
	 SMTP_EXT_DSN | SMTP_EXT_AUTH)
#define NO_UTF8 (ALL & ~SMTP_EXT_SMTPUTF8)
#define NO_BINARY (ALL & ~SMTP_EXT_BINARYMIME)

/* One command: the line as sent (without CRLF), the session's state, and what must come out:
   the verb, then either the parsed content (desc) or the reply code and status. */
struct cmd_case {
	const char *line;
	size_t len;    /* 0: strlen(line) */
	unsigned ext;  /* SMTP_EXT_* advertised */
	bool smtputf8; /* the transaction has SMTPUTF8 (RCPT) */
	enum smtp_verb verb;
	const char *desc; /* accepted: describe() of the result */
	int code;         /* refused: the reply */
	const char *status;
};

#define OK(line, ext, verb, desc)                                                                  \
	{                                                                                          \
		line, 0, ext, false, SMTP_VERB_##verb, desc, 0, NULL                               \
	}
#define NO(line, ext, verb, code, status)                                                          \
	{                                                                                          \
		line, 0, ext, false, SMTP_VERB_##verb, NULL, code, status                          \
	}

static const struct cmd_case cases[] = {
    /* EHLO and HELO: a domain or an address literal, normalised */
    OK("EHLO mx.example.org", ALL, EHLO, "domain=mx.example.org"),
    OK("ehlo MX.Example.ORG.", ALL, EHLO, "domain=mx.example.org"),
    OK("EHLO mx.example.org   ", ALL, EHLO, "domain=mx.example.org"),
    OK("HELO [192.0.2.1]", ALL, HELO, "domain=[192.0.2.1] literal"),
    OK("EHLO [IPv6:2001:db8::1]", ALL, EHLO, "domain=[ipv6:2001:db8::1] literal"),
    NO("EHLO", ALL, EHLO, 501, "5.5.4"),
    NO("EHLO ", ALL, EHLO, 501, "5.5.4"),
    NO("HELO a b", ALL, HELO, 501, "5.5.4"),
    NO("EHLO a@b", ALL, EHLO, 501, "5.5.4"),
    NO("EHLO -bad-.example", ALL, EHLO, 501, "5.5.4"),
    NO("EHLO host_name", ALL, EHLO, 501, "5.5.4"),
    NO("EHLO [300.1.1.1]", ALL, EHLO, 501, "5.5.4"),
    NO("EHLO b\xc3\xbcro.example", ALL, EHLO, 501, "5.5.4"),
    NO("EHLO a..b", ALL, EHLO, 501, "5.5.4"),

    /* verbs without arguments, in any case */
    OK("DATA", ALL, DATA, "arg="),
    OK("data", ALL, DATA, "arg="),
    OK("RSET", ALL, RSET, "arg="),
    OK("QUIT ", ALL, QUIT, "arg="),
    OK("StartTLS", ALL, STARTTLS, "arg="),
    NO("DATA x", ALL, DATA, 501, "5.5.4"),
    NO("QUIT now", ALL, QUIT, 501, "5.5.4"),
    NO("STARTTLS x", ALL, STARTTLS, 501, "5.5.4"),
    /* verbs whose argument is the session's */
    OK("NOOP", ALL, NOOP, "arg="),
    OK("NOOP anything at all <>", ALL, NOOP, "arg=anything at all <>"),
    OK("HELP MAIL", ALL, HELP, "arg=MAIL"),
    OK("VRFY postmaster", ALL, VRFY, "arg=postmaster"),
    OK("VRFY", ALL, VRFY, "arg="),
    OK("vrfy \xc3\xb6", ALL, VRFY, "arg=\xc3\xb6"),

    /* unknown and empty */
    NO("FOO bar", ALL, UNKNOWN, 500, "5.5.1"),
    NO("MAILFROM:<a@b>", ALL, UNKNOWN, 500, "5.5.1"),
    NO("EHLO\tx", ALL, UNKNOWN, 500, "5.5.1"),
    NO(" EHLO x", ALL, UNKNOWN, 500, "5.5.1"),
    NO("", ALL, UNKNOWN, 500, "5.5.2"),
    NO("    ", ALL, UNKNOWN, 500, "5.5.2"),

    /* row 12: NUL, CR or LF in a command, whatever the verb; the verb is still known */
    {"EHLO a\0b", 8, ALL, false, SMTP_VERB_EHLO, NULL, 500, "5.5.2"},
    {"NOOP \0", 6, ALL, false, SMTP_VERB_NOOP, NULL, 500, "5.5.2"},
    {"RCPT TO:<a@b>\0SIZE=1", 20, ALL, false, SMTP_VERB_RCPT, NULL, 500, "5.5.2"},
    {"\0", 1, ALL, false, SMTP_VERB_UNKNOWN, NULL, 500, "5.5.2"},
    NO("VRFY a\rb", ALL, VRFY, 500, "5.5.2"),
    NO("EHLO x\n", ALL, EHLO, 500, "5.5.2"),

    /* MAIL FROM, RFC 5321 4.1.1.2 */
    OK("MAIL FROM:<bob@example.org>", ALL, MAIL, "from=<bob@example.org>"),
    OK("mail from:<Bob@Example.ORG>", ALL, MAIL, "from=<Bob@example.org>"),
    OK("MAIL FROM: <bob@example.org>", ALL, MAIL, "from=<bob@example.org>"),
    OK("MAIL FROM:<\"bob\"@example.org>", ALL, MAIL, "from=<bob@example.org>"),
    NO("MAIL FROM:  <bob@example.org>", ALL, MAIL, 501, "5.5.4"),
    NO("MAIL FROM:bob@example.org", ALL, MAIL, 501, "5.5.4"),
    NO("MAIL FROM:<bob@example.org", ALL, MAIL, 501, "5.5.4"),
    NO("MAIL FROM:<bob@example.org>x", ALL, MAIL, 501, "5.5.4"),
    NO("MAIL FROM", ALL, MAIL, 501, "5.5.4"),
    NO("MAIL", ALL, MAIL, 501, "5.5.4"),
    NO("MAIL TO:<bob@example.org>", ALL, MAIL, 501, "5.5.4"),
    /* row 24: the null sender */
    OK("MAIL FROM:<>", ALL, MAIL, "from=<>"),
    OK("MAIL FROM:<> SIZE=100 BODY=8BITMIME", ALL, MAIL, "from=<> size=100 body=8BITMIME"),
    /* row 18: shell metacharacters are a syntax error, or a literal local part (backquotes
       are atext, RFC 5322 3.2.3); never anything more */
    NO("MAIL FROM:<;sleep 66;>", ALL, MAIL, 553, "5.1.7"),
    NO("MAIL FROM:<;sleep 66;@example.org>", ALL, MAIL, 553, "5.1.7"),
    NO("MAIL FROM:<a$(id)@example.org>", ALL, MAIL, 553, "5.1.7"),
    OK("MAIL FROM:<`id`@x>", ALL, MAIL, "from=<`id`@x>"),
    NO("MAIL FROM:<a@b@c>", ALL, MAIL, 553, "5.1.7"),
    NO("MAIL FROM:<a>", ALL, MAIL, 553, "5.1.7"),
    NO("MAIL FROM:<a@>", ALL, MAIL, 553, "5.1.7"),
    /* row 22: a source route is checked, then dropped (RFC 5321 Appendix C) */
    OK("MAIL FROM:<@relay.example:user@other.example>", ALL, MAIL, "from=<user@other.example>"),
    OK("MAIL FROM:<@a.example,@b.example:u@c.example>", ALL, MAIL, "from=<u@c.example>"),
    NO("MAIL FROM:<@a.example:>", ALL, MAIL, 553, "5.1.7"),
    NO("MAIL FROM:<@a.example u@c.example>", ALL, MAIL, 553, "5.1.7"),
    NO("MAIL FROM:<@[192.0.2.1]:u@c.example>", ALL, MAIL, 553, "5.1.7"),
    NO("MAIL FROM:<@a.example,:u@c.example>", ALL, MAIL, 553, "5.1.7"),
    NO("MAIL FROM:<@:u@c.example>", ALL, MAIL, 553, "5.1.7"),
    NO("MAIL FROM:<@a_b:u@c.example>", ALL, MAIL, 553, "5.1.7"),
    /* row 25: UTF-8 only with SMTPUTF8 on this MAIL, and then well-formed */
    NO("MAIL FROM:<j\xc3\xb6hn@example.org>", ALL, MAIL, 553, "5.6.7"),
    NO("MAIL FROM:<john@b\xc3\xbcro.example>", ALL, MAIL, 553, "5.6.7"),
    NO("MAIL FROM:<j\xf6hn@example.org>", ALL, MAIL, 553, "5.6.7"),
    OK("MAIL FROM:<j\xc3\xb6hn@b\xc3\xbcro.example> SMTPUTF8", ALL, MAIL,
       "from=<j\xc3\xb6hn@b\xc3\xbcro.example> smtputf8"),
    NO("MAIL FROM:<j\xf6hn@example.org> SMTPUTF8", ALL, MAIL, 553, "5.1.7"),
    NO("MAIL FROM:<j\xc3\xb6hn@example.org> SMTPUTF8", NO_UTF8, MAIL, 555, "5.5.4"),
    NO("MAIL FROM:<a@b> SMTPUTF8=yes", ALL, MAIL, 501, "5.5.4"),
    /* row 10: SIZE, checked for overflow and against the limit at MAIL time */
    OK("MAIL FROM:<a@b> SIZE=1000", ALL, MAIL, "from=<a@b> size=1000"),
    OK("MAIL FROM:<a@b> SIZE=26214400", ALL, MAIL, "from=<a@b> size=26214400"),
    OK("MAIL FROM:<a@b> SIZE=0", ALL, MAIL, "from=<a@b> size=0"),
    NO("MAIL FROM:<a@b> SIZE=26214401", ALL, MAIL, 552, "5.3.4"),
    NO("MAIL FROM:<a@b> SIZE=99999999999", ALL, MAIL, 552, "5.3.4"),
    NO("MAIL FROM:<a@b> SIZE=18446744073709551615", ALL, MAIL, 552, "5.3.4"),
    NO("MAIL FROM:<a@b> SIZE=18446744073709551616", ALL, MAIL, 552, "5.3.4"),
    NO("MAIL FROM:<a@b> SIZE=999999999999999999999999999999", ALL, MAIL, 552, "5.3.4"),
    NO("MAIL FROM:<a@b> SIZE=-1", ALL, MAIL, 501, "5.5.4"),
    NO("MAIL FROM:<a@b> SIZE=12a", ALL, MAIL, 501, "5.5.4"),
    NO("MAIL FROM:<a@b> SIZE", ALL, MAIL, 501, "5.5.4"),
    NO("MAIL FROM:<a@b> SIZE=", ALL, MAIL, 501, "5.5.4"),
    NO("MAIL FROM:<a@b> SIZE==1", ALL, MAIL, 501, "5.5.4"),
    /* BODY, RFC 6152 and RFC 3030 */
    OK("MAIL FROM:<a@b> body=7bit", ALL, MAIL, "from=<a@b> body=7BIT"),
    OK("MAIL FROM:<a@b> BODY=BINARYMIME", ALL, MAIL, "from=<a@b> body=BINARYMIME"),
    NO("MAIL FROM:<a@b> BODY=BINARYMIME", NO_BINARY, MAIL, 555, "5.5.4"),
    NO("MAIL FROM:<a@b> BODY=8BITMIME", SMTP_EXT_BINARYMIME, MAIL, 555, "5.5.4"),
    NO("MAIL FROM:<a@b> BODY=9BIT", ALL, MAIL, 501, "5.5.4"),
    NO("MAIL FROM:<a@b> BODY", ALL, MAIL, 501, "5.5.4"),
    /* row 29: DSN and AUTH parameters, xtext decoded and checked */
    OK("MAIL FROM:<a@b> RET=HDRS ENVID=QQ+2BAbc+20x", ALL, MAIL,
       "from=<a@b> ret=HDRS envid=QQ+Abc x"),
    OK("MAIL FROM:<a@b> ret=full envid=a+2bb", ALL, MAIL, "from=<a@b> ret=FULL envid=a+b"),
    NO("MAIL FROM:<a@b> RET=", ALL, MAIL, 501, "5.5.4"),
    NO("MAIL FROM:<a@b> RET", ALL, MAIL, 501, "5.5.4"),
    NO("MAIL FROM:<a@b> RET=ALL", ALL, MAIL, 501, "5.5.4"),
    NO("MAIL FROM:<a@b> ENVID=", ALL, MAIL, 501, "5.5.4"),
    NO("MAIL FROM:<a@b> ENVID", ALL, MAIL, 501, "5.5.4"),
    NO("MAIL FROM:<a@b> ENVID=a+2", ALL, MAIL, 501, "5.5.4"),
    NO("MAIL FROM:<a@b> ENVID=a+", ALL, MAIL, 501, "5.5.4"),
    NO("MAIL FROM:<a@b> ENVID=a+ZZ", ALL, MAIL, 501, "5.5.4"),
    NO("MAIL FROM:<a@b> ENVID=a+0D+0Ab", ALL, MAIL, 501, "5.5.4"),
    NO("MAIL FROM:<a@b> ENVID=a+00b", ALL, MAIL, 501, "5.5.4"),
    NO("MAIL FROM:<a@b> ENVID=a+C3+B6", ALL, MAIL, 501, "5.5.4"),
    NO("MAIL FROM:<a@b> ENVID=\xc3\xb6", ALL, MAIL, 501, "5.5.4"),
    /* RFC 4954 5: AUTH=<> is the unknown submitter, valid syntax */
    OK("MAIL FROM:<a@b> AUTH=<>", ALL, MAIL, "from=<a@b> auth=<>"),
    OK("MAIL FROM:<a@b> AUTH=bob+40example.org", ALL, MAIL, "from=<a@b> auth=bob@example.org"),
    NO("MAIL FROM:<a@b> AUTH=", ALL, MAIL, 501, "5.5.4"),
    NO("MAIL FROM:<a@b> AUTH", ALL, MAIL, 501, "5.5.4"),
    NO("MAIL FROM:<a@b> AUTH=a+G0", ALL, MAIL, 501, "5.5.4"),
    NO("MAIL FROM:<a@b> AUTH=<>", SMTP_EXT_SIZE, MAIL, 555, "5.5.4"),
    /* duplicates, unknown keywords, extensions not advertised, bad keyword syntax */
    NO("MAIL FROM:<a@b> SIZE=1 SIZE=2", ALL, MAIL, 501, "5.5.4"),
    NO("MAIL FROM:<a@b> size=1 SIZE=1", ALL, MAIL, 501, "5.5.4"),
    NO("MAIL FROM:<a@b> RET=FULL RET=HDRS", ALL, MAIL, 501, "5.5.4"),
    NO("MAIL FROM:<a@b> FOO=bar", ALL, MAIL, 555, "5.5.4"),
    NO("MAIL FROM:<a@b> NOTIFY=NEVER", ALL, MAIL, 555, "5.5.4"),
    NO("MAIL FROM:<a@b> SIZE=1", 0, MAIL, 555, "5.5.4"),
    NO("MAIL FROM:<a@b> RET=FULL", SMTP_EXT_SIZE, MAIL, 555, "5.5.4"),
    NO("MAIL FROM:<a@b> =x", ALL, MAIL, 501, "5.5.4"),
    NO("MAIL FROM:<a@b> SI_ZE=1", ALL, MAIL, 501, "5.5.4"),
    NO("MAIL FROM:<a@b> -SIZE=1", ALL, MAIL, 501, "5.5.4"),
    NO("MAIL FROM:<a@b> SIZE=1\x01", ALL, MAIL, 501, "5.5.4"),
    OK("MAIL FROM:<a@b>  SIZE=1   BODY=8BITMIME ", ALL, MAIL, "from=<a@b> size=1 body=8BITMIME"),

    /* RCPT TO, RFC 5321 4.1.1.3 */
    OK("RCPT TO:<bob@example.org>", ALL, RCPT, "to=<bob@example.org>"),
    OK("rcpt to: <bob@example.org> ", ALL, RCPT, "to=<bob@example.org>"),
    OK("RCPT TO:<postmaster>", ALL, RCPT, "to=<postmaster> bare"),
    OK("RCPT TO:<PostMaster>", ALL, RCPT, "to=<PostMaster> bare"),
    OK("RCPT TO:<postmaster@example.org>", ALL, RCPT, "to=<postmaster@example.org>"),
    NO("RCPT TO:<postmaster2>", ALL, RCPT, 501, "5.1.3"),
    NO("RCPT TO:<>", ALL, RCPT, 501, "5.1.3"),
    NO("RCPT TO:bob@example.org", ALL, RCPT, 501, "5.5.4"),
    NO("RCPT FROM:<bob@example.org>", ALL, RCPT, 501, "5.5.4"),
    NO("RCPT", ALL, RCPT, 501, "5.5.4"),
    OK("RCPT TO:<\"a>b\"@example.org>", ALL, RCPT, "to=<\"a>b\"@example.org>"),
    /* row 19: no expansion: a syntax error, or a literal local part */
    NO("RCPT TO:<${run{/bin/sh -c id}}@local>", ALL, RCPT, 501, "5.1.3"),
    NO("RCPT TO:<${run{\\x2fbin\\x2fsh}}@local>", ALL, RCPT, 501, "5.1.3"),
    OK("RCPT TO:<${run{/bin/sh}}@local>", ALL, RCPT, "to=<${run{/bin/sh}}@local>"),
    OK("RCPT TO:<\"${run{/bin/sh -c id}}\"@local>", ALL, RCPT,
       "to=<\"${run{/bin/sh -c id}}\"@local>"),
    /* row 21: percent hack and bang paths stay in the local part */
    OK("RCPT TO:<user%other.example@our.example>", ALL, RCPT,
       "to=<user%other.example@our.example>"),
    OK("RCPT TO:<other.example!user@our.example>", ALL, RCPT,
       "to=<other.example!user@our.example>"),
    /* row 22: the route is dropped; only the mailbox is judged */
    OK("RCPT TO:<@relay.example:user@other.example>", ALL, RCPT, "to=<user@other.example>"),
    OK("RCPT TO:<@ours.example:postmaster@x.example>", ALL, RCPT, "to=<postmaster@x.example>"),
    NO("RCPT TO:<@ours.example:postmaster>", ALL, RCPT, 501, "5.1.3"),
    /* row 23: the strict grammar */
    OK("RCPT TO:<\"user@other.example\"@our.example>", ALL, RCPT,
       "to=<\"user@other.example\"@our.example>"),
    NO("RCPT TO:<user@other.example@our.example>", ALL, RCPT, 501, "5.1.3"),
    OK("RCPT TO:<user@[192.0.2.1]>", ALL, RCPT, "to=<user@[192.0.2.1]>"),
    OK("RCPT TO:<user@our.example.>", ALL, RCPT, "to=<user@our.example>"),
    NO("RCPT TO:<user@our.example..>", ALL, RCPT, 501, "5.1.3"),
    NO("RCPT TO:<user@[192.0.2.1]x>", ALL, RCPT, 501, "5.1.3"),
    /* row 25: RCPT follows the transaction's SMTPUTF8 */
    NO("RCPT TO:<j\xc3\xb6hn@example.org>", ALL, RCPT, 553, "5.6.7"),
    {"RCPT TO:<j\xc3\xb6hn@example.org>", 0, ALL, true, SMTP_VERB_RCPT,
     "to=<j\xc3\xb6hn@example.org>", 0, NULL},
    {"RCPT TO:<j\xc3\x28hn@example.org>", 0, ALL, true, SMTP_VERB_RCPT, NULL, 501, "5.1.3"},
    /* DSN, RFC 3461 4.1 and 4.2 */
    OK("RCPT TO:<a@b> NOTIFY=SUCCESS,FAILURE", ALL, RCPT, "to=<a@b> notify=SUCCESS,FAILURE"),
    OK("RCPT TO:<a@b> notify=delay,success", ALL, RCPT, "to=<a@b> notify=SUCCESS,DELAY"),
    OK("RCPT TO:<a@b> NOTIFY=NEVER", ALL, RCPT, "to=<a@b> notify=NEVER"),
    NO("RCPT TO:<a@b> NOTIFY=NEVER,DELAY", ALL, RCPT, 501, "5.5.4"),
    NO("RCPT TO:<a@b> NOTIFY=DELAY,NEVER", ALL, RCPT, 501, "5.5.4"),
    NO("RCPT TO:<a@b> NOTIFY=SUCCESS,SUCCESS", ALL, RCPT, 501, "5.5.4"),
    NO("RCPT TO:<a@b> NOTIFY=SUCCESS,", ALL, RCPT, 501, "5.5.4"),
    NO("RCPT TO:<a@b> NOTIFY=,SUCCESS", ALL, RCPT, 501, "5.5.4"),
    NO("RCPT TO:<a@b> NOTIFY=SUCCESS,,DELAY", ALL, RCPT, 501, "5.5.4"),
    NO("RCPT TO:<a@b> NOTIFY=", ALL, RCPT, 501, "5.5.4"),
    NO("RCPT TO:<a@b> NOTIFY", ALL, RCPT, 501, "5.5.4"),
    NO("RCPT TO:<a@b> NOTIFY=SOMETIMES", ALL, RCPT, 501, "5.5.4"),
    OK("RCPT TO:<a@b> ORCPT=rfc822;bob+40example.org", ALL, RCPT,
       "to=<a@b> orcpt=rfc822;bob@example.org"),
    OK("RCPT TO:<a@b> NOTIFY=FAILURE ORCPT=rfc822;a@b", ALL, RCPT,
       "to=<a@b> notify=FAILURE orcpt=rfc822;a@b"),
    NO("RCPT TO:<a@b> ORCPT=rfc822", ALL, RCPT, 501, "5.5.4"),
    NO("RCPT TO:<a@b> ORCPT=;a@b", ALL, RCPT, 501, "5.5.4"),
    NO("RCPT TO:<a@b> ORCPT=rfc822;", ALL, RCPT, 501, "5.5.4"),
    NO("RCPT TO:<a@b> ORCPT=rfc822;a+0D+0AX-Injected:+201", ALL, RCPT, 501, "5.5.4"),
    NO("RCPT TO:<a@b> ORCPT=rfc(822);a", ALL, RCPT, 501, "5.5.4"),
    NO("RCPT TO:<a@b> ORCPT=rfc822;a ORCPT=rfc822;a", ALL, RCPT, 501, "5.5.4"),
    NO("RCPT TO:<a@b> ORCPT=rfc822;a", SMTP_EXT_SIZE, RCPT, 555, "5.5.4"),
    NO("RCPT TO:<a@b> SIZE=1", ALL, RCPT, 555, "5.5.4"),

    /* BDAT, RFC 3030 2; row 17 */
    OK("BDAT 1000", ALL, BDAT, "size=1000"),
    OK("BDAT 0 LAST", ALL, BDAT, "size=0 last"),
    OK("bdat 10 last", ALL, BDAT, "size=10 last"),
    OK("BDAT 18446744073709551615", ALL, BDAT, "size=18446744073709551615"),
    NO("BDAT 18446744073709551616", ALL, BDAT, 552, "5.3.4"),
    NO("BDAT 99999999999999999999999999999999", ALL, BDAT, 552, "5.3.4"),
    NO("BDAT", ALL, BDAT, 501, "5.5.4"),
    NO("BDAT -1", ALL, BDAT, 501, "5.5.4"),
    NO("BDAT +5", ALL, BDAT, 501, "5.5.4"),
    NO("BDAT x", ALL, BDAT, 501, "5.5.4"),
    NO("BDAT 0x10", ALL, BDAT, 501, "5.5.4"),
    NO("BDAT 1 NOTLAST", ALL, BDAT, 501, "5.5.4"),
    NO("BDAT 1 LAST x", ALL, BDAT, 501, "5.5.4"),
    NO("BDAT  1", ALL, BDAT, 501, "5.5.4"),

    /* AUTH, RFC 4954 4; row 31 */
    OK("AUTH PLAIN", ALL, AUTH, "mech=PLAIN"),
    OK("auth plain AGJvYgBzZWNyZXQ=", ALL, AUTH, "mech=PLAIN initial=AGJvYgBzZWNyZXQ="),
    OK("AUTH PLAIN =", ALL, AUTH, "mech=PLAIN initial=="),
    OK("AUTH SCRAM-SHA-256 YQ==", ALL, AUTH, "mech=SCRAM-SHA-256 initial=YQ=="),
    OK("AUTH X_MECH YWJj", ALL, AUTH, "mech=X_MECH initial=YWJj"),
    NO("AUTH", ALL, AUTH, 501, "5.5.4"),
    NO("AUTH PL@IN", ALL, AUTH, 501, "5.5.4"),
    NO("AUTH ABCDEFGHIJKLMNOPQRSTU", ALL, AUTH, 501, "5.5.4"),
    NO("AUTH PLAIN a b", ALL, AUTH, 501, "5.5.4"),
    NO("AUTH PLAIN abc", ALL, AUTH, 501, "5.5.2"),
    NO("AUTH PLAIN ab=c", ALL, AUTH, 501, "5.5.2"),
    NO("AUTH PLAIN ====", ALL, AUTH, 501, "5.5.2"),
    NO("AUTH PLAIN YQ=*", ALL, AUTH, 501, "5.5.2"),
    NO("AUTH PLAIN ==", ALL, AUTH, 501, "5.5.2"),
};

/* ---- a readable picture of a parsed command ---- */

static void out_add(char *out, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void out_add(char *out, const char *fmt, ...)
{
	size_t o = strlen(out);
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(out + o, DESC_MAX - o, fmt, ap);
	va_end(ap);
	assert_true(n >= 0 && (size_t)n < DESC_MAX - o);
}

static void describe_address(char *out, const char *key, const struct address *addr)
{
	if (addr->domain[0] == '\0')
		out_add(out, "%s=<%s>", key, addr->local);
	else
		out_add(out, "%s=<%s@%s>", key, addr->local, addr->domain);
}

static void describe_mail(char *out, const struct smtp_mail *m)
{
	static const char *const body[] = {"", "7BIT", "8BITMIME", "BINARYMIME"};
	static const char *const ret[] = {"", "FULL", "HDRS"};

	if (m->null_sender)
		out_add(out, "from=<>");
	else
		describe_address(out, "from", &m->addr);
	if (m->has_size)
		out_add(out, " size=%llu", (unsigned long long)m->size);
	if (m->body != SMTP_BODY_NONE)
		out_add(out, " body=%s", body[m->body]);
	if (m->smtputf8)
		out_add(out, " smtputf8");
	if (m->ret != SMTP_RET_NONE)
		out_add(out, " ret=%s", ret[m->ret]);
	if (m->has_envid)
		out_add(out, " envid=%s", m->envid);
	if (m->has_auth)
		out_add(out, " auth=%s", m->auth);
}

static void describe_rcpt(char *out, const struct smtp_rcpt *r)
{
	static const char *const words[] = {"NEVER", "SUCCESS", "FAILURE", "DELAY"};
	const char *sep = " notify=";

	describe_address(out, "to", &r->addr);
	if (r->postmaster)
		out_add(out, " bare");
	for (unsigned i = 0; i < 4; i++) {
		if ((r->notify & (1u << i)) != 0) {
			out_add(out, "%s%s", sep, words[i]);
			sep = ",";
		}
	}
	if (r->has_orcpt)
		out_add(out, " orcpt=%s;%s", r->orcpt_type, r->orcpt);
}

static void describe(char *out, const struct smtp_cmd *cmd)
{
	out[0] = '\0';
	switch (cmd->verb) {
	case SMTP_VERB_EHLO:
	case SMTP_VERB_HELO:
		out_add(out, "domain=%s%s", cmd->helo.domain, cmd->helo.literal ? " literal" : "");
		break;
	case SMTP_VERB_MAIL:
		describe_mail(out, &cmd->mail);
		break;
	case SMTP_VERB_RCPT:
		describe_rcpt(out, &cmd->rcpt);
		break;
	case SMTP_VERB_BDAT:
		out_add(out, "size=%llu%s", (unsigned long long)cmd->bdat.size,
		        cmd->bdat.last ? " last" : "");
		break;
	case SMTP_VERB_AUTH:
		out_add(out, "mech=%s", cmd->auth.mech);
		if (cmd->auth.has_initial)
			out_add(out, " initial=%.*s", (int)cmd->auth.initial.len,
			        (const char *)cmd->auth.initial.p);
		break;
	default:
		out_add(out, "arg=%.*s", (int)cmd->arg.len, (const char *)cmd->arg.p);
		break;
	}
}

/* Parses line and checks it against c; writes the result's picture (or "CODE STATUS") into
   out. The line is copied into a buffer of its exact size, so that any read past it is caught
   by the address sanitizer. */
static void check_case(const struct cmd_case *c, const uint8_t *line, size_t len, char *out)
{
	const struct smtp_cmd_opts opts = {
	    .ext = c->ext, .smtputf8 = c->smtputf8, .size_max = TEST_SIZE_MAX};
	uint8_t *copy = malloc(len > 0 ? len : 1);
	struct smtp_cmd cmd;
	struct smtp_reply reply = {0};
	int r;

	assert_non_null(copy);
	if (len > 0)
		memcpy(copy, line, len);
	r = smtp_cmd_parse(copy, len, &opts, &cmd, &reply);
	if (cmd.verb != c->verb || (r == 0) != (c->desc != NULL))
		fail_msg("\"%s\": verb %s result %d (%d %s %s)", c->line, smtp_verb_name(cmd.verb),
		         r, reply.code, reply.status, reply.text);
	if (r == 0) {
		describe(out, &cmd);
		if (strcmp(out, c->desc) != 0)
			fail_msg("\"%s\": got \"%s\", want \"%s\"", c->line, out, c->desc);
	} else {
		if (reply.code != c->code || strcmp(reply.status, c->status) != 0)
			fail_msg("\"%s\": got %d %s (%s), want %d %s", c->line, reply.code,
			         reply.status, reply.text, c->code, c->status);
		assert_non_null(reply.text);
		snprintf(out, DESC_MAX, "%d %s", reply.code, reply.status);
	}
	free(copy);
}

static size_t case_len(const struct cmd_case *c)
{
	return c->len > 0 ? c->len : strlen(c->line);
}

static void test_commands_parse_as_rfc5321_says(void **state)
{
	char out[DESC_MAX];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		check_case(&cases[i], (const uint8_t *)cases[i].line, case_len(&cases[i]), out);
}

/* STYLE habit 15: every command, sent a byte at a time through the line reader, parses the
   same as the line given whole. */
static void test_commands_fed_a_byte_at_a_time_parse_the_same(void **state)
{
	static uint8_t buf[4096], wire[4096];
	char once[DESC_MAX], split[DESC_MAX];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct cmd_case *c = &cases[i];
		size_t len = case_len(c), used, n = 0;
		struct smtp_line lr;
		struct smtp_bytes line = {0};
		enum smtp_line_result r = SMTP_LINE_MORE;

		if (memchr(c->line, '\0', len) || memchr(c->line, '\r', len) ||
		    memchr(c->line, '\n', len))
			continue; /* those are the line reader's to refuse */
		memcpy(wire, c->line, len);
		memcpy(wire + len, "\r\n", 2);
		smtp_line_init(&lr, buf, sizeof(buf));
		for (; n < len + 2; n++) {
			r = smtp_line_feed(&lr, wire + n, 1, &used, &line);
			assert_int_equal(used, 1);
			assert_int_equal(r, n == len + 1 ? SMTP_LINE_OK : SMTP_LINE_MORE);
		}
		assert_int_equal(line.len, len);
		check_case(c, (const uint8_t *)c->line, len, once);
		check_case(c, line.p, line.len, split);
		assert_string_equal(once, split);
	}
}

/* Row 14: an EHLO argument of 10 000 characters, had the line cap let it through. */
static void test_ehlo_with_10000_characters_is_refused(void **state)
{
	static char line[10010], want[300];
	const struct cmd_case c = {line, 0, ALL, false, SMTP_VERB_EHLO, NULL, 501, "5.5.4"};
	char out[DESC_MAX];

	(void)state;
	memcpy(line, "EHLO ", 5);
	memset(line + 5, 'a', 10000);
	check_case(&c, (const uint8_t *)line, 10005, out);
	/* the longest domain passes, one octet more does not */
	memset(line + 5, 'a', 63);
	for (size_t i = 68; i + 64 <= 5 + 255; i += 64) {
		line[i] = '.';
		memset(line + i + 1, 'a', 63);
	}
	line[260] = '\0';
	snprintf(want, sizeof(want), "domain=%s", line + 5);
	check_case(&(struct cmd_case){line, 260, ALL, false, SMTP_VERB_EHLO, want, 0, NULL},
	           (const uint8_t *)line, 260, out);
	line[260] = 'a';
	check_case(&c, (const uint8_t *)line, 261, out);
}

/* ENVID and ORCPT at their length limits (RFC 3461 4.2, 4.4). */
static void test_dsn_values_at_their_limit_pass_and_one_more_does_not(void **state)
{
	static char line[1024], want[1024];
	struct cmd_case c = {line, 0, ALL, false, SMTP_VERB_MAIL, want, 0, NULL};
	char out[DESC_MAX];
	int n;

	(void)state;
	n = snprintf(line, sizeof(line), "MAIL FROM:<a@b> ENVID=");
	memset(line + n, 'e', SMTP_ENVID_MAX);
	line[n + SMTP_ENVID_MAX] = '\0';
	snprintf(want, sizeof(want), "from=<a@b> envid=%s", line + n);
	check_case(&c, (const uint8_t *)line, strlen(line), out);
	line[n + SMTP_ENVID_MAX] = 'e';
	line[n + SMTP_ENVID_MAX + 1] = '\0';
	c = (struct cmd_case){line, 0, ALL, false, SMTP_VERB_MAIL, NULL, 501, "5.5.4"};
	check_case(&c, (const uint8_t *)line, strlen(line), out);

	n = snprintf(line, sizeof(line), "RCPT TO:<a@b> ORCPT=rfc822;");
	memset(line + n, 'o', SMTP_ORCPT_MAX - 7);
	line[n + SMTP_ORCPT_MAX - 7] = '\0';
	snprintf(want, sizeof(want), "to=<a@b> orcpt=rfc822;%s", line + n);
	c = (struct cmd_case){line, 0, ALL, false, SMTP_VERB_RCPT, want, 0, NULL};
	check_case(&c, (const uint8_t *)line, strlen(line), out);
	line[n + SMTP_ORCPT_MAX - 7] = 'o';
	line[n + SMTP_ORCPT_MAX - 6] = '\0';
	c = (struct cmd_case){line, 0, ALL, false, SMTP_VERB_RCPT, NULL, 501, "5.5.4"};
	check_case(&c, (const uint8_t *)line, strlen(line), out);
}

/* The parsed name and argument point into the line as sent; a failed command still says which
   verb it was, for the log and the session's error counters. */
static void test_refused_command_still_names_its_verb(void **state)
{
	const char *line = "rcpt TO:<a@b@c>";
	const struct smtp_cmd_opts opts = {.ext = ALL, .size_max = TEST_SIZE_MAX};
	struct smtp_cmd cmd;
	struct smtp_reply reply;

	(void)state;
	assert_int_equal(smtp_cmd_parse((const uint8_t *)line, strlen(line), &opts, &cmd, &reply),
	                 -1);
	assert_int_equal(cmd.verb, SMTP_VERB_RCPT);
	assert_ptr_equal(cmd.name.p, (const uint8_t *)line);
	assert_int_equal(cmd.name.len, 4);
	assert_ptr_equal(cmd.arg.p, (const uint8_t *)line + 5);
	assert_int_equal(reply.code, 501);
	assert_string_equal(reply.status, "5.1.3");
	assert_string_equal(reply.detail, "more than one @");
	assert_string_equal(smtp_verb_name(SMTP_VERB_STARTTLS), "STARTTLS");
	assert_string_equal(smtp_verb_name(SMTP_VERB_UNKNOWN), "UNKNOWN");
	assert_string_equal(smtp_verb_name((enum smtp_verb)99), "UNKNOWN");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_commands_parse_as_rfc5321_says),
	    cmocka_unit_test(test_commands_fed_a_byte_at_a_time_parse_the_same),
	    cmocka_unit_test(test_ehlo_with_10000_characters_is_refused),
	    cmocka_unit_test(test_dsn_values_at_their_limit_pass_and_one_more_does_not),
	    cmocka_unit_test(test_refused_command_still_names_its_verb),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
