/* One message's data for SEARCH/SORT/THREAD, and filling the full-text index
   (imap_search_msg.h). Pool threads only. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../core/log.h"
#include "../store/mime_decode.h"
#include "../store/mime_hdrcache.h"
#include "../store/mime_header.h"
#include "../store/mime_parse.h"
#include "imap_search_msg.h"

static const struct {
	const char *name;
	enum mbox_cache_field field;
} imap_hdr_fields[IMAP_HDR_COUNT] = {
    [IMAP_HDR_DATE] = {"Date", MBOX_CACHE_HDR_DATE},
    [IMAP_HDR_SUBJECT] = {"Subject", MBOX_CACHE_HDR_SUBJECT},
    [IMAP_HDR_FROM] = {"From", MBOX_CACHE_HDR_FROM},
    [IMAP_HDR_TO] = {"To", MBOX_CACHE_HDR_TO},
    [IMAP_HDR_CC] = {"Cc", MBOX_CACHE_HDR_CC},
    [IMAP_HDR_MESSAGE_ID] = {"Message-ID", MBOX_CACHE_HDR_MESSAGE_ID},
    [IMAP_HDR_REFERENCES] = {"References", MBOX_CACHE_HDR_REFERENCES},
    [IMAP_HDR_IN_REPLY_TO] = {"In-Reply-To", MBOX_CACHE_HDR_IN_REPLY_TO},
};

struct imap_hdr_pending {
	uint32_t uid;
	char *val[IMAP_HDR_COUNT];
	size_t len[IMAP_HDR_COUNT];
	struct mime_buf lines; /* the header lines entry, for FETCH (mime_hdrcache.h) */
};

void imap_msgdata_init(struct imap_msgdata *d, struct mbox *mb)
{
	memset(d, 0, sizeof(*d));
	d->mb = mb;
}

static void imap_msgdata_flush(struct imap_msgdata *d)
{
	if (d->npending == 0)
		return;
	/* The index is a cache: a failed write costs a later re-read, nothing else. */
	if (mbox_batch_begin(d->mb) == 0) {
		for (size_t i = 0; i < d->npending; i++) {
			for (int h = 0; h < IMAP_HDR_COUNT; h++)
				(void)mbox_cache_set(d->mb, d->pending[i].uid,
				                     imap_hdr_fields[h].field, d->pending[i].val[h],
				                     d->pending[i].len[h]);
			(void)mbox_cache_set(d->mb, d->pending[i].uid, MBOX_CACHE_HDR_LINES,
			                     d->pending[i].lines.p, d->pending[i].lines.len);
		}
		(void)mbox_batch_commit(d->mb);
	}
	for (size_t i = 0; i < d->npending; i++) {
		for (int h = 0; h < IMAP_HDR_COUNT; h++)
			free(d->pending[i].val[h]);
		mime_buf_free(&d->pending[i].lines);
	}
	d->npending = 0;
}

static void imap_msgdata_reset(struct imap_msgdata *d)
{
	free(d->lines);
	d->lines = NULL;
	d->lines_len = 0;
	d->lines_tried = false;
	for (int h = 0; h < IMAP_HDR_COUNT; h++) {
		free(d->hdr[h]);
		d->hdr[h] = NULL;
		d->hdr_have[h] = false;
	}
	if (d->mapped)
		munmap((void *)d->map, d->map_len);
	d->mapped = false;
	d->map = NULL;
	d->map_len = d->header_len = 0;
	d->file_tried = false;
	d->gone = false;
}

void imap_msgdata_set(struct imap_msgdata *d, uint32_t seq)
{
	imap_msgdata_reset(d);
	if (d->npending >= IMAP_MSGDATA_BATCH)
		imap_msgdata_flush(d);
	d->seq = seq;
	if (mbox_msg(d->mb, seq, &d->info) != 1)
		fatal("imap search: message %u out of range", seq);
}

void imap_msgdata_deinit(struct imap_msgdata *d)
{
	imap_msgdata_reset(d);
	imap_msgdata_flush(d);
	free(d->pending);
	d->pending = NULL;
	for (int h = 0; h < IMAP_HDR_COUNT; h++)
		mbox_cache_run_free(&d->run[h]);
	mbox_cache_run_free(&d->lines_run);
	free(d->buf);
	d->buf = NULL;
	d->buf_size = 0;
}

static void imap_msgdata_map(struct imap_msgdata *d)
{
	struct stat st;
	int fd;
	void *p;

	d->file_tried = true;
	fd = mbox_msg_open(d->mb, d->seq);
	if (fd < 0) {
		d->gone = true; /* expunged by someone else: the next sync reports it */
		return;
	}
	if (fstat(fd, &st) < 0 || st.st_size <= 0) {
		close(fd);
		return; /* empty: map stays NULL */
	}
	if (st.st_size <= IMAP_MSGDATA_READ_MAX) {
		/* Read, not mapped: unmapping in a process with other busy threads (the
		   indexer, other searches) costs a TLB shootdown on every core, a seventh of
		   a whole-folder scan's time. */
		size_t size = (size_t)st.st_size, got = 0;

		if (d->buf_size < size) {
			free(d->buf);
			d->buf_size = size < 64 * 1024 ? 64 * 1024 : size;
			d->buf = malloc(d->buf_size);
			if (d->buf == NULL)
				fatal("out of memory");
		}
		while (got < size) {
			ssize_t n = pread(fd, d->buf + got, size - got, (off_t)got);

			if (n <= 0)
				break;
			got += (size_t)n;
		}
		if (got > 0) {
			d->map = d->buf;
			d->map_len = got;
			d->header_len = mime_header_size(d->map, d->map_len);
		}
	} else {
		p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
		if (p != MAP_FAILED) {
			d->map = p;
			d->map_len = (size_t)st.st_size;
			d->header_len = mime_header_size(d->map, d->map_len);
			d->mapped = true;
		}
	}
	close(fd);
}

const uint8_t *imap_msgdata_file(struct imap_msgdata *d, size_t *len_r)
{
	if (!d->file_tried)
		imap_msgdata_map(d);
	*len_r = d->map_len;
	return d->map;
}

const uint8_t *imap_msgdata_header(struct imap_msgdata *d, size_t *len_r)
{
	if (!d->file_tried)
		imap_msgdata_map(d);
	*len_r = d->header_len;
	return d->map;
}

static char *imap_strndup(const void *p, size_t len)
{
	char *s = malloc(len + 1);

	if (s == NULL)
		fatal("out of memory");
	if (len > 0)
		memcpy(s, p, len);
	s[len] = '\0';
	return s;
}

/* The message's header lines entry, when FETCH left one: a header section holding every
   field searched here, in file order (mime_hdrcache.h), so a first search after a client
   listed the folder reads the index rather than 100,000 files. Kept for the message: NULL
   when there is none or it is empty (the fields were too big for one). */
static const uint8_t *imap_msgdata_lines(struct imap_msgdata *d, size_t *len_r)
{
	if (!d->lines_tried) {
		void *data;
		size_t len;

		d->lines_tried = true;
		if (d->lines_run == NULL &&
		    (d->lines_run = mbox_cache_run_new(d->mb, MBOX_CACHE_HDR_LINES)) == NULL)
			fatal("out of memory");
		if (mbox_cache_run_get(d->lines_run, d->info.uid, &data, &len) == 1) {
			d->lines = data;
			d->lines_len = len;
		}
	}
	*len_r = d->lines_len;
	return d->lines_len > 0 ? d->lines : NULL;
}

/* The unfolded value of field h in the header section hdr ("" when absent), malloc'ed. */
static char *imap_hdr_value(const uint8_t *hdr, size_t hlen, enum imap_hdr h, size_t *len_r)
{
	struct mime_field f;
	char *val;

	*len_r = 0;
	if (hdr == NULL || mime_header_find(hdr, hlen, imap_hdr_fields[h].name, &f) != 1)
		return imap_strndup("", 0);
	val = malloc(f.value_len + 1);
	if (val == NULL)
		fatal("out of memory");
	*len_r = mime_unfold(f.value, f.value_len, val);
	return val;
}

/* Every field not yet held, from the file, queued for the cache with the header lines entry
   so that the file is read once. */
static void imap_msgdata_from_file(struct imap_msgdata *d)
{
	size_t hlen = 0;
	const uint8_t *hdr = imap_msgdata_header(d, &hlen);
	struct imap_hdr_pending *pend = NULL;

	if (hdr != NULL) {
		if (d->npending % IMAP_MSGDATA_BATCH == 0) {
			d->pending = realloc(d->pending, (d->npending + IMAP_MSGDATA_BATCH) *
			                                     sizeof(*d->pending));
			if (d->pending == NULL)
				fatal("out of memory");
		}
		pend = &d->pending[d->npending++];
		pend->uid = d->info.uid;
		/* the header is at hand: FETCH's header lines come with the values (an empty
		   entry when too big) */
		pend->lines = (struct mime_buf)MIME_BUF_INIT;
		(void)mime_hdrcache_build(hdr, hlen, &pend->lines);
	}
	for (int h = 0; h < IMAP_HDR_COUNT; h++) {
		size_t len;
		char *val = imap_hdr_value(hdr, hlen, h, &len);

		if (pend != NULL) {
			pend->val[h] = imap_strndup(val, len);
			pend->len[h] = len;
		}
		if (d->hdr_have[h]) {
			free(val);
			continue;
		}
		d->hdr[h] = val;
		d->hdr_len[h] = len;
		d->hdr_have[h] = true;
	}
}

const char *imap_msgdata_hdr(struct imap_msgdata *d, enum imap_hdr h, size_t *len_r)
{
	if (!d->hdr_have[h]) {
		void *data;
		size_t len;
		const uint8_t *lines;

		if (d->run[h] == NULL &&
		    (d->run[h] = mbox_cache_run_new(d->mb, imap_hdr_fields[h].field)) == NULL)
			fatal("out of memory");
		if (mbox_cache_run_get(d->run[h], d->info.uid, &data, &len) == 1) {
			d->hdr[h] = data;
			d->hdr_len[h] = len;
			d->hdr_have[h] = true;
		} else if ((lines = imap_msgdata_lines(d, &len)) != NULL) {
			/* Nothing is written for it: the entry answers the next search about as
			   fast as the blobs would, and writing 800,000 blobs made a first FROM
			   search of a listed 100,000-message folder take 7 s. */
			d->hdr[h] = imap_hdr_value(lines, len, h, &d->hdr_len[h]);
			d->hdr_have[h] = true;
		} else {
			imap_msgdata_from_file(d);
		}
	}
	*len_r = d->hdr_len[h];
	return d->hdr[h];
}

/* ----- the full-text index ----- */

/* Text per index transaction: bounded so a batch of big messages stays in memory bounds. */
#define IMAP_FTS_BATCH_BYTES (8u * 1024 * 1024)

struct imap_fts_entry {
	uint32_t uid;
	char *header, *body;
};

/* Every header field as "name: decoded value" per line. */
static void imap_fts_header_text(const struct mime_message *m, struct mime_buf *out)
{
	struct mime_header_iter it;
	struct mime_field f;
	char *raw;

	mime_header_iter_init(&it, m->buf + m->root->header_off, m->root->header_len);
	while (mime_header_next(&it, &f)) {
		size_t n;

		raw = malloc(f.value_len + 1);
		if (raw == NULL)
			fatal("out of memory");
		n = mime_unfold(f.value, f.value_len, raw);
		mime_buf_append(out, f.name, f.name_len);
		mime_buf_append_str(out, ": ");
		mime_encword_decode((const uint8_t *)raw, n, out);
		mime_buf_append_c(out, '\n');
		free(raw);
	}
}

/* The decoded text parts, without the message's own header fields: mime_text_extract()
   writes the header of a part whose parent is NULL or a message, so it gets a copy of the
   root with a parent that is neither (embedded messages keep their headers: they are body). */
static void imap_fts_body_text(const struct mime_message *m, struct mime_buf *out)
{
	struct mime_part not_a_message = {0}, root = *m->root;
	struct mime_message copy = *m;

	root.parent = &not_a_message;
	copy.root = &root;
	(void)mime_text_extract(&copy, MIME_TEXT_MAX_DEFAULT, out);
}

static void imap_fts_extract(struct imap_msgdata *d, struct imap_fts_entry *e)
{
	struct mime_buf header = MIME_BUF_INIT, body = MIME_BUF_INIT;

	imap_search_fts_text(d, &header, &body);
	e->uid = d->info.uid;
	e->header = imap_strndup(mime_buf_str(&header), header.len);
	e->body = imap_strndup(mime_buf_str(&body), body.len);
	mime_buf_free(&header);
	mime_buf_free(&body);
}

static int imap_fts_write(struct mbox *mb, struct imap_fts_entry *e, size_t n)
{
	int rc = mbox_batch_begin(mb);

	for (size_t i = 0; i < n && rc == 0; i++)
		rc = mbox_fts_set(mb, e[i].uid, e[i].header, e[i].body);
	if (rc == 0)
		rc = mbox_batch_commit(mb);
	for (size_t i = 0; i < n; i++) {
		free(e[i].header);
		free(e[i].body);
	}
	return rc;
}

static char *imap_fts_error(struct mbox *mb)
{
	char *e = imap_strndup(mbox_error(mb), strlen(mbox_error(mb)));

	return e;
}

int imap_search_fts_unindexed(struct mbox *mb, uint32_t **seqs_r, size_t *count_r, char **error_r)
{
	uint32_t *indexed, *seqs = NULL, count = mbox_count(mb);
	size_t nindexed, n = 0, i = 0;

	*seqs_r = NULL;
	*count_r = 0;
	if (mbox_fts_indexed(mb, &indexed, &nindexed) < 0) {
		*error_r = imap_fts_error(mb);
		return -1;
	}
	/* Both ascending by UID: one merge walk. */
	for (uint32_t seq = 1; seq <= count; seq++) {
		uint32_t uid = mbox_uid(mb, seq);

		while (i < nindexed && indexed[i] < uid)
			i++;
		if (i < nindexed && indexed[i] == uid)
			continue;
		if (seqs == NULL) {
			seqs = malloc((size_t)(count - seq + 1) * sizeof(*seqs));
			if (seqs == NULL)
				fatal("out of memory");
		}
		seqs[n++] = seq;
	}
	free(indexed);
	*seqs_r = seqs;
	*count_r = n;
	return 0;
}

void imap_search_fts_text(struct imap_msgdata *d, struct mime_buf *header, struct mime_buf *body)
{
	struct mime_message *m;
	size_t len;
	const uint8_t *file = imap_msgdata_file(d, &len);

	m = mime_message_parse(file != NULL ? file : (const uint8_t *)"", len, NULL);
	if (header != NULL)
		imap_fts_header_text(m, header);
	imap_fts_body_text(m, body);
	mime_message_free(&m);
}

int imap_search_fts_index(struct mbox *mb, const uint32_t *seqs, size_t count, size_t batch_max,
                          const atomic_bool *stop, char **error_r)
{
	struct imap_fts_entry batch[IMAP_MSGDATA_BATCH];
	struct imap_msgdata d;
	size_t n = 0, bytes = 0;
	int rc = 0;

	if (batch_max == 0 || batch_max > IMAP_MSGDATA_BATCH)
		batch_max = IMAP_MSGDATA_BATCH;
	imap_msgdata_init(&d, mb);
	for (size_t i = 0; i < count && rc == 0; i++) {
		if (stop != NULL && n == 0 && atomic_load(stop))
			break;
		imap_msgdata_set(&d, seqs[i]);
		if (!d.file_tried)
			imap_msgdata_map(&d);
		if (d.gone)
			continue; /* not indexed: tried again by the next search */
		imap_fts_extract(&d, &batch[n]);
		bytes += strlen(batch[n].header) + strlen(batch[n].body);
		if (++n == batch_max || bytes >= IMAP_FTS_BATCH_BYTES) {
			rc = imap_fts_write(mb, batch, n);
			n = bytes = 0;
		}
	}
	imap_msgdata_deinit(&d);
	if (rc == 0 && n > 0)
		rc = imap_fts_write(mb, batch, n);
	else if (n > 0)
		for (size_t i = 0; i < n; i++) {
			free(batch[i].header);
			free(batch[i].body);
		}
	if (rc < 0)
		*error_r = imap_fts_error(mb);
	return rc;
}

int imap_search_fts_catch_up(struct mbox *mb, size_t index_max, size_t batch_max,
                             const atomic_bool *stop, uint32_t **seqs_r, size_t *count_r,
                             char **error_r)
{
	int rc;

	*seqs_r = NULL;
	*count_r = 0;
	if (mbox_fts_purge(mb) < 0) {
		*error_r = imap_fts_error(mb);
		return -1;
	}
	if (imap_search_fts_unindexed(mb, seqs_r, count_r, error_r) < 0)
		return -1;
	if (*count_r == 0 || *count_r > index_max)
		return 0;
	rc = imap_search_fts_index(mb, *seqs_r, *count_r, batch_max, stop, error_r);
	free(*seqs_r);
	*seqs_r = NULL;
	*count_r = 0;
	return rc;
}

int imap_search_fts_update_batched(struct mbox *mb, size_t batch_max, const atomic_bool *stop,
                                   char **error_r)
{
	uint32_t *left;
	size_t n;

	/* every one indexed: nothing is left */
	return imap_search_fts_catch_up(mb, SIZE_MAX, batch_max, stop, &left, &n, error_r);
}
