/* This handle's own changes to cur/: what it knows without reading the directory again.
 *
 * A sync reads cur/ when its mtime moved since the last scan. On a folder of 100,000
 * messages that read costs more than the change itself, so after an APPEND, a STORE or an
 * EXPUNGE by this handle, the record of cur/'s mtime moves on with the change (when nothing
 * else had moved it), and an appended message waits here for the next sync to add it. */
#include <stdlib.h>
#include <string.h>

#include "core/array_sort.h"
#include "mbox_private.h"

void mbox_own_begin(struct mbox *mb, struct mbox_own *own)
{
	struct stat st;

	own->known = mb->scanned && fstat(mb->cur_fd, &st) == 0 &&
	             st.st_mtim.tv_sec == mb->cur_mtime.tv_sec &&
	             st.st_mtim.tv_nsec == mb->cur_mtime.tv_nsec;
}

void mbox_own_end(struct mbox *mb, const struct mbox_own *own)
{
	struct stat st;

	if (own->known && fstat(mb->cur_fd, &st) == 0)
		mb->cur_mtime = st.st_mtim;
}

int mbox_own_add(struct mbox *mb, struct mbox_new *n)
{
	if (mb->own_news_count == mb->own_news_cap) {
		size_t cap = mb->own_news_cap * 2 + 8;
		struct mbox_new *more = realloc(mb->own_news, cap * sizeof(*more));

		if (more == NULL)
			return mbox_fail(mb, "out of memory");
		mb->own_news = more;
		mb->own_news_cap = cap;
	}
	mb->own_news[mb->own_news_count++] = *n;
	n->name = NULL;
	return 0;
}

void mbox_own_clear(struct mbox *mb)
{
	for (size_t i = 0; i < mb->own_news_count; i++)
		free(mb->own_news[i].name);
	free(mb->own_news);
	mb->own_news = NULL;
	mb->own_news_count = mb->own_news_cap = 0;
}

static int own_cmp_uid(const void *a, const void *b)
{
	uint32_t x = ((const struct mbox_new *)a)->uid, y = ((const struct mbox_new *)b)->uid;

	return x < y ? -1 : x > y;
}

int mbox_own_apply(struct mbox *mb, struct mbox_changes *ch)
{
	size_t count = mb->own_news_count;
	int ret = 0;

	if (count == 0)
		return 0;
	ch->added = malloc(count * sizeof(*ch->added));
	if (ch->added == NULL)
		return mbox_fail(mb, "out of memory");
	array_sort(mb->own_news, count, sizeof(*mb->own_news), own_cmp_uid);
	for (size_t i = 0; i < count && ret == 0; i++) {
		struct mbox_new *n = &mb->own_news[i];
		struct mbox_msg m = {
		    .name = n->name,
		    .modseq = n->modseq,
		    .size = n->size,
		    .vsize = n->vsize,
		    .internaldate = n->internaldate,
		    .uid = n->uid,
		    .keywords = n->keywords,
		    .flags = n->flags,
		};

		/* Already there: a scan since found the file. */
		if (mbox_msgs_find(mb, n->uid) >= 0)
			continue;
		ret = mbox_msgs_add(mb, &m);
		if (ret == 0) {
			n->name = NULL;
			ch->added[ch->added_count++] = m.uid;
		}
	}
	mbox_own_clear(mb);
	return ret;
}
