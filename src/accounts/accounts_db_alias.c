#include <string.h>
#include <time.h>

#include "accounts_db_private.h"
#include "address.h"

/* The alias a statement selects: localpart ?2 in domain ?1. */
#define ADB_ALIAS_WHERE                                                                            \
	"WHERE localpart = ?2 AND domain_id = (SELECT id FROM domains WHERE name = ?1)"

/* The stored form of a target: ":fail: text" as given (checked), an address with its domain
   lowercased and without a trailing dot. */
static int adb_alias_target(struct accounts_db *db, const char *target, char *out, size_t size)
{
	size_t prefix = strlen(ADB_FAIL_PREFIX), len = strlen(target);
	struct address addr;
	const char *error;

	if (strncmp(target, ADB_FAIL_PREFIX, prefix) == 0) {
		if (len - prefix > ADB_FAIL_TEXT_MAX || len >= size)
			return adb_error(db, ADB_INVALID, "%s text too long", ADB_FAIL_PREFIX);
		if (adb_has_control(target))
			return adb_error(db, ADB_INVALID, "control character in %s text",
			                 ADB_FAIL_PREFIX);
		memcpy(out, target, len + 1);
		return ADB_OK;
	}
	if (address_parse(target, len, true, &addr, &error) < 0)
		return adb_error(db, ADB_INVALID, "target %s: %s", target, error);
	if (address_format(&addr, out, size) < 0)
		return adb_error(db, ADB_INVALID, "target %s too long", target);
	return ADB_OK;
}

/* The alias name itself: a mailbox or the catch-all "@domain". */
static int adb_alias_name(struct accounts_db *db, const char *localpart, const char *domain)
{
	char text[ADDRESS_FORMAT_MAX];
	struct address addr;
	const char *error;

	if (adb_join_address(db, localpart, domain, text, sizeof(text)) < 0)
		return ADB_INVALID;
	if (address_parse_mailbox(text, true, &addr, &error) < 0)
		return adb_error(db, ADB_INVALID, "alias %s: %s", text, error);
	return ADB_OK;
}

int accounts_db_alias_add(struct accounts_db *db, const char *localpart, const char *domain,
                          const char *target)
{
	char stored[ADDRESS_FORMAT_MAX + ADB_FAIL_TEXT_MAX];
	struct adb_query q;
	int ret;

	if ((ret = adb_alias_name(db, localpart, domain)) < 0 ||
	    (ret = adb_alias_target(db, target, stored, sizeof(stored))) < 0)
		return ret;
	ret = adb_query_start(db, ADB_NOT_CACHED,
	                      "INSERT INTO aliases (domain_id, localpart, target, created)"
	                      " SELECT id, ?2, ?3, ?4 FROM domains WHERE name = ?1",
	                      &q);
	if (ret < 0)
		return ret;
	if ((ret = adb_bind_text(&q, 1, domain)) == 0 &&
	    (ret = adb_bind_text(&q, 2, localpart)) == 0 &&
	    (ret = adb_bind_text(&q, 3, stored)) == 0 &&
	    (ret = adb_bind_int(&q, 4, time(NULL))) == 0)
		ret = adb_run(&q);
	adb_query_end(&q);
	if (ret == 0)
		return adb_error(db, ADB_NOT_FOUND, "no such domain %s", domain);
	if (ret == ADB_EXISTS)
		return adb_error(db, ADB_EXISTS, "alias %s@%s -> %s already exists", localpart,
		                 domain, stored);
	return ret < 0 ? ret : ADB_OK;
}

int accounts_db_alias_remove(struct accounts_db *db, const char *localpart, const char *domain,
                             const char *target)
{
	char stored[ADDRESS_FORMAT_MAX + ADB_FAIL_TEXT_MAX];
	struct adb_query q;
	int ret;

	/* Match the form add stored; a target add would refuse cannot be there anyway. */
	if (target != NULL && adb_alias_target(db, target, stored, sizeof(stored)) == ADB_OK)
		target = stored;
	ret = adb_query_start(
	    db, ADB_NOT_CACHED,
	    "DELETE FROM aliases " ADB_ALIAS_WHERE " AND (?3 IS NULL OR target = ?3)", &q);
	if (ret < 0)
		return ret;
	if ((ret = adb_bind_text(&q, 1, domain)) == 0 &&
	    (ret = adb_bind_text(&q, 2, localpart)) == 0 &&
	    (ret = adb_bind_text(&q, 3, target)) == 0)
		ret = adb_run(&q);
	adb_query_end(&q);
	if (ret == 0)
		return adb_error(db, ADB_NOT_FOUND, "no such alias %s@%s%s%s", localpart, domain,
		                 target != NULL ? " -> " : "", target != NULL ? target : "");
	return ret < 0 ? ret : ADB_OK;
}

static int adb_alias_row(struct adb_query *q, struct adb_alias *a)
{
	char localpart[sizeof(((struct adb_account *)0)->localpart)];
	char domain[ADDRESS_DOMAIN_MAX + 1];

	if (adb_column_text(q, 0, localpart, sizeof(localpart)) < 0 ||
	    adb_column_text(q, 1, domain, sizeof(domain)) < 0 ||
	    adb_column_text(q, 2, a->target, sizeof(a->target)) < 0)
		return ADB_ERROR;
	if (adb_join_address(q->db, localpart, domain, a->address, sizeof(a->address)) < 0)
		return adb_error(q->db, ADB_ERROR, "stored alias %s@%s too long", localpart,
		                 domain);
	a->created = sqlite3_column_int64(q->stmt, 3);
	return ADB_OK;
}

int accounts_db_alias_list(struct accounts_db *db, const char *domain, adb_alias_cb *cb, void *ctx)
{
	struct adb_alias a;
	struct adb_query q;
	bool any = false;
	int ret;

	ret =
	    adb_query_start(db, ADB_NOT_CACHED,
	                    "SELECT al.localpart, d.name, al.target, al.created FROM aliases al"
	                    " JOIN domains d ON d.id = al.domain_id WHERE ?1 IS NULL OR d.name = ?1"
	                    " ORDER BY d.name, al.localpart, al.id",
	                    &q);
	if (ret < 0)
		return ret;
	if ((ret = adb_bind_text(&q, 1, domain)) == 0) {
		while ((ret = adb_step(&q)) == 1) {
			any = true;
			if ((ret = adb_alias_row(&q, &a)) < 0 || cb(&a, ctx) != 0)
				break;
		}
	}
	adb_query_end(&q);
	if (ret < 0)
		return ret;
	if (!any && domain != NULL && accounts_db_domain_is_local(db, domain) == 0)
		return adb_error(db, ADB_NOT_FOUND, "no such domain %s", domain);
	return ADB_OK;
}

int accounts_db_alias_targets(struct accounts_db *db, const char *localpart, const char *domain,
                              adb_target_cb *cb, void *ctx)
{
	char target[sizeof(((struct adb_alias *)0)->target)];
	struct adb_query q;
	bool any = false;
	int ret;

	ret =
	    adb_query_start(db, ADB_CACHED_ALIAS_TARGETS,
	                    "SELECT al.target FROM aliases al JOIN domains d ON d.id = al.domain_id"
	                    " WHERE d.name = ?1 AND al.localpart = ?2 ORDER BY al.id",
	                    &q);
	if (ret < 0)
		return ret;
	if ((ret = adb_bind_text(&q, 1, domain)) == 0 &&
	    (ret = adb_bind_text(&q, 2, localpart)) == 0) {
		while ((ret = adb_step(&q)) == 1) {
			any = true;
			if ((ret = adb_column_text(&q, 0, target, sizeof(target))) < 0 ||
			    cb(target, ctx) != 0)
				break;
		}
	}
	adb_query_end(&q);
	if (ret < 0)
		return ret;
	if (!any)
		return adb_error(db, ADB_NOT_FOUND, "no such alias %s@%s", localpart, domain);
	return ADB_OK;
}
