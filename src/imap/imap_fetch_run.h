#ifndef MAILD_IMAP_FETCH_RUN_H
#define MAILD_IMAP_FETCH_RUN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../store/mbox.h"
#include "imap_fetch.h"

/*
 * One FETCH under way over a selected folder (imap_fetch_run.c): the responses for the
 * messages of a set, produced batch by batch into run->out.
 *
 * imap_fetch_run_batch() blocks on the disk and the index whenever the plan needs more than
 * the folder's memory (imap_fetch_run_memory_only() false): call it from a thread-pool job
 * then. It goes on from where the previous batch stopped, also in the middle of a literal, so
 * a message of any size is written in pieces of about budget octets with its file mapped
 * (never copied whole) between batches. The mapping's pages are released after each batch
 * (they are re-read from the file when needed), which bounds the memory a FETCH holds to its
 * output buffer, its current message's parse and one batch of mapped pages.
 */

/* Output produced per batch, and messages handled per batch at most. */
#define IMAP_FETCH_BATCH_BYTES (256u * 1024u)
#define IMAP_FETCH_BATCH_MSGS 2000u
/* Cache entries held for one index transaction, in octets: a batch ends early past it. */
#define IMAP_FETCH_CACHE_BYTES (1024u * 1024u)
/* Messages whose \Seen is stored at once (one mbox_store, one modseq). */
#define IMAP_FETCH_SEEN_WINDOW 256u

struct imap_fetch_msg;
struct imap_fetch_cache;

struct imap_fetch_run {
	/* set before the first batch */
	struct mbox *mb;
	struct imap_fetch_plan plan;
	uint32_t *uids; /* ascending, malloc'ed */
	size_t n;
	bool readonly;  /* EXAMINE: no \Seen */
	bool condstore; /* MODSEQ with flags that changed */
	/* progress */
	size_t idx;        /* next message to start */
	uint32_t last_seq; /* of the message started last */
	struct imap_fetch_msg *cur;
	size_t seen_upto;       /* \Seen stored for uids[..seen_upto) */
	uint32_t *seen_changed; /* UIDs of the window whose \Seen this FETCH set */
	size_t seen_changed_n;
	struct imap_fetch_cache *cache; /* cache entries to write at the end of the batch */
	size_t cache_n, cache_cap, cache_bytes;
	struct mbox_cache_run *lines_run; /* header lines entries, a chunk of messages at a time */
	/* results */
	struct mime_buf out; /* this batch's responses */
	bool done;
	bool expunged;    /* some messages were gone (EXPUNGEISSUED) */
	bool failed;      /* some could not be read (logged) */
	bool unknown_cte; /* stopped: BINARY of an unknown encoding */
	bool seen_set;    /* \Seen was stored for some message */
	char error[256];  /* the first failure, for the log */
};

/* The plan needs only UID, FLAGS and MODSEQ: batches read memory alone (any thread). */
bool imap_fetch_run_memory_only(const struct imap_fetch_run *run);
/* Append the next batch of responses to run->out (about budget octets); run->done at the end. */
void imap_fetch_run_batch(struct imap_fetch_run *run, size_t budget);
/* Release everything (the mailbox handle is the caller's). */
void imap_fetch_run_free(struct imap_fetch_run **runp);

#endif
