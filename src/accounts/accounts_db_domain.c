#include <string.h>
#include <time.h>

#include "accounts_db_private.h"
#include "address.h"

#define ADB_DOMAIN_SELECT                                                                          \
	"SELECT d.id, d.name, d.active, d.created,"                                                \
	" (SELECT count(*) FROM accounts a WHERE a.domain_id = d.id),"                             \
	" (SELECT count(DISTINCT al.localpart) FROM aliases al WHERE al.domain_id = d.id)"         \
	" FROM domains d "

static int adb_domain_row(struct adb_query *q, struct adb_domain *d)
{
	d->id = sqlite3_column_int64(q->stmt, 0);
	if (adb_column_text(q, 1, d->name, sizeof(d->name)) < 0)
		return ADB_ERROR;
	d->active = sqlite3_column_int(q->stmt, 2) != 0;
	d->created = sqlite3_column_int64(q->stmt, 3);
	d->accounts = sqlite3_column_int64(q->stmt, 4);
	d->aliases = sqlite3_column_int64(q->stmt, 5);
	return ADB_OK;
}

int accounts_db_domain_add(struct accounts_db *db, const char *name)
{
	char lower[ADDRESS_DOMAIN_MAX + 1];
	struct adb_query q;
	const char *error;
	int ret;

	if (address_domain_valid(name, &error) < 0)
		return adb_error(db, ADB_INVALID, "domain %s: %s", name, error);
	/* valid means at most ADDRESS_DOMAIN_MAX octets */
	for (size_t i = 0;; i++) {
		lower[i] = name[i] >= 'A' && name[i] <= 'Z' ? (char)(name[i] - 'A' + 'a') : name[i];
		if (name[i] == '\0')
			break;
	}
	ret = adb_query_start(db, ADB_NOT_CACHED,
	                      "INSERT INTO domains (name, active, created) VALUES (?1, 1, ?2)", &q);
	if (ret < 0)
		return ret;
	if ((ret = adb_bind_text(&q, 1, lower)) == 0 &&
	    (ret = adb_bind_int(&q, 2, time(NULL))) == 0)
		ret = adb_run(&q);
	adb_query_end(&q);
	if (ret == ADB_EXISTS)
		return adb_error(db, ADB_EXISTS, "domain %s already exists", lower);
	return ret < 0 ? ret : ADB_OK;
}

int accounts_db_domain_remove(struct accounts_db *db, const char *name)
{
	struct adb_query q;
	int ret;

	/* Accounts hold the domain (ON DELETE RESTRICT backs this up); aliases go with it
	   (ON DELETE CASCADE). Checked in the statement itself, so no account can slip in
	   between a check and the delete. */
	ret = adb_query_start(db, ADB_NOT_CACHED,
	                      "DELETE FROM domains WHERE name = ?1 AND NOT EXISTS"
	                      " (SELECT 1 FROM accounts a WHERE a.domain_id = domains.id)",
	                      &q);
	if (ret < 0)
		return ret;
	if ((ret = adb_bind_text(&q, 1, name)) == 0)
		ret = adb_run(&q);
	adb_query_end(&q);
	if (ret != 0)
		return ret < 0 ? ret : ADB_OK;
	ret = accounts_db_domain_is_local(db, name);
	if (ret == 1)
		return adb_error(db, ADB_IN_USE, "domain %s still has accounts", name);
	if (ret == 0)
		return adb_error(db, ADB_NOT_FOUND, "no such domain %s", name);
	return ADB_ERROR;
}

int accounts_db_domain_get(struct accounts_db *db, const char *name, struct adb_domain *domain_r)
{
	struct adb_query q;
	int ret;

	ret = adb_query_start(db, ADB_NOT_CACHED, ADB_DOMAIN_SELECT "WHERE d.name = ?1", &q);
	if (ret < 0)
		return ret;
	if ((ret = adb_bind_text(&q, 1, name)) == 0 && (ret = adb_step(&q)) == 1)
		ret = adb_domain_row(&q, domain_r);
	adb_query_end(&q);
	if (ret == 0)
		return adb_error(db, ADB_NOT_FOUND, "no such domain %s", name);
	return ret;
}

int accounts_db_domain_list(struct accounts_db *db, adb_domain_cb *cb, void *ctx)
{
	struct adb_domain d;
	struct adb_query q;
	int ret;

	ret = adb_query_start(db, ADB_NOT_CACHED, ADB_DOMAIN_SELECT "ORDER BY d.name", &q);
	if (ret < 0)
		return ret;
	while ((ret = adb_step(&q)) == 1) {
		if ((ret = adb_domain_row(&q, &d)) < 0 || cb(&d, ctx) != 0)
			break;
	}
	adb_query_end(&q);
	return ret < 0 ? ret : ADB_OK;
}

int accounts_db_domain_is_local(struct accounts_db *db, const char *name)
{
	struct adb_query q;
	int ret;

	ret = adb_query_start(db, ADB_CACHED_DOMAIN_IS_LOCAL,
	                      "SELECT 1 FROM domains WHERE name = ?1", &q);
	if (ret < 0)
		return -1;
	if ((ret = adb_bind_text(&q, 1, name)) == 0)
		ret = adb_step(&q);
	adb_query_end(&q);
	return ret < 0 ? -1 : ret;
}
