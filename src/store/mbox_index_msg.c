#include <stdio.h>
#include <string.h>

#include "mbox_index_private.h"

/* ----- folders ----- */

int mbox_index_folder_get(struct mbox_index *idx, const char *name,
                          struct mbox_index_folder *folder_r)
{
	sqlite3_stmt *st = mix_stmt(idx, MIX_FOLDER_GET,
	                            "SELECT id, uidvalidity, uidnext, highestmodseq, uidlist_ino,"
	                            " uidlist_size, uidlist_lines, scan_cur_mtime_ns,"
	                            " scan_new_mtime_ns, scan_started_ns, scan_modseq, msgs_gen"
	                            " FROM folders WHERE name = ?");
	int rc;

	if (st == NULL)
		return -1;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		folder_r->id = sqlite3_column_int64(st, 0);
		folder_r->uidvalidity = (uint32_t)sqlite3_column_int64(st, 1);
		folder_r->uidnext = (uint32_t)sqlite3_column_int64(st, 2);
		folder_r->highestmodseq = (uint64_t)sqlite3_column_int64(st, 3);
		folder_r->uidlist_ino = (uint64_t)sqlite3_column_int64(st, 4);
		folder_r->uidlist_size = (uint64_t)sqlite3_column_int64(st, 5);
		folder_r->uidlist_lines = (uint64_t)sqlite3_column_int64(st, 6);
		folder_r->scan_cur_mtime_ns = sqlite3_column_int64(st, 7);
		folder_r->scan_new_mtime_ns = sqlite3_column_int64(st, 8);
		folder_r->scan_started_ns = sqlite3_column_int64(st, 9);
		folder_r->scan_modseq = (uint64_t)sqlite3_column_int64(st, 10);
		folder_r->msgs_gen = (uint64_t)sqlite3_column_int64(st, 11);
	}
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	if (rc == SQLITE_ROW)
		return 1;
	return rc == SQLITE_DONE ? 0 : mix_fail(idx, rc, "read folder");
}

int mbox_index_folder_put(struct mbox_index *idx, const char *name,
                          struct mbox_index_folder *folder)
{
	bool insert = folder->id == 0;
	sqlite3_stmt *st =
	    insert ? mix_stmt(idx, MIX_FOLDER_INSERT,
	                      "INSERT INTO folders (uidvalidity, uidnext, highestmodseq,"
	                      " uidlist_ino, uidlist_size, uidlist_lines, scan_cur_mtime_ns,"
	                      " scan_new_mtime_ns, scan_started_ns, scan_modseq, name, msgs_gen)"
	                      " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, abs(random() >> 2))")
	           : mix_stmt(idx, MIX_FOLDER_UPDATE,
	                      "UPDATE folders SET uidvalidity = ?, uidnext = ?, highestmodseq = ?,"
	                      " uidlist_ino = ?, uidlist_size = ?, uidlist_lines = ?,"
	                      " scan_cur_mtime_ns = ?, scan_new_mtime_ns = ?, scan_started_ns = ?,"
	                      " scan_modseq = ? WHERE id = ?");

	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, folder->uidvalidity);
	sqlite3_bind_int64(st, 2, folder->uidnext);
	sqlite3_bind_int64(st, 3, (int64_t)folder->highestmodseq);
	sqlite3_bind_int64(st, 4, (int64_t)folder->uidlist_ino);
	sqlite3_bind_int64(st, 5, (int64_t)folder->uidlist_size);
	sqlite3_bind_int64(st, 6, (int64_t)folder->uidlist_lines);
	sqlite3_bind_int64(st, 7, folder->scan_cur_mtime_ns);
	sqlite3_bind_int64(st, 8, folder->scan_new_mtime_ns);
	sqlite3_bind_int64(st, 9, folder->scan_started_ns);
	sqlite3_bind_int64(st, 10, (int64_t)folder->scan_modseq);
	if (insert)
		sqlite3_bind_text(st, 11, name, -1, SQLITE_STATIC);
	else
		sqlite3_bind_int64(st, 11, folder->id);
	if (mix_run(idx, st, "write folder") < 0)
		return -1;
	if (insert) {
		folder->id = sqlite3_last_insert_rowid(idx->sql);
		folder->msgs_gen = 0; /* unknown until read back; no snapshot matches it */
	}
	return 0;
}

int mbox_index_folder_drop(struct mbox_index *idx, int64_t folder_id)
{
	static const char *const sql[] = {
	    "DELETE FROM msgs WHERE folder = ?1",
	    "DELETE FROM cache WHERE folder = ?1",
	    "DELETE FROM fts WHERE rowid BETWEEN ?1 << 32 AND (?1 << 32) + 4294967295",
	    "DELETE FROM fts_gone WHERE folder = ?1",
	    "DELETE FROM folders WHERE id = ?1",
	};

	for (size_t i = 0; i < sizeof(sql) / sizeof(sql[0]); i++) {
		sqlite3_stmt *st;
		int rc = sqlite3_prepare_v2(idx->sql, sql[i], -1, &st, NULL);

		if (rc != SQLITE_OK)
			return mix_fail(idx, rc, "drop folder");
		sqlite3_bind_int64(st, 1, folder_id);
		rc = sqlite3_step(st);
		sqlite3_finalize(st);
		if (rc != SQLITE_DONE)
			return mix_fail(idx, rc, "drop folder");
	}
	return 0;
}

/* ----- messages ----- */

static size_t mix_base_len(const char *name)
{
	const char *colon = strchr(name, ':');

	return colon != NULL ? (size_t)(colon - name) : strlen(name);
}

int mbox_index_msg_insert(struct mbox_index *idx, int64_t folder_id,
                          const struct mbox_index_msg *msg)
{
	/* OR REPLACE: a row left by a lost expunge for this UID or base is stale. */
	sqlite3_stmt *st = mix_stmt(idx, MIX_MSG_INSERT,
	                            "INSERT OR REPLACE INTO msgs (folder, uid, base, name, flags,"
	                            " keywords, modseq, size, vsize, internaldate)"
	                            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");

	if (st == NULL || mix_touch(idx, folder_id) < 0)
		return -1;
	sqlite3_bind_int64(st, 1, folder_id);
	sqlite3_bind_int64(st, 2, msg->uid);
	sqlite3_bind_text(st, 3, msg->name, (int)mix_base_len(msg->name), SQLITE_STATIC);
	sqlite3_bind_text(st, 4, msg->name, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 5, msg->flags);
	sqlite3_bind_int64(st, 6, msg->keywords);
	sqlite3_bind_int64(st, 7, (int64_t)msg->modseq);
	sqlite3_bind_int64(st, 8, (int64_t)msg->size);
	sqlite3_bind_int64(st, 9, (int64_t)msg->vsize);
	sqlite3_bind_int64(st, 10, msg->internaldate);
	return mix_run(idx, st, "insert message");
}

int mbox_index_msg_set_flags(struct mbox_index *idx, int64_t folder_id, uint32_t uid,
                             const char *name, uint8_t flags, uint32_t keywords, uint64_t modseq)
{
	sqlite3_stmt *st = mix_stmt(idx, MIX_MSG_SET_FLAGS,
	                            "UPDATE msgs SET name = ?, flags = ?, keywords = ?, modseq = ?"
	                            " WHERE folder = ? AND uid = ?");

	if (st == NULL || mix_touch(idx, folder_id) < 0)
		return -1;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 2, flags);
	sqlite3_bind_int64(st, 3, keywords);
	sqlite3_bind_int64(st, 4, (int64_t)modseq);
	sqlite3_bind_int64(st, 5, folder_id);
	sqlite3_bind_int64(st, 6, uid);
	return mix_run(idx, st, "update flags");
}

int mbox_index_msg_set_lazy(struct mbox_index *idx, int64_t folder_id, uint32_t uid, uint64_t vsize,
                            int64_t internaldate)
{
	sqlite3_stmt *st = mix_stmt(idx, MIX_MSG_SET_DATE,
	                            "UPDATE msgs SET vsize = ?, internaldate = ?"
	                            " WHERE folder = ? AND uid = ?");

	if (st == NULL || mix_touch(idx, folder_id) < 0)
		return -1;
	sqlite3_bind_int64(st, 1, (int64_t)vsize);
	sqlite3_bind_int64(st, 2, internaldate);
	sqlite3_bind_int64(st, 3, folder_id);
	sqlite3_bind_int64(st, 4, uid);
	return mix_run(idx, st, "update size and date");
}

int mbox_index_msg_delete_range(struct mbox_index *idx, int64_t folder_id, uint32_t first,
                                uint32_t last)
{
	static const struct {
		enum mbox_index_stmt slot;
		const char *sql, *what;
	} steps[] = {
	    {MIX_MSG_DELETE, "DELETE FROM msgs WHERE folder = ?1 AND uid BETWEEN ?2 AND ?3",
	     "delete messages"},
	    {MIX_CACHE_DELETE_MSG, "DELETE FROM cache WHERE folder = ?1 AND uid BETWEEN ?2 AND ?3",
	     "delete cache"},
	    /* The text itself waits for mbox_index_fts_purge(). */
	    {MIX_FTS_GONE_ADD,
	     "INSERT OR IGNORE INTO fts_gone (folder, uid) SELECT ?1, rowid - (?1 << 32) FROM fts"
	     " WHERE rowid BETWEEN (?1 << 32) + ?2 AND (?1 << 32) + ?3",
	     "list text to delete"},
	};

	if (mix_touch(idx, folder_id) < 0)
		return -1;
	for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		sqlite3_stmt *st = mix_stmt(idx, steps[i].slot, steps[i].sql);

		if (st == NULL)
			return -1;
		sqlite3_bind_int64(st, 1, folder_id);
		sqlite3_bind_int64(st, 2, first);
		sqlite3_bind_int64(st, 3, last);
		if (mix_run(idx, st, steps[i].what) < 0)
			return -1;
	}
	return 0;
}

int mbox_index_msg_delete(struct mbox_index *idx, int64_t folder_id, uint32_t uid)
{
	return mbox_index_msg_delete_range(idx, folder_id, uid, uid);
}

static void mix_msg_row(sqlite3_stmt *st, struct mbox_index_msg *msg)
{
	msg->uid = (uint32_t)sqlite3_column_int64(st, 0);
	msg->name = (const char *)sqlite3_column_text(st, 1);
	msg->flags = (uint8_t)sqlite3_column_int(st, 2);
	msg->keywords = (uint32_t)sqlite3_column_int64(st, 3);
	msg->modseq = (uint64_t)sqlite3_column_int64(st, 4);
	msg->size = (uint64_t)sqlite3_column_int64(st, 5);
	msg->vsize = (uint64_t)sqlite3_column_int64(st, 6);
	msg->internaldate = sqlite3_column_int64(st, 7);
	if (msg->name == NULL)
		msg->name = "";
}

#define MIX_MSG_COLUMNS "uid, name, flags, keywords, modseq, size, vsize, internaldate"

int mbox_index_msg_get(struct mbox_index *idx, int64_t folder_id, uint32_t uid,
                       struct mbox_index_msg *msg_r, char *name_buf, size_t size)
{
	sqlite3_stmt *st = mix_stmt(
	    idx, MIX_MSG_GET, "SELECT " MIX_MSG_COLUMNS " FROM msgs WHERE folder = ? AND uid = ?");
	int rc, ret = 0;

	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, folder_id);
	sqlite3_bind_int64(st, 2, uid);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		mix_msg_row(st, msg_r);
		ret = 1;
		if (strlen(msg_r->name) >= size) {
			ret = -1;
			snprintf(idx->error, sizeof(idx->error), "stored file name too long");
		} else {
			memcpy(name_buf, msg_r->name, strlen(msg_r->name) + 1);
			msg_r->name = name_buf;
		}
	} else if (rc != SQLITE_DONE) {
		ret = mix_fail(idx, rc, "read message");
	}
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return ret;
}

int mbox_index_msg_count(struct mbox_index *idx, int64_t folder_id, uint64_t *count_r)
{
	sqlite3_stmt *st =
	    mix_stmt(idx, MIX_MSG_COUNT, "SELECT count(*) FROM msgs WHERE folder = ?");
	int rc;

	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, folder_id);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*count_r = (uint64_t)sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return rc == SQLITE_ROW ? 0 : mix_fail(idx, rc, "count messages");
}

int mbox_index_msg_iter(struct mbox_index *idx, int64_t folder_id, uint32_t min_uid,
                        mbox_index_msg_cb *cb, void *ctx)
{
	sqlite3_stmt *st = mix_stmt(idx, MIX_MSG_ITER,
	                            "SELECT " MIX_MSG_COLUMNS
	                            " FROM msgs WHERE folder = ? AND uid > ? ORDER BY uid");
	struct mbox_index_msg msg;
	int rc, ret = 0;

	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, folder_id);
	sqlite3_bind_int64(st, 2, min_uid);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		mix_msg_row(st, &msg);
		ret = cb(&msg, ctx);
		if (ret != 0)
			break;
	}
	if (ret == 0 && rc != SQLITE_DONE)
		ret = mix_fail(idx, rc, "list messages");
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return ret;
}
