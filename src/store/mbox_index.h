#ifndef MAILD_MBOX_INDEX_H
#define MAILD_MBOX_INDEX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

/* The per-user mailbox index: <maildir root>/maild-index.sqlite, one file for all folders of
   one user (WAL, synchronous=NORMAL: it is a cache, a lost last transaction is rebuilt).

   It caches what the Maildir and the uid lists already say (UIDs, flags, sizes) so SELECT
   needs no scan, and holds what they cannot: modseqs, per-message cache blobs (envelope,
   bodystructure, header fields for SORT) and full text for SEARCH BODY/TEXT (FTS5, trigram
   tokenizer, so a search is a case-insensitive substring match as IMAP wants).

   A file that is corrupt or of a schema version this maild does not know is deleted and
   created afresh by mbox_index_open(); folders are then rebuilt from their uid lists.

   Every call runs on one connection that one thread uses at a time. Write calls outside
   mbox_index_begin()/mbox_index_commit() commit on their own. Errors: -1 with the message in
   mbox_index_error(); mbox_index_corrupt() says whether the file is damaged. */

#define MBOX_INDEX_FILE "maild-index.sqlite"
#define MBOX_INDEX_VERSION 3
#define MBOX_INDEX_BUSY_TIMEOUT_MS 10000

struct mbox_index;

struct mbox_index_folder {
	int64_t id;
	uint32_t uidvalidity;
	uint32_t uidnext;
	uint64_t highestmodseq;
	/* The uid list as the index last saw it: inode, size, lines. A different file means
	   someone else wrote it and the index may be behind. */
	uint64_t uidlist_ino;
	uint64_t uidlist_size;
	uint64_t uidlist_lines;
	/* The last full scan of cur/ and new/ (0: none): their mtimes before it, when it started
	   (ns since the epoch), and highestmodseq after it. */
	int64_t scan_cur_mtime_ns;
	int64_t scan_new_mtime_ns;
	int64_t scan_started_ns;
	uint64_t scan_modseq;
	/* Changes with every batch that writes the folder's message rows; starts random, so a
	   folder built again (or an index deleted and rebuilt) does not repeat old values.
	   Read only: mbox_index_folder_put() leaves it alone. */
	uint64_t msgs_gen;
};

struct mbox_index_msg {
	uint32_t uid;
	/* Current file name in cur/; its base is the part before the first ':'. */
	const char *name;
	uint8_t flags;
	uint32_t keywords;
	uint64_t modseq;
	uint64_t size;
	uint64_t vsize;
	/* 0: not known yet. */
	int64_t internaldate;
};

/* Open or create root's index. A damaged file or an unknown version is removed (with its
   -wal and -shm) and created again. 0, or -1 with *error_r (malloc'ed, caller frees). */
int mbox_index_open(const char *maildir_root, struct mbox_index **idx_r, char **error_r);
void mbox_index_close(struct mbox_index **idxp);
/* A batch (mbox_index_begin) is open. */
bool mbox_index_in_transaction(const struct mbox_index *idx);
/* Close and delete the file, then open afresh: after mbox_index_corrupt(). */
int mbox_index_recreate(struct mbox_index **idxp, char **error_r);

const char *mbox_index_error(const struct mbox_index *idx);
bool mbox_index_corrupt(const struct mbox_index *idx);

/* A write transaction (BEGIN IMMEDIATE). Not nested. On a background connection it first
   waits, up to MBOX_INDEX_YIELD_MAX_MS, until no other connection of this process has begun
   one for MBOX_INDEX_YIELD_QUIET_MS: a user's burst of STOREs or APPENDs goes first. */
int mbox_index_begin(struct mbox_index *idx);
/* Mark a connection as doing background work (the full-text indexer). */
void mbox_index_set_background(struct mbox_index *idx);
#define MBOX_INDEX_YIELD_QUIET_MS 100
#define MBOX_INDEX_YIELD_MAX_MS 2000
int mbox_index_commit(struct mbox_index *idx);
/* A read transaction: what is read between the two is one consistent state. */
int mbox_index_begin_read(struct mbox_index *idx);
int mbox_index_end_read(struct mbox_index *idx);
void mbox_index_rollback(struct mbox_index *idx);

/* ----- folders: name "" is INBOX, otherwise the Maildir++ directory (".Sent") ----- */

/* 1 found, 0 none, -1 error. */
int mbox_index_folder_get(struct mbox_index *idx, const char *name,
                          struct mbox_index_folder *folder_r);
/* Insert (id 0: folder->id is set) or update by id. */
int mbox_index_folder_put(struct mbox_index *idx, const char *name,
                          struct mbox_index_folder *folder);
/* Remove the folder with its messages, cache and text. */
int mbox_index_folder_drop(struct mbox_index *idx, int64_t folder_id);

/* ----- messages ----- */

int mbox_index_msg_insert(struct mbox_index *idx, int64_t folder_id,
                          const struct mbox_index_msg *msg);
int mbox_index_msg_set_flags(struct mbox_index *idx, int64_t folder_id, uint32_t uid,
                             const char *name, uint8_t flags, uint32_t keywords, uint64_t modseq);
/* Record what was learned lazily: RFC822.SIZE and INTERNALDATE. */
int mbox_index_msg_set_lazy(struct mbox_index *idx, int64_t folder_id, uint32_t uid, uint64_t vsize,
                            int64_t internaldate);
/* Removes the message's cache blobs too; its text is left for mbox_index_fts_purge(). */
int mbox_index_msg_delete(struct mbox_index *idx, int64_t folder_id, uint32_t uid);
/* mbox_index_msg_delete() of every UID from first to last: a few statements for a run of
   UIDs, where one per message costs more than the deleting. */
int mbox_index_msg_delete_range(struct mbox_index *idx, int64_t folder_id, uint32_t first,
                                uint32_t last);
/* One message by UID; name_buf receives the name. 1, 0 or -1. */
int mbox_index_msg_get(struct mbox_index *idx, int64_t folder_id, uint32_t uid,
                       struct mbox_index_msg *msg_r, char *name_buf, size_t size);

/* The folder's number of message rows. 0 or -1. */
int mbox_index_msg_count(struct mbox_index *idx, int64_t folder_id, uint64_t *count_r);

/* Called per message with UID > min_uid, ascending; msg->name lives for the call only.
   A non-zero return from cb stops the walk and is returned. */
typedef int mbox_index_msg_cb(const struct mbox_index_msg *msg, void *ctx);
int mbox_index_msg_iter(struct mbox_index *idx, int64_t folder_id, uint32_t min_uid,
                        mbox_index_msg_cb *cb, void *ctx);

/* ----- cache blobs ----- */

int mbox_index_cache_set(struct mbox_index *idx, int64_t folder_id, uint32_t uid, int field,
                         const void *data, size_t len);
/* 1 with a malloc'ed copy in *data_r (NUL-terminated, *len_r without it), 0 none, -1. */
int mbox_index_cache_get(struct mbox_index *idx, int64_t folder_id, uint32_t uid, int field,
                         void **data_r, size_t *len_r);
/* fn(uid, value, len, ctx) for up to max_rows cached values of field, UIDs from uid_from
   ascending, in one statement (one read transaction). The value is valid during the call
   only; fn returns 0 to go on. Returns the number of rows given, or -1. */
typedef int mbox_index_cache_row_fn(uint32_t uid, const void *value, size_t len, void *ctx);
int mbox_index_cache_range(struct mbox_index *idx, int64_t folder_id, int field, uint32_t uid_from,
                           unsigned max_rows, mbox_index_cache_row_fn *fn, void *ctx);

/* ----- full text ----- */

enum mbox_index_fts_scope {
	MBOX_INDEX_FTS_BODY, /* IMAP SEARCH BODY */
	MBOX_INDEX_FTS_TEXT, /* IMAP SEARCH TEXT: header and body */
};

/* Replace the text of a message (UTF-8; header may be NULL). */
int mbox_index_fts_set(struct mbox_index *idx, int64_t folder_id, uint32_t uid, const char *header,
                       const char *body);
/* UIDs (ascending, malloc'ed) of the folder's messages that have text, with those of removed
   messages not purged yet: one walk of FTS5's small per-document table. */
int mbox_index_fts_indexed(struct mbox_index *idx, int64_t folder_id, uint32_t **uids_r,
                           size_t *count_r);
/* Delete the text of up to max_rows removed messages (mbox_index_msg_delete() leaves it),
   oldest UIDs first; a UID the folder has again (a row written back after a lost expunge)
   keeps its text. The number of removed messages handled: below max_rows, none is left.
   Inside the caller's transaction, or -1. */
int mbox_index_fts_purge(struct mbox_index *idx, int64_t folder_id, unsigned max_rows);
/* About how many of the folder's messages have no text in the index (rows less texts of
   messages still there). 0 or -1. */
int mbox_index_fts_missing(struct mbox_index *idx, int64_t folder_id, uint64_t *missing_r);
/* 1 when mbox_index_fts_purge() has something to do, 0 when not (no write lock taken), -1. */
int mbox_index_fts_purge_due(struct mbox_index *idx, int64_t folder_id);
/* UIDs (ascending, malloc'ed) of the folder's messages whose text contains needle,
   case-insensitively; with those of removed messages not purged yet, which the caller's
   messages do not have. */
int mbox_index_fts_search(struct mbox_index *idx, int64_t folder_id,
                          enum mbox_index_fts_scope scope, const char *needle, uint32_t **uids_r,
                          size_t *count_r);

#endif
