/* The index rows of a big first sync, written by a thread of their own.

   Opening a folder of 100,000 messages that the index does not know yet (a migrated Maildir,
   a deleted index) gives each file a UID, records the UIDs durably in the uid list, then
   inserts 100,000 rows into SQLite: some 2.5 us a row, most of the SELECT. The rows are a
   cache of what the uid list and the file names already say, so the SELECT need not wait for
   them: the handle's memory has every message once the uid list is written.

   What makes it safe is the order of the locks, taken before the sync writes anything and
   handed to the thread with the rows:
   - the folder lock (the flock on maild-uidlist.lock), so no other handle assigns UIDs in
     this folder before the rows are in;
   - the index's write lock (BEGIN IMMEDIATE on a connection of the job's own), so no write
     of any handle, this one included, lands before the rows it may refer to; it waits
     (the index's busy timeout) until the thread commits.
   Readers meanwhile see the index as before the sync. A crash before the commit loses the
   rows and nothing else: the next open finds the files again and takes their UIDs from the
   uid list. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "core/array_grow.h"
#include "core/array_sort.h"
#include "core/log.h"
#include "mbox_private.h"

struct rows_job_row {
	uint32_t uid;
	uint32_t keywords;
	uint8_t flags;
	uint64_t modseq;
	uint64_t size;
	uint64_t vsize;
	int64_t internaldate;
	size_t name_off;
};

struct mbox_rows_job {
	/* In the list of running jobs. */
	struct mbox_rows_job *next;
	struct mbox_index *idx;
	/* The handle's own connection while the job's stands in for it in mb->idx. */
	struct mbox_index *handle_idx;
	int64_t folder_id;
	int lock_fd;
	char *path;
	char *folder;
	struct rows_job_row *rows;
	size_t count, cap;
	/* The names one after the other, each NUL-terminated. */
	char *names;
	size_t names_len, names_cap;
};

static pthread_mutex_t jobs_mutex = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t jobs_done = PTHREAD_COND_INITIALIZER;
static struct mbox_rows_job *jobs_running;
static unsigned int job_test_delay_ms;

/* The connection (its close may checkpoint) and the folder lock. */
static void rows_job_release(struct mbox_rows_job *job)
{
	if (job->idx != NULL) {
		mbox_index_rollback(job->idx);
		mbox_index_close(&job->idx);
	}
	if (job->lock_fd >= 0) {
		(void)flock(job->lock_fd, LOCK_UN);
		(void)close(job->lock_fd);
		job->lock_fd = -1;
	}
}

static void rows_job_free(struct mbox_rows_job *job)
{
	rows_job_release(job);
	free(job->path);
	free(job->folder);
	free(job->rows);
	free(job->names);
	free(job);
}

int mbox_rows_job_begin(struct mbox *mb)
{
	struct mbox_rows_job *job = calloc(1, sizeof(*job));
	char *error = NULL;

	if (job == NULL)
		return mbox_fail(mb, "out of memory");
	job->lock_fd = -1;
	job->path = strdup(mb->path);
	job->folder = strdup(mb->folder);
	if (job->path == NULL || job->folder == NULL) {
		rows_job_free(job);
		return mbox_fail(mb, "out of memory");
	}
	if (mbox_index_open(mb->root, &job->idx, &error) < 0) {
		mbox_fail(mb, "%s: %s", mb->path, error != NULL ? error : "cannot open the index");
		free(error);
		rows_job_free(job);
		return -1;
	}
	if (mbox_index_begin(job->idx) < 0) {
		mbox_fail(mb, "%s: %s", mb->path, mbox_index_error(job->idx));
		rows_job_free(job);
		return -1;
	}
	job->handle_idx = mb->idx;
	mb->idx = job->idx;
	mb->rows_job = job;
	return 0;
}

bool mbox_rows_job_holds_rows(const struct mbox *mb)
{
	return mb->rows_job != NULL && mb->rows_job->count > 0;
}

int mbox_rows_job_add(struct mbox *mb, const struct mbox_index_msg *row)
{
	struct mbox_rows_job *job = mb->rows_job;
	size_t name_len = strlen(row->name) + 1;

	if (array_grow((void **)&job->rows, &job->cap, job->count + 1, sizeof(*job->rows)) < 0 ||
	    array_grow((void **)&job->names, &job->names_cap, job->names_len + name_len, 1) < 0)
		return mbox_fail(mb, "out of memory");
	memcpy(job->names + job->names_len, row->name, name_len);
	job->rows[job->count++] = (struct rows_job_row){
	    .uid = row->uid,
	    .keywords = row->keywords,
	    .flags = row->flags,
	    .modseq = row->modseq,
	    .size = row->size,
	    .vsize = row->vsize,
	    .internaldate = row->internaldate,
	    .name_off = job->names_len,
	};
	job->names_len += name_len;
	return 0;
}

/* The handle gets its own connection back; the job keeps the transaction. */
static struct mbox_rows_job *rows_job_detach(struct mbox *mb)
{
	struct mbox_rows_job *job = mb->rows_job;

	mb->idx = job->handle_idx;
	job->handle_idx = NULL;
	mb->rows_job = NULL;
	return job;
}

void mbox_rows_job_abort(struct mbox *mb)
{
	if (mb->rows_job != NULL)
		rows_job_free(rows_job_detach(mb));
}

static int rows_job_cmp_uid(const void *a, const void *b)
{
	const struct rows_job_row *x = a, *y = b;

	return x->uid < y->uid ? -1 : x->uid > y->uid;
}

static int rows_job_write(struct mbox_rows_job *job)
{
	/* In key order: UIDs taken from a uid list come in delivery order, not UID order, and
	   scattered inserts into a b-tree larger than SQLite's cache cost five times more. */
	array_sort(job->rows, job->count, sizeof(*job->rows), rows_job_cmp_uid);
	for (size_t i = 0; i < job->count; i++) {
		const struct rows_job_row *r = &job->rows[i];
		struct mbox_index_msg row = {
		    .uid = r->uid,
		    .name = job->names + r->name_off,
		    .flags = r->flags,
		    .keywords = r->keywords,
		    .modseq = r->modseq,
		    .size = r->size,
		    .vsize = r->vsize,
		    .internaldate = r->internaldate,
		};

		if (mbox_index_msg_insert(job->idx, job->folder_id, &row) < 0)
			return -1;
	}
	return 0;
}

/* The rows are the whole folder (its first open): their snapshot with the stamp of this
   transaction, so the next SELECT reads one file. Taken before the commit, written after. */
static bool rows_job_whole_folder(struct mbox_rows_job *job, struct mbox_index_folder *fi)
{
	uint64_t count;

	return job->count >= MBOX_SNAPSHOT_MIN_MESSAGES &&
	       mbox_index_msg_count(job->idx, job->folder_id, &count) == 0 &&
	       count == job->count && mbox_index_folder_get(job->idx, job->folder, fi) == 1 &&
	       fi->id == job->folder_id;
}

static void rows_job_snapshot(struct mbox_rows_job *job, const struct mbox_index_folder *fi)
{
	struct mbox_msg *msgs = malloc(job->count * sizeof(*msgs));
	int dir_fd = open(job->path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (msgs != NULL && dir_fd >= 0) {
		for (size_t i = 0; i < job->count; i++) {
			const struct rows_job_row *r = &job->rows[i];
			struct mbox_name_key key;

			msgs[i] = (struct mbox_msg){
			    .name = job->names + r->name_off,
			    .modseq = r->modseq,
			    .size = r->size,
			    .vsize = r->vsize,
			    .internaldate = r->internaldate,
			    .uid = r->uid,
			    .keywords = r->keywords,
			    .flags = r->flags,
			};
			mbox_name_key(msgs[i].name, &key);
			msgs[i].base_len = (uint16_t)key.base_len;
			msgs[i].name_hash = key.name_hash;
		}
		mbox_snapshot_write_msgs(dir_fd, msgs, (uint32_t)job->count, fi);
	}
	if (dir_fd >= 0)
		(void)close(dir_fd);
	free(msgs);
}

static int rows_job_finish(struct mbox_rows_job *job)
{
	struct mbox_index_folder fi;
	bool whole;

	if (rows_job_write(job) < 0)
		return -1;
	whole = rows_job_whole_folder(job, &fi);
	if (mbox_index_commit(job->idx) < 0)
		return -1;
	if (whole)
		rows_job_snapshot(job, &fi);
	return 0;
}

static void *rows_job_main(void *arg)
{
	struct mbox_rows_job *job = arg;

	if (job_test_delay_ms > 0)
		(void)usleep(job_test_delay_ms * 1000u);
	if (rows_job_finish(job) < 0)
		/* Nothing is lost: the next open finds the files and their UIDs in the uid list. */
		log_error("%s: writing %zu index rows: %s", job->path, job->count,
		          mbox_index_error(job->idx));
	/* Done with the index before anyone waiting is told. */
	rows_job_release(job);
	pthread_mutex_lock(&jobs_mutex);
	for (struct mbox_rows_job **p = &jobs_running; *p != NULL; p = &(*p)->next) {
		if (*p == job) {
			*p = job->next;
			break;
		}
	}
	pthread_cond_broadcast(&jobs_done);
	pthread_mutex_unlock(&jobs_mutex);
	rows_job_free(job);
	return NULL;
}

/* Without rows (the sync found fewer news than it expected, or wrote them itself), the
   transaction is committed here: it holds the sync's other changes. */
static int rows_job_commit_here(struct mbox *mb, struct mbox_rows_job *job)
{
	int ret = mbox_index_commit(job->idx) < 0 ? mbox_fail(mb, "%s: %s", mb->path,
	                                                      mbox_index_error(job->idx))
	                                          : 0;

	rows_job_free(job);
	return ret;
}

int mbox_rows_job_start(struct mbox *mb)
{
	struct mbox_rows_job *job = rows_job_detach(mb);
	pthread_attr_t attr;
	pthread_t thread;
	int err;

	/* The folder lock goes with the rows; the handle opens the lock file again when it
	   next needs it. */
	job->lock_fd = mb->lock_fd;
	mb->lock_fd = -1;
	mb->locked = false;
	job->folder_id = mb->fi.id;
	if (job->count == 0)
		return rows_job_commit_here(mb, job);
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	/* Listed before the thread runs: it unlists itself when done. */
	pthread_mutex_lock(&jobs_mutex);
	job->next = jobs_running;
	jobs_running = job;
	err = pthread_create(&thread, &attr, rows_job_main, job);
	if (err != 0)
		jobs_running = job->next;
	pthread_mutex_unlock(&jobs_mutex);
	pthread_attr_destroy(&attr);
	if (err == 0)
		return 0;
	/* No thread: written here, as without a job. */
	if (rows_job_finish(job) < 0) {
		mbox_fail(mb, "%s: %s", mb->path, mbox_index_error(job->idx));
		rows_job_free(job);
		return -1;
	}
	rows_job_free(job);
	return 0;
}

void mbox_rows_jobs_wait(void)
{
	pthread_mutex_lock(&jobs_mutex);
	while (jobs_running != NULL)
		pthread_cond_wait(&jobs_done, &jobs_mutex);
	pthread_mutex_unlock(&jobs_mutex);
}

static bool rows_job_running_for(const char *path)
{
	for (const struct mbox_rows_job *job = jobs_running; job != NULL; job = job->next) {
		if (strcmp(job->path, path) == 0)
			return true;
	}
	return false;
}

void mbox_rows_job_wait_folder(const char *path)
{
	pthread_mutex_lock(&jobs_mutex);
	while (rows_job_running_for(path))
		pthread_cond_wait(&jobs_done, &jobs_mutex);
	pthread_mutex_unlock(&jobs_mutex);
}

void mbox_rows_job_test_delay(unsigned int ms)
{
	job_test_delay_ms = ms;
}
