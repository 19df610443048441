#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "imap_bodystructure.h"
#include "mime_parse.h"
#include "mime_test_util.h"

static const char nested[] = "From: a@b.test\n"
                             "Subject: outer\n"
                             "MIME-Version: 1.0\n"
                             "Content-Type: multipart/mixed; boundary=\"outer\"\n"
                             "\n"
                             "preamble\n"
                             "--outer\n"
                             "Content-Type: text/plain\n"
                             "\n"
                             "part one\n"
                             "--outer\n"
                             "Content-Type: multipart/alternative; boundary=outer-inner\n"
                             "\n"
                             "--outer-inner\n"
                             "Content-Type: text/plain\n"
                             "\n"
                             "alt plain\n"
                             "--outer-inner\n"
                             "Content-Type: text/html\n"
                             "\n"
                             "<b>alt html</b>\n"
                             "--outer-inner--\n"
                             "--outer\n"
                             "Content-Type: message/rfc822\n"
                             "\n"
                             "From: c@d.test\n"
                             "Subject: inner\n"
                             "\n"
                             "inner body\n"
                             "--outer--\n"
                             "epilogue\n";

static void assert_section(const struct mime_message *m, const char *spec, const char *want)
{
	static const char *const fields[] = {"Subject", "X-None"};
	char *got = mime_test_section(m, spec, fields, 2);

	if (want == NULL) {
		assert_null(got);
		return;
	}
	assert_non_null(got);
	assert_string_equal(got, want);
	free(got);
}

/* Both line-end styles give the same tree and the same part contents (with their ends). */
static void check_nested(bool crlf)
{
	uint8_t *buf;
	struct mime_message *m = mime_test_parse(nested, crlf, &buf);
	const struct mime_part *root = m->root, *alt, *msg;
	const char *nl = crlf ? "\r\n" : "\n";
	char want[128];

	assert_int_equal(m->nparts, 7);
	assert_int_equal(m->flags, 0);
	assert_true(root->is_multipart);
	assert_int_equal(root->nchildren, 3);
	alt = root->children->next;
	assert_true(mime_part_is(alt, "multipart", "alternative"));
	assert_int_equal(alt->nchildren, 2);
	msg = alt->next;
	assert_true(msg->is_message);
	assert_int_equal(msg->nchildren, 1);
	assert_int_equal(msg->children->depth, 2);

	assert_section(m, "1", "part one");
	assert_section(m, "2.1", "alt plain");
	assert_section(m, "2.2", "<b>alt html</b>");
	snprintf(want, sizeof(want), "From: c@d.test%sSubject: inner%s%sinner body", nl, nl, nl);
	assert_section(m, "3", want);
	snprintf(want, sizeof(want), "From: c@d.test%sSubject: inner%s%s", nl, nl, nl);
	assert_section(m, "3.HEADER", want);
	assert_section(m, "3.TEXT", "inner body");
	assert_section(m, "3.1", "inner body");
	snprintf(want, sizeof(want), "Content-Type: message/rfc822%s%s", nl, nl);
	assert_section(m, "3.MIME", want);
	assert_section(m, "3.HEADER.FIELDS", "Subject: inner\r\n\r\n");
	assert_section(m, "3.header.fields.not", "From: c@d.test\r\n\r\n");
	assert_section(m, "HEADER.FIELDS", "Subject: outer\r\n\r\n");
	snprintf(want, sizeof(want), "Content-Type: text/plain%s%s", nl, nl);
	assert_section(m, "1.MIME", want);
	assert_section(m, "", (const char *)buf);
	/* no such part, or HEADER of a part that is no message */
	assert_section(m, "4", NULL);
	assert_section(m, "1.1", NULL);
	assert_section(m, "2.3", NULL);
	assert_section(m, "3.2", NULL);
	assert_section(m, "1.HEADER", NULL);
	assert_section(m, "2.TEXT", NULL);
	mime_message_free(&m);
	assert_null(m);
	free(buf);
}

static void test_nested_multipart_and_message_crlf(void **state)
{
	(void)state;
	check_nested(true);
}

static void test_nested_multipart_and_message_bare_lf(void **state)
{
	(void)state;
	check_nested(false);
}

static void test_sizes_lines_and_header_offsets(void **state)
{
	uint8_t *buf;
	struct mime_message *m = mime_test_parse(nested, true, &buf);
	const struct mime_part *one = m->root->children;
	char *text = mime_test_section(m, "TEXT", NULL, 0);

	(void)state;
	assert_int_equal(one->body_len, strlen("part one"));
	assert_int_equal(one->body_lines, 1);
	assert_int_equal(one->header_len, strlen("Content-Type: text/plain\r\n\r\n"));
	assert_memory_equal(buf + one->header_off, "Content-Type", 12);
	assert_int_equal(m->root->body_off, m->root->header_len);
	assert_int_equal(m->root->body_off + m->root->body_len, m->len);
	/* the root body begins with the preamble and ends with the epilogue */
	assert_non_null(text);
	assert_memory_equal(text, "preamble\r\n--outer\r\n", 19);
	assert_string_equal(text + strlen(text) - 21, "--outer--\r\nepilogue\r\n");
	assert_int_equal(m->root->body_lines, 26);
	free(text);
	mime_message_free(&m);
	free(buf);
}

static void test_single_part_sections(void **state)
{
	uint8_t *buf;
	struct mime_message *m = mime_test_parse("Subject: hi\n\nline 1\nline 2", true, &buf);

	(void)state;
	assert_int_equal(m->nparts, 1);
	assert_true(mime_part_is(m->root, "text", "plain"));
	assert_false(m->root->ctype_given);
	assert_int_equal(m->root->body_lines, 2);
	/* RFC 3501 6.4.5: part 1 of a message that is not multipart is its body */
	assert_section(m, "1", "line 1\r\nline 2");
	assert_section(m, "TEXT", "line 1\r\nline 2");
	assert_section(m, "HEADER", "Subject: hi\r\n\r\n");
	assert_section(m, "1.MIME", "Subject: hi\r\n\r\n");
	assert_section(m, "2", NULL);
	assert_section(m, "1.1", NULL);
	mime_message_free(&m);
	free(buf);
}

static void test_boundary_lines_with_blanks_and_prefixes(void **state)
{
	uint8_t *buf;
	struct mime_message *m =
	    mime_test_parse("Content-Type: multipart/mixed; boundary=b\n\n"
	                    "--b \t\n\nfirst\n--bb\nnot a delimiter\n--b-x\n"
	                    "--b\t\n\nsecond\n--b-- \nepilogue\n--b\n\nafter the end\n",
	                    true, &buf);

	(void)state;
	assert_int_equal(m->root->nchildren, 2);
	assert_section(m, "1", "first\r\n--bb\r\nnot a delimiter\r\n--b-x");
	assert_section(m, "2", "second");
	mime_message_free(&m);
	free(buf);
}

static void test_missing_close_delimiter(void **state)
{
	uint8_t *buf;
	struct mime_message *m =
	    mime_test_parse("Content-Type: multipart/mixed; boundary=\"b\"\n\n"
	                    "--b\n\none\n--b\nContent-Type: text/html\n\ntwo\nthree\n",
	                    false, &buf);

	(void)state;
	assert_int_equal(m->root->nchildren, 2);
	assert_section(m, "2", "two\nthree\n");
	assert_true(mime_part_is(m->root->children->next, "text", "html"));
	mime_message_free(&m);
	free(buf);
}

static void test_multipart_without_parts(void **state)
{
	uint8_t *buf;
	struct mime_message *m;

	(void)state;
	m = mime_test_parse("Content-Type: multipart/mixed\n\nno boundary\n", true, &buf);
	assert_true(m->root->is_multipart);
	assert_int_equal(m->root->nchildren, 0);
	assert_section(m, "1", NULL);
	mime_message_free(&m);
	free(buf);
	m = mime_test_parse("Content-Type: multipart/mixed; boundary=zz\n\n--z\n", true, &buf);
	assert_int_equal(m->root->nchildren, 0);
	mime_message_free(&m);
	free(buf);
	/* RFC 2045 6.4: an encoded multipart or message is not looked into */
	m = mime_test_parse("Content-Type: message/rfc822\nContent-Transfer-Encoding: base64\n\n"
	                    "U3ViamVjdDogeAoKYm9keQo=\n",
	                    true, &buf);
	assert_false(m->root->is_message);
	assert_int_equal(m->nparts, 1);
	mime_message_free(&m);
	free(buf);
}

static void test_digest_parts_default_to_message(void **state)
{
	uint8_t *buf;
	struct mime_message *m = mime_test_parse(
	    "Content-Type: multipart/digest; boundary=d\n\n--d\n\nSubject: one\n\nbody\n"
	    "--d\nContent-Type: text/plain\n\nplain\n--d--\n",
	    true, &buf);

	(void)state;
	assert_true(mime_part_is(m->root->children, "message", "rfc822"));
	assert_true(m->root->children->is_message);
	assert_section(m, "1.HEADER", "Subject: one\r\n\r\n");
	assert_section(m, "1.1", "body");
	assert_true(mime_part_is(m->root->children->next, "text", "plain"));
	mime_message_free(&m);
	free(buf);
}

/* levels multiparts, one inside the other, around a text/plain leaf. */
static char *nested_message(unsigned levels)
{
	struct mime_buf b = MIME_BUF_INIT;
	unsigned i;

	for (i = 0; i < levels; i++)
		mime_buf_printf(
		    &b, "Content-Type: multipart/mixed; boundary=\"l%u\"\r\n\r\n--l%u\r\n", i, i);
	mime_buf_append_str(&b, "Content-Type: text/plain\r\n\r\nleaf\r\n");
	for (i = levels; i-- > 0;)
		mime_buf_printf(&b, "--l%u--\r\n", i);
	return b.p;
}

static const struct mime_part *deepest(const struct mime_part *p)
{
	while (p->children != NULL)
		p = p->children;
	return p;
}

static void test_depth_limit_at_and_past(void **state)
{
	char *at = nested_message(MIME_DEPTH_MAX_DEFAULT);
	char *past = nested_message(MIME_DEPTH_MAX_DEFAULT + 1);
	struct mime_message *m;
	const struct mime_part *leaf;
	struct mime_limits lim = {.depth_max = 3, .parts_max = 100};

	(void)state;
	m = mime_message_parse((const uint8_t *)at, strlen(at), NULL);
	assert_int_equal(m->limits.depth_max, 50);
	leaf = deepest(m->root);
	assert_int_equal(leaf->depth, 50);
	assert_true(mime_part_is(leaf, "text", "plain"));
	assert_int_equal(m->flags, 0);
	assert_int_equal(m->nparts, 51);
	mime_message_free(&m);

	m = mime_message_parse((const uint8_t *)past, strlen(past), NULL);
	leaf = deepest(m->root);
	assert_int_equal(leaf->depth, 50);
	assert_true(leaf->is_multipart);
	assert_true(leaf->opaque);
	assert_int_equal(m->flags, MIME_MSG_DEPTH_LIMITED);
	assert_int_equal(m->nparts, 51);
	mime_message_free(&m);

	/* a smaller limit from the options */
	m = mime_message_parse((const uint8_t *)past, strlen(past), &lim);
	assert_int_equal(deepest(m->root)->depth, 3);
	assert_int_equal(m->nparts, 4);
	mime_message_free(&m);
	free(at);
	free(past);
}

/* A multipart with n text parts. */
static char *wide_message(unsigned n)
{
	struct mime_buf b = MIME_BUF_INIT;
	unsigned i;

	mime_buf_append_str(&b, "Content-Type: multipart/mixed; boundary=w\r\n\r\n");
	for (i = 0; i < n; i++)
		mime_buf_printf(&b, "--w\r\n\r\npart %u\r\n", i + 1);
	mime_buf_append_str(&b, "--w--\r\n");
	return b.p;
}

static void test_parts_limit_at_and_past(void **state)
{
	struct mime_limits lim = {.depth_max = 50, .parts_max = 5};
	char *at = wide_message(4), *past = wide_message(5);
	char *big_at = wide_message(MIME_PARTS_MAX_DEFAULT - 1);
	char *big_past = wide_message(MIME_PARTS_MAX_DEFAULT);
	struct mime_message *m;

	(void)state;
	m = mime_message_parse((const uint8_t *)at, strlen(at), &lim);
	assert_int_equal(m->nparts, 5);
	assert_int_equal(m->flags, 0);
	mime_message_free(&m);
	m = mime_message_parse((const uint8_t *)past, strlen(past), &lim);
	assert_int_equal(m->nparts, 5);
	assert_int_equal(m->root->nchildren, 4);
	assert_int_equal(m->flags, MIME_MSG_PARTS_LIMITED);
	assert_section(m, "4", "part 4");
	assert_section(m, "5", NULL);
	mime_message_free(&m);

	m = mime_message_parse((const uint8_t *)big_at, strlen(big_at), NULL);
	assert_int_equal(m->limits.parts_max, 10000);
	assert_int_equal(m->nparts, 10000);
	assert_int_equal(m->flags, 0);
	assert_section(m, "9999", "part 9999");
	mime_message_free(&m);
	m = mime_message_parse((const uint8_t *)big_past, strlen(big_past), NULL);
	assert_int_equal(m->nparts, 10000);
	assert_int_equal(m->flags, MIME_MSG_PARTS_LIMITED);
	assert_section(m, "10000", NULL);
	mime_message_free(&m);
	free(at);
	free(past);
	free(big_at);
	free(big_past);
}

static void test_section_syntax(void **state)
{
	static const char *const bad[] = {"0",    "01",     "1.",         ".1",
	                                  "1..2", "MIME",   "1.MIMEX",    "HEADER.FIELDS.",
	                                  "1.2x", "TEXT.1", "99999999999"};
	struct mime_section s;
	size_t i;

	(void)state;
	assert_int_equal(mime_section_parse("1.20.3.header.FIELDS.not", 24, &s), 0);
	assert_int_equal(s.path_len, 3);
	assert_int_equal(s.path[1], 20);
	assert_int_equal(s.kind, MIME_SECTION_HEADER_FIELDS_NOT);
	assert_int_equal(mime_section_parse("", 0, &s), 0);
	assert_int_equal(s.path_len, 0);
	assert_int_equal(s.kind, MIME_SECTION_BODY);
	assert_int_equal(mime_section_parse("2.MIME", 6, &s), 0);
	assert_int_equal(s.kind, MIME_SECTION_MIME);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(mime_section_parse(bad[i], strlen(bad[i]), &s), -1);
}

static void test_mime_fields_of_a_part(void **state)
{
	uint8_t *buf;
	struct mime_message *m = mime_test_parse(
	    "Content-Type: application/pdf; name=\"a b.pdf\"\n"
	    "Content-Transfer-Encoding: BASE64 (comment)\n"
	    "Content-ID: <id@x>\nContent-Description: the\n report\n"
	    "Content-Disposition: attachment;\n filename*0=\"a \"; filename*1=\"b.pdf\"\n"
	    "Content-Language: en, de\nContent-Location: http://x.test/\n a.pdf\n"
	    "Content-MD5: Q2hlY2sgSW50ZWdyaXR5IQ==\nContent-Type: text/plain\n\nJVBERi0=\n",
	    true, &buf);
	const struct mime_part *p = m->root;

	(void)state;
	assert_string_equal(p->type, "application");
	assert_string_equal(mime_part_param(p, "NAME"), "a b.pdf");
	assert_string_equal(p->encoding, "BASE64");
	assert_string_equal(p->id, "<id@x>");
	assert_string_equal(p->description, "the report");
	assert_string_equal(p->disposition, "attachment");
	assert_int_equal(p->disp_nparams, 1);
	assert_string_equal(p->disp_params[0].value, "a b.pdf");
	assert_int_equal(p->nlanguages, 2);
	assert_string_equal(p->languages[1], "de");
	assert_string_equal(p->location, "http://x.test/ a.pdf");
	assert_string_equal(p->md5, "Q2hlY2sgSW50ZWdyaXR5IQ==");
	mime_message_free(&m);
	free(buf);
}

struct walk {
	size_t files, parts, multiparts, messages;
};

static void check_tree(const struct mime_message *m, const struct mime_part *p, struct walk *w)
{
	const struct mime_part *c;
	unsigned n = 0;

	w->parts++;
	w->multiparts += p->is_multipart && p->children != NULL;
	w->messages += p->is_message && p->children != NULL;
	assert_int_equal(p->header_off + p->header_len, p->body_off);
	assert_true(p->body_off + p->body_len <= m->len);
	for (c = p->children; c != NULL; c = c->next, n++) {
		assert_ptr_equal(c->parent, p);
		assert_int_equal(c->depth, p->depth + 1);
		assert_true(c->header_off >= p->body_off);
		assert_true(c->body_off + c->body_len <= p->body_off + p->body_len);
		if (c->next != NULL)
			assert_true(c->next->header_off >= c->body_off + c->body_len);
		check_tree(m, c, w);
	}
	assert_int_equal(n, p->nchildren);
}

static void walk_file(const char *path, void *ctx)
{
	struct walk *w = ctx;
	struct mime_buf out = MIME_BUF_INIT;
	struct mime_message *m;
	size_t len;
	uint8_t *buf = mime_test_read(path, &len);

	assert_non_null(buf);
	m = mime_message_parse(buf, len, NULL);
	check_tree(m, m->root, w);
	imap_bodystructure_write(&out, m, true);
	assert_true(out.len > 0);
	mime_buf_free(&out);
	mime_message_free(&m);
	free(buf);
	w->files++;
}

static void test_corpus_trees_are_consistent(void **state)
{
	const char *corpus = mime_test_corpus();
	char dir[4096];
	struct walk w = {0};

	(void)state;
	if (corpus == NULL)
		skip();
	snprintf(dir, sizeof(dir), "%s/mime-fixtures", corpus);
	mime_test_walk(dir, walk_file, &w);
	snprintf(dir, sizeof(dir), "%s/mailing-lists", corpus);
	mime_test_walk(dir, walk_file, &w);
	/* the corpus has hundreds of messages, many multipart, some with message/rfc822 */
	assert_true(w.files > 400);
	assert_true(w.multiparts > 100);
	assert_true(w.messages > 5);
}

/* Known shapes of some real messages. */
static struct mime_message *corpus_message(const char *rel, uint8_t **buf_r)
{
	const char *corpus = mime_test_corpus();
	char path[4096];
	size_t len;

	if (corpus == NULL)
		return NULL;
	snprintf(path, sizeof(path), "%s/mime-fixtures/%s", corpus, rel);
	*buf_r = mime_test_read(path, &len);
	assert_non_null(*buf_r);
	return mime_message_parse(*buf_r, len, NULL);
}

static void test_corpus_known_structures(void **state)
{
	uint8_t *buf;
	struct mime_message *m;

	(void)state;
	m = corpus_message("ruby-mail/emails/mime_emails/email_with_similar_boundaries.eml", &buf);
	if (m == NULL)
		skip();
	/* boundary "----=_NextPart_..." and "..._alt" nested: the prefix must not split */
	assert_int_equal(m->root->nchildren, 2);
	assert_true(mime_part_is(m->root->children, "multipart", "alternative"));
	assert_int_equal(m->root->children->nchildren, 2);
	assert_true(mime_part_is(m->root->children->next, "application", NULL));
	assert_string_equal(m->root->children->next->disp_params[0].value, "LOGO.png");
	mime_message_free(&m);
	free(buf);

	m = corpus_message("ruby-mail/emails/mime_emails/raw_email_with_nested_attachment.eml",
	                   &buf);
	assert_true(mime_part_is(m->root, "multipart", "signed"));
	assert_int_equal(m->root->nchildren, 2);
	assert_int_equal(m->root->children->nchildren, 2);
	assert_true(mime_part_is(m->root->children->children->next, "image", "png"));
	mime_message_free(&m);
	free(buf);

	m = corpus_message("ruby-mail/emails/attachment_emails/attachment_message_rfc822.eml",
	                   &buf);
	assert_int_equal(m->root->nchildren, 2);
	assert_true(m->root->children->next->is_message);
	assert_non_null(m->root->children->next->children);
	mime_message_free(&m);
	free(buf);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_nested_multipart_and_message_crlf),
	    cmocka_unit_test(test_nested_multipart_and_message_bare_lf),
	    cmocka_unit_test(test_sizes_lines_and_header_offsets),
	    cmocka_unit_test(test_single_part_sections),
	    cmocka_unit_test(test_boundary_lines_with_blanks_and_prefixes),
	    cmocka_unit_test(test_missing_close_delimiter),
	    cmocka_unit_test(test_multipart_without_parts),
	    cmocka_unit_test(test_digest_parts_default_to_message),
	    cmocka_unit_test(test_depth_limit_at_and_past),
	    cmocka_unit_test(test_parts_limit_at_and_past),
	    cmocka_unit_test(test_section_syntax),
	    cmocka_unit_test(test_mime_fields_of_a_part),
	    cmocka_unit_test(test_corpus_trees_are_consistent),
	    cmocka_unit_test(test_corpus_known_structures),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
