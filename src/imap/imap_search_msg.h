#ifndef MAILD_IMAP_SEARCH_MSG_H
#define MAILD_IMAP_SEARCH_MSG_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../store/mbox.h"
#include "../store/mime_buf.h"

/*
 * What SEARCH, SORT and THREAD read of one message at a time, on a pool thread: header
 * fields through the index's cache blobs, the file itself when it must be read.
 *
 * Cache convention (shared with whoever else reads MBOX_CACHE_HDR_*): the blob of a
 * MBOX_CACHE_HDR_* field is the value of the first such header field of the message,
 * unfolded (mime_unfold: line ends removed, blanks trimmed), NOT decoded (RFC 2047 words
 * stay); an empty blob when the message has no such field. The eight HDR fields of a
 * message are always written together, in one index transaction per batch of messages, when
 * one of them is needed and missing and the message's file has to be read for it, so a file
 * is read once; FETCH's header lines entry (MBOX_CACHE_HDR_LINES, mime_hdrcache.h) is
 * written with them. A message that has a header lines entry and no blobs is read from the
 * entry (it holds all eight fields), and no blob is written for it.
 */

enum imap_hdr {
	IMAP_HDR_DATE,
	IMAP_HDR_SUBJECT,
	IMAP_HDR_FROM,
	IMAP_HDR_TO,
	IMAP_HDR_CC,
	IMAP_HDR_MESSAGE_ID,
	IMAP_HDR_REFERENCES,
	IMAP_HDR_IN_REPLY_TO,
	IMAP_HDR_COUNT
};

/* Files up to this size are read into a buffer the handle keeps; bigger ones are mapped. */
#define IMAP_MSGDATA_READ_MAX (1024u * 1024)

/* Messages whose fields are held for one index transaction. */
#define IMAP_MSGDATA_BATCH 256u

struct imap_hdr_pending;

struct imap_msgdata {
	struct mbox *mb;
	uint32_t seq;
	struct mbox_msg_info info;
	bool hdr_have[IMAP_HDR_COUNT];
	char *hdr[IMAP_HDR_COUNT]; /* malloc'ed, NUL-terminated */
	size_t hdr_len[IMAP_HDR_COUNT];
	/* the file, read or mapped on demand */
	bool file_tried;
	bool gone;          /* the file could not be opened */
	const uint8_t *map; /* NULL when gone or empty */
	size_t map_len, header_len;
	bool mapped;  /* map is a mapping (a big file), not buf */
	uint8_t *buf; /* files up to IMAP_MSGDATA_READ_MAX are read into it */
	size_t buf_size;
	/* cache writes waiting for a batch */
	struct imap_hdr_pending *pending;
	size_t npending;
	/* cache reads, a chunk of messages at a time per field */
	struct mbox_cache_run *run[IMAP_HDR_COUNT];
	struct mbox_cache_run *lines_run; /* the header lines entries FETCH leaves */
	bool lines_tried;                 /* the message's entry was looked for */
	void *lines;                      /* and found (malloc'ed) */
	size_t lines_len;
};

void imap_msgdata_init(struct imap_msgdata *d, struct mbox *mb);
/* Move to message seq (1..mbox_count), forgetting the previous one; writes a full batch of
   cache blobs first. */
void imap_msgdata_set(struct imap_msgdata *d, uint32_t seq);
/* The unfolded, undecoded value of the field ("" when absent, or the file is gone). */
const char *imap_msgdata_hdr(struct imap_msgdata *d, enum imap_hdr h, size_t *len_r);
/* The message's bytes (NULL with *len_r 0 when the file is gone or empty) and its header
   section. */
const uint8_t *imap_msgdata_file(struct imap_msgdata *d, size_t *len_r);
const uint8_t *imap_msgdata_header(struct imap_msgdata *d, size_t *len_r);
/* Write pending cache blobs and release everything. */
void imap_msgdata_deinit(struct imap_msgdata *d);

/* Sequence numbers (ascending, malloc'ed; NULL when none) of the messages of mb's view whose
   text the full-text index lacks. One read of the index, milliseconds for 100,000 messages.
   0, or -1 with *error_r malloc'ed. */
int imap_search_fts_unindexed(struct mbox *mb, uint32_t **seqs_r, size_t *count_r, char **error_r);
/* Index the text of messages seqs[0..count) (header values and text parts decoded,
   mbox_fts_set), batch_max messages per index transaction (at most IMAP_MSGDATA_BATCH),
   stopping between batches once *stop is set (stop may be NULL). A message whose file is
   gone is left out. 0, or -1 with *error_r malloc'ed. */
int imap_search_fts_index(struct mbox *mb, const uint32_t *seqs, size_t count, size_t batch_max,
                          const atomic_bool *stop, char **error_r);
/* Bring mb's full-text index toward its view: the text of removed messages out
   (mbox_fts_purge), then, when no more than index_max messages lack text, theirs in
   (imap_search_fts_index). The messages still without text are left in *seqs_r and *count_r
   (malloc'ed, NULL when none). 0, or -1 with *error_r malloc'ed. */
int imap_search_fts_catch_up(struct mbox *mb, size_t index_max, size_t batch_max,
                             const atomic_bool *stop, uint32_t **seqs_r, size_t *count_r,
                             char **error_r);
/* The same with no limit: every message it lacks is indexed. */
int imap_search_fts_update_batched(struct mbox *mb, size_t batch_max, const atomic_bool *stop,
                                   char **error_r);
/* The current message's text as the index holds it, appended: every header field as
   "name: decoded value" lines (header NULL: not wanted), the decoded text parts. */
void imap_search_fts_text(struct imap_msgdata *d, struct mime_buf *header, struct mime_buf *body);

#endif
