#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "accounts_db_private.h"

/* Schema version 1. STRICT tables: SQLite refuses a value of the wrong type instead of
   storing it. Names are COLLATE NOCASE so lookups and UNIQUE ignore ASCII case. */
static const char adb_schema_v1[] =
    "CREATE TABLE domains ("
    " id INTEGER PRIMARY KEY,"
    " name TEXT NOT NULL COLLATE NOCASE UNIQUE CHECK (name <> ''),"
    " active INTEGER NOT NULL DEFAULT 1 CHECK (active IN (0, 1)),"
    " created INTEGER NOT NULL"
    ") STRICT;"
    "CREATE TABLE accounts ("
    " id INTEGER PRIMARY KEY,"
    " domain_id INTEGER NOT NULL REFERENCES domains (id) ON DELETE RESTRICT,"
    " localpart TEXT NOT NULL COLLATE NOCASE CHECK (localpart <> ''),"
    " password_hash TEXT NOT NULL DEFAULT '',"
    " quota_bytes INTEGER NOT NULL DEFAULT 0 CHECK (quota_bytes >= 0),"
    " real_name TEXT NOT NULL DEFAULT '',"
    " active INTEGER NOT NULL DEFAULT 1 CHECK (active IN (0, 1)),"
    " created INTEGER NOT NULL,"
    " filter TEXT,"
    " autoreply TEXT,"
    " autoreply_until INTEGER,"
    " UNIQUE (domain_id, localpart)"
    ") STRICT;"
    "CREATE TABLE aliases ("
    " id INTEGER PRIMARY KEY,"
    " domain_id INTEGER NOT NULL REFERENCES domains (id) ON DELETE CASCADE,"
    " localpart TEXT NOT NULL COLLATE NOCASE," /* '' is the catch-all @domain */
    " target TEXT NOT NULL COLLATE NOCASE CHECK (target <> ''),"
    " created INTEGER NOT NULL,"
    " UNIQUE (domain_id, localpart, target)"
    ") STRICT;";

/* Migration i takes the schema from version i to i + 1; each runs in its own transaction
   together with the new user_version. Append only: a released step never changes. */
static const char *const adb_migrations[] = {
    adb_schema_v1,
};

_Static_assert(sizeof(adb_migrations) / sizeof(adb_migrations[0]) == ACCOUNTS_DB_VERSION,
               "one migration per schema version");

int adb_error(struct accounts_db *db, int result, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(db->error, sizeof(db->error), fmt, ap);
	va_end(ap);
	return result;
}

int adb_sql_error(struct accounts_db *db, int rc)
{
	const char *msg = sqlite3_errmsg(db->sql);

	switch (rc) {
	case SQLITE_CONSTRAINT_UNIQUE:
	case SQLITE_CONSTRAINT_PRIMARYKEY:
		return adb_error(db, ADB_EXISTS, "%s", msg);
	case SQLITE_CONSTRAINT_FOREIGNKEY:
		return adb_error(db, ADB_IN_USE, "%s", msg);
	case SQLITE_CONSTRAINT_CHECK:
	case SQLITE_CONSTRAINT_NOTNULL:
	case SQLITE_CONSTRAINT_DATATYPE:
		return adb_error(db, ADB_INVALID, "%s", msg);
	}
	switch (rc & 0xff) {
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		return adb_error(db, ADB_BUSY,
		                 "database is locked by another process (waited %d ms)",
		                 db->busy_timeout_ms);
	case SQLITE_CORRUPT:
	case SQLITE_NOTADB:
		return adb_error(db, ADB_ERROR, "database is corrupt: %s", msg);
	}
	return adb_error(db, ADB_ERROR, "%s", msg);
}

int adb_query_start(struct accounts_db *db, int slot, const char *sql, struct adb_query *q)
{
	int rc;

	q->db = db;
	q->stmt = NULL;
	q->slot = ADB_NOT_CACHED;
	if (slot != ADB_NOT_CACHED && !db->cached_busy[slot]) {
		if (db->cached[slot] == NULL) {
			rc = sqlite3_prepare_v3(db->sql, sql, -1, SQLITE_PREPARE_PERSISTENT,
			                        &db->cached[slot], NULL);
			if (rc != SQLITE_OK)
				return adb_sql_error(db, rc);
		}
		db->cached_busy[slot] = true;
		q->slot = slot;
		q->stmt = db->cached[slot];
		return ADB_OK;
	}
	rc = sqlite3_prepare_v2(db->sql, sql, -1, &q->stmt, NULL);
	if (rc != SQLITE_OK)
		return adb_sql_error(db, rc);
	return ADB_OK;
}

void adb_query_end(struct adb_query *q)
{
	if (q->slot == ADB_NOT_CACHED) {
		sqlite3_finalize(q->stmt);
	} else {
		/* An un-reset statement would pin its WAL snapshot and keep pointers to the
		   caller's (possibly secret) text. */
		sqlite3_reset(q->stmt);
		sqlite3_clear_bindings(q->stmt);
		q->db->cached_busy[q->slot] = false;
	}
	q->stmt = NULL;
}

int adb_bind_text(struct adb_query *q, int idx, const char *text)
{
	int rc = text == NULL ? sqlite3_bind_null(q->stmt, idx)
	                      : sqlite3_bind_text(q->stmt, idx, text, -1, SQLITE_STATIC);

	return rc == SQLITE_OK ? 0 : adb_sql_error(q->db, rc);
}

int adb_bind_int(struct adb_query *q, int idx, int64_t value)
{
	int rc = sqlite3_bind_int64(q->stmt, idx, value);

	return rc == SQLITE_OK ? 0 : adb_sql_error(q->db, rc);
}

int adb_step(struct adb_query *q)
{
	int rc = sqlite3_step(q->stmt);

	if (rc == SQLITE_ROW)
		return 1;
	if (rc == SQLITE_DONE)
		return 0;
	return adb_sql_error(q->db, rc);
}

int adb_run(struct adb_query *q)
{
	int ret = adb_step(q);

	if (ret < 0)
		return ret;
	if (ret > 0)
		return adb_error(q->db, ADB_ERROR, "statement returned rows");
	return sqlite3_changes(q->db->sql);
}

int adb_column_text(struct adb_query *q, int col, char *out, size_t size)
{
	const unsigned char *text = sqlite3_column_text(q->stmt, col);
	size_t len = (size_t)sqlite3_column_bytes(q->stmt, col);

	if (text == NULL)
		len = 0;
	if (len >= size || (len > 0 && memchr(text, '\0', len) != NULL))
		return adb_error(q->db, ADB_ERROR, "stored %s too long or holds a NUL (%zu bytes)",
		                 sqlite3_column_name(q->stmt, col), len);
	if (len > 0)
		memcpy(out, text, len);
	out[len] = '\0';
	return 0;
}

int adb_join_address(struct accounts_db *db, const char *localpart, const char *domain, char *out,
                     size_t size)
{
	size_t llen = strlen(localpart), dlen = strlen(domain);

	if (llen + 1 + dlen >= size)
		return adb_error(db, ADB_INVALID, "address too long");
	memcpy(out, localpart, llen);
	out[llen] = '@';
	memcpy(out + llen + 1, domain, dlen + 1);
	return ADB_OK;
}

bool adb_has_control(const char *s)
{
	for (; *s != '\0'; s++) {
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return true;
	}
	return false;
}

/* An allocated copy of a formatted message, NULL when memory ran out. */
static char *adb_strdup_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static char *adb_strdup_printf(const char *fmt, ...)
{
	va_list ap;
	char *s;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&s, fmt, ap);
	va_end(ap);
	return n < 0 ? NULL : s;
}

/* What to do about a corrupt file: maild never replaces it by an empty one (RELIABILITY F12). */
#define ADB_RESTORE "restore it from a backup"

/* "PATH: what: sqlite's message", or "PATH: database is corrupt: ..." when it is. */
static int adb_open_fail(struct accounts_db *db, int rc, const char *what, char **error_r)
{
	const char *msg = sqlite3_errmsg(db->sql);

	if ((rc & 0xff) == SQLITE_CORRUPT || (rc & 0xff) == SQLITE_NOTADB)
		*error_r =
		    adb_strdup_printf("%s: database is corrupt: %s; " ADB_RESTORE, db->path, msg);
	else if ((rc & 0xff) == SQLITE_CANTOPEN && sqlite3_system_errno(db->sql) != 0)
		*error_r = adb_strdup_printf("%s: %s: %s", db->path, what,
		                             strerror(sqlite3_system_errno(db->sql)));
	else if ((rc & 0xff) == SQLITE_BUSY || (rc & 0xff) == SQLITE_LOCKED)
		*error_r = adb_strdup_printf("%s: %s: database is locked by another process",
		                             db->path, what);
	else
		*error_r = adb_strdup_printf("%s: %s: %s", db->path, what, msg);
	return -1;
}

static int adb_quick_check(struct accounts_db *db, char **error_r)
{
	char first[256] = "";
	unsigned problems = 0;
	sqlite3_stmt *stmt;
	int rc;

	rc = sqlite3_prepare_v2(db->sql, "PRAGMA quick_check", -1, &stmt, NULL);
	if (rc != SQLITE_OK)
		return adb_open_fail(db, rc, "cannot check", error_r);
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		const char *row = (const char *)sqlite3_column_text(stmt, 0);

		if (row != NULL && strcmp(row, "ok") != 0 && problems++ == 0)
			snprintf(first, sizeof(first), "%s", row);
	}
	sqlite3_finalize(stmt);
	if (rc != SQLITE_DONE)
		return adb_open_fail(db, rc, "cannot check", error_r);
	if (problems == 1)
		*error_r =
		    adb_strdup_printf("%s: database is corrupt: %s; " ADB_RESTORE, db->path, first);
	else if (problems > 1)
		*error_r = adb_strdup_printf(
		    "%s: database is corrupt: %s (and %u more problems); " ADB_RESTORE, db->path,
		    first, problems - 1);
	return problems == 0 ? 0 : -1;
}

int accounts_db_check(struct accounts_db *db, char **error_r)
{
	*error_r = NULL;
	return adb_quick_check(db, error_r);
}

static int adb_user_version(struct accounts_db *db, int *version_r)
{
	sqlite3_stmt *stmt;
	int rc;

	rc = sqlite3_prepare_v2(db->sql, "PRAGMA user_version", -1, &stmt, NULL);
	if (rc != SQLITE_OK)
		return rc;
	rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW) {
		*version_r = sqlite3_column_int(stmt, 0);
		rc = SQLITE_OK;
	}
	sqlite3_finalize(stmt);
	return rc;
}

/* One migration step inside the caller's transaction. */
static int adb_migrate_step(struct accounts_db *db, int from)
{
	char sql[64];
	int rc;

	rc = sqlite3_exec(db->sql, adb_migrations[from], NULL, NULL, NULL);
	if (rc != SQLITE_OK)
		return rc;
	/* PRAGMA takes no parameters; the value is our own integer. */
	snprintf(sql, sizeof(sql), "PRAGMA user_version = %d", from + 1);
	return sqlite3_exec(db->sql, sql, NULL, NULL, NULL);
}

static int adb_refuse_newer(struct accounts_db *db, int version, char **error_r)
{
	*error_r = adb_strdup_printf("%s: schema version %d is newer than this maild supports "
	                             "(%d); run the maild that wrote it",
	                             db->path, version, ACCOUNTS_DB_VERSION);
	return -1;
}

/* Bring the schema to ACCOUNTS_DB_VERSION. The version is read under the write lock, so two
   processes opening a new file at once do not both create the tables. */
static int adb_migrate(struct accounts_db *db, char **error_r)
{
	int version, rc;

	for (;;) {
		rc = sqlite3_exec(db->sql, "BEGIN IMMEDIATE", NULL, NULL, NULL);
		if (rc != SQLITE_OK)
			return adb_open_fail(db, rc, "cannot lock for migration", error_r);
		rc = adb_user_version(db, &version);
		if (rc != SQLITE_OK || version >= ACCOUNTS_DB_VERSION)
			break;
		rc = adb_migrate_step(db, version);
		if (rc != SQLITE_OK) {
			adb_open_fail(db, rc, "migration failed", error_r);
			sqlite3_exec(db->sql, "ROLLBACK", NULL, NULL, NULL);
			return -1;
		}
		rc = sqlite3_exec(db->sql, "COMMIT", NULL, NULL, NULL);
		if (rc != SQLITE_OK) {
			sqlite3_exec(db->sql, "ROLLBACK", NULL, NULL, NULL);
			return adb_open_fail(db, rc, "migration failed", error_r);
		}
	}
	if (rc != SQLITE_OK)
		adb_open_fail(db, rc, "cannot read the schema version", error_r);
	sqlite3_exec(db->sql, "ROLLBACK", NULL, NULL, NULL);
	if (rc != SQLITE_OK)
		return -1;
	if (version > ACCOUNTS_DB_VERSION)
		return adb_refuse_newer(db, version, error_r);
	return 0;
}

/* A reader cannot migrate: it needs exactly our version. */
static int adb_check_version(struct accounts_db *db, char **error_r)
{
	int version, rc;

	rc = adb_user_version(db, &version);
	if (rc != SQLITE_OK)
		return adb_open_fail(db, rc, "cannot read the schema version", error_r);
	if (version > ACCOUNTS_DB_VERSION)
		return adb_refuse_newer(db, version, error_r);
	if (version < ACCOUNTS_DB_VERSION) {
		*error_r =
		    adb_strdup_printf("%s: schema version %d, this maild needs %d; open it "
		                      "read-write first (the admin role creates and migrates "
		                      "it)",
		                      db->path, version, ACCOUNTS_DB_VERSION);
		return -1;
	}
	return 0;
}

static int adb_set_wal(struct accounts_db *db, char **error_r)
{
	sqlite3_stmt *stmt;
	const char *mode;
	int rc, ret = 0;

	rc = sqlite3_prepare_v2(db->sql, "PRAGMA journal_mode = WAL", -1, &stmt, NULL);
	if (rc != SQLITE_OK)
		return adb_open_fail(db, rc, "cannot set the WAL journal", error_r);
	rc = sqlite3_step(stmt);
	if (rc != SQLITE_ROW) {
		ret = adb_open_fail(db, rc, "cannot set the WAL journal", error_r);
	} else {
		mode = (const char *)sqlite3_column_text(stmt, 0);
		if (mode == NULL || strcmp(mode, "wal") != 0) {
			*error_r =
			    adb_strdup_printf("%s: cannot set the WAL journal (mode stays %s)",
			                      db->path, mode != NULL ? mode : "unknown");
			ret = -1;
		}
	}
	sqlite3_finalize(stmt);
	return ret;
}

/* Connection settings that hold for every handle. */
static int adb_configure(struct accounts_db *db, char **error_r)
{
	int rc;

	sqlite3_extended_result_codes(db->sql, 1);
	accounts_db_set_busy_timeout(db, ACCOUNTS_DB_BUSY_TIMEOUT_MS);
	/* Refuse writes to sqlite_schema and other ways to corrupt the file through SQL. */
	sqlite3_db_config(db->sql, SQLITE_DBCONFIG_DEFENSIVE, 1, NULL);
	rc = sqlite3_exec(db->sql, "PRAGMA foreign_keys = ON; PRAGMA trusted_schema = OFF", NULL,
	                  NULL, NULL);
	if (rc != SQLITE_OK)
		return adb_open_fail(db, rc, "cannot configure", error_r);
	return 0;
}

/* A zero-byte file is what truncation leaves: SQLite would take it for a new database and the
   READWRITE open would write an empty schema over the loss. */
static int adb_refuse_empty(const char *path, enum accounts_db_mode mode, char **error_r)
{
	struct stat st;

	if (stat(path, &st) < 0) {
		if (errno == ENOENT && mode == ACCOUNTS_DB_READWRITE)
			return 0;
		*error_r = adb_strdup_printf("%s: cannot open: %s", path, strerror(errno));
		return -1;
	}
	if (S_ISREG(st.st_mode) && st.st_size == 0) {
		*error_r = adb_strdup_printf("%s: file is empty (truncated?); restore it from a "
		                             "backup, or remove it to start a new database",
		                             path);
		return -1;
	}
	return 0;
}

static int adb_open_file(struct accounts_db *db, enum accounts_db_mode mode, char **error_r)
{
	int flags = mode == ACCOUNTS_DB_READONLY ? SQLITE_OPEN_READONLY
	                                         : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE;
	int rc = sqlite3_open_v2(db->path, &db->sql, flags, NULL);

	if (rc != SQLITE_OK) {
		if (db->sql == NULL)
			*error_r =
			    adb_strdup_printf("%s: cannot open: %s", db->path, sqlite3_errstr(rc));
		else
			adb_open_fail(db, rc, "cannot open", error_r);
		return -1;
	}
	if (adb_configure(db, error_r) < 0 || adb_quick_check(db, error_r) < 0)
		return -1;
	if (mode == ACCOUNTS_DB_READONLY)
		return adb_check_version(db, error_r);
	if (adb_set_wal(db, error_r) < 0)
		return -1;
	return adb_migrate(db, error_r);
}

int accounts_db_open(const char *path, enum accounts_db_mode mode, struct accounts_db **db_r,
                     char **error_r)
{
	struct accounts_db *db;

	*db_r = NULL;
	*error_r = NULL;
	if (adb_refuse_empty(path, mode, error_r) < 0)
		return -1;
	db = calloc(1, sizeof(*db));
	if (db == NULL || (db->path = strdup(path)) == NULL) {
		free(db);
		return -1;
	}
	if (adb_open_file(db, mode, error_r) < 0) {
		accounts_db_close(&db);
		return -1;
	}
	*db_r = db;
	return 0;
}

void accounts_db_close(struct accounts_db **dbp)
{
	struct accounts_db *db = *dbp;

	if (db == NULL)
		return;
	for (int i = 0; i < ADB_CACHED_COUNT; i++)
		sqlite3_finalize(db->cached[i]);
	sqlite3_close(db->sql);
	free(db->path);
	free(db);
	*dbp = NULL;
}

const char *accounts_db_last_error(struct accounts_db *db)
{
	return db->error;
}

void accounts_db_set_busy_timeout(struct accounts_db *db, int timeout_ms)
{
	db->busy_timeout_ms = timeout_ms;
	sqlite3_busy_timeout(db->sql, timeout_ms);
}
