/* Folder names: IMAP UTF-8 <-> Maildir++ directories, and every name that must not pass. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "folder_name.h"

static void expect_dir(const char *utf8, const char *canonical, const char *dir)
{
	struct folder_name fn, back;

	assert_int_equal(folder_name_from_utf8(utf8, strlen(utf8), &fn), FOLDER_NAME_OK);
	assert_string_equal(fn.name, canonical);
	assert_string_equal(fn.dir, dir);
	if (dir[0] != '\0') {
		assert_int_equal(folder_name_from_dir(dir, &back), FOLDER_NAME_OK);
		assert_string_equal(back.name, canonical);
		assert_string_equal(back.dir, dir);
	}
}

static void test_levels_become_dots_on_disk(void **state)
{
	(void)state;
	expect_dir("Sent", "Sent", ".Sent");
	expect_dir("Work/Projects", "Work/Projects", ".Work.Projects");
	expect_dir("a/b/c/d", "a/b/c/d", ".a.b.c.d");
	expect_dir("a&b", "a&b", ".a&-b");
	expect_dir("~x y!", "~x y!", ".~x y!");
}

static void test_eight_bit_names_are_modified_utf7_on_disk(void **state)
{
	(void)state;
	expect_dir("Entw\xc3\xbcrfe", "Entw\xc3\xbcrfe", ".Entw&APw-rfe");
	expect_dir("\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e", "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e",
	           ".&ZeVnLIqe-");
	expect_dir("Work/\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e/Entw\xc3\xbcrfe",
	           "Work/\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e/Entw\xc3\xbcrfe",
	           ".Work.&ZeVnLIqe-.Entw&APw-rfe");
	/* outside the BMP */
	expect_dir("\xf0\x9f\x98\x80", "\xf0\x9f\x98\x80", ".&2D3eAA-");
}

static void test_inbox_is_case_insensitive_and_is_the_root(void **state)
{
	(void)state;
	expect_dir("INBOX", "INBOX", "");
	expect_dir("inbox", "INBOX", "");
	expect_dir("InBoX", "INBOX", "");
	expect_dir("inbox/Sub", "INBOX/Sub", ".INBOX.Sub");
	expect_dir("INBOX/inbox", "INBOX/inbox", ".INBOX.inbox");
	/* only a whole first level is INBOX */
	expect_dir("inboxes", "inboxes", ".inboxes");
	expect_dir("Work/inbox", "Work/inbox", ".Work.inbox");
}

static void expect_bad(const char *in, size_t len, enum folder_name_error err)
{
	struct folder_name fn;

	assert_int_equal(folder_name_from_utf8(in, len, &fn), err);
}

#define BAD(s, err) expect_bad(s, sizeof(s) - 1, err)

static void test_names_that_could_leave_the_maildir_are_refused(void **state)
{
	(void)state;
	BAD("", FOLDER_NAME_EMPTY);
	BAD("/", FOLDER_NAME_EDGE_SEP);
	BAD("/etc", FOLDER_NAME_EDGE_SEP);
	BAD("a/", FOLDER_NAME_EDGE_SEP);
	BAD("a//b", FOLDER_NAME_EMPTY_LEVEL);
	BAD(".", FOLDER_NAME_DOT);
	BAD("..", FOLDER_NAME_DOT);
	BAD("../x", FOLDER_NAME_DOT);
	BAD("a/../../etc", FOLDER_NAME_DOT);
	BAD("a/./b", FOLDER_NAME_DOT);
	BAD("a.b", FOLDER_NAME_DOT);
	BAD(".hidden", FOLDER_NAME_DOT);
	BAD("trailing.", FOLDER_NAME_DOT);
}

static void test_control_characters_and_bad_utf8_are_refused(void **state)
{
	(void)state;
	BAD("a\tb", FOLDER_NAME_CONTROL);
	BAD("a\nb", FOLDER_NAME_CONTROL);
	BAD("a\rb", FOLDER_NAME_CONTROL);
	BAD("\x1b[31m", FOLDER_NAME_CONTROL);
	BAD("del\x7f", FOLDER_NAME_CONTROL);
	BAD("c1\xc2\x85", FOLDER_NAME_CONTROL);
	BAD("c1\xc2\x9f", FOLDER_NAME_CONTROL);
	BAD("a\0b", FOLDER_NAME_CONTROL);
	BAD("\xff", FOLDER_NAME_BAD_UTF8);
	BAD("\xc0\xaf", FOLDER_NAME_BAD_UTF8);         /* overlong "/" */
	BAD("\xc0\xae\xc0\xae", FOLDER_NAME_BAD_UTF8); /* overlong ".." */
	BAD("\xed\xa0\x80", FOLDER_NAME_BAD_UTF8);     /* surrogate */
	BAD("\xf4\x90\x80\x80", FOLDER_NAME_BAD_UTF8); /* past U+10FFFF */
	BAD("cut\xe6\x97", FOLDER_NAME_BAD_UTF8);
	/* U+00A0 is the first character after C1: allowed */
	expect_dir("nb\xc2\xa0sp", "nb\xc2\xa0sp", ".nb&AKA-sp");
}

static void test_length_limits_at_and_past(void **state)
{
	char name[FOLDER_NAME_MAX + 2];
	struct folder_name fn;

	(void)state;
	/* The on-disk name is "." + the levels: 254 ASCII bytes fit NAME_MAX, 255 do not. */
	memset(name, 'a', 255);
	assert_int_equal(folder_name_from_utf8(name, 254, &fn), FOLDER_NAME_OK);
	assert_int_equal(strlen(fn.dir), 255);
	assert_int_equal(folder_name_from_utf8(name, 255, &fn), FOLDER_NAME_DIR_TOO_LONG);
	/* levels count: "a/" * 127 is 253 bytes + "a", dir ".a.a...a" 256 */
	for (int i = 0; i < 256; i += 2) {
		name[i] = 'a';
		name[i + 1] = '/';
	}
	assert_int_equal(folder_name_from_utf8(name, 253, &fn), FOLDER_NAME_OK);
	assert_int_equal(folder_name_from_utf8(name, 255, &fn), FOLDER_NAME_DIR_TOO_LONG);
	/* 8-bit names change size on disk: 27 x "日本語" (243 bytes of UTF-8) are 219 bytes
	   there with the ".", 32 x (288 bytes) are 259, past NAME_MAX */
	for (int i = 0; i < 32; i++)
		memcpy(name + i * 9, "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e", 9);
	assert_int_equal(folder_name_from_utf8(name, 27 * 9, &fn), FOLDER_NAME_OK);
	assert_int_equal(strlen(fn.dir), 219);
	assert_int_equal(folder_name_from_utf8(name, 32 * 9, &fn), FOLDER_NAME_DIR_TOO_LONG);
	/* the UTF-8 limit */
	memset(name, 'b', sizeof(name));
	assert_int_equal(folder_name_from_utf8(name, FOLDER_NAME_MAX + 1, &fn),
	                 FOLDER_NAME_TOO_LONG);
	assert_int_equal(folder_name_from_utf8(name, FOLDER_NAME_MAX, &fn),
	                 FOLDER_NAME_DIR_TOO_LONG);
}

static void test_wire_names_are_strict_modified_utf7(void **state)
{
	struct folder_name fn;
	char big[FOLDER_WIRE_MAX + 1];

	(void)state;
	assert_int_equal(folder_name_from_mutf7("Entw&APw-rfe", 12, &fn), FOLDER_NAME_OK);
	assert_string_equal(fn.name, "Entw\xc3\xbcrfe");
	assert_string_equal(fn.dir, ".Entw&APw-rfe");
	assert_int_equal(folder_name_from_mutf7("inbox", 5, &fn), FOLDER_NAME_OK);
	assert_string_equal(fn.name, "INBOX");
	assert_int_equal(folder_name_from_mutf7("&ZeVnLIqe-/a&-b", 15, &fn), FOLDER_NAME_OK);
	assert_string_equal(fn.dir, ".&ZeVnLIqe-.a&-b");
	assert_int_equal(folder_name_from_mutf7("&Jjo", 4, &fn), FOLDER_NAME_BAD_MUTF7);
	assert_int_equal(folder_name_from_mutf7("Entw\xc3\xbcrfe", 9, &fn), FOLDER_NAME_BAD_MUTF7);
	/* "." and "/" smuggled in base64 are refused by the codec */
	assert_int_equal(folder_name_from_mutf7("&AC4ALg-", 8, &fn), FOLDER_NAME_BAD_MUTF7);
	assert_int_equal(folder_name_from_mutf7("a&AC8-b", 7, &fn), FOLDER_NAME_BAD_MUTF7);
	/* control characters decode, then the name check refuses them */
	assert_int_equal(folder_name_from_mutf7("a&AAo-", 6, &fn), FOLDER_NAME_CONTROL);
	assert_int_equal(folder_name_from_mutf7("a\0b", 3, &fn), FOLDER_NAME_CONTROL);
	assert_int_equal(folder_name_from_mutf7("a.b", 3, &fn), FOLDER_NAME_DOT);
	assert_int_equal(folder_name_from_mutf7("..", 2, &fn), FOLDER_NAME_DOT);
	assert_int_equal(folder_name_from_mutf7("a//b", 4, &fn), FOLDER_NAME_EMPTY_LEVEL);
	assert_int_equal(folder_name_from_mutf7("", 0, &fn), FOLDER_NAME_EMPTY);
	memset(big, 'x', sizeof(big));
	assert_int_equal(folder_name_from_mutf7(big, sizeof(big), &fn), FOLDER_NAME_TOO_LONG);
}

static void test_directory_entries_that_are_not_folders(void **state)
{
	struct folder_name fn;

	(void)state;
	assert_int_equal(folder_name_from_dir(".", &fn), FOLDER_NAME_RESERVED);
	assert_int_equal(folder_name_from_dir("..", &fn), FOLDER_NAME_RESERVED);
	assert_int_equal(folder_name_from_dir("cur", &fn), FOLDER_NAME_RESERVED);
	assert_int_equal(folder_name_from_dir("subscriptions", &fn), FOLDER_NAME_RESERVED);
	assert_int_equal(folder_name_from_dir(".INBOX", &fn), FOLDER_NAME_RESERVED);
	assert_int_equal(folder_name_from_dir(".Inbox.x", &fn), FOLDER_NAME_RESERVED);
	assert_int_equal(folder_name_from_dir(".inbox", &fn), FOLDER_NAME_RESERVED);
	assert_int_equal(folder_name_from_dir("..DOVECOT-TRASHED", &fn), FOLDER_NAME_EMPTY_LEVEL);
	assert_int_equal(folder_name_from_dir("..maild-deleted.1.2.3", &fn),
	                 FOLDER_NAME_EMPTY_LEVEL);
	assert_int_equal(folder_name_from_dir(".a..b", &fn), FOLDER_NAME_EMPTY_LEVEL);
	assert_int_equal(folder_name_from_dir(".a.", &fn), FOLDER_NAME_EMPTY_LEVEL);
	assert_int_equal(folder_name_from_dir(".bad&", &fn), FOLDER_NAME_BAD_MUTF7);
	assert_int_equal(folder_name_from_dir(".&AGE-", &fn), FOLDER_NAME_BAD_MUTF7);
	assert_int_equal(folder_name_from_dir(".8bit\xc3\xbc", &fn), FOLDER_NAME_BAD_MUTF7);
	assert_int_equal(folder_name_from_dir(".ctl&AAo-", &fn), FOLDER_NAME_CONTROL);
	assert_int_equal(folder_name_from_dir(".INBOX.x", &fn), FOLDER_NAME_OK);
	assert_string_equal(fn.name, "INBOX/x");
}

static void test_subscription_lines_in_both_versions(void **state)
{
	struct folder_name fn;
	char line[FOLDER_DIR_MAX + 1];

	(void)state;
	assert_int_equal(folder_name_from_subs_line("Work.Projects", 13, false, &fn),
	                 FOLDER_NAME_OK);
	assert_string_equal(fn.name, "Work/Projects");
	assert_int_equal(folder_name_from_subs_line("Work\tProjects", 13, true, &fn),
	                 FOLDER_NAME_OK);
	assert_string_equal(fn.name, "Work/Projects");
	assert_int_equal(folder_name_to_subs_line(&fn, false, line, sizeof(line)), 0);
	assert_string_equal(line, "Work.Projects");
	assert_int_equal(folder_name_to_subs_line(&fn, true, line, sizeof(line)), 0);
	assert_string_equal(line, "Work\tProjects");
	assert_int_equal(folder_name_to_subs_line(&fn, true, line, 5), -1);
	assert_int_equal(folder_name_from_subs_line("inbox", 5, false, &fn), FOLDER_NAME_OK);
	assert_string_equal(fn.name, "INBOX");
	assert_int_equal(folder_name_to_subs_line(&fn, false, line, sizeof(line)), 0);
	assert_string_equal(line, "INBOX");
	assert_int_equal(folder_name_from_subs_line("Entw&APw-rfe", 12, true, &fn), FOLDER_NAME_OK);
	assert_string_equal(fn.name, "Entw\xc3\xbcrfe");
	assert_int_equal(folder_name_from_subs_line("a.b", 3, true, &fn), FOLDER_NAME_DOT);
	assert_int_equal(folder_name_from_subs_line("a\001tb", 4, true, &fn), FOLDER_NAME_CONTROL);
	assert_int_equal(folder_name_from_subs_line("", 0, false, &fn), FOLDER_NAME_EMPTY);
	assert_int_equal(folder_name_from_subs_line("a..b", 4, false, &fn),
	                 FOLDER_NAME_EMPTY_LEVEL);
}

static void test_under_means_whole_levels(void **state)
{
	(void)state;
	assert_true(folder_name_is_under("a", "a"));
	assert_true(folder_name_is_under("a/b", "a"));
	assert_false(folder_name_is_under("ab", "a"));
	assert_false(folder_name_is_under("a-b", "a"));
	assert_false(folder_name_is_under("a", "a/b"));
}

static void test_every_error_has_its_own_reason(void **state)
{
	(void)state;
	for (int i = FOLDER_NAME_EMPTY; i <= FOLDER_NAME_RESERVED; i++) {
		assert_non_null(folder_name_strerror(i));
		for (int j = FOLDER_NAME_EMPTY; j < i; j++)
			assert_string_not_equal(folder_name_strerror(i), folder_name_strerror(j));
	}
	assert_non_null(folder_name_strerror(999));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_levels_become_dots_on_disk),
	    cmocka_unit_test(test_eight_bit_names_are_modified_utf7_on_disk),
	    cmocka_unit_test(test_inbox_is_case_insensitive_and_is_the_root),
	    cmocka_unit_test(test_names_that_could_leave_the_maildir_are_refused),
	    cmocka_unit_test(test_control_characters_and_bad_utf8_are_refused),
	    cmocka_unit_test(test_length_limits_at_and_past),
	    cmocka_unit_test(test_wire_names_are_strict_modified_utf7),
	    cmocka_unit_test(test_directory_entries_that_are_not_folders),
	    cmocka_unit_test(test_subscription_lines_in_both_versions),
	    cmocka_unit_test(test_under_means_whole_levels),
	    cmocka_unit_test(test_every_error_has_its_own_reason),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
