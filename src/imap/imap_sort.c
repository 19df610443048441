/* SORT (RFC 5256, RFC 5957) and base subjects (imap_sort.h). */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../core/log.h"
#include "../store/mime_header.h"
#include "imap_search_msg.h"
#include "imap_sort.h"

/* ----- base subject (RFC 5256 2.1) ----- */

struct imap_subj {
	char *p;
	size_t len;
	bool reply;
};

static bool imap_is_wsp(char c)
{
	return c == ' ' || c == '\t';
}

/* Step 2: trailing "(fwd)" and blanks. */
static void imap_subj_trailer(struct imap_subj *s)
{
	for (;;) {
		if (s->len > 0 && imap_is_wsp(s->p[s->len - 1])) {
			s->len--;
		} else if (s->len >= 5 && strncasecmp(s->p + s->len - 5, "(fwd)", 5) == 0) {
			s->len -= 5;
			s->reply = true;
		} else {
			return;
		}
	}
}

/* subj-blob = "[" *BLOBCHAR "]" *WSP; the octets it covers at p[0..len), 0 when none. */
static size_t imap_subj_blob(const char *p, size_t len)
{
	size_t i = 1;

	if (len == 0 || p[0] != '[')
		return 0;
	while (i < len && p[i] != ']' && p[i] != '[')
		i++;
	if (i >= len || p[i] != ']')
		return 0;
	for (i++; i < len && imap_is_wsp(p[i]); i++)
		;
	return i;
}

/* subj-refwd = ("re" / ("fw" ["d"])) *WSP [subj-blob] ":" at p: its length, or 0. */
static size_t imap_subj_refwd(const char *p, size_t len)
{
	size_t i;

	if (len >= 2 && strncasecmp(p, "re", 2) == 0)
		i = 2;
	else if (len >= 3 && strncasecmp(p, "fwd", 3) == 0)
		i = 3;
	else if (len >= 2 && strncasecmp(p, "fw", 2) == 0)
		i = 2;
	else
		return 0;
	while (i < len && imap_is_wsp(p[i]))
		i++;
	i += imap_subj_blob(p + i, len - i);
	return i < len && p[i] == ':' ? i + 1 : 0;
}

static void imap_subj_drop(struct imap_subj *s, size_t n)
{
	memmove(s->p, s->p + n, s->len - n);
	s->len -= n;
}

/* Step 3: subj-leader = (*subj-blob subj-refwd) / WSP, as often as it matches. */
static bool imap_subj_leader(struct imap_subj *s)
{
	bool any = false;

	for (;;) {
		size_t i = 0, b, r;

		if (s->len > 0 && imap_is_wsp(s->p[0])) {
			imap_subj_drop(s, 1);
			any = true;
			continue;
		}
		while ((b = imap_subj_blob(s->p + i, s->len - i)) > 0)
			i += b;
		r = imap_subj_refwd(s->p + i, s->len - i);
		if (r == 0)
			return any;
		imap_subj_drop(s, i + r);
		s->reply = true;
		any = true;
	}
}

/* Step 4: a leading blob goes when something is left after it. */
static bool imap_subj_blob_prefix(struct imap_subj *s)
{
	size_t b = imap_subj_blob(s->p, s->len);

	if (b == 0 || b == s->len)
		return false;
	imap_subj_drop(s, b);
	return true;
}

bool imap_base_subject(const char *raw, size_t len, struct mime_buf *out)
{
	struct mime_buf dec = MIME_BUF_INIT;
	struct imap_subj s = {0};

	/* Step 1: decoded, every run of blanks (tabs and folds included) one space. */
	mime_encword_decode((const uint8_t *)raw, len, &dec);
	s.p = malloc(dec.len + 1);
	if (s.p == NULL)
		fatal("out of memory");
	for (size_t i = 0; i < dec.len; i++) {
		char c = dec.p[i] == '\t' || dec.p[i] == '\r' || dec.p[i] == '\n' ? ' ' : dec.p[i];

		if (c == ' ' && s.len > 0 && s.p[s.len - 1] == ' ')
			continue;
		s.p[s.len++] = c;
	}
	mime_buf_free(&dec);
	for (;;) {
		imap_subj_trailer(&s);
		/* Step 5: steps 3 and 4 until neither matches. */
		while (imap_subj_leader(&s) || imap_subj_blob_prefix(&s))
			;
		/* Step 6: "[fwd: ...]" */
		if (s.len >= 6 && strncasecmp(s.p, "[fwd:", 5) == 0 && s.p[s.len - 1] == ']') {
			s.len--;
			imap_subj_drop(&s, 5);
			s.reply = true;
			continue;
		}
		break;
	}
	imap_search_fold(s.p, s.len, out);
	free(s.p);
	return s.reply;
}

/* ----- criteria ----- */

int imap_sort_parse(const struct imap_arg *list, struct imap_sort_crit *crit, size_t *n_r,
                    const char **error_r)
{
	static const struct {
		const char *name;
		enum imap_sort_key key;
	} keys[] = {{"ARRIVAL", IMAP_SORT_ARRIVAL},
	            {"CC", IMAP_SORT_CC},
	            {"DATE", IMAP_SORT_DATE},
	            {"FROM", IMAP_SORT_FROM},
	            {"SIZE", IMAP_SORT_SIZE},
	            {"SUBJECT", IMAP_SORT_SUBJECT},
	            {"TO", IMAP_SORT_TO},
	            {"DISPLAYFROM", IMAP_SORT_DISPLAYFROM},
	            {"DISPLAYTO", IMAP_SORT_DISPLAYTO}};
	const struct imap_arg *a;
	unsigned count;
	bool reverse = false;
	size_t n = 0;

	if (!imap_arg_get_list(list, &a, &count) || a == NULL) {
		*error_r = "Missing sort criteria.";
		return -1;
	}
	for (; a != NULL; a = a->next) {
		size_t i;

		if (imap_arg_atom_is(a, "REVERSE") && !reverse) {
			reverse = true;
			continue;
		}
		for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
			if (imap_arg_atom_is(a, keys[i].name))
				break;
		}
		if (i == sizeof(keys) / sizeof(keys[0])) {
			*error_r = "Invalid sort criterion.";
			return -1;
		}
		if (n == IMAP_SORT_CRIT_MAX) {
			*error_r = "Too many sort criteria.";
			return -1;
		}
		crit[n++] = (struct imap_sort_crit){keys[i].key, reverse};
		reverse = false;
	}
	if (reverse) {
		*error_r = "REVERSE needs a sort criterion after it.";
		return -1;
	}
	*n_r = n;
	return 0;
}

/* ----- sorting ----- */

struct imap_sort_item {
	uint32_t seq, uid;
	int64_t *num; /* per criterion: dates and sizes */
	char **str;   /* per criterion: folded strings */
};

struct imap_sort_ctx {
	const struct imap_sort_crit *crit;
	size_t n;
};

static bool imap_sort_is_string(enum imap_sort_key key)
{
	return key != IMAP_SORT_ARRIVAL && key != IMAP_SORT_DATE && key != IMAP_SORT_SIZE;
}

int64_t imap_sort_sent_date(struct imap_msgdata *d)
{
	size_t len;
	const char *date = imap_msgdata_hdr(d, IMAP_HDR_DATE, &len);
	int32_t day;
	int64_t utc;
	time_t t = 0;

	if (imap_search_rfc5322_date(date, len, &day, &utc) == 0)
		return utc;
	(void)mbox_msg_internaldate(d->mb, d->seq, &t);
	return (int64_t)t;
}

/* The first address of a field: its local part, or for DISPLAY* its decoded display name
   (RFC 5957: the addr-spec when the name is empty). Folded into out. */
static void imap_sort_address(const char *raw, size_t len, bool display, struct mime_buf *out)
{
	struct mime_arena arena = MIME_ARENA_INIT;
	struct mime_buf text = MIME_BUF_INIT;
	struct mime_address *list, *a;

	mime_address_parse(&arena, (const uint8_t *)raw, len, &list);
	for (a = list; a != NULL && a->kind != MIME_ADDR_MAILBOX; a = a->next)
		;
	if (a != NULL) {
		if (display && a->name != NULL && a->name[0] != '\0') {
			mime_encword_decode((const uint8_t *)a->name, strlen(a->name), &text);
		} else {
			mime_buf_append_str(&text, a->mailbox != NULL ? a->mailbox : "");
			if (display && a->host != NULL) {
				mime_buf_append_c(&text, '@');
				mime_buf_append_str(&text, a->host);
			}
		}
	}
	imap_search_fold(mime_buf_str(&text), text.len, out);
	mime_buf_free(&text);
	mime_arena_free(&arena);
}

static char *imap_sort_string(struct imap_msgdata *d, enum imap_sort_key key)
{
	struct mime_buf out = MIME_BUF_INIT;
	size_t len;
	const char *raw;
	char *s;

	switch (key) {
	case IMAP_SORT_SUBJECT:
		raw = imap_msgdata_hdr(d, IMAP_HDR_SUBJECT, &len);
		(void)imap_base_subject(raw, len, &out);
		break;
	case IMAP_SORT_CC:
		raw = imap_msgdata_hdr(d, IMAP_HDR_CC, &len);
		imap_sort_address(raw, len, false, &out);
		break;
	case IMAP_SORT_FROM:
	case IMAP_SORT_DISPLAYFROM:
		raw = imap_msgdata_hdr(d, IMAP_HDR_FROM, &len);
		imap_sort_address(raw, len, key == IMAP_SORT_DISPLAYFROM, &out);
		break;
	default:
		raw = imap_msgdata_hdr(d, IMAP_HDR_TO, &len);
		imap_sort_address(raw, len, key == IMAP_SORT_DISPLAYTO, &out);
		break;
	}
	s = strdup(mime_buf_str(&out));
	if (s == NULL)
		fatal("out of memory");
	mime_buf_free(&out);
	return s;
}

static void imap_sort_fill(struct imap_msgdata *d, struct imap_sort_item *it,
                           const struct imap_sort_crit *crit, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		time_t t = 0;
		uint64_t size = 0;

		switch (crit[i].key) {
		case IMAP_SORT_ARRIVAL:
			(void)mbox_msg_internaldate(d->mb, d->seq, &t);
			it->num[i] = t;
			break;
		case IMAP_SORT_DATE:
			it->num[i] = imap_sort_sent_date(d);
			break;
		case IMAP_SORT_SIZE:
			if (mbox_msg_vsize(d->mb, d->seq, &size) < 0)
				size = d->info.size;
			it->num[i] = (int64_t)size;
			break;
		default:
			it->str[i] = imap_sort_string(d, crit[i].key);
			break;
		}
	}
}

static int imap_sort_cmp(const void *a, const void *b, void *arg)
{
	const struct imap_sort_item *x = a, *y = b;
	const struct imap_sort_ctx *ctx = arg;

	for (size_t i = 0; i < ctx->n; i++) {
		int c;

		if (imap_sort_is_string(ctx->crit[i].key))
			c = strcmp(x->str[i], y->str[i]);
		else
			c = x->num[i] < y->num[i] ? -1 : x->num[i] > y->num[i];
		if (c != 0)
			return ctx->crit[i].reverse ? -c : c;
	}
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

void imap_sort_run(struct mbox *mb, struct imap_search_result *res,
                   const struct imap_sort_crit *crit, size_t n)
{
	struct imap_sort_item *items = calloc(res->count + 1, sizeof(*items));
	int64_t *nums = calloc(res->count * n + 1, sizeof(*nums));
	char **strs = calloc(res->count * n + 1, sizeof(*strs));
	struct imap_sort_ctx ctx = {crit, n};
	struct imap_msgdata d;

	if (items == NULL || nums == NULL || strs == NULL)
		fatal("out of memory");
	imap_msgdata_init(&d, mb);
	for (size_t i = 0; i < res->count; i++) {
		imap_msgdata_set(&d, res->seqs[i]);
		items[i].seq = res->seqs[i];
		items[i].uid = res->uids[i];
		items[i].num = nums + i * n;
		items[i].str = strs + i * n;
		imap_sort_fill(&d, &items[i], crit, n);
	}
	imap_msgdata_deinit(&d);
	if (res->count > 1)
		qsort_r(items, res->count, sizeof(*items), imap_sort_cmp, &ctx);
	for (size_t i = 0; i < res->count; i++) {
		res->seqs[i] = items[i].seq;
		res->uids[i] = items[i].uid;
		for (size_t k = 0; k < n; k++)
			free(items[i].str[k]);
	}
	free(items);
	free(nums);
	free(strs);
}
