#include <dirent.h>
#include <fcntl.h>
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
#include <sqlite3.h>

#include "accounts_db.h"

struct fixture {
	char dir[64];
	char path[128];
	struct accounts_db *db;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	char *error = NULL;

	assert_non_null(f);
	snprintf(f->dir, sizeof(f->dir), "/tmp/maild-test-adb-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->path, sizeof(f->path), "%s/accounts.db", f->dir);
	if (accounts_db_open(f->path, ACCOUNTS_DB_READWRITE, &f->db, &error) < 0)
		fail_msg("open: %s", error);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	struct dirent *e;
	char path[512];
	DIR *d;

	accounts_db_close(&f->db);
	d = opendir(f->dir);
	while (d != NULL && (e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", f->dir, e->d_name);
		unlink(path);
	}
	if (d != NULL)
		closedir(d);
	rmdir(f->dir);
	free(f);
	return 0;
}

/* A second, raw connection to the same file, as another process would have. */
static sqlite3 *raw_open(const struct fixture *f)
{
	sqlite3 *sql;

	assert_int_equal(sqlite3_open(f->path, &sql), SQLITE_OK);
	return sql;
}

static int64_t raw_int(sqlite3 *sql, const char *query)
{
	sqlite3_stmt *stmt;
	int64_t value;

	assert_int_equal(sqlite3_prepare_v2(sql, query, -1, &stmt, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(stmt), SQLITE_ROW);
	value = sqlite3_column_int64(stmt, 0);
	sqlite3_finalize(stmt);
	return value;
}

static void raw_exec(sqlite3 *sql, const char *query)
{
	char *error = NULL;

	if (sqlite3_exec(sql, query, NULL, NULL, &error) != SQLITE_OK)
		fail_msg("%s: %s", query, error);
}

static void add_account(struct accounts_db *db, const char *local, const char *domain)
{
	struct adb_account a = {.active = true, .quota_bytes = 1000};

	snprintf(a.localpart, sizeof(a.localpart), "%s", local);
	snprintf(a.domain, sizeof(a.domain), "%s", domain);
	snprintf(a.password_hash, sizeof(a.password_hash), "$y$j9T$salt$hash");
	snprintf(a.real_name, sizeof(a.real_name), "Name of %s", local);
	if (accounts_db_account_add(db, &a) != ADB_OK)
		fail_msg("account_add %s@%s: %s", local, domain, accounts_db_last_error(db));
	assert_true(a.id > 0);
	assert_true(a.created > 0);
}

static void test_new_file_gets_schema_version_1_in_wal_mode(void **state)
{
	struct fixture *f = *state;
	sqlite3 *sql = raw_open(f);

	assert_int_equal(raw_int(sql, "PRAGMA user_version"), 1);
	assert_int_equal(raw_int(sql, "SELECT count(*) FROM sqlite_schema WHERE type = 'table'"
	                              " AND name IN ('domains', 'accounts', 'aliases')"),
	                 3);
	assert_int_equal(raw_int(sql, "SELECT count(*) FROM pragma_table_info('accounts')"
	                              " WHERE name IN ('filter', 'autoreply', 'autoreply_until')"),
	                 3);
	assert_int_equal(raw_int(sql, "SELECT journal_mode = 'wal' FROM pragma_journal_mode"), 1);
	sqlite3_close(sql);
	assert_int_equal(ACCOUNTS_DB_VERSION, 1);
}

static void test_reopening_keeps_data_and_readonly_reads_it(void **state)
{
	struct fixture *f = *state;
	struct accounts_db *ro = NULL;
	struct adb_account a;
	char *error = NULL;

	assert_int_equal(accounts_db_domain_add(f->db, "example.org"), ADB_OK);
	add_account(f->db, "bob", "example.org");
	accounts_db_close(&f->db);
	assert_null(f->db);
	/* a second READWRITE open migrates nothing and empties nothing */
	assert_int_equal(accounts_db_open(f->path, ACCOUNTS_DB_READWRITE, &f->db, &error), 0);
	assert_int_equal(accounts_db_domain_is_local(f->db, "example.org"), 1);
	if (accounts_db_open(f->path, ACCOUNTS_DB_READONLY, &ro, &error) < 0)
		fail_msg("read-only open: %s", error);
	assert_int_equal(accounts_db_account_get(ro, "bob", "example.org", &a), ADB_OK);
	assert_string_equal(a.real_name, "Name of bob");
	assert_int_equal(a.quota_bytes, 1000);
	/* a reader cannot write */
	assert_int_equal(accounts_db_domain_add(ro, "example.net"), ADB_ERROR);
	assert_non_null(strstr(accounts_db_last_error(ro), "readonly"));
	assert_int_equal(accounts_db_check(ro, &error), 0);
	accounts_db_close(&ro);
	accounts_db_close(&ro); /* NULL is fine */
}

static void test_readonly_open_of_missing_file_says_so(void **state)
{
	struct fixture *f = *state;
	struct accounts_db *db = (void *)1;
	char path[160], *error = NULL;

	snprintf(path, sizeof(path), "%s/missing.db", f->dir);
	assert_int_equal(accounts_db_open(path, ACCOUNTS_DB_READONLY, &db, &error), -1);
	assert_null(db);
	assert_non_null(error);
	assert_non_null(strstr(error, "missing.db: cannot open: No such file"));
	free(error);
	assert_int_equal(access(path, F_OK), -1);
}

static void test_duplicate_domain_is_refused_in_any_case(void **state)
{
	struct fixture *f = *state;
	struct adb_domain d;

	assert_int_equal(accounts_db_domain_add(f->db, "Example.ORG"), ADB_OK);
	assert_int_equal(accounts_db_domain_add(f->db, "example.org"), ADB_EXISTS);
	assert_string_equal(accounts_db_last_error(f->db), "domain example.org already exists");
	assert_int_equal(accounts_db_domain_get(f->db, "EXAMPLE.org", &d), ADB_OK);
	assert_string_equal(d.name, "example.org");
	assert_true(d.active);
	assert_int_equal(accounts_db_domain_is_local(f->db, "eXample.org"), 1);
	assert_int_equal(accounts_db_domain_is_local(f->db, "example.net"), 0);
	assert_int_equal(accounts_db_domain_get(f->db, "example.net", &d), ADB_NOT_FOUND);
}

static void test_invalid_domain_name_is_refused(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(accounts_db_domain_add(f->db, "bad..example"), ADB_INVALID);
	assert_int_equal(accounts_db_domain_add(f->db, "example.org."), ADB_INVALID);
	assert_int_equal(accounts_db_domain_add(f->db, "'; DROP TABLE domains; --"), ADB_INVALID);
	assert_int_equal(accounts_db_domain_is_local(f->db, "'; DROP TABLE domains; --"), 0);
}

static void test_account_names_ignore_ascii_case(void **state)
{
	struct fixture *f = *state;
	struct adb_account a = {.active = true};

	assert_int_equal(accounts_db_domain_add(f->db, "example.org"), ADB_OK);
	add_account(f->db, "Bob", "example.org");
	assert_int_equal(accounts_db_account_get(f->db, "BOB", "Example.Org", &a), ADB_OK);
	assert_string_equal(a.localpart, "Bob");
	assert_string_equal(a.domain, "example.org");
	assert_string_equal(a.password_hash, "$y$j9T$salt$hash");
	assert_true(a.active);
	snprintf(a.localpart, sizeof(a.localpart), "bob");
	snprintf(a.domain, sizeof(a.domain), "EXAMPLE.ORG");
	assert_int_equal(accounts_db_account_add(f->db, &a), ADB_EXISTS);
}

static void test_account_in_missing_domain_is_not_found(void **state)
{
	struct fixture *f = *state;
	struct adb_account a = {.active = true};

	snprintf(a.localpart, sizeof(a.localpart), "bob");
	snprintf(a.domain, sizeof(a.domain), "nowhere.example");
	assert_int_equal(accounts_db_account_add(f->db, &a), ADB_NOT_FOUND);
	assert_string_equal(accounts_db_last_error(f->db), "no such domain nowhere.example");
}

static void test_account_with_bad_fields_is_refused(void **state)
{
	struct fixture *f = *state;
	struct adb_account a = {.active = true};

	assert_int_equal(accounts_db_domain_add(f->db, "example.org"), ADB_OK);
	snprintf(a.domain, sizeof(a.domain), "example.org");
	snprintf(a.localpart, sizeof(a.localpart), "\"quoted\"");
	assert_int_equal(accounts_db_account_add(f->db, &a), ADB_INVALID);
	snprintf(a.localpart, sizeof(a.localpart), "bob");
	snprintf(a.real_name, sizeof(a.real_name), "Bob\r\nBcc: everyone");
	assert_int_equal(accounts_db_account_add(f->db, &a), ADB_INVALID);
	snprintf(a.real_name, sizeof(a.real_name), "Bob");
	a.quota_bytes = UINT64_MAX;
	assert_int_equal(accounts_db_account_add(f->db, &a), ADB_INVALID);
	memset(a.password_hash, 'x', sizeof(a.password_hash)); /* not terminated */
	a.quota_bytes = 0;
	assert_int_equal(accounts_db_account_add(f->db, &a), ADB_INVALID);
}

static void test_account_setters_change_one_account(void **state)
{
	struct fixture *f = *state;
	struct adb_account a;

	assert_int_equal(accounts_db_domain_add(f->db, "example.org"), ADB_OK);
	add_account(f->db, "bob", "example.org");
	add_account(f->db, "alice", "example.org");
	assert_int_equal(accounts_db_account_set_password(f->db, "BOB", "example.org", "{PLAIN}x"),
	                 ADB_OK);
	assert_int_equal(accounts_db_account_set_quota(f->db, "bob", "example.org", 5), ADB_OK);
	assert_int_equal(accounts_db_account_set_active(f->db, "bob", "example.org", false),
	                 ADB_OK);
	assert_int_equal(accounts_db_account_get(f->db, "bob", "example.org", &a), ADB_OK);
	assert_string_equal(a.password_hash, "{PLAIN}x");
	assert_int_equal(a.quota_bytes, 5);
	assert_false(a.active);
	assert_int_equal(accounts_db_account_get(f->db, "alice", "example.org", &a), ADB_OK);
	assert_string_equal(a.password_hash, "$y$j9T$salt$hash");
	assert_true(a.active);
	assert_int_equal(accounts_db_account_set_quota(f->db, "carol", "example.org", 5),
	                 ADB_NOT_FOUND);
	assert_int_equal(accounts_db_account_set_quota(f->db, "bob", "example.org", UINT64_MAX),
	                 ADB_INVALID);
	assert_int_equal(accounts_db_account_set_password(f->db, "bob", "example.org", "a\nb"),
	                 ADB_INVALID);
	assert_int_equal(accounts_db_account_remove(f->db, "Bob", "example.org"), ADB_OK);
	assert_int_equal(accounts_db_account_remove(f->db, "bob", "example.org"), ADB_NOT_FOUND);
	assert_int_equal(accounts_db_account_get(f->db, "bob", "example.org", &a), ADB_NOT_FOUND);
}

static void test_first_active_is_the_oldest_active_account(void **state)
{
	struct fixture *f = *state;
	struct adb_account a;

	assert_int_equal(accounts_db_domain_add(f->db, "example.org"), ADB_OK);
	assert_int_equal(accounts_db_account_first_active(f->db, "example.org", &a), ADB_NOT_FOUND);
	add_account(f->db, "zed", "example.org");
	add_account(f->db, "amy", "example.org");
	assert_int_equal(accounts_db_account_first_active(f->db, "example.org", &a), ADB_OK);
	assert_string_equal(a.localpart, "zed");
	assert_int_equal(accounts_db_account_set_active(f->db, "zed", "example.org", false),
	                 ADB_OK);
	assert_int_equal(accounts_db_account_first_active(f->db, "example.org", &a), ADB_OK);
	assert_string_equal(a.localpart, "amy");
}

struct names {
	char list[8][1600];
	int count, stop_after;
};

static int collect_account(const struct adb_account *a, void *ctx)
{
	struct names *n = ctx;

	snprintf(n->list[n->count++], sizeof(n->list[0]), "%s@%s", a->localpart, a->domain);
	return n->count == n->stop_after;
}

static int collect_domain(const struct adb_domain *d, void *ctx)
{
	struct names *n = ctx;

	snprintf(n->list[n->count++], sizeof(n->list[0]), "%s %lld %lld", d->name,
	         (long long)d->accounts, (long long)d->aliases);
	return 0;
}

static int collect_alias(const struct adb_alias *a, void *ctx)
{
	struct names *n = ctx;

	snprintf(n->list[n->count++], sizeof(n->list[0]), "%s>%s", a->address, a->target);
	return 0;
}

static int collect_target(const char *target, void *ctx)
{
	struct names *n = ctx;

	snprintf(n->list[n->count++], sizeof(n->list[0]), "%s", target);
	return 0;
}

static void test_listings_filter_by_domain_and_stop_on_request(void **state)
{
	struct fixture *f = *state;
	struct names n = {0};

	assert_int_equal(accounts_db_domain_add(f->db, "b.example"), ADB_OK);
	assert_int_equal(accounts_db_domain_add(f->db, "a.example"), ADB_OK);
	add_account(f->db, "y", "b.example");
	add_account(f->db, "x", "b.example");
	add_account(f->db, "z", "a.example");
	assert_int_equal(accounts_db_alias_add(f->db, "", "b.example", "x@b.example"), ADB_OK);
	assert_int_equal(accounts_db_alias_add(f->db, "sales", "b.example", "x@b.example"), ADB_OK);
	assert_int_equal(accounts_db_alias_add(f->db, "sales", "b.example", "y@b.example"), ADB_OK);

	assert_int_equal(accounts_db_account_list(f->db, NULL, collect_account, &n), ADB_OK);
	assert_int_equal(n.count, 3);
	assert_string_equal(n.list[0], "z@a.example");
	assert_string_equal(n.list[2], "y@b.example");
	n = (struct names){.stop_after = 1};
	assert_int_equal(accounts_db_account_list(f->db, "B.example", collect_account, &n), ADB_OK);
	assert_int_equal(n.count, 1);
	assert_string_equal(n.list[0], "x@b.example");
	n = (struct names){0};
	assert_int_equal(accounts_db_account_list(f->db, "c.example", collect_account, &n),
	                 ADB_NOT_FOUND);

	n = (struct names){0};
	assert_int_equal(accounts_db_domain_list(f->db, collect_domain, &n), ADB_OK);
	assert_int_equal(n.count, 2);
	assert_string_equal(n.list[0], "a.example 1 0");
	assert_string_equal(n.list[1], "b.example 2 2");

	n = (struct names){0};
	assert_int_equal(accounts_db_alias_list(f->db, "b.example", collect_alias, &n), ADB_OK);
	assert_int_equal(n.count, 3);
	assert_string_equal(n.list[0], "@b.example>x@b.example");
	assert_string_equal(n.list[1], "sales@b.example>x@b.example");
	assert_string_equal(n.list[2], "sales@b.example>y@b.example");
	n = (struct names){0};
	assert_int_equal(accounts_db_alias_list(f->db, "a.example", collect_alias, &n), ADB_OK);
	assert_int_equal(n.count, 0);
	assert_int_equal(accounts_db_alias_list(f->db, "c.example", collect_alias, &n),
	                 ADB_NOT_FOUND);
}

static void test_domain_with_accounts_cannot_be_removed(void **state)
{
	struct fixture *f = *state;
	struct names n = {0};

	assert_int_equal(accounts_db_domain_add(f->db, "example.org"), ADB_OK);
	add_account(f->db, "bob", "example.org");
	assert_int_equal(accounts_db_alias_add(f->db, "sales", "example.org", "bob@example.org"),
	                 ADB_OK);
	assert_int_equal(accounts_db_domain_remove(f->db, "example.org"), ADB_IN_USE);
	assert_string_equal(accounts_db_last_error(f->db), "domain example.org still has accounts");
	/* the refused removal took nothing with it */
	assert_int_equal(
	    accounts_db_alias_targets(f->db, "sales", "example.org", collect_target, &n), ADB_OK);
	assert_int_equal(accounts_db_account_remove(f->db, "bob", "example.org"), ADB_OK);
	assert_int_equal(accounts_db_domain_remove(f->db, "Example.org"), ADB_OK);
	assert_int_equal(accounts_db_domain_is_local(f->db, "example.org"), 0);
	assert_int_equal(accounts_db_domain_remove(f->db, "example.org"), ADB_NOT_FOUND);
	/* its aliases went with it */
	assert_int_equal(accounts_db_domain_add(f->db, "example.org"), ADB_OK);
	assert_int_equal(
	    accounts_db_alias_targets(f->db, "sales", "example.org", collect_target, &n),
	    ADB_NOT_FOUND);
}

static void test_catchall_alias_is_the_empty_local_part(void **state)
{
	struct fixture *f = *state;
	struct names n = {0};

	assert_int_equal(accounts_db_domain_add(f->db, "example.org"), ADB_OK);
	assert_int_equal(accounts_db_alias_add(f->db, "", "example.org", "bob@example.org"),
	                 ADB_OK);
	assert_int_equal(accounts_db_alias_targets(f->db, "", "EXAMPLE.org", collect_target, &n),
	                 ADB_OK);
	assert_int_equal(n.count, 1);
	assert_string_equal(n.list[0], "bob@example.org");
	n = (struct names){0};
	assert_int_equal(accounts_db_alias_targets(f->db, "x", "example.org", collect_target, &n),
	                 ADB_NOT_FOUND);
	assert_int_equal(accounts_db_alias_remove(f->db, "", "example.org", NULL), ADB_OK);
	assert_int_equal(accounts_db_alias_targets(f->db, "", "example.org", collect_target, &n),
	                 ADB_NOT_FOUND);
}

static void test_alias_targets_are_canonical_ordered_and_unique(void **state)
{
	struct fixture *f = *state;
	struct names n = {0};

	assert_int_equal(accounts_db_domain_add(f->db, "example.org"), ADB_OK);
	assert_int_equal(accounts_db_alias_add(f->db, "Team", "example.org", "Zed@Remote.EXAMPLE."),
	                 ADB_OK);
	assert_int_equal(accounts_db_alias_add(f->db, "team", "example.org", "amy@example.org"),
	                 ADB_OK);
	assert_int_equal(accounts_db_alias_add(f->db, "team", "example.org", "zed@remote.example"),
	                 ADB_EXISTS);
	assert_int_equal(accounts_db_alias_add(f->db, "team", "example.org", "not an address"),
	                 ADB_INVALID);
	assert_int_equal(accounts_db_alias_add(f->db, "te am", "example.org", "amy@example.org"),
	                 ADB_INVALID);
	assert_int_equal(accounts_db_alias_add(f->db, "team", "nowhere.example", "amy@example.org"),
	                 ADB_NOT_FOUND);
	assert_int_equal(
	    accounts_db_alias_targets(f->db, "TEAM", "example.org", collect_target, &n), ADB_OK);
	assert_int_equal(n.count, 2);
	assert_string_equal(n.list[0], "Zed@remote.example");
	assert_string_equal(n.list[1], "amy@example.org");
	assert_int_equal(
	    accounts_db_alias_remove(f->db, "team", "example.org", "zed@REMOTE.example"), ADB_OK);
	assert_int_equal(
	    accounts_db_alias_remove(f->db, "team", "example.org", "zed@remote.example"),
	    ADB_NOT_FOUND);
	assert_int_equal(accounts_db_alias_remove(f->db, "team", "example.org", NULL), ADB_OK);
	assert_int_equal(accounts_db_alias_remove(f->db, "team", "example.org", NULL),
	                 ADB_NOT_FOUND);
}

static void test_fail_target_text_is_checked(void **state)
{
	struct fixture *f = *state;
	char text[ADB_FAIL_TEXT_MAX + 16];
	struct names n = {0};

	assert_int_equal(accounts_db_domain_add(f->db, "example.org"), ADB_OK);
	assert_int_equal(accounts_db_alias_add(f->db, "old", "example.org", ":fail: moved away"),
	                 ADB_OK);
	assert_int_equal(accounts_db_alias_targets(f->db, "old", "example.org", collect_target, &n),
	                 ADB_OK);
	assert_string_equal(n.list[0], ":fail: moved away");
	assert_int_equal(accounts_db_alias_add(f->db, "x", "example.org", ":fail: a\r\nb"),
	                 ADB_INVALID);
	snprintf(text, sizeof(text), ":fail:%0*d", ADB_FAIL_TEXT_MAX, 0);
	assert_int_equal(accounts_db_alias_add(f->db, "x", "example.org", text), ADB_OK);
	snprintf(text, sizeof(text), ":fail:%0*d", ADB_FAIL_TEXT_MAX + 1, 0);
	assert_int_equal(accounts_db_alias_add(f->db, "y", "example.org", text), ADB_INVALID);
}

/* A callback that looks up another alias while the first listing is still running. */
struct nested {
	struct accounts_db *db;
	struct names inner;
	int outer;
};

static int nested_target(const char *target, void *ctx)
{
	struct nested *n = ctx;

	(void)target;
	n->outer++;
	assert_int_equal(
	    accounts_db_alias_targets(n->db, "b", "example.org", collect_target, &n->inner),
	    ADB_OK);
	return 0;
}

static void test_callback_may_query_the_same_handle(void **state)
{
	struct fixture *f = *state;
	struct nested n = {.db = f->db};

	assert_int_equal(accounts_db_domain_add(f->db, "example.org"), ADB_OK);
	assert_int_equal(accounts_db_alias_add(f->db, "a", "example.org", "x@example.org"), ADB_OK);
	assert_int_equal(accounts_db_alias_add(f->db, "a", "example.org", "y@example.org"), ADB_OK);
	assert_int_equal(accounts_db_alias_add(f->db, "b", "example.org", "z@example.org"), ADB_OK);
	assert_int_equal(accounts_db_alias_targets(f->db, "a", "example.org", nested_target, &n),
	                 ADB_OK);
	assert_int_equal(n.outer, 2);
	assert_int_equal(n.inner.count, 2);
	assert_string_equal(n.inner.list[1], "z@example.org");
}

static void test_stored_value_too_long_is_an_error_not_truncated(void **state)
{
	struct fixture *f = *state;
	struct adb_account a;
	struct names n = {0};
	sqlite3 *sql;

	assert_int_equal(accounts_db_domain_add(f->db, "example.org"), ADB_OK);
	add_account(f->db, "bob", "example.org");
	sql = raw_open(f);
	raw_exec(sql, "UPDATE accounts SET real_name = printf('%.300c', 'x')");
	raw_exec(sql, "INSERT INTO aliases (domain_id, localpart, target, created)"
	              " SELECT id, 'big', printf('%.2000c', 'y'), 0 FROM domains");
	sqlite3_close(sql);
	assert_int_equal(accounts_db_account_get(f->db, "bob", "example.org", &a), ADB_ERROR);
	assert_non_null(strstr(accounts_db_last_error(f->db), "real_name too long"));
	assert_int_equal(accounts_db_alias_targets(f->db, "big", "example.org", collect_target, &n),
	                 ADB_ERROR);
	assert_int_equal(n.count, 0);
}

/* Build a real database, close it, and overwrite its second page with garbage. */
static void corrupt_page_2(struct fixture *f)
{
	unsigned char garbage[4096];
	int fd;

	assert_int_equal(accounts_db_domain_add(f->db, "example.org"), ADB_OK);
	for (int i = 0; i < 50; i++) {
		char local[16];

		snprintf(local, sizeof(local), "user%d", i);
		add_account(f->db, local, "example.org");
	}
	accounts_db_close(&f->db); /* the last connection checkpoints the WAL into the file */
	memset(garbage, 0xa5, sizeof(garbage));
	fd = open(f->path, O_WRONLY);
	assert_true(fd >= 0);
	assert_int_equal(pwrite(fd, garbage, sizeof(garbage), 4096), (ssize_t)sizeof(garbage));
	close(fd);
}

static void test_corrupt_file_is_refused_and_left_alone(void **state)
{
	struct fixture *f = *state;
	struct accounts_db *db = NULL;
	char *error = NULL;
	struct stat before, after;

	corrupt_page_2(f);
	assert_int_equal(stat(f->path, &before), 0);
	assert_int_equal(accounts_db_open(f->path, ACCOUNTS_DB_READONLY, &db, &error), -1);
	assert_null(db);
	assert_non_null(error);
	if (strstr(error, "accounts.db: database is corrupt: ") == NULL)
		fail_msg("unexpected message: %s", error);
	free(error);
	error = NULL;
	assert_int_equal(accounts_db_open(f->path, ACCOUNTS_DB_READWRITE, &db, &error), -1);
	assert_non_null(strstr(error, "database is corrupt"));
	free(error);
	assert_int_equal(stat(f->path, &after), 0);
	assert_int_equal(before.st_size, after.st_size);
}

static void test_empty_file_is_not_taken_for_a_new_database(void **state)
{
	struct fixture *f = *state;
	struct accounts_db *db = NULL;
	char *error = NULL;
	struct stat st;

	accounts_db_close(&f->db);
	/* what a truncation leaves behind */
	assert_int_equal(truncate(f->path, 0), 0);
	assert_int_equal(accounts_db_open(f->path, ACCOUNTS_DB_READWRITE, &db, &error), -1);
	assert_non_null(strstr(error, "file is empty"));
	free(error);
	assert_int_equal(stat(f->path, &st), 0);
	assert_int_equal(st.st_size, 0);
}

static void test_newer_schema_is_refused(void **state)
{
	struct fixture *f = *state;
	struct accounts_db *db = NULL;
	char *error = NULL;
	sqlite3 *sql = raw_open(f);

	raw_exec(sql, "PRAGMA user_version = 2");
	sqlite3_close(sql);
	accounts_db_close(&f->db);
	assert_int_equal(accounts_db_open(f->path, ACCOUNTS_DB_READWRITE, &db, &error), -1);
	assert_non_null(strstr(error, "schema version 2 is newer"));
	free(error);
	assert_int_equal(accounts_db_open(f->path, ACCOUNTS_DB_READONLY, &db, &error), -1);
	free(error);
	sql = raw_open(f);
	assert_int_equal(raw_int(sql, "PRAGMA user_version"), 2);
	sqlite3_close(sql);
}

static void test_readonly_open_refuses_an_unmigrated_file(void **state)
{
	struct fixture *f = *state;
	struct accounts_db *db = NULL;
	char path[160], *error = NULL;
	sqlite3 *sql;

	snprintf(path, sizeof(path), "%s/old.db", f->dir);
	assert_int_equal(sqlite3_open(path, &sql), SQLITE_OK);
	raw_exec(sql, "CREATE TABLE t (x)");
	sqlite3_close(sql);
	assert_int_equal(accounts_db_open(path, ACCOUNTS_DB_READONLY, &db, &error), -1);
	assert_non_null(strstr(error, "schema version 0, this maild needs 1"));
	free(error);
}

static void test_write_under_a_held_lock_is_busy_and_recovers(void **state)
{
	struct fixture *f = *state;
	struct adb_account a;
	sqlite3 *other = raw_open(f);

	assert_int_equal(accounts_db_domain_add(f->db, "example.org"), ADB_OK);
	add_account(f->db, "bob", "example.org");
	accounts_db_set_busy_timeout(f->db, 100);
	raw_exec(other, "BEGIN EXCLUSIVE");
	assert_int_equal(accounts_db_domain_add(f->db, "example.net"), ADB_BUSY);
	assert_non_null(strstr(accounts_db_last_error(f->db), "locked"));
	assert_int_equal(accounts_db_account_set_quota(f->db, "bob", "example.org", 1), ADB_BUSY);
	/* WAL: readers go on while the writer holds its lock */
	assert_int_equal(accounts_db_account_get(f->db, "bob", "example.org", &a), ADB_OK);
	raw_exec(other, "ROLLBACK");
	sqlite3_close(other);
	assert_int_equal(accounts_db_domain_add(f->db, "example.net"), ADB_OK);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
	    T(test_new_file_gets_schema_version_1_in_wal_mode),
	    T(test_reopening_keeps_data_and_readonly_reads_it),
	    T(test_readonly_open_of_missing_file_says_so),
	    T(test_duplicate_domain_is_refused_in_any_case),
	    T(test_invalid_domain_name_is_refused),
	    T(test_account_names_ignore_ascii_case),
	    T(test_account_in_missing_domain_is_not_found),
	    T(test_account_with_bad_fields_is_refused),
	    T(test_account_setters_change_one_account),
	    T(test_first_active_is_the_oldest_active_account),
	    T(test_listings_filter_by_domain_and_stop_on_request),
	    T(test_domain_with_accounts_cannot_be_removed),
	    T(test_catchall_alias_is_the_empty_local_part),
	    T(test_alias_targets_are_canonical_ordered_and_unique),
	    T(test_fail_target_text_is_checked),
	    T(test_callback_may_query_the_same_handle),
	    T(test_stored_value_too_long_is_an_error_not_truncated),
	    T(test_corrupt_file_is_refused_and_left_alone),
	    T(test_empty_file_is_not_taken_for_a_new_database),
	    T(test_newer_schema_is_refused),
	    T(test_readonly_open_refuses_an_unmigrated_file),
	    T(test_write_under_a_held_lock_is_busy_and_recovers),
#undef T
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
