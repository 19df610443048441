#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "mime_header.h"
#include "mime_test_util.h"

#define U8(s) ((const uint8_t *)(s))

static char *field_text(const struct mime_field *f)
{
	char *s = malloc(f->value_len + 1);

	assert_non_null(s);
	(void)mime_unfold(f->value, f->value_len, s);
	return s;
}

static void test_fields_unfold_over_crlf_and_bare_lf(void **state)
{
	static const char hdr[] =
	    "Subject: a\r\n  b\r\nFrom: x\n\ty\nX-Empty:\r\n\r\nSubject: body";
	struct mime_header_iter it;
	struct mime_field f;
	char *v;

	(void)state;
	assert_int_equal(mime_header_size(U8(hdr), strlen(hdr)),
	                 strlen(hdr) - strlen("Subject: body"));
	mime_header_iter_init(&it, U8(hdr), strlen(hdr));
	assert_true(mime_header_next(&it, &f));
	assert_true(mime_field_is(&f, "SUBJECT"));
	assert_int_equal(f.offset, 0);
	assert_int_equal(f.len, strlen("Subject: a\r\n  b\r\n"));
	v = field_text(&f);
	assert_string_equal(v, "a  b");
	free(v);
	assert_true(mime_header_next(&it, &f));
	assert_true(mime_field_is(&f, "from"));
	v = field_text(&f);
	assert_string_equal(v, "x\ty");
	free(v);
	assert_true(mime_header_next(&it, &f));
	assert_true(mime_field_is(&f, "x-empty"));
	assert_int_equal(f.value_len, 0);
	/* the body's "Subject:" is not a field */
	assert_false(mime_header_next(&it, &f));
}

static void test_lines_that_are_no_field_are_skipped(void **state)
{
	static const char hdr[] = " leading continuation\r\nno colon here\r\n cont: x\r\n"
	                          "Good: 1\r\nBad name: 2\r\n: empty name\r\nObs  : 3\r\n"
	                          "Bin\x01: 4\r\nLast: 5";
	const char *want[] = {"Good", "Obs", "Last"};
	struct mime_header_iter it;
	struct mime_field f;
	size_t i = 0;

	(void)state;
	assert_int_equal(mime_header_size(U8(hdr), strlen(hdr)), strlen(hdr));
	mime_header_iter_init(&it, U8(hdr), strlen(hdr));
	while (mime_header_next(&it, &f)) {
		assert_true(i < 3);
		assert_true(mime_field_is(&f, want[i]));
		i++;
	}
	assert_int_equal(i, 3);
	/* the last field has no line end at all */
	assert_int_equal(mime_header_find(U8(hdr), strlen(hdr), "last", &f), 1);
	assert_memory_equal(f.value, " 5", 2);
	assert_int_equal(f.value_len, 2);
	assert_int_equal(mime_header_find(U8(hdr), strlen(hdr), "bad name", &f), 0);
}

static void test_empty_header_section(void **state)
{
	(void)state;
	assert_int_equal(mime_header_size(U8("\r\nbody"), 6), 2);
	assert_int_equal(mime_header_size(U8("\nbody"), 5), 1);
	assert_int_equal(mime_header_size(U8(""), 0), 0);
	assert_int_equal(mime_header_size(U8("A: b\r\n\n"), 7), 7);
}

static void test_header_fields_filter_keeps_lines_and_makes_crlf(void **state)
{
	static const char hdr[] =
	    "From: a@b\nSubject: one\n two\nTo: c@d\r\nsubject: again\r\n\r\n";
	const char *names[] = {"SUBJECT"};
	struct mime_buf out = MIME_BUF_INIT;

	(void)state;
	mime_header_filter(U8(hdr), strlen(hdr), names, 1, false, &out);
	assert_string_equal(mime_buf_str(&out), "Subject: one\r\n two\r\nsubject: again\r\n\r\n");
	mime_buf_truncate(&out, 0);
	mime_header_filter(U8(hdr), strlen(hdr), names, 1, true, &out);
	assert_string_equal(mime_buf_str(&out), "From: a@b\r\nTo: c@d\r\n\r\n");
	mime_buf_truncate(&out, 0);
	mime_header_filter(U8("A: 1"), 4, names, 0, true, &out);
	assert_string_equal(mime_buf_str(&out), "A: 1\r\n\r\n");
	mime_buf_free(&out);
}

static void test_content_type_with_comments_and_quotes(void **state)
{
	struct mime_arena a = MIME_ARENA_INIT;
	struct mime_ctype ct;

	(void)state;
	assert_int_equal(mime_content_type_parse(&a,
	                                         "Text/Plain (a comment); charset=\"us-\\\"ascii\" "
	                                         "(c); format=flowed;; broken; name = \"a;b\"",
	                                         &ct),
	                 1);
	assert_string_equal(ct.type, "Text");
	assert_string_equal(ct.subtype, "Plain");
	assert_int_equal(ct.nparams, 3);
	assert_string_equal(ct.params[0].name, "charset");
	assert_string_equal(ct.params[0].value, "us-\"ascii");
	assert_string_equal(ct.params[1].value, "flowed");
	assert_string_equal(mime_param_find(ct.params, ct.nparams, "NAME")->value, "a;b");
	assert_null(mime_param_find(ct.params, ct.nparams, "broken"));
	assert_int_equal(mime_content_type_parse(&a, "text", &ct), 0);
	assert_int_equal(mime_content_type_parse(&a, "/plain", &ct), 0);
	assert_int_equal(mime_content_type_parse(&a, "", &ct), 0);
	assert_int_equal(mime_disposition_parse(&a, "attachment; filename=a.txt", &ct), 1);
	assert_string_equal(ct.type, "attachment");
	assert_null(ct.subtype);
	assert_string_equal(ct.params[0].decoded, "a.txt");
	mime_arena_free(&a);
}

static void test_rfc2231_continuations_and_charsets(void **state)
{
	struct mime_arena a = MIME_ARENA_INIT;
	struct mime_ctype ct;
	const struct mime_param *p;

	(void)state;
	/* RFC 2231 4.1's example */
	assert_int_equal(
	    mime_content_type_parse(
	        &a,
	        "application/x-stuff; title*0*=us-ascii'en'This%20is%20even%20more%20; "
	        "title*1*=%2A%2A%2Afun%2A%2A%2A%20; title*2=\"isn't it!\"",
	        &ct),
	    1);
	assert_int_equal(ct.nparams, 1);
	assert_string_equal(ct.params[0].name, "title");
	assert_true(ct.params[0].extended);
	assert_string_equal(ct.params[0].value, "us-ascii'en'This%20is%20even%20more%20"
	                                        "%2A%2A%2Afun%2A%2A%2A%20isn%27t%20it!");
	assert_string_equal(ct.params[0].decoded, "This is even more ***fun*** isn't it!");

	assert_int_equal(
	    mime_disposition_parse(&a,
	                           "attachment; filename*=utf-8''%E2%82%AC%20rates.txt; "
	                           "name*=iso-8859-1'fr'caf%E9; x*1=lost; "
	                           "plain*1=\"def\"; plain*0=\"abc\"",
	                           &ct),
	    1);
	p = mime_param_find(ct.params, ct.nparams, "filename");
	assert_non_null(p);
	assert_string_equal(p->decoded, "\xE2\x82\xAC rates.txt");
	p = mime_param_find(ct.params, ct.nparams, "name");
	assert_string_equal(p->decoded, "caf\xC3\xA9");
	/* a continuation without section 0 is left out; sections merge in number order */
	assert_null(mime_param_find(ct.params, ct.nparams, "x"));
	p = mime_param_find(ct.params, ct.nparams, "plain");
	assert_false(p->extended);
	assert_string_equal(p->value, "abcdef");
	assert_int_equal(ct.nparams, 3);
	/* an encoded word in a quoted filename (against RFC 2047 5, but common) is decoded */
	assert_int_equal(
	    mime_content_type_parse(&a, "image/png; name=\"=?utf-8?B?w6kucG5n?=\"", &ct), 1);
	assert_string_equal(ct.params[0].value, "=?utf-8?B?w6kucG5n?=");
	assert_string_equal(ct.params[0].decoded, "\xC3\xA9.png");
	mime_arena_free(&a);
}

static void assert_decodes(const char *in, const char *want)
{
	struct mime_buf out = MIME_BUF_INIT;

	mime_encword_decode(U8(in), strlen(in), &out);
	assert_string_equal(mime_buf_str(&out), want);
	mime_buf_free(&out);
}

static void test_encoded_words(void **state)
{
	(void)state;
	assert_decodes("=?utf-8?q?caf=C3=A9_au_lait?=", "caf\xC3\xA9 au lait");
	/* RFC 2047 8's examples */
	assert_decodes("=?ISO-8859-1?B?SWYgeW91IGNhbiByZWFkIHRoaXMgeW8=?= "
	               "=?ISO-8859-2?B?dSB1bmRlcnN0YW5kIHRoZSBleGFtcGxlLg==?=",
	               "If you can read this you understand the example.");
	assert_decodes("(=?ISO-8859-1?Q?a?= b)", "(a b)");
	assert_decodes("(=?ISO-8859-1?Q?a?=  \r\n  =?ISO-8859-1?Q?b?=)", "(ab)");
	assert_decodes("=?ISO-8859-1?Q?Andr=E9?= Pirard", "Andr\xC3\xA9 Pirard");
	/* RFC 2231 5: a language after the charset */
	assert_decodes("=?US-ASCII*EN?Q?Keith_Moore?=", "Keith Moore");
	/* a UTF-8 character split over two words */
	assert_decodes("=?utf-8?B?4oI=?= =?utf-8?B?rA==?=", "\xE2\x82\xAC");
	/* stateful charset */
	assert_decodes("=?ISO-2022-JP?B?GyRCRnxLXDhsGyhC?=",
	               "\xE6\x97\xA5\xE6\x9C\xAC\xE8\xAA\x9E");
	/* unknown charset: taken as UTF-8; bad octets become U+FFFD */
	assert_decodes("=?x-nonexistent?Q?abc?=", "abc");
	assert_decodes("=?utf-8?Q?=FF?=", "\xEF\xBF\xBD");
	assert_decodes("=?iso-8859-1?Q?=FF?=", "\xC3\xBF");
	/* malformed words stay as written */
	assert_decodes("=?utf-8?X?abc?=", "=?utf-8?X?abc?=");
	assert_decodes("=?utf-8?Q?a b?=", "=?utf-8?Q?a b?=");
	assert_decodes("=?utf-8?Q?abc", "=?utf-8?Q?abc");
	assert_decodes("=??Q?abc?=", "=??Q?abc?=");
	/* raw 8-bit text: UTF-8 kept, anything else replaced */
	assert_decodes("caf\xC3\xA9", "caf\xC3\xA9");
	assert_decodes("caf\xE9!", "caf\xEF\xBF\xBD!");
	assert_decodes("", "");
}

struct addr_want {
	enum mime_addr_kind kind;
	const char *name, *route, *mailbox, *host;
};

static void assert_addresses(const char *in, const struct addr_want *want, size_t n)
{
	struct mime_arena a = MIME_ARENA_INIT;
	struct mime_address *list, *ad;
	size_t i = 0;

	assert_int_equal(mime_address_parse(&a, U8(in), strlen(in), &list), n);
	for (ad = list; ad != NULL; ad = ad->next, i++) {
		assert_int_equal(ad->kind, want[i].kind);
#define SAME(x)                                                                                    \
	if (want[i].x == NULL)                                                                     \
		assert_null(ad->x);                                                                \
	else                                                                                       \
		assert_string_equal(ad->x, want[i].x)
		SAME(name);
		SAME(route);
		SAME(mailbox);
		SAME(host);
#undef SAME
	}
	assert_int_equal(i, n);
	mime_arena_free(&a);
}

static void test_address_lists(void **state)
{
	static const struct addr_want simple[] = {
	    {MIME_ADDR_MAILBOX, "Joe Q. Public", NULL, "john.q.public", "example.com"},
	    {MIME_ADDR_MAILBOX, "Mary Smith", NULL, "mary", "x.test"},
	    {MIME_ADDR_MAILBOX, NULL, NULL, "jdoe", "example.org"},
	    {MIME_ADDR_MAILBOX, "Who?", NULL, "one", "y.test"},
	};
	static const struct addr_want groups[] = {
	    {MIME_ADDR_GROUP_START, "A Group", NULL, NULL, NULL},
	    {MIME_ADDR_MAILBOX, "Ed Jones", NULL, "c", "a.test"},
	    {MIME_ADDR_MAILBOX, NULL, NULL, "joe", "where.test"},
	    {MIME_ADDR_GROUP_END, NULL, NULL, NULL, NULL},
	    {MIME_ADDR_GROUP_START, "Undisclosed recipients", NULL, NULL, NULL},
	    {MIME_ADDR_GROUP_END, NULL, NULL, NULL, NULL},
	};
	static const struct addr_want obsolete[] = {
	    {MIME_ADDR_MAILBOX, "Pete", NULL, "pete", "silly.test"},
	    {MIME_ADDR_MAILBOX, "John Doe", NULL, "jdoe", "example.com"},
	    {MIME_ADDR_MAILBOX, "Mary", "@machine.tld,@two.tld", "mary", "example.net"},
	    {MIME_ADDR_MAILBOX, NULL, NULL, "\"a b\"", "x.test"},
	    {MIME_ADDR_MAILBOX, NULL, NULL, "nodomain", NULL},
	    {MIME_ADDR_MAILBOX, "=?utf-8?q?J=C3=B6rg?=", NULL, NULL, NULL},
	    {MIME_ADDR_MAILBOX, NULL, NULL, "lit", "[192.0.2.1]"},
	};
	static const struct addr_want unterminated[] = {
	    {MIME_ADDR_GROUP_START, "g", NULL, NULL, NULL},
	    {MIME_ADDR_MAILBOX, "x", NULL, "a", "b"},
	    {MIME_ADDR_GROUP_END, NULL, NULL, NULL, NULL},
	};

	(void)state;
	assert_addresses("\"Joe Q. Public\" <john.q.public@example.com>, Mary Smith <mary@x.test>,"
	                 "\r\n jdoe@example.org, Who? <one@y.test>",
	                 simple, 4);
	assert_addresses("A Group:Ed Jones <c@a.test>,joe@where.test;, Undisclosed recipients:;",
	                 groups, 6);
	assert_addresses(
	    "Pete(A nice \\) chap) <pete(his account)@silly.test(his host)>,,"
	    " jdoe@example.com (John Doe), Mary <@machine.tld,@two.tld:mary@example.net>,"
	    " \"a b\"@x.test, nodomain, =?utf-8?q?J=C3=B6rg?= <>, lit@[192.0.2.1]",
	    obsolete, 7);
	assert_addresses("g: x <a@b", unterminated, 3);
	assert_addresses("", NULL, 0);
	assert_addresses(" , ;(only a comment)", NULL, 0);
}

/* Garbage of every kind through every entry point: no crash, sane results. */
static void test_garbage_never_crashes(void **state)
{
	static const char alphabet[] = "=?:;,<>@\"\\()[]. \t\r\naB*'%0\x80\xff\x00";
	uint8_t buf[96];
	unsigned seed = 1;
	int round;
	size_t i;

	(void)state;
	for (round = 0; round < 20000; round++) {
		struct mime_arena a = MIME_ARENA_INIT;
		struct mime_buf out = MIME_BUF_INIT;
		struct mime_address *list;
		struct mime_ctype ct;
		struct mime_header_iter it;
		struct mime_field f;
		char text[sizeof(buf) + 1];
		size_t len = (size_t)round % sizeof(buf);

		for (i = 0; i < len; i++) {
			seed = seed * 1103515245u + 12345u;
			buf[i] = (uint8_t)alphabet[(seed >> 16) % (sizeof(alphabet) - 1)];
		}
		(void)mime_address_parse(&a, buf, len, &list);
		mime_encword_decode(buf, len, &out);
		(void)mime_unfold(buf, len, text);
		(void)mime_content_type_parse(&a, text, &ct);
		(void)mime_disposition_parse(&a, text, &ct);
		mime_header_iter_init(&it, buf, len);
		while (mime_header_next(&it, &f))
			assert_true(f.offset + f.len <= len);
		assert_true(mime_header_size(buf, len) <= len);
		mime_buf_free(&out);
		mime_arena_free(&a);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_fields_unfold_over_crlf_and_bare_lf),
	    cmocka_unit_test(test_lines_that_are_no_field_are_skipped),
	    cmocka_unit_test(test_empty_header_section),
	    cmocka_unit_test(test_header_fields_filter_keeps_lines_and_makes_crlf),
	    cmocka_unit_test(test_content_type_with_comments_and_quotes),
	    cmocka_unit_test(test_rfc2231_continuations_and_charsets),
	    cmocka_unit_test(test_encoded_words),
	    cmocka_unit_test(test_address_lists),
	    cmocka_unit_test(test_garbage_never_crashes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
