#ifndef MAILD_ACCOUNTS_DB_PRIVATE_H
#define MAILD_ACCOUNTS_DB_PRIVATE_H

/* Shared by the accounts_db*.c files only. */

#include <stddef.h>
#include <sqlite3.h>

#include "accounts_db.h"

/* Statements prepared once and kept for the life of the handle: the lookups that every RCPT
   and every login makes. Everything else is prepared per call. */
enum adb_cached {
	ADB_CACHED_DOMAIN_IS_LOCAL,
	ADB_CACHED_ACCOUNT_GET,
	ADB_CACHED_ALIAS_TARGETS,
	ADB_CACHED_COUNT,
	ADB_NOT_CACHED = -1,
};

struct accounts_db {
	sqlite3 *sql;
	char *path;
	int busy_timeout_ms;
	sqlite3_stmt *cached[ADB_CACHED_COUNT];
	/* A cached statement in the middle of a listing: a callback that needs the same query
	   again gets a statement of its own. */
	bool cached_busy[ADB_CACHED_COUNT];
	char error[512];
};

/* One statement in use, from the cache or prepared for this call; always ended with
   adb_query_end(). */
struct adb_query {
	struct accounts_db *db;
	sqlite3_stmt *stmt;
	int slot;
};

/* Set db->error and return result. Diagnostics only: an over-long message is cut. */
int adb_error(struct accounts_db *db, int result, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Map a failed SQLite call to ADB_BUSY / ADB_EXISTS / ADB_IN_USE / ADB_INVALID / ADB_ERROR,
   with SQLite's message in db->error. */
int adb_sql_error(struct accounts_db *db, int rc);

/* Prepare sql, or take the cached statement of slot (ADB_NOT_CACHED: never cached).
   ADB_OK or an error result. */
int adb_query_start(struct accounts_db *db, int slot, const char *sql, struct adb_query *q);
/* Reset a cached statement (releasing its read snapshot and bound pointers), or finalize. */
void adb_query_end(struct adb_query *q);
/* Bind parameter idx (1-based); text NULL binds SQL NULL. 0 or ADB_ERROR. The text must live
   until adb_query_end(). */
int adb_bind_text(struct adb_query *q, int idx, const char *text);
int adb_bind_int(struct adb_query *q, int idx, int64_t value);
/* 1 a row, 0 done, or an error result. */
int adb_step(struct adb_query *q);
/* Run a statement that returns no rows: the number of rows changed, or an error result. */
int adb_run(struct adb_query *q);
/* Copy text column col into out; NULL gives "". ADB_ERROR (never truncation) when it does not
   fit or holds a NUL. */
int adb_column_text(struct adb_query *q, int col, char *out, size_t size);

/* "localpart@domain" into out; ADB_INVALID (with db->error) when it does not fit. */
int adb_join_address(struct accounts_db *db, const char *localpart, const char *domain, char *out,
                     size_t size);
/* Whether s holds a control character (C0 or DEL). */
bool adb_has_control(const char *s);

#endif
