/* RFC 9051 sequence sets: parsed into sorted, merged ranges. */
#include <stdlib.h>
#include <string.h>

#include "imap_seqset.h"
#include "core/array_sort.h"
#include "log.h"

/* "*" while parsing: one past every nz-number, so it never collides with 4294967295. */
#define SEQ_STAR ((uint64_t)UINT32_MAX + 1)

/* An nz-number or "*" at s[*pos]; advances *pos. 0 with *error_r on failure. */
static uint64_t seq_number(const char *s, size_t len, size_t *pos, const char **error_r)
{
	uint64_t n = 0;
	size_t i = *pos;

	if (i < len && s[i] == '*') {
		*pos = i + 1;
		return SEQ_STAR;
	}
	if (i >= len || s[i] < '0' || s[i] > '9') {
		*error_r = "invalid sequence set";
		return 0;
	}
	if (s[i] == '0') {
		*error_r = "invalid sequence number";
		return 0;
	}
	for (; i < len && s[i] >= '0' && s[i] <= '9'; i++) {
		n = n * 10 + (uint64_t)(s[i] - '0');
		if (n > UINT32_MAX) {
			*error_r = "sequence number too large";
			return 0;
		}
	}
	*pos = i;
	return n;
}

static void seq_add(struct imap_seqset *set, uint64_t a, uint64_t b)
{
	uint64_t lo = a < b ? a : b, hi = a < b ? b : a;

	if (hi == SEQ_STAR) {
		/* "n:*" or "*:n": which end is lower depends on the mailbox; keep the bounds. */
		if (lo != SEQ_STAR && lo < set->star_lo)
			set->star_lo = lo;
		if (lo != SEQ_STAR && lo > set->star_hi)
			set->star_hi = lo;
		set->star = true;
		return;
	}
	set->ranges[set->count].lo = (uint32_t)lo;
	set->ranges[set->count].hi = (uint32_t)hi;
	set->count++;
}

static int range_cmp(const void *a, const void *b)
{
	const struct imap_seq_range *x = a, *y = b;

	return x->lo < y->lo ? -1 : x->lo > y->lo;
}

/* Sort and merge overlapping or touching ranges, in place. */
static void seq_normalise(struct imap_seqset *set)
{
	size_t out = 0;

	if (set->count == 0)
		return;
	array_sort(set->ranges, set->count, sizeof(set->ranges[0]), range_cmp);
	for (size_t i = 1; i < set->count; i++) {
		struct imap_seq_range *last = &set->ranges[out];

		if ((uint64_t)set->ranges[i].lo <= (uint64_t)last->hi + 1) {
			if (set->ranges[i].hi > last->hi)
				last->hi = set->ranges[i].hi;
		} else {
			set->ranges[++out] = set->ranges[i];
		}
	}
	set->count = out + 1;
}

static size_t seq_elements(const char *s, size_t len)
{
	size_t n = 1;

	for (size_t i = 0; i < len; i++)
		n += s[i] == ',';
	return n;
}

static struct imap_seqset *seq_new(size_t elements)
{
	struct imap_seqset *set = calloc(1, sizeof(*set));

	if (set == NULL)
		fatal("imap seqset: out of memory");
	set->ranges = malloc(elements * sizeof(set->ranges[0]));
	if (set->ranges == NULL)
		fatal("imap seqset: out of memory");
	set->star_lo = SEQ_STAR;
	return set;
}

/* One "a" or "a:b" at s[*pos]. */
static int seq_element(struct imap_seqset *set, const char *s, size_t len, size_t *pos,
                       const char **error_r)
{
	uint64_t a, b;

	a = seq_number(s, len, pos, error_r);
	if (a == 0)
		return -1;
	b = a;
	if (*pos < len && s[*pos] == ':') {
		(*pos)++;
		b = seq_number(s, len, pos, error_r);
		if (b == 0)
			return -1;
	}
	seq_add(set, a, b);
	return 0;
}

int imap_seqset_parse(const char *str, size_t len, size_t ranges_max, struct imap_seqset **set_r,
                      const char **error_r)
{
	size_t elements = seq_elements(str, len), pos = 0;
	struct imap_seqset *set;

	if (elements > ranges_max) {
		*error_r = "too many elements in sequence set";
		return -1;
	}
	set = seq_new(elements);
	if (len == 1 && str[0] == '$') {
		set->dollar = true;
		*set_r = set;
		return 0;
	}
	for (;;) {
		if (seq_element(set, str, len, &pos, error_r) < 0)
			break;
		if (pos == len) {
			seq_normalise(set);
			*set_r = set;
			return 0;
		}
		if (str[pos++] != ',') {
			*error_r = "invalid sequence set";
			break;
		}
	}
	imap_seqset_free(&set);
	return -1;
}

void imap_seqset_free(struct imap_seqset **setp)
{
	if (*setp == NULL)
		return;
	free((*setp)->ranges);
	free(*setp);
	*setp = NULL;
}

void imap_seqset_resolve(struct imap_seqset *set, uint32_t max)
{
	struct imap_seq_range *r;

	if (!set->star)
		return;
	set->star = false;
	if (max == 0)
		return;
	r = realloc(set->ranges, (set->count + 1) * sizeof(*r));
	if (r == NULL)
		fatal("imap seqset: out of memory");
	set->ranges = r;
	r[set->count].lo = set->star_lo < max ? (uint32_t)set->star_lo : max;
	r[set->count].hi = set->star_hi > max ? (uint32_t)set->star_hi : max;
	set->count++;
	seq_normalise(set);
}

bool imap_seqset_contains(const struct imap_seqset *set, uint32_t n)
{
	size_t lo = 0, hi = set->count;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (n < set->ranges[mid].lo)
			hi = mid;
		else if (n > set->ranges[mid].hi)
			lo = mid + 1;
		else
			return true;
	}
	return false;
}

uint64_t imap_seqset_size(const struct imap_seqset *set)
{
	uint64_t n = 0;

	for (size_t i = 0; i < set->count; i++)
		n += (uint64_t)set->ranges[i].hi - set->ranges[i].lo + 1;
	return n;
}

struct imap_seqset *imap_seqset_from_sorted(const uint32_t *v, size_t n)
{
	struct imap_seqset *set;
	size_t runs = 0;

	for (size_t i = 0; i < n; i++)
		runs += i == 0 || v[i - 1] == UINT32_MAX || v[i] != v[i - 1] + 1;
	set = seq_new(runs > 0 ? runs : 1);
	for (size_t i = 0; i < n; i++) {
		if (set->count > 0 && v[i - 1] != UINT32_MAX && v[i] == v[i - 1] + 1)
			set->ranges[set->count - 1].hi = v[i];
		else
			set->ranges[set->count++] = (struct imap_seq_range){v[i], v[i]};
	}
	return set;
}

void imap_seqset_assign(struct imap_seqset *set, const struct imap_seqset *from)
{
	size_t n = from != NULL ? from->count : 0;
	struct imap_seq_range *r = realloc(set->ranges, (n > 0 ? n : 1) * sizeof(*r));

	if (r == NULL)
		fatal("imap seqset: out of memory");
	if (n > 0)
		memcpy(r, from->ranges, n * sizeof(*r));
	set->ranges = r;
	set->count = n;
	set->dollar = false;
	set->star = false;
	set->star_lo = SEQ_STAR;
	set->star_hi = 0;
}

void imap_seqset_write(struct mime_buf *b, const uint32_t *v, size_t n)
{
	for (size_t i = 0; i < n;) {
		size_t j = i;

		while (j + 1 < n && v[j] != UINT32_MAX && v[j + 1] == v[j] + 1)
			j++;
		if (i > 0)
			mime_buf_append_c(b, ',');
		if (j > i)
			mime_buf_printf(b, "%u:%u", v[i], v[j]);
		else
			mime_buf_printf(b, "%u", v[i]);
		i = j + 1;
	}
}
