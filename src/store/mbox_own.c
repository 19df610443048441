/* This handle's own changes to cur/: what it knows without reading the directory again.
 *
 * A sync reads cur/ when its mtime moved since the last scan. On a folder of 100,000
 * messages that read costs more than the change itself, so after an APPEND, a STORE or an
 * EXPUNGE by this handle, the record of cur/'s mtime moves on with the change (when nothing
 * else had moved it), and an appended message waits here for the next sync to add it. */
#include <stdlib.h>
#include <string.h>

#include "core/array_grow.h"
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
	if (array_grow((void **)&mb->own_news, &mb->own_news_cap, mb->own_news_count + 1,
	               sizeof(*mb->own_news)) < 0)
		return mbox_fail(mb, "out of memory");
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

int mbox_own_apply(struct mbox *mb, struct mbox_changes *ch)
{
	size_t count = mb->own_news_count;
	int ret = 0;

	if (count == 0)
		return 0;
	ch->added = malloc(count * sizeof(*ch->added));
	if (ch->added == NULL)
		return mbox_fail(mb, "out of memory");
	mbox_news_sort_by_uid(mb->own_news, count);
	for (size_t i = 0; i < count && ret >= 0; i++) {
		/* 0: already there, a scan since found the file. */
		ret = mbox_msgs_add_new(mb, &mb->own_news[i]);
		if (ret > 0)
			ch->added[ch->added_count++] = mb->own_news[i].uid;
	}
	mbox_own_clear(mb);
	return ret < 0 ? -1 : 0;
}
