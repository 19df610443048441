#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "mbox.h"
#include "mbox_harness.h"
#include "mbox_uidlist.h"

/* A folder as Dovecot 2.3 leaves it: uidlist v3 with extension fields and file names that
   carry the flags they had when listed, dovecot-keywords, files in cur/ with keyword
   letters, one file in new/ Dovecot has given a UID, one file no UID yet. */
static void dovecot_folder(const char *root)
{
	mh_put(root, ".Sent/dovecot-uidlist",
	       "3 V1611234567 N231 G6b1d3a0f2e5c4d7a8b9c0d1e2f3a4b5c\n"
	       "100 W2048 :1600000001.M1P10V0000000000000801I0000000000123456_0.mx,S=2000\n"
	       "105 :1600000002.M2P10.mx,S=6,W=6:2,S\n"
	       "150 G6b1d3a0f2e5c4d7a8b9c0d1e2f3a4b5c W10 :1600000003.M3P10.mx,S=9,W=10\n"
	       "200 :1600000004.M4P10.mx,S=4,W=4\n"
	       "230 :1600000009.M9P10.mx,S=4,W=4\n");
	mh_put(root, ".Sent/dovecot-keywords", "0 $Forwarded\n1 Junk\n3 $label1\n");
	mh_put(root,
	       ".Sent/cur/1600000001.M1P10V0000000000000801I0000000000123456_0.mx,S=2000:2,Sa",
	       "ignored");
	mh_put(root, ".Sent/cur/1600000002.M2P10.mx,S=6,W=6:2,FSbd", "second");
	mh_put(root, ".Sent/cur/1600000003.M3P10.mx,S=9,W=10:2,", "third\nmsg");
	mh_put(root, ".Sent/new/1600000004.M4P10.mx,S=4,W=4", "four");
	mh_put(root, ".Sent/cur/1600000005.M5P10.mx,S=4,W=4:2,T", "five");
}

static void check_adopted(struct mbox *mb)
{
	struct mbox_msg_info info;
	uint32_t expect[] = {100, 105, 150, 200, 231};

	assert_int_equal(mbox_uidvalidity(mb), 1611234567u);
	assert_int_equal(mbox_count(mb), 5);
	for (uint32_t i = 0; i < 5; i++)
		assert_int_equal(mbox_uid(mb, i + 1), expect[i]);
	assert_int_equal(mbox_uidnext(mb), 232);
	assert_int_equal(mbox_msg(mb, 1, &info), 1);
	assert_int_equal(info.flags, MBOX_FLAG_SEEN);
	assert_int_equal(info.keywords, 1u << 0);
	assert_int_equal(info.size, 2000);
	assert_int_equal(mbox_msg(mb, 2, &info), 1);
	assert_int_equal(info.flags, MBOX_FLAG_SEEN | MBOX_FLAG_FLAGGED);
	assert_int_equal(info.keywords, (1u << 1) | (1u << 3));
	assert_string_equal(mbox_keyword_name(mb, 0), "$Forwarded");
	assert_string_equal(mbox_keyword_name(mb, 1), "Junk");
	assert_null(mbox_keyword_name(mb, 2));
	assert_string_equal(mbox_keyword_name(mb, 3), "$label1");
	assert_int_equal(mbox_msg(mb, 5, &info), 1);
	assert_int_equal(info.flags, MBOX_FLAG_DELETED);
}

static void test_dovecot_uids_and_keywords_are_adopted(void **state)
{
	const char *root = *state;
	struct mbox_msg_info info;
	struct mbox *mb;
	char path[4096];
	uint64_t vsize;

	dovecot_folder(root);
	mb = mh_open(root, ".Sent");
	check_adopted(mb);
	/* The new/ file kept its Dovecot UID and was moved to cur/. */
	assert_int_equal(mbox_msg(mb, 4, &info), 1);
	assert_string_equal(info.name, "1600000004.M4P10.mx,S=4,W=4:2,");
	assert_int_equal(mbox_msg_vsize(mb, 3, &vsize), 0);
	assert_int_equal(vsize, 10);
	/* Our own list now exists (written at adoption, then appended to); Dovecot's is left
	   alone. */
	assert_non_null(strstr(mh_read(root, ".Sent/maild-uidlist"), "3 V1611234567 N231 "));
	assert_non_null(
	    strstr(mh_read(root, ".Sent/maild-uidlist"), "\n231 :1600000005.M5P10.mx,S=4,W=4\n"));
	assert_non_null(strstr(mh_read(root, ".Sent/dovecot-uidlist"), "N231"));
	mbox_close(&mb);

	/* Without the index, from maild-uidlist: the same. */
	snprintf(path, sizeof(path), "%s/maild-index.sqlite", root);
	unlink(path);
	mb = mh_open(root, ".Sent");
	check_adopted(mb);
	mbox_close(&mb);
}

static void test_dovecot_uidlist_version_1_is_read(void **state)
{
	const char *root = *state;
	struct mbox *mb;

	mh_put(root, "dovecot-uidlist",
	       "1 1500000000 8\n3 1500000001.1.host\n7 1500000002.2.host:2,S\n");
	mh_put(root, "cur/1500000001.1.host:2,", "a");
	mh_put(root, "cur/1500000002.2.host:2,S", "b");
	mb = mh_open(root, "");
	assert_int_equal(mbox_uidvalidity(mb), 1500000000u);
	assert_int_equal(mbox_uid(mb, 1), 3);
	assert_int_equal(mbox_uid(mb, 2), 7);
	assert_int_equal(mbox_uidnext(mb), 8);
	mbox_close(&mb);
}

static void test_uidlist_reader_skips_bad_records_and_torn_tail(void **state)
{
	const char *root = *state;
	struct mbox_uidlist ul;
	const char *error = NULL;
	int dir = open(root, O_RDONLY | O_DIRECTORY);

	mh_put(root, "maild-uidlist",
	       "3 V42 N5 Gabc\n"
	       "1 :a.1.host\n"
	       "x :garbage\n"
	       "1 :duplicate.uid\n"
	       "3 W12 :b.2.host,S=12\n"
	       "4 :../evil\n"
	       "9 :torn.rec");
	assert_int_equal(mbox_uidlist_read(dir, "maild-uidlist", &ul, &error), 1);
	assert_int_equal(ul.version, 3);
	assert_int_equal(ul.uidvalidity, 42);
	assert_string_equal(ul.guid, "abc");
	assert_int_equal(ul.count, 2);
	assert_string_equal(ul.entries[0].base, "a.1.host");
	assert_int_equal(ul.entries[1].uid, 3);
	assert_string_equal(ul.entries[1].base, "b.2.host,S=12");
	assert_int_equal(ul.nextuid, 5);
	assert_int_equal(ul.lines, 5);
	assert_int_equal(mbox_uidlist_find(&ul, 3), 1);
	assert_int_equal(mbox_uidlist_find(&ul, 2), -1);

	/* An append first cuts the torn line off. */
	struct mbox_uidlist_entry more = {.uid = 5, .base = "c.3.host"};
	assert_int_equal(mbox_uidlist_append(dir, &ul, &more, 1, &error), 0);
	mbox_uidlist_clear(&ul);
	assert_int_equal(mbox_uidlist_read(dir, "maild-uidlist", &ul, &error), 1);
	assert_int_equal(ul.count, 3);
	assert_int_equal(ul.entries[2].uid, 5);
	assert_int_equal(ul.nextuid, 6);
	assert_null(strstr(mh_read(root, "maild-uidlist"), "torn"));
	mbox_uidlist_clear(&ul);

	mh_put(root, "maild-uidlist", "2 V1 N1\n");
	assert_int_equal(mbox_uidlist_read(dir, "maild-uidlist", &ul, &error), -1);
	assert_int_equal(mbox_uidlist_read(dir, "no-such-file", &ul, &error), 0);
	close(dir);
}

static void test_uid_list_grows_by_appends_and_is_compacted(void **state)
{
	const char *root = *state;
	struct mbox_changes ch;
	struct mbox *mb;
	uint32_t uids[1500];
	const char *text;
	char rel[128];

	for (int i = 0; i < 1500; i++) {
		snprintf(rel, sizeof(rel), "new/17000%05d.M%dP1.host,S=1,W=1", i, i);
		mh_put(root, rel, "x");
		uids[i] = (uint32_t)i + 1;
	}
	mb = mh_open(root, "");
	assert_int_equal(mbox_count(mb), 1500);
	mh_put(root, "new/1800000000.M1P1.host,S=1,W=1", "y");
	assert_int_equal(mbox_sync(mb, 0, NULL), 0);
	text = mh_read(root, "maild-uidlist");
	assert_non_null(strstr(text, "\n1501 :1800000000.M1P1.host,S=1,W=1\n"));
	/* Header N lags after appends (as in Dovecot's own list); readers take the last
	   UID + 1. */
	assert_non_null(strstr(text, " N1 "));

	assert_int_equal(mbox_expunge(mb, uids, 1500, &ch), 0);
	mbox_changes_free(&ch);
	text = mh_read(root, "maild-uidlist");
	assert_non_null(strstr(text, " N1502 "));
	assert_null(strstr(text, "\n1 :"));
	assert_non_null(strstr(text, "\n1501 :1800000000.M1P1.host"));
	mbox_close(&mb);
	mb = mh_open(root, "");
	assert_int_equal(mbox_uidnext(mb), 1502);
	mbox_close(&mb);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_dovecot_uids_and_keywords_are_adopted, mh_setup,
	                                    mh_teardown),
	    cmocka_unit_test_setup_teardown(test_dovecot_uidlist_version_1_is_read, mh_setup,
	                                    mh_teardown),
	    cmocka_unit_test_setup_teardown(test_uidlist_reader_skips_bad_records_and_torn_tail,
	                                    mh_setup, mh_teardown),
	    cmocka_unit_test_setup_teardown(test_uid_list_grows_by_appends_and_is_compacted, mh_setup,
	                                    mh_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
