/* FETCH's pure parts: the argument parser (imap_fetch_plan_parse) and the literal writer
   (imap_fetch_lit_*) over messages in memory. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "imap_fetch.h"
#include "imap_parser.h"
#include "mime_hdrcache.h"
#include "mime_header.h"

/* ----- helpers ----- */

struct parsed {
	struct imap_parser *parser;
	const struct imap_command *cmd;
};

/* Parse "t FETCH 1 <args>\r\n"; the arguments after the set. */
static const struct imap_arg *fetch_args(struct parsed *p, const char *args)
{
	struct imap_parser_limits limits;
	char line[70000];
	size_t used;

	imap_parser_limits_default(&limits, true);
	p->parser = imap_parser_new(&limits, 0);
	assert_non_null(p->parser);
	snprintf(line, sizeof(line), "t FETCH 1 %s\r\n", args);
	assert_int_equal(imap_parser_feed(p->parser, (const uint8_t *)line, strlen(line), &used),
	                 IMAP_PARSE_COMMAND);
	p->cmd = imap_parser_command(p->parser);
	return p->cmd->args->next;
}

static int plan_of(const char *args, bool uid, struct imap_fetch_plan *plan, const char **err)
{
	struct parsed p;
	int ret;

	*err = NULL;
	ret = imap_fetch_plan_parse(fetch_args(&p, args), uid, plan, err);
	imap_parser_free(&p.parser);
	return ret;
}

static void assert_bad(const char *args, bool uid)
{
	struct imap_fetch_plan plan;
	const char *err;

	if (plan_of(args, uid, &plan, &err) == 0)
		fail_msg("accepted: %s", args);
	assert_non_null(err);
	imap_fetch_plan_free(&plan);
}

/* ----- the plan ----- */

static void test_macros_and_simple_items(void **state)
{
	struct imap_fetch_plan plan;
	const char *err;

	(void)state;
	assert_int_equal(plan_of("FAST", false, &plan, &err), 0);
	assert_int_equal(plan.attrs,
	                 IMAP_FETCH_FLAGS | IMAP_FETCH_INTERNALDATE | IMAP_FETCH_RFC822_SIZE);
	imap_fetch_plan_free(&plan);
	assert_int_equal(plan_of("full", true, &plan, &err), 0);
	assert_int_equal(plan.attrs, IMAP_FETCH_FLAGS | IMAP_FETCH_INTERNALDATE |
	                                 IMAP_FETCH_RFC822_SIZE | IMAP_FETCH_ENVELOPE |
	                                 IMAP_FETCH_BODY | IMAP_FETCH_UID);
	imap_fetch_plan_free(&plan);
	assert_int_equal(plan_of("(uid Flags MODSEQ BODYSTRUCTURE)", false, &plan, &err), 0);
	assert_int_equal(plan.attrs, IMAP_FETCH_UID | IMAP_FETCH_FLAGS | IMAP_FETCH_MODSEQ |
	                                 IMAP_FETCH_BODYSTRUCTURE);
	assert_int_equal(plan.nbodies, 0);
	assert_false(plan.set_seen);
	imap_fetch_plan_free(&plan);
}

static void test_sections_labels_and_seen(void **state)
{
	struct imap_fetch_plan plan;
	const char *err;

	(void)state;
	assert_int_equal(plan_of("(BODY[] body.peek[1.2.header] BINARY.PEEK[3]<10.20> RFC822 "
	                         "BODY.PEEK[HEADER.FIELDS (From \"X-A(b\")]<0.5> "
	                         "BINARY.SIZE[2] rfc822.header)",
	                         false, &plan, &err),
	                 0);
	assert_int_equal(plan.nbodies, 7);
	assert_string_equal(plan.bodies[0].label, "BODY[]");
	assert_true(plan.bodies[0].set_seen);
	assert_string_equal(plan.bodies[1].label, "BODY[1.2.HEADER]");
	assert_false(plan.bodies[1].set_seen);
	assert_int_equal(plan.bodies[1].section.path_len, 2);
	assert_int_equal(plan.bodies[1].section.kind, MIME_SECTION_HEADER);
	assert_string_equal(plan.bodies[2].label, "BINARY[3]<10>");
	assert_int_equal(plan.bodies[2].kind, IMAP_FETCH_BINARY);
	assert_true(plan.bodies[2].partial);
	assert_int_equal(plan.bodies[2].partial_off, 10);
	assert_int_equal(plan.bodies[2].partial_len, 20);
	assert_string_equal(plan.bodies[3].label, "RFC822");
	assert_true(plan.bodies[3].set_seen);
	assert_string_equal(plan.bodies[4].label, "BODY[HEADER.FIELDS (From \"X-A(b\")]<0>");
	assert_int_equal(plan.bodies[4].section.nfields, 2);
	assert_string_equal(plan.bodies[4].section.fields[1], "X-A(b");
	assert_int_equal(plan.bodies[5].kind, IMAP_FETCH_BINARY_SIZE);
	assert_string_equal(plan.bodies[6].label, "RFC822.HEADER");
	assert_int_equal(plan.bodies[6].section.kind, MIME_SECTION_HEADER);
	assert_true(plan.set_seen);
	imap_fetch_plan_free(&plan);
	/* one item spread over three arguments, then modifiers */
	assert_int_equal(plan_of("BODY.PEEK[HEADER.FIELDS.NOT (A B)] (CHANGEDSINCE 7 VANISHED)",
	                         true, &plan, &err),
	                 0);
	assert_int_equal(plan.nbodies, 1);
	assert_int_equal(plan.bodies[0].section.kind, MIME_SECTION_HEADER_FIELDS_NOT);
	assert_true(plan.changedsince_set);
	assert_int_equal(plan.changedsince, 7);
	assert_true(plan.vanished);
	assert_true(plan.attrs & IMAP_FETCH_MODSEQ);
	imap_fetch_plan_free(&plan);
}

static void test_bad_arguments(void **state)
{
	static const char *const bad[] = {"()",
	                                  "NOSUCH",
	                                  "(FLAGS ALL)",
	                                  "FLAGS UID",
	                                  "BODY[",
	                                  "BODY[0]",
	                                  "BODY[01]",
	                                  "BODY[]<0.0>",
	                                  "BODY[]<1>",
	                                  "BODY[]<1.2",
	                                  "BODY[]x",
	                                  "BINARY[HEADER]",
	                                  "BINARY[1.MIME]",
	                                  "BINARY.SIZE[1]<0.1>",
	                                  "BODY[MIME]",
	                                  "BODY[HEADER.FIELDS]",
	                                  "BODY[HEADER.FIELDS ()]",
	                                  "BODY[HEADER.FIELDS (A:B)]",
	                                  "BODY[HEADER.FIELDS (A) x",
	                                  "BODY[HEADER.FIELDS ((A))]",
	                                  "FLAGS (CHANGEDSINCE)",
	                                  "FLAGS (CHANGEDSINCE x)",
	                                  "FLAGS (CHANGEDSINCE 1 CHANGEDSINCE 2)",
	                                  "FLAGS (NOSUCH)",
	                                  "FLAGS ()",
	                                  "FLAGS (CHANGEDSINCE 1) (VANISHED)",
	                                  "BODY.PEK[]",
	                                  "BODY[]<4294967296.1>",
	                                  "FLAGS (CHANGEDSINCE 9223372036854775808)"};

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_bad(bad[i], true);
	/* VANISHED: UID FETCH only, and with CHANGEDSINCE */
	assert_bad("FLAGS (CHANGEDSINCE 1 VANISHED)", false);
	assert_bad("FLAGS (VANISHED)", true);
}

static void test_limits_at_and_past(void **state)
{
	struct imap_fetch_plan plan;
	char args[20000];
	const char *err;
	size_t n = 0;

	(void)state;
	n += (size_t)snprintf(args + n, sizeof(args) - n, "(");
	for (unsigned i = 0; i < IMAP_FETCH_BODIES_MAX; i++)
		n += (size_t)snprintf(args + n, sizeof(args) - n, "BODY[%u] ", i + 1);
	snprintf(args + n - 1, sizeof(args) - n + 1, ")");
	assert_int_equal(plan_of(args, false, &plan, &err), 0);
	assert_int_equal(plan.nbodies, IMAP_FETCH_BODIES_MAX);
	imap_fetch_plan_free(&plan);
	snprintf(args + n - 1, sizeof(args) - n + 1, " BODY[1])");
	assert_bad(args, false);

	n = (size_t)snprintf(args, sizeof(args), "BODY[HEADER.FIELDS (");
	for (unsigned i = 0; i < IMAP_FETCH_FIELDS_MAX; i++)
		n += (size_t)snprintf(args + n, sizeof(args) - n, "F%u ", i);
	snprintf(args + n - 1, sizeof(args) - n + 1, ")]");
	assert_int_equal(plan_of(args, false, &plan, &err), 0);
	assert_int_equal(plan.bodies[0].section.nfields, IMAP_FETCH_FIELDS_MAX);
	imap_fetch_plan_free(&plan);
	snprintf(args + n - 1, sizeof(args) - n + 1, " X)]");
	assert_bad(args, false);

	char name[IMAP_FETCH_FIELD_LEN_MAX + 2];

	memset(name, 'a', sizeof(name));
	name[IMAP_FETCH_FIELD_LEN_MAX] = '\0';
	snprintf(args, sizeof(args), "BODY[HEADER.FIELDS (%s)]", name);
	assert_int_equal(plan_of(args, false, &plan, &err), 0);
	imap_fetch_plan_free(&plan);
	name[IMAP_FETCH_FIELD_LEN_MAX] = 'a';
	name[IMAP_FETCH_FIELD_LEN_MAX + 1] = '\0';
	snprintf(args, sizeof(args), "BODY[HEADER.FIELDS (%s)]", name);
	assert_bad(args, false);
}

/* ----- literals ----- */

static const char multipart[] = "From: a@b.test\r\n"
                                "Subject: hi\r\n"
                                "Content-Type: multipart/mixed; boundary=XX\r\n"
                                "\r\n"
                                "--XX\r\n"
                                "Content-Type: text/plain\r\n"
                                "\r\n"
                                "hello\r\n"
                                "--XX\r\n"
                                "Content-Type: application/octet-stream\r\n"
                                "Content-Transfer-Encoding: base64\r\n"
                                "\r\n"
                                "AAECAwQFBgcICQ==\r\n"
                                "--XX\r\n"
                                "Content-Transfer-Encoding: x-weird\r\n"
                                "\r\n"
                                "zz\r\n"
                                "--XX--\r\n";

/* The whole item as written with pieces of at most step octets. */
static char *emit_all(const char *args, const char *msg, size_t len, bool crlf, size_t step,
                      size_t *len_r, int *init_r)
{
	struct imap_fetch_plan plan;
	struct imap_fetch_lit lit;
	struct mime_buf out = MIME_BUF_INIT;
	struct mime_message *m = mime_message_parse((const uint8_t *)msg, len, NULL);
	struct imap_fetch_src src = {
	    .buf = (const uint8_t *)msg, .len = len, .msg = m, .crlf = crlf};
	const char *err;
	char *ret;

	assert_int_equal(plan_of(args, false, &plan, &err), 0);
	*init_r = imap_fetch_lit_init(&lit, &plan.bodies[0], &src);
	if (*init_r == 0) {
		unsigned guard = 0;

		while (!imap_fetch_lit_emit(&lit, &out, step))
			assert_true(++guard < 1000000);
	}
	imap_fetch_lit_free(&lit);
	*len_r = out.len;
	ret = malloc(out.len + 1);
	memcpy(ret, mime_buf_str(&out), out.len + 1);
	mime_buf_free(&out);
	mime_message_free(&m);
	imap_fetch_plan_free(&plan);
	return ret;
}

static void assert_emits(const char *args, const char *msg, bool crlf, const char *want,
                         size_t want_len)
{
	static const size_t steps[] = {1, 2, 3, 7, 64, 1 << 20};

	for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		size_t len;
		int rc;
		char *got = emit_all(args, msg, strlen(msg), crlf, steps[i], &len, &rc);

		assert_int_equal(rc, 0);
		if (len != want_len || memcmp(got, want, len) != 0)
			fail_msg("%s step %zu: got [%.*s]", args, steps[i], (int)len, got);
		free(got);
	}
}

#define EMITS(args, msg, crlf, lit) assert_emits(args, msg, crlf, lit, sizeof(lit) - 1)

static void test_sections_of_a_multipart(void **state)
{
	(void)state;
	EMITS("BODY[1]", multipart, false, "BODY[1] {5}\r\nhello");
	EMITS("BODY[1.MIME]", multipart, false,
	      "BODY[1.MIME] {28}\r\nContent-Type: text/plain\r\n\r\n");
	EMITS("BODY[HEADER.FIELDS (SUBJECT)]", multipart, false,
	      "BODY[HEADER.FIELDS (SUBJECT)] {15}\r\nSubject: hi\r\n\r\n");
	EMITS("BODY[TEXT]<2.4>", multipart, false, "BODY[TEXT]<2> {4}\r\nXX\r\n");
	EMITS("BODY[]<10000.5>", multipart, false, "BODY[]<10000> {0}\r\n");
	EMITS("BODY[7]", multipart, false, "BODY[7] NIL");
	EMITS("BINARY[2]", multipart, false,
	      "BINARY[2] ~{10}\r\n\x00\x01\x02\x03\x04\x05\x06\x07\x08\x09");
	EMITS("BINARY[2]<3.2>", multipart, false, "BINARY[2]<3> ~{2}\r\n\x03\x04");
	EMITS("BINARY.SIZE[2]", multipart, false, "BINARY.SIZE[2] 10");
	EMITS("BINARY.SIZE[1]", multipart, false, "BINARY.SIZE[1] 5");
	EMITS("BINARY.SIZE[9]", multipart, false, "BINARY.SIZE[9] 0");
}

static void test_unknown_encoding_fails_binary_only(void **state)
{
	size_t len;
	int rc;
	char *got;

	(void)state;
	got = emit_all("BINARY[3]", multipart, strlen(multipart), false, 100, &len, &rc);
	assert_int_equal(rc, -1);
	free(got);
	EMITS("BODY[3]", multipart, false, "BODY[3] {2}\r\nzz");
}

static void test_bare_lf_becomes_crlf_with_exact_sizes(void **state)
{
	static const char lf[] = "A: b\n\nx\ny\r\nz\n";

	(void)state;
	EMITS("BODY[]", lf, true, "BODY[] {17}\r\nA: b\r\n\r\nx\r\ny\r\nz\r\n");
	EMITS("BODY[TEXT]", lf, true, "BODY[TEXT] {9}\r\nx\r\ny\r\nz\r\n");
	EMITS("BODY[]<5.6>", lf, true, "BODY[]<5> {6}\r\n\n\r\nx\r\n");
	EMITS("BODY[HEADER]", lf, true, "BODY[HEADER] {8}\r\nA: b\r\n\r\n");
	/* without crlf the stored octets go out as they are */
	EMITS("BODY[TEXT]", lf, false, "BODY[TEXT] {7}\r\nx\ny\r\nz\n");
}

/* ----- HEADER.FIELDS from the header lines cache entry ----- */

static void test_only_header_fields_of_cached_names_use_the_entry(void **state)
{
	static const bool want[] = {true, true, true, false, false, false, false, false};
	struct imap_fetch_plan plan;
	const char *err;

	(void)state;
	assert_int_equal(plan_of("(BODY.PEEK[HEADER.FIELDS (FROM SUBJECT DATE)] "
	                         "BODY[HEADER.FIELDS (to)]<0.10> "
	                         "BODY.PEEK[HEADER.FIELDS (\"List-Id\" Message-ID)] "
	                         "BODY.PEEK[HEADER.FIELDS (FROM X-Mailer)] "
	                         "BODY.PEEK[HEADER.FIELDS (To-Foo)] "
	                         "BODY.PEEK[HEADER.FIELDS.NOT (FROM)] "
	                         "BODY.PEEK[1.HEADER.FIELDS (FROM)] BODY.PEEK[HEADER])",
	                         false, &plan, &err),
	                 0);
	assert_int_equal(plan.nbodies, 8);
	for (size_t i = 0; i < plan.nbodies; i++)
		if (plan.bodies[i].hdr_cached != want[i])
			fail_msg("item %zu (%s)", i, plan.bodies[i].label);
	/* the entry changes where the octets come from, not \Seen */
	assert_false(plan.bodies[0].set_seen);
	assert_true(plan.bodies[1].set_seen);
	imap_fetch_plan_free(&plan);
}

/* The item as written from src with pieces of at most step octets. */
static char *emit_from(const char *args, const struct imap_fetch_src *src, size_t step,
                       size_t *len_r)
{
	struct imap_fetch_plan plan;
	struct imap_fetch_lit lit;
	struct mime_buf out = MIME_BUF_INIT;
	const char *err;
	char *ret;

	assert_int_equal(plan_of(args, false, &plan, &err), 0);
	assert_int_equal(imap_fetch_lit_init(&lit, &plan.bodies[0], src), 0);
	while (!imap_fetch_lit_emit(&lit, &out, step))
		;
	imap_fetch_lit_free(&lit);
	*len_r = out.len;
	ret = malloc(out.len + 1);
	memcpy(ret, mime_buf_str(&out), out.len + 1);
	mime_buf_free(&out);
	imap_fetch_plan_free(&plan);
	return ret;
}

static void test_header_fields_from_the_entry_equal_the_file(void **state)
{
	static const char lf[] = "Received: x\n\ty\n"
	                         "From: A <a@x>\n"
	                         "Subject: over\n two lines\n"
	                         "To-Foo: no\n"
	                         "To: b@x\n"
	                         "to: c@x\n"
	                         "\n"
	                         "Subject: body\n";
	static const char *const items[] = {
	    "BODY.PEEK[HEADER.FIELDS (FROM SUBJECT DATE)]",
	    "BODY.PEEK[HEADER.FIELDS (TO)]",
	    "BODY.PEEK[HEADER.FIELDS (CC)]",
	    "BODY.PEEK[HEADER.FIELDS (SUBJECT FROM)]<0.10>",
	    "BODY.PEEK[HEADER.FIELDS (SUBJECT FROM)]<10.1000>",
	    "BODY.PEEK[HEADER.FIELDS (SUBJECT FROM)]<1000.5>",
	};
	struct mime_buf entry = MIME_BUF_INIT;
	size_t hsize = mime_header_size((const uint8_t *)lf, strlen(lf));
	struct mime_message *m = mime_message_parse((const uint8_t *)lf, strlen(lf), NULL);
	struct imap_fetch_src file = {
	    .buf = (const uint8_t *)lf, .len = strlen(lf), .msg = m, .crlf = true};
	struct imap_fetch_src cached = {0};

	(void)state;
	assert_int_equal(mime_hdrcache_build((const uint8_t *)lf, hsize, &entry), 1);
	cached.hdr_lines = (const uint8_t *)entry.p;
	cached.hdr_lines_len = entry.len;
	for (size_t i = 0; i < sizeof(items) / sizeof(items[0]); i++) {
		for (size_t step = 1; step < 64; step += 31) {
			size_t a_len, b_len;
			char *a = emit_from(items[i], &file, step, &a_len);
			char *b = emit_from(items[i], &cached, step, &b_len);

			if (a_len != b_len || memcmp(a, b, a_len) != 0)
				fail_msg("%s: file [%s] entry [%s]", items[i], a, b);
			free(a);
			free(b);
		}
	}
	EMITS("BODY.PEEK[HEADER.FIELDS (SUBJECT FROM)]<0.10>", lf, true,
	      "BODY[HEADER.FIELDS (SUBJECT FROM)]<0> {10}\r\nFrom: A <a");
	mime_buf_free(&entry);
	mime_message_free(&m);
}

static void test_internaldate_format(void **state)
{
	char buf[40];

	(void)state;
	setenv("TZ", "UTC", 1);
	tzset();
	imap_fetch_date(837571465, buf, sizeof(buf));
	assert_string_equal(buf, "17-Jul-1996 02:44:25 +0000");
	setenv("TZ", "PST8PDT", 1);
	tzset();
	imap_fetch_date(837571465, buf, sizeof(buf));
	assert_string_equal(buf, "16-Jul-1996 19:44:25 -0700");
	setenv("TZ", "IST-5:30", 1);
	tzset();
	imap_fetch_date(0, buf, sizeof(buf));
	assert_string_equal(buf, "01-Jan-1970 05:30:00 +0530");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_macros_and_simple_items),
	    cmocka_unit_test(test_sections_labels_and_seen),
	    cmocka_unit_test(test_bad_arguments),
	    cmocka_unit_test(test_limits_at_and_past),
	    cmocka_unit_test(test_sections_of_a_multipart),
	    cmocka_unit_test(test_unknown_encoding_fails_binary_only),
	    cmocka_unit_test(test_bare_lf_becomes_crlf_with_exact_sizes),
	    cmocka_unit_test(test_only_header_fields_of_cached_names_use_the_entry),
	    cmocka_unit_test(test_header_fields_from_the_entry_equal_the_file),
	    cmocka_unit_test(test_internaldate_format),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
