#include <string.h>
#include <time.h>

#include "accounts_db_private.h"
#include "address.h"

#define ADB_ACCOUNT_SELECT                                                                         \
	"SELECT a.id, a.localpart, d.name, a.password_hash, a.quota_bytes, a.real_name,"           \
	" a.active, a.created FROM accounts a JOIN domains d ON d.id = a.domain_id "

/* The account a statement selects, by localpart ?2 in domain ?1. */
#define ADB_ACCOUNT_WHERE                                                                          \
	"WHERE localpart = ?2 AND domain_id = (SELECT id FROM domains WHERE name = ?1)"

static int adb_account_row(struct adb_query *q, struct adb_account *a)
{
	int64_t quota = sqlite3_column_int64(q->stmt, 4);

	a->id = sqlite3_column_int64(q->stmt, 0);
	if (adb_column_text(q, 1, a->localpart, sizeof(a->localpart)) < 0 ||
	    adb_column_text(q, 2, a->domain, sizeof(a->domain)) < 0 ||
	    adb_column_text(q, 3, a->password_hash, sizeof(a->password_hash)) < 0 ||
	    adb_column_text(q, 5, a->real_name, sizeof(a->real_name)) < 0)
		return ADB_ERROR;
	a->quota_bytes = quota > 0 ? (uint64_t)quota : 0;
	a->active = sqlite3_column_int(q->stmt, 6) != 0;
	a->created = sqlite3_column_int64(q->stmt, 7);
	return ADB_OK;
}

/* A NUL-terminated text of a record buffer without control characters. */
static bool adb_text_ok(const char *text, size_t size)
{
	return memchr(text, '\0', size) != NULL && !adb_has_control(text);
}

/* Check what account_add stores; the canonical domain replaces the given one. */
static int adb_account_valid(struct accounts_db *db, struct adb_account *a)
{
	char text[ADDRESS_FORMAT_MAX];
	struct address addr;
	const char *error;

	if (memchr(a->localpart, '\0', sizeof(a->localpart)) == NULL ||
	    memchr(a->domain, '\0', sizeof(a->domain)) == NULL)
		return adb_error(db, ADB_INVALID, "account name not terminated");
	if (adb_join_address(db, a->localpart, a->domain, text, sizeof(text)) < 0)
		return ADB_INVALID;
	if (address_parse_mailbox(text, false, &addr, &error) < 0)
		return adb_error(db, ADB_INVALID, "account %s: %s", text, error);
	if (!adb_text_ok(a->password_hash, sizeof(a->password_hash)))
		return adb_error(db, ADB_INVALID, "account %s: bad password hash", text);
	if (!adb_text_ok(a->real_name, sizeof(a->real_name)))
		return adb_error(db, ADB_INVALID, "account %s: control character in name", text);
	if (a->quota_bytes > INT64_MAX)
		return adb_error(db, ADB_INVALID, "account %s: quota too large", text);
	memcpy(a->domain, addr.domain, strlen(addr.domain) + 1);
	return ADB_OK;
}

static int adb_account_insert(struct accounts_db *db, struct adb_account *a)
{
	struct adb_query q;
	int ret;

	/* INSERT ... SELECT: no row for an unknown domain, in one statement. */
	ret = adb_query_start(
	    db, ADB_NOT_CACHED,
	    "INSERT INTO accounts (domain_id, localpart, password_hash, quota_bytes,"
	    " real_name, active, created)"
	    " SELECT id, ?2, ?3, ?4, ?5, ?6, ?7 FROM domains WHERE name = ?1",
	    &q);
	if (ret < 0)
		return ret;
	a->created = time(NULL);
	if ((ret = adb_bind_text(&q, 1, a->domain)) == 0 &&
	    (ret = adb_bind_text(&q, 2, a->localpart)) == 0 &&
	    (ret = adb_bind_text(&q, 3, a->password_hash)) == 0 &&
	    (ret = adb_bind_int(&q, 4, (int64_t)a->quota_bytes)) == 0 &&
	    (ret = adb_bind_text(&q, 5, a->real_name)) == 0 &&
	    (ret = adb_bind_int(&q, 6, a->active)) == 0 &&
	    (ret = adb_bind_int(&q, 7, a->created)) == 0)
		ret = adb_run(&q);
	adb_query_end(&q);
	if (ret == 1)
		a->id = sqlite3_last_insert_rowid(db->sql);
	return ret;
}

int accounts_db_account_add(struct accounts_db *db, struct adb_account *account)
{
	int ret = adb_account_valid(db, account);

	if (ret < 0)
		return ret;
	ret = adb_account_insert(db, account);
	if (ret == 0)
		return adb_error(db, ADB_NOT_FOUND, "no such domain %s", account->domain);
	if (ret == ADB_EXISTS)
		return adb_error(db, ADB_EXISTS, "account %s@%s already exists", account->localpart,
		                 account->domain);
	return ret < 0 ? ret : ADB_OK;
}

/* One account by a query whose ?1 is a domain and ?2 (if any) a local part. */
static int adb_account_one(struct accounts_db *db, int slot, const char *sql, const char *localpart,
                           const char *domain, struct adb_account *account_r)
{
	struct adb_query q;
	int ret;

	ret = adb_query_start(db, slot, sql, &q);
	if (ret < 0)
		return ret;
	if ((ret = adb_bind_text(&q, 1, domain)) == 0 &&
	    (localpart == NULL || (ret = adb_bind_text(&q, 2, localpart)) == 0) &&
	    (ret = adb_step(&q)) == 1)
		ret = adb_account_row(&q, account_r);
	adb_query_end(&q);
	if (ret == 0 && localpart == NULL)
		return adb_error(db, ADB_NOT_FOUND, "no active account in %s", domain);
	if (ret == 0)
		return adb_error(db, ADB_NOT_FOUND, "no such account %s@%s", localpart, domain);
	return ret;
}

int accounts_db_account_get(struct accounts_db *db, const char *localpart, const char *domain,
                            struct adb_account *account_r)
{
	return adb_account_one(db, ADB_CACHED_ACCOUNT_GET,
	                       ADB_ACCOUNT_SELECT "WHERE d.name = ?1 AND a.localpart = ?2",
	                       localpart, domain, account_r);
}

int accounts_db_account_first_active(struct accounts_db *db, const char *domain,
                                     struct adb_account *account_r)
{
	return adb_account_one(db, ADB_NOT_CACHED,
	                       ADB_ACCOUNT_SELECT "WHERE d.name = ?1 AND a.active = 1"
	                                          " ORDER BY a.created, a.id LIMIT 1",
	                       NULL, domain, account_r);
}

int accounts_db_account_list(struct accounts_db *db, const char *domain, adb_account_cb *cb,
                             void *ctx)
{
	struct adb_account a;
	struct adb_query q;
	bool any = false;
	int ret;

	ret = adb_query_start(db, ADB_NOT_CACHED,
	                      ADB_ACCOUNT_SELECT "WHERE ?1 IS NULL OR d.name = ?1"
	                                         " ORDER BY d.name, a.localpart",
	                      &q);
	if (ret < 0)
		return ret;
	if ((ret = adb_bind_text(&q, 1, domain)) == 0) {
		while ((ret = adb_step(&q)) == 1) {
			any = true;
			if ((ret = adb_account_row(&q, &a)) < 0 || cb(&a, ctx) != 0)
				break;
		}
	}
	adb_query_end(&q);
	explicit_bzero(&a, sizeof(a));
	if (ret < 0)
		return ret;
	if (!any && domain != NULL && accounts_db_domain_is_local(db, domain) == 0)
		return adb_error(db, ADB_NOT_FOUND, "no such domain %s", domain);
	return ADB_OK;
}

/* ?3, the new value, in a statement that has one. */
static int adb_account_bind_value(struct adb_query *q, const char *text, int64_t number)
{
	if (sqlite3_bind_parameter_count(q->stmt) < 3)
		return 0;
	return text != NULL ? adb_bind_text(q, 3, text) : adb_bind_int(q, 3, number);
}

/* UPDATE or DELETE one account: ?1 domain, ?2 local part, ?3 the text or else the number. */
static int adb_account_change(struct accounts_db *db, const char *sql, const char *localpart,
                              const char *domain, const char *text, int64_t number)
{
	struct adb_query q;
	int ret;

	ret = adb_query_start(db, ADB_NOT_CACHED, sql, &q);
	if (ret < 0)
		return ret;
	if ((ret = adb_bind_text(&q, 1, domain)) == 0 &&
	    (ret = adb_bind_text(&q, 2, localpart)) == 0 &&
	    (ret = adb_account_bind_value(&q, text, number)) == 0)
		ret = adb_run(&q);
	adb_query_end(&q);
	if (ret == 0)
		return adb_error(db, ADB_NOT_FOUND, "no such account %s@%s", localpart, domain);
	return ret < 0 ? ret : ADB_OK;
}

int accounts_db_account_set_password(struct accounts_db *db, const char *localpart,
                                     const char *domain, const char *password_hash)
{
	if (strlen(password_hash) >= sizeof(((struct adb_account *)0)->password_hash) ||
	    adb_has_control(password_hash))
		return adb_error(db, ADB_INVALID, "account %s@%s: bad password hash", localpart,
		                 domain);
	return adb_account_change(db, "UPDATE accounts SET password_hash = ?3 " ADB_ACCOUNT_WHERE,
	                          localpart, domain, password_hash, 0);
}

int accounts_db_account_set_quota(struct accounts_db *db, const char *localpart, const char *domain,
                                  uint64_t quota_bytes)
{
	if (quota_bytes > INT64_MAX)
		return adb_error(db, ADB_INVALID, "account %s@%s: quota too large", localpart,
		                 domain);
	return adb_account_change(db, "UPDATE accounts SET quota_bytes = ?3 " ADB_ACCOUNT_WHERE,
	                          localpart, domain, NULL, (int64_t)quota_bytes);
}

int accounts_db_account_set_active(struct accounts_db *db, const char *localpart,
                                   const char *domain, bool active)
{
	return adb_account_change(db, "UPDATE accounts SET active = ?3 " ADB_ACCOUNT_WHERE,
	                          localpart, domain, NULL, active);
}

int accounts_db_account_remove(struct accounts_db *db, const char *localpart, const char *domain)
{
	return adb_account_change(db, "DELETE FROM accounts " ADB_ACCOUNT_WHERE, localpart, domain,
	                          NULL, 0);
}
