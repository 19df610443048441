#ifndef MAILD_MBOX_PRIVATE_H
#define MAILD_MBOX_PRIVATE_H

/* Shared by the mbox*.c files only. */

#include <stdarg.h>
#include <sys/stat.h>

#include "mbox.h"
#include "mbox_index.h"
#include "mbox_keywords.h"
#include "mbox_uidlist.h"

/* mbox_msg.state bits */
#define MBOX_MSG_RECENT 0x01
/* Listed by the current sync's scan. */
#define MBOX_MSG_LISTED 0x02
/* vsize or internaldate learned since the index last had them. */
#define MBOX_MSG_DIRTY 0x04
/* The name was updated after another program renamed the file, the flags not yet: the
   flags in the name are the current ones. */
#define MBOX_MSG_STALE 0x08

/* One message in memory. 64 bytes on LP64 plus the malloc'ed name. */
struct mbox_msg {
	/* File name in cur/; the first base_len bytes are the base. */
	char *name;
	/* mbox_name_key() of name: lets a sync tell an unchanged file without reading name. */
	uint64_t name_hash;
	uint64_t modseq;
	uint64_t size;
	/* 0: not known yet (no W= in the name). */
	uint64_t vsize;
	/* 0: not known yet. */
	int64_t internaldate;
	uint32_t uid;
	uint32_t keywords;
	uint16_t base_len;
	uint8_t flags;
	uint8_t state;
};

struct mbox {
	char *root;
	char *folder;
	char *path;
	int dir_fd, cur_fd, new_fd, tmp_fd;
	int lock_fd;
	bool locked;
	bool is_trash;
	struct mbox_index *idx;
	struct mbox_index_folder fi;

	struct mbox_msg *msgs;
	uint32_t count, cap;
	/* The names of a folder loaded from its snapshot, in one block: a name inside it is not
	   freed alone (mbox_msg_name_free()). */
	char *name_pool;
	size_t name_pool_len;
	/* The snapshot's read-only mapping, which holds name_pool. */
	void *snapshot_map;
	size_t snapshot_map_len;
	/* Open addressing on the base: a slot is the high 32 bits of the base's hash (a tag
	   compared before any message is touched) and the message index + 1; 0 empty. */
	uint64_t *hash;
	uint32_t hash_mask;
	bool hash_dirty;
	uint32_t dirty_count;

	struct mbox_keywords kw;
	struct stat kw_st;

	/* The last scans: directory mtimes seen before them (cur/'s moved on by this handle's
	   own changes, mbox_own_end()) and when they started (CLOCK_REALTIME, as mtimes are). */
	bool scanned;
	struct timespec cur_mtime, new_mtime;
	struct timespec cur_scanned, new_scanned;
	/* The last mbox_sync() left a scan for later (see mbox_sync_deferred()). */
	bool sync_deferred;

	/* Messages this handle put into cur/ (APPEND) that its array does not hold yet: the
	   next sync adds them without reading cur/. */
	struct mbox_new *own_news;
	size_t own_news_count, own_news_cap;

	/* MBOX_OPEN_DEFER_ROWS, until the open's sync is done. */
	bool defer_rows;
	/* MBOX_OPEN_LEAVE_NEW: syncs never move files out of new/. */
	bool leave_new;
	bool background; /* MBOX_OPEN_BACKGROUND */
	/* A sync's rows job being filled (mbox_rows_job.c); mb->idx is its connection. */
	struct mbox_rows_job *rows_job;

	char error[512];
};

int mbox_fail(struct mbox *mb, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The index connection, opened again after mbox_suspend(). Every entry point that may touch
   the index calls it first. 0 or -1. */
int mbox_resume(struct mbox *mb);
/* mbox_fail() with the index's message. */
int mbox_fail_index(struct mbox *mb);

/* ----- mbox_snapshot.c: the folder's rows as one file ----- */

#define MBOX_SNAPSHOT_FILE "maild-snapshot"
/* Below this, SQLite loads a folder about as fast as the file would. */
#define MBOX_SNAPSHOT_MIN_MESSAGES 1000
/* 4 GiB of names is past any folder a snapshot can describe (32-bit offsets). */
#define MBOX_SNAPSHOT_MAX ((uint64_t)1 << 32)

/* Load the array from the snapshot when it carries mb->fi's stamp. 1 loaded, 0 not (no
   file, another stamp, damaged: the caller reads the index). */
int mbox_snapshot_load(struct mbox *mb);
/* Write the array, just read from the index at mb->fi, as the snapshot. Best effort. */
void mbox_snapshot_write(struct mbox *mb);
/* The same for count messages (ascending UIDs, name_hash and base_len set) that are every
   row of folder fi as committed with fi's stamp. */
void mbox_snapshot_write_msgs(int dir_fd, const struct mbox_msg *msgs, uint32_t count,
                              const struct mbox_index_folder *fi);
/* free() unless name lives in the snapshot's block. */
void mbox_msg_name_free(struct mbox *mb, char *name);

/* ----- mbox_msgs.c: the in-memory array ----- */

/* Index of uid in msgs, or -1. */
ssize_t mbox_msgs_find(const struct mbox *mb, uint32_t uid);
/* Append (UID above every other) or insert in UID order; takes ownership of name. */
int mbox_msgs_add(struct mbox *mb, const struct mbox_msg *msg);
/* Free every message and the table. */
void mbox_msgs_free(struct mbox *mb);
struct mbox_new;
/* Add n (its UID given) unless a message has that UID; takes n's name when added. 1 added,
   0 there already, -1. */
int mbox_msgs_add_new(struct mbox *mb, struct mbox_new *n);
void mbox_news_sort_by_uid(struct mbox_new *news, size_t count);
/* Replace msg's name by name, taking ownership. */
void mbox_msg_take_name(struct mbox *mb, struct mbox_msg *msg, char *name);
/* Replace msg's name by a copy of name. 0 or -1. */
int mbox_msg_set_name(struct mbox *mb, struct mbox_msg *msg, const char *name);
/* A file name as the sync's hash table sees it, computed in one pass. */
struct mbox_name_key {
	size_t base_len;
	uint64_t base_hash;
	uint64_t name_hash;
};
void mbox_name_key(const char *name, struct mbox_name_key *key_r);
/* Hash table of the bases, rebuilt when dirty. 0 or -1. */
int mbox_hash_build(struct mbox *mb);
/* Index of the message with name's base, or -1. *same_name_r: the message's name is name.
   A message whose base tag, position and 64-bit name hash all match is taken as the same
   without comparing bytes (a false match needs a 96-bit collision); otherwise the base is
   compared byte for byte. */
ssize_t mbox_hash_find(const struct mbox *mb, const char *name, const struct mbox_name_key *key,
                       bool *same_name_r);
/* The length of name's base (up to the first ':'). */
size_t mbox_base_len(const char *name);
/* Flush learned vsizes and internal dates to the index (inside the caller's transaction). */
int mbox_msgs_flush_dirty(struct mbox *mb);

/* ----- mbox_assign.c: the folder lock (flock on MBOX_UIDLIST_LOCK_FILE) ----- */

int mbox_lock(struct mbox *mb);
void mbox_unlock(struct mbox *mb);

/* ----- mbox_assign.c: UIDs (folder lock and index transaction held) ----- */

/* A file that needs a UID. */
struct mbox_new {
	char *name; /* in cur/; owned */
	uint32_t uid;
	uint8_t flags;
	uint32_t keywords;
	bool recent;
	uint64_t modseq;
	uint64_t size;
	uint64_t vsize;
	int64_t internaldate;
};

/* Give each of news a UID: the one the index or the uid list already has for its base
   (another handle's or a crash's), else the next free one, in array order. New UIDs are
   appended to the uid list (durably) and every entry is written to the index with modseq
   (or keeps the index's). mb->fi is updated but not written. 0 or -1. */
int mbox_assign_locked(struct mbox *mb, struct mbox_new *news, size_t count, uint64_t modseq);
/* Write the uid list afresh from the index's rows and mb->fi; mb->fi records the file. */
int mbox_uidlist_rewrite_locked(struct mbox *mb);
/* mbox_assign_locked() with the lock and a transaction of its own, for files this handle
   just placed in cur/ (append, copy): they get one new modseq. 0 or -1. */
int mbox_assign(struct mbox *mb, struct mbox_new *news, size_t count);
/* Rewrite the uid list from the index when it holds many lines of removed messages, the
   folder having live messages. */
int mbox_uidlist_maybe_compact_locked(struct mbox *mb, uint32_t live);
/* Whether mbox_uidlist_maybe_compact_locked() would rewrite. */
bool mbox_uidlist_needs_compact(const struct mbox *mb, uint32_t live);

/* ----- mbox_rows_job.c: a big first sync's rows, written by a thread ----- */

/* Fewer rows go in with the sync: a thread would save nothing. */
#define MBOX_ROWS_JOB_MIN 1000

struct mbox_rows_job;
/* Open a connection of the job's own, take the index's write lock on it and make it mb->idx
   for the sync's writes. The folder lock must be held. 0 or -1. */
int mbox_rows_job_begin(struct mbox *mb);
/* A message row for the thread instead of the index. 0 or -1. */
int mbox_rows_job_add(struct mbox *mb, const struct mbox_index_msg *row);
/* Whether the job has rows the index does not have yet. */
bool mbox_rows_job_holds_rows(const struct mbox *mb);
/* Hand the transaction, the rows and the folder lock to a thread that inserts the rows,
   commits and unlocks; mb gets its own connection back. 0 or -1. */
int mbox_rows_job_start(struct mbox *mb);
/* Roll the job's transaction back; mb gets its own connection back. */
void mbox_rows_job_abort(struct mbox *mb);
/* Until no thread of this process writes rows of the folder at path: a handle opened
   meanwhile would find every file new and give each the UID the rows already have, one
   lookup at a time, instead of loading them. */
void mbox_rows_job_wait_folder(const char *path);
/* Tests: the thread sleeps this long before it writes. */
void mbox_rows_job_test_delay(unsigned int ms);

/* ----- mbox_sync.c ----- */

/* At open, after mbox_load(): the index's record of the last full scan (any handle's)
   still holds (cur/'s mtime unchanged and settled, no index change since), so the handle
   knows cur/ without reading it. Whether it did. */
bool mbox_sync_trust_record(struct mbox *mb);

/* ----- mbox_own.c: this handle's own changes to cur/ ----- */

/* Bracket a change this handle makes to cur/ (rename, unlink, new file) that its memory
   follows by itself. When cur/ was as the last scan recorded it before the change, the
   record moves on to cur/'s mtime after it, so the next sync does not read 100,000 names to
   learn what it already knows. A change by another program inside the bracket is hidden
   by that, but the record is then less than a second old, and a sync scans again once that
   second has passed (mbox_sync()). */
struct mbox_own {
	bool known;
};
void mbox_own_begin(struct mbox *mb, struct mbox_own *own);
void mbox_own_end(struct mbox *mb, const struct mbox_own *own);
/* Keep n (its name taken over) for the next sync to add. 0 or -1. */
int mbox_own_add(struct mbox *mb, struct mbox_new *n);
/* Add the kept messages to the array, reporting them in ch (allocated here). 0 or -1. */
int mbox_own_apply(struct mbox *mb, struct mbox_changes *ch);
/* Forget the kept messages: a scan finds their files. */
void mbox_own_clear(struct mbox *mb);

/* ----- mbox_load.c ----- */

/* Load the folder from the index, rebuilding its rows first when the index has none. */
int mbox_load(struct mbox *mb);

/* ----- mbox_msgs.c: message files ----- */

/* The current name in cur/ of the message with this base, by reading cur/. 1 found (into
   name_r), 0 gone, -1. */
int mbox_find_renamed(struct mbox *mb, const char *base, size_t base_len, char *name_r,
                      size_t size);
/* Make msg's name current after an ENOENT (marking it MBOX_MSG_STALE). 1 found, 0 gone,
   -1. */
int mbox_msg_refresh_name(struct mbox *mb, struct mbox_msg *msg);

/* ----- mbox_unlink.c ----- */

/* unlinkat(dir_fd, names[i], 0) for each of the count names, several at a time (in no
   particular order); errnos_r[i] is 0 when names[i] was removed, else the call's errno. */
void mbox_unlink_all(int dir_fd, char *const *names, size_t count, int *errnos_r);

/* Read dovecot-keywords again when it changed. */
int mbox_keywords_refresh(struct mbox *mb);

/* RFC822.SIZE of n more bytes: every LF not after a CR counts two; *prev carries the
   last byte across calls (start with '\0'). */
static inline uint64_t mbox_vsize_add(const char *buf, size_t n, char *prev)
{
	uint64_t v = n;

	for (size_t i = 0; i < n; i++) {
		if (buf[i] == '\n' && *prev != '\r')
			v++;
		*prev = buf[i];
	}
	return v;
}

/* Size of a message file from its name's S= or by stat in cur/. 0 or -1. */
int mbox_file_size(struct mbox *mb, const char *name, uint64_t *size_r, uint64_t *vsize_r);

#endif
