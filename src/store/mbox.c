#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../core/strutil.h"
#include "mbox_private.h"

int mbox_fail(struct mbox *mb, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(mb->error, sizeof(mb->error), fmt, ap);
	va_end(ap);
	return -1;
}

int mbox_fail_index(struct mbox *mb)
{
	return mbox_fail(mb, "%s", mbox_index_error(mb->idx));
}

int mbox_resume(struct mbox *mb)
{
	char *error = NULL;

	if (mb->idx != NULL)
		return 0;
	if (mbox_index_open(mb->root, &mb->idx, &error) < 0) {
		mbox_fail(mb, "%s", error != NULL ? error : "cannot open the index");
		free(error);
		return -1;
	}
	if (mb->background)
		mbox_index_set_background(mb->idx);
	return 0;
}

/* Sizes and dates learned since the last sync go to the index before it is closed; they are
   a cache, so a failure only costs learning them again. */
static void mbox_flush_learned(struct mbox *mb)
{
	if (mb->idx != NULL && mb->dirty_count > 0 && mbox_index_begin(mb->idx) == 0) {
		if (mbox_msgs_flush_dirty(mb) == 0)
			(void)mbox_index_commit(mb->idx);
		else
			mbox_index_rollback(mb->idx);
	}
}

void mbox_suspend(struct mbox *mb)
{
	if (mb->idx == NULL || mbox_index_in_transaction(mb->idx))
		return;
	mbox_flush_learned(mb);
	mbox_index_close(&mb->idx);
}

const char *mbox_error(const struct mbox *mb)
{
	return mb->error;
}

/* A Maildir++ folder name: "" or "." followed by a name without '/' (".Sent",
   ".Archive.2024"); never "." or "..". */
static bool mbox_folder_valid(const char *folder)
{
	if (folder[0] == '\0')
		return true;
	return folder[0] == '.' && folder[1] != '\0' && strcmp(folder, "..") != 0 &&
	       strchr(folder, '/') == NULL;
}

static int mbox_open_dirs(struct mbox *mb)
{
	mb->dir_fd = open(mb->path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (mb->dir_fd < 0)
		return mbox_fail(mb, "%s: %s", mb->path, strerror(errno));
	mb->cur_fd = openat(mb->dir_fd, "cur", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	mb->new_fd = openat(mb->dir_fd, "new", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	mb->tmp_fd = openat(mb->dir_fd, "tmp", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (mb->cur_fd < 0 || mb->new_fd < 0 || mb->tmp_fd < 0)
		return mbox_fail(mb, "%s: not a Maildir (cur/, new/ or tmp/: %s)", mb->path,
		                 strerror(errno));
	return 0;
}

/* root/folder, or root for INBOX (""); malloc'ed, NULL when out of memory. */
static char *mbox_folder_path(const char *root, const char *folder)
{
	char *path;

	if (asprintf(&path, "%s%s%s", root, folder[0] != '\0' ? "/" : "", folder) < 0)
		return NULL;
	return path;
}

static struct mbox *mbox_alloc(const char *root, const char *folder)
{
	struct mbox *mb = calloc(1, sizeof(*mb));

	if (mb == NULL)
		return NULL;
	mb->dir_fd = mb->cur_fd = mb->new_fd = mb->tmp_fd = mb->lock_fd = -1;
	mb->root = strdup(root);
	mb->folder = strdup(folder);
	mb->path = mbox_folder_path(root, folder);
	if (mb->root == NULL || mb->folder == NULL || mb->path == NULL) {
		mbox_close(&mb);
		return NULL;
	}
	mb->is_trash = strcmp(folder, ".Trash") == 0;
	return mb;
}

/* Index and folder; a damaged index is deleted and built again once. */
static int mbox_open_index(struct mbox *mb, char **error_r)
{
	mbox_rows_job_wait_folder(mb->path);
	for (int attempt = 0; attempt < 2; attempt++) {
		if (mb->idx == NULL) {
			if (mbox_index_open(mb->root, &mb->idx, error_r) < 0)
				return -1;
			if (mb->background)
				mbox_index_set_background(mb->idx);
		}
		if (mbox_keywords_refresh(mb) == 0 && mbox_load(mb) == 0 &&
		    mbox_sync(mb, mbox_sync_trust_record(mb) ? 0 : MBOX_SYNC_FORCE, NULL) == 0)
			return 0;
		if (!mbox_index_corrupt(mb->idx))
			break;
		mbox_msgs_free(mb);
		if (mbox_index_recreate(&mb->idx, error_r) < 0)
			return -1;
	}
	*error_r = strdup(mb->error);
	return -1;
}

int mbox_open_flags(const char *maildir_root, const char *folder, unsigned int flags,
                    struct mbox **mb_r, char **error_r)
{
	struct mbox *mb;

	*mb_r = NULL;
	*error_r = NULL;
	if (!mbox_folder_valid(folder)) {
		*error_r = strdup("invalid folder name");
		return -1;
	}
	mb = mbox_alloc(maildir_root, folder);
	if (mb == NULL) {
		*error_r = strdup("out of memory");
		return -1;
	}
	if (mbox_open_dirs(mb) < 0) {
		*error_r = strdup(mb->error);
		mbox_close(&mb);
		return -1;
	}
	mb->defer_rows = (flags & MBOX_OPEN_DEFER_ROWS) != 0;
	mb->leave_new = (flags & MBOX_OPEN_LEAVE_NEW) != 0;
	mb->background = (flags & MBOX_OPEN_BACKGROUND) != 0;
	if (mbox_open_index(mb, error_r) < 0) {
		mbox_close(&mb);
		return -1;
	}
	mb->defer_rows = false;
	*mb_r = mb;
	return 0;
}

int mbox_open(const char *maildir_root, const char *folder, struct mbox **mb_r, char **error_r)
{
	return mbox_open_flags(maildir_root, folder, 0, mb_r, error_r);
}

static void mbox_close_fd(int *fd)
{
	if (*fd >= 0)
		(void)close(*fd);
	*fd = -1;
}

void mbox_close(struct mbox **mbp)
{
	struct mbox *mb = *mbp;

	if (mb == NULL)
		return;
	mbox_flush_learned(mb);
	mbox_unlock(mb);
	mbox_close_fd(&mb->lock_fd);
	mbox_close_fd(&mb->tmp_fd);
	mbox_close_fd(&mb->new_fd);
	mbox_close_fd(&mb->cur_fd);
	mbox_close_fd(&mb->dir_fd);
	mbox_index_close(&mb->idx);
	mbox_msgs_free(mb);
	mbox_keywords_clear(&mb->kw);
	free(mb->path);
	free(mb->folder);
	free(mb->root);
	free(mb);
	*mbp = NULL;
}

/* ----- the folder ----- */

uint32_t mbox_uidvalidity(const struct mbox *mb)
{
	return mb->fi.uidvalidity;
}

uint32_t mbox_uidnext(const struct mbox *mb)
{
	return mb->fi.uidnext;
}

uint64_t mbox_highestmodseq(const struct mbox *mb)
{
	return mb->fi.highestmodseq;
}

uint32_t mbox_count(const struct mbox *mb)
{
	return mb->count;
}

void mbox_counts(const struct mbox *mb, struct mbox_counts *counts_r)
{
	memset(counts_r, 0, sizeof(*counts_r));
	counts_r->messages = mb->count;
	for (uint32_t i = 0; i < mb->count; i++) {
		const struct mbox_msg *m = &mb->msgs[i];

		if ((m->state & MBOX_MSG_RECENT) != 0)
			counts_r->recent++;
		if ((m->flags & MBOX_FLAG_SEEN) == 0 && counts_r->unseen++ == 0)
			counts_r->first_unseen = i + 1;
		counts_r->bytes += m->size;
	}
}

/* ----- messages ----- */

uint32_t mbox_uid(const struct mbox *mb, uint32_t seq)
{
	return seq >= 1 && seq <= mb->count ? mb->msgs[seq - 1].uid : 0;
}

uint32_t mbox_seq(const struct mbox *mb, uint32_t uid)
{
	ssize_t i = mbox_msgs_find(mb, uid);

	return i < 0 ? 0 : (uint32_t)i + 1;
}

/* First index whose UID is >= uid. */
static uint32_t mbox_lower_bound(const struct mbox *mb, uint32_t uid)
{
	uint32_t lo = 0, hi = mb->count;

	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;

		if (mb->msgs[mid].uid < uid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

int mbox_seq_range(const struct mbox *mb, uint32_t lo, uint32_t hi, uint32_t *first_r,
                   uint32_t *last_r)
{
	uint32_t first, end;

	if (lo > hi) {
		uint32_t t = lo;

		lo = hi;
		hi = t;
	}
	first = mbox_lower_bound(mb, lo);
	end = hi == UINT32_MAX ? mb->count : mbox_lower_bound(mb, hi + 1);
	if (first >= end)
		return 0;
	*first_r = first + 1;
	*last_r = end;
	return 1;
}

int mbox_msg(const struct mbox *mb, uint32_t seq, struct mbox_msg_info *info_r)
{
	const struct mbox_msg *m;

	if (seq < 1 || seq > mb->count)
		return 0;
	m = &mb->msgs[seq - 1];
	info_r->uid = m->uid;
	info_r->flags = m->flags;
	info_r->keywords = m->keywords;
	info_r->recent = (m->state & MBOX_MSG_RECENT) != 0;
	info_r->modseq = m->modseq;
	info_r->size = m->size;
	info_r->name = m->name;
	return 1;
}

int mbox_msg_path(const struct mbox *mb, uint32_t seq, char *path, size_t size)
{
	if (seq < 1 || seq > mb->count)
		return -1;
	return str_printf(path, size, "%s/cur/%s", mb->path, mb->msgs[seq - 1].name) < 0 ? -1 : 0;
}

int mbox_msg_open(struct mbox *mb, uint32_t seq)
{
	struct mbox_msg *m;
	int fd;

	if (seq < 1 || seq > mb->count) {
		errno = EINVAL;
		return -1;
	}
	m = &mb->msgs[seq - 1];
	fd = openat(mb->cur_fd, m->name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd >= 0 || errno != ENOENT)
		return fd;
	/* Renamed by another program since our last look (a flag change). */
	if (mbox_msg_refresh_name(mb, m) <= 0) {
		errno = ENOENT;
		return -1;
	}
	return openat(mb->cur_fd, m->name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
}

static void mbox_mark_dirty(struct mbox *mb, struct mbox_msg *m)
{
	if ((m->state & MBOX_MSG_DIRTY) == 0) {
		m->state |= MBOX_MSG_DIRTY;
		mb->dirty_count++;
	}
}

/* RFC 3501 RFC822.SIZE counts CRLF line ends: every LF not after a CR adds one. */
static int mbox_count_vsize(int fd, uint64_t *vsize_r)
{
	char buf[65536];
	uint64_t vsize = 0;
	char prev = '\0';
	ssize_t n;

	while ((n = read(fd, buf, sizeof(buf))) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		vsize += mbox_vsize_add(buf, (size_t)n, &prev);
	}
	*vsize_r = vsize;
	return 0;
}

int mbox_msg_vsize(struct mbox *mb, uint32_t seq, uint64_t *vsize_r)
{
	struct mbox_msg *m;
	int fd, ret;

	if (seq < 1 || seq > mb->count)
		return mbox_fail(mb, "no message %u", seq);
	m = &mb->msgs[seq - 1];
	if (m->vsize != 0 || m->size == 0) {
		*vsize_r = m->vsize;
		return 0;
	}
	fd = mbox_msg_open(mb, seq);
	if (fd < 0)
		return mbox_fail(mb, "%s/cur/%s: %s", mb->path, m->name, strerror(errno));
	ret = mbox_count_vsize(fd, &m->vsize);
	(void)close(fd);
	if (ret < 0)
		return mbox_fail(mb, "%s/cur/%s: %s", mb->path, m->name, strerror(errno));
	mbox_mark_dirty(mb, m);
	*vsize_r = m->vsize;
	return 0;
}

int mbox_msg_internaldate(struct mbox *mb, uint32_t seq, time_t *date_r)
{
	struct mbox_msg *m;
	struct stat st;

	if (seq < 1 || seq > mb->count)
		return mbox_fail(mb, "no message %u", seq);
	m = &mb->msgs[seq - 1];
	if (m->internaldate == 0) {
		if (fstatat(mb->cur_fd, m->name, &st, AT_SYMLINK_NOFOLLOW) < 0 &&
		    (errno != ENOENT || mbox_msg_refresh_name(mb, m) <= 0 ||
		     fstatat(mb->cur_fd, m->name, &st, AT_SYMLINK_NOFOLLOW) < 0))
			return mbox_fail(mb, "%s/cur/%s: %s", mb->path, m->name, strerror(errno));
		m->internaldate = st.st_mtime;
		mbox_mark_dirty(mb, m);
	}
	*date_r = (time_t)m->internaldate;
	return 0;
}

/* ----- keywords ----- */

int mbox_keywords_refresh(struct mbox *mb)
{
	const char *error;
	struct stat st;

	if (fstatat(mb->dir_fd, MBOX_KEYWORDS_FILE, &st, AT_SYMLINK_NOFOLLOW) < 0) {
		if (errno != ENOENT)
			return mbox_fail(mb, "%s/" MBOX_KEYWORDS_FILE ": %s", mb->path,
			                 strerror(errno));
		memset(&st, 0, sizeof(st));
	}
	if (st.st_ino == mb->kw_st.st_ino && st.st_size == mb->kw_st.st_size &&
	    st.st_mtim.tv_sec == mb->kw_st.st_mtim.tv_sec &&
	    st.st_mtim.tv_nsec == mb->kw_st.st_mtim.tv_nsec)
		return 0;
	if (mbox_keywords_read(mb->dir_fd, &mb->kw, &error) < 0)
		return mbox_fail(mb, "%s/" MBOX_KEYWORDS_FILE ": %s", mb->path, error);
	mb->kw_st = st;
	return 0;
}

int mbox_keyword_find(const struct mbox *mb, const char *name)
{
	return mbox_keywords_find(&mb->kw, name);
}

const char *mbox_keyword_name(const struct mbox *mb, unsigned int idx)
{
	return idx < MBOX_KEYWORDS_MAX ? mb->kw.names[idx] : NULL;
}

static int mbox_keyword_add_locked(struct mbox *mb, const char *name, unsigned int *idx_r)
{
	const char *error;
	struct stat st;
	int idx;

	/* Another handle may have added keywords: read the file under the lock. */
	memset(&mb->kw_st, 0, sizeof(mb->kw_st));
	if (mbox_keywords_refresh(mb) < 0)
		return -1;
	idx = mbox_keywords_find(&mb->kw, name);
	if (idx < 0) {
		idx = mbox_keywords_free_slot(&mb->kw);
		if (idx < 0)
			return 0;
		mb->kw.names[idx] = strdup(name);
		if (mb->kw.names[idx] == NULL)
			return mbox_fail(mb, "out of memory");
		if (mbox_keywords_write(mb->dir_fd, &mb->kw, &error) < 0) {
			free(mb->kw.names[idx]);
			mb->kw.names[idx] = NULL;
			return mbox_fail(mb, "%s/" MBOX_KEYWORDS_FILE ": %s", mb->path, error);
		}
		if (fstatat(mb->dir_fd, MBOX_KEYWORDS_FILE, &st, AT_SYMLINK_NOFOLLOW) == 0)
			mb->kw_st = st;
	}
	*idx_r = (unsigned int)idx;
	return 1;
}

int mbox_keyword_add(struct mbox *mb, const char *name, unsigned int *idx_r)
{
	int idx = mbox_keywords_find(&mb->kw, name);
	int ret;

	if (idx >= 0) {
		*idx_r = (unsigned int)idx;
		return 1;
	}
	if (!mbox_keywords_valid_name(name))
		return 0;
	if (mbox_lock(mb) < 0)
		return -1;
	ret = mbox_keyword_add_locked(mb, name, idx_r);
	mbox_unlock(mb);
	return ret;
}

/* ----- cache and full text ----- */

int mbox_cache_set(struct mbox *mb, uint32_t uid, enum mbox_cache_field field, const void *data,
                   size_t len)
{
	if (mbox_resume(mb) < 0)
		return -1;
	if (mbox_index_cache_set(mb->idx, mb->fi.id, uid, (int)field, data, len) < 0)
		return mbox_fail_index(mb);
	return 0;
}

int mbox_cache_get(struct mbox *mb, uint32_t uid, enum mbox_cache_field field, void **data_r,
                   size_t *len_r)
{
	if (mbox_resume(mb) < 0)
		return -1;
	int ret = mbox_index_cache_get(mb->idx, mb->fi.id, uid, (int)field, data_r, len_r);

	return ret < 0 ? mbox_fail_index(mb) : ret;
}

int mbox_fts_set(struct mbox *mb, uint32_t uid, const char *header, const char *body)
{
	if (mbox_resume(mb) < 0)
		return -1;
	if (mbox_index_fts_set(mb->idx, mb->fi.id, uid, header, body) < 0)
		return mbox_fail_index(mb);
	return 0;
}

/* Wait for a rows job of this process on the folder (mbox_rows_job.c). */
static int mbox_wait_rows(const char *maildir_root, const char *folder)
{
	char *path = mbox_folder_path(maildir_root, folder);

	if (path == NULL)
		return -1;
	mbox_rows_job_wait_folder(path);
	free(path);
	return 0;
}

int mbox_fts_missing(const char *maildir_root, const char *folder, uint64_t *missing_r,
                     char **error_r)
{
	struct mbox_index_folder fi;
	struct mbox_index *idx;
	int ret;

	*missing_r = 0;
	*error_r = NULL;
	/* Until a first open's rows are in, the folder would count as empty, so as complete. */
	if (mbox_wait_rows(maildir_root, folder) < 0) {
		*error_r = strdup("out of memory");
		return -1;
	}
	if (mbox_index_open(maildir_root, &idx, error_r) < 0)
		return -1;
	ret = mbox_index_folder_get(idx, folder, &fi);
	if (ret == 1)
		ret = mbox_index_fts_missing(idx, fi.id, missing_r);
	if (ret < 0)
		*error_r = strdup(mbox_index_error(idx));
	mbox_index_close(&idx);
	return ret < 0 ? -1 : 0;
}

/* About a tenth of a second of FTS5 work per transaction. */
#define MBOX_FTS_PURGE_BATCH 128u

int mbox_fts_purge(struct mbox *mb)
{
	int done;

	if (mbox_resume(mb) < 0)
		return -1;
	/* Most searches find nothing to purge: they take no write lock. */
	done = mbox_index_fts_purge_due(mb->idx, mb->fi.id);
	if (done <= 0)
		return done < 0 ? mbox_fail_index(mb) : 0;
	do {
		if (mbox_index_begin(mb->idx) < 0)
			return mbox_fail_index(mb);
		done = mbox_index_fts_purge(mb->idx, mb->fi.id, MBOX_FTS_PURGE_BATCH);
		if (done < 0 || mbox_index_commit(mb->idx) < 0) {
			mbox_index_rollback(mb->idx);
			return mbox_fail_index(mb);
		}
	} while ((unsigned)done == MBOX_FTS_PURGE_BATCH);
	return 0;
}

int mbox_fts_indexed(struct mbox *mb, uint32_t **uids_r, size_t *count_r)
{
	if (mbox_resume(mb) < 0)
		return -1;
	if (mbox_index_fts_indexed(mb->idx, mb->fi.id, uids_r, count_r) < 0)
		return mbox_fail_index(mb);
	return 0;
}

int mbox_fts_search(struct mbox *mb, enum mbox_search_scope scope, const char *needle,
                    uint32_t **uids_r, size_t *count_r)
{
	enum mbox_index_fts_scope s =
	    scope == MBOX_SEARCH_BODY ? MBOX_INDEX_FTS_BODY : MBOX_INDEX_FTS_TEXT;

	if (mbox_resume(mb) < 0)
		return -1;
	if (mbox_index_fts_search(mb->idx, mb->fi.id, s, needle, uids_r, count_r) < 0)
		return mbox_fail_index(mb);
	return 0;
}

int mbox_batch_begin(struct mbox *mb)
{
	if (mbox_resume(mb) < 0)
		return -1;
	return mbox_index_begin(mb->idx) < 0 ? mbox_fail_index(mb) : 0;
}

int mbox_batch_commit(struct mbox *mb)
{
	if (mbox_resume(mb) < 0)
		return -1;
	return mbox_index_commit(mb->idx) < 0 ? mbox_fail_index(mb) : 0;
}
