/* The full-text index of a big folder, built in the background after it is selected.

   A BODY or TEXT search answers from the index for the messages it has text of and reads the
   others directly (imap_search_match.c): correct at once, but a folder of 100,000 migrated
   messages costs seconds per search until their text is indexed, which takes minutes. So a
   SELECT of a folder with at least imap.fts_background_min messages starts a thread that
   indexes ahead of the search, as Dovecot's indexer-worker does, and so does a search that
   had to read many messages directly:
   - at the lowest CPU priority (nice 19), so sessions and deliveries on the same cores go
     first;
   - in small transactions (FTS_BATCH messages), so a session's own index writes wait for
     at most one short batch, and none begins while a session of this process has begun a
     write in the last 100 ms (MBOX_OPEN_BACKGROUND): a burst of STOREs goes first;
   - on a handle of its own that leaves new/ alone (MBOX_OPEN_LEAVE_NEW): new mail keeps its
     \Recent for the user's session;
   - one at a time per worker process; a SELECT meanwhile starts none (the next one after it
     will, if anything is left), and a search finds the part already done.
   The worker's exit stops it between two batches; what it wrote is kept, the rest is done by
   the next SELECT or search that starts it. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "../core/log.h"
#include "imap_fts_indexer.h"
#include "imap_search_msg.h"

/* Messages per index transaction: a few milliseconds of FTS5 inserts, the longest a session's
   own write (an APPEND, a STORE) waits for the index's write lock behind this thread, which
   at nice 19 may also be slow to finish once it has the lock. The text is extracted before
   the transaction begins. */
#define FTS_BATCH 8

struct fts_indexer {
	char *root, *folder;
	struct imap_fts_folder_state state;
};

/* Folders this process found fully indexed, and in which state: a SELECT of one that has not
   changed since starts no thread (finding out costs an index open and three counts of
   100,000 rows). Forgetting is harmless: the counts say it again. */
#define INDEXED_REMEMBERED 32

struct indexed_folder {
	char *root, *folder;
	struct imap_fts_folder_state state;
};

static struct indexed_folder indexed[INDEXED_REMEMBERED];
static unsigned indexed_next;

static pthread_mutex_t indexer_mutex = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t indexer_done = PTHREAD_COND_INITIALIZER;
static bool indexer_running;
static atomic_bool indexer_stop;

static bool state_same(const struct imap_fts_folder_state *a, const struct imap_fts_folder_state *b)
{
	return a->uidvalidity == b->uidvalidity && a->uidnext == b->uidnext &&
	       a->exists == b->exists;
}

/* Under indexer_mutex. */
static struct indexed_folder *indexed_find(const char *root, const char *folder)
{
	for (unsigned i = 0; i < INDEXED_REMEMBERED; i++)
		if (indexed[i].root != NULL && strcmp(indexed[i].root, root) == 0 &&
		    strcmp(indexed[i].folder, folder) == 0)
			return &indexed[i];
	return NULL;
}

static void indexed_note(const char *root, const char *folder,
                         const struct imap_fts_folder_state *state)
{
	struct indexed_folder *f;

	pthread_mutex_lock(&indexer_mutex);
	f = indexed_find(root, folder);
	if (f == NULL) {
		char *r = strdup(root), *fo = strdup(folder);

		if (r == NULL || fo == NULL) {
			free(r);
			free(fo);
			pthread_mutex_unlock(&indexer_mutex);
			return;
		}
		f = &indexed[indexed_next++ % INDEXED_REMEMBERED];
		free(f->root);
		free(f->folder);
		f->root = r;
		f->folder = fo;
	}
	f->state = *state;
	pthread_mutex_unlock(&indexer_mutex);
}

static void indexer_free(struct fts_indexer *ix)
{
	free(ix->root);
	free(ix->folder);
	free(ix);
}

static void indexer_run(const struct fts_indexer *ix)
{
	struct mbox *mb = NULL;
	uint64_t missing = 0;
	char *error = NULL;

	/* Most SELECTs find the index complete: told by three counts, without loading the
	   folder. */
	if (mbox_fts_missing(ix->root, ix->folder, &missing, &error) == 0 && missing == 0) {
		indexed_note(ix->root, ix->folder, &ix->state);
		return;
	}
	free(error);
	error = NULL;
	if (mbox_open_flags(ix->root, ix->folder, MBOX_OPEN_LEAVE_NEW | MBOX_OPEN_BACKGROUND, &mb,
	                    &error) < 0 ||
	    imap_search_fts_update_batched(mb, FTS_BATCH, &indexer_stop, &error) < 0) {
		/* Nothing lost: a search reads what is not indexed, and starts this again. */
		log_warning("full-text indexing of %s folder=%s: %s", log_esc(ix->root),
		            ix->folder[0] != '\0' ? log_esc(ix->folder) : "INBOX",
		            error != NULL ? error : "unknown error");
	} else if (!atomic_load(&indexer_stop)) {
		/* What this handle saw is indexed; anything that came later changes the state. */
		struct imap_fts_folder_state done = {.uidvalidity = mbox_uidvalidity(mb),
		                                     .uidnext = mbox_uidnext(mb),
		                                     .exists = mbox_count(mb)};

		indexed_note(ix->root, ix->folder, &done);
	}
	free(error);
	mbox_close(&mb);
}

static void *indexer_main(void *arg)
{
	struct fts_indexer *ix = arg;

	/* This thread only (Linux: a thread's nice value is its own). */
	(void)setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), 19);
	indexer_run(ix);
	indexer_free(ix);
	pthread_mutex_lock(&indexer_mutex);
	indexer_running = false;
	pthread_cond_broadcast(&indexer_done);
	pthread_mutex_unlock(&indexer_mutex);
	return NULL;
}

void imap_fts_indexer_start(const char *root, const char *folder,
                            const struct imap_fts_folder_state *state)
{
	struct fts_indexer *ix;
	const struct indexed_folder *known;
	pthread_attr_t attr;
	pthread_t thread;
	bool start;

	pthread_mutex_lock(&indexer_mutex);
	known = indexed_find(root, folder);
	start = !indexer_running && !atomic_load(&indexer_stop) &&
	        (known == NULL || !state_same(&known->state, state));
	if (start)
		indexer_running = true;
	pthread_mutex_unlock(&indexer_mutex);
	if (!start)
		return;
	ix = calloc(1, sizeof(*ix));
	if (ix != NULL) {
		ix->root = strdup(root);
		ix->folder = strdup(folder);
		ix->state = *state;
	}
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	if (ix != NULL && ix->root != NULL && ix->folder != NULL &&
	    pthread_create(&thread, &attr, indexer_main, ix) == 0) {
		pthread_attr_destroy(&attr);
		return;
	}
	pthread_attr_destroy(&attr);
	if (ix != NULL)
		indexer_free(ix);
	pthread_mutex_lock(&indexer_mutex);
	indexer_running = false;
	pthread_mutex_unlock(&indexer_mutex);
}

void imap_fts_indexer_stop(void)
{
	atomic_store(&indexer_stop, true);
	pthread_mutex_lock(&indexer_mutex);
	while (indexer_running)
		pthread_cond_wait(&indexer_done, &indexer_mutex);
	for (unsigned i = 0; i < INDEXED_REMEMBERED; i++) {
		free(indexed[i].root);
		free(indexed[i].folder);
		indexed[i] = (struct indexed_folder){0};
	}
	pthread_mutex_unlock(&indexer_mutex);
}
