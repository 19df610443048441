#include <errno.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "mbox_index_private.h"

/* Schema version 1. Message rows are keyed by (folder, uid) without a rowid, so a folder's
   messages are one contiguous b-tree range read in UID order at SELECT. */
static const char mix_schema_v1[] =
    "CREATE TABLE folders ("
    " id INTEGER PRIMARY KEY,"
    " name TEXT NOT NULL UNIQUE,"
    " uidvalidity INTEGER NOT NULL,"
    " uidnext INTEGER NOT NULL,"
    " highestmodseq INTEGER NOT NULL,"
    " uidlist_ino INTEGER NOT NULL,"
    " uidlist_size INTEGER NOT NULL,"
    " uidlist_lines INTEGER NOT NULL"
    ") STRICT;"
    "CREATE TABLE msgs ("
    " folder INTEGER NOT NULL,"
    " uid INTEGER NOT NULL,"
    " base TEXT NOT NULL,"
    " name TEXT NOT NULL,"
    " flags INTEGER NOT NULL,"
    " keywords INTEGER NOT NULL,"
    " modseq INTEGER NOT NULL,"
    " size INTEGER NOT NULL,"
    " vsize INTEGER NOT NULL,"
    " internaldate INTEGER NOT NULL,"
    " PRIMARY KEY (folder, uid)"
    ") STRICT, WITHOUT ROWID;"
    "CREATE UNIQUE INDEX msgs_base ON msgs (folder, base);"
    "CREATE TABLE cache ("
    " folder INTEGER NOT NULL,"
    " uid INTEGER NOT NULL,"
    " field INTEGER NOT NULL,"
    " value BLOB NOT NULL,"
    " PRIMARY KEY (folder, uid, field)"
    ") STRICT, WITHOUT ROWID;"
    /* rowid = folder << 32 | uid. Trigram: MATCH on a quoted phrase is a case-insensitive
       substring test (SQLite 3.34+). */
    "CREATE VIRTUAL TABLE fts USING fts5(header, body, tokenize = 'trigram');"
    "PRAGMA user_version = 1;";

/* Version 2: the last full scan of the folder's directories, so that a SELECT of an
   unchanged folder need not read them (mbox_open()). */
static const char mix_schema_v2[] =
    "ALTER TABLE folders ADD COLUMN scan_cur_mtime_ns INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE folders ADD COLUMN scan_new_mtime_ns INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE folders ADD COLUMN scan_started_ns INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE folders ADD COLUMN scan_modseq INTEGER NOT NULL DEFAULT 0;"
    "PRAGMA user_version = 2;";

/* Version 3: a generation of the folder's message rows, changed by every transaction that
   writes one, so a snapshot of the rows (mbox_snapshot.c) can tell it is still current; and
   the full-text rows of removed messages, left for mbox_index_fts_purge(). An FTS5 delete
   tokenizes the message's text again to find its entries (about a millisecond a message),
   which an EXPUNGE need not wait for: the rows of UIDs no longer in the folder match nothing
   a search reports. */
static const char mix_schema_v3[] =
    "ALTER TABLE folders ADD COLUMN msgs_gen INTEGER NOT NULL DEFAULT 0;"
    "CREATE TABLE fts_gone ("
    " folder INTEGER NOT NULL,"
    " uid INTEGER NOT NULL,"
    " PRIMARY KEY (folder, uid)"
    ") STRICT, WITHOUT ROWID;"
    "PRAGMA user_version = 3;";

int mix_fail(struct mbox_index *idx, int rc, const char *what)
{
	int primary = rc & 0xff;

	if (primary == SQLITE_CORRUPT || primary == SQLITE_NOTADB)
		idx->corrupt = true;
	snprintf(idx->error, sizeof(idx->error), "%s: %s: %s", idx->path, what,
	         idx->sql != NULL ? sqlite3_errmsg(idx->sql) : sqlite3_errstr(rc));
	return -1;
}

sqlite3_stmt *mix_stmt(struct mbox_index *idx, enum mbox_index_stmt slot, const char *sql)
{
	int rc;

	if (idx->stmts[slot] == NULL) {
		rc = sqlite3_prepare_v3(idx->sql, sql, -1, SQLITE_PREPARE_PERSISTENT,
		                        &idx->stmts[slot], NULL);
		if (rc != SQLITE_OK) {
			mix_fail(idx, rc, "prepare");
			return NULL;
		}
	}
	return idx->stmts[slot];
}

/* CLOCK_MONOTONIC milliseconds when a foreground connection of this process last began a
   write transaction. */
static _Atomic int64_t mix_foreground_began_ms;

static int64_t mix_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The indexer's transactions are short, but a session that finds the write lock taken would
   wait in SQLite's busy handler, whose sleeps grow to tens of milliseconds: a thousand STOREs
   behind the indexer took 10 s instead of 0.4 s. So the background connection waits while
   the user is writing, and then goes on between the user's commands. */
static void mix_yield_to_foreground(void)
{
	int64_t start = mix_now_ms();

	for (;;) {
		int64_t now = mix_now_ms();

		if (now - atomic_load(&mix_foreground_began_ms) >= MBOX_INDEX_YIELD_QUIET_MS ||
		    now - start >= MBOX_INDEX_YIELD_MAX_MS)
			return;
		usleep(10 * 1000);
	}
}

static void mix_note_foreground_write(const struct mbox_index *idx)
{
	if (!idx->background)
		atomic_store(&mix_foreground_began_ms, mix_now_ms());
}

int mix_run(struct mbox_index *idx, sqlite3_stmt *stmt, const char *what)
{
	int rc;

	if (sqlite3_get_autocommit(idx->sql))
		mix_note_foreground_write(idx); /* a write that is its own transaction */
	rc = sqlite3_step(stmt);

	sqlite3_reset(stmt);
	sqlite3_clear_bindings(stmt);
	if (rc != SQLITE_DONE)
		return mix_fail(idx, rc, what);
	return 0;
}

static int mix_exec(struct mbox_index *idx, const char *sql, const char *what)
{
	int rc = sqlite3_exec(idx->sql, sql, NULL, NULL, NULL);

	return rc == SQLITE_OK ? 0 : mix_fail(idx, rc, what);
}

void mbox_index_set_background(struct mbox_index *idx)
{
	idx->background = true;
}

int mbox_index_begin(struct mbox_index *idx)
{
	if (idx->background)
		mix_yield_to_foreground();
	else
		mix_note_foreground_write(idx);
	idx->touched_folder = 0;
	return mix_exec(idx, "BEGIN IMMEDIATE", "begin");
}

int mbox_index_begin_read(struct mbox_index *idx)
{
	return mix_exec(idx, "BEGIN DEFERRED", "begin");
}

int mbox_index_end_read(struct mbox_index *idx)
{
	return mix_exec(idx, "COMMIT", "end read");
}

int mix_touch(struct mbox_index *idx, int64_t folder_id)
{
	bool batch = sqlite3_get_autocommit(idx->sql) == 0;
	sqlite3_stmt *st;

	/* Once per batch and folder is enough: a reader sees the batch whole or not at all. */
	if (batch && idx->touched_folder == folder_id)
		return 0;
	st = mix_stmt(idx, MIX_FOLDER_TOUCH,
	              "UPDATE folders SET msgs_gen = msgs_gen + 1 WHERE id = ?");
	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, folder_id);
	if (mix_run(idx, st, "touch folder") < 0)
		return -1;
	if (batch)
		idx->touched_folder = folder_id;
	return 0;
}

int mbox_index_commit(struct mbox_index *idx)
{
	idx->touched_folder = 0;
	if (mix_exec(idx, "COMMIT", "commit") < 0) {
		mbox_index_rollback(idx);
		return -1;
	}
	return 0;
}

void mbox_index_rollback(struct mbox_index *idx)
{
	idx->touched_folder = 0;
	if (!sqlite3_get_autocommit(idx->sql))
		(void)sqlite3_exec(idx->sql, "ROLLBACK", NULL, NULL, NULL);
}

const char *mbox_index_error(const struct mbox_index *idx)
{
	return idx->error;
}

bool mbox_index_corrupt(const struct mbox_index *idx)
{
	return idx->corrupt;
}

static int mix_user_version(struct mbox_index *idx, int *version_r)
{
	sqlite3_stmt *stmt;
	int rc = sqlite3_prepare_v2(idx->sql, "PRAGMA user_version", -1, &stmt, NULL);

	if (rc != SQLITE_OK)
		return mix_fail(idx, rc, "read schema version");
	rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW)
		*version_r = sqlite3_column_int(stmt, 0);
	sqlite3_finalize(stmt);
	return rc == SQLITE_ROW ? 0 : mix_fail(idx, rc, "read schema version");
}

/* Creates the schema in an empty file, or brings an older version's file up to date. The
   version is read again under the write lock, so two processes opening the file at once do
   not both change it. 0, -1, or 1 when the file holds a version we do not know (to be deleted). */
static int mix_schema(struct mbox_index *idx)
{
	int version;

	if (mix_user_version(idx, &version) < 0)
		return -1;
	if (version == MBOX_INDEX_VERSION)
		return 0;
	if (version > MBOX_INDEX_VERSION)
		return 1;
	if (mbox_index_begin(idx) < 0)
		return -1;
	if (mix_user_version(idx, &version) < 0 ||
	    (version == 0 && mix_exec(idx, mix_schema_v1, "create schema") < 0) ||
	    (version <= 1 && mix_exec(idx, mix_schema_v2, "upgrade schema to version 2") < 0) ||
	    (version <= 2 && mix_exec(idx, mix_schema_v3, "upgrade schema to version 3") < 0)) {
		mbox_index_rollback(idx);
		return -1;
	}
	if (mbox_index_commit(idx) < 0)
		return -1;
	return version <= MBOX_INDEX_VERSION ? 0 : 1;
}

/* SQLite's own busy timeout sleeps 1, 2, 5, 10, 15, 20, 25 ... 100 ms between tries: a
   writer behind a transaction of 3 ms would sleep 8 ms or more. Another writer of the index
   holds the lock for milliseconds, so try again every millisecond. */
static int mix_busy(void *arg, int tries)
{
	(void)arg;
	if (tries >= MBOX_INDEX_BUSY_TIMEOUT_MS)
		return 0;
	usleep(1000);
	return 1;
}

static int mix_configure(struct mbox_index *idx)
{
	sqlite3_extended_result_codes(idx->sql, 1);
	sqlite3_busy_handler(idx->sql, mix_busy, NULL);
	sqlite3_db_config(idx->sql, SQLITE_DBCONFIG_DEFENSIVE, 1, NULL);
	/* journal_mode answers with a row; exec ignores it. A cache needs no fsync per commit:
	   WAL with synchronous=NORMAL keeps the file consistent and may lose the last commits
	   on power loss, which a rebuild from the uid list repairs. Reads through a mapping
	   instead of a copy per page: a SELECT reads every row of the folder. */
	return mix_exec(idx,
	                "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;"
	                " PRAGMA trusted_schema = OFF; PRAGMA mmap_size = 268435456",
	                "configure");
}

static void mix_free(struct mbox_index *idx)
{
	for (int i = 0; i < MIX_STMT_COUNT; i++)
		sqlite3_finalize(idx->stmts[i]);
	sqlite3_close(idx->sql);
	free(idx->path);
	free(idx);
}

static void mix_unlink_files(const char *path)
{
	char other[4096];

	(void)unlink(path);
	if (snprintf(other, sizeof(other), "%s-wal", path) < (int)sizeof(other))
		(void)unlink(other);
	if (snprintf(other, sizeof(other), "%s-shm", path) < (int)sizeof(other))
		(void)unlink(other);
}

/* 0 open, -1 error, 1 to be deleted and tried again. */
static int mix_try_open(struct mbox_index *idx)
{
	int rc =
	    /* One thread at a time uses a connection (mbox_index.h): SQLite's own mutex on
	       every call would only cost (a tenth of loading a 100,000-message folder). */
	    sqlite3_open_v2(idx->path, &idx->sql,
	                    SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
	int ret;

	if (rc != SQLITE_OK)
		return mix_fail(idx, rc, "open");
	ret = mix_configure(idx);
	if (ret == 0)
		ret = mix_schema(idx);
	if (ret < 0 && idx->corrupt)
		return 1;
	return ret;
}

static char *mix_strdup_error(const char *text)
{
	char *s = strdup(text);

	return s;
}

int mbox_index_open(const char *maildir_root, struct mbox_index **idx_r, char **error_r)
{
	struct mbox_index *idx = NULL;
	char path[4096];
	int ret = 1;

	*idx_r = NULL;
	*error_r = NULL;
	if (snprintf(path, sizeof(path), "%s/" MBOX_INDEX_FILE, maildir_root) >=
	    (int)sizeof(path)) {
		*error_r = mix_strdup_error("Maildir path too long for the index");
		return -1;
	}
	for (int attempt = 0; attempt < 2 && ret > 0; attempt++) {
		if (idx != NULL) {
			/* Damaged or of another version: the index is a cache, so it goes. */
			mix_free(idx);
			mix_unlink_files(path);
		}
		idx = calloc(1, sizeof(*idx));
		if (idx == NULL || (idx->path = strdup(path)) == NULL) {
			free(idx);
			*error_r = mix_strdup_error("out of memory");
			return -1;
		}
		ret = mix_try_open(idx);
	}
	if (ret != 0) {
		*error_r = mix_strdup_error(ret > 0 ? "index still unusable after re-creation"
		                                    : idx->error);
		mix_free(idx);
		return -1;
	}
	*idx_r = idx;
	return 0;
}

void mbox_index_close(struct mbox_index **idxp)
{
	if (*idxp == NULL)
		return;
	mix_free(*idxp);
	*idxp = NULL;
}

int mbox_index_recreate(struct mbox_index **idxp, char **error_r)
{
	char *root = strdup((*idxp)->path);
	char *slash;
	bool background = (*idxp)->background;
	int ret;

	if (root == NULL) {
		*error_r = mix_strdup_error("out of memory");
		return -1;
	}
	mbox_index_close(idxp);
	mix_unlink_files(root);
	slash = strrchr(root, '/');
	if (slash != NULL)
		*slash = '\0';
	ret = mbox_index_open(root, idxp, error_r);
	if (ret == 0 && background)
		mbox_index_set_background(*idxp);
	free(root);
	return ret;
}

bool mbox_index_in_transaction(const struct mbox_index *idx)
{
	return idx->sql != NULL && sqlite3_get_autocommit(idx->sql) == 0;
}
