#include <errno.h>
#include <stdio.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "maildir_name.h"
#include "core/array_grow.h"
#include "core/array_sort.h"
#include "mbox_private.h"

/* Another maild holding the folder lock longer than this is stuck. */
#define MBOX_LOCK_TIMEOUT_MS 30000
#define MBOX_LOCK_POLL_US 2000
/* The uid list is rewritten when it holds more than this many lines beyond twice the
   messages (lines of removed messages accumulate with appends). */
#define MBOX_UIDLIST_SLACK 1000

int mbox_lock(struct mbox *mb)
{
	unsigned waited_us = 0;

	if (mb->lock_fd < 0) {
		mb->lock_fd = openat(mb->dir_fd, MBOX_UIDLIST_LOCK_FILE,
		                     O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
		if (mb->lock_fd < 0)
			return mbox_fail(mb, "%s/" MBOX_UIDLIST_LOCK_FILE ": %s", mb->path,
			                 strerror(errno));
	}
	/* flock, not fcntl: it also excludes other handles of this same process. */
	while (flock(mb->lock_fd, LOCK_EX | LOCK_NB) < 0) {
		if (errno == EINTR)
			continue;
		if (errno != EWOULDBLOCK)
			return mbox_fail(mb, "%s: lock: %s", mb->path, strerror(errno));
		if (waited_us >= MBOX_LOCK_TIMEOUT_MS * 1000u)
			return mbox_fail(mb,
			                 "%s: folder locked by another process for %d s; "
			                 "try again later",
			                 mb->path, MBOX_LOCK_TIMEOUT_MS / 1000);
		(void)usleep(MBOX_LOCK_POLL_US);
		waited_us += MBOX_LOCK_POLL_US;
	}
	mb->locked = true;
	return 0;
}

void mbox_unlock(struct mbox *mb)
{
	if (mb->locked)
		(void)flock(mb->lock_fd, LOCK_UN);
	mb->locked = false;
}

/* ----- the uid list as the index knows it ----- */

struct assign_ctx {
	struct mbox_uidlist ul;
	/* The file differs from what the index recorded: ul holds it in full. */
	bool full;
	/* No file: it is written afresh from the index. */
	bool missing;
	/* ul's entries sorted by base, when full. */
	struct mbox_uidlist_entry **by_base;
	/* The index's rows above the highest UID in memory (other handles' since this one
	   loaded), sorted by base: the only rows a file the handle does not know can have.
	   Bases point into names. */
	struct mbox_uidlist_entry *others;
	size_t others_count, others_cap;
};

static int assign_cmp_base(const void *a, const void *b)
{
	return strcmp((*(struct mbox_uidlist_entry *const *)a)->base,
	              (*(struct mbox_uidlist_entry *const *)b)->base);
}

static int assign_read_full(struct mbox *mb, struct assign_ctx *ctx)
{
	const char *error;
	int ret = mbox_uidlist_read(mb->dir_fd, MBOX_UIDLIST_FILE, &ctx->ul, &error);

	if (ret < 0)
		return mbox_fail(mb, "%s/" MBOX_UIDLIST_FILE ": %s", mb->path, error);
	if (ret == 0) {
		ctx->missing = true;
		return 0;
	}
	if (ctx->ul.uidvalidity != mb->fi.uidvalidity)
		return mbox_fail(mb,
		                 "%s/" MBOX_UIDLIST_FILE ": UIDVALIDITY %u, the index has %u; "
		                 "reopen the folder",
		                 mb->path, ctx->ul.uidvalidity, mb->fi.uidvalidity);
	ctx->full = true;
	ctx->by_base = malloc((ctx->ul.count + 1) * sizeof(*ctx->by_base));
	if (ctx->by_base == NULL)
		return mbox_fail(mb, "out of memory");
	for (size_t i = 0; i < ctx->ul.count; i++)
		ctx->by_base[i] = &ctx->ul.entries[i];
	array_sort(ctx->by_base, ctx->ul.count, sizeof(*ctx->by_base), assign_cmp_base);
	if (ctx->ul.nextuid > mb->fi.uidnext)
		mb->fi.uidnext = ctx->ul.nextuid;
	return 0;
}

/* A crash between the uid list append and the index commit, or another writer, leaves a
   file that is not the one the index recorded: then it is read in full and its UIDs win. */
static int assign_check_uidlist(struct mbox *mb, struct assign_ctx *ctx)
{
	struct stat st;

	memset(ctx, 0, sizeof(*ctx));
	if (fstatat(mb->dir_fd, MBOX_UIDLIST_FILE, &st, AT_SYMLINK_NOFOLLOW) < 0) {
		if (errno != ENOENT)
			return mbox_fail(mb, "%s/" MBOX_UIDLIST_FILE ": %s", mb->path,
			                 strerror(errno));
		ctx->missing = true;
		return 0;
	}
	if ((uint64_t)st.st_ino == mb->fi.uidlist_ino &&
	    (uint64_t)st.st_size == mb->fi.uidlist_size) {
		ctx->ul.uidvalidity = mb->fi.uidvalidity;
		ctx->ul.ino = mb->fi.uidlist_ino;
		ctx->ul.size = mb->fi.uidlist_size;
		ctx->ul.lines = mb->fi.uidlist_lines;
		return 0;
	}
	return assign_read_full(mb, ctx);
}

static void assign_ctx_free(struct assign_ctx *ctx)
{
	mbox_uidlist_clear(&ctx->ul);
	free(ctx->by_base);
	for (size_t i = 0; i < ctx->others_count; i++)
		free(ctx->others[i].base);
	free(ctx->others);
}

static int assign_cmp_entry_base(const void *a, const void *b)
{
	return strcmp(((const struct mbox_uidlist_entry *)a)->base,
	              ((const struct mbox_uidlist_entry *)b)->base);
}

static int assign_collect_other(const struct mbox_index_msg *msg, void *vctx)
{
	struct assign_ctx *ctx = vctx;

	if (array_grow((void **)&ctx->others, &ctx->others_cap, ctx->others_count + 1,
	               sizeof(*ctx->others)) < 0)
		return -2;
	ctx->others[ctx->others_count].base = strndup(msg->name, mbox_base_len(msg->name));
	if (ctx->others[ctx->others_count].base == NULL)
		return -2;
	ctx->others[ctx->others_count++].uid = msg->uid;
	return 0;
}

/* One range read instead of a lookup per file: a file that needs a UID is one whose base
   no message in memory has, and memory holds every row up to its highest UID (UIDs are
   given in ascending order under the lock), so only rows above it can already be its. */
static int assign_read_others(struct mbox *mb, struct assign_ctx *ctx)
{
	uint32_t known = mb->count > 0 ? mb->msgs[mb->count - 1].uid : 0;
	int ret = mbox_index_msg_iter(mb->idx, mb->fi.id, known, assign_collect_other, ctx);

	if (ret != 0)
		return ret == -2 ? mbox_fail(mb, "out of memory") : mbox_fail_index(mb);
	array_sort(ctx->others, ctx->others_count, sizeof(*ctx->others), assign_cmp_entry_base);
	return 0;
}

/* The UID another handle gave base, or 0. */
static uint32_t assign_uid_of_other(const struct assign_ctx *ctx, const char *base)
{
	struct mbox_uidlist_entry key = {.base = (char *)base}, *found;

	found = array_search(&key, ctx->others, ctx->others_count, sizeof(*ctx->others),
	                     assign_cmp_entry_base);
	return found != NULL ? found->uid : 0;
}

static uint32_t assign_uid_in_list(const struct assign_ctx *ctx, const char *base)
{
	struct mbox_uidlist_entry key = {.base = (char *)base}, *keyp = &key, **found;

	if (!ctx->full)
		return 0;
	found = array_search(&keyp, ctx->by_base, ctx->ul.count, sizeof(*ctx->by_base), assign_cmp_base);
	return found != NULL ? (*found)->uid : 0;
}

/* ----- writing the uid list from the index ----- */

static int assign_collect(const struct mbox_index_msg *msg, void *ctx)
{
	struct mbox_uidlist *ul = ctx;

	if (ul->count % 4096 == 0) {
		struct mbox_uidlist_entry *more =
		    realloc(ul->entries, (ul->count + 4096) * sizeof(*more));

		if (more == NULL)
			return -2;
		ul->entries = more;
	}
	ul->entries[ul->count].base = strndup(msg->name, mbox_base_len(msg->name));
	if (ul->entries[ul->count].base == NULL)
		return -2;
	ul->entries[ul->count++].uid = msg->uid;
	return 0;
}

int mbox_uidlist_rewrite_locked(struct mbox *mb)
{
	struct mbox_uidlist ul;
	const char *error;
	int ret;

	memset(&ul, 0, sizeof(ul));
	ul.uidvalidity = mb->fi.uidvalidity;
	ul.nextuid = mb->fi.uidnext;
	ret = mbox_index_msg_iter(mb->idx, mb->fi.id, 0, assign_collect, &ul);
	if (ret == 0 && mbox_uidlist_write(mb->dir_fd, &ul, &error) < 0)
		ret = mbox_fail(mb, "%s/" MBOX_UIDLIST_FILE ": %s", mb->path, error);
	else if (ret != 0)
		ret = ret == -2 ? mbox_fail(mb, "out of memory") : mbox_fail_index(mb);
	if (ret == 0) {
		mb->fi.uidlist_ino = ul.ino;
		mb->fi.uidlist_size = ul.size;
		mb->fi.uidlist_lines = ul.lines;
	}
	mbox_uidlist_clear(&ul);
	return ret;
}

bool mbox_uidlist_needs_compact(const struct mbox *mb, uint32_t live)
{
	return mb->fi.uidlist_lines > 2 * (uint64_t)live + MBOX_UIDLIST_SLACK;
}

int mbox_uidlist_maybe_compact_locked(struct mbox *mb, uint32_t live)
{
	/* The list is rewritten from the index, which lacks the rows a job still holds. */
	if (!mbox_uidlist_needs_compact(mb, live) || mbox_rows_job_holds_rows(mb))
		return 0;
	return mbox_uidlist_rewrite_locked(mb);
}

/* ----- assignment ----- */

/* The index already has this base (another handle gave it a UID): keep that UID and, when
   the flags are the same, its modseq and what it learned. */
static int assign_merge_row(struct mbox *mb, struct mbox_new *n)
{
	char name[MAILDIR_NAME_MAX];
	struct mbox_index_msg row;
	int ret = mbox_index_msg_get(mb->idx, mb->fi.id, n->uid, &row, name, sizeof(name));

	if (ret < 0)
		return mbox_fail_index(mb);
	if (ret == 0)
		return 0;
	if (row.flags == n->flags && row.keywords == n->keywords)
		n->modseq = row.modseq;
	if (n->internaldate == 0)
		n->internaldate = row.internaldate;
	if (n->vsize == 0)
		n->vsize = row.vsize;
	return 0;
}

static int assign_one(struct mbox *mb, struct assign_ctx *ctx, struct mbox_new *n,
                      struct mbox_uidlist_entry *fresh, size_t *fresh_count)
{
	size_t base_len = mbox_base_len(n->name);

	fresh[*fresh_count].base = strndup(n->name, base_len);
	if (fresh[*fresh_count].base == NULL)
		return mbox_fail(mb, "out of memory");
	n->uid = assign_uid_of_other(ctx, fresh[*fresh_count].base);
	if (n->uid != 0) {
		free(fresh[*fresh_count].base);
		return assign_merge_row(mb, n);
	}
	n->uid = assign_uid_in_list(ctx, fresh[*fresh_count].base);
	if (n->uid != 0) {
		/* Recorded before a crash lost the index's copy: already in the file. */
		free(fresh[*fresh_count].base);
		if (n->uid >= mb->fi.uidnext)
			mb->fi.uidnext = n->uid + 1;
		return 0;
	}
	if (mb->fi.uidnext == 0 || mb->fi.uidnext == UINT32_MAX) {
		free(fresh[*fresh_count].base);
		return mbox_fail(mb, "%s: no UIDs left; the folder needs a new UIDVALIDITY",
		                 mb->path);
	}
	n->uid = mb->fi.uidnext++;
	fresh[(*fresh_count)++].uid = n->uid;
	return 0;
}

/* Into the index, or to the rows job when the sync has one (mbox_rows_job.c). */
static int assign_insert_rows(struct mbox *mb, const struct mbox_new *news, size_t count,
                              bool to_job)
{
	for (size_t i = 0; i < count; i++) {
		struct mbox_index_msg row = {
		    .uid = news[i].uid,
		    .name = news[i].name,
		    .flags = news[i].flags,
		    .keywords = news[i].keywords,
		    .modseq = news[i].modseq,
		    .size = news[i].size,
		    .vsize = news[i].vsize,
		    .internaldate = news[i].internaldate,
		};

		if (to_job) {
			if (mbox_rows_job_add(mb, &row) < 0)
				return -1;
		} else if (mbox_index_msg_insert(mb->idx, mb->fi.id, &row) < 0) {
			return mbox_fail_index(mb);
		}
	}
	return 0;
}

static int assign_record(struct mbox *mb, struct assign_ctx *ctx,
                         const struct mbox_uidlist_entry *fresh, size_t fresh_count)
{
	const char *error;

	/* Missing: written whole from the index, which now has every row. */
	if (ctx->missing)
		return mbox_uidlist_rewrite_locked(mb);
	if (mbox_uidlist_append(mb->dir_fd, &ctx->ul, fresh, fresh_count, &error) < 0)
		return mbox_fail(mb, "%s/" MBOX_UIDLIST_FILE ": %s", mb->path, error);
	mb->fi.uidlist_ino = ctx->ul.ino;
	mb->fi.uidlist_size = ctx->ul.size;
	mb->fi.uidlist_lines = ctx->ul.lines;
	return 0;
}

int mbox_assign_locked(struct mbox *mb, struct mbox_new *news, size_t count, uint64_t modseq)
{
	struct mbox_uidlist_entry *fresh;
	struct assign_ctx ctx;
	size_t fresh_count = 0;
	int ret = 0;

	if (assign_check_uidlist(mb, &ctx) < 0 || assign_read_others(mb, &ctx) < 0) {
		assign_ctx_free(&ctx);
		return -1;
	}
	fresh = calloc(count + 1, sizeof(*fresh));
	if (fresh == NULL)
		ret = mbox_fail(mb, "out of memory");
	for (size_t i = 0; ret == 0 && i < count; i++) {
		news[i].modseq = modseq;
		ret = assign_one(mb, &ctx, &news[i], fresh, &fresh_count);
	}
	/* A missing uid list is written from the index's rows: then they go in now. */
	if (ret == 0)
		ret = assign_insert_rows(mb, news, count, mb->rows_job != NULL && !ctx.missing);
	/* The uid list first, durably; the caller commits the index after it. */
	if (ret == 0 && (fresh_count > 0 || ctx.missing || ctx.full))
		ret = assign_record(mb, &ctx, fresh, fresh_count);
	for (size_t i = 0; fresh != NULL && i < fresh_count; i++)
		free(fresh[i].base);
	free(fresh);
	assign_ctx_free(&ctx);
	return ret;
}

int mbox_assign(struct mbox *mb, struct mbox_new *news, size_t count)
{
	uint64_t modseq;
	int ret = 0;

	if (mbox_lock(mb) < 0)
		return -1;
	if (mbox_index_begin(mb->idx) < 0 ||
	    mbox_index_folder_get(mb->idx, mb->folder, &mb->fi) <= 0)
		ret = mbox_fail_index(mb);
	if (ret == 0) {
		modseq = mb->fi.highestmodseq + 1;
		ret = mbox_assign_locked(mb, news, count, modseq);
		mb->fi.highestmodseq = modseq;
	}
	if (ret == 0 && mbox_index_folder_put(mb->idx, mb->folder, &mb->fi) < 0)
		ret = mbox_fail_index(mb);
	if (ret == 0 && mbox_index_commit(mb->idx) < 0)
		ret = mbox_fail_index(mb);
	if (ret < 0)
		mbox_index_rollback(mb->idx);
	mbox_unlock(mb);
	return ret;
}
