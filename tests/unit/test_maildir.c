#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "maildir_create.h"
#include "maildir_path.h"

static void test_path_fans_out_by_a_stable_bucket(void **state)
{
	char a[256], b[256];

	(void)state;
	assert_int_equal(maildir_path("/var/vmail", "example.org", "Bob", a, sizeof(a)), 0);
	assert_int_equal(maildir_path("/var/vmail", "example.org", "bob", b, sizeof(b)), 0);
	/* Local parts compare case-insensitively, so they map to one Maildir. */
	assert_string_equal(a, b);
	assert_int_equal(strncmp(a, "/var/vmail/example.org/", 23), 0);
	assert_int_equal(strlen(a), strlen("/var/vmail/example.org/xx/bob"));
	assert_string_equal(a + strlen(a) - 4, "/bob");
}

static void test_slash_in_local_part_never_makes_a_path(void **state)
{
	char p[256];

	(void)state;
	assert_int_equal(maildir_path("/m", "d.test", "a/../../etc", p, sizeof(p)), 0);
	assert_non_null(strstr(p, "/a%2F..%2F..%2Fetc"));
	assert_int_equal(maildir_path("/m", "d.test", "100%", p, sizeof(p)), 0);
	assert_non_null(strstr(p, "/100%25"));
	assert_int_equal(maildir_path("/m", "d.test", "", p, sizeof(p)), -1);
	assert_int_equal(maildir_path("/m", "d.test", "x", p, 8), -1);
}

static int exists_dir(const char *base, const char *sub)
{
	char path[1100];
	struct stat st;

	snprintf(path, sizeof(path), "%s/%s", base, sub);
	return stat(path, &st) == 0 && S_ISDIR(st.st_mode) && (st.st_mode & 0777) == 0700;
}

static void test_create_makes_maildirplusplus_with_folders(void **state)
{
	char tmpl[] = "/tmp/maildir-test-XXXXXX";
	char box[512], removed[512], moved[512];
	const char *error = NULL;
	const char *dirs[] = { "cur", "new", "tmp", ".Sent/cur", ".Drafts/new", ".Trash/tmp",
			       ".Junk/cur" };

	(void)state;
	assert_non_null(mkdtemp(tmpl));
	snprintf(box, sizeof(box), "%s/d.test/ab/bob", tmpl);
	assert_int_equal(maildir_create(box, &error), 0);
	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++)
		assert_true(exists_dir(box, dirs[i]));
	/* Creating again keeps what is there. */
	assert_int_equal(maildir_create(box, &error), 0);
	snprintf(removed, sizeof(removed), "%s/removed", tmpl);
	assert_int_equal(maildir_move_aside(box, removed, "d.test", "bob", moved, sizeof(moved),
					    &error),
			 0);
	assert_true(exists_dir(moved, "cur"));
	assert_false(exists_dir(box, "cur"));
	assert_int_equal(strncmp(moved, removed, strlen(removed)), 0);
	assert_non_null(strstr(moved, "/d.test/bob-"));
	/* Nothing left to move is fine. */
	assert_int_equal(maildir_move_aside(box, removed, "d.test", "bob", moved, sizeof(moved),
					    &error),
			 0);
	assert_string_equal(moved, "");
	char cmd[600];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpl);
	assert_int_equal(system(cmd), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_path_fans_out_by_a_stable_bucket),
		cmocka_unit_test(test_slash_in_local_part_never_makes_a_path),
		cmocka_unit_test(test_create_makes_maildirplusplus_with_folders),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
