/* THREAD=ORDEREDSUBJECT and THREAD=REFERENCES (RFC 5256 3; imap_thread.h). */
#include <stdlib.h>
#include <string.h>

#include "../core/array_sort.h"
#include "../core/log.h"
#include "imap_thread.h"

/* A container (RFC 5256 3 "REFERENCES"): a message, or a dummy (msg -1) for an id only
   referenced. Node 0 is the root whose children are the threads. Siblings are doubly
   linked so that splicing is O(1). */
struct tnode {
	int32_t msg;
	int32_t parent, first, last, prev, next;
	int64_t date; /* sort key: the message's, a dummy's first child's */
	uint32_t seq;
};

struct tree {
	const struct imap_thread_msg *msgs;
	struct tnode *n;
	size_t count, cap;
	/* message-id -> node, open addressing */
	struct tslot {
		const char *id;
		size_t len;
		int32_t node;
	} * slots;
	size_t nslots, used;
};

#define ROOT 0

static int32_t tree_node(struct tree *t, int32_t msg)
{
	struct tnode *x;

	if (t->count == t->cap) {
		t->cap = t->cap == 0 ? 64 : t->cap * 2;
		t->n = realloc(t->n, t->cap * sizeof(*t->n));
		if (t->n == NULL)
			fatal("out of memory");
	}
	x = &t->n[t->count];
	*x = (struct tnode){
	    .msg = msg, .parent = -1, .first = -1, .last = -1, .prev = -1, .next = -1};
	if (msg >= 0) {
		x->date = t->msgs[msg].date;
		x->seq = t->msgs[msg].seq;
	}
	return (int32_t)t->count++;
}

static void tree_unlink(struct tree *t, int32_t c)
{
	struct tnode *x = &t->n[c];

	if (x->parent < 0)
		return;
	if (x->prev >= 0)
		t->n[x->prev].next = x->next;
	else
		t->n[x->parent].first = x->next;
	if (x->next >= 0)
		t->n[x->next].prev = x->prev;
	else
		t->n[x->parent].last = x->prev;
	x->parent = x->prev = x->next = -1;
}

static void tree_append(struct tree *t, int32_t p, int32_t c)
{
	struct tnode *x = &t->n[c];

	x->parent = p;
	x->prev = t->n[p].last;
	x->next = -1;
	if (x->prev >= 0)
		t->n[x->prev].next = c;
	else
		t->n[p].first = c;
	t->n[p].last = c;
}

/* Put c's children where c is among its siblings, and drop c. */
static void tree_splice(struct tree *t, int32_t c)
{
	struct tnode *x = &t->n[c];
	int32_t p = x->parent, prev = x->prev, next = x->next;

	if (x->first < 0) {
		tree_unlink(t, c);
		return;
	}
	for (int32_t k = x->first; k >= 0; k = t->n[k].next)
		t->n[k].parent = p;
	t->n[x->first].prev = prev;
	t->n[x->last].next = next;
	if (prev >= 0)
		t->n[prev].next = x->first;
	else
		t->n[p].first = x->first;
	if (next >= 0)
		t->n[next].prev = x->last;
	else
		t->n[p].last = x->last;
	x->parent = x->prev = x->next = x->first = x->last = -1;
}

/* Linking p as the parent of c would make a loop (or costs too much to rule one out). */
static bool tree_would_loop(const struct tree *t, int32_t p, int32_t c)
{
	unsigned steps = 0;

	/* Without children c is nobody's ancestor: the usual case costs no climb. */
	if (p == c || t->n[c].first < 0)
		return p == c;
	for (int32_t k = p; k >= 0; k = t->n[k].parent) {
		if (k == c || ++steps > IMAP_THREAD_CLIMB_MAX)
			return true;
	}
	return false;
}

/* ----- message-ids ----- */

static uint64_t tree_hash(const char *s, size_t len)
{
	uint64_t h = 14695981039346656037ull;

	for (size_t i = 0; i < len; i++)
		h = (h ^ (uint8_t)s[i]) * 1099511628211ull;
	return h;
}

static struct tslot *tree_slot(struct tree *t, const char *id, size_t len)
{
	size_t i = (size_t)tree_hash(id, len) & (t->nslots - 1);

	while (t->slots[i].id != NULL &&
	       (t->slots[i].len != len || memcmp(t->slots[i].id, id, len) != 0))
		i = (i + 1) & (t->nslots - 1);
	return &t->slots[i];
}

static void tree_grow_ids(struct tree *t)
{
	struct tslot *old = t->slots;
	size_t n = t->nslots;

	t->nslots = n == 0 ? 256 : n * 2;
	t->slots = calloc(t->nslots, sizeof(*t->slots));
	if (t->slots == NULL)
		fatal("out of memory");
	for (size_t i = 0; i < n; i++) {
		if (old[i].id != NULL)
			*tree_slot(t, old[i].id, old[i].len) = old[i];
	}
	free(old);
}

/* The node for id, created as a dummy when new. */
static int32_t tree_id(struct tree *t, const char *id, size_t len)
{
	struct tslot *s;

	if (2 * (t->used + 1) > t->nslots)
		tree_grow_ids(t);
	s = tree_slot(t, id, len);
	if (s->id == NULL) {
		*s = (struct tslot){id, len, tree_node(t, -1)};
		t->used++;
	}
	return s->node;
}

/* The next "<...>" of p[*pos..len): 1 with the text between, 0 at the end. */
static int tree_next_id(const char *p, size_t len, size_t *pos, const char **id_r, size_t *len_r)
{
	while (*pos < len) {
		const char *lt = memchr(p + *pos, '<', len - *pos), *gt;

		if (lt == NULL)
			break;
		gt = memchr(lt + 1, '>', len - (size_t)(lt + 1 - p));
		if (gt == NULL)
			break;
		*pos = (size_t)(gt + 1 - p);
		if (gt > lt + 1 && memchr(lt + 1, '<', (size_t)(gt - lt - 1)) == NULL) {
			*id_r = lt + 1;
			*len_r = (size_t)(gt - lt - 1);
			return 1;
		}
	}
	*pos = len;
	return 0;
}

/* ----- RFC 5256 REFERENCES step 1 ----- */

static void tree_link_message(struct tree *t, int32_t i)
{
	const struct imap_thread_msg *m = &t->msgs[i];
	const char *refs = m->references, *id;
	size_t pos = 0, len;
	int32_t prev = -1, self = -1;

	/* 1A: References, else the first id of In-Reply-To */
	if (strchr(refs, '<') == NULL)
		refs = m->in_reply_to;
	while (tree_next_id(refs, strlen(refs), &pos, &id, &len) == 1) {
		int32_t node = tree_id(t, id, len);

		if (prev >= 0 && prev != node && t->n[node].parent < 0 &&
		    !tree_would_loop(t, prev, node))
			tree_append(t, prev, node);
		prev = node;
		if (refs == m->in_reply_to)
			break;
	}
	/* 1B: the message itself; duplicates and missing ids are unique */
	pos = 0;
	if (tree_next_id(m->message_id, strlen(m->message_id), &pos, &id, &len) == 1) {
		self = tree_id(t, id, len);
		if (t->n[self].msg >= 0)
			self = -1;
	}
	if (self < 0)
		self = tree_node(t, -1);
	t->n[self].msg = i;
	t->n[self].date = m->date;
	t->n[self].seq = m->seq;
	tree_unlink(t, self);
	if (prev >= 0 && !tree_would_loop(t, prev, self))
		tree_append(t, prev, self);
}

/* ----- walks ----- */

/* Every node below ROOT, each after all of its descendants. */
static int32_t *tree_postorder(const struct tree *t, size_t *n_r)
{
	int32_t *stack = malloc(t->count * sizeof(int32_t)),
	        *order = malloc(t->count * sizeof(int32_t));
	size_t sp = 0, n = 0;

	if (stack == NULL || order == NULL)
		fatal("out of memory");
	for (int32_t c = t->n[ROOT].first; c >= 0; c = t->n[c].next)
		stack[sp++] = c;
	while (sp > 0) {
		int32_t x = stack[--sp];

		order[n++] = x;
		for (int32_t c = t->n[x].first; c >= 0; c = t->n[c].next)
			stack[sp++] = c;
	}
	free(stack);
	for (size_t i = 0; i < n / 2; i++) {
		int32_t tmp = order[i];

		order[i] = order[n - 1 - i];
		order[n - 1 - i] = tmp;
	}
	*n_r = n;
	return order;
}

/* Step 3: dummies go, their children move up; at the top only when there is one. */
static void tree_prune(struct tree *t)
{
	size_t n;
	int32_t *order = tree_postorder(t, &n);

	for (size_t i = 0; i < n; i++) {
		struct tnode *x = &t->n[order[i]];

		if (x->msg >= 0)
			continue;
		if (x->parent != ROOT || x->first < 0 || x->first == x->last)
			tree_splice(t, order[i]);
	}
	free(order);
}

static int tnode_cmp(const void *a, const void *b)
{
	const struct tnode *x = *(const struct tnode *const *)a,
	                   *y = *(const struct tnode *const *)b;

	if (x->date != y->date)
		return x->date < y->date ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static void tree_sort_children(struct tree *t, int32_t p, struct tnode **tmp)
{
	size_t k = 0;

	for (int32_t c = t->n[p].first; c >= 0; c = t->n[c].next)
		tmp[k++] = &t->n[c];
	if (k < 2)
		return;
	array_sort(tmp, k, sizeof(*tmp), tnode_cmp);
	t->n[p].first = t->n[p].last = -1;
	for (size_t i = 0; i < k; i++)
		tree_append(t, p, (int32_t)(tmp[i] - t->n));
}

/* Steps 4 and 6: siblings by sent date; a dummy sorts as its first child. */
static void tree_sort(struct tree *t)
{
	size_t n;
	int32_t *order = tree_postorder(t, &n);
	struct tnode **tmp = malloc((t->count + 1) * sizeof(*tmp));

	if (tmp == NULL)
		fatal("out of memory");
	for (size_t i = 0; i < n; i++) {
		struct tnode *x = &t->n[order[i]];

		tree_sort_children(t, order[i], tmp);
		if (x->msg < 0 && x->first >= 0) {
			x->date = t->n[x->first].date;
			x->seq = t->n[x->first].seq;
		}
	}
	tree_sort_children(t, ROOT, tmp);
	free(tmp);
	free(order);
}

/* ----- step 5: threads with the same base subject ----- */

static const struct imap_thread_msg *tree_subject_msg(const struct tree *t, int32_t r)
{
	int32_t m = t->n[r].msg >= 0 ? r : t->n[r].first;

	return m >= 0 && t->n[m].msg >= 0 ? &t->msgs[t->n[m].msg] : NULL;
}

/* Subject table: base subject -> node, reusing the id table's slots machinery. */
static void tree_merge(struct tree *t, int32_t table, int32_t cur)
{
	struct tnode *tx = &t->n[table], *cx = &t->n[cur];

	if (tx->msg < 0 && cx->msg < 0) {
		while (cx->first >= 0) {
			int32_t c = cx->first;

			tree_unlink(t, c);
			tree_append(t, table, c);
		}
		tree_unlink(t, cur);
	} else {
		/* the table's is a dummy, or cur is a reply to a thread that is not */
		tree_unlink(t, cur);
		tree_append(t, table, cur);
	}
}

static void tree_gather_subjects(struct tree *t)
{
	struct tree subj = {.msgs = t->msgs};

	/* 5B */
	for (int32_t r = t->n[ROOT].first; r >= 0; r = t->n[r].next) {
		const struct imap_thread_msg *m = tree_subject_msg(t, r);
		struct tslot *s;

		if (m == NULL || m->subject[0] == '\0')
			continue;
		if (2 * (subj.used + 1) > subj.nslots)
			tree_grow_ids(&subj);
		s = tree_slot(&subj, m->subject, strlen(m->subject));
		if (s->id == NULL) {
			*s = (struct tslot){m->subject, strlen(m->subject), r};
			subj.used++;
		} else if (t->n[s->node].msg >= 0 &&
		           (t->n[r].msg < 0 || (t->msgs[t->n[s->node].msg].reply && !m->reply))) {
			s->node = r;
		}
	}
	/* 5C */
	for (int32_t r = t->n[ROOT].first, next; r >= 0; r = next) {
		const struct imap_thread_msg *m = tree_subject_msg(t, r);
		struct tslot *s;
		int32_t table;

		next = t->n[r].next;
		if (m == NULL || m->subject[0] == '\0')
			continue;
		s = tree_slot(&subj, m->subject, strlen(m->subject));
		table = s->node;
		if (table == r)
			continue;
		if (t->n[table].msg < 0 ||
		    (t->n[r].msg >= 0 && m->reply && !t->msgs[t->n[table].msg].reply)) {
			tree_merge(t, table, r);
		} else {
			/* a new dummy takes the table message's place, both under it */
			int32_t d = tree_node(t, -1);
			struct tnode *tx = &t->n[table];

			t->n[d].parent = ROOT;
			t->n[d].prev = tx->prev;
			t->n[d].next = tx->next;
			if (tx->prev >= 0)
				t->n[tx->prev].next = d;
			else
				t->n[ROOT].first = d;
			if (tx->next >= 0)
				t->n[tx->next].prev = d;
			else
				t->n[ROOT].last = d;
			if (next == table)
				next = d;
			tx->parent = tx->prev = tx->next = -1;
			tree_append(t, d, table);
			tree_unlink(t, r);
			tree_append(t, d, r);
			s->node = d;
		}
	}
	free(subj.slots);
}

/* ----- ORDEREDSUBJECT (RFC 5256 3) ----- */

static int tree_subject_cmp(const void *a, const void *b, void *arg)
{
	const struct imap_thread_msg *msgs = arg;
	const struct imap_thread_msg *x = &msgs[*(const int32_t *)a];
	const struct imap_thread_msg *y = &msgs[*(const int32_t *)b];
	int c = strcmp(x->subject, y->subject);

	if (c != 0)
		return c;
	if (x->date != y->date)
		return x->date < y->date ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* Messages by base subject then date; the first of each subject is the thread, the others
   its children in date order. */
static void tree_ordered_subject(struct tree *t, size_t n)
{
	int32_t *idx = malloc((n + 1) * sizeof(*idx)), root = -1;
	struct tnode **tmp = malloc((n + 2) * sizeof(*tmp));

	if (idx == NULL || tmp == NULL)
		fatal("out of memory");
	for (size_t i = 0; i < n; i++)
		idx[i] = (int32_t)i;
	if (n > 1)
		qsort_r(idx, n, sizeof(*idx), tree_subject_cmp, (void *)t->msgs);
	for (size_t i = 0; i < n; i++) {
		int32_t node = tree_node(t, idx[i]);

		if (root >= 0 &&
		    strcmp(t->msgs[t->n[root].msg].subject, t->msgs[idx[i]].subject) == 0) {
			tree_append(t, root, node);
		} else {
			root = node;
			tree_append(t, ROOT, node);
		}
	}
	tree_sort_children(t, ROOT, tmp);
	free(tmp);
	free(idx);
}

/* ----- output (RFC 5256 5: thread-list) ----- */

enum tree_action { TA_RENDER, TA_OPEN_RENDER, TA_CLOSE };

struct tree_step {
	enum tree_action what;
	int32_t node;
};

static void tree_write(const struct tree *t, struct mime_buf *out)
{
	struct tree_step *stack = malloc((2 * t->count + 2) * sizeof(*stack));
	size_t sp = 0;

	if (stack == NULL)
		fatal("out of memory");
	for (int32_t r = t->n[ROOT].last; r >= 0; r = t->n[r].prev) {
		stack[sp++] = (struct tree_step){TA_CLOSE, -1};
		stack[sp++] = (struct tree_step){TA_OPEN_RENDER, r};
	}
	while (sp > 0) {
		struct tree_step st = stack[--sp];
		const struct tnode *x;

		if (st.what == TA_CLOSE) {
			mime_buf_append_c(out, ')');
			continue;
		}
		if (st.what == TA_OPEN_RENDER)
			mime_buf_append_c(out, '(');
		x = &t->n[st.node];
		if (x->msg >= 0)
			mime_buf_printf(out, "%u", t->msgs[x->msg].num);
		if (x->first < 0)
			continue;
		if (x->msg >= 0)
			mime_buf_append_c(out, ' ');
		if (x->first == x->last) {
			stack[sp++] = (struct tree_step){TA_RENDER, x->first};
			continue;
		}
		/* two or more: each child a nested thread-list */
		for (int32_t c = x->last; c >= 0; c = t->n[c].prev) {
			stack[sp++] = (struct tree_step){TA_CLOSE, -1};
			stack[sp++] = (struct tree_step){TA_OPEN_RENDER, c};
		}
	}
	free(stack);
}

void imap_thread_write(enum imap_thread_alg alg, const struct imap_thread_msg *msgs, size_t n,
                       struct mime_buf *out)
{
	struct tree t = {.msgs = msgs};

	(void)tree_node(&t, -1); /* ROOT */
	if (alg == IMAP_THREAD_ORDEREDSUBJECT) {
		tree_ordered_subject(&t, n);
	} else {
		for (size_t i = 0; i < n; i++)
			tree_link_message(&t, (int32_t)i);
		/* step 2: the parentless are the threads */
		for (size_t k = 1; k < t.count; k++) {
			if (t.n[k].parent < 0)
				tree_append(&t, ROOT, (int32_t)k);
		}
		tree_prune(&t);
		tree_sort(&t);
		tree_gather_subjects(&t);
		tree_sort(&t);
	}
	tree_write(&t, out);
	free(t.n);
	free(t.slots);
}
