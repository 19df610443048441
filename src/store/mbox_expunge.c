#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../core/array_sort.h"
#include "maildir_name.h"
#include "mbox_private.h"

/* What unlinking the files of the messages at ks (indexes into msgs) came to. */
struct expunge_files {
	uint64_t bytes, removed; /* removed by us: the quota's part */
	uint64_t gone;           /* removed by us or before us: the index's and memory's part */
};

/* A message whose file was not under the name memory has. */
struct expunge_missing {
	const char *base; /* memory's name, up to base_len */
	size_t base_len;
	uint32_t k;  /* index into msgs */
	char *found; /* the name it has now in cur/, malloc'ed; NULL: gone */
};

static int expunge_missing_cmp(const void *a, const void *b)
{
	const struct expunge_missing *x = a, *y = b;
	size_t n = x->base_len < y->base_len ? x->base_len : y->base_len;
	int c = memcmp(x->base, y->base, n);

	return c != 0 ? c : (x->base_len > y->base_len) - (x->base_len < y->base_len);
}

/* Their current names, from one listing of cur/ for them all (one per message would read
   100,000 names each time). 0 or -1. */
static int expunge_find_renamed(struct mbox *mb, struct expunge_missing *miss, size_t n)
{
	int fd = openat(mb->cur_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *dir = fd >= 0 ? fdopendir(fd) : NULL;
	struct dirent *de;
	int ret = 0;

	if (dir == NULL) {
		if (fd >= 0)
			(void)close(fd);
		return mbox_fail(mb, "%s/cur: %s", mb->path, strerror(errno));
	}
	array_sort(miss, n, sizeof(*miss), expunge_missing_cmp);
	while (ret == 0 && (de = readdir(dir)) != NULL) {
		struct expunge_missing key = {.base = de->d_name,
		                              .base_len = strcspn(de->d_name, ":")};
		struct expunge_missing *m =
		    array_search(&key, miss, n, sizeof(*miss), expunge_missing_cmp);

		if (m != NULL && m->found == NULL && (m->found = strdup(de->d_name)) == NULL)
			ret = mbox_fail(mb, "out of memory");
	}
	(void)closedir(dir);
	return ret;
}

/* Another program renamed these files (flags changed) or removed them: follow the renames
   once. results[i] for miss[i] (in the order left in miss): 1 removed by us, 0 gone, -1. */
static void expunge_unlink_renamed(struct mbox *mb, struct expunge_missing *miss, size_t n,
                                   int *results)
{
	int listed = expunge_find_renamed(mb, miss, n);

	for (size_t i = 0; i < n; i++) {
		struct mbox_msg *m = &mb->msgs[miss[i].k];

		results[i] = listed < 0 ? -1 : 0;
		if (miss[i].found == NULL)
			continue;
		/* Only the name: the flags in it are reported as a change by the next sync. */
		mbox_msg_take_name(mb, m, miss[i].found);
		m->state |= MBOX_MSG_STALE;
		if (unlinkat(mb->cur_fd, m->name, 0) == 0)
			results[i] = 1;
		else if (errno != ENOENT)
			results[i] =
			    mbox_fail(mb, "%s/cur/%s: %s", mb->path, m->name, strerror(errno));
	}
}

/* The outcome of one message: counted, marked in gone; -1 when its file stays. */
static int expunge_count(struct mbox *mb, uint32_t k, int result, uint8_t *gone,
                         struct expunge_files *files)
{
	if (result > 0) {
		files->bytes += mb->msgs[k].size;
		files->removed++;
	}
	/* Gone either way: by us, or by another program before us. */
	if (result < 0)
		return -1;
	gone[k] = 1;
	files->gone++;
	return 0;
}

/* Unlink the files of the messages at ks (indexes into msgs), marking in gone those whose
   file is no more. 0, or -1 when some could not be removed (the others are marked). */
static int expunge_unlink(struct mbox *mb, const uint32_t *ks, size_t n, uint8_t *gone,
                          struct expunge_files *files)
{
	char **names = malloc((n + 1) * sizeof(*names));
	int *results = malloc((n + 1) * sizeof(*results));
	struct expunge_missing *miss = malloc((n + 1) * sizeof(*miss));
	size_t n_miss = 0;
	int ret = 0;

	if (names == NULL || results == NULL || miss == NULL) {
		free(names);
		free(results);
		free(miss);
		return mbox_fail(mb, "out of memory");
	}
	for (size_t i = 0; i < n; i++)
		names[i] = mb->msgs[ks[i]].name;
	mbox_unlink_all(mb->cur_fd, names, n, results);
	for (size_t i = 0; i < n; i++) {
		struct mbox_msg *m = &mb->msgs[ks[i]];

		if (results[i] == ENOENT) {
			miss[n_miss++] = (struct expunge_missing){
			    .base = m->name, .base_len = m->base_len, .k = ks[i]};
			continue;
		}
		if (results[i] != 0)
			mbox_fail(mb, "%s/cur/%s: %s", mb->path, m->name, strerror(results[i]));
		if (expunge_count(mb, ks[i], results[i] == 0 ? 1 : -1, gone, files) < 0)
			ret = -1;
	}
	if (n_miss > 0)
		expunge_unlink_renamed(mb, miss, n_miss, results);
	for (size_t i = 0; i < n_miss; i++) {
		if (expunge_count(mb, miss[i].k, results[i], gone, files) < 0)
			ret = -1;
	}
	free(names);
	free(results);
	free(miss);
	return ret;
}

/* Remove the messages marked in gone (indexes into msgs) from memory; report them. */
static void expunge_memory(struct mbox *mb, const uint8_t *gone, struct mbox_changes *ch)
{
	uint32_t kept = 0;

	for (uint32_t i = mb->count; i > 0; i--) {
		if (gone[i - 1]) {
			ch->expunged_seqs[ch->expunged_count] = i;
			ch->expunged_uids[ch->expunged_count++] = mb->msgs[i - 1].uid;
		}
	}
	for (uint32_t i = 0; i < mb->count; i++) {
		if (gone[i])
			mbox_msg_name_free(mb, mb->msgs[i].name);
		else
			mb->msgs[kept++] = mb->msgs[i];
	}
	mb->count = kept;
	mb->hash_dirty = true;
}

static int expunge_index(struct mbox *mb, const uint8_t *gone, uint32_t live)
{
	bool lock = mbox_uidlist_needs_compact(mb, live);
	int ret = 0;

	if (lock && mbox_lock(mb) < 0)
		return -1;
	if (mbox_index_begin(mb->idx) < 0 ||
	    mbox_index_folder_get(mb->idx, mb->folder, &mb->fi) <= 0)
		ret = mbox_fail_index(mb);
	/* A run of consecutive UIDs, all gone, goes in a few statements. */
	for (uint32_t i = 0; ret == 0 && i < mb->count; i++) {
		uint32_t first, last;

		if (!gone[i])
			continue;
		first = last = mb->msgs[i].uid;
		while (i + 1 < mb->count && gone[i + 1] && mb->msgs[i + 1].uid == last + 1)
			last = mb->msgs[++i].uid;
		if (mbox_index_msg_delete_range(mb->idx, mb->fi.id, first, last) < 0)
			ret = mbox_fail_index(mb);
	}
	if (ret == 0) {
		mb->fi.highestmodseq++;
		if (lock)
			ret = mbox_uidlist_maybe_compact_locked(mb, live);
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

static void expunge_quota(struct mbox *mb, uint64_t bytes, uint64_t count)
{
	const char *error;

	/* Maildir++: .Trash is not counted; the root's maildirsize holds every folder. A
	   failure only leaves the file stale until its next recalculation. */
	if (count > 0 && !mb->is_trash)
		(void)maildir_quota_add(mb->root, -(int64_t)bytes, -(int64_t)count, &error);
}

/* The indexes into msgs of the messages with these UIDs, each once, in ks (count long);
   their number. */
static size_t expunge_targets(const struct mbox *mb, const uint32_t *uids, size_t count,
                              uint8_t *seen, uint32_t *ks)
{
	size_t n = 0;

	for (size_t i = 0; i < count; i++) {
		ssize_t k = mbox_msgs_find(mb, uids[i]);

		if (k < 0 || seen[k])
			continue;
		seen[k] = 1;
		ks[n++] = (uint32_t)k;
	}
	memset(seen, 0, mb->count);
	return n;
}

int mbox_expunge(struct mbox *mb, const uint32_t *uids, size_t count,
                 struct mbox_changes *changes_r)
{
	uint8_t *gone = calloc((size_t)mb->count + 1, 1);
	uint32_t *ks = malloc((count + 1) * sizeof(*ks));
	struct expunge_files files = {0};
	struct mbox_own own;
	size_t n;
	int ret = 0;

	memset(changes_r, 0, sizeof(*changes_r));
	if (mbox_resume(mb) < 0) {
		free(gone);
		free(ks);
		return -1;
	}
	changes_r->expunged_seqs = malloc((count + 1) * sizeof(uint32_t));
	changes_r->expunged_uids = malloc((count + 1) * sizeof(uint32_t));
	if (gone == NULL || ks == NULL || changes_r->expunged_seqs == NULL ||
	    changes_r->expunged_uids == NULL) {
		free(gone);
		free(ks);
		mbox_changes_free(changes_r);
		return mbox_fail(mb, "out of memory");
	}
	n = expunge_targets(mb, uids, count, gone, ks);
	mbox_own_begin(mb, &own);
	if (n > 0)
		ret = expunge_unlink(mb, ks, n, gone, &files);
	mbox_own_end(mb, &own);
	expunge_quota(mb, files.bytes, files.removed);
	/* The files go before their rows: a crash in between leaves rows without files, which
	   the next sync removes (cur/ changed since the index's record of it). */
	if (files.gone > 0 && expunge_index(mb, gone, mb->count - (uint32_t)files.gone) < 0)
		ret = -1;
	if (files.gone > 0)
		expunge_memory(mb, gone, changes_r);
	free(gone);
	free(ks);
	return ret < 0 ? -1 : 0;
}
