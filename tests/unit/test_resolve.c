#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "accounts_db.h"
#include "resolve.h"

struct fixture {
	char dir[64];
	char path[128];
	struct accounts_db *db;
	struct resolve_config cfg;
	struct resolve_result res;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	char *error = NULL;

	assert_non_null(f);
	snprintf(f->dir, sizeof(f->dir), "/tmp/maild-test-resolve-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->path, sizeof(f->path), "%s/accounts.db", f->dir);
	if (accounts_db_open(f->path, ACCOUNTS_DB_READWRITE, &f->db, &error) < 0)
		fail_msg("open: %s", error);
	assert_int_equal(accounts_db_domain_add(f->db, "example.org"), ADB_OK);
	assert_int_equal(accounts_db_domain_add(f->db, "example.net"), ADB_OK);
	f->cfg = (struct resolve_config){
	    .delimiter = '+', .max_depth = 10, .max_targets = 1000, .postmaster = ""};
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	struct dirent *e;
	char path[512];
	DIR *d;

	resolve_result_clear(&f->res);
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

/* "bob@example.org" */
static int64_t account(struct fixture *f, const char *address, bool active)
{
	struct adb_account a = {.active = active};
	const char *at = strchr(address, '@');

	assert_non_null(at);
	snprintf(a.localpart, sizeof(a.localpart), "%.*s", (int)(at - address), address);
	snprintf(a.domain, sizeof(a.domain), "%s", at + 1);
	if (accounts_db_account_add(f->db, &a) != ADB_OK)
		fail_msg("account %s: %s", address, accounts_db_last_error(f->db));
	return a.id;
}

/* alias(f, "sales@example.org", "bob@example.org", "x@remote.test", NULL) */
static void alias(struct fixture *f, const char *address, ...)
{
	const char *at = strchr(address, '@'), *target;
	char local[128];
	va_list ap;

	assert_non_null(at);
	snprintf(local, sizeof(local), "%.*s", (int)(at - address), address);
	va_start(ap, address);
	while ((target = va_arg(ap, const char *)) != NULL) {
		if (accounts_db_alias_add(f->db, local, at + 1, target) != ADB_OK)
			fail_msg("alias %s -> %s: %s", address, target,
			         accounts_db_last_error(f->db));
	}
	va_end(ap);
}

static enum resolve_status resolve(struct fixture *f, const char *address)
{
	resolve_result_clear(&f->res);
	assert_int_equal(resolve_recipient(f->db, &f->cfg, address, &f->res), 0);
	return f->res.status;
}

/* The targets, in order: "bob@example.org" for a local account, "remote:x@y" for a remote
   address. */
static void assert_targets(struct fixture *f, ...)
{
	const char *want;
	size_t i = 0;
	char got[600];
	va_list ap;

	assert_int_equal(f->res.status, RESOLVE_OK);
	va_start(ap, f);
	while ((want = va_arg(ap, const char *)) != NULL) {
		if (i >= f->res.count)
			fail_msg("only %zu targets, missing %s", f->res.count, want);
		snprintf(got, sizeof(got), "%s%s",
		         f->res.targets[i].local ? "" : "remote:", f->res.targets[i].address);
		assert_string_equal(got, want);
		i++;
	}
	va_end(ap);
	assert_int_equal(f->res.count, i);
}

static void test_account_resolves_to_itself(void **state)
{
	struct fixture *f = *state;
	int64_t id = account(f, "bob@example.org", true);

	assert_int_equal(resolve(f, "bob@example.org"), RESOLVE_OK);
	assert_targets(f, "bob@example.org", NULL);
	assert_true(f->res.targets[0].local);
	assert_int_equal(f->res.targets[0].account_id, id);
}

static void test_names_ignore_case_and_give_the_stored_form(void **state)
{
	struct fixture *f = *state;

	account(f, "Bob@example.org", true);
	alias(f, "Sales@example.org", "BOB@example.org", NULL);
	assert_int_equal(resolve(f, "BOB@EXAMPLE.ORG"), RESOLVE_OK);
	assert_targets(f, "Bob@example.org", NULL);
	assert_int_equal(resolve(f, "sALES@Example.Org."), RESOLVE_OK);
	assert_targets(f, "Bob@example.org", NULL);
	/* RFC 5321 4.1.2: a quoted form is the same mailbox */
	assert_int_equal(resolve(f, "\"bob\"@example.org"), RESOLVE_OK);
	assert_targets(f, "Bob@example.org", NULL);
}

static void test_domain_not_ours_is_not_local(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(resolve(f, "bob@elsewhere.test"), RESOLVE_NOT_LOCAL);
	assert_int_equal(f->res.count, 0);
	assert_int_equal(resolve(f, "bob@[192.0.2.1]"), RESOLVE_NOT_LOCAL);
	/* RELIABILITY 23: a quoted local part stays local, it is no route elsewhere */
	assert_int_equal(resolve(f, "\"user@elsewhere.test\"@example.org"), RESOLVE_UNKNOWN_USER);
	assert_int_equal(resolve(f, "user%elsewhere.test@example.org"), RESOLVE_UNKNOWN_USER);
	assert_int_equal(resolve(f, "not an address"), RESOLVE_UNKNOWN_USER);
	assert_int_equal(resolve(f, "a@b@example.org"), RESOLVE_UNKNOWN_USER);
}

static void test_unknown_user(void **state)
{
	struct fixture *f = *state;

	account(f, "bob@example.org", true);
	assert_int_equal(resolve(f, "alice@example.org"), RESOLVE_UNKNOWN_USER);
	assert_int_equal(resolve(f, "bob@example.net"), RESOLVE_UNKNOWN_USER);
}

static void test_alias_to_account(void **state)
{
	struct fixture *f = *state;

	account(f, "bob@example.org", true);
	alias(f, "sales@example.org", "bob@example.org", NULL);
	assert_int_equal(resolve(f, "sales@example.org"), RESOLVE_OK);
	assert_targets(f, "bob@example.org", NULL);
}

static void test_alias_chain_across_domains(void **state)
{
	struct fixture *f = *state;

	account(f, "bob@example.org", true);
	alias(f, "a@example.org", "b@example.net", NULL);
	alias(f, "b@example.net", "c@example.org", NULL);
	alias(f, "c@example.org", "bob@example.org", NULL);
	assert_int_equal(resolve(f, "a@example.org"), RESOLVE_OK);
	assert_targets(f, "bob@example.org", NULL);
}

static void test_alias_to_remote_and_local(void **state)
{
	struct fixture *f = *state;

	account(f, "bob@example.org", true);
	alias(f, "info@example.org", "Ext@Remote.TEST", "bob@example.org", NULL);
	assert_int_equal(resolve(f, "info@example.org"), RESOLVE_OK);
	assert_targets(f, "remote:Ext@remote.test", "bob@example.org", NULL);
	assert_false(f->res.targets[0].local);
	assert_int_equal(f->res.targets[0].account_id, 0);
}

static void test_duplicate_targets_are_collapsed(void **state)
{
	struct fixture *f = *state;

	account(f, "bob@example.org", true);
	alias(f, "all@example.org", "bob@example.org", "team@example.org", "x@remote.test", NULL);
	alias(f, "team@example.org", "BOB@example.org", "X@remote.test", "bob+t@example.org", NULL);
	assert_int_equal(resolve(f, "all@example.org"), RESOLVE_OK);
	assert_targets(f, "bob@example.org", "remote:X@remote.test", NULL);
}

static void test_catchall_takes_unknown_names_only(void **state)
{
	struct fixture *f = *state;

	account(f, "bob@example.org", true);
	account(f, "alice@example.org", true);
	alias(f, "sales@example.org", "alice@example.org", NULL);
	alias(f, "@example.org", "bob@example.org", NULL);
	assert_int_equal(resolve(f, "whoever@example.org"), RESOLVE_OK);
	assert_targets(f, "bob@example.org", NULL);
	/* an existing account or alias is not overridden */
	assert_int_equal(resolve(f, "alice@example.org"), RESOLVE_OK);
	assert_targets(f, "alice@example.org", NULL);
	assert_int_equal(resolve(f, "sales@example.org"), RESOLVE_OK);
	assert_targets(f, "alice@example.org", NULL);
	/* another domain's catch-all is not ours */
	assert_int_equal(resolve(f, "whoever@example.net"), RESOLVE_UNKNOWN_USER);
}

static void test_catchall_never_matches_inside_an_expansion(void **state)
{
	struct fixture *f = *state;

	account(f, "bob@example.org", true);
	alias(f, "@example.org", "bob@example.org", NULL);
	alias(f, "old@example.net", "gone@example.org", NULL);
	assert_int_equal(resolve(f, "old@example.net"), RESOLVE_UNKNOWN_USER);
	alias(f, "old@example.net", "bob@example.org", NULL);
	assert_int_equal(resolve(f, "old@example.net"), RESOLVE_OK);
	assert_targets(f, "bob@example.org", NULL);
}

static void test_plus_addressing_reaches_the_base_name(void **state)
{
	struct fixture *f = *state;

	account(f, "bob@example.org", true);
	account(f, "bob+exact@example.org", true);
	alias(f, "sales@example.org", "bob@example.org", NULL);
	assert_int_equal(resolve(f, "bob+lists@example.org"), RESOLVE_OK);
	assert_targets(f, "bob@example.org", NULL);
	assert_int_equal(resolve(f, "bob+a+b@example.org"), RESOLVE_OK);
	assert_targets(f, "bob@example.org", NULL);
	assert_int_equal(resolve(f, "Sales+x@example.org"), RESOLVE_OK);
	assert_targets(f, "bob@example.org", NULL);
	/* the exact name wins over the cut one */
	assert_int_equal(resolve(f, "bob+exact@example.org"), RESOLVE_OK);
	assert_targets(f, "bob+exact@example.org", NULL);
	assert_int_equal(resolve(f, "+lists@example.org"), RESOLVE_UNKNOWN_USER);
	assert_int_equal(resolve(f, "nobody+x@example.org"), RESOLVE_UNKNOWN_USER);
}

static void test_plus_addressing_off(void **state)
{
	struct fixture *f = *state;

	account(f, "bob@example.org", true);
	f->cfg.delimiter = '\0';
	assert_int_equal(resolve(f, "bob+lists@example.org"), RESOLVE_UNKNOWN_USER);
	assert_int_equal(resolve(f, "bob@example.org"), RESOLVE_OK);
	f->cfg.delimiter = '-';
	assert_int_equal(resolve(f, "bob-lists@example.org"), RESOLVE_OK);
	assert_int_equal(resolve(f, "bob+lists@example.org"), RESOLVE_UNKNOWN_USER);
}

static void test_plus_address_goes_to_the_catchall_before_unknown(void **state)
{
	struct fixture *f = *state;

	account(f, "bob@example.org", true);
	alias(f, "@example.org", "bob@example.org", NULL);
	assert_int_equal(resolve(f, "nobody+x@example.org"), RESOLVE_OK);
	assert_targets(f, "bob@example.org", NULL);
}

static void test_postmaster_goes_to_the_configured_address(void **state)
{
	struct fixture *f = *state;

	account(f, "bob@example.org", true);
	f->cfg.postmaster = "hostmaster@remote.test";
	assert_int_equal(resolve(f, "PostMaster@example.org"), RESOLVE_OK);
	assert_targets(f, "remote:hostmaster@remote.test", NULL);
	f->cfg.postmaster = "bob@example.org";
	assert_int_equal(resolve(f, "postmaster@example.net"), RESOLVE_OK);
	assert_targets(f, "bob@example.org", NULL);
	/* a real postmaster account or alias comes first */
	account(f, "postmaster@example.org", true);
	assert_int_equal(resolve(f, "postmaster@example.org"), RESOLVE_OK);
	assert_targets(f, "postmaster@example.org", NULL);
}

static void test_postmaster_falls_back_to_the_oldest_active_account(void **state)
{
	struct fixture *f = *state;

	f->cfg.postmaster = NULL;
	account(f, "first@example.org", false);
	account(f, "second@example.org", true);
	account(f, "third@example.org", true);
	assert_int_equal(resolve(f, "postmaster@example.org"), RESOLVE_OK);
	assert_targets(f, "second@example.org", NULL);
	/* no account at all: unknown */
	assert_int_equal(resolve(f, "postmaster@example.net"), RESOLVE_UNKNOWN_USER);
	/* only for postmaster */
	assert_int_equal(resolve(f, "hostmaster@example.org"), RESOLVE_UNKNOWN_USER);
}

static void test_postmaster_prefers_the_catchall_to_the_oldest_account(void **state)
{
	struct fixture *f = *state;

	f->cfg.postmaster = NULL;
	account(f, "first@example.org", true);
	account(f, "second@example.org", true);
	assert_int_equal(accounts_db_alias_add(f->db, "", "example.org", "second@example.org"),
			 ADB_OK);
	assert_int_equal(resolve(f, "Postmaster@example.org"), RESOLVE_OK);
	assert_targets(f, "second@example.org", NULL);
}

static void test_fail_alias_gives_its_text(void **state)
{
	struct fixture *f = *state;

	account(f, "bob@example.org", true);
	alias(f, "old@example.org", ":fail: moved to new.example", NULL);
	assert_int_equal(resolve(f, "old@example.org"), RESOLVE_FAIL);
	assert_string_equal(f->res.fail_text, "moved to new.example");
	assert_int_equal(f->res.count, 0);
	assert_int_equal(resolve(f, "old+tag@example.org"), RESOLVE_FAIL);
	/* deeper in an expansion it adds nothing */
	alias(f, "via@example.org", "old@example.org", NULL);
	assert_int_equal(resolve(f, "via@example.org"), RESOLVE_UNKNOWN_USER);
	alias(f, "both@example.org", ":fail: no", "bob@example.org", NULL);
	assert_int_equal(resolve(f, "both@example.org"), RESOLVE_OK);
	assert_targets(f, "bob@example.org", NULL);
	assert_string_equal(f->res.fail_text, "");
}

static void test_fail_catchall_refuses_unknown_names(void **state)
{
	struct fixture *f = *state;

	account(f, "bob@example.org", true);
	alias(f, "@example.org", ":fail:", NULL);
	assert_int_equal(resolve(f, "nobody@example.org"), RESOLVE_FAIL);
	assert_string_equal(f->res.fail_text, "");
	assert_int_equal(resolve(f, "bob@example.org"), RESOLVE_OK);
}

static void test_alias_loop_is_cut(void **state)
{
	struct fixture *f = *state;

	alias(f, "a@example.org", "b@example.org", NULL);
	alias(f, "b@example.org", "a@example.org", NULL);
	assert_int_equal(resolve(f, "a@example.org"), RESOLVE_LOOP);
	assert_int_equal(f->res.count, 0);
	alias(f, "self@example.org", "self@example.org", NULL);
	assert_int_equal(resolve(f, "self@example.org"), RESOLVE_LOOP);
	/* a loop beside a real target only loses the loop */
	account(f, "bob@example.org", true);
	alias(f, "b@example.org", "bob@example.org", NULL);
	assert_int_equal(resolve(f, "a@example.org"), RESOLVE_OK);
	assert_targets(f, "bob@example.org", NULL);
}

static void test_self_copy_keeps_the_account(void **state)
{
	struct fixture *f = *state;

	account(f, "bob@example.org", true);
	alias(f, "bob@example.org", "bob@example.org", "archive@remote.test", NULL);
	assert_int_equal(resolve(f, "bob@example.org"), RESOLVE_OK);
	assert_targets(f, "bob@example.org", "remote:archive@remote.test", NULL);
	/* also when the loop comes back through another alias or a plus address */
	alias(f, "bob@example.org", "list@example.org", NULL);
	alias(f, "list@example.org", "bob+list@example.org", NULL);
	assert_int_equal(resolve(f, "bob@example.org"), RESOLVE_OK);
	assert_targets(f, "bob@example.org", "remote:archive@remote.test", NULL);
	assert_int_equal(resolve(f, "bob+x@example.org"), RESOLVE_OK);
	assert_targets(f, "bob@example.org", "remote:archive@remote.test", NULL);
}

/* a1 -> a2 -> ... -> an -> bob */
static void alias_chain(struct fixture *f, unsigned n)
{
	char from[64], to[64];

	for (unsigned i = 1; i <= n; i++) {
		snprintf(from, sizeof(from), "a%u@example.org", i);
		if (i < n)
			snprintf(to, sizeof(to), "a%u@example.org", i + 1);
		else
			snprintf(to, sizeof(to), "bob@example.org");
		alias(f, from, to, NULL);
	}
}

static void test_alias_depth_limit(void **state)
{
	struct fixture *f = *state;

	account(f, "bob@example.org", true);
	alias_chain(f, 5);
	f->cfg.max_depth = 5;
	assert_int_equal(resolve(f, "a1@example.org"), RESOLVE_OK);
	assert_targets(f, "bob@example.org", NULL);
	f->cfg.max_depth = 4;
	assert_int_equal(resolve(f, "a1@example.org"), RESOLVE_LOOP);
	assert_int_equal(f->res.count, 0);
	assert_int_equal(resolve(f, "a2@example.org"), RESOLVE_OK);
	f->cfg.max_depth = 1;
	assert_int_equal(resolve(f, "a5@example.org"), RESOLVE_OK);
	assert_int_equal(resolve(f, "a4@example.org"), RESOLVE_LOOP);
	/* 0 is the default, and the default allows this chain */
	f->cfg.max_depth = 0;
	assert_int_equal(resolve(f, "a1@example.org"), RESOLVE_OK);
}

static void test_max_targets_limit(void **state)
{
	struct fixture *f = *state;
	char target[64];

	for (int i = 0; i < 5; i++) {
		snprintf(target, sizeof(target), "r%d@remote.test", i);
		alias(f, "list@example.org", target, NULL);
	}
	f->cfg.max_targets = 5;
	assert_int_equal(resolve(f, "list@example.org"), RESOLVE_OK);
	assert_int_equal(f->res.count, 5);
	f->cfg.max_targets = 4;
	assert_int_equal(resolve(f, "list@example.org"), RESOLVE_TOO_MANY);
	assert_int_equal(f->res.count, 0);
}

static void test_diamond_aliases_are_bounded(void **state)
{
	struct fixture *f = *state;
	char from[64], to1[64], to2[64];

	/* each level points twice to the next: 2^12 paths to one target */
	account(f, "bob@example.org", true);
	for (int i = 0; i < 12; i++) {
		snprintf(from, sizeof(from), "d%d@example.org", i);
		snprintf(to1, sizeof(to1), "d%d@example.org", i + 1);
		snprintf(to2, sizeof(to2), "d%d+x@example.org", i + 1);
		alias(f, from, to1, to2, NULL);
	}
	alias(f, "d12@example.org", "bob@example.org", NULL);
	f->cfg.max_depth = 20;
	f->cfg.max_targets = 100;
	assert_int_equal(resolve(f, "d0@example.org"), RESOLVE_TOO_MANY);
	assert_int_equal(resolve(f, "d8@example.org"), RESOLVE_OK);
	assert_targets(f, "bob@example.org", NULL);
}

static void test_inactive_account(void **state)
{
	struct fixture *f = *state;

	account(f, "bob@example.org", true);
	account(f, "gone@example.org", false);
	assert_int_equal(resolve(f, "gone@example.org"), RESOLVE_INACTIVE);
	assert_int_equal(resolve(f, "gone+x@example.org"), RESOLVE_INACTIVE);
	/* through an alias: skipped */
	alias(f, "team@example.org", "gone@example.org", "bob@example.org", NULL);
	assert_int_equal(resolve(f, "team@example.org"), RESOLVE_OK);
	assert_targets(f, "bob@example.org", NULL);
	alias(f, "only@example.org", "gone@example.org", NULL);
	assert_int_equal(resolve(f, "only@example.org"), RESOLVE_INACTIVE);
	/* enabled again */
	assert_int_equal(accounts_db_account_set_active(f->db, "gone", "example.org", true),
	                 ADB_OK);
	assert_int_equal(resolve(f, "only@example.org"), RESOLVE_OK);
	assert_targets(f, "gone@example.org", NULL);
}

static void test_database_error_is_a_temporary_failure(void **state)
{
	struct fixture *f = *state;
	sqlite3 *sql;

	assert_int_equal(sqlite3_open(f->path, &sql), SQLITE_OK);
	/* a target no record can hold: the lookup fails, it is not cut short */
	assert_int_equal(sqlite3_exec(sql,
	                              "INSERT INTO aliases (domain_id, localpart, target, created)"
	                              " SELECT id, 'big', printf('%.2000c', 'y'), 0 FROM domains"
	                              " WHERE name = 'example.org'",
	                              NULL, NULL, NULL),
	                 SQLITE_OK);
	sqlite3_close(sql);
	assert_int_equal(resolve(f, "big@example.org"), RESOLVE_TEMPFAIL);
	assert_int_equal(f->res.count, 0);
	assert_non_null(strstr(accounts_db_last_error(f->db), "too long"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
	    T(test_account_resolves_to_itself),
	    T(test_names_ignore_case_and_give_the_stored_form),
	    T(test_domain_not_ours_is_not_local),
	    T(test_unknown_user),
	    T(test_alias_to_account),
	    T(test_alias_chain_across_domains),
	    T(test_alias_to_remote_and_local),
	    T(test_duplicate_targets_are_collapsed),
	    T(test_catchall_takes_unknown_names_only),
	    T(test_catchall_never_matches_inside_an_expansion),
	    T(test_plus_addressing_reaches_the_base_name),
	    T(test_plus_addressing_off),
	    T(test_plus_address_goes_to_the_catchall_before_unknown),
	    T(test_postmaster_goes_to_the_configured_address),
	    T(test_postmaster_prefers_the_catchall_to_the_oldest_account),
	    T(test_postmaster_falls_back_to_the_oldest_active_account),
	    T(test_fail_alias_gives_its_text),
	    T(test_fail_catchall_refuses_unknown_names),
	    T(test_alias_loop_is_cut),
	    T(test_self_copy_keeps_the_account),
	    T(test_alias_depth_limit),
	    T(test_max_targets_limit),
	    T(test_diamond_aliases_are_bounded),
	    T(test_inactive_account),
	    T(test_database_error_is_a_temporary_failure),
#undef T
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
