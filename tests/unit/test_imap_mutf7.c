/* Modified UTF-7 mailbox names (RFC 3501 5.1.3), strict both ways (RELIABILITY row 64). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "imap_mutf7.h"

struct pair {
	const char *mutf7;
	const char *utf8;
};

static const struct pair pairs[] = {
    {"INBOX", "INBOX"},
    {"", ""},
    {"&-", "&"},
    {"a&-b&-&-", "a&b&&"},
    {"Entw&APw-rfe", "Entw\xc3\xbcrfe"},
    {"Gel&APY-schte Elemente", "Gel\xc3\xb6schte Elemente"},
    /* RFC 3501 5.1.3's own example */
    {"~peter/mail/&U,BTFw-/&ZeVnLIqe-",
     "~peter/mail/\xe5\x8f\xb0\xe5\x8c\x97/\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e"},
    {"&Jjo-!", "\xe2\x98\xba!"},
    {"&AOk--", "\xc3\xa9-"},
    {"&AOk-&-", "\xc3\xa9&"},
    {"&AOkA6QDp-", "\xc3\xa9\xc3\xa9\xc3\xa9"},
    /* outside the BMP: a surrogate pair */
    {"&2D3eAA-", "\xf0\x9f\x98\x80"},
    {"&2D3eANg93gE-", "\xf0\x9f\x98\x80\xf0\x9f\x98\x81"},
    /* control characters and DEL are encoded (the name validator refuses them later) */
    {"&AAE-", "\x01"},
    {"a&AH8-b", "a\x7f"
                "b"},
    {"&AAoADQ-", "\n\r"},
    /* U+FFFF and U+10FFFF */
    {"&,,8-", "\xef\xbf\xbf"},
    {"&2,,f,w-", "\xf4\x8f\xbf\xbf"},
};

static void test_names_convert_both_ways(void **state)
{
	char out[256];
	const char *error;
	size_t len;

	(void)state;
	for (size_t i = 0; i < sizeof(pairs) / sizeof(pairs[0]); i++) {
		const struct pair *p = &pairs[i];

		if (imap_mutf7_to_utf8(p->mutf7, strlen(p->mutf7), out, sizeof(out), &len,
		                       &error) != 0) {
			print_error("decoding %s: %s\n", p->mutf7, error);
			fail();
		}
		assert_int_equal(len, strlen(p->utf8));
		assert_string_equal(out, p->utf8);
		if (imap_mutf7_from_utf8(p->utf8, strlen(p->utf8), out, sizeof(out), &len,
		                         &error) != 0) {
			print_error("encoding %s: %s\n", p->mutf7, error);
			fail();
		}
		assert_int_equal(len, strlen(p->mutf7));
		assert_string_equal(out, p->mutf7);
	}
}

struct bad {
	const char *in;
	size_t len; /* 0: strlen */
	const char *error;
};

static const struct bad bad_mutf7[] = {
    {"&", 0, "invalid modified UTF-7: unterminated &"},
    {"a&AOk", 0, "invalid modified UTF-7: unterminated &"},
    {"&AOk&-", 0, "invalid modified UTF-7: bad base64"},
    {"&A/k-", 0, "invalid modified UTF-7: bad base64"},
    {"&AOk=-", 0, "invalid modified UTF-7: bad base64"},
    {"&AO k-", 0, "invalid modified UTF-7: bad base64"},
    /* printable ASCII must represent itself */
    {"&AGE-", 0, "invalid modified UTF-7: encoded printable ASCII"},
    {"&ACY-", 0, "invalid modified UTF-7: encoded printable ASCII"},
    {"&AOkAYQ-", 0, "invalid modified UTF-7: encoded printable ASCII"},
    /* non-canonical: padding bits set, too many characters, runs split in two */
    {"&AOl-", 0, "invalid modified UTF-7: non-canonical base64"},
    {"&AOkA-", 0, "invalid modified UTF-7: non-canonical base64"},
    {"&AO-", 0, "invalid modified UTF-7: non-canonical base64"},
    {"&A-", 0, "invalid modified UTF-7: non-canonical base64"},
    {"&AOk-&AOk-", 0, "invalid modified UTF-7: adjacent encoded runs"},
    /* UTF-16 surrogate errors */
    {"&2D0-", 0, "invalid modified UTF-7: unpaired surrogate"},
    {"&3gA-", 0, "invalid modified UTF-7: unpaired surrogate"},
    {"&2D3YPQ-", 0, "invalid modified UTF-7: unpaired surrogate"},
    {"&2D0AQQ-", 0, "invalid modified UTF-7: unpaired surrogate"},
    {"&AAA-", 0, "invalid modified UTF-7: NUL"},
    /* only printable ASCII may appear raw */
    {"Entw\xc3\xbcrfe", 0, "invalid modified UTF-7: 8-bit or control character"},
    {"a\tb", 0, "invalid modified UTF-7: 8-bit or control character"},
    {"a\0b", 3, "invalid modified UTF-7: 8-bit or control character"},
};

static const struct bad bad_utf8[] = {
    {"\xc3", 0, "invalid UTF-8"},         {"a\xc3(", 0, "invalid UTF-8"},
    {"\xc0\xaf", 0, "invalid UTF-8"},     {"\xe0\x80\xaf", 0, "invalid UTF-8"},
    {"\xed\xa0\x80", 0, "invalid UTF-8"}, {"\xf4\x90\x80\x80", 0, "invalid UTF-8"},
    {"\xff", 0, "invalid UTF-8"},         {"\x80", 0, "invalid UTF-8"},
    {"a\0b", 3, "NUL in name"},
};

static void check_bad(const struct bad *rows, size_t n, bool decode)
{
	char out[64];
	const char *error;
	size_t len;
	int ret;

	for (size_t i = 0; i < n; i++) {
		size_t in_len = rows[i].len != 0 ? rows[i].len : strlen(rows[i].in);

		memset(out, 'x', sizeof(out));
		if (decode)
			ret =
			    imap_mutf7_to_utf8(rows[i].in, in_len, out, sizeof(out), &len, &error);
		else
			ret = imap_mutf7_from_utf8(rows[i].in, in_len, out, sizeof(out), &len,
			                           &error);
		if (ret != -1) {
			print_error("'%s' was accepted as '%s'\n", rows[i].in, out);
			fail();
		}
		assert_string_equal(error, rows[i].error);
		assert_string_equal(out, "");
	}
}

static void test_invalid_modified_utf7_is_refused(void **state)
{
	(void)state;
	check_bad(bad_mutf7, sizeof(bad_mutf7) / sizeof(bad_mutf7[0]), true);
}

static void test_invalid_utf8_is_refused(void **state)
{
	(void)state;
	check_bad(bad_utf8, sizeof(bad_utf8) / sizeof(bad_utf8[0]), false);
}

/* The size macros are enough for the worst cases, and one byte less is an error. */
static void test_output_room(void **state)
{
	static const char *worst_encode[] = {"\x01", "&&&&", "\xc3\xa9", "\x01\x02\x03"};
	static const char *worst_decode[] = {"&AOkA6QDp-", "&AOk-", "&-&-", "abc"};
	char out[64];
	const char *error;
	size_t len, room;

	(void)state;
	for (size_t i = 0; i < 4; i++) {
		const char *s = worst_encode[i];

		room = IMAP_MUTF7_ENCODED_MAX(strlen(s));
		assert_true(room <= sizeof(out));
		assert_int_equal(imap_mutf7_from_utf8(s, strlen(s), out, room, &len, &error), 0);
		assert_int_equal(imap_mutf7_from_utf8(s, strlen(s), out, len, &len, &error), -1);
		assert_string_equal(error, "name too long");
		s = worst_decode[i];
		room = IMAP_MUTF7_DECODED_MAX(strlen(s));
		assert_int_equal(imap_mutf7_to_utf8(s, strlen(s), out, room, &len, &error), 0);
		assert_int_equal(imap_mutf7_to_utf8(s, strlen(s), out, len, &len, &error), -1);
		assert_string_equal(error, "name too long");
	}
	assert_int_equal(imap_mutf7_to_utf8("", 0, out, 1, &len, &error), 0);
	assert_int_equal(imap_mutf7_to_utf8("a", 1, out, 0, &len, &error), -1);
}

/* Every BMP character and a sample above it survive the round trip, and decoding the encoding
   accepts it: the encoder writes only what the strict decoder allows. */
static void test_every_code_point_round_trips(void **state)
{
	char utf8[8], mutf7[32], back[8];
	const char *error;
	size_t len, mlen, blen;

	(void)state;
	for (uint32_t cp = 1; cp <= 0x10ffff; cp += cp < 0x10000 ? 1 : 97) {
		if (cp >= 0xd800 && cp <= 0xdfff)
			continue;
		if (cp < 0x80) {
			utf8[0] = (char)cp;
			len = 1;
		} else if (cp < 0x800) {
			utf8[0] = (char)(0xc0 | cp >> 6);
			utf8[1] = (char)(0x80 | (cp & 0x3f));
			len = 2;
		} else if (cp < 0x10000) {
			utf8[0] = (char)(0xe0 | cp >> 12);
			utf8[1] = (char)(0x80 | (cp >> 6 & 0x3f));
			utf8[2] = (char)(0x80 | (cp & 0x3f));
			len = 3;
		} else {
			utf8[0] = (char)(0xf0 | cp >> 18);
			utf8[1] = (char)(0x80 | (cp >> 12 & 0x3f));
			utf8[2] = (char)(0x80 | (cp >> 6 & 0x3f));
			utf8[3] = (char)(0x80 | (cp & 0x3f));
			len = 4;
		}
		assert_int_equal(
		    imap_mutf7_from_utf8(utf8, len, mutf7, sizeof(mutf7), &mlen, &error), 0);
		assert_int_equal(imap_mutf7_to_utf8(mutf7, mlen, back, sizeof(back), &blen, &error),
		                 0);
		assert_int_equal(blen, len);
		assert_memory_equal(back, utf8, len);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_names_convert_both_ways),
	    cmocka_unit_test(test_invalid_modified_utf7_is_refused),
	    cmocka_unit_test(test_invalid_utf8_is_refused),
	    cmocka_unit_test(test_output_room),
	    cmocka_unit_test(test_every_code_point_round_trips),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
