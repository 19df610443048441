#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "maildir_name.h"
#include "mbox_private.h"

/* Unlink m's file, following a concurrent rename once. 1 removed by us, 0 already gone. */
static int expunge_unlink(struct mbox *mb, struct mbox_msg *m)
{
	for (int attempt = 0; attempt < 2; attempt++) {
		int ret;

		if (unlinkat(mb->cur_fd, m->name, 0) == 0)
			return 1;
		if (errno != ENOENT)
			return mbox_fail(mb, "%s/cur/%s: %s", mb->path, m->name, strerror(errno));
		ret = mbox_msg_refresh_name(mb, m);
		if (ret <= 0)
			return ret;
	}
	return 0;
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
	for (uint32_t i = 0; ret == 0 && i < mb->count; i++) {
		if (gone[i] && mbox_index_msg_delete(mb->idx, mb->fi.id, mb->msgs[i].uid) < 0)
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

int mbox_expunge(struct mbox *mb, const uint32_t *uids, size_t count,
                 struct mbox_changes *changes_r)
{
	uint8_t *gone = calloc((size_t)mb->count + 1, 1);
	uint64_t bytes = 0, removed = 0, n = 0;
	struct mbox_own own;
	int ret = 0;

	memset(changes_r, 0, sizeof(*changes_r));
	if (mbox_resume(mb) < 0) {
		free(gone);
		return -1;
	}
	changes_r->expunged_seqs = malloc((count + 1) * sizeof(uint32_t));
	changes_r->expunged_uids = malloc((count + 1) * sizeof(uint32_t));
	if (gone == NULL || changes_r->expunged_seqs == NULL || changes_r->expunged_uids == NULL) {
		free(gone);
		mbox_changes_free(changes_r);
		return mbox_fail(mb, "out of memory");
	}
	mbox_own_begin(mb, &own);
	for (size_t i = 0; i < count && ret >= 0; i++) {
		ssize_t k = mbox_msgs_find(mb, uids[i]);

		if (k < 0 || gone[k])
			continue;
		ret = expunge_unlink(mb, &mb->msgs[k]);
		if (ret > 0) {
			bytes += mb->msgs[k].size;
			removed++;
		}
		/* Gone either way: by us, or by another program before us. */
		if (ret >= 0) {
			gone[k] = 1;
			n++;
		}
	}
	mbox_own_end(mb, &own);
	expunge_quota(mb, bytes, removed);
	if (n > 0 && expunge_index(mb, gone, mb->count - (uint32_t)n) < 0)
		ret = -1;
	if (n > 0)
		expunge_memory(mb, gone, changes_r);
	free(gone);
	return ret < 0 ? -1 : 0;
}
