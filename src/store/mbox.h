#ifndef MAILD_MBOX_H
#define MAILD_MBOX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "maildir_quota.h"
#include "mbox_flags.h"

/* One folder of one user's Maildir++, as the IMAP server sees it.

   The Maildir is the truth: a message is a file in cur/ (new/ files are moved there by
   mbox_sync()), its flags are the letters after ":2," in the file name (mbox_flags.h), and
   files are never rewritten. UIDs and UIDVALIDITY live in the folder's maild-uidlist
   (mbox_uidlist.h); keyword names in its dovecot-keywords (mbox_keywords.h). Everything
   else (modseqs, sizes, cache blobs, full text) is in the user's index
   <root>/maild-index.sqlite (mbox_index.h), a cache: delete it and it is rebuilt, with the
   same UIDs, from the uid list. A folder of a Dovecot Maildir (dovecot-uidlist present, no
   maild-uidlist) keeps Dovecot's UIDVALIDITY, UIDs and next UID.

   In memory a folder is an array of messages sorted by UID: sequence number n is element
   n - 1, so seq -> UID is O(1) and UID -> seq a binary search. About 56 bytes per message
   plus its file name (and 8 for the sync's hash table).

   Other programs (mutt, Dovecot, our delivery worker, another maild session) may add,
   remove and rename files at any time; mbox_sync() notices. UIDs are assigned under an
   flock on <folder>/maild-uidlist.lock, always in ascending order, recorded durably in the
   uid list before they are reported.

   Synchronous and blocking (file system and SQLite): run it off the event loop. A handle is
   used by one thread at a time; several handles on one folder (several sessions, several
   processes) are fine. Functions return -1 on error with a one-line message in
   mbox_error(). */

/* mbox_append() and mbox_copy(): the quota would be exceeded (IMAP [OVERQUOTA]). */
#define MBOX_OVER_QUOTA (-2)

struct mbox;

/* Open folder of the Maildir++ at maildir_root: "" for INBOX, otherwise the folder's
   directory name (".Sent", ".Archive.2024"). The folder is loaded from the index (rebuilt
   first when the index lacks it or is damaged) and synced once; messages moved from new/ by
   that sync count as \Recent for this handle. 0, or -1 with *error_r (malloc'ed). */
int mbox_open(const char *maildir_root, const char *folder, struct mbox **mb_r, char **error_r);
/* mbox_open(), except that when its sync finds many files the index has no row for (a
   folder never opened, a deleted index), it returns once their UIDs are in the uid list and
   a thread of its own inserts the rows. Until that thread commits, the index's write lock
   and the folder lock are its, so every write of any handle to the user's index, and every
   UID assignment in the folder, waits for it; reads see the index as before. For SELECT:
   the reply need not wait for 100,000 rows of cache. The process waits for such threads
   with mbox_rows_jobs_wait() before it exits. */
#define MBOX_OPEN_DEFER_ROWS 0x01u
/* Its syncs leave new/ alone: a handle that only reads for itself (background indexing) must
   not make new mail lose \Recent for the user's own session, which moves it. */
#define MBOX_OPEN_LEAVE_NEW 0x02u
/* Its index writes give way to those of the process's other handles (mbox_index_begin()):
   background work must not slow a user's commands down. */
#define MBOX_OPEN_BACKGROUND 0x04u
int mbox_open_flags(const char *maildir_root, const char *folder, unsigned int flags,
                    struct mbox **mb_r, char **error_r);
/* Until every thread started by MBOX_OPEN_DEFER_ROWS opens has committed (or failed, which
   it logs). */
void mbox_rows_jobs_wait(void);
void mbox_close(struct mbox **mbp);
/* Close the handle's index connection (some 90 KiB of SQLite state) until the next call that
   needs it opens it again: for a session that may sit idle for hours (IDLE). Not inside a
   batch (then nothing is closed). Blocking (a WAL checkpoint may run): off the event loop. */
void mbox_suspend(struct mbox *mb);
const char *mbox_error(const struct mbox *mb);

/* ----- syncing ----- */

struct mbox_changes {
	/* Removed messages: their sequence numbers as they were, in descending order, so the
	   caller can send "* <seq> EXPUNGE" for each in turn without adjusting; uids[i]
	   belongs to seqs[i]. */
	uint32_t *expunged_seqs;
	uint32_t *expunged_uids;
	size_t expunged_count;
	/* UIDs whose flags changed by another program or handle (FETCH FLAGS), ascending. */
	uint32_t *changed;
	size_t changed_count;
	/* UIDs of new messages, ascending; the caller announces "* <count> EXISTS". */
	uint32_t *added;
	size_t added_count;
	/* Those of the added that are \Recent for this handle (moved from new/ by it). */
	uint32_t *recent;
	size_t recent_count;
};

void mbox_changes_free(struct mbox_changes *changes);

enum mbox_sync_flags {
	/* Scan even when neither cur/ nor new/ changed since the last scan. */
	MBOX_SYNC_FORCE = 1 << 0,
};

/* Bring the handle up to date with the folder: moves new/ files into cur/ (adding ":2,"),
   gives UIDs to unknown files (ordered by file name: delivery order), notices removed files
   and flags changed by renames. Without MBOX_SYNC_FORCE a sync whose cur/ and new/ are
   unchanged since the last scan (directory mtimes) reads nothing; mtimes younger than a
   second are read again at most once a second (mbox_sync_deferred()). changes_r is filled
   (free it with mbox_changes_free()) and may be NULL. 0 or -1. */
int mbox_sync(struct mbox *mb, unsigned int flags, struct mbox_changes *changes_r);
/* The last mbox_sync() left a scan for a second later: a change another program made in
   the same clock tick as the last known one is found only by a sync after that, so a
   session that waits (IDLE) syncs again then. */
bool mbox_sync_deferred(const struct mbox *mb);

/* ----- the folder ----- */

uint32_t mbox_uidvalidity(const struct mbox *mb);
uint32_t mbox_uidnext(const struct mbox *mb);
uint64_t mbox_highestmodseq(const struct mbox *mb);
uint32_t mbox_count(const struct mbox *mb);

struct mbox_counts {
	uint32_t messages;
	uint32_t recent;
	uint32_t unseen;
	/* Sequence number of the first message without \Seen, 0 when none. */
	uint32_t first_unseen;
	/* Sum of the file sizes (S=). */
	uint64_t bytes;
};
void mbox_counts(const struct mbox *mb, struct mbox_counts *counts_r);

/* ----- messages by sequence number (1..mbox_count()) ----- */

/* UID of seq, 0 when out of range. */
uint32_t mbox_uid(const struct mbox *mb, uint32_t seq);
/* Sequence number of uid, 0 when there is no such message. */
uint32_t mbox_seq(const struct mbox *mb, uint32_t uid);
/* The sequence range of messages with lo <= UID <= hi: 1 with *first_r..*last_r, 0 when
   none. For UID sets ("UID FETCH 100:*"). */
int mbox_seq_range(const struct mbox *mb, uint32_t lo, uint32_t hi, uint32_t *first_r,
                   uint32_t *last_r);

struct mbox_msg_info {
	uint32_t uid;
	uint8_t flags;     /* enum mbox_flag */
	uint32_t keywords; /* bit i: keyword i (mbox_keyword_name()) */
	bool recent;
	uint64_t modseq;
	uint64_t size; /* bytes in the file */
	/* File name in cur/ (valid until the next call that changes the folder). */
	const char *name;
};
/* 1, or 0 when seq is out of range. */
int mbox_msg(const struct mbox *mb, uint32_t seq, struct mbox_msg_info *info_r);

/* RFC822.SIZE: W= from the file name, else counted from the file (every bare LF as CRLF)
   and remembered. 0 or -1. */
int mbox_msg_vsize(struct mbox *mb, uint32_t seq, uint64_t *vsize_r);
/* INTERNALDATE: the file's mtime, as Dovecot has it; remembered in the index. 0 or -1. */
int mbox_msg_internaldate(struct mbox *mb, uint32_t seq, time_t *date_r);
/* "<folder>/cur/<name>" (the name may be stale if another program renamed the file since
   the last sync: prefer mbox_msg_open()). 0, or -1 when it does not fit. */
int mbox_msg_path(const struct mbox *mb, uint32_t seq, char *path, size_t size);
/* Open the message's file read-only (O_CLOEXEC), following a rename made by another program
   since the last sync. The fd, or -1 (errno ENOENT when the file is gone: expunged by
   someone else; the next sync reports it). */
int mbox_msg_open(struct mbox *mb, uint32_t seq);

/* ----- keywords ----- */

/* Keyword index of name (case-insensitive), or -1. */
int mbox_keyword_find(const struct mbox *mb, const char *name);
/* The name of keyword index idx (0..25), NULL when unused. */
const char *mbox_keyword_name(const struct mbox *mb, unsigned int idx);
/* Index of name, created when new (written to dovecot-keywords). 1 found or created, 0 when
   all 26 letters are taken or name is not a valid keyword, -1 on error. */
int mbox_keyword_add(struct mbox *mb, const char *name, unsigned int *idx_r);

/* ----- changing messages ----- */

enum mbox_store_mode {
	MBOX_STORE_SET,
	MBOX_STORE_ADD,
	MBOX_STORE_REMOVE,
};

struct mbox_store_req {
	enum mbox_store_mode mode;
	uint8_t flags;     /* enum mbox_flag */
	uint32_t keywords; /* keyword indexes */
	/* RFC 7162 UNCHANGEDSINCE: a message whose modseq is greater is not changed. */
	bool unchangedsince_set;
	uint64_t unchangedsince;
};

struct mbox_store_result {
	/* UIDs whose flags changed (ascending) and UIDs that failed UNCHANGEDSINCE (the
	   MODIFIED response code). UIDs not in the folder are ignored. */
	uint32_t *changed;
	size_t changed_count;
	uint32_t *failed;
	size_t failed_count;
	/* The modseq given to the changed messages (0 when none changed). */
	uint64_t modseq;
};
void mbox_store_result_free(struct mbox_store_result *result);

/* Change the flags of the messages with these UIDs by renaming their files. A file renamed
   by another program meanwhile is looked up again and its current flags are the ones
   changed. All changed messages get one new modseq. 0 or -1 (some messages may then be
   changed: result_r says which). */
int mbox_store(struct mbox *mb, const uint32_t *uids, size_t count,
               const struct mbox_store_req *req, struct mbox_store_result *result_r);

/* Remove the messages with these UIDs: files unlinked, quota (maildirsize of the root,
   except for .Trash) and index updated. changes_r gets the expunged sequence numbers and
   UIDs (only those; other fields empty). 0 or -1. */
int mbox_expunge(struct mbox *mb, const uint32_t *uids, size_t count,
                 struct mbox_changes *changes_r);

struct mbox_append_req {
	/* The message: data/len, or fd (a regular file read from offset 0 to EOF) when data is
	   NULL. Stored as is: give it CRLF line endings (see maildir_name.h). */
	const void *data;
	size_t len;
	int fd;
	uint8_t flags;
	uint32_t keywords;
	/* INTERNALDATE, 0 for now. */
	time_t internaldate;
	/* Quota of the account, NULL for none. Not checked for .Trash. */
	const struct maildir_quota_limit *quota;
	enum maildir_quota_policy policy;
};

/* Store a new message: tmp/ file, fsync, mtime set to the internal date, renamed into cur/
   with its flags, cur/ fsynced, UID assigned. The message is seen by the next mbox_sync().
   0 with *uid_r (APPENDUID), MBOX_OVER_QUOTA, or -1. */
int mbox_append(struct mbox *mb, const struct mbox_append_req *req, uint32_t *uid_r);

/* Copy the messages with these UIDs (ascending, all in src) into dst: hard links when src
   and dst share a file system, copies otherwise; flags and keywords (by name) kept.
   dst_uids_r[i] gets the new UID of uids[i] (COPYUID), 0 for a UID not in src. The quota
   is checked for all of them first. 0, MBOX_OVER_QUOTA or -1. */
int mbox_copy(struct mbox *src, const uint32_t *uids, size_t count, struct mbox *dst,
              const struct maildir_quota_limit *quota, enum maildir_quota_policy policy,
              uint32_t *dst_uids_r);
/* mbox_copy() then mbox_expunge() of the copied messages from src (changes_r as there). */
int mbox_move(struct mbox *src, const uint32_t *uids, size_t count, struct mbox *dst,
              const struct maildir_quota_limit *quota, enum maildir_quota_policy policy,
              uint32_t *dst_uids_r, struct mbox_changes *changes_r);

/* ----- cached data, filled lazily by the caller ----- */

enum mbox_cache_field {
	MBOX_CACHE_ENVELOPE = 1,
	MBOX_CACHE_BODYSTRUCTURE,
	MBOX_CACHE_BODY,
	MBOX_CACHE_HDR_DATE,
	MBOX_CACHE_HDR_SUBJECT,
	MBOX_CACHE_HDR_FROM,
	MBOX_CACHE_HDR_TO,
	MBOX_CACHE_HDR_CC,
	MBOX_CACHE_HDR_MESSAGE_ID,
	MBOX_CACHE_HDR_REFERENCES,
	MBOX_CACHE_HDR_IN_REPLY_TO,
	/* The raw lines of a fixed set of header fields (mime_hdrcache.h); an empty value when
	   they are too long to keep. Stored numbers: a change of the set takes a new number. */
	MBOX_CACHE_HDR_LINES = 12,
};

int mbox_cache_set(struct mbox *mb, uint32_t uid, enum mbox_cache_field field, const void *data,
                   size_t len);
/* 1 with a malloc'ed copy (NUL-terminated; *len_r excludes the NUL), 0 not cached, -1. */
int mbox_cache_get(struct mbox *mb, uint32_t uid, enum mbox_cache_field field, void **data_r,
                   size_t *len_r);
/* mbox_cache_get() for messages visited in ascending UID order (a SEARCH or SORT over the
   folder): the values come from the index a chunk at a time. A lower UID than the last one
   asked for is looked up alone. NULL when out of memory. */
struct mbox_cache_run;
struct mbox_cache_run *mbox_cache_run_new(struct mbox *mb, enum mbox_cache_field field);
int mbox_cache_run_get(struct mbox_cache_run *run, uint32_t uid, void **data_r, size_t *len_r);
void mbox_cache_run_free(struct mbox_cache_run **run);

enum mbox_search_scope {
	MBOX_SEARCH_BODY, /* SEARCH BODY: the body text */
	MBOX_SEARCH_TEXT, /* SEARCH TEXT: header and body */
};

/* Index the decoded text (UTF-8) of a message; header may be NULL. Replaces earlier text. */
int mbox_fts_set(struct mbox *mb, uint32_t uid, const char *header, const char *body);
/* UIDs of the messages whose text is indexed, ascending, malloc'ed (NULL when none); with
   UIDs of messages removed and not purged yet. Milliseconds for 100,000. 0 or -1. */
int mbox_fts_indexed(struct mbox *mb, uint32_t **uids_r, size_t *count_r);
/* About how many messages of folder (as for mbox_open()) the full-text index lacks, read
   without opening the folder: a few milliseconds for 100,000 messages. A folder the index
   does not know yet counts 0. 0, or -1 with *error_r (malloc'ed). */
int mbox_fts_missing(const char *maildir_root, const char *folder, uint64_t *missing_r,
                     char **error_r);
/* Delete the text of messages removed since the last purge: an expunge leaves it, its
   deletion costing about a millisecond a message. Called before the index is brought up to
   date for a search, so that it is kept by those who use it. Several transactions, so that
   other writers of the index do not wait long. 0 or -1. */
int mbox_fts_purge(struct mbox *mb);
/* UIDs of indexed messages whose text contains needle (UTF-8, case-insensitive substring;
   needles under 3 characters fold ASCII case only), ascending, malloc'ed; with UIDs of
   messages removed and not purged yet, which mbox_seq() does not know. 0 or -1. */
int mbox_fts_search(struct mbox *mb, enum mbox_search_scope scope, const char *needle,
                    uint32_t **uids_r, size_t *count_r);

/* Group many mbox_cache_set()/mbox_fts_set() calls into one index transaction. No other
   mbox call on this handle in between. 0 or -1. */
int mbox_batch_begin(struct mbox *mb);
int mbox_batch_commit(struct mbox *mb);

#endif
