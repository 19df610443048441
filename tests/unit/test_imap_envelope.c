#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "imap_bodystructure.h"
#include "imap_envelope.h"
#include "mime_parse.h"
#include "mime_test_util.h"

static void assert_envelope(const char *msg, const char *want)
{
	uint8_t *buf;
	struct mime_message *m = mime_test_parse(msg, true, &buf);
	struct mime_buf out = MIME_BUF_INIT;

	imap_envelope_write(&out, buf + m->root->header_off, m->root->header_len);
	assert_string_equal(mime_buf_str(&out), want);
	mime_buf_free(&out);
	mime_message_free(&m);
	free(buf);
}

static void assert_structure(const char *msg, bool extended, const char *want)
{
	uint8_t *buf;
	struct mime_message *m = mime_test_parse(msg, true, &buf);
	struct mime_buf out = MIME_BUF_INIT;

	imap_bodystructure_write(&out, m, extended);
	assert_string_equal(mime_buf_str(&out), want);
	mime_buf_free(&out);
	mime_message_free(&m);
	free(buf);
}

/* RFC 3501 7.4.2's example message. */
static const char rfc3501_message[] =
    "Date: Wed, 17 Jul 1996 02:23:25 -0700 (PDT)\n"
    "From: Terry Gray <gray@cac.washington.edu>\n"
    "Subject: IMAP4rev1 WG mtg summary and minutes\n"
    "To: imap@cac.washington.edu\n"
    "cc: minutes@CNRI.Reston.VA.US,\n John Klensin <KLENSIN@MIT.EDU>\n"
    "Message-Id: <B27397-0100000@cac.washington.edu>\n"
    "MIME-Version: 1.0\n"
    "Content-Type: TEXT/PLAIN; CHARSET=US-ASCII\n"
    "\n"
    "two\nlines\n";

static void test_envelope_of_the_rfc_example(void **state)
{
	(void)state;
	assert_envelope(rfc3501_message, "(\"Wed, 17 Jul 1996 02:23:25 -0700 (PDT)\" "
	                                 "\"IMAP4rev1 WG mtg summary and minutes\" "
	                                 "((\"Terry Gray\" NIL \"gray\" \"cac.washington.edu\")) "
	                                 "((\"Terry Gray\" NIL \"gray\" \"cac.washington.edu\")) "
	                                 "((\"Terry Gray\" NIL \"gray\" \"cac.washington.edu\")) "
	                                 "((NIL NIL \"imap\" \"cac.washington.edu\")) "
	                                 "((NIL NIL \"minutes\" \"CNRI.Reston.VA.US\")"
	                                 "(\"John Klensin\" NIL \"KLENSIN\" \"MIT.EDU\")) NIL NIL "
	                                 "\"<B27397-0100000@cac.washington.edu>\")");
	assert_structure(rfc3501_message, false,
	                 "(\"TEXT\" \"PLAIN\" (\"CHARSET\" \"US-ASCII\") NIL NIL \"7bit\" 12 2)");
	assert_structure(rfc3501_message, true,
	                 "(\"TEXT\" \"PLAIN\" (\"CHARSET\" \"US-ASCII\") NIL NIL \"7bit\" 12 2 NIL "
	                 "NIL NIL NIL)");
}

static void test_envelope_groups_quoting_literals_and_defaults(void **state)
{
	(void)state;
	assert_envelope("From: \"Quote \\\"me\\\" \\\\ back\" <q@x.test>\n"
	                "To: A Group:Ed Jones <c@a.test>,joe@where.test;, undisclosed-recipients:;,"
	                " nodomain, <>\n"
	                "Subject: caf\xC3\xA9 \"x\"\n"
	                "Sender: \n"
	                "In-Reply-To: <a@b>\n"
	                "Subject: second subject is ignored\n"
	                "\n",
	                "(NIL {9}\r\ncaf\xC3\xA9 \"x\" "
	                "((\"Quote \\\"me\\\" \\\\ back\" NIL \"q\" \"x.test\")) "
	                "((\"Quote \\\"me\\\" \\\\ back\" NIL \"q\" \"x.test\")) "
	                "((\"Quote \\\"me\\\" \\\\ back\" NIL \"q\" \"x.test\")) "
	                "((NIL NIL \"A Group\" NIL)(\"Ed Jones\" NIL \"c\" \"a.test\")"
	                "(NIL NIL \"joe\" \"where.test\")(NIL NIL NIL NIL)"
	                "(NIL NIL \"undisclosed-recipients\" NIL)(NIL NIL NIL NIL)"
	                "(NIL NIL \"nodomain\" \"MISSING_DOMAIN\")"
	                "(NIL NIL \"MISSING_MAILBOX\" \"MISSING_DOMAIN\")) "
	                "NIL NIL \"<a@b>\" NIL)");
	/* no header at all; an empty From stays NIL and so do Sender and Reply-To */
	assert_envelope("\nbody", "(NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL)");
	assert_envelope("From:\nSubject:\n\n", "(NIL \"\" NIL NIL NIL NIL NIL NIL NIL NIL)");
	/* encoded words are not decoded; a route is kept */
	assert_envelope("From: =?utf-8?q?J=C3=B6rg?= <@relay.test:j@x.test>\n\n",
	                "(NIL NIL ((\"=?utf-8?q?J=C3=B6rg?=\" \"@relay.test\" \"j\" \"x.test\")) "
	                "((\"=?utf-8?q?J=C3=B6rg?=\" \"@relay.test\" \"j\" \"x.test\")) "
	                "((\"=?utf-8?q?J=C3=B6rg?=\" \"@relay.test\" \"j\" \"x.test\")) "
	                "NIL NIL NIL NIL NIL)");
}

static void test_strings(void **state)
{
	struct mime_buf out = MIME_BUF_INIT;

	(void)state;
	imap_envelope_string(&out, (const uint8_t *)"a\"b\\c", 5);
	assert_string_equal(mime_buf_str(&out), "\"a\\\"b\\\\c\"");
	mime_buf_truncate(&out, 0);
	imap_envelope_string(&out, (const uint8_t *)"a\r\nb", 4);
	assert_string_equal(mime_buf_str(&out), "{4}\r\na\r\nb");
	mime_buf_truncate(&out, 0);
	imap_envelope_string(&out, (const uint8_t *)"a\0b", 3);
	assert_string_equal(mime_buf_str(&out), "\"ab\"");
	mime_buf_truncate(&out, 0);
	imap_envelope_string(&out, (const uint8_t *)"\xC3\xA9\0", 3);
	assert_string_equal(mime_buf_str(&out), "{2}\r\n\xC3\xA9");
	mime_buf_truncate(&out, 0);
	imap_envelope_nstring(&out, NULL);
	imap_envelope_nstring(&out, "");
	assert_string_equal(mime_buf_str(&out), "NIL\"\"");
	mime_buf_free(&out);
}

static const char multipart_message[] =
    "Subject: m\n"
    "Content-Type: multipart/mixed; boundary=\"b\"\n"
    "\n"
    "--b\n"
    "Content-Type: text/plain; charset=utf-8\n"
    "Content-Language: en, de\n"
    "Content-MD5: abc=\n"
    "\n"
    "hello\n"
    "--b\n"
    "Content-Type: application/octet-stream; name*=utf-8''%E2%82%AC.bin\n"
    "Content-Transfer-Encoding: base64\n"
    "Content-ID: <i@x>\n"
    "Content-Description: desc\n"
    "Content-Disposition: attachment; filename=\"a.bin\"\n"
    "Content-Location: http://x/a\n"
    "\n"
    "AAAA\n"
    "--b\n"
    "Content-Type: message/rfc822\n"
    "\n"
    "Subject: inner\n"
    "From: x@y\n"
    "\n"
    "inner\n"
    "--b--\n";

#define INNER_ENVELOPE                                                                             \
	"(NIL \"inner\" ((NIL NIL \"x\" \"y\")) ((NIL NIL \"x\" \"y\")) ((NIL NIL \"x\" \"y\")) "  \
	"NIL NIL NIL NIL NIL)"

static void test_bodystructure_of_a_multipart(void **state)
{
	(void)state;
	assert_structure(
	    multipart_message, true,
	    "((\"text\" \"plain\" (\"charset\" \"utf-8\") NIL NIL \"7bit\" 5 1 \"abc=\" NIL "
	    "(\"en\" \"de\") NIL)"
	    "(\"application\" \"octet-stream\" (\"name*\" \"utf-8''%E2%82%AC.bin\") "
	    "\"<i@x>\" \"desc\" \"base64\" 4 NIL (\"attachment\" (\"filename\" \"a.bin\")) "
	    "NIL \"http://x/a\")"
	    "(\"message\" \"rfc822\" NIL NIL NIL \"7bit\" 34 " INNER_ENVELOPE " "
	    "(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 5 1 NIL NIL "
	    "NIL NIL) 4 NIL NIL NIL NIL) "
	    "\"mixed\" (\"boundary\" \"b\") NIL NIL NIL)");
	assert_structure(multipart_message, false,
	                 "((\"text\" \"plain\" (\"charset\" \"utf-8\") NIL NIL \"7bit\" 5 1)"
	                 "(\"application\" \"octet-stream\" (\"name*\" \"utf-8''%E2%82%AC.bin\") "
	                 "\"<i@x>\" \"desc\" \"base64\" 4)"
	                 "(\"message\" \"rfc822\" NIL NIL NIL \"7bit\" 34 " INNER_ENVELOPE " "
	                 "(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 5 1) 4) "
	                 "\"mixed\")");
}

static void test_bodystructure_where_parts_are_missing(void **state)
{
	(void)state;
	/* a multipart without parts gets Dovecot's empty text/plain part */
	assert_structure("Content-Type: multipart/mixed\n\nno boundary\n", true,
	                 "((\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 0 0) "
	                 "\"mixed\" NIL NIL NIL NIL)");
	/* an encoded message/rfc822 is not parsed: NIL envelope, empty body */
	assert_structure(
	    "Content-Type: message/rfc822\nContent-Transfer-Encoding: base64\n\nQQ==\n", false,
	    "(\"message\" \"rfc822\" NIL NIL NIL \"base64\" 6 "
	    "(NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL) "
	    "(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 0 0) 1)");
	/* Content-Type without parameters: NIL, no default charset */
	assert_structure("Content-Type: text/html\n\n<p>\n", false,
	                 "(\"text\" \"html\" NIL NIL NIL \"7bit\" 5 1)");
	assert_structure("Content-Type: image/png; name=\"\xC3\xA9.png\"\n\nx", false,
	                 "(\"image\" \"png\" (\"name\" {6}\r\n\xC3\xA9.png) NIL NIL \"7bit\" 1)");
}

/* Parentheses balance outside strings and literals. */
static bool balanced(const char *s, size_t len)
{
	size_t i;
	long depth = 0;

	for (i = 0; i < len; i++) {
		if (s[i] == '"') {
			for (i++; i < len && s[i] != '"'; i++)
				i += s[i] == '\\';
		} else if (s[i] == '{') {
			char *end;
			unsigned long n = strtoul(s + i + 1, &end, 10);

			if (strncmp(end, "}\r\n", 3) != 0)
				return false;
			i = (size_t)(end - s) + 2 + n;
		} else if (s[i] == '(') {
			depth++;
		} else if (s[i] == ')' && --depth < 0) {
			return false;
		}
	}
	return depth == 0;
}

struct corpus_stats {
	size_t files, with_message_id;
};

static void render_file(const char *path, void *ctx)
{
	struct corpus_stats *st = ctx;
	struct mime_buf out = MIME_BUF_INIT;
	struct mime_message *m;
	size_t len;
	uint8_t *buf = mime_test_read(path, &len);

	assert_non_null(buf);
	m = mime_message_parse(buf, len, NULL);
	imap_envelope_write(&out, buf + m->root->header_off, m->root->header_len);
	assert_true(balanced(out.p, out.len));
	/* the message-id is the envelope's last member */
	st->with_message_id += strcmp(out.p + out.len - 5, " NIL)") != 0;
	mime_buf_truncate(&out, 0);
	imap_bodystructure_write(&out, m, true);
	assert_true(balanced(out.p, out.len));
	st->files++;
	mime_buf_free(&out);
	mime_message_free(&m);
	free(buf);
}

static void test_corpus_renders_balanced(void **state)
{
	const char *corpus = mime_test_corpus();
	struct corpus_stats st = {0};
	char dir[4096];

	(void)state;
	if (corpus == NULL)
		skip();
	snprintf(dir, sizeof(dir), "%s/mailing-lists/notmuch-test-corpora/default", corpus);
	mime_test_walk(dir, render_file, &st);
	/* every mailing-list message has a Message-ID */
	assert_true(st.files > 50);
	assert_int_equal(st.with_message_id, st.files);
	snprintf(dir, sizeof(dir), "%s/mime-fixtures", corpus);
	mime_test_walk(dir, render_file, &st);
	assert_true(st.files > 300);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_envelope_of_the_rfc_example),
	    cmocka_unit_test(test_envelope_groups_quoting_literals_and_defaults),
	    cmocka_unit_test(test_strings),
	    cmocka_unit_test(test_bodystructure_of_a_multipart),
	    cmocka_unit_test(test_bodystructure_where_parts_are_missing),
	    cmocka_unit_test(test_corpus_renders_balanced),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
