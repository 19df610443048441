#include <errno.h>
#include <stdio.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "maildir_name.h"
#include "mbox_append.h"

/* Keyword indexes differ per folder: map src's to dst's by name (created in dst as needed;
   -1 when dst has no letter left). */
static int copy_keyword_map(struct mbox *src, struct mbox *dst, uint32_t used, int map[])
{
	for (unsigned i = 0; i < MBOX_KEYWORDS_MAX; i++) {
		const char *name = mbox_keyword_name(src, i);
		unsigned idx;
		int ret;

		map[i] = -1;
		if ((used & (1u << i)) == 0 || name == NULL)
			continue;
		ret = mbox_keyword_add(dst, name, &idx);
		if (ret < 0)
			return mbox_fail(src, "%s", mbox_error(dst));
		if (ret > 0)
			map[i] = (int)idx;
	}
	return 0;
}

static uint32_t copy_map_keywords(uint32_t keywords, const int map[])
{
	uint32_t out = 0;

	for (unsigned i = 0; i < MBOX_KEYWORDS_MAX; i++) {
		if ((keywords & (1u << i)) != 0 && map[i] >= 0)
			out |= 1u << map[i];
	}
	return out;
}

/* Another file system (or a link limit): write a copy through dst's tmp/. */
static int copy_by_data(struct mbox *src, uint32_t seq, struct mbox *dst, const char *base,
                        const char *name, int64_t internaldate)
{
	struct mbox_append_req req = {.fd = -1, .internaldate = internaldate};
	uint64_t size, vsize;
	int ret;

	req.fd = mbox_msg_open(src, seq);
	if (req.fd < 0)
		return mbox_fail(dst, "%s/cur/%s: %s", src->path, src->msgs[seq - 1].name,
		                 strerror(errno));
	ret = mbox_tmp_write(dst, base, &req, &size, &vsize);
	(void)close(req.fd);
	if (ret < 0)
		return -1;
	if (mbox_publish(dst, dst->tmp_fd, base, name) < 0) {
		(void)unlinkat(dst->tmp_fd, base, 0);
		return -1;
	}
	return 0;
}

/* One message into dst/cur/ under a fresh base: a hard link (the inode is durable already,
   and its mtime is the internal date), else a copy. */
static int copy_file(struct mbox *src, uint32_t seq, struct mbox *dst, const int kw_map[],
                     struct mbox_new *n)
{
	struct mbox_msg *m = &src->msgs[seq - 1];
	char base[MAILDIR_NAME_MAX], name[MAILDIR_NAME_MAX];
	time_t date;

	if (mbox_msg_vsize(src, seq, &n->vsize) < 0 || mbox_msg_internaldate(src, seq, &date) < 0)
		return mbox_fail(dst, "%s", mbox_error(src));
	n->size = m->size;
	n->internaldate = date;
	n->flags = m->flags;
	n->keywords = copy_map_keywords(m->keywords, kw_map);
	if (maildir_name_unique(base, sizeof(base)) < 0 ||
	    mbox_final_name(dst, base, n->size, n->vsize, n->flags, n->keywords, name,
	                    sizeof(name)) < 0)
		return mbox_fail(dst, "cannot make a unique file name");
	for (int attempt = 0; attempt < 2; attempt++) {
		if (linkat(src->cur_fd, m->name, dst->cur_fd, name, 0) == 0)
			break;
		if (errno == ENOENT && attempt == 0 && mbox_msg_refresh_name(src, m) > 0)
			continue;
		if (errno == ENOENT)
			return mbox_fail(dst, "message %u was expunged meanwhile", m->uid);
		if (copy_by_data(src, seq, dst, base, name, date) < 0)
			return -1;
		break;
	}
	n->name = strdup(name);
	return n->name == NULL ? mbox_fail(dst, "out of memory") : 0;
}

static void copy_undo(struct mbox *dst, struct mbox_new *news, size_t count)
{
	for (size_t i = 0; i < count; i++) {
		if (news[i].name != NULL)
			(void)unlinkat(dst->cur_fd, news[i].name, 0);
	}
}

static int copy_files(struct mbox *src, const uint32_t *seqs, size_t count, struct mbox *dst,
                      struct mbox_new *news, size_t *made_r)
{
	uint32_t used = 0;
	int kw_map[MBOX_KEYWORDS_MAX];

	*made_r = 0;
	for (size_t i = 0; i < count; i++)
		used |= src->msgs[seqs[i] - 1].keywords;
	if (copy_keyword_map(src, dst, used, kw_map) < 0)
		return mbox_fail(dst, "%s", mbox_error(src));
	for (size_t i = 0; i < count; i++) {
		if (copy_file(src, seqs[i], dst, kw_map, &news[i]) < 0)
			return -1;
		(*made_r)++;
	}
	if (count > 0 && fsync(dst->cur_fd) < 0)
		return mbox_fail(dst, "%s/cur: fsync: %s", dst->path, strerror(errno));
	return 0;
}

/* The messages to copy as sequence numbers in src, with their sizes. */
static size_t copy_resolve(struct mbox *src, const uint32_t *uids, size_t count, uint32_t *seqs,
                           uint64_t *sizes)
{
	size_t n = 0;

	for (size_t i = 0; i < count; i++) {
		uint32_t seq = mbox_seq(src, uids[i]);

		if (seq == 0)
			continue;
		seqs[n] = seq;
		sizes[n++] = src->msgs[seq - 1].size;
	}
	return n;
}

static int copy_run(struct mbox *src, const uint32_t *uids, size_t count, struct mbox *dst,
                    const struct maildir_quota_limit *quota, enum maildir_quota_policy policy,
                    uint32_t *seqs, uint64_t *sizes, struct mbox_new *news, uint32_t *dst_uids_r)
{
	size_t n = copy_resolve(src, uids, count, seqs, sizes), made;
	uint64_t bytes = 0;
	int ret = mbox_quota_fits(dst, quota, policy, sizes, n);

	if (ret <= 0)
		return ret < 0 ? mbox_fail(src, "%s", mbox_error(dst)) : MBOX_OVER_QUOTA;
	for (size_t i = 0; i < n; i++)
		bytes += sizes[i];
	if (copy_files(src, seqs, n, dst, news, &made) < 0 || mbox_assign(dst, news, n) < 0) {
		copy_undo(dst, news, made);
		return mbox_fail(src, "%s", mbox_error(dst));
	}
	mbox_quota_record(dst, (int64_t)bytes, (int64_t)n);
	for (size_t i = 0, k = 0; i < count; i++) {
		bool found = k < n && src->msgs[seqs[k] - 1].uid == uids[i];

		dst_uids_r[i] = found ? news[k++].uid : 0;
	}
	return 0;
}

int mbox_copy(struct mbox *src, const uint32_t *uids, size_t count, struct mbox *dst,
              const struct maildir_quota_limit *quota, enum maildir_quota_policy policy,
              uint32_t *dst_uids_r)
{
	uint32_t *seqs = malloc((count + 1) * sizeof(*seqs));
	uint64_t *sizes = calloc(count + 1, sizeof(*sizes));
	struct mbox_new *news = calloc(count + 1, sizeof(*news));
	int ret;

	if (seqs == NULL || sizes == NULL || news == NULL)
		ret = mbox_fail(src, "out of memory");
	else if (mbox_resume(src) < 0)
		ret = -1;
	else if (mbox_resume(dst) < 0)
		ret = mbox_fail(src, "%s", mbox_error(dst));
	else
		ret = copy_run(src, uids, count, dst, quota, policy, seqs, sizes, news, dst_uids_r);
	for (size_t i = 0; news != NULL && i < count; i++)
		free(news[i].name);
	free(news);
	free(sizes);
	free(seqs);
	return ret;
}

int mbox_move(struct mbox *src, const uint32_t *uids, size_t count, struct mbox *dst,
              const struct maildir_quota_limit *quota, enum maildir_quota_policy policy,
              uint32_t *dst_uids_r, struct mbox_changes *changes_r)
{
	uint32_t *moved;
	size_t n = 0;
	int ret;

	memset(changes_r, 0, sizeof(*changes_r));
	ret = mbox_copy(src, uids, count, dst, quota, policy, dst_uids_r);
	if (ret != 0)
		return ret;
	moved = malloc((count + 1) * sizeof(*moved));
	if (moved == NULL)
		return mbox_fail(src, "out of memory");
	for (size_t i = 0; i < count; i++) {
		if (dst_uids_r[i] != 0)
			moved[n++] = uids[i];
	}
	ret = mbox_expunge(src, moved, n, changes_r);
	free(moved);
	return ret;
}
