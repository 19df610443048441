#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mbox_index_private.h"

/* ----- cache blobs ----- */

int mbox_index_cache_set(struct mbox_index *idx, int64_t folder_id, uint32_t uid, int field,
                         const void *data, size_t len)
{
	sqlite3_stmt *st = mix_stmt(idx, MIX_CACHE_SET,
	                            "INSERT OR REPLACE INTO cache (folder, uid, field, value)"
	                            " VALUES (?, ?, ?, ?)");

	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, folder_id);
	sqlite3_bind_int64(st, 2, uid);
	sqlite3_bind_int(st, 3, field);
	/* A zero-length blob is a value ("known empty"), not NULL. */
	sqlite3_bind_blob64(st, 4, len > 0 ? data : "", len, SQLITE_STATIC);
	return mix_run(idx, st, "write cache");
}

int mbox_index_cache_get(struct mbox_index *idx, int64_t folder_id, uint32_t uid, int field,
                         void **data_r, size_t *len_r)
{
	sqlite3_stmt *st = mix_stmt(idx, MIX_CACHE_GET,
	                            "SELECT value FROM cache WHERE folder = ? AND uid = ?"
	                            " AND field = ?");
	int rc, ret = 0;

	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, folder_id);
	sqlite3_bind_int64(st, 2, uid);
	sqlite3_bind_int(st, 3, field);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		const void *blob = sqlite3_column_blob(st, 0);
		size_t len = (size_t)sqlite3_column_bytes(st, 0);
		char *copy = malloc(len + 1);

		if (copy == NULL) {
			snprintf(idx->error, sizeof(idx->error), "out of memory");
			ret = -1;
		} else {
			if (len > 0)
				memcpy(copy, blob, len);
			copy[len] = '\0';
			*data_r = copy;
			*len_r = len;
			ret = 1;
		}
	} else if (rc != SQLITE_DONE) {
		ret = mix_fail(idx, rc, "read cache");
	}
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return ret;
}

int mbox_index_cache_range(struct mbox_index *idx, int64_t folder_id, int field, uint32_t uid_from,
                           unsigned max_rows, mbox_index_cache_row_fn *fn, void *ctx)
{
	/* The key is (folder, uid, field): one range of it, the other fields skipped by key. */
	sqlite3_stmt *st = mix_stmt(idx, MIX_CACHE_RANGE,
	                            "SELECT uid, value FROM cache WHERE folder = ?1 AND uid >= ?2"
	                            " AND field = ?3 ORDER BY uid LIMIT ?4");
	int rc, count = 0;

	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, folder_id);
	sqlite3_bind_int64(st, 2, uid_from);
	sqlite3_bind_int(st, 3, field);
	sqlite3_bind_int(st, 4, (int)max_rows);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		count++;
		if (fn((uint32_t)sqlite3_column_int64(st, 0), sqlite3_column_blob(st, 1),
		       (size_t)sqlite3_column_bytes(st, 1), ctx) != 0) {
			rc = SQLITE_DONE;
			break;
		}
	}
	if (rc != SQLITE_DONE)
		count = mix_fail(idx, rc, "read cache");
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return count;
}

/* ----- full text ----- */

int mbox_index_fts_set(struct mbox_index *idx, int64_t folder_id, uint32_t uid, const char *header,
                       const char *body)
{
	int64_t rowid = mix_fts_rowid(folder_id, uid);
	sqlite3_stmt *st = mix_stmt(idx, MIX_FTS_DELETE, "DELETE FROM fts WHERE rowid = ?");

	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, rowid);
	if (mix_run(idx, st, "replace text") < 0)
		return -1;
	st =
	    mix_stmt(idx, MIX_FTS_INSERT, "INSERT INTO fts (rowid, header, body) VALUES (?, ?, ?)");
	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, rowid);
	sqlite3_bind_text(st, 2, header != NULL ? header : "", -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, body != NULL ? body : "", -1, SQLITE_STATIC);
	return mix_run(idx, st, "add text");
}

/* Run once per check, not per message: not worth a prepared statement of its own. */
static int mix_count(struct mbox_index *idx, const char *sql, int64_t folder_id, uint64_t *n_r)
{
	sqlite3_stmt *st;
	int rc = sqlite3_prepare_v2(idx->sql, sql, -1, &st, NULL);

	if (rc != SQLITE_OK)
		return mix_fail(idx, rc, "count");
	sqlite3_bind_int64(st, 1, folder_id);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*n_r = (uint64_t)sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return rc == SQLITE_ROW ? 0 : mix_fail(idx, rc, "count");
}

int mbox_index_fts_missing(struct mbox_index *idx, int64_t folder_id, uint64_t *missing_r)
{
	uint64_t msgs, texts, gone;

	/* fts_docsize is FTS5's own table of one row per document (its default columnsize=1):
	   counting a rowid range of it reads a small b-tree, where counting fts itself reads
	   every document. Texts of removed messages wait in fts_gone until purged. */
	if (mix_count(idx, "SELECT count(*) FROM msgs WHERE folder = ?1", folder_id, &msgs) < 0 ||
	    mix_count(idx,
	              "SELECT count(*) FROM fts_docsize WHERE id BETWEEN ?1 << 32"
	              " AND (?1 << 32) + 4294967295",
	              folder_id, &texts) < 0 ||
	    mix_count(idx, "SELECT count(*) FROM fts_gone WHERE folder = ?1", folder_id, &gone) < 0)
		return -1;
	texts = texts > gone ? texts - gone : 0;
	*missing_r = msgs > texts ? msgs - texts : 0;
	return 0;
}

int mbox_index_fts_purge_due(struct mbox_index *idx, int64_t folder_id)
{
	sqlite3_stmt *st =
	    mix_stmt(idx, MIX_FTS_GONE_ANY, "SELECT 1 FROM fts_gone WHERE folder = ? LIMIT 1");
	int rc;

	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, folder_id);
	rc = sqlite3_step(st);
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	if (rc == SQLITE_ROW)
		return 1;
	return rc == SQLITE_DONE ? 0 : mix_fail(idx, rc, "list text to delete");
}

/* The oldest max_rows UIDs of fts_gone into uids (max_rows long). Their number, or -1. */
static int mix_gone_list(struct mbox_index *idx, int64_t folder_id, unsigned max_rows,
                         uint32_t *uids)
{
	sqlite3_stmt *st =
	    mix_stmt(idx, MIX_FTS_GONE_LIST,
	             "SELECT uid FROM fts_gone WHERE folder = ? ORDER BY uid LIMIT ?");
	int rc, count = 0;

	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, folder_id);
	sqlite3_bind_int64(st, 2, max_rows);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW && (unsigned)count < max_rows)
		uids[count++] = (uint32_t)sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return mix_fail(idx, rc, "list text to delete");
	return count;
}

static int mix_purge_one(struct mbox_index *idx, int64_t folder_id, uint32_t uid)
{
	sqlite3_stmt *st = mix_stmt(idx, MIX_FTS_PURGE,
	                            "DELETE FROM fts WHERE rowid = ?1 AND NOT EXISTS"
	                            " (SELECT 1 FROM msgs WHERE folder = ?2 AND uid = ?3)");

	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, mix_fts_rowid(folder_id, uid));
	sqlite3_bind_int64(st, 2, folder_id);
	sqlite3_bind_int64(st, 3, uid);
	if (mix_run(idx, st, "delete text") < 0)
		return -1;
	st = mix_stmt(idx, MIX_FTS_GONE_DROP, "DELETE FROM fts_gone WHERE folder = ? AND uid = ?");
	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, folder_id);
	sqlite3_bind_int64(st, 2, uid);
	return mix_run(idx, st, "delete text");
}

int mbox_index_fts_purge(struct mbox_index *idx, int64_t folder_id, unsigned max_rows)
{
	uint32_t *uids = malloc((max_rows + 1) * sizeof(*uids));
	int count;

	if (uids == NULL) {
		snprintf(idx->error, sizeof(idx->error), "out of memory");
		return -1;
	}
	/* Listed first, deleted after: the list's statement is done before the deletes. */
	count = mix_gone_list(idx, folder_id, max_rows, uids);
	for (int i = 0; i < count; i++) {
		if (mix_purge_one(idx, folder_id, uids[i]) < 0) {
			count = -1;
			break;
		}
	}
	free(uids);
	return count;
}

/* Number of UTF-8 characters (lead bytes) in s. */
static size_t mix_utf8_chars(const char *s)
{
	size_t n = 0;

	for (; *s != '\0'; s++) {
		if (((unsigned char)*s & 0xc0) != 0x80)
			n++;
	}
	return n;
}

/* needle as an FTS5 string ("..." with '"' doubled), prefixed by a column filter. */
static char *mix_fts_phrase(enum mbox_index_fts_scope scope, const char *needle)
{
	size_t len = strlen(needle);
	char *q = malloc(2 * len + 16), *o;

	if (q == NULL)
		return NULL;
	o = q;
	if (scope == MBOX_INDEX_FTS_BODY) {
		memcpy(o, "body : ", 7);
		o += 7;
	}
	*o++ = '"';
	for (const char *p = needle; *p != '\0'; p++) {
		if (*p == '"')
			*o++ = '"';
		*o++ = *p;
	}
	*o++ = '"';
	*o = '\0';
	return q;
}

/* "%needle%" with LIKE's wildcards and the escape character escaped. */
static char *mix_like_pattern(const char *needle)
{
	size_t len = strlen(needle);
	char *q = malloc(2 * len + 3), *o;

	if (q == NULL)
		return NULL;
	o = q;
	*o++ = '%';
	for (const char *p = needle; *p != '\0'; p++) {
		if (*p == '%' || *p == '_' || *p == '\\')
			*o++ = '\\';
		*o++ = *p;
	}
	*o++ = '%';
	*o = '\0';
	return q;
}

static int mix_collect(struct mbox_index *idx, sqlite3_stmt *st, uint32_t **uids_r, size_t *count_r)
{
	size_t count = 0, cap = 0;
	uint32_t *uids = NULL;
	int rc;

	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (count == cap) {
			uint32_t *more = realloc(uids, (cap = cap * 2 + 64) * sizeof(*uids));

			if (more == NULL) {
				free(uids);
				snprintf(idx->error, sizeof(idx->error), "out of memory");
				return -1;
			}
			uids = more;
		}
		uids[count++] = (uint32_t)((uint64_t)sqlite3_column_int64(st, 0) & 0xffffffffu);
	}
	if (rc != SQLITE_DONE) {
		free(uids);
		return mix_fail(idx, rc, "search text");
	}
	*uids_r = uids;
	*count_r = count;
	return 0;
}

int mbox_index_fts_indexed(struct mbox_index *idx, int64_t folder_id, uint32_t **uids_r,
                           size_t *count_r)
{
	/* fts_docsize: see mbox_index_fts_missing(). */
	sqlite3_stmt *st = mix_stmt(idx, MIX_FTS_INDEXED,
	                            "SELECT id FROM fts_docsize WHERE id BETWEEN ?1 AND ?2"
	                            " ORDER BY id");
	int ret;

	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, mix_fts_rowid(folder_id, 0));
	sqlite3_bind_int64(st, 2, mix_fts_rowid(folder_id, UINT32_MAX));
	ret = mix_collect(idx, st, uids_r, count_r);
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return ret;
}

int mbox_index_fts_search(struct mbox_index *idx, int64_t folder_id,
                          enum mbox_index_fts_scope scope, const char *needle, uint32_t **uids_r,
                          size_t *count_r)
{
	/* Trigram MATCH needs three characters; shorter needles (and the empty one, which
	   matches everything) take LIKE, which the trigram table answers case-insensitively
	   by scanning the folder's rows. */
	bool short_needle = mix_utf8_chars(needle) < 3;
	const char *sql =
	    short_needle ? (scope == MBOX_INDEX_FTS_BODY
	                        ? "SELECT rowid FROM fts WHERE rowid BETWEEN ?1 AND ?2 AND"
	                          " body LIKE ?3 ESCAPE '\\' ORDER BY rowid"
	                        : "SELECT rowid FROM fts WHERE rowid BETWEEN ?1 AND ?2 AND"
	                          " (header LIKE ?3 ESCAPE '\\' OR body LIKE ?3 ESCAPE '\\')"
	                          " ORDER BY rowid")
	                 : "SELECT rowid FROM fts WHERE fts MATCH ?3 AND rowid BETWEEN ?1 AND ?2"
	                   " ORDER BY rowid";
	char *pattern = short_needle ? mix_like_pattern(needle) : mix_fts_phrase(scope, needle);
	sqlite3_stmt *st;
	int rc, ret;

	if (pattern == NULL) {
		snprintf(idx->error, sizeof(idx->error), "out of memory");
		return -1;
	}
	rc = sqlite3_prepare_v2(idx->sql, sql, -1, &st, NULL);
	if (rc != SQLITE_OK) {
		free(pattern);
		return mix_fail(idx, rc, "search text");
	}
	sqlite3_bind_int64(st, 1, mix_fts_rowid(folder_id, 0));
	sqlite3_bind_int64(st, 2, mix_fts_rowid(folder_id, UINT32_MAX));
	sqlite3_bind_text(st, 3, pattern, -1, SQLITE_STATIC);
	ret = mix_collect(idx, st, uids_r, count_r);
	sqlite3_finalize(st);
	free(pattern);
	return ret;
}
