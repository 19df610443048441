#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "maildir_name.h"
#include "core/array_grow.h"
#include "core/array_sort.h"
#include "mbox_private.h"

/* Times the cur/ listing is repeated when the directory changed while it was read and
   messages seem gone: readdir may miss a file renamed during the listing (a flag change by
   another program), which must not become an EXPUNGE. */
#define SYNC_SCAN_TRIES 3

/* A known message whose file name changed. */
struct sync_rename {
	uint32_t index;
	char *name;
	uint8_t flags;
	uint32_t keywords;
	bool flags_changed;
	uint64_t modseq;
};

struct sync_ctx {
	/* Bases of the files this sync moved from new/, sorted: \Recent for this handle. */
	char **moved;
	size_t moved_count;
	struct mbox_new *news;
	size_t news_count, news_cap;
	struct sync_rename *renames;
	size_t renames_count, renames_cap;
	uint32_t *gone; /* message indexes, ascending */
	size_t gone_count;
	uint32_t max_uid_before;
	/* cur/'s mtime before the listing that counted. */
	struct timespec cur_before;
	/* UIDs given to news, sorted, for the catch-up. */
	uint32_t *assigned;
	/* A full scan: its record for the index (mbox_sync_trust_record()), written with its
	   changes when the index holds nothing newer than this handle knows. */
	bool record;
	int64_t rec_cur_ns, rec_new_ns, rec_started_ns;
	/* sync_run_new(): the names the moved files got in cur/. */
	bool keep_targets;
	char **targets;
	size_t targets_count, targets_cap;
};

/* Room for one more after count. */
static int sync_grow(void **array, size_t *cap, size_t count, size_t elem)
{
	return array_grow(array, cap, count + 1, elem);
}

static void sync_ctx_reset_scan(struct sync_ctx *ctx)
{
	for (size_t i = 0; i < ctx->news_count; i++)
		free(ctx->news[i].name);
	for (size_t i = 0; i < ctx->renames_count; i++)
		free(ctx->renames[i].name);
	ctx->news_count = ctx->renames_count = 0;
}

static void sync_ctx_free(struct sync_ctx *ctx)
{
	sync_ctx_reset_scan(ctx);
	for (size_t i = 0; i < ctx->moved_count; i++)
		free(ctx->moved[i]);
	free(ctx->moved);
	free(ctx->news);
	free(ctx->renames);
	free(ctx->gone);
	free(ctx->assigned);
	for (size_t i = 0; i < ctx->targets_count; i++)
		free(ctx->targets[i]);
	free(ctx->targets);
}

static int sync_cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool sync_was_moved(const struct sync_ctx *ctx, const char *name, size_t base_len)
{
	char base[MAILDIR_NAME_MAX], *key = base;

	if (ctx->moved_count == 0 || base_len >= sizeof(base))
		return false;
	memcpy(base, name, base_len);
	base[base_len] = '\0';
	return array_search(&key, ctx->moved, ctx->moved_count, sizeof(char *), sync_cmp_str) != NULL;
}

/* ----- new/ -> cur/ ----- */

static int sync_move_one(struct mbox *mb, struct sync_ctx *ctx, const char *name, size_t *cap)
{
	char target[MAILDIR_NAME_MAX];
	struct maildir_name_info info;

	if (maildir_name_parse(name, &info) == 0 || info.base_len + 4 > sizeof(target))
		return 0;
	/* Maildir: a file moved to cur/ gets the info ":2," (its flags, if it already had any
	   — Dovecot can leave flagged files in new/ — are kept). */
	if (info.has_info)
		snprintf(target, sizeof(target), "%s", name);
	else
		snprintf(target, sizeof(target), "%.*s:2,", (int)info.base_len, name);
	if (renameat2(mb->new_fd, name, mb->cur_fd, target, RENAME_NOREPLACE) < 0 &&
	    (errno != EINVAL || renameat(mb->new_fd, name, mb->cur_fd, target) < 0)) {
		/* ENOENT: another session moved it first; EEXIST: a stray duplicate. */
		if (errno == ENOENT || errno == EEXIST)
			return 0;
		return mbox_fail(mb, "%s/new/%s: move to cur/: %s", mb->path, name,
		                 strerror(errno));
	}
	if (sync_grow((void **)&ctx->moved, cap, ctx->moved_count, sizeof(char *)) < 0 ||
	    (ctx->moved[ctx->moved_count] = strndup(name, info.base_len)) == NULL)
		return mbox_fail(mb, "out of memory");
	ctx->moved_count++;
	if (!ctx->keep_targets)
		return 0;
	if (sync_grow((void **)&ctx->targets, &ctx->targets_cap, ctx->targets_count,
	              sizeof(char *)) < 0 ||
	    (ctx->targets[ctx->targets_count] = strdup(target)) == NULL)
		return mbox_fail(mb, "out of memory");
	ctx->targets_count++;
	return 0;
}

static int sync_move_new(struct mbox *mb, struct sync_ctx *ctx)
{
	int fd = openat(mb->new_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	struct dirent *de;
	size_t cap = 0;
	DIR *dir;
	int ret = 0;

	if (mb->leave_new) {
		if (fd >= 0)
			(void)close(fd);
		return 0;
	}
	if (fd < 0 || (dir = fdopendir(fd)) == NULL) {
		if (fd >= 0)
			(void)close(fd);
		return mbox_fail(mb, "%s/new: %s", mb->path, strerror(errno));
	}
	while (ret == 0 && (de = readdir(dir)) != NULL) {
		if (de->d_name[0] != '.')
			ret = sync_move_one(mb, ctx, de->d_name, &cap);
	}
	(void)closedir(dir);
	array_sort(ctx->moved, ctx->moved_count, sizeof(char *), sync_cmp_str);
	return ret;
}

/* ----- cur/ against memory ----- */

static int sync_renamed(struct mbox *mb, struct sync_ctx *ctx, uint32_t index, const char *name)
{
	const struct mbox_msg *m = &mb->msgs[index];
	struct maildir_name_info info;
	struct sync_rename *r;

	if (sync_grow((void **)&ctx->renames, &ctx->renames_cap, ctx->renames_count, sizeof(*r)) <
	    0)
		return mbox_fail(mb, "out of memory");
	r = &ctx->renames[ctx->renames_count];
	(void)maildir_name_parse(name, &info);
	mbox_flags_parse(info.flags, &r->flags, &r->keywords);
	r->index = index;
	r->flags_changed = r->flags != m->flags || r->keywords != m->keywords;
	r->modseq = m->modseq;
	r->name = strdup(name);
	if (r->name == NULL)
		return mbox_fail(mb, "out of memory");
	ctx->renames_count++;
	return 0;
}

static int sync_new_file(struct mbox *mb, struct sync_ctx *ctx, const char *name)
{
	struct maildir_name_info info;
	struct mbox_new *n;

	if (sync_grow((void **)&ctx->news, &ctx->news_cap, ctx->news_count, sizeof(*n)) < 0)
		return mbox_fail(mb, "out of memory");
	n = &ctx->news[ctx->news_count];
	memset(n, 0, sizeof(*n));
	(void)maildir_name_parse(name, &info);
	mbox_flags_parse(info.flags, &n->flags, &n->keywords);
	n->name = strdup(name);
	if (n->name == NULL)
		return mbox_fail(mb, "out of memory");
	n->recent = sync_was_moved(ctx, name, info.base_len);
	ctx->news_count++;
	return 0;
}

static int sync_cur_entry(struct mbox *mb, struct sync_ctx *ctx, const char *name)
{
	struct mbox_name_key key;
	size_t base_len;
	bool same;
	ssize_t i;

	if (name[0] == '.')
		return 0;
	mbox_name_key(name, &key);
	base_len = key.base_len;
	if (base_len == 0 || base_len >= MAILDIR_NAME_MAX)
		return 0;
	i = mbox_hash_find(mb, name, &key, &same);
	if (i < 0)
		return sync_new_file(mb, ctx, name);
	if ((mb->msgs[i].state & MBOX_MSG_LISTED) != 0)
		return 0; /* a second file with the same base: the first one counts */
	mb->msgs[i].state |= MBOX_MSG_LISTED;
	if (ctx->moved_count > 0 && sync_was_moved(ctx, name, base_len))
		mb->msgs[i].state |= MBOX_MSG_RECENT;
	if (same && (mb->msgs[i].state & MBOX_MSG_STALE) == 0)
		return 0;
	return sync_renamed(mb, ctx, (uint32_t)i, name);
}

static bool sync_same_time(const struct timespec *a, const struct timespec *b)
{
	return a->tv_sec == b->tv_sec && a->tv_nsec == b->tv_nsec;
}

/* One listing of cur/. *retry_r when it should be repeated. */
static int sync_list_cur(struct mbox *mb, struct sync_ctx *ctx, bool *retry_r)
{
	int fd = openat(mb->cur_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	struct stat before, after;
	struct dirent *de;
	DIR *dir;
	int ret = 0;

	*retry_r = false;
	if (fd < 0 || fstat(fd, &before) < 0 || (dir = fdopendir(fd)) == NULL) {
		if (fd >= 0)
			(void)close(fd);
		return mbox_fail(mb, "%s/cur: %s", mb->path, strerror(errno));
	}
	while (ret == 0 && (errno = 0, de = readdir(dir)) != NULL)
		ret = sync_cur_entry(mb, ctx, de->d_name);
	if (ret == 0 && errno != 0)
		ret = mbox_fail(mb, "%s/cur: %s", mb->path, strerror(errno));
	ctx->cur_before = before.st_mtim;
	if (ret == 0 && fstat(dirfd(dir), &after) == 0 &&
	    !sync_same_time(&before.st_mtim, &after.st_mtim))
		*retry_r = true;
	(void)closedir(dir);
	return ret;
}

static int sync_scan_cur(struct mbox *mb, struct sync_ctx *ctx)
{
	for (int attempt = 0;; attempt++) {
		bool retry, missing = false;

		sync_ctx_reset_scan(ctx);
		for (uint32_t i = 0; i < mb->count; i++)
			mb->msgs[i].state &= (uint8_t)~MBOX_MSG_LISTED;
		if (sync_list_cur(mb, ctx, &retry) < 0)
			return -1;
		for (uint32_t i = 0; i < mb->count && !missing; i++)
			missing = (mb->msgs[i].state & MBOX_MSG_LISTED) == 0;
		if (!retry || !missing || attempt + 1 >= SYNC_SCAN_TRIES)
			return 0;
	}
}

/* After a full listing, messages not listed are gone; new files get their sizes (stat only
   without S=). */
static int sync_collect(struct mbox *mb, struct sync_ctx *ctx, bool full)
{
	size_t kept = 0;

	ctx->gone = malloc(((size_t)mb->count + 1) * sizeof(*ctx->gone));
	if (ctx->gone == NULL)
		return mbox_fail(mb, "out of memory");
	for (uint32_t i = 0; full && i < mb->count; i++) {
		if ((mb->msgs[i].state & MBOX_MSG_LISTED) == 0)
			ctx->gone[ctx->gone_count++] = i;
	}
	for (size_t i = 0; i < ctx->news_count; i++) {
		struct mbox_new *n = &ctx->news[i];

		if (mbox_file_size(mb, n->name, &n->size, &n->vsize) < 0) {
			free(n->name); /* gone since the listing */
			continue;
		}
		ctx->news[kept++] = *n;
	}
	ctx->news_count = kept;
	return 0;
}

static int sync_cmp_new_name(const void *a, const void *b)
{
	return maildir_name_cmp_delivery(((const struct mbox_new *)a)->name,
	                                 ((const struct mbox_new *)b)->name);
}

struct sync_new_key {
	struct maildir_delivery_key key;
	struct mbox_new *n;
};

static int sync_cmp_new_key(const void *a, const void *b)
{
	return maildir_delivery_key_cmp(&((const struct sync_new_key *)a)->key,
	                                &((const struct sync_new_key *)b)->key);
}

/* news in delivery order. A folder copied in has 100,000 new names at once: their times are
   parsed once each, not in every comparison. */
static void sync_sort_news(struct sync_ctx *ctx)
{
	struct sync_new_key *keys = malloc((ctx->news_count + 1) * sizeof(*keys));
	struct mbox_new *sorted = malloc((ctx->news_count + 1) * sizeof(*sorted));

	if (keys == NULL || sorted == NULL) {
		array_sort(ctx->news, ctx->news_count, sizeof(*ctx->news), sync_cmp_new_name);
	} else {
		for (size_t i = 0; i < ctx->news_count; i++) {
			maildir_delivery_key(ctx->news[i].name, &keys[i].key);
			keys[i].n = &ctx->news[i];
		}
		array_sort(keys, ctx->news_count, sizeof(*keys), sync_cmp_new_key);
		for (size_t i = 0; i < ctx->news_count; i++)
			sorted[i] = *keys[i].n;
		memcpy(ctx->news, sorted, ctx->news_count * sizeof(*sorted));
	}
	free(keys);
	free(sorted);
}

/* Delivery order (the names start with the time), one entry per base. */
static void sync_order_news(struct sync_ctx *ctx)
{
	size_t kept = 0;

	sync_sort_news(ctx);
	for (size_t i = 0; i < ctx->news_count; i++) {
		struct mbox_new *n = &ctx->news[i];

		if (kept > 0) {
			const char *prev = ctx->news[kept - 1].name;
			size_t bl = mbox_base_len(prev);

			if (bl == mbox_base_len(n->name) && memcmp(prev, n->name, bl) == 0) {
				free(n->name);
				continue;
			}
		}
		ctx->news[kept++] = *n;
	}
	ctx->news_count = kept;
}

/* ----- the index ----- */

/* A flag change another maild handle made has its modseq in the index already. */
static int sync_write_renames(struct mbox *mb, struct sync_ctx *ctx, uint64_t modseq, bool *bumped)
{
	char name[MAILDIR_NAME_MAX];
	struct mbox_index_msg row;

	for (size_t i = 0; i < ctx->renames_count; i++) {
		struct sync_rename *r = &ctx->renames[i];
		uint32_t uid = mb->msgs[r->index].uid;

		if (r->flags_changed) {
			int ret =
			    mbox_index_msg_get(mb->idx, mb->fi.id, uid, &row, name, sizeof(name));

			if (ret < 0)
				return mbox_fail_index(mb);
			if (ret > 0 && row.flags == r->flags && row.keywords == r->keywords) {
				r->modseq = row.modseq;
			} else {
				r->modseq = modseq;
				*bumped = true;
			}
		}
		if (mbox_index_msg_set_flags(mb->idx, mb->fi.id, uid, r->name, r->flags,
		                             r->keywords, r->modseq) < 0)
			return mbox_fail_index(mb);
	}
	return 0;
}

static int sync_write_gone(struct mbox *mb, struct sync_ctx *ctx, bool *bumped)
{
	for (size_t i = 0; i < ctx->gone_count; i++) {
		if (mbox_index_msg_delete(mb->idx, mb->fi.id, mb->msgs[ctx->gone[i]].uid) < 0)
			return mbox_fail_index(mb);
		*bumped = true;
	}
	return 0;
}

static int sync_cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

/* A row above our highest UID that none of our files got: another handle gave that UID to
   a file our listing did not see yet. Taking it now keeps the UIDs we announce ascending. */
struct sync_catch_up {
	struct sync_ctx *ctx;
	size_t assigned;
	/* The folder's uidnext when this handle, holding the lock, began assigning: every row
	   from there up is one of ours, so the walk stops there. */
	uint32_t first_new;
};

static int sync_catch_up_row(const struct mbox_index_msg *row, void *vctx)
{
	struct sync_catch_up *cu = vctx;
	struct sync_ctx *ctx = cu->ctx;
	struct mbox_new *n;

	if (row->uid >= cu->first_new)
		return 1;
	if (array_search(&row->uid, ctx->assigned, cu->assigned, sizeof(uint32_t), sync_cmp_u32) != NULL)
		return 0;
	if (sync_grow((void **)&ctx->news, &ctx->news_cap, ctx->news_count, sizeof(*n)) < 0)
		return -2;
	n = &ctx->news[ctx->news_count];
	memset(n, 0, sizeof(*n));
	n->name = strdup(row->name);
	if (n->name == NULL)
		return -2;
	n->uid = row->uid;
	n->flags = row->flags;
	n->keywords = row->keywords;
	n->modseq = row->modseq;
	n->size = row->size;
	n->vsize = row->vsize;
	n->internaldate = row->internaldate;
	ctx->news_count++;
	return 0;
}

static int sync_write_news(struct mbox *mb, struct sync_ctx *ctx, uint64_t modseq, bool *bumped)
{
	struct sync_catch_up cu = {.ctx = ctx};
	size_t assigned;
	int ret;

	if (ctx->news_count == 0)
		return 0;
	sync_order_news(ctx);
	assigned = cu.assigned = ctx->news_count;
	cu.first_new = mb->fi.uidnext;
	if (mbox_assign_locked(mb, ctx->news, ctx->news_count, modseq) < 0)
		return -1;
	*bumped = true;
	ctx->assigned = malloc((assigned + 1) * sizeof(uint32_t));
	if (ctx->assigned == NULL)
		return mbox_fail(mb, "out of memory");
	for (size_t i = 0; i < assigned; i++)
		ctx->assigned[i] = ctx->news[i].uid;
	array_sort(ctx->assigned, assigned, sizeof(uint32_t), sync_cmp_u32);
	ret = mbox_index_msg_iter(mb->idx, mb->fi.id, ctx->max_uid_before, sync_catch_up_row, &cu);
	if (ret != 0 && ret != 1)
		return ret == -2 ? mbox_fail(mb, "out of memory") : mbox_fail_index(mb);
	return 0;
}

static int sync_write_locked(struct mbox *mb, struct sync_ctx *ctx, uint32_t live)
{
	uint64_t known_modseq = mb->fi.highestmodseq;
	bool bumped = false;
	uint64_t modseq;

	if (mbox_index_folder_get(mb->idx, mb->folder, &mb->fi) <= 0)
		return mbox_fail(mb, "%s: %s", mb->path,
		                 mbox_index_error(mb->idx)[0] != '\0' ? mbox_index_error(mb->idx)
		                                                      : "folder left the index");
	/* Another handle wrote since this one last read: the index may hold what this scan
	   did not see (or an older view than it), so it gets no record. */
	if (mb->fi.highestmodseq != known_modseq)
		ctx->record = false;
	/* RFC 7162: one command's (here: one sync's) changes may share one new modseq. */
	modseq = mb->fi.highestmodseq + 1;
	if (mbox_msgs_flush_dirty(mb) < 0 || sync_write_renames(mb, ctx, modseq, &bumped) < 0 ||
	    sync_write_gone(mb, ctx, &bumped) < 0 || sync_write_news(mb, ctx, modseq, &bumped) < 0)
		return -1;
	if (bumped)
		mb->fi.highestmodseq = modseq;
	if (ctx->record) {
		mb->fi.scan_cur_mtime_ns = ctx->rec_cur_ns;
		mb->fi.scan_new_mtime_ns = ctx->rec_new_ns;
		mb->fi.scan_started_ns = ctx->rec_started_ns;
		mb->fi.scan_modseq = mb->fi.highestmodseq;
	}
	if (mb->locked && mbox_uidlist_maybe_compact_locked(mb, live) < 0)
		return -1;
	if (mbox_index_folder_put(mb->idx, mb->folder, &mb->fi) < 0)
		return mbox_fail_index(mb);
	return 0;
}

static int sync_write(struct mbox *mb, struct sync_ctx *ctx)
{
	uint32_t live = mb->count - (uint32_t)ctx->gone_count + (uint32_t)ctx->news_count;
	struct mbox_index_folder saved = mb->fi;
	int ret;

	if (ctx->news_count == 0 && ctx->renames_count == 0 && ctx->gone_count == 0 &&
	    mb->dirty_count == 0 && !ctx->record)
		return 0;
	/* Lock before the transaction, never after: the other order could deadlock with a
	   handle that holds the lock and waits for the database. */
	if ((ctx->news_count > 0 ||
	     (ctx->gone_count > 0 && mbox_uidlist_needs_compact(mb, live))) &&
	    mbox_lock(mb) < 0)
		return -1;
	if (mb->defer_rows && ctx->news_count >= MBOX_ROWS_JOB_MIN) {
		/* The rows after the uid list, by a thread (mbox_rows_job.c). */
		ret = mbox_rows_job_begin(mb);
		if (ret == 0)
			ret = sync_write_locked(mb, ctx, live);
		if (ret == 0)
			ret = mbox_rows_job_start(mb);
		else
			mbox_rows_job_abort(mb);
	} else {
		ret = mbox_index_begin(mb->idx) < 0 ? mbox_fail_index(mb) : 0;
		if (ret == 0)
			ret = sync_write_locked(mb, ctx, live);
		if (ret == 0 && mbox_index_commit(mb->idx) < 0)
			ret = mbox_fail_index(mb);
	}
	if (ret < 0) {
		mbox_index_rollback(mb->idx);
		mb->fi = saved;
	}
	mbox_unlock(mb);
	return ret;
}

/* ----- memory ----- */

static int sync_alloc_changes(struct sync_ctx *ctx, struct mbox_changes *ch)
{
	size_t g = ctx->gone_count + 1, r = ctx->renames_count + 1, n = ctx->news_count + 1;

	ch->expunged_seqs = malloc(g * sizeof(uint32_t));
	ch->expunged_uids = malloc(g * sizeof(uint32_t));
	ch->changed = malloc(r * sizeof(uint32_t));
	ch->added = malloc(n * sizeof(uint32_t));
	ch->recent = malloc(n * sizeof(uint32_t));
	return ch->expunged_seqs == NULL || ch->expunged_uids == NULL || ch->changed == NULL ||
	               ch->added == NULL || ch->recent == NULL
	           ? -1
	           : 0;
}

static void sync_apply_renames(struct mbox *mb, struct sync_ctx *ctx, struct mbox_changes *ch)
{
	for (size_t i = 0; i < ctx->renames_count; i++) {
		struct sync_rename *r = &ctx->renames[i];
		struct mbox_msg *m = &mb->msgs[r->index];

		mbox_msg_take_name(mb, m, r->name);
		r->name = NULL;
		m->flags = r->flags;
		m->keywords = r->keywords;
		m->modseq = r->modseq;
		m->state &= (uint8_t)~MBOX_MSG_STALE;
		if (r->flags_changed)
			ch->changed[ch->changed_count++] = m->uid;
	}
	array_sort(ch->changed, ch->changed_count, sizeof(uint32_t), sync_cmp_u32);
}

static void sync_apply_gone(struct mbox *mb, struct sync_ctx *ctx, struct mbox_changes *ch)
{
	uint32_t kept = 0;
	size_t g = 0;

	for (size_t k = ctx->gone_count; k > 0; k--) {
		ch->expunged_seqs[ch->expunged_count] = ctx->gone[k - 1] + 1;
		ch->expunged_uids[ch->expunged_count++] = mb->msgs[ctx->gone[k - 1]].uid;
	}
	for (uint32_t i = 0; i < mb->count; i++) {
		if (g < ctx->gone_count && ctx->gone[g] == i) {
			mbox_msg_name_free(mb, mb->msgs[i].name);
			g++;
			continue;
		}
		mb->msgs[kept++] = mb->msgs[i];
	}
	mb->count = kept;
	if (ctx->gone_count > 0)
		mb->hash_dirty = true;
}

static int sync_apply_news(struct mbox *mb, struct sync_ctx *ctx, struct mbox_changes *ch)
{
	mbox_news_sort_by_uid(ctx->news, ctx->news_count);
	for (size_t i = 0; i < ctx->news_count; i++) {
		struct mbox_new *n = &ctx->news[i];
		int ret = mbox_msgs_add_new(mb, n);

		/* Not added: the name stays in news and is freed with it. */
		if (ret < 0)
			return -1;
		if (ret == 0)
			continue;
		ch->added[ch->added_count++] = n->uid;
		if (n->recent)
			ch->recent[ch->recent_count++] = n->uid;
	}
	return 0;
}

void mbox_changes_free(struct mbox_changes *changes)
{
	free(changes->expunged_seqs);
	free(changes->expunged_uids);
	free(changes->changed);
	free(changes->added);
	free(changes->recent);
	memset(changes, 0, sizeof(*changes));
}

/* A sync within this long of cur/'s last scan leaves a doubtful mtime for later. */
#define SYNC_RESCAN_NSEC 1000000000LL

enum sync_need { SYNC_NOTHING, SYNC_LATER, SYNC_SCAN };

static int64_t sync_ns(const struct timespec *t)
{
	return (int64_t)t->tv_sec * 1000000000LL + t->tv_nsec;
}

static struct timespec sync_timespec(int64_t ns)
{
	struct timespec t = {.tv_sec = ns / 1000000000LL, .tv_nsec = ns % 1000000000LL};

	return t;
}

/* Settled: the mtime was more than a second old when the scan started, so a change made
   during or after that scan would have moved it. */
static bool sync_settled(const struct timespec *mtime, const struct timespec *scanned)
{
	return mtime->tv_sec + 1 < scanned->tv_sec;
}

/* Whether a directory must be read. An mtime that moved means a change. One that did not
   proves nothing while it is younger than a second at the last scan's start: the clock
   that stamps it is coarse (and whole seconds on some file systems), so another program's
   change in the same tick leaves it as it was. new/ is small (mail waits there only until
   a sync moves it) and is read again then. cur/ can hold 100,000 names: it is read again
   at most once a second while it stays doubtful (Dovecot's maildir sync does the same), so
   a burst of this handle's own changes, which move the record with them (mbox_own.c),
   costs one scan a second instead of one per change, and another program's change in a
   shared tick is seen within a second. */
static enum sync_need sync_dir_need(const struct timespec *mtime, const struct timespec *recorded,
                                    const struct timespec *scanned, const struct timespec *now,
                                    bool cheap)
{
	if (!sync_same_time(mtime, recorded))
		return SYNC_SCAN;
	if (sync_settled(mtime, scanned))
		return SYNC_NOTHING;
	if (cheap)
		return SYNC_SCAN;
	return sync_ns(now) - sync_ns(scanned) < SYNC_RESCAN_NSEC ? SYNC_LATER : SYNC_SCAN;
}

/* What the listings found, applied: sizes of the new files, messages gone (after a full
   listing of cur/ only), the index written, then memory and the change report. */
static int sync_apply(struct mbox *mb, struct sync_ctx *ctx, struct mbox_changes *ch, bool full)
{
	if (sync_collect(mb, ctx, full) < 0 || sync_write(mb, ctx) < 0)
		return -1;
	if (sync_alloc_changes(ctx, ch) < 0)
		return mbox_fail(mb, "out of memory");
	/* Renames refer to message indexes: before the gone ones are removed. */
	sync_apply_renames(mb, ctx, ch);
	sync_apply_gone(mb, ctx, ch);
	return sync_apply_news(mb, ctx, ch);
}

static int sync_prepare(struct mbox *mb, struct sync_ctx *ctx)
{
	if (mbox_keywords_refresh(mb) < 0 || mbox_hash_build(mb) < 0)
		return -1;
	ctx->max_uid_before = mb->count > 0 ? mb->msgs[mb->count - 1].uid : 0;
	return 0;
}

/* sync_settled() for the times of the index's record. */
static bool sync_record_settled(int64_t mtime_ns, int64_t started_ns)
{
	struct timespec mtime = sync_timespec(mtime_ns), started = sync_timespec(started_ns);

	return sync_settled(&mtime, &started);
}

/* Whether the index's record of the last full scan should change: it says something else,
   or it was not settled and this one may be. Written only then, so an unchanged folder's
   scans write nothing. */
static bool sync_record_wanted(const struct mbox *mb, const struct sync_ctx *ctx)
{
	const struct mbox_index_folder *fi = &mb->fi;

	return fi->scan_cur_mtime_ns != ctx->rec_cur_ns || fi->scan_new_mtime_ns != ctx->rec_new_ns ||
	       fi->scan_modseq != fi->highestmodseq ||
	       !sync_record_settled(fi->scan_cur_mtime_ns, fi->scan_started_ns) ||
	       !sync_record_settled(fi->scan_new_mtime_ns, fi->scan_started_ns);
}

bool mbox_sync_trust_record(struct mbox *mb)
{
	const struct mbox_index_folder *fi = &mb->fi;
	struct stat cur, new;

	if (fi->scan_started_ns == 0 || fi->scan_modseq != fi->highestmodseq ||
	    fstat(mb->cur_fd, &cur) < 0 || fstat(mb->new_fd, &new) < 0 ||
	    sync_ns(&cur.st_mtim) != fi->scan_cur_mtime_ns ||
	    !sync_record_settled(fi->scan_cur_mtime_ns, fi->scan_started_ns))
		return false;
	mb->scanned = true;
	mb->cur_mtime = cur.st_mtim;
	mb->cur_scanned = sync_timespec(fi->scan_started_ns);
	/* new/ is cheap to read: trusted only when it is as recorded too, else read next. */
	if (sync_ns(&new.st_mtim) == fi->scan_new_mtime_ns &&
	    sync_record_settled(fi->scan_new_mtime_ns, fi->scan_started_ns)) {
		mb->new_mtime = new.st_mtim;
		mb->new_scanned = mb->cur_scanned;
	}
	return true;
}

/* Everything: new/ moved into cur/, then cur/ listed against memory. */
static int sync_run_full(struct mbox *mb, struct sync_ctx *ctx, struct mbox_changes *ch)
{
	/* The listing finds this handle's own new files like any other. */
	mbox_own_clear(mb);
	if (sync_prepare(mb, ctx) < 0 || sync_move_new(mb, ctx) < 0 || sync_scan_cur(mb, ctx) < 0)
		return -1;
	ctx->rec_cur_ns = sync_ns(&ctx->cur_before);
	ctx->record = sync_record_wanted(mb, ctx);
	return sync_apply(mb, ctx, ch, true);
}

/* new/ only, cur/ being as recorded: the files moved from new/ and the handle's own
   appended ones are all that cur/ gained that memory lacks. */
static int sync_run_new(struct mbox *mb, struct sync_ctx *ctx, struct mbox_changes *ch)
{
	struct mbox_own own;
	int ret = 0;

	if (sync_prepare(mb, ctx) < 0)
		return -1;
	ctx->keep_targets = true;
	mbox_own_begin(mb, &own);
	ret = sync_move_new(mb, ctx);
	mbox_own_end(mb, &own);
	for (size_t i = 0; ret == 0 && i < ctx->targets_count; i++)
		ret = sync_cur_entry(mb, ctx, ctx->targets[i]);
	for (size_t i = 0; ret == 0 && i < mb->own_news_count; i++)
		ret = sync_cur_entry(mb, ctx, mb->own_news[i].name);
	mbox_own_clear(mb);
	return ret < 0 ? -1 : sync_apply(mb, ctx, ch, false);
}

int mbox_sync(struct mbox *mb, unsigned int flags, struct mbox_changes *changes_r)
{
	struct mbox_changes local, *ch = changes_r != NULL ? changes_r : &local;
	enum sync_need cur_need, new_need;
	struct stat cur, new;
	struct sync_ctx ctx;
	struct timespec now;
	int ret;

	memset(ch, 0, sizeof(*ch));
	memset(&ctx, 0, sizeof(ctx));
	(void)clock_gettime(CLOCK_REALTIME, &now);
	if (fstat(mb->cur_fd, &cur) < 0 || fstat(mb->new_fd, &new) < 0)
		return mbox_fail(mb, "%s: %s", mb->path, strerror(errno));
	if (!mb->scanned || (flags & MBOX_SYNC_FORCE) != 0) {
		cur_need = new_need = SYNC_SCAN;
	} else {
		cur_need = sync_dir_need(&cur.st_mtim, &mb->cur_mtime, &mb->cur_scanned, &now, false);
		new_need = sync_dir_need(&new.st_mtim, &mb->new_mtime, &mb->new_scanned, &now, true);
	}
	mb->sync_deferred = cur_need == SYNC_LATER;
	if (cur_need != SYNC_SCAN && new_need != SYNC_SCAN) {
		ret = mbox_own_apply(mb, ch);
	} else if (mbox_resume(mb) < 0) {
		return -1;
	} else if (cur_need == SYNC_SCAN) {
		ctx.rec_new_ns = sync_ns(&new.st_mtim);
		ctx.rec_started_ns = sync_ns(&now);
		ret = sync_run_full(mb, &ctx, ch);
		if (ret == 0) {
			mb->scanned = true;
			mb->cur_mtime = ctx.cur_before;
			mb->cur_scanned = now;
		}
	} else {
		ret = sync_run_new(mb, &ctx, ch);
	}
	if (ret == 0 && new_need == SYNC_SCAN) {
		mb->new_mtime = new.st_mtim;
		mb->new_scanned = now;
	}
	sync_ctx_free(&ctx);
	if (ret < 0 || changes_r == NULL)
		mbox_changes_free(ch);
	return ret;
}

bool mbox_sync_deferred(const struct mbox *mb)
{
	return mb->sync_deferred;
}
