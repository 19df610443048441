/* LIST and LSUB over real Maildir++ trees, one of them laid out as Dovecot writes it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "folder_list.h"
#include "folder_name.h"
#include "maildir_create.h"

struct fixture {
	char root[64];
	struct folder_list *fl;
};

static void mk(const char *root, const char *dir)
{
	char path[512];

	snprintf(path, sizeof(path), "%s/%s", root, dir);
	assert_int_equal(mkdir(path, 0700), 0);
	if (dir[0] == '.') {
		snprintf(path, sizeof(path), "%s/%s/cur", root, dir);
		assert_int_equal(mkdir(path, 0700), 0);
	}
}

static void put(const char *root, const char *file, const char *text)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", root, file);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static void rm_rf(const char *path)
{
	char cmd[600];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", path);
	assert_int_equal(system(cmd), 0);
}

/* A Maildir++ as Dovecot (LAYOUT=maildir++, separator "/") leaves it, with some entries
   that are not folders. */
static int setup_dovecot(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	const char *error;

	strcpy(f->root, "/tmp/folder-list-XXXXXX");
	assert_non_null(mkdtemp(f->root));
	mk(f->root, "cur");
	mk(f->root, "new");
	mk(f->root, "tmp");
	mk(f->root, ".Archive");
	mk(f->root, ".Work");
	mk(f->root, ".Work.Projects");
	mk(f->root, ".Workshop");
	mk(f->root, ".Entw&APw-rfe");
	mk(f->root, ".&ZeVnLIqe-");
	mk(f->root, ".a.b.c");
	mk(f->root, ".INBOX.old");
	mk(f->root, ".a-b");
	/* not folders */
	mk(f->root, ".INBOX");
	mk(f->root, ".Inbox.x");
	mk(f->root, ".bad&");
	mk(f->root, "..DOVECOT-TRASHED");
	mk(f->root, ".a..b");
	put(f->root, ".file", "");
	{
		char link[512];

		snprintf(link, sizeof(link), "%s/.link", f->root);
		assert_int_equal(symlink("/etc", link), 0);
	}
	put(f->root, "subscriptions",
	    "V\t2\n\nINBOX\nWork\tProjects\ngone\nx\ty\nEntw&APw-rfe\nbad\001tname\n");
	assert_int_equal(folder_list_scan(f->root, &f->fl, &error), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	folder_list_free(&f->fl);
	assert_null(f->fl);
	rm_rf(f->root);
	free(f);
	return 0;
}

struct result {
	char text[8192];
	bool extended;
};

static void collect(const char *name, unsigned int attrs, void *ctx)
{
	struct result *r = ctx;
	char flags[256];
	size_t len = strlen(r->text);

	assert_int_equal(folder_attrs_format(attrs, r->extended, flags, sizeof(flags)), 0);
	snprintf(r->text + len, sizeof(r->text) - len, "%s (%s)%s\n", name, flags,
	         (attrs & FOLDER_ATTR_CHILDINFO) != 0 ? " CHILDINFO" : "");
}

static const char *run(struct folder_list *fl, const char *ref, const char *pattern,
                       unsigned int select, unsigned int ret, bool lsub, bool extended)
{
	static struct result r;
	const char *patterns[] = {pattern};
	struct folder_query q = {ref, patterns, 1, select, ret, lsub};
	const char *error;

	memset(&r, 0, sizeof(r));
	r.extended = extended;
	assert_true(folder_list_query(fl, &q, collect, &r, &error) >= 0);
	return r.text;
}

#define PLAIN (FOLDER_RET_CHILDREN | FOLDER_RET_SPECIAL_USE)

static void test_list_star_shows_folders_and_missing_parents(void **state)
{
	struct fixture *f = *state;

	assert_string_equal(run(f->fl, "", "*", 0, PLAIN, false, false),
	                    "INBOX (\\HasChildren)\n"
	                    "INBOX/old (\\HasNoChildren)\n"
	                    "Archive (\\HasNoChildren \\Archive)\n"
	                    "Entw\xc3\xbcrfe (\\HasNoChildren)\n"
	                    "Work (\\HasChildren)\n"
	                    "Work/Projects (\\HasNoChildren)\n"
	                    "Workshop (\\HasNoChildren)\n"
	                    "a (\\Noselect \\HasChildren)\n"
	                    "a/b (\\Noselect \\HasChildren)\n"
	                    "a/b/c (\\HasNoChildren)\n"
	                    "a-b (\\HasNoChildren)\n"
	                    "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e (\\HasNoChildren)\n");
}

static void test_list_percent_stops_at_the_separator(void **state)
{
	struct fixture *f = *state;

	assert_string_equal(run(f->fl, "", "%", 0, PLAIN, false, false),
	                    "INBOX (\\HasChildren)\n"
	                    "Archive (\\HasNoChildren \\Archive)\n"
	                    "Entw\xc3\xbcrfe (\\HasNoChildren)\n"
	                    "Work (\\HasChildren)\n"
	                    "Workshop (\\HasNoChildren)\n"
	                    "a (\\Noselect \\HasChildren)\n"
	                    "a-b (\\HasNoChildren)\n"
	                    "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e (\\HasNoChildren)\n");
	assert_string_equal(run(f->fl, "", "Work/%", 0, 0, false, false), "Work/Projects ()\n");
	assert_string_equal(run(f->fl, "", "a/%/c", 0, 0, false, false), "a/b/c ()\n");
	assert_string_equal(run(f->fl, "", "%/%", 0, 0, false, false),
	                    "INBOX/old ()\nWork/Projects ()\na/b (\\Noselect)\n");
}

static void test_reference_is_prefixed_to_the_pattern(void **state)
{
	struct fixture *f = *state;

	assert_string_equal(run(f->fl, "Work/", "%", 0, 0, false, false), "Work/Projects ()\n");
	assert_string_equal(run(f->fl, "Work", "%", 0, 0, false, false), "Work ()\nWorkshop ()\n");
	/* a pattern starting with the separator ignores the reference (and matches nothing) */
	assert_string_equal(run(f->fl, "Work/", "/%", 0, 0, false, false), "");
	/* LIST "" "" is the session's to answer */
	assert_string_equal(run(f->fl, "", "", 0, 0, false, false), "");
}

static void test_patterns_match_utf8_and_inbox_in_any_case(void **state)
{
	struct fixture *f = *state;

	assert_string_equal(run(f->fl, "", "*rfe", 0, 0, false, false), "Entw\xc3\xbcrfe ()\n");
	assert_string_equal(run(f->fl, "", "\xe6\x97\xa5*", 0, 0, false, false),
	                    "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e ()\n");
	assert_string_equal(run(f->fl, "", "inbox", 0, 0, false, false), "INBOX ()\n");
	assert_string_equal(run(f->fl, "", "iNbOx/%", 0, 0, false, false), "INBOX/old ()\n");
	assert_string_equal(run(f->fl, "inbox/", "*", 0, 0, false, false), "INBOX/old ()\n");
	/* other names are case-sensitive */
	assert_string_equal(run(f->fl, "", "work", 0, 0, false, false), "");
}

static void test_extended_list_says_nonexistent(void **state)
{
	struct fixture *f = *state;

	assert_string_equal(run(f->fl, "", "a*", 0, FOLDER_RET_CHILDREN, false, true),
	                    "a (\\NonExistent \\HasChildren)\n"
	                    "a/b (\\NonExistent \\HasChildren)\n"
	                    "a/b/c (\\HasNoChildren)\n"
	                    "a-b (\\HasNoChildren)\n");
}

static void test_subscribed_selection_includes_missing_folders(void **state)
{
	struct fixture *f = *state;

	assert_string_equal(run(f->fl, "", "*", FOLDER_SEL_SUBSCRIBED, 0, false, true),
	                    "INBOX (\\Subscribed)\n"
	                    "Entw\xc3\xbcrfe (\\Subscribed)\n"
	                    "Work/Projects (\\Subscribed)\n"
	                    "gone (\\NonExistent \\Subscribed)\n"
	                    "x/y (\\NonExistent \\Subscribed)\n");
	/* RFC 5258 RECURSIVEMATCH: parents of subscribed names the pattern does not reach */
	assert_string_equal(run(f->fl, "", "%", FOLDER_SEL_SUBSCRIBED | FOLDER_SEL_RECURSIVEMATCH,
	                        FOLDER_RET_CHILDREN, false, true),
	                    "INBOX (\\HasChildren \\Subscribed)\n"
	                    "Entw\xc3\xbcrfe (\\HasNoChildren \\Subscribed)\n"
	                    "Work (\\HasChildren) CHILDINFO\n"
	                    "gone (\\NonExistent \\Subscribed)\n"
	                    "x (\\NonExistent) CHILDINFO\n");
	/* return option SUBSCRIBED on a plain selection */
	assert_string_equal(run(f->fl, "", "Work*", 0, FOLDER_RET_SUBSCRIBED, false, true),
	                    "Work ()\nWork/Projects (\\Subscribed)\nWorkshop ()\n");
}

static void test_lsub_marks_unsubscribed_parents_noselect(void **state)
{
	struct fixture *f = *state;

	assert_string_equal(run(f->fl, "", "*", 0, 0, true, false), "INBOX ()\n"
	                                                            "Entw\xc3\xbcrfe ()\n"
	                                                            "Work/Projects ()\n"
	                                                            "gone (\\Noselect)\n"
	                                                            "x/y (\\Noselect)\n");
	/* RFC 3501 6.3.9: "%" returns foo, flagged \Noselect, for a subscribed foo/bar */
	assert_string_equal(run(f->fl, "", "%", 0, 0, true, false), "INBOX ()\n"
	                                                            "Entw\xc3\xbcrfe ()\n"
	                                                            "Work (\\Noselect)\n"
	                                                            "gone (\\Noselect)\n"
	                                                            "x (\\Noselect)\n");
}

static void test_special_use_selection(void **state)
{
	struct fixture *f = *state;

	assert_string_equal(run(f->fl, "", "*", FOLDER_SEL_SPECIAL_USE, 0, false, true),
	                    "Archive (\\Archive)\n");
}

static void test_bad_requests_are_refused(void **state)
{
	struct fixture *f = *state;
	const char *patterns[] = {"*"}, *error = NULL;
	struct folder_query q = {"", patterns, 1, FOLDER_SEL_RECURSIVEMATCH, 0, false};
	char big[2 * FOLDER_NAME_MAX + 2];
	struct result r = {0};

	(void)state;
	assert_int_equal(folder_list_query(f->fl, &q, collect, &r, &error), -1);
	assert_non_null(error);
	q.select = FOLDER_SEL_RECURSIVEMATCH | FOLDER_SEL_REMOTE;
	assert_int_equal(folder_list_query(f->fl, &q, collect, &r, &error), -1);
	q.select = 0;
	q.pattern_count = 0;
	assert_int_equal(folder_list_query(f->fl, &q, collect, &r, &error), -1);
	memset(big, '*', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	patterns[0] = big;
	q.pattern_count = 1;
	assert_int_equal(folder_list_query(f->fl, &q, collect, &r, &error), -1);
	big[sizeof(big) - 2] = '\0'; /* exactly at the limit */
	assert_true(folder_list_query(f->fl, &q, collect, &r, &error) > 0);
}

static void test_several_patterns_give_each_name_once(void **state)
{
	struct fixture *f = *state;
	const char *patterns[] = {"Work*", "*shop", "INBOX"}, *error;
	struct folder_query q = {NULL, patterns, 3, 0, 0, false};
	struct result r = {0};

	assert_int_equal(folder_list_query(f->fl, &q, collect, &r, &error), 4);
	assert_string_equal(r.text, "INBOX ()\nWork ()\nWork/Projects ()\nWorkshop ()\n");
}

static void test_lookup_knows_folders_and_parents(void **state)
{
	struct fixture *f = *state;
	unsigned int attrs;

	assert_int_equal(folder_list_lookup(f->fl, "Work", &attrs), 1);
	assert_int_equal(attrs, FOLDER_ATTR_HASCHILDREN);
	assert_int_equal(folder_list_lookup(f->fl, "INBOX", &attrs), 1);
	assert_int_equal(folder_list_lookup(f->fl, "a", &attrs), 1);
	assert_true((attrs & FOLDER_ATTR_NONEXISTENT) != 0);
	assert_int_equal(folder_list_lookup(f->fl, "Archive", &attrs), 1);
	assert_true((attrs & FOLDER_ATTR_ARCHIVE) != 0);
	assert_int_equal(folder_list_lookup(f->fl, "gone", &attrs), 0);
	assert_int_equal(folder_list_lookup(f->fl, "link", &attrs), 0);
	assert_int_equal(folder_list_lookup(f->fl, "file", &attrs), 0);
	assert_int_equal(folder_list_lookup(f->fl, "nothing", &attrs), 0);
}

static void test_pathological_pattern_ends(void **state)
{
	struct fixture *f = *state;

	/* a set of states, not backtracking: this returns at once */
	assert_string_equal(
	    run(f->fl, "", "*%*%*%*%*%*%*%*%*%*%*%*%*%*%*%*%*%*%*%*%*%*%*%*Z", 0, 0, false, false),
	    "");
	assert_string_equal(run(f->fl, "", "**", 0, 0, false, false) != NULL ? "ok" : "", "ok");
}

static void test_new_maildir_lists_its_special_folders(void **state)
{
	char root[] = "/tmp/folder-list-new-XXXXXX";
	char box[128];
	struct folder_list *fl;
	const char *error;

	(void)state;
	assert_non_null(mkdtemp(root));
	snprintf(box, sizeof(box), "%s/u", root);
	assert_int_equal(maildir_create(box, &error), 0);
	assert_int_equal(folder_list_scan(box, &fl, &error), 0);
	assert_string_equal(run(fl, "", "*", 0, PLAIN | FOLDER_RET_SUBSCRIBED, false, true),
	                    "INBOX (\\HasNoChildren)\n"
	                    "Drafts (\\HasNoChildren \\Subscribed \\Drafts)\n"
	                    "Junk (\\HasNoChildren \\Subscribed \\Junk)\n"
	                    "Sent (\\HasNoChildren \\Subscribed \\Sent)\n"
	                    "Trash (\\HasNoChildren \\Subscribed \\Trash)\n");
	assert_int_equal(folder_list_count(fl), 5);
	folder_list_free(&fl);
	folder_list_free(&fl);
	assert_int_equal(folder_list_scan("/nonexistent/maildir", &fl, &error), -1);
	assert_non_null(error);
	rm_rf(root);
}

static void test_attrs_format_fits_or_fails(void **state)
{
	char out[16];

	(void)state;
	assert_int_equal(folder_attrs_format(0, false, out, sizeof(out)), 0);
	assert_string_equal(out, "");
	assert_int_equal(folder_attrs_format(FOLDER_ATTR_NONEXISTENT, false, out, sizeof(out)), 0);
	assert_string_equal(out, "\\Noselect");
	assert_int_equal(folder_attrs_format(FOLDER_ATTR_HASCHILDREN | FOLDER_ATTR_SUBSCRIBED,
	                                     false, out, sizeof(out)),
	                 -1);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup_dovecot, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
	    T(test_list_star_shows_folders_and_missing_parents),
	    T(test_list_percent_stops_at_the_separator),
	    T(test_reference_is_prefixed_to_the_pattern),
	    T(test_patterns_match_utf8_and_inbox_in_any_case),
	    T(test_extended_list_says_nonexistent),
	    T(test_subscribed_selection_includes_missing_folders),
	    T(test_lsub_marks_unsubscribed_parents_noselect),
	    T(test_special_use_selection),
	    T(test_bad_requests_are_refused),
	    T(test_several_patterns_give_each_name_once),
	    T(test_lookup_knows_folders_and_parents),
	    T(test_pathological_pattern_ends),
	    cmocka_unit_test(test_new_maildir_lists_its_special_folders),
	    cmocka_unit_test(test_attrs_format_fits_or_fails),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
