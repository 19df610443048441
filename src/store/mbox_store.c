#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "maildir_name.h"
#include "mbox_private.h"

void mbox_store_result_free(struct mbox_store_result *result)
{
	free(result->changed);
	free(result->failed);
	memset(result, 0, sizeof(*result));
}

static void store_apply(const struct mbox_store_req *req, uint8_t *flags, uint32_t *keywords)
{
	switch (req->mode) {
	case MBOX_STORE_SET:
		*flags = req->flags & MBOX_FLAGS_ALL;
		*keywords = req->keywords & MBOX_KEYWORDS_ALL;
		break;
	case MBOX_STORE_ADD:
		*flags |= req->flags & MBOX_FLAGS_ALL;
		*keywords |= req->keywords & MBOX_KEYWORDS_ALL;
		break;
	case MBOX_STORE_REMOVE:
		*flags &= (uint8_t)~req->flags;
		*keywords &= ~req->keywords;
		break;
	}
}

/* The flags in m's file name are the current ones (set by another program). Whether they
   differ from what we had. */
static bool store_take_name_flags(struct mbox_msg *m)
{
	struct maildir_name_info info;
	uint8_t flags = m->flags;
	uint32_t keywords = m->keywords;

	(void)maildir_name_parse(m->name, &info);
	mbox_flags_parse(info.flags, &m->flags, &m->keywords);
	m->state &= (uint8_t)~MBOX_MSG_STALE;
	return flags != m->flags || keywords != m->keywords;
}

/* Rename m's file to carry the requested flags, following one concurrent rename (the flags
   another program set meanwhile are kept unless the request changes them). 1 when m's flags
   changed (by our rename or, seen now, by the other program), 0 when the file is gone or
   already right, -1. */
static int store_rename(struct mbox *mb, struct mbox_msg *m, const struct mbox_store_req *req)
{
	char name[MAILDIR_NAME_MAX];
	bool external = false;

	if ((m->state & MBOX_MSG_STALE) != 0)
		external = store_take_name_flags(m);
	for (int attempt = 0; attempt < 2; attempt++) {
		struct maildir_name_info info;
		uint8_t flags = m->flags;
		uint32_t keywords = m->keywords;
		int ret;

		store_apply(req, &flags, &keywords);
		if (flags == m->flags && keywords == m->keywords)
			return external ? 1 : 0;
		(void)maildir_name_parse(m->name, &info);
		if (mbox_flags_name(m->name, m->base_len, flags, keywords, info.flags, name,
		                    sizeof(name)) < 0)
			return mbox_fail(mb, "%s: file name too long", m->name);
		if (renameat(mb->cur_fd, m->name, mb->cur_fd, name) == 0) {
			if (mbox_msg_set_name(mb, m, name) < 0)
				return -1;
			m->flags = flags;
			m->keywords = keywords;
			return 1;
		}
		if (errno != ENOENT)
			return mbox_fail(mb, "%s/cur/%s: rename: %s", mb->path, m->name,
			                 strerror(errno));
		ret = mbox_msg_refresh_name(mb, m);
		if (ret <= 0)
			return ret;
		external = store_take_name_flags(m) || external;
	}
	return 0;
}

static int store_push(uint32_t **array, size_t *count, uint32_t uid)
{
	if (*count % 256 == 0) {
		uint32_t *more = realloc(*array, (*count + 256) * sizeof(uint32_t));

		if (more == NULL)
			return -1;
		*array = more;
	}
	(*array)[(*count)++] = uid;
	return 0;
}

static int store_one(struct mbox *mb, uint32_t uid, const struct mbox_store_req *req,
                     uint64_t modseq, struct mbox_store_result *r)
{
	ssize_t i = mbox_msgs_find(mb, uid);
	struct mbox_msg *m;
	int ret;

	if (i < 0)
		return 0;
	m = &mb->msgs[i];
	/* RFC 7162 3.2: a message changed after UNCHANGEDSINCE is left alone and reported. */
	if (req->unchangedsince_set && m->modseq > req->unchangedsince)
		return store_push(&r->failed, &r->failed_count, uid) < 0
		           ? mbox_fail(mb, "out of memory")
		           : 0;
	ret = store_rename(mb, m, req);
	if (ret <= 0)
		return ret;
	m->modseq = modseq;
	if (mbox_index_msg_set_flags(mb->idx, mb->fi.id, uid, m->name, m->flags, m->keywords,
	                             modseq) < 0)
		return mbox_fail_index(mb);
	return store_push(&r->changed, &r->changed_count, uid) < 0 ? mbox_fail(mb, "out of memory")
	                                                           : 0;
}

int mbox_store(struct mbox *mb, const uint32_t *uids, size_t count,
               const struct mbox_store_req *req, struct mbox_store_result *result_r)
{
	struct mbox_own own;
	uint64_t modseq;
	int ret = 0;

	memset(result_r, 0, sizeof(*result_r));
	if (mbox_resume(mb) < 0)
		return -1;
	if (mbox_index_begin(mb->idx) < 0)
		return mbox_fail_index(mb);
	if (mbox_index_folder_get(mb->idx, mb->folder, &mb->fi) <= 0) {
		mbox_index_rollback(mb->idx);
		return mbox_fail_index(mb);
	}
	modseq = mb->fi.highestmodseq + 1;
	mbox_own_begin(mb, &own);
	for (size_t i = 0; i < count && ret == 0; i++)
		ret = store_one(mb, uids[i], req, modseq, result_r);
	mbox_own_end(mb, &own);
	/* Renames done stay done: record them even when a later one failed. */
	if (result_r->changed_count > 0) {
		mb->fi.highestmodseq = modseq;
		result_r->modseq = modseq;
		if (mbox_index_folder_put(mb->idx, mb->folder, &mb->fi) < 0)
			ret = mbox_fail_index(mb);
	}
	if (mbox_index_commit(mb->idx) < 0)
		return mbox_fail_index(mb);
	return ret;
}
