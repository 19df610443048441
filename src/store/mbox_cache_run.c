/* One cached field for many messages in UID order (SEARCH FROM on 100,000 messages): read
 * from the index a chunk at a time instead of one lookup, and one read transaction with its
 * file locks, per message. */
#include <stdlib.h>
#include <string.h>

#include "mbox_private.h"

/* Rows per index statement: a few hundred header values, some tens of KiB. */
#define RUN_CHUNK 256

struct run_row {
	uint32_t uid;
	size_t len;
	char *data;
};

struct mbox_cache_run {
	struct mbox *mb;
	enum mbox_cache_field field;
	struct run_row rows[RUN_CHUNK];
	unsigned count, pos;
	/* The chunk started at this UID and held every row from there up: no more rows below
	   the next chunk's start, none at all above the last one when short. */
	uint32_t from;
	bool short_chunk;
	uint32_t last_uid; /* the last UID asked for: a lower one is looked up alone */
};

struct mbox_cache_run *mbox_cache_run_new(struct mbox *mb, enum mbox_cache_field field)
{
	struct mbox_cache_run *run = calloc(1, sizeof(*run));

	if (run == NULL)
		return NULL;
	run->mb = mb;
	run->field = field;
	return run;
}

static void run_clear(struct mbox_cache_run *run)
{
	for (unsigned i = 0; i < run->count; i++)
		free(run->rows[i].data);
	run->count = run->pos = 0;
}

void mbox_cache_run_free(struct mbox_cache_run **runp)
{
	if (*runp == NULL)
		return;
	run_clear(*runp);
	free(*runp);
	*runp = NULL;
}

static int run_take_row(uint32_t uid, const void *value, size_t len, void *ctx)
{
	struct mbox_cache_run *run = ctx;
	struct run_row *row = &run->rows[run->count];

	row->data = malloc(len + 1);
	if (row->data == NULL)
		return -1;
	if (len > 0)
		memcpy(row->data, value, len);
	row->data[len] = '\0';
	row->len = len;
	row->uid = uid;
	run->count++;
	return 0;
}

static int run_fill(struct mbox_cache_run *run, uint32_t from)
{
	int got;

	run_clear(run);
	if (mbox_resume(run->mb) < 0)
		return -1;
	got = mbox_index_cache_range(run->mb->idx, run->mb->fi.id, (int)run->field, from, RUN_CHUNK,
	                             run_take_row, run);
	if (got < 0)
		return mbox_fail_index(run->mb);
	if (run->count < (unsigned)got) /* a row could not be copied: out of memory */
		return mbox_fail(run->mb, "out of memory");
	run->from = from;
	run->short_chunk = got < RUN_CHUNK;
	return 0;
}

/* Whether the chunk held answers for uid: it started at or below it, and reached past it
   or ended the rows. */
static bool run_covers(const struct mbox_cache_run *run, uint32_t uid)
{
	/* short_chunk is set by a fill only. */
	if (run->count == 0)
		return run->short_chunk && run->from <= uid;
	return run->from <= uid && (run->rows[run->count - 1].uid >= uid || run->short_chunk);
}

int mbox_cache_run_get(struct mbox_cache_run *run, uint32_t uid, void **data_r, size_t *len_r)
{
	struct run_row *row;

	if (uid < run->last_uid)
		return mbox_cache_get(run->mb, uid, run->field, data_r, len_r);
	run->last_uid = uid;
	if (!run_covers(run, uid) && run_fill(run, uid) < 0)
		return -1;
	while (run->pos < run->count && run->rows[run->pos].uid < uid)
		run->pos++;
	if (run->pos == run->count || run->rows[run->pos].uid != uid)
		return 0;
	row = &run->rows[run->pos++];
	*data_r = row->data;
	*len_r = row->len;
	row->data = NULL;
	return 1;
}
