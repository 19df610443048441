#ifndef MAILD_MBOX_INDEX_PRIVATE_H
#define MAILD_MBOX_INDEX_PRIVATE_H

/* Shared by the mbox_index*.c files only. */

#include <sqlite3.h>

#include "mbox_index.h"

/* Statements prepared once per connection: those a sync or a FETCH runs per message. */
enum mbox_index_stmt {
	MIX_FOLDER_GET,
	MIX_FOLDER_INSERT,
	MIX_FOLDER_UPDATE,
	MIX_FOLDER_TOUCH,
	MIX_MSG_INSERT,
	MIX_MSG_SET_FLAGS,
	MIX_MSG_SET_DATE,
	MIX_MSG_DELETE,
	MIX_MSG_GET,
	MIX_MSG_ITER,
	MIX_MSG_COUNT,
	MIX_CACHE_DELETE_MSG,
	MIX_CACHE_SET,
	MIX_CACHE_GET,
	MIX_CACHE_RANGE,
	MIX_FTS_DELETE,
	MIX_FTS_INSERT,
	MIX_FTS_INDEXED,
	MIX_FTS_GONE_ADD,
	MIX_FTS_GONE_LIST,
	MIX_FTS_GONE_ANY,
	MIX_FTS_GONE_DROP,
	MIX_FTS_PURGE,
	MIX_STMT_COUNT,
};

struct mbox_index {
	sqlite3 *sql;
	char *path;
	sqlite3_stmt *stmts[MIX_STMT_COUNT];
	bool corrupt;
	bool background; /* mbox_index_set_background() */
	/* The folder whose msgs_gen this batch has changed already (0: none). */
	int64_t touched_folder;
	char error[512];
};

/* The statement for slot, prepared on first use with sql, reset and unbound. NULL on error
   (idx->error set). */
sqlite3_stmt *mix_stmt(struct mbox_index *idx, enum mbox_index_stmt slot, const char *sql);
/* Record SQLite's error for rc; always -1. */
int mix_fail(struct mbox_index *idx, int rc, const char *what);
/* Step a statement that returns no rows and reset it. 0 or -1. */
int mix_run(struct mbox_index *idx, sqlite3_stmt *stmt, const char *what);

/* Change the folder's msgs_gen: every write of a message row calls it first. 0 or -1. */
int mix_touch(struct mbox_index *idx, int64_t folder_id);

/* The FTS5 rowid of a message: the folder id and the UID in one 64-bit key. */
static inline int64_t mix_fts_rowid(int64_t folder_id, uint32_t uid)
{
	return (int64_t)((uint64_t)folder_id << 32 | uid);
}

#endif
