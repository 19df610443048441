/* IMAP command parser: real client commands, literals of every kind, the limits of
   RELIABILITY rows 56-61 and 65, and every input fed at every split point (habit 15). Row 66
   (sequence sets in parsed commands): test_imap_seqset.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "imap_parser.h"

/* ---- a growing text buffer for renderings ---- */

struct buf {
	char *p;
	size_t len, cap;
};

static void buf_add(struct buf *b, const char *s, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		b->cap = (b->len + n + 1) * 2;
		b->p = realloc(b->p, b->cap);
		assert_non_null(b->p);
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

static void buf_fmt(struct buf *b, const char *fmt, ...)
{
	char tmp[512];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	assert_true(n >= 0 && (size_t)n < sizeof(tmp));
	buf_add(b, tmp, (size_t)n);
}

/* Printable ASCII as is (with IMAP's \" and \\ when quoted), anything else as \xNN. */
static void buf_esc(struct buf *b, const char *s, size_t len, bool quoted)
{
	for (size_t i = 0; i < len; i++) {
		uint8_t c = (uint8_t)s[i];

		if (quoted && (c == '\\' || c == '"'))
			buf_add(b, "\\", 1);
		if (c >= 0x20 && c < 0x7f)
			buf_add(b, s + i, 1);
		else
			buf_fmt(b, "\\x%02x", c);
	}
}

/* ---- rendering parser events: the text every split of an input must reproduce ---- */

static void render_args(struct buf *b, const struct imap_arg *a, bool lead)
{
	for (const struct imap_arg *first = a; a != NULL; a = a->next) {
		if (lead || a != first)
			buf_add(b, " ", 1);
		if (a->type == IMAP_ARG_LIST) {
			buf_add(b, "(", 1);
			render_args(b, a->list, false);
			buf_add(b, ")", 1);
		} else if (a->type == IMAP_ARG_LITERAL && a->streamed) {
			buf_fmt(b, "%s{%zu:stream}", a->literal8 ? "~" : "", a->len);
		} else {
			if (a->type == IMAP_ARG_LITERAL)
				buf_fmt(b, "%s{%zu}", a->literal8 ? "~" : "", a->len);
			bool quoted = a->type == IMAP_ARG_QUOTED || a->type == IMAP_ARG_LITERAL;

			if (quoted)
				buf_add(b, "\"", 1);
			buf_esc(b, a->str, a->len, quoted);
			if (quoted)
				buf_add(b, "\"", 1);
		}
	}
}

struct drive {
	struct imap_parser *p;
	struct buf out;
	uint64_t stream_over; /* literals larger than this are streamed */
	uint64_t streamed;
	uint32_t stream_hash;
	size_t max_memory;
	bool fatal;
};

static void drive_sink(void *ctx, const uint8_t *data, size_t len)
{
	struct drive *d = ctx;

	assert_true(len > 0);
	d->streamed += len;
	for (size_t i = 0; i < len; i++)
		d->stream_hash = d->stream_hash * 31 + data[i];
}

static void drive_literal(struct drive *d)
{
	const struct imap_literal *lit = imap_parser_literal(d->p);

	assert_non_null(lit);
	buf_fmt(&d->out, "LIT %s%llu%s\n", lit->binary ? "~" : "", (unsigned long long)lit->size,
	        lit->sync ? "" : "+");
	if (lit->size > d->stream_over) {
		imap_parser_literal_stream(d->p, drive_sink, d);
	} else if (imap_parser_literal_buffer(d->p) < 0) {
		buf_fmt(&d->out, "NOBUF\n");
	}
}

static void drive_command(struct drive *d)
{
	const struct imap_command *cmd = imap_parser_command(d->p);

	buf_fmt(&d->out, "CMD %s %s", cmd->tag, cmd->name);
	render_args(&d->out, cmd->args, true);
	buf_add(&d->out, "\n", 1);
	/* the session's side of AUTHENTICATE and IDLE: the next line is raw */
	if (strcasecmp(cmd->name, "AUTHENTICATE") == 0 || strcasecmp(cmd->name, "IDLE") == 0)
		imap_parser_expect_line(d->p);
}

/* Renders one event; false when the feed loop must stop. */
static bool drive_event(struct drive *d, enum imap_parse_result r)
{
	const struct imap_command *cmd = imap_parser_command(d->p);
	const char *line;
	size_t len;

	switch (r) {
	case IMAP_PARSE_MORE:
		return false;
	case IMAP_PARSE_COMMAND:
		drive_command(d);
		return true;
	case IMAP_PARSE_LITERAL:
		drive_literal(d);
		return true;
	case IMAP_PARSE_LINE:
		line = imap_parser_line(d->p, &len);
		buf_add(&d->out, "LINE \"", 6);
		buf_esc(&d->out, line, len, false);
		buf_add(&d->out, "\"\n", 2);
		return true;
	case IMAP_PARSE_ERROR:
		buf_fmt(&d->out, "ERR %s %s\n", cmd->tag != NULL ? cmd->tag : "*",
		        imap_parser_error(d->p));
		return true;
	case IMAP_PARSE_FATAL:
		buf_fmt(&d->out, "FATAL %s\n", imap_parser_error(d->p));
		d->fatal = true;
		return false;
	}
	return false;
}

static void drive_feed(struct drive *d, const uint8_t *in, size_t len)
{
	enum imap_parse_result r;
	size_t used;

	if (d->fatal)
		return;
	do {
		r = imap_parser_feed(d->p, in, len, &used);
		assert_true(used <= len);
		in += used;
		len -= used;
		if (imap_parser_memory(d->p) > d->max_memory)
			d->max_memory = imap_parser_memory(d->p);
	} while (drive_event(d, r));
	assert_true(d->fatal || len == 0);
}

static void drive_init(struct drive *d, const struct imap_parser_limits *limits, unsigned flags)
{
	memset(d, 0, sizeof(*d));
	d->p = imap_parser_new(limits, flags);
	assert_non_null(d->p);
	d->stream_over = UINT64_MAX;
}

static char *drive_done(struct drive *d)
{
	if (d->streamed > 0)
		buf_fmt(&d->out, "STREAMED %llu %08x\n", (unsigned long long)d->streamed,
		        d->stream_hash);
	imap_parser_free(&d->p);
	assert_null(d->p);
	if (d->out.p == NULL)
		buf_add(&d->out, "", 0);
	return d->out.p;
}

struct setup {
	bool preauth;
	unsigned flags;
	uint64_t stream_over;
	size_t line_max; /* 0: default */
};

/* The rendering of in fed in pieces: split 0 is one shot, 1 cuts at byte cut, and
   SIZE_MAX feeds one byte at a time. */
static char *parse_split(const struct setup *s, const char *in, size_t len, size_t cut)
{
	struct imap_parser_limits limits;
	const uint8_t *u = (const uint8_t *)in;
	struct drive d;

	imap_parser_limits_default(&limits, !s->preauth);
	if (s->line_max != 0)
		limits.line_max = s->line_max;
	drive_init(&d, &limits, s->flags);
	if (s->stream_over != 0)
		d.stream_over = s->stream_over;
	if (cut == SIZE_MAX) {
		for (size_t i = 0; i < len; i++)
			drive_feed(&d, u + i, 1);
	} else {
		drive_feed(&d, u, cut);
		drive_feed(&d, u + cut, len - cut);
	}
	return drive_done(&d);
}

/* One shot gives expected (when not NULL); every split point and byte-at-a-time give the
   same. Returns the rendering. */
static char *check_splits(const struct setup *s, const char *in, size_t len, const char *expected)
{
	char *once = parse_split(s, in, len, 0);

	if (expected != NULL && strcmp(once, expected) != 0) {
		print_error("input:    %s\nexpected: %sgot:      %s", in, expected, once);
		fail();
	}
	for (size_t cut = 1; cut <= len; cut++) {
		char *split = parse_split(s, in, len, cut < len ? cut : SIZE_MAX);

		if (strcmp(once, split) != 0) {
			print_error("input %s split at %zu:\n%s\nvs one-shot:\n%s", in, cut, split,
			            once);
			fail();
		}
		free(split);
	}
	return once;
}

static void expect(const struct setup *s, const char *in, const char *expected)
{
	free(check_splits(s, in, strlen(in), expected));
}

static const struct setup authed = {false, 0, 0, 0};
static const struct setup preauth = {true, 0, 0, 0};

/* Inputs may hold NULs: their length comes from the literal, not strlen. */
struct row {
	const char *in;
	size_t len;
	const char *out;
};
/* clang-format off */
#define R(in, out) {in, sizeof(in) - 1, out}
/* a command whose rendering is itself */
#define SAME(in) {in, sizeof(in) - 1, NULL}
/* a bad command, then a good one that shows the parser resynchronised */
#define BAD(in, err) R(in "b NOOP\r\n", err "\nCMD b NOOP\n")
/* clang-format on */

static void expect_rows(const struct setup *s, const struct row *rows, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		struct buf same = {0};

		if (rows[i].out == NULL) {
			buf_add(&same, "CMD ", 4);
			buf_add(&same, rows[i].in, rows[i].len - 2);
			buf_add(&same, "\n", 1);
		}
		free(check_splits(s, rows[i].in, rows[i].len,
		                  rows[i].out != NULL ? rows[i].out : same.p));
		free(same.p);
	}
}

#define ROWS(s, t) expect_rows((s), (t), sizeof(t) / sizeof((t)[0]))

/* ---- real clients ---- */

static const struct row thunderbird[] = {
    SAME("1 capability\r\n"),
    R("2 authenticate PLAIN\r\nAGJvYkBleGFtcGxlLm9yZwBzM2NyM3Q=\r\n",
      "CMD 2 authenticate PLAIN\nLINE \"AGJvYkBleGFtcGxlLm9yZwBzM2NyM3Q=\"\n"),
    SAME("3 ID (\"name\" \"Thunderbird\" \"version\" \"115.3.1\")\r\n"),
    SAME("5 select \"INBOX\" (CONDSTORE)\r\n"),
    SAME("6 UID fetch 1:* (FLAGS)\r\n"),
    R("7 UID fetch 101:* (UID RFC822.SIZE FLAGS BODY.PEEK[HEADER.FIELDS (From To Cc Bcc "
      "Subject Date Message-ID Priority X-Priority References Newsgroups In-Reply-To "
      "Content-Type Reply-To)])\r\n",
      "CMD 7 UID fetch 101:* (UID RFC822.SIZE FLAGS BODY.PEEK[HEADER.FIELDS (From To Cc Bcc "
      "Subject Date Message-ID Priority X-Priority References Newsgroups In-Reply-To "
      "Content-Type Reply-To) ])\n"),
    R("8 IDLE\r\nDONE\r\n", "CMD 8 IDLE\nLINE \"DONE\"\n"),
    SAME("9 list (SUBSCRIBED) \"\" \"*\" (CHILDREN SPECIAL-USE)\r\n"),
    SAME("10 uid store 35 +FLAGS (\\Seen)\r\n"),
    SAME("12 UID fetch 35 (UID RFC822.SIZE BODY.PEEK[]<0.10240>)\r\n"),
};

static const struct row apple_mail[] = {
    SAME("1.1 CAPABILITY\r\n"),
    SAME("3.2 ID (\"name\" \"Mac OS X Mail\" \"version\" \"16.0 (3731.400.51.1.1)\" \"os\" "
         "\"macOS\" \"vendor\" \"Apple Inc.\")\r\n"),
    SAME("4.3 LIST \"\" \"*\" RETURN (SPECIAL-USE)\r\n"),
    SAME("5.5 UID FETCH 1:* (FLAGS) (CHANGEDSINCE 123 VANISHED)\r\n"),
    SAME("7.9 UID SEARCH UID 1:* NOT DELETED\r\n"),
    SAME("8.6 UID STORE 42 +FLAGS.SILENT (\\Deleted)\r\n"),
    SAME("9.1 UID EXPUNGE 42\r\n"),
};

static const struct row outlook[] = {
    R("A002 LOGIN {16}\r\nuser@example.org {6}\r\nsecret\r\n",
      "LIT 16\nLIT 6\nCMD A002 LOGIN {16}\"user@example.org\" {6}\"secret\"\n"),
    R("HB4F UID FETCH 1:20 (UID FLAGS INTERNALDATE RFC822.SIZE BODY.PEEK[HEADER.FIELDS (DATE "
      "FROM SUBJECT CONTENT-TYPE X-MS-TNEF-Correlator IMPORTANCE)] BODYSTRUCTURE)\r\n",
      "CMD HB4F UID FETCH 1:20 (UID FLAGS INTERNALDATE RFC822.SIZE BODY.PEEK[HEADER.FIELDS "
      "(DATE FROM SUBJECT CONTENT-TYPE X-MS-TNEF-Correlator IMPORTANCE) ] BODYSTRUCTURE)\n"),
    SAME("C3 SELECT \"Sent Items\"\r\n"),
};

static const struct row mutt[] = {
    SAME("a0001 CAPABILITY\r\n"),
    SAME("a0002 LOGIN \"bob@example.org\" \"p@ss \\\"w\\\\rd\"\r\n"),
    SAME("a0003 LIST \"\" \"%\"\r\n"),
    R("a0006 FETCH 1:100 (UID FLAGS INTERNALDATE RFC822.SIZE BODY.PEEK[HEADER.FIELDS (DATE "
      "FROM SUBJECT)])\r\n",
      "CMD a0006 FETCH 1:100 (UID FLAGS INTERNALDATE RFC822.SIZE BODY.PEEK[HEADER.FIELDS "
      "(DATE FROM SUBJECT) ])\n"),
    R("a0010 UID SEARCH CHARSET UTF-8 SUBJECT {5}\r\ncaf\xc3\xa9\r\n",
      "LIT 5\nCMD a0010 UID SEARCH CHARSET UTF-8 SUBJECT {5}\"caf\\xc3\\xa9\"\n"),
    SAME("a0011 STATUS NIL (MESSAGES)\r\n"),
};

/* imapsync-style migration: APPEND with flags, internal date and a literal; LITERAL+. */
static const struct row imapsync[] = {
    R("18 APPEND \"INBOX.Archive\" (\\Seen \\Answered $Forwarded) \"17-Jul-1996 02:44:25 "
      "-0700\" {28}\r\nSubject: hi\r\n\r\nHello there\r\n\r\n",
      "LIT 28\nCMD 18 APPEND \"INBOX.Archive\" (\\Seen \\Answered $Forwarded) "
      "\"17-Jul-1996 02:44:25 -0700\" {28}\"Subject: hi\\x0d\\x0a\\x0d\\x0aHello "
      "there\\x0d\\x0a\"\n"),
    R("19 APPEND INBOX () {3+}\r\nabc\r\n", "LIT 3+\nCMD 19 APPEND INBOX () {3}\"abc\"\n"),
    /* MULTIAPPEND (RFC 3502) */
    R("20 APPEND Saved (\\Seen) {1}\r\na (\\Draft) {1}\r\nb\r\n",
      "LIT 1\nLIT 1\nCMD 20 APPEND Saved (\\Seen) {1}\"a\" (\\Draft) {1}\"b\"\n"),
};

static void test_real_client_commands_parse(void **state)
{
	(void)state;
	ROWS(&authed, thunderbird);
	ROWS(&authed, apple_mail);
	ROWS(&authed, outlook);
	ROWS(&authed, mutt);
	ROWS(&authed, imapsync);
}

static const struct row literal_kinds[] = {
    R("a LOGIN {3}\r\nbob {0}\r\n\r\n", "LIT 3\nLIT 0\nCMD a LOGIN {3}\"bob\" {0}\"\"\n"),
    R("a LOGIN {3+}\r\nbob x\r\n", "LIT 3+\nCMD a LOGIN {3}\"bob\" x\n"),
    R("a APPEND INBOX ~{5}\r\na\0b\0c\r\n", "LIT ~5\nCMD a APPEND INBOX ~{5}\"a\\x00b\\x00c\"\n"),
    R("a APPEND INBOX ~{3+}\r\n\0\0\0\r\n",
      "LIT ~3+\nCMD a APPEND INBOX ~{3}\"\\x00\\x00\\x00\"\n"),
    R("a X (a {2}\r\n()) b\r\n", "LIT 2\nCMD a X (a {2}\"()\") b\n"),
    R("a X {2}\n\r\n\n", "LIT 2\nCMD a X {2}\"\\x0d\\x0a\"\n"),
    R("a X {02}\r\nab\r\n", "LIT 2\nCMD a X {2}\"ab\"\n"),
    SAME("a X ~x ~\r\n"),
    R("a APPEND Drafts CATENATE (URL \"/Drafts;UID=20\" TEXT {4}\r\nbody)\r\n",
      "LIT 4\nCMD a APPEND Drafts CATENATE (URL \"/Drafts;UID=20\" TEXT {4}\"body\")\n"),
};

static void test_literals_of_every_kind(void **state)
{
	(void)state;
	ROWS(&authed, literal_kinds);
}

static const struct row syntax[] = {
    /* bare LF ends a line; empty lines are ignored; extra spaces are tolerated */
    R("a NOOP\n\r\n\nb NOOP\r\n", "CMD a NOOP\nCMD b NOOP\n"),
    R("a  FETCH  1   (FLAGS) \r\n", "CMD a FETCH 1 (FLAGS)\n"),
    R("a X nil NIL \"NIL\" Nil\r\n", "CMD a X NIL NIL \"NIL\" NIL\n"),
    R("a X (()())(x)y\r\n", "CMD a X (() ()) (x) y\n"),
    SAME("a X \"\" \"\\\\\"\r\n"),
    SAME("]a NOOP\r\n"),
    /* errors, each followed by a good command to show the resynchronisation */
    BAD("+ NOOP\r\n", "ERR * invalid tag"),
    BAD(" NOOP\r\n", "ERR * missing tag"),
    BAD("a\r\n", "ERR a missing command name"),
    BAD("a \r\n", "ERR a missing command name"),
    BAD("a N[OP\r\n", "ERR a invalid command name"),
    R("a NOOP\rb NOOP\r\nc NOOP\r\n", "ERR a CR without LF\nCMD c NOOP\n"),
    R("\rb NOOP\r\nc NOOP\r\n", "ERR * CR without LF\nCMD c NOOP\n"),
    BAD("a X (FLAGS\r\n", "ERR a unbalanced parentheses"),
    BAD("a X FLAGS)\r\n", "ERR a unbalanced parentheses"),
    BAD("a X ((a) b\r\n", "ERR a unbalanced parentheses"),
    BAD("a X \"abc\r\n", "ERR a unterminated quoted string"),
    BAD("a X \"a\\b\"\r\n", "ERR a invalid escape in quoted string"),
    BAD("a X ab\"c\r\n", "ERR a invalid character in atom"),
    BAD("a X ab{3}\r\n", "ERR a invalid character in atom"),
    BAD("a X a\tb\r\n", "ERR a control character in atom"),
    BAD("a X caf\xc3\xa9\r\n", "ERR a 8-bit character in atom"),
    BAD("a X \"caf\xc3\xa9\"\r\n", "ERR a 8-bit character in quoted string"),
    BAD("a X {}\r\n", "ERR a invalid literal size"),
    BAD("a X {5-}\r\n", "ERR a invalid literal size"),
    BAD("a X {5+x}\r\n", "ERR a invalid literal size"),
    BAD("a X {5} \r\n", "ERR a literal size not followed by CRLF"),
    BAD("a X {5}\rb\r\n", "ERR a literal size not followed by CRLF"),
    /* a bad line that announces a non-synchronising literal: its bytes are skipped, never
       taken for commands */
    R("a X \"\0\" {16+}\r\nb DELETE INBOX\r\n\r\nc NOOP\r\n",
      "ERR a NUL in quoted string\nCMD c NOOP\n"),
    R("a X ) ~{4+}\r\n\r\n\r\n tail\r\nc NOOP\r\n", "ERR a unbalanced parentheses\nCMD c NOOP\n"),
    BAD("a X {4+\0}\r\n", "ERR a invalid literal size"),
    /* ... a synchronising one is never sent by the client, whose command got BAD */
    BAD("a X ) {4}\r\n", "ERR a unbalanced parentheses"),
};

static void test_syntax_and_resynchronisation(void **state)
{
	(void)state;
	ROWS(&authed, syntax);
}

/* RELIABILITY row 65 (CVE-2019-11500 class): NUL never enters a string. */
static const struct row nul_rows[] = {
    BAD("a LOGIN \"bob\0\" x\r\n", "ERR a NUL in quoted string"),
    BAD("a LOGIN \"bob\\\0\" x\r\n", "ERR a NUL in quoted string"),
    BAD("a SELECT INB\0X\r\n", "ERR a NUL in atom"),
    BAD("a SELECT \0\r\n", "ERR a NUL in atom"),
    BAD("a\0 NOOP\r\n", "ERR * NUL in tag"),
    R("a LOGIN {4}\r\nb\0b\r\nb NOOP\r\n", "LIT 4\nERR a NUL in literal\nCMD b NOOP\n"),
    R("a LOGIN {4+}\r\nbob\0 x\r\nb NOOP\r\n", "LIT 4+\nERR a NUL in literal\nCMD b NOOP\n"),
};

static void test_nul_in_quoted_atom_or_literal_is_bad(void **state)
{
	(void)state;
	ROWS(&authed, nul_rows);
}

static const struct row utf8_rows[] = {
    R("a SELECT \"Entw\xc3\xbcrfe\"\r\n", "CMD a SELECT \"Entw\\xc3\\xbcrfe\"\n"),
    R("a SELECT \"\xf0\x9f\x98\x80\"\r\n", "CMD a SELECT \"\\xf0\\x9f\\x98\\x80\"\n"),
    BAD("a SELECT \"\xc3\"\r\n", "ERR a invalid UTF-8 in quoted string"),
    BAD("a SELECT \"\xed\xa0\x80\"\r\n", "ERR a invalid UTF-8 in quoted string"),
    BAD("a SELECT \"\xc0\xaf\"\r\n", "ERR a invalid UTF-8 in quoted string"),
    BAD("a SELECT Entw\xc3\xbcrfe\r\n", "ERR a 8-bit character in atom"),
};

static void test_utf8_in_quoted_needs_utf8_accept(void **state)
{
	const struct setup utf8 = {false, IMAP_PARSER_UTF8, 0, 0};

	(void)state;
	ROWS(&utf8, utf8_rows);
	expect(&authed, "a SELECT \"Entw\xc3\xbcrfe\"\r\nb NOOP\r\n",
	       "ERR a 8-bit character in quoted string\nCMD b NOOP\n");
}

/* ---- literals: the continuation decision comes before the bytes ---- */

static struct imap_parser *new_parser(bool authed_limits)
{
	struct imap_parser_limits limits;
	struct imap_parser *p;

	imap_parser_limits_default(&limits, authed_limits);
	p = imap_parser_new(&limits, 0);
	assert_non_null(p);
	return p;
}

static enum imap_parse_result feed_str(struct imap_parser *p, const char *s, size_t *used_r)
{
	return imap_parser_feed(p, (const uint8_t *)s, strlen(s), used_r);
}

static void test_continuation_is_asked_before_literal_bytes(void **state)
{
	static const char in[] =
	    "A1 APPEND \"Sent\" (\\Seen) \"05-Mar-2024 10:00:00 +0100\" {5}\r\n"
	    "hello\r\n";
	struct imap_parser *p = new_parser(true);
	const struct imap_command *cmd;
	const struct imap_arg *flags;
	unsigned count;
	size_t used, announce = strlen(in) - 7;

	(void)state;
	/* the literal's bytes are in the buffer already; none is taken before the decision */
	assert_int_equal(feed_str(p, in, &used), IMAP_PARSE_LITERAL);
	assert_int_equal(used, announce);
	assert_int_equal(imap_parser_literal(p)->size, 5);
	assert_true(imap_parser_literal(p)->sync);
	/* APPEND can check mailbox, flags and date before answering "+" */
	cmd = imap_parser_command(p);
	assert_string_equal(cmd->tag, "A1");
	assert_string_equal(cmd->name, "APPEND");
	assert_int_equal(cmd->arg_count, 3);
	assert_string_equal(cmd->args->str, "Sent");
	assert_true(imap_arg_get_list(cmd->args->next, &flags, &count));
	assert_int_equal(count, 1);
	assert_true(imap_arg_atom_is(flags, "\\SEEN"));
	assert_int_equal(imap_parser_literal_buffer(p), 0);
	assert_null(imap_parser_literal(p));
	assert_int_equal(imap_parser_feed(p, (const uint8_t *)in + used, 7, &used),
	                 IMAP_PARSE_COMMAND);
	assert_int_equal(used, 7);
	assert_int_equal(imap_parser_command(p)->arg_count, 4);
	imap_parser_free(&p);
}

static void test_refused_sync_literal_ends_the_command(void **state)
{
	struct imap_parser *p = new_parser(true);
	size_t used;

	(void)state;
	assert_int_equal(feed_str(p, "a APPEND INBOX {99999}\r\n", &used), IMAP_PARSE_LITERAL);
	imap_parser_literal_refuse(p); /* the session sent "a NO [TOOBIG]" */
	assert_int_equal(feed_str(p, "b NOOP\r\n", &used), IMAP_PARSE_COMMAND);
	assert_string_equal(imap_parser_command(p)->tag, "b");
	/* a non-synchronising literal cannot be refused without closing */
	assert_int_equal(feed_str(p, "c APPEND INBOX {5+}\r\n", &used), IMAP_PARSE_LITERAL);
	imap_parser_literal_refuse(p);
	assert_int_equal(feed_str(p, "hello\r\n", &used), IMAP_PARSE_FATAL);
	assert_int_equal(used, 0);
	assert_int_equal(feed_str(p, "d NOOP\r\n", &used), IMAP_PARSE_FATAL);
	imap_parser_reset(p);
	assert_int_equal(feed_str(p, "d NOOP\r\n", &used), IMAP_PARSE_COMMAND);
	imap_parser_free(&p);
	imap_parser_free(&p);
}

static void test_buffered_literals_share_a_memory_budget(void **state)
{
	struct imap_parser *p = new_parser(true);
	char in[128];
	size_t used;

	(void)state;
	snprintf(in, sizeof(in), "a LOGIN {%u}\r\n", IMAP_LITERAL_MEM_MAX + 1);
	assert_int_equal(feed_str(p, in, &used), IMAP_PARSE_LITERAL);
	assert_int_equal(imap_parser_literal_buffer(p), -1); /* no "+" is sent */
	assert_int_equal(feed_str(p, "b NOOP\r\n", &used), IMAP_PARSE_ERROR);
	assert_int_equal(used, 0);
	assert_string_equal(imap_parser_error(p), "literal too large");
	assert_string_equal(imap_parser_command(p)->tag, "a");
	assert_int_equal(feed_str(p, "b NOOP\r\n", &used), IMAP_PARSE_COMMAND);
	/* exactly the budget fits */
	snprintf(in, sizeof(in), "c LOGIN {%u}\r\n", IMAP_LITERAL_MEM_MAX);
	assert_int_equal(feed_str(p, in, &used), IMAP_PARSE_LITERAL);
	assert_int_equal(imap_parser_literal_buffer(p), 0);
	imap_parser_reset(p);
	/* over the budget, non-synchronising: the bytes are coming, so the connection ends */
	snprintf(in, sizeof(in), "d LOGIN {%u+}\r\n", IMAP_LITERAL_MEM_MAX + 1);
	assert_int_equal(feed_str(p, in, &used), IMAP_PARSE_LITERAL);
	assert_int_equal(imap_parser_literal_buffer(p), -1);
	assert_int_equal(feed_str(p, "x", &used), IMAP_PARSE_FATAL);
	imap_parser_free(&p);
}

/* RELIABILITY row 56: a huge synchronising literal before login gets BAD before "+", before
   its line even ends, and before any allocation. */
static void test_preauth_huge_sync_literal_is_refused_before_continuation(void **state)
{
	struct imap_parser *p = new_parser(false);
	size_t used, before = imap_parser_memory(p);

	(void)state;
	assert_int_equal(feed_str(p, "a LOGIN {4294967295}", &used), IMAP_PARSE_ERROR);
	assert_string_equal(imap_parser_error(p), "literal too large");
	assert_string_equal(imap_parser_command(p)->tag, "a");
	assert_true(imap_parser_memory(p) <= before + 8192);
	assert_int_equal(feed_str(p, "\r\nb NOOP\r\n", &used), IMAP_PARSE_COMMAND);
	imap_parser_free(&p);
	expect(&preauth, "a LOGIN {8192}\r\n", "LIT 8192\n");
	expect(&preauth, "a LOGIN {8193}\r\nb NOOP\r\n", "ERR a literal too large\nCMD b NOOP\n");
	expect(&preauth, "a LOGIN {99999999999999999999999999}\r\nb NOOP\r\n",
	       "ERR a literal too large\nCMD b NOOP\n");
}

/* RELIABILITY row 57: a non-synchronising literal over LITERAL-'s 4096 before login cannot be
   refused (its bytes follow at once): FATAL, and nothing of it is buffered. */
static void test_preauth_nonsync_literal_over_literal_minus_is_fatal(void **state)
{
	struct imap_parser *p = new_parser(false);
	size_t used;

	(void)state;
	assert_int_equal(feed_str(p, "a LOGIN {1000000000+}", &used), IMAP_PARSE_FATAL);
	assert_string_equal(imap_parser_error(p), "literal too large");
	assert_int_equal(feed_str(p, "\r\nxxxx", &used), IMAP_PARSE_FATAL);
	assert_int_equal(used, 0);
	assert_true(imap_parser_memory(p) < 16384);
	imap_parser_free(&p);
	expect(&preauth, "a LOGIN {4096+}\r\n", "LIT 4096+\n");
	expect(&preauth, "a LOGIN {4097+}\r\nb NOOP\r\n", "FATAL literal too large\n");
	expect(&authed, "a LOGIN {4097+}\r\n", "LIT 4097+\n");
	/* also when announced in a line that is being skipped */
	expect(&preauth, "a X ) {4097+}\r\nb NOOP\r\n",
	       "ERR a unbalanced parentheses\nFATAL literal too large\n");
}

/* An APPEND literal streamed in chunks: the parser's memory does not grow with it. */
static void test_ten_mib_literal_streams_in_bounded_memory(void **state)
{
	const size_t size = 10u * 1024 * 1024, chunk = 4093;
	struct imap_parser_limits limits;
	char head[96];
	uint8_t *data = malloc(size);
	uint32_t hash = 0;
	struct drive d;
	char *out;

	(void)state;
	assert_non_null(data);
	for (size_t i = 0; i < size; i++) {
		data[i] = (uint8_t)(i % 255 + 1); /* a NUL would make it BAD */
		hash = hash * 31 + data[i];
	}
	imap_parser_limits_default(&limits, true);
	drive_init(&d, &limits, 0);
	d.stream_over = 4096;
	snprintf(head, sizeof(head), "A5 APPEND INBOX (\\Seen) {%zu}\r\n", size);
	drive_feed(&d, (const uint8_t *)head, strlen(head));
	for (size_t off = 0; off < size; off += chunk)
		drive_feed(&d, data + off, size - off < chunk ? size - off : chunk);
	drive_feed(&d, (const uint8_t *)"\r\n", 2);
	assert_int_equal(d.streamed, size);
	assert_int_equal(d.stream_hash, hash);
	assert_true(d.max_memory < 32 * 1024);
	out = drive_done(&d);
	assert_non_null(strstr(out, "LIT 10485760\nCMD A5 APPEND INBOX (\\Seen) "
	                            "{10485760:stream}\n"));
	free(out);
	free(data);
}

static void test_streamed_literal_equals_at_every_split(void **state)
{
	const struct setup stream = {false, 0, 2, 0};
	static const struct row rows[] = {
	    R("a APPEND INBOX {11}\r\nhello world x {3+}\r\nabc ~{4}\r\n\0\0\0\0\r\n",
	      "LIT 11\nLIT 3+\nLIT ~4\nCMD a APPEND INBOX {11:stream} x {3:stream} "
	      "~{4:stream}\nSTREAMED 18 441eb01e\n"),
	};

	(void)state;
	ROWS(&stream, rows);
}

/* ---- limits at and one past ---- */

static char *repeat(const char *head, const char *unit, size_t n, const char *tail)
{
	struct buf b = {0};

	buf_add(&b, head, strlen(head));
	for (size_t i = 0; i < n; i++)
		buf_add(&b, unit, strlen(unit));
	buf_add(&b, tail, strlen(tail));
	return b.p;
}

static char *parse_once(const struct setup *s, const char *in)
{
	return parse_split(s, in, strlen(in), 0);
}

static void expect_prefix(const struct setup *s, const char *in, const char *prefix)
{
	char *out = parse_once(s, in);

	if (strncmp(out, prefix, strlen(prefix)) != 0) {
		print_error("expected %s, got %.200s\n", prefix, out);
		fail();
	}
	free(out);
}

/* RELIABILITY row 59. line_max counts the command's non-literal bytes with line ends. */
static void test_line_length_limit(void **state)
{
	char *in;

	(void)state;
	/* "a X " + atom + "\r\n" of exactly IMAP_LINE_MAX bytes */
	in = repeat("a X ", "x", IMAP_LINE_MAX - 6, "\r\nb NOOP\r\n");
	expect_prefix(&authed, in, "CMD a X xxx");
	free(in);
	in = repeat("a X ", "x", IMAP_LINE_MAX - 5, "\r\nb NOOP\r\n");
	expect_prefix(&authed, in, "ERR a line too long\nCMD b NOOP\n");
	free(in);
	/* 1 MB without a line end: the error comes after line_max bytes, not at the end */
	{
		struct imap_parser *p = new_parser(true);
		size_t used;

		in = repeat("a X ", "y", 1000000, "");
		assert_int_equal(feed_str(p, in, &used), IMAP_PARSE_ERROR);
		assert_int_equal(used, IMAP_LINE_MAX);
		assert_true(imap_parser_memory(p) < 3 * IMAP_LINE_MAX);
		free(in);
		imap_parser_free(&p);
	}
	/* literal bytes do not count; the literal's announcement does */
	{
		const struct setup small = {false, 0, 0, 32};

		expect(&small, "a LOGIN {40}\r\n0123456789012345678901234567890123456789 b\r\n",
		       "LIT 40\nCMD a LOGIN {40}\"0123456789012345678901234567890123456789\" b\n");
		expect(&small, "a LOGIN user0123456789012345678\r\nb NOOP\r\n",
		       "ERR a line too long\nCMD b NOOP\n");
		expect(&small, "a LOGIN user012345678901234567\r\n",
		       "CMD a LOGIN user012345678901234567\n");
	}
}

/* RELIABILITY row 60: nesting is a counter and a stack, never recursion. */
static void test_nesting_depth_limit(void **state)
{
	char *in;

	(void)state;
	in = repeat("a X ", "(", IMAP_DEPTH_MAX, "");
	{
		char *close = repeat(in, ")", IMAP_DEPTH_MAX, "\r\n");

		expect_prefix(&authed, close, "CMD a X ((((");
		free(close);
	}
	free(in);
	in = repeat("a X ", "(", IMAP_DEPTH_MAX + 1, "\r\nb NOOP\r\n");
	expect_prefix(&authed, in, "ERR a parentheses nested too deeply\nCMD b NOOP\n");
	free(in);
	in = repeat("a SEARCH ", "(", 100000, "ALL\r\nb NOOP\r\n");
	expect_prefix(&authed, in, "ERR a parentheses nested too deeply\nCMD b NOOP\n");
	free(in);
	in = repeat("a ID ", "(", IMAP_PREAUTH_DEPTH_MAX + 1, "\r\nb NOOP\r\n");
	expect_prefix(&preauth, in, "ERR a parentheses nested too deeply\nCMD b NOOP\n");
	free(in);
}

/* RELIABILITY row 61 at the parser: every atom, string, literal and list counts. */
static void test_argument_count_limit(void **state)
{
	char *in;

	(void)state;
	in = repeat("a SEARCH", " 1", IMAP_ARGS_MAX, "\r\nb NOOP\r\n");
	expect_prefix(&authed, in, "CMD a SEARCH 1 1 1");
	free(in);
	in = repeat("a SEARCH", " 1", IMAP_ARGS_MAX + 1, "\r\nb NOOP\r\n");
	expect_prefix(&authed, in, "ERR a too many arguments\nCMD b NOOP\n");
	free(in);
	in = repeat("a SEARCH", " ()", IMAP_ARGS_MAX + 1, "\r\nb NOOP\r\n");
	expect_prefix(&authed, in, "ERR a too many arguments\nCMD b NOOP\n");
	free(in);
	in = repeat("a ID", " \"x\"", IMAP_PREAUTH_ARGS_MAX + 1, "\r\nb NOOP\r\n");
	expect_prefix(&preauth, in, "ERR a too many arguments\nCMD b NOOP\n");
	free(in);
}

static void test_limits_change_at_the_next_command(void **state)
{
	struct imap_parser *p = new_parser(false);
	struct imap_parser_limits limits;
	size_t used;

	(void)state;
	/* nothing read yet: a new flag applies at once */
	imap_parser_set_flags(p, IMAP_PARSER_UTF8);
	assert_int_equal(feed_str(p, "0 ID (\"n\" \"\xc3\xa9\")\r\n", &used), IMAP_PARSE_COMMAND);
	imap_parser_set_flags(p, 0);
	imap_parser_limits_default(&limits, true);
	assert_int_equal(feed_str(p, "a LOGIN \"\xc3\xa9\"", &used), IMAP_PARSE_ERROR);
	assert_int_equal(feed_str(p, "\xa9\" secret\r\na LOGIN bob secret\r\n", &used),
	                 IMAP_PARSE_COMMAND);
	assert_int_equal(imap_parser_set_limits(p, &limits), 0);
	imap_parser_set_flags(p, IMAP_PARSER_UTF8);
	assert_int_equal(feed_str(p, "b APPEND \"\xc3\xa9\" {10000+}\r\n", &used),
	                 IMAP_PARSE_LITERAL);
	imap_parser_literal_refuse(p);
	limits.depth_max = IMAP_DEPTH_LIMIT + 1;
	assert_int_equal(imap_parser_set_limits(p, &limits), -1);
	assert_null(imap_parser_new(&limits, 0));
	limits.depth_max = 1;
	limits.line_max = 0;
	assert_null(imap_parser_new(&limits, 0));
	imap_parser_free(&p);
}

static void test_pipelined_commands_are_returned_one_at_a_time(void **state)
{
	static const char in[] = "a NOOP\r\nb CHECK\r\nc LOGOUT\r\n";
	struct imap_parser *p = new_parser(true);
	size_t used, off = 0;

	(void)state;
	assert_int_equal(feed_str(p, in, &used), IMAP_PARSE_COMMAND);
	assert_int_equal(used, 8); /* the rest stays with the caller (dropped after STARTTLS) */
	off += used;
	assert_int_equal(feed_str(p, in + off, &used), IMAP_PARSE_COMMAND);
	assert_string_equal(imap_parser_command(p)->name, "CHECK");
	off += used;
	assert_int_equal(feed_str(p, in + off, &used), IMAP_PARSE_COMMAND);
	assert_string_equal(imap_parser_command(p)->name, "LOGOUT");
	assert_int_equal(off + used, strlen(in));
	assert_int_equal(imap_parser_feed(p, NULL, 0, &used), IMAP_PARSE_MORE);
	imap_parser_free(&p);
}

static void test_raw_lines(void **state)
{
	static const struct row nul =
	    R("a AUTHENTICATE PLAIN\r\nab\0c\r\nb NOOP\r\n",
	      "CMD a AUTHENTICATE PLAIN\nERR * NUL in line\nCMD b NOOP\n");

	(void)state;
	expect(&authed, "a AUTHENTICATE PLAIN\r\n\r\nb NOOP\r\n",
	       "CMD a AUTHENTICATE PLAIN\nLINE \"\"\nCMD b NOOP\n");
	expect_rows(&authed, &nul, 1);
	expect(&authed, "a IDLE\nDONE\nb NOOP\n", "CMD a IDLE\nLINE \"DONE\"\nCMD b NOOP\n");
	expect(&authed, "a IDLE\r\nDO\rNE\r\nb NOOP\r\n",
	       "CMD a IDLE\nERR * CR without LF\nCMD b NOOP\n");
}

static void test_argument_helpers(void **state)
{
	struct imap_parser *p = new_parser(true);
	const struct imap_arg *a, *list;
	const char *s;
	size_t len, used;
	unsigned count;

	(void)state;
	assert_int_equal(feed_str(p, "a X atom NIL \"q\" (1 2) {1+}\r\nl\r\n", &used),
	                 IMAP_PARSE_LITERAL);
	assert_int_equal(imap_parser_literal_buffer(p), 0);
	assert_int_equal(imap_parser_feed(p, (const uint8_t *)"l\r\n", 3, &used),
	                 IMAP_PARSE_COMMAND);
	a = imap_parser_command(p)->args;
	assert_true(imap_arg_get_astring(a, &s, &len) && len == 4);
	assert_false(imap_arg_get_string(a, &s, &len));
	a = a->next;
	assert_int_equal(a->type, IMAP_ARG_NIL);
	assert_true(imap_arg_get_nstring(a, &s, &len) && s == NULL);
	assert_true(imap_arg_get_astring(a, &s, &len) && strcmp(s, "NIL") == 0);
	a = a->next;
	assert_true(imap_arg_get_nstring(a, &s, &len) && strcmp(s, "q") == 0);
	a = a->next;
	assert_true(imap_arg_get_list(a, &list, &count) && count == 2);
	assert_true(imap_arg_atom_is(list->next, "2"));
	assert_false(imap_arg_get_astring(a, &s, &len));
	a = a->next;
	assert_true(imap_arg_get_string(a, &s, &len) && len == 1 && s[0] == 'l');
	assert_false(imap_arg_get_list(a, &list, &count));
	assert_false(imap_arg_atom_is(NULL, "x"));
	imap_parser_free(&p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_real_client_commands_parse),
	    cmocka_unit_test(test_literals_of_every_kind),
	    cmocka_unit_test(test_syntax_and_resynchronisation),
	    cmocka_unit_test(test_nul_in_quoted_atom_or_literal_is_bad),
	    cmocka_unit_test(test_utf8_in_quoted_needs_utf8_accept),
	    cmocka_unit_test(test_continuation_is_asked_before_literal_bytes),
	    cmocka_unit_test(test_refused_sync_literal_ends_the_command),
	    cmocka_unit_test(test_buffered_literals_share_a_memory_budget),
	    cmocka_unit_test(test_preauth_huge_sync_literal_is_refused_before_continuation),
	    cmocka_unit_test(test_preauth_nonsync_literal_over_literal_minus_is_fatal),
	    cmocka_unit_test(test_ten_mib_literal_streams_in_bounded_memory),
	    cmocka_unit_test(test_streamed_literal_equals_at_every_split),
	    cmocka_unit_test(test_line_length_limit),
	    cmocka_unit_test(test_nesting_depth_limit),
	    cmocka_unit_test(test_argument_count_limit),
	    cmocka_unit_test(test_limits_change_at_the_next_command),
	    cmocka_unit_test(test_pipelined_commands_are_returned_one_at_a_time),
	    cmocka_unit_test(test_raw_lines),
	    cmocka_unit_test(test_argument_helpers),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
