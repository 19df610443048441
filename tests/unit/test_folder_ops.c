/* CREATE, DELETE, RENAME and (UN)SUBSCRIBE against real temporary Maildirs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "folder_list.h"
#include "folder_name.h"
#include "folder_ops.h"
#include "maildir_create.h"

struct fixture {
	char top[64];
	char root[96];
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	const char *error;

	strcpy(f->top, "/tmp/folder-ops-XXXXXX");
	assert_non_null(mkdtemp(f->top));
	snprintf(f->root, sizeof(f->root), "%s/user", f->top);
	assert_int_equal(maildir_create(f->root, &error), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->top);
	assert_int_equal(system(cmd), 0);
	free(f);
	return 0;
}

static bool is_dir(const char *root, const char *sub, mode_t mode)
{
	char path[512];
	struct stat st;

	snprintf(path, sizeof(path), "%s/%s", root, sub);
	return lstat(path, &st) == 0 && S_ISDIR(st.st_mode) && (st.st_mode & 07777) == mode;
}

static bool exists(const char *root, const char *sub)
{
	char path[512];
	struct stat st;

	snprintf(path, sizeof(path), "%s/%s", root, sub);
	return lstat(path, &st) == 0;
}

static void put(const char *root, const char *file, const char *text)
{
	char path[512];
	FILE *fp;

	snprintf(path, sizeof(path), "%s/%s", root, file);
	fp = fopen(path, "w");
	assert_non_null(fp);
	fputs(text, fp);
	fclose(fp);
}

static const char *slurp(const char *root, const char *file)
{
	static char buf[4096];
	char path[512];
	size_t n;
	FILE *fp;

	snprintf(path, sizeof(path), "%s/%s", root, file);
	fp = fopen(path, "r");
	if (fp == NULL)
		return NULL;
	n = fread(buf, 1, sizeof(buf) - 1, fp);
	buf[n] = '\0';
	fclose(fp);
	return buf;
}

/* No "..maild-*" working directory left behind. */
static void assert_no_hidden(const char *root)
{
	DIR *d = opendir(root);
	struct dirent *de;

	assert_non_null(d);
	while ((de = readdir(d)) != NULL)
		assert_false(strncmp(de->d_name, "..maild-", 8) == 0);
	closedir(d);
}

static void collect(const char *name, unsigned int attrs, void *ctx)
{
	char *out = ctx, flags[256];

	assert_int_equal(folder_attrs_format(attrs, false, flags, sizeof(flags)), 0);
	snprintf(out + strlen(out), 4096 - strlen(out), "%s (%s)\n", name, flags);
}

static const char *list(const char *root, const char *pattern)
{
	static char out[4096];
	const char *patterns[] = {pattern}, *error;
	struct folder_query q = {"", patterns, 1, 0, FOLDER_RET_CHILDREN, false};
	struct folder_list *fl;

	out[0] = '\0';
	assert_int_equal(folder_list_scan(root, &fl, &error), 0);
	assert_true(folder_list_query(fl, &q, collect, out, &error) >= 0);
	folder_list_free(&fl);
	return out;
}

static void test_create_makes_a_whole_maildir_folder(void **state)
{
	struct fixture *f = *state;
	const char *error = NULL;

	assert_int_equal(folder_create(f->root, "Work/Projects", &error), FOLDER_OP_OK);
	assert_true(is_dir(f->root, ".Work.Projects", 0700));
	assert_true(is_dir(f->root, ".Work.Projects/cur", 0700));
	assert_true(is_dir(f->root, ".Work.Projects/new", 0700));
	assert_true(is_dir(f->root, ".Work.Projects/tmp", 0700));
	assert_true(exists(f->root, ".Work.Projects/maildirfolder"));
	/* no parent directory: LIST shows it as a \Noselect parent */
	assert_false(exists(f->root, ".Work"));
	assert_string_equal(list(f->root, "Work*"),
	                    "Work (\\Noselect \\HasChildren)\nWork/Projects (\\HasNoChildren)\n");
	assert_no_hidden(f->root);
}

static void test_create_refuses_existing_names_and_inbox(void **state)
{
	struct fixture *f = *state;
	const char *error = NULL;

	assert_int_equal(folder_create(f->root, "Sent", &error), FOLDER_OP_EXISTS);
	assert_int_equal(folder_create(f->root, "INBOX", &error), FOLDER_OP_EXISTS);
	assert_int_equal(folder_create(f->root, "inbox", &error), FOLDER_OP_EXISTS);
	assert_int_equal(folder_create(f->root, "x", &error), FOLDER_OP_OK);
	assert_int_equal(folder_create(f->root, "x", &error), FOLDER_OP_EXISTS);
	assert_non_null(error);
	/* INBOX may have children, stored as Dovecot does */
	assert_int_equal(folder_create(f->root, "inbox/Sub", &error), FOLDER_OP_OK);
	assert_true(is_dir(f->root, ".INBOX.Sub", 0700));
	assert_no_hidden(f->root);
}

static void test_create_drops_one_trailing_separator(void **state)
{
	struct fixture *f = *state;
	const char *error;

	assert_int_equal(folder_create(f->root, "Parent/", &error), FOLDER_OP_OK);
	assert_true(is_dir(f->root, ".Parent", 0700));
	assert_int_equal(folder_create(f->root, "Parent//", &error), FOLDER_OP_BAD_NAME);
	assert_int_equal(folder_create(f->root, "/", &error), FOLDER_OP_BAD_NAME);
}

static void test_create_refuses_every_bad_name_with_its_reason(void **state)
{
	static const char *const bad[] = {
	    "",    "/x",   "a//b",  ".",         "..",   "../../etc", "a/../b",
	    "a.b", "x\ty", "x\x7f", "x\xc2\x80", "\xff", "\xc0\xae",  "\xed\xa0\x80",
	};
	struct fixture *f = *state;
	const char *error;
	char big[300];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		error = NULL;
		assert_int_equal(folder_create(f->root, bad[i], &error), FOLDER_OP_BAD_NAME);
		assert_non_null(error);
		assert_int_equal(folder_delete(f->root, bad[i], &error), FOLDER_OP_BAD_NAME);
		assert_int_equal(folder_rename(f->root, "Sent", bad[i], &error),
		                 FOLDER_OP_BAD_NAME);
		assert_int_equal(folder_subscribe(f->root, bad[i], true, &error),
		                 FOLDER_OP_BAD_NAME);
	}
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	assert_int_equal(folder_create(f->root, big, &error), FOLDER_OP_BAD_NAME);
	assert_string_equal(error, folder_name_strerror(FOLDER_NAME_DIR_TOO_LONG));
	big[254] = '\0';
	assert_int_equal(folder_create(f->root, big, &error), FOLDER_OP_OK);
	assert_string_equal(list(f->root, "..*"), "");
	assert_false(exists(f->top, "etc"));
	assert_no_hidden(f->root);
}

static void test_eight_bit_names_round_trip_through_the_disk(void **state)
{
	struct fixture *f = *state;
	const char *error;

	assert_int_equal(folder_create(f->root, "Entw\xc3\xbcrfe", &error), FOLDER_OP_OK);
	assert_int_equal(folder_create(f->root, "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e/a&b", &error),
	                 FOLDER_OP_OK);
	assert_true(is_dir(f->root, ".Entw&APw-rfe", 0700));
	assert_true(is_dir(f->root, ".&ZeVnLIqe-.a&-b", 0700));
	assert_string_equal(list(f->root, "E*"), "Entw\xc3\xbcrfe (\\HasNoChildren)\n");
	assert_string_equal(list(f->root, "\xe6\x97\xa5*"),
	                    "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e (\\Noselect \\HasChildren)\n"
	                    "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e/a&b (\\HasNoChildren)\n");
	assert_int_equal(folder_rename(f->root, "Entw\xc3\xbcrfe", "Gel\xc3\xb6scht", &error),
	                 FOLDER_OP_OK);
	assert_true(is_dir(f->root, ".Gel&APY-scht", 0700));
}

static void test_delete_removes_messages_but_keeps_children(void **state)
{
	struct fixture *f = *state;
	const char *error;

	assert_int_equal(folder_create(f->root, "Work", &error), FOLDER_OP_OK);
	assert_int_equal(folder_create(f->root, "Work/Projects", &error), FOLDER_OP_OK);
	assert_int_equal(folder_subscribe(f->root, "Work", true, &error), FOLDER_OP_OK);
	put(f->root, ".Work/cur/1.M1P1.h,S=3:2,S", "abc");
	put(f->root, ".Work/new/2.M1P1.h,S=3", "abc");
	put(f->root, ".Work/tmp/3.M1P1.h", "abc");
	put(f->root, ".Work/dovecot-uidlist", "3 V1 N3\n");
	put(f->root, ".Work.Projects/cur/4.M1P1.h,S=3:2,", "abc");
	put(f->root, "maildirsize", "0S,0C\n6 2\n");

	assert_int_equal(folder_delete(f->root, "Work", &error), FOLDER_OP_OK);
	assert_false(exists(f->root, ".Work"));
	assert_true(exists(f->root, ".Work.Projects/cur/4.M1P1.h,S=3:2,"));
	/* the quota is recalculated on its next use */
	assert_false(exists(f->root, "maildirsize"));
	assert_no_hidden(f->root);
	assert_string_equal(list(f->root, "Work*"),
	                    "Work (\\Noselect \\HasChildren)\nWork/Projects (\\HasNoChildren)\n");
	/* RFC 3501 6.3.6: the subscription stays */
	assert_non_null(strstr(slurp(f->root, "subscriptions"), "\nWork\n"));
	/* now only a parent: cannot be deleted */
	assert_int_equal(folder_delete(f->root, "Work", &error), FOLDER_OP_NONEXISTENT);
	assert_int_equal(folder_delete(f->root, "Work/Projects", &error), FOLDER_OP_OK);
	assert_string_equal(list(f->root, "Work*"), "");
}

static void test_delete_refuses_inbox_and_missing_names(void **state)
{
	struct fixture *f = *state;
	char link[256];
	const char *error;

	assert_int_equal(folder_delete(f->root, "INBOX", &error), FOLDER_OP_INBOX);
	assert_int_equal(folder_delete(f->root, "inbox", &error), FOLDER_OP_INBOX);
	assert_int_equal(folder_delete(f->root, "Nothing", &error), FOLDER_OP_NONEXISTENT);
	/* a symlink is not a folder, and its target is never touched */
	snprintf(link, sizeof(link), "%s/.Link", f->root);
	assert_int_equal(symlink(f->top, link), 0);
	assert_int_equal(folder_delete(f->root, "Link", &error), FOLDER_OP_NONEXISTENT);
	assert_true(exists(f->root, "cur"));
}

static void test_purge_finishes_an_interrupted_delete(void **state)
{
	struct fixture *f = *state;
	const char *error;

	assert_int_equal(
	    mkdir(strcat(strcpy((char[256]){0}, f->root), "/..maild-deleted.1.2.3"), 0700), 0);
	assert_int_equal(folder_create(f->root, "Keep", &error), FOLDER_OP_OK);
	{
		char p[256];

		snprintf(p, sizeof(p), "%s/..maild-deleted.1.2.3/cur", f->root);
		assert_int_equal(mkdir(p, 0700), 0);
		put(f->root, "..maild-deleted.1.2.3/cur/msg", "x");
		snprintf(p, sizeof(p), "%s/..maild-new.1.2.3", f->root);
		assert_int_equal(mkdir(p, 0700), 0);
		/* a crash's leftover: older than any CREATE under way */
		struct timespec old[2] = {{.tv_sec = time(NULL) - 3600}, {.tv_sec = time(NULL) - 3600}};
		assert_int_equal(utimensat(AT_FDCWD, p, old, 0), 0);
	}
	/* never listed meanwhile */
	assert_string_equal(
	    list(f->root, "*"),
	    "INBOX (\\HasNoChildren)\nDrafts (\\HasNoChildren)\nJunk "
	    "(\\HasNoChildren)\nKeep (\\HasNoChildren)\nSent (\\HasNoChildren)\nTrash "
	    "(\\HasNoChildren)\n");
	assert_int_equal(folder_purge_deleted(f->root, &error), 0);
	assert_no_hidden(f->root);
	assert_true(is_dir(f->root, ".Keep", 0700));
}

/* A CREATE under way in another session is left alone. */
static void test_purge_spares_a_create_under_way(void **state)
{
	struct fixture *f = *state;
	const char *error;
	char p[256];

	snprintf(p, sizeof(p), "%s/..maild-new.4.5.6", f->root);
	assert_int_equal(mkdir(p, 0700), 0);
	assert_int_equal(folder_purge_deleted(f->root, &error), 0);
	assert_true(is_dir(f->root, "..maild-new.4.5.6", 0700));
}

static void test_rename_moves_a_whole_hierarchy(void **state)
{
	struct fixture *f = *state;
	const char *error;

	assert_int_equal(folder_create(f->root, "Work", &error), FOLDER_OP_OK);
	assert_int_equal(folder_create(f->root, "Work/Projects", &error), FOLDER_OP_OK);
	assert_int_equal(folder_create(f->root, "Work/Projects/Old", &error), FOLDER_OP_OK);
	assert_int_equal(folder_create(f->root, "Workshop", &error), FOLDER_OP_OK);
	assert_int_equal(folder_subscribe(f->root, "Work/Projects", true, &error), FOLDER_OP_OK);
	assert_int_equal(folder_subscribe(f->root, "Workshop", true, &error), FOLDER_OP_OK);
	put(f->root, ".Work.Projects/cur/1.M1P1.h,S=3:2,S", "abc");

	assert_int_equal(folder_rename(f->root, "Work", "Jobs/2024", &error), FOLDER_OP_OK);
	assert_false(exists(f->root, ".Work"));
	assert_false(exists(f->root, ".Work.Projects"));
	assert_true(is_dir(f->root, ".Jobs.2024", 0700));
	assert_true(exists(f->root, ".Jobs.2024.Projects/cur/1.M1P1.h,S=3:2,S"));
	assert_true(is_dir(f->root, ".Jobs.2024.Projects.Old", 0700));
	/* "Workshop" is not below "Work" */
	assert_true(is_dir(f->root, ".Workshop", 0700));
	assert_string_equal(slurp(f->root, "subscriptions"),
	                    "Sent\nDrafts\nTrash\nJunk\nJobs.2024.Projects\nWorkshop\n");
	/* the missing parent "Jobs" can be renamed too: its children move */
	assert_int_equal(folder_rename(f->root, "Jobs", "Old", &error), FOLDER_OP_OK);
	assert_true(is_dir(f->root, ".Old.2024.Projects.Old", 0700));
	assert_no_hidden(f->root);
}

static void test_rename_checks_every_target_before_moving_anything(void **state)
{
	struct fixture *f = *state;
	const char *error;

	assert_int_equal(folder_create(f->root, "a", &error), FOLDER_OP_OK);
	assert_int_equal(folder_create(f->root, "a/x", &error), FOLDER_OP_OK);
	assert_int_equal(folder_create(f->root, "b/x", &error), FOLDER_OP_OK);
	/* "b" itself does not exist, but "b/x" would be overwritten */
	assert_int_equal(folder_rename(f->root, "a", "b", &error), FOLDER_OP_EXISTS);
	assert_true(is_dir(f->root, ".a", 0700));
	assert_true(is_dir(f->root, ".a.x", 0700));
	assert_false(exists(f->root, ".b"));

	assert_int_equal(folder_rename(f->root, "a", "Sent", &error), FOLDER_OP_EXISTS);
	assert_int_equal(folder_rename(f->root, "a", "a", &error), FOLDER_OP_EXISTS);
	assert_int_equal(folder_rename(f->root, "a", "INBOX", &error), FOLDER_OP_EXISTS);
	assert_int_equal(folder_rename(f->root, "a", "a/y", &error), FOLDER_OP_INTO_ITSELF);
	assert_int_equal(folder_rename(f->root, "nothing", "z", &error), FOLDER_OP_NONEXISTENT);
	/* the children's new names must fit the disk too */
	{
		char big[260];

		/* ".nnn" is 254 bytes, ".nnn.x" would be 256 */
		memset(big, 'n', 253);
		big[253] = '\0';
		assert_int_equal(folder_rename(f->root, "a", big, &error), FOLDER_OP_BAD_NAME);
		assert_true(is_dir(f->root, ".a", 0700));
	}
}

static void test_rename_inbox_moves_its_messages_and_leaves_it_empty(void **state)
{
	struct fixture *f = *state;
	const char *error;

	assert_int_equal(folder_create(f->root, "INBOX/child", &error), FOLDER_OP_OK);
	put(f->root, "new/1.M1P1.h,S=3", "abc");
	put(f->root, "cur/2.M1P1.h,S=3:2,Sa", "def");
	put(f->root, "tmp/3.M1P1.h", "being delivered");
	put(f->root, "dovecot-keywords", "0 $Forwarded\n");

	assert_int_equal(folder_rename(f->root, "inbox", "Old Inbox", &error), FOLDER_OP_OK);
	assert_true(exists(f->root, ".Old Inbox/new/1.M1P1.h,S=3"));
	assert_true(exists(f->root, ".Old Inbox/cur/2.M1P1.h,S=3:2,Sa"));
	assert_string_equal(slurp(f->root, ".Old Inbox/dovecot-keywords"), "0 $Forwarded\n");
	assert_false(exists(f->root, "new/1.M1P1.h,S=3"));
	assert_false(exists(f->root, "cur/2.M1P1.h,S=3:2,Sa"));
	/* INBOX stays, with its children and what tmp/ holds */
	assert_true(exists(f->root, "tmp/3.M1P1.h"));
	assert_true(is_dir(f->root, ".INBOX.child", 0700));
	assert_string_equal(list(f->root, "%"), "INBOX (\\HasChildren)\n"
	                                        "Drafts (\\HasNoChildren)\n"
	                                        "Junk (\\HasNoChildren)\n"
	                                        "Old Inbox (\\HasNoChildren)\n"
	                                        "Sent (\\HasNoChildren)\n"
	                                        "Trash (\\HasNoChildren)\n");
	/* again, into a child of INBOX; to an existing name it fails */
	put(f->root, "new/4.M1P1.h,S=1", "x");
	assert_int_equal(folder_rename(f->root, "INBOX", "Old Inbox", &error), FOLDER_OP_EXISTS);
	assert_int_equal(folder_rename(f->root, "INBOX", "INBOX/older", &error), FOLDER_OP_OK);
	assert_true(exists(f->root, ".INBOX.older/new/4.M1P1.h,S=1"));
	assert_no_hidden(f->root);
}

static void test_subscriptions_keep_dovecot_format(void **state)
{
	struct fixture *f = *state;
	const char *error;

	/* version 1, as maildir_create writes it */
	assert_int_equal(folder_subscribe(f->root, "Work/Projects", true, &error), FOLDER_OP_OK);
	assert_int_equal(folder_subscribe(f->root, "Work/Projects", true, &error), FOLDER_OP_OK);
	assert_int_equal(folder_subscribe(f->root, "inbox", true, &error), FOLDER_OP_OK);
	assert_int_equal(folder_subscribe(f->root, "Entw\xc3\xbcrfe", true, &error), FOLDER_OP_OK);
	assert_string_equal(slurp(f->root, "subscriptions"),
	                    "Sent\nDrafts\nTrash\nJunk\nWork.Projects\nINBOX\nEntw&APw-rfe\n");
	assert_int_equal(folder_subscribe(f->root, "Drafts", false, &error), FOLDER_OP_OK);
	assert_int_equal(folder_subscribe(f->root, "Never", false, &error), FOLDER_OP_OK);
	assert_string_equal(slurp(f->root, "subscriptions"),
	                    "Sent\nTrash\nJunk\nWork.Projects\nINBOX\nEntw&APw-rfe\n");

	/* version 2, as Dovecot 2.3 writes it; lines we do not know stay */
	put(f->root, "subscriptions", "V\t2\n\nINBOX\nWork\tProjects\nodd\001tline\nlast");
	assert_int_equal(folder_subscribe(f->root, "Work/Projects", false, &error), FOLDER_OP_OK);
	assert_int_equal(folder_subscribe(f->root, "\xe6\x97\xa5/x", true, &error), FOLDER_OP_OK);
	assert_string_equal(slurp(f->root, "subscriptions"),
	                    "V\t2\n\nINBOX\nodd\001tline\nlast\n&ZeU-\tx\n");
	assert_false(exists(f->root, "subscriptions.lock"));
}

static void test_subscribe_waits_for_the_lock_and_breaks_a_stale_one(void **state)
{
	struct fixture *f = *state;
	struct timespec old[2] = {{time(NULL) - 60, 0}, {time(NULL) - 60, 0}};
	char path[256];
	const char *error;

	put(f->root, "subscriptions.lock", "");
	assert_int_equal(folder_subscribe(f->root, "X", true, &error), FOLDER_OP_LOCKED);
	assert_non_null(error);
	assert_null(strstr(slurp(f->root, "subscriptions"), "X"));
	snprintf(path, sizeof(path), "%s/subscriptions.lock", f->root);
	assert_int_equal(utimensat(AT_FDCWD, path, old, 0), 0);
	assert_int_equal(folder_subscribe(f->root, "X", true, &error), FOLDER_OP_OK);
	assert_non_null(strstr(slurp(f->root, "subscriptions"), "\nX\n"));
	assert_false(exists(f->root, "subscriptions.lock"));
}

static void test_missing_root_is_an_io_error(void **state)
{
	const char *error = NULL;

	(void)state;
	assert_int_equal(folder_create("/nonexistent/maildir", "x", &error), FOLDER_OP_IO);
	assert_non_null(error);
	assert_int_equal(folder_delete("/nonexistent/maildir", "x", &error), FOLDER_OP_IO);
	assert_int_equal(folder_rename("/nonexistent/maildir", "x", "y", &error), FOLDER_OP_IO);
	assert_int_equal(folder_subscribe("/nonexistent/maildir", "x", true, &error), FOLDER_OP_IO);
	assert_int_equal(folder_purge_deleted("/nonexistent/maildir", &error), -1);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
	    T(test_create_makes_a_whole_maildir_folder),
	    T(test_create_refuses_existing_names_and_inbox),
	    T(test_create_drops_one_trailing_separator),
	    T(test_create_refuses_every_bad_name_with_its_reason),
	    T(test_eight_bit_names_round_trip_through_the_disk),
	    T(test_delete_removes_messages_but_keeps_children),
	    T(test_delete_refuses_inbox_and_missing_names),
	    T(test_purge_finishes_an_interrupted_delete),
	    T(test_purge_spares_a_create_under_way),
	    T(test_rename_moves_a_whole_hierarchy),
	    T(test_rename_checks_every_target_before_moving_anything),
	    T(test_rename_inbox_moves_its_messages_and_leaves_it_empty),
	    T(test_subscriptions_keep_dovecot_format),
	    T(test_subscribe_waits_for_the_lock_and_breaks_a_stale_one),
	    cmocka_unit_test(test_missing_root_is_an_io_error),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
