/* Running a search program against a folder (imap_search.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../core/array_sort.h"
#include "../core/log.h"
#include "../store/mime_header.h"
#include "imap_search.h"
#include "imap_search_msg.h"

struct imap_match {
	struct mbox *mb;
	struct imap_msgdata d;
	struct mime_buf text, fold;
	/* per message, loaded when first needed */
	bool idate_have, vsize_have, sent_have;
	int32_t idate_day, sent_day;
	bool sent_ok;
	uint64_t vsize;
	/* BODY/TEXT of a message the full-text index has no text of: read from the file, folded */
	uint32_t *unindexed; /* seqs, ascending, malloc'ed */
	size_t nunindexed, next_unindexed;
	bool direct;      /* the current message is one of them */
	bool text_have;   /* text_header and text_body hold its text */
	bool want_header; /* a TEXT key: the header text is needed too */
	struct mime_buf text_header, text_body, raw_header, raw_body;
};

/* ----- preparing: on the loop, memory only ----- */

static int imap_search_prepare_keys(struct imap_search_key *k, struct mbox *mb, uint32_t count,
                                    uint32_t max_uid, const struct imap_seqset *saved,
                                    const char **error_r)
{
	for (; k != NULL; k = k->next) {
		if ((k->op == IMAP_SK_SEQSET || k->op == IMAP_SK_UIDSET) && k->set->dollar) {
			/* "$" holds UIDs whichever form named it (RFC 9051 6.4.4.1): a message
			   is in it when its UID is; expunged ones are simply not there. A copy,
			   since a SAVE of this very search replaces saved before the key goes. */
			imap_seqset_assign(k->set, saved);
			k->op = IMAP_SK_UIDSET;
		} else if (k->op == IMAP_SK_SEQSET) {
			imap_seqset_resolve(k->set, count);
			if (k->set->count > 0 && k->set->ranges[k->set->count - 1].hi > count) {
				*error_r = "Invalid message sequence number.";
				return -1;
			}
		} else if (k->op == IMAP_SK_UIDSET) {
			imap_seqset_resolve(k->set, max_uid);
		} else if (k->op == IMAP_SK_KEYWORD) {
			int idx = mbox_keyword_find(mb, k->str);

			k->num = idx < 0 ? UINT64_MAX : (uint64_t)idx;
		}
		if (imap_search_prepare_keys(k->children, mb, count, max_uid, saved, error_r) < 0)
			return -1;
	}
	return 0;
}

int imap_search_prepare(struct imap_search_prog *prog, struct mbox *mb,
                        const struct imap_seqset *saved, const char **error_r)
{
	uint32_t count = mbox_count(mb);

	return imap_search_prepare_keys(prog->root, mb, count, count > 0 ? mbox_uid(mb, count) : 0,
	                                saved, error_r);
}

static char *imap_search_error(struct mbox *mb)
{
	char *e = strdup(mbox_error(mb));

	if (e == NULL)
		fatal("out of memory");
	return e;
}

/* ----- full text ----- */

static int imap_search_fts_keys(struct mbox *mb, struct imap_search_key *k, bool *want_header)
{
	for (; k != NULL; k = k->next) {
		if (k->op == IMAP_SK_BODY || k->op == IMAP_SK_TEXT) {
			if (mbox_fts_search(
			        mb, k->op == IMAP_SK_BODY ? MBOX_SEARCH_BODY : MBOX_SEARCH_TEXT,
			        k->str, &k->uids, &k->nuids) < 0)
				return -1;
			if (k->op == IMAP_SK_TEXT)
				*want_header = true;
		}
		if (imap_search_fts_keys(mb, k->children, want_header) < 0)
			return -1;
	}
	return 0;
}

/* Before BODY/TEXT keys are answered: the index brought up to date when few texts are
   missing, else the list of messages without text (m->unindexed, read directly). The list is
   taken before the index is queried, so a message the background indexer adds in between is
   in both, and answered the same either way. */
static int imap_search_fts_prepare(struct imap_match *m, struct imap_search_prog *prog,
                                   char **error_r)
{
	if (imap_search_fts_catch_up(m->mb, IMAP_SEARCH_FTS_INLINE_MAX, IMAP_MSGDATA_BATCH, NULL,
	                             &m->unindexed, &m->nunindexed, error_r) < 0)
		return -1;
	if (imap_search_fts_keys(m->mb, prog->root, &m->want_header) < 0) {
		*error_r = imap_search_error(m->mb);
		return -1;
	}
	return 0;
}

static int imap_uid_cmp(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

/* ----- one message ----- */

/* "Name <local@domain>, ..." with names decoded, folded into m->fold; the decoded value
   when it holds no address. */
static void imap_match_addresses(struct imap_match *m, const char *raw, size_t len)
{
	struct mime_arena arena = MIME_ARENA_INIT;
	struct mime_address *list;
	bool any = false;

	mime_buf_truncate(&m->text, 0);
	mime_address_parse(&arena, (const uint8_t *)raw, len, &list);
	for (struct mime_address *a = list; a != NULL; a = a->next) {
		if (a->kind != MIME_ADDR_MAILBOX)
			continue;
		if (any)
			mime_buf_append_str(&m->text, ", ");
		any = true;
		if (a->name != NULL) {
			mime_encword_decode((const uint8_t *)a->name, strlen(a->name), &m->text);
			mime_buf_append_str(&m->text, " <");
		}
		mime_buf_append_str(&m->text, a->mailbox != NULL ? a->mailbox : "");
		if (a->host != NULL) {
			mime_buf_append_c(&m->text, '@');
			mime_buf_append_str(&m->text, a->host);
		}
		if (a->name != NULL)
			mime_buf_append_c(&m->text, '>');
	}
	if (!any)
		mime_encword_decode((const uint8_t *)raw, len, &m->text);
	mime_arena_free(&arena);
	mime_buf_truncate(&m->fold, 0);
	imap_search_fold(mime_buf_str(&m->text), m->text.len, &m->fold);
}

static void imap_match_decoded(struct imap_match *m, const char *raw, size_t len)
{
	mime_buf_truncate(&m->text, 0);
	mime_encword_decode((const uint8_t *)raw, len, &m->text);
	mime_buf_truncate(&m->fold, 0);
	imap_search_fold(mime_buf_str(&m->text), m->text.len, &m->fold);
}

static bool imap_match_contains(const struct imap_match *m, const struct imap_search_key *k)
{
	return memmem(mime_buf_str(&m->fold), m->fold.len, k->str, k->str_len) != NULL;
}

static bool imap_match_cached(struct imap_match *m, const struct imap_search_key *k,
                              enum imap_hdr h, bool address)
{
	size_t len;
	const char *raw = imap_msgdata_hdr(&m->d, h, &len);

	if (address)
		imap_match_addresses(m, raw, len);
	else
		imap_match_decoded(m, raw, len);
	return imap_match_contains(m, k);
}

/* HEADER and BCC: every field of that name, from the file. */
static bool imap_match_fields(struct imap_match *m, const struct imap_search_key *k,
                              const char *name, bool address)
{
	struct mime_header_iter it;
	struct mime_field f;
	size_t hlen;
	const uint8_t *hdr = imap_msgdata_header(&m->d, &hlen);
	bool found = false;

	if (hdr == NULL)
		return false;
	mime_header_iter_init(&it, hdr, hlen);
	while (!found && mime_header_next(&it, &f)) {
		char *raw;
		size_t n;

		if (!mime_field_is(&f, name))
			continue;
		raw = malloc(f.value_len + 1);
		if (raw == NULL)
			fatal("out of memory");
		n = mime_unfold(f.value, f.value_len, raw);
		if (address)
			imap_match_addresses(m, raw, n);
		else
			imap_match_decoded(m, raw, n);
		found = imap_match_contains(m, k);
		free(raw);
	}
	return found;
}

static int32_t imap_match_idate(struct imap_match *m)
{
	if (!m->idate_have) {
		time_t t = 0;
		struct tm tm;

		m->idate_have = true;
		/* RFC 9051 6.4.4: the date disregarding time and timezone; the server's zone, as
		   INTERNALDATE is shown in it. */
		if (mbox_msg_internaldate(m->mb, m->d.seq, &t) < 0 || localtime_r(&t, &tm) == NULL)
			m->idate_day = 0;
		else
			m->idate_day =
			    imap_search_days(tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday);
	}
	return m->idate_day;
}

static bool imap_match_sent(struct imap_match *m, int32_t *day_r)
{
	if (!m->sent_have) {
		size_t len;
		const char *date = imap_msgdata_hdr(&m->d, IMAP_HDR_DATE, &len);
		int64_t utc;

		m->sent_have = true;
		m->sent_ok = imap_search_rfc5322_date(date, len, &m->sent_day, &utc) == 0;
	}
	*day_r = m->sent_day;
	return m->sent_ok;
}

static uint64_t imap_match_vsize(struct imap_match *m)
{
	if (!m->vsize_have) {
		m->vsize_have = true;
		if (mbox_msg_vsize(m->mb, m->d.seq, &m->vsize) < 0)
			m->vsize = m->d.info.size;
	}
	return m->vsize;
}

/* What the full-text index would answer for this message: the needle in the folded header
   lines (TEXT) or body text, as a substring. */
static bool imap_match_text_direct(struct imap_match *m, const struct imap_search_key *k)
{
	if (!m->text_have) {
		m->text_have = true;
		mime_buf_truncate(&m->raw_header, 0);
		mime_buf_truncate(&m->raw_body, 0);
		mime_buf_truncate(&m->text_header, 0);
		mime_buf_truncate(&m->text_body, 0);
		imap_search_fts_text(&m->d, m->want_header ? &m->raw_header : NULL, &m->raw_body);
		imap_search_fold(mime_buf_str(&m->raw_header), m->raw_header.len, &m->text_header);
		imap_search_fold(mime_buf_str(&m->raw_body), m->raw_body.len, &m->text_body);
	}
	if (memmem(mime_buf_str(&m->text_body), m->text_body.len, k->text_fold, k->text_fold_len) !=
	    NULL)
		return true;
	return k->op == IMAP_SK_TEXT && memmem(mime_buf_str(&m->text_header), m->text_header.len,
	                                       k->text_fold, k->text_fold_len) != NULL;
}

static bool imap_match_key(struct imap_match *m, const struct imap_search_key *k);

static bool imap_match_date(struct imap_match *m, const struct imap_search_key *k)
{
	int32_t day;

	switch (k->op) {
	case IMAP_SK_BEFORE:
		return imap_match_idate(m) < k->day;
	case IMAP_SK_ON:
		return imap_match_idate(m) == k->day;
	case IMAP_SK_SINCE:
		return imap_match_idate(m) >= k->day;
	case IMAP_SK_SENTBEFORE:
		return imap_match_sent(m, &day) && day < k->day;
	case IMAP_SK_SENTON:
		return imap_match_sent(m, &day) && day == k->day;
	default:
		return imap_match_sent(m, &day) && day >= k->day;
	}
}

static bool imap_match_key(struct imap_match *m, const struct imap_search_key *k)
{
	const struct mbox_msg_info *info = &m->d.info;
	const struct imap_search_key *c;

	switch (k->op) {
	case IMAP_SK_ALL:
		return true;
	case IMAP_SK_AND:
		for (c = k->children; c != NULL; c = c->next)
			if (!imap_match_key(m, c))
				return false;
		return true;
	case IMAP_SK_OR:
		return imap_match_key(m, k->children) || imap_match_key(m, k->children->next);
	case IMAP_SK_NOT:
		return !imap_match_key(m, k->children);
	case IMAP_SK_SEQSET:
		return imap_seqset_contains(k->set, m->d.seq);
	case IMAP_SK_UIDSET:
		return imap_seqset_contains(k->set, info->uid);
	case IMAP_SK_FLAG:
		return ((info->flags & k->flag) != 0) != k->neg;
	case IMAP_SK_KEYWORD:
		return (k->num != UINT64_MAX && (info->keywords & (1u << k->num)) != 0) != k->neg;
	case IMAP_SK_RECENT:
		return info->recent != k->neg;
	case IMAP_SK_NEW:
		return info->recent && (info->flags & MBOX_FLAG_SEEN) == 0;
	case IMAP_SK_BEFORE:
	case IMAP_SK_ON:
	case IMAP_SK_SINCE:
	case IMAP_SK_SENTBEFORE:
	case IMAP_SK_SENTON:
	case IMAP_SK_SENTSINCE:
		return imap_match_date(m, k);
	case IMAP_SK_LARGER:
		return imap_match_vsize(m) > k->num;
	case IMAP_SK_SMALLER:
		return imap_match_vsize(m) < k->num;
	case IMAP_SK_MODSEQ:
		return info->modseq >= k->num;
	case IMAP_SK_FROM:
		return imap_match_cached(m, k, IMAP_HDR_FROM, true);
	case IMAP_SK_TO:
		return imap_match_cached(m, k, IMAP_HDR_TO, true);
	case IMAP_SK_CC:
		return imap_match_cached(m, k, IMAP_HDR_CC, true);
	case IMAP_SK_SUBJECT:
		return imap_match_cached(m, k, IMAP_HDR_SUBJECT, false);
	case IMAP_SK_BCC:
		return imap_match_fields(m, k, "Bcc", true);
	case IMAP_SK_HEADER:
		return imap_match_fields(m, k, k->field, false);
	case IMAP_SK_BODY:
	case IMAP_SK_TEXT:
		if (m->direct)
			return imap_match_text_direct(m, k);
		return array_search(&info->uid, k->uids, k->nuids, sizeof(uint32_t),
		                    imap_uid_cmp) != NULL;
	}
	return false;
}

/* ----- the whole folder ----- */

static void imap_result_add(struct imap_search_result *res, size_t *cap, uint32_t seq, uint32_t uid)
{
	if (res->count == *cap) {
		*cap = *cap == 0 ? 256 : *cap * 2;
		res->seqs = realloc(res->seqs, *cap * sizeof(uint32_t));
		res->uids = realloc(res->uids, *cap * sizeof(uint32_t));
		if (res->seqs == NULL || res->uids == NULL)
			fatal("out of memory");
	}
	res->seqs[res->count] = seq;
	res->uids[res->count++] = uid;
}

int imap_search_run(struct mbox *mb, struct imap_search_prog *prog,
                    struct imap_search_result *res_r, char **error_r)
{
	struct imap_match m = {.mb = mb};
	uint32_t count = mbox_count(mb);
	size_t cap = 0;

	memset(res_r, 0, sizeof(*res_r));
	if (prog->ntext > 0 && imap_search_fts_prepare(&m, prog, error_r) < 0) {
		free(m.unindexed);
		return -1;
	}
	imap_msgdata_init(&m.d, mb);
	for (uint32_t seq = 1; seq <= count; seq++) {
		imap_msgdata_set(&m.d, seq);
		m.idate_have = m.vsize_have = m.sent_have = m.text_have = false;
		m.direct = m.next_unindexed < m.nunindexed && m.unindexed[m.next_unindexed] == seq;
		if (m.direct)
			m.next_unindexed++;
		if (!imap_match_key(&m, prog->root))
			continue;
		imap_result_add(res_r, &cap, seq, m.d.info.uid);
		if (m.d.info.modseq > res_r->highest_modseq)
			res_r->highest_modseq = m.d.info.modseq;
	}
	res_r->unindexed = m.nunindexed;
	imap_msgdata_deinit(&m.d);
	mime_buf_free(&m.text);
	mime_buf_free(&m.fold);
	mime_buf_free(&m.text_header);
	mime_buf_free(&m.text_body);
	mime_buf_free(&m.raw_header);
	mime_buf_free(&m.raw_body);
	free(m.unindexed);
	return 0;
}

void imap_search_result_free(struct imap_search_result *res)
{
	free(res->seqs);
	free(res->uids);
	memset(res, 0, sizeof(*res));
}
