/* The header lines cache entry (mime_hdrcache.h): which names it covers, what it keeps, and
   that BODY[HEADER.FIELDS (...)] filtered from it is the same octets as filtered from the
   message itself. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "mime_hdrcache.h"
#include "mime_header.h"
#include "mime_test_util.h"

#define U8(s) ((const uint8_t *)(s))
#define NAMES(...) ((const char *const[]){__VA_ARGS__})
#define COUNT(...) (sizeof((const char *const[]){__VA_ARGS__}) / sizeof(const char *))

/* The entry of a header section given as a C string; "" when it is too big. */
static char *entry_of(const char *hdr, size_t len)
{
	struct mime_buf b = MIME_BUF_INIT;
	char *s;

	if (mime_hdrcache_build(U8(hdr), len, &b) == 0)
		assert_int_equal(b.len, 0);
	s = strdup(mime_buf_str(&b));
	mime_buf_free(&b);
	return s;
}

/* HEADER.FIELDS (names) from the message and from its entry must agree; returns the text. */
static char *fields_both_ways(const char *msg, size_t len, const char *const *names, size_t n)
{
	struct mime_buf from_file = MIME_BUF_INIT, from_entry = MIME_BUF_INIT,
	                entry = MIME_BUF_INIT;
	size_t hsize = mime_header_size(U8(msg), len);
	char *s;

	assert_true(mime_hdrcache_covers(names, n));
	mime_header_filter(U8(msg), hsize, names, n, false, &from_file);
	assert_int_equal(mime_hdrcache_build(U8(msg), hsize, &entry), 1);
	mime_header_filter(U8(entry.p), entry.len, names, n, false, &from_entry);
	if (from_file.len != from_entry.len ||
	    memcmp(from_file.p, from_entry.p, from_file.len) != 0)
		fail_msg("file [%s] entry [%s]", mime_buf_str(&from_file),
		         mime_buf_str(&from_entry));
	s = strdup(mime_buf_str(&from_entry));
	mime_buf_free(&from_file);
	mime_buf_free(&from_entry);
	mime_buf_free(&entry);
	return s;
}

#define ASSERT_FIELDS(msg, want, ...)                                                              \
	do {                                                                                       \
		char *got_ =                                                                       \
		    fields_both_ways(msg, strlen(msg), NAMES(__VA_ARGS__), COUNT(__VA_ARGS__));    \
		assert_string_equal(got_, want);                                                   \
		free(got_);                                                                        \
	} while (0)

static void test_covered_names_are_whole_names_in_any_case(void **state)
{
	(void)state;
	assert_true(mime_hdrcache_covers(NAMES("FROM", "subject", "Date"), 3));
	assert_true(mime_hdrcache_covers(NAMES("To", "cc", "BCC", "Message-Id", "references"), 5));
	assert_true(mime_hdrcache_covers(NAMES("list-unsubscribe", "X-PRIORITY", "importance"), 3));
	assert_true(
	    mime_hdrcache_covers(NAMES("X-K9mail-Identity", "x-universally-unique-identifier"), 2));
	/* prefixes and extensions of a listed name are other names */
	assert_false(mime_hdrcache_covers(NAMES("To-Foo"), 1));
	assert_false(mime_hdrcache_covers(NAMES("T"), 1));
	assert_false(mime_hdrcache_covers(NAMES("Subjects"), 1));
	assert_false(mime_hdrcache_covers(NAMES("List-"), 1));
	/* one name outside the set sends the whole item to the file */
	assert_false(mime_hdrcache_covers(NAMES("From", "Received"), 2));
	assert_false(mime_hdrcache_covers(NAMES("From", "DKIM-Signature"), 2));
	assert_false(mime_hdrcache_covers(NULL, 0));
}

static void test_entry_keeps_set_fields_as_written_with_crlf(void **state)
{
	static const char msg[] = "Received: from a\r\n\tby b\r\n"
	                          "SUBJECT: folded\r\n  over two lines\r\n"
	                          "X-Mailer: not kept\r\n"
	                          "To: first@x\r\n"
	                          "To-Foo: not kept\r\n"
	                          "to: second@x\n"
	                          "\r\n"
	                          "From: in the body\r\n";
	char *e = entry_of(msg, mime_header_size(U8(msg), strlen(msg)));

	(void)state;
	assert_string_equal(e, "SUBJECT: folded\r\n  over two lines\r\n"
	                       "To: first@x\r\n"
	                       "to: second@x\r\n"
	                       "\r\n");
	free(e);
}

static void test_filtered_from_the_entry_as_from_the_file(void **state)
{
	static const char crlf[] = "Return-Path: <a@x>\r\n"
	                           "From: A <a@x>\r\n"
	                           "To: b@x,\r\n\tc@x\r\n"
	                           "Subject: Hello\r\n"
	                           "To-Foo: bar\r\n"
	                           "X-Priority: 1\r\n"
	                           "TO: d@x\r\n"
	                           "Date: Mon, 23 Nov 2026 10:00:00 +0000\r\n"
	                           "\r\n"
	                           "To: body@x\r\n";
	static const char lf[] = "From: A <a@x>\nsubject: bare\n LF fold\nTo: b@x\n\nbody\n";
	static const char mixed[] = "From: a\r\nTo: b\nCc: c\r\n d\n\r\nbody";

	(void)state;
	/* duplicates in file order, any case, "To-Foo" is not "To" */
	ASSERT_FIELDS(crlf, "To: b@x,\r\n\tc@x\r\nTO: d@x\r\n\r\n", "to");
	ASSERT_FIELDS(crlf,
	              "From: A <a@x>\r\nTo: b@x,\r\n\tc@x\r\nSubject: Hello\r\nTO: d@x\r\n"
	              "Date: Mon, 23 Nov 2026 10:00:00 +0000\r\n\r\n",
	              "DATE", "subject", "To", "From");
	ASSERT_FIELDS(crlf, "X-Priority: 1\r\n\r\n", "x-priority");
	/* none of the names present: the empty line alone */
	ASSERT_FIELDS(crlf, "\r\n", "Cc", "Bcc", "In-Reply-To");
	/* bare LFs go out as CRLF both ways */
	ASSERT_FIELDS(lf, "subject: bare\r\n LF fold\r\n\r\n", "Subject");
	ASSERT_FIELDS(lf, "From: A <a@x>\r\nTo: b@x\r\n\r\n", "from", "to");
	ASSERT_FIELDS(mixed, "To: b\r\nCc: c\r\n d\r\n\r\n", "cc", "to");
}

static void test_odd_header_sections(void **state)
{
	/* no empty line, the last field without a line end */
	static const char no_end[] = "From: a\r\nSubject: cut";
	/* a lone CR at the end, a CR inside a line, a line that is no field */
	static const char cr[] = "Subject: a\rb\r\nnot a field\r\n cont\r\nFrom: x\r";
	/* blanks before the colon (obsolete syntax), empty value, NUL in a value */
	static const char obs[] = "From  : a\r\nSubject:\r\nTo: a\0b\r\n\r\n";

	(void)state;
	ASSERT_FIELDS(no_end, "From: a\r\nSubject: cut\r\n\r\n", "from", "subject");
	ASSERT_FIELDS(cr, "Subject: a\rb\r\nFrom: x\r\n\r\n", "from", "subject");
	{
		char *got =
		    fields_both_ways(obs, sizeof(obs) - 1, NAMES("from", "subject", "to"), 3);

		assert_string_equal(got, "From  : a\r\nSubject:\r\nTo: a"); /* stops at the NUL */
		free(got);
	}
	ASSERT_FIELDS("", "\r\n", "from");
	ASSERT_FIELDS("\r\nFrom: body", "\r\n", "from");
}

static void test_entry_past_the_cap_is_refused(void **state)
{
	struct mime_buf b = MIME_BUF_INIT, hdr = MIME_BUF_INIT;
	const char *prefix = "References: ";
	/* "References: " + refs + "\r\n" + "\r\n" is exactly the cap */
	size_t refs = MIME_HDRCACHE_MAX - strlen(prefix) - 4;

	(void)state;
	mime_buf_append_str(&hdr, prefix);
	for (size_t i = 0; i < refs; i++)
		mime_buf_append_c(&hdr, i % 40 == 39 ? ' ' : 'r');
	mime_buf_append_str(&hdr, "\r\n\r\n");
	assert_int_equal(mime_hdrcache_build(U8(hdr.p), hdr.len, &b), 1);
	assert_int_equal(b.len, MIME_HDRCACHE_MAX);
	/* one more octet: no entry, and the output untouched */
	mime_buf_truncate(&b, 0);
	mime_buf_append_str(&b, "kept");
	mime_buf_truncate(&hdr, 0);
	mime_buf_append_str(&hdr, prefix);
	for (size_t i = 0; i <= refs; i++)
		mime_buf_append_c(&hdr, 'r');
	mime_buf_append_str(&hdr, "\r\n\r\n");
	assert_int_equal(mime_hdrcache_build(U8(hdr.p), hdr.len, &b), 0);
	assert_string_equal(mime_buf_str(&b), "kept");
	/* bare LFs count as the CRLFs the entry holds */
	mime_buf_truncate(&hdr, 0);
	for (size_t i = 0; i < MIME_HDRCACHE_MAX / 4; i++)
		mime_buf_append_str(&hdr, "To:\n");
	assert_int_equal(mime_hdrcache_build(U8(hdr.p), hdr.len, &b), 0);
	mime_buf_free(&b);
	mime_buf_free(&hdr);
}

/* ----- the corpus: every message, a few clients' lists ----- */

static const char *const *const client_lists[] = {
    NAMES("FROM", "SUBJECT", "DATE", NULL),
    /* Thunderbird */
    NAMES("From", "To", "Cc", "Bcc", "Subject", "Date", "Message-ID", "Priority", "X-Priority",
          "References", "Newsgroups", "In-Reply-To", "Content-Type", "Reply-To", NULL),
    /* mutt */
    NAMES("DATE", "FROM", "SENDER", "SUBJECT", "TO", "CC", "MESSAGE-ID", "REFERENCES",
          "CONTENT-TYPE", "CONTENT-DESCRIPTION", "IN-REPLY-TO", "REPLY-TO", "LINES", "LIST-POST",
          "X-LABEL", NULL),
    /* K-9 */
    NAMES("date", "subject", "from", "content-type", "to", "cc", "bcc", "reply-to", "message-id",
          "references", "in-reply-to", "list-post", "list-unsubscribe", "sender",
          "X-K9mail-Identity", "Chat-Version", NULL),
};

struct corpus_count {
	size_t files, too_big;
};

static void check_file(const char *path, void *ctx)
{
	struct corpus_count *cc = ctx;
	struct mime_buf entry = MIME_BUF_INIT;
	size_t len, hsize;
	uint8_t *buf = mime_test_read(path, &len);

	assert_non_null(buf);
	hsize = mime_header_size(buf, len);
	cc->files++;
	if (mime_hdrcache_build(buf, hsize, &entry) == 0) {
		cc->too_big++;
		mime_buf_free(&entry);
		free(buf);
		return;
	}
	for (size_t l = 0; l < sizeof(client_lists) / sizeof(client_lists[0]); l++) {
		struct mime_buf a = MIME_BUF_INIT, b = MIME_BUF_INIT;
		size_t n = 0;

		while (client_lists[l][n] != NULL)
			n++;
		assert_true(mime_hdrcache_covers(client_lists[l], n));
		mime_header_filter(buf, hsize, client_lists[l], n, false, &a);
		mime_header_filter(U8(entry.p), entry.len, client_lists[l], n, false, &b);
		if (a.len != b.len || memcmp(a.p, b.p, a.len) != 0)
			fail_msg("%s: list %zu differs", path, l);
		mime_buf_free(&a);
		mime_buf_free(&b);
	}
	mime_buf_free(&entry);
	free(buf);
}

static void test_corpus_answers_alike(void **state)
{
	const char *corpus = mime_test_corpus();
	struct corpus_count cc = {0};
	char dir[4096];

	(void)state;
	if (corpus == NULL)
		skip();
	snprintf(dir, sizeof(dir), "%s/mailing-lists/notmuch-test-corpora", corpus);
	mime_test_walk(dir, check_file, &cc);
	snprintf(dir, sizeof(dir), "%s/mime-fixtures", corpus);
	mime_test_walk(dir, check_file, &cc);
	snprintf(dir, sizeof(dir), "%s/spamassassin-public/hard_ham", corpus);
	mime_test_walk(dir, check_file, &cc);
	assert_true(cc.files > 500);
	/* real mail fits the cap */
	assert_true(cc.too_big * 100 < cc.files);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_covered_names_are_whole_names_in_any_case),
	    cmocka_unit_test(test_entry_keeps_set_fields_as_written_with_crlf),
	    cmocka_unit_test(test_filtered_from_the_entry_as_from_the_file),
	    cmocka_unit_test(test_odd_header_sections),
	    cmocka_unit_test(test_entry_past_the_cap_is_refused),
	    cmocka_unit_test(test_corpus_answers_alike),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
