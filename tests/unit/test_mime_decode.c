#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "mime_charset.h"
#include "mime_decode.h"
#include "mime_parse.h"
#include "mime_test_util.h"

/* Decode in pieces of step octets (0: all at once); returns a malloc'd NUL-terminated
   result, its length in *len_r and the flags in *flags_r. */
static char *decode(enum mime_cte cte, const char *in, size_t step, size_t *len_r,
                    unsigned *flags_r)
{
	size_t len = strlen(in), pos = 0, n = 0, k;
	uint8_t *out = malloc(MIME_DECODER_OUT_MAX(len) * (len + 1) + 4);
	struct mime_decoder d;

	assert_non_null(out);
	mime_decoder_init(&d, cte);
	while (pos < len) {
		k = step == 0 || step > len - pos ? len - pos : step;
		n += mime_decoder_feed(&d, (const uint8_t *)in + pos, k, out + n);
		pos += k;
	}
	n += mime_decoder_finish(&d, out + n);
	out[n] = '\0';
	*len_r = n;
	*flags_r = mime_decoder_flags(&d);
	return (char *)out;
}

/* Every split gives the same output and flags. */
static void assert_decodes(enum mime_cte cte, const char *in, const char *want, unsigned flags)
{
	size_t step, len;
	unsigned got_flags;
	char *out;

	for (step = 0; step <= 5; step++) {
		out = decode(cte, in, step, &len, &got_flags);
		assert_int_equal(len, strlen(want));
		assert_memory_equal(out, want, len);
		assert_int_equal(got_flags, flags);
		free(out);
	}
}

static void test_base64(void **state)
{
	(void)state;
	assert_decodes(MIME_CTE_BASE64, "SGVsbG8sIHdvcmxkIQ==", "Hello, world!", 0);
	assert_decodes(MIME_CTE_BASE64, "SGVs\r\nbG8s\nIHdv cmxk\tIQ==\r\n", "Hello, world!", 0);
	assert_decodes(MIME_CTE_BASE64, "YQ==YmM=", "abc", 0);
	assert_decodes(MIME_CTE_BASE64, "YWJj", "abc", 0);
	assert_decodes(MIME_CTE_BASE64, "YWI", "ab", 0);
	assert_decodes(MIME_CTE_BASE64, "YW!Jj", "abc", MIME_DECODE_INVALID);
	assert_decodes(MIME_CTE_BASE64, "YWJjZ", "abc", MIME_DECODE_INVALID);
	assert_decodes(MIME_CTE_BASE64, "", "", 0);
	assert_decodes(MIME_CTE_BASE64, "/+/+", "\xff\xef\xfe", 0);
}

static void test_quoted_printable(void **state)
{
	(void)state;
	assert_decodes(MIME_CTE_QP, "caf=C3=a9 =3D ok", "caf\xC3\xA9 = ok", 0);
	/* soft line breaks, with CRLF, LF and transport padding */
	assert_decodes(MIME_CTE_QP, "long=\r\nline=\nend=  \t\r\n!", "longlineend!", 0);
	/* trailing blanks of a line are dropped, line ends kept as written */
	assert_decodes(MIME_CTE_QP, "a  \r\nb\t\nc \t ", "a\r\nb\nc", 0);
	assert_decodes(MIME_CTE_QP, "in the  middle", "in the  middle", 0);
	/* what is no escape stays as written */
	assert_decodes(MIME_CTE_QP, "=G1 x=4", "=G1 x=4", MIME_DECODE_INVALID);
	assert_decodes(MIME_CTE_QP, "a= b", "a= b", MIME_DECODE_INVALID);
	assert_decodes(MIME_CTE_QP, "end=", "end", 0);
	assert_decodes(MIME_CTE_QP, "=\rx", "x", MIME_DECODE_INVALID);
	assert_decodes(MIME_CTE_UNKNOWN, "=41", "=41", 0);
	assert_decodes(MIME_CTE_IDENTITY, "=41", "=41", 0);
	assert_int_equal(mime_cte_from_name("Quoted-Printable"), MIME_CTE_QP);
	assert_int_equal(mime_cte_from_name("BASE64"), MIME_CTE_BASE64);
	assert_int_equal(mime_cte_from_name("8bit"), MIME_CTE_IDENTITY);
	assert_int_equal(mime_cte_from_name(NULL), MIME_CTE_IDENTITY);
	assert_int_equal(mime_cte_from_name("x-uuencode"), MIME_CTE_UNKNOWN);
}

static void test_long_blank_runs_stay_bounded(void **state)
{
	char in[300];
	char *out;
	size_t len;
	unsigned flags;

	(void)state;
	memset(in, ' ', 200);
	strcpy(in + 200, "x");
	out = decode(MIME_CTE_QP, in, 1, &len, &flags);
	assert_int_equal(len, 201);
	free(out);
	memset(in, ' ', 200);
	strcpy(in + 200, "\r\n");
	out = decode(MIME_CTE_QP, in, 0, &len, &flags);
	/* blanks are passed on 64 at a time: 3 * 64 of them, the last 8 dropped, then CRLF */
	assert_int_equal(MIME_QP_HOLD_MAX, 64);
	assert_int_equal(len, 3 * 64 + 2);
	free(out);
}

static void test_charset_conversion_streams(void **state)
{
	static const uint8_t euro[] = "\xE2\x82\xAC\xFF";
	static const uint8_t sjis[] = "\x93\xfa\x96\x7b";
	struct mime_buf out = MIME_BUF_INIT;
	struct mime_conv c;
	size_t i;

	(void)state;
	assert_int_equal(mime_conv_init(&c, "utf-8"), 0);
	for (i = 0; i < 4; i++)
		mime_conv_feed(&c, euro + i, 1, false, &out);
	mime_conv_feed(&c, NULL, 0, true, &out);
	mime_conv_deinit(&c);
	assert_string_equal(mime_buf_str(&out), "\xE2\x82\xAC\xEF\xBF\xBD");
	mime_buf_truncate(&out, 0);
	assert_int_equal(mime_conv_init(&c, "Shift_JIS"), 1);
	for (i = 0; i < 4; i++)
		mime_conv_feed(&c, sjis + i, 1, false, &out);
	mime_conv_feed(&c, NULL, 0, true, &out);
	mime_conv_deinit(&c);
	assert_string_equal(mime_buf_str(&out), "\xE6\x97\xA5\xE6\x9C\xAC");
	mime_buf_truncate(&out, 0);
	/* a cut sequence at the very end */
	assert_int_equal(mime_charset_to_utf8("shift_jis", sjis, 3, &out), 1);
	assert_string_equal(mime_buf_str(&out), "\xE6\x97\xA5\xEF\xBF\xBD");
	mime_buf_truncate(&out, 0);
	assert_int_equal(
	    mime_charset_to_utf8("ks_c_5601-1987", (const uint8_t *)"\xb0\xa1", 2, &out), 1);
	assert_string_equal(mime_buf_str(&out), "\xEA\xB0\x80");
	mime_buf_truncate(&out, 0);
	assert_int_equal(mime_charset_to_utf8("../../etc/x", (const uint8_t *)"a", 1, &out), 0);
	assert_int_equal(mime_charset_to_utf8("no-such-charset", (const uint8_t *)"b", 1, &out), 0);
	assert_string_equal(mime_buf_str(&out), "ab");
	mime_buf_free(&out);
}

static const char text_message[] = "From: =?iso-8859-1?q?J=F6rg?= <j@x.test>\n"
                                   "To: a@b.test\n"
                                   "Subject: =?utf-8?B?R3LDvMOfZQ==?=\n"
                                   "Content-Type: multipart/mixed; boundary=b\n"
                                   "\n"
                                   "--b\n"
                                   "Content-Type: text/plain; charset=iso-8859-1\n"
                                   "Content-Transfer-Encoding: quoted-printable\n"
                                   "\n"
                                   "caf=E9 cr=\n"
                                   "=E8me\n"
                                   "--b\n"
                                   "Content-Type: text/html; charset=utf-8\n"
                                   "Content-Transfer-Encoding: base64\n"
                                   "\n"
                                   "PGh0bWw+PGI+Ym9sZDwvYj4g4oKsPC9odG1sPg==\n"
                                   "--b\n"
                                   "Content-Type: application/octet-stream\n"
                                   "\n"
                                   "binary secret\n"
                                   "--b\n"
                                   "Content-Type: message/rfc822\n"
                                   "\n"
                                   "Subject: inner subject\n"
                                   "\n"
                                   "inner text\n"
                                   "--b--\n";

static void test_text_extraction(void **state)
{
	uint8_t *buf;
	struct mime_message *m = mime_test_parse(text_message, true, &buf);
	struct mime_buf out = MIME_BUF_INIT;
	const char *t;

	(void)state;
	assert_int_equal(mime_text_extract(m, MIME_TEXT_MAX_DEFAULT, &out), 0);
	t = mime_buf_str(&out);
	assert_non_null(strstr(t, "J\xC3\xB6rg <j@x.test>\n"));
	assert_non_null(strstr(t, "Gr\xC3\xBC\xC3\x9F"
	                          "e\n"));
	assert_non_null(strstr(t, "caf\xC3\xA9 cr\xC3\xA8me"));
	assert_non_null(strstr(t, "bold"));
	assert_non_null(strstr(t, "\xE2\x82\xAC"));
	assert_null(strstr(t, "<b>"));
	assert_null(strstr(t, "secret"));
	assert_non_null(strstr(t, "inner subject\n"));
	assert_non_null(strstr(t, "inner text"));
	assert_true(mime_test_utf8_ok((const uint8_t *)t, out.len));
	mime_buf_free(&out);
	mime_message_free(&m);
	free(buf);
}

static void test_text_extraction_is_bounded_at_a_character(void **state)
{
	uint8_t *buf;
	struct mime_message *m = mime_test_parse(text_message, true, &buf);
	struct mime_buf full = MIME_BUF_INIT, out = MIME_BUF_INIT;
	size_t max;

	(void)state;
	(void)mime_text_extract(m, MIME_TEXT_MAX_DEFAULT, &full);
	assert_int_equal(mime_text_extract(m, full.len, &out), 0);
	assert_int_equal(out.len, full.len);
	for (max = 0; max < full.len; max++) {
		mime_buf_truncate(&out, 0);
		assert_int_equal(mime_text_extract(m, max, &out), 1);
		assert_true(out.len <= max && out.len + 3 >= max);
		assert_memory_equal(out.p, full.p, out.len);
		assert_true(mime_test_utf8_ok((const uint8_t *)out.p, out.len));
	}
	mime_buf_free(&full);
	mime_buf_free(&out);
	mime_message_free(&m);
	free(buf);
}

struct corpus_stats {
	size_t files, nonempty;
};

static void extract_file(const char *path, void *ctx)
{
	struct corpus_stats *st = ctx;
	struct mime_buf out = MIME_BUF_INIT;
	struct mime_message *m;
	size_t len;
	uint8_t *buf = mime_test_read(path, &len);

	assert_non_null(buf);
	m = mime_message_parse(buf, len, NULL);
	(void)mime_text_extract(m, 64 * 1024, &out);
	assert_true(out.len <= 64 * 1024);
	assert_true(mime_test_utf8_ok((const uint8_t *)mime_buf_str(&out), out.len));
	st->files++;
	st->nonempty += out.len > 0;
	mime_buf_free(&out);
	mime_message_free(&m);
	free(buf);
}

static void test_corpus_text_is_utf8(void **state)
{
	const char *corpus = mime_test_corpus();
	struct corpus_stats st = {0};
	char dir[4096];

	(void)state;
	if (corpus == NULL)
		skip();
	snprintf(dir, sizeof(dir), "%s/mime-fixtures", corpus);
	mime_test_walk(dir, extract_file, &st);
	snprintf(dir, sizeof(dir), "%s/mailing-lists", corpus);
	mime_test_walk(dir, extract_file, &st);
	assert_true(st.files > 400);
	assert_true(st.nonempty > st.files * 9 / 10);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_base64),
	    cmocka_unit_test(test_quoted_printable),
	    cmocka_unit_test(test_long_blank_runs_stay_bounded),
	    cmocka_unit_test(test_charset_conversion_streams),
	    cmocka_unit_test(test_text_extraction),
	    cmocka_unit_test(test_text_extraction_is_bounded_at_a_character),
	    cmocka_unit_test(test_corpus_text_is_utf8),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
