/* The search-program parser (imap_search.h): argument tree in, key tree out; pure. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../core/log.h"
#include "imap_search.h"

enum imap_sk_arg {
	SK_ARG_NONE,
	SK_ARG_STRING,  /* astring, folded */
	SK_ARG_TEXT,    /* astring, kept for the full-text index */
	SK_ARG_DATE,    /* date */
	SK_ARG_NUMBER,  /* number64 */
	SK_ARG_HEADER,  /* field-name astring */
	SK_ARG_KEYWORD, /* flag-keyword */
	SK_ARG_SEQSET,  /* sequence-set (UID) */
	SK_ARG_NOT,     /* search-key */
	SK_ARG_OR,      /* search-key search-key */
	SK_ARG_MODSEQ,  /* [entry-name entry-type-req] mod-sequence-valzer */
};

struct imap_sk_def {
	const char *name;
	enum imap_search_op op;
	enum imap_sk_arg arg;
	uint8_t flag;
	bool neg;
	unsigned cost; /* see imap_search_key.cost: 0 in memory .. 3 reads the file */
};

/* Sorted by name for bsearch. */
static const struct imap_sk_def imap_sk_defs[] = {
    {"ALL", IMAP_SK_ALL, SK_ARG_NONE, 0, false, 0},
    {"ANSWERED", IMAP_SK_FLAG, SK_ARG_NONE, MBOX_FLAG_ANSWERED, false, 0},
    {"BCC", IMAP_SK_BCC, SK_ARG_STRING, 0, false, 3},
    {"BEFORE", IMAP_SK_BEFORE, SK_ARG_DATE, 0, false, 1},
    {"BODY", IMAP_SK_BODY, SK_ARG_TEXT, 0, false, 0},
    {"CC", IMAP_SK_CC, SK_ARG_STRING, 0, false, 2},
    {"DELETED", IMAP_SK_FLAG, SK_ARG_NONE, MBOX_FLAG_DELETED, false, 0},
    {"DRAFT", IMAP_SK_FLAG, SK_ARG_NONE, MBOX_FLAG_DRAFT, false, 0},
    {"FLAGGED", IMAP_SK_FLAG, SK_ARG_NONE, MBOX_FLAG_FLAGGED, false, 0},
    {"FROM", IMAP_SK_FROM, SK_ARG_STRING, 0, false, 2},
    {"HEADER", IMAP_SK_HEADER, SK_ARG_HEADER, 0, false, 3},
    {"KEYWORD", IMAP_SK_KEYWORD, SK_ARG_KEYWORD, 0, false, 0},
    {"LARGER", IMAP_SK_LARGER, SK_ARG_NUMBER, 0, false, 1},
    {"MODSEQ", IMAP_SK_MODSEQ, SK_ARG_MODSEQ, 0, false, 0},
    {"NEW", IMAP_SK_NEW, SK_ARG_NONE, 0, false, 0},
    {"NOT", IMAP_SK_NOT, SK_ARG_NOT, 0, false, 0},
    {"OLD", IMAP_SK_RECENT, SK_ARG_NONE, 0, true, 0},
    {"ON", IMAP_SK_ON, SK_ARG_DATE, 0, false, 1},
    {"OR", IMAP_SK_OR, SK_ARG_OR, 0, false, 0},
    {"RECENT", IMAP_SK_RECENT, SK_ARG_NONE, 0, false, 0},
    {"SEEN", IMAP_SK_FLAG, SK_ARG_NONE, MBOX_FLAG_SEEN, false, 0},
    {"SENTBEFORE", IMAP_SK_SENTBEFORE, SK_ARG_DATE, 0, false, 2},
    {"SENTON", IMAP_SK_SENTON, SK_ARG_DATE, 0, false, 2},
    {"SENTSINCE", IMAP_SK_SENTSINCE, SK_ARG_DATE, 0, false, 2},
    {"SINCE", IMAP_SK_SINCE, SK_ARG_DATE, 0, false, 1},
    {"SMALLER", IMAP_SK_SMALLER, SK_ARG_NUMBER, 0, false, 1},
    {"SUBJECT", IMAP_SK_SUBJECT, SK_ARG_STRING, 0, false, 2},
    {"TEXT", IMAP_SK_TEXT, SK_ARG_TEXT, 0, false, 0},
    {"TO", IMAP_SK_TO, SK_ARG_STRING, 0, false, 2},
    {"UID", IMAP_SK_UIDSET, SK_ARG_SEQSET, 0, false, 0},
    {"UNANSWERED", IMAP_SK_FLAG, SK_ARG_NONE, MBOX_FLAG_ANSWERED, true, 0},
    {"UNDELETED", IMAP_SK_FLAG, SK_ARG_NONE, MBOX_FLAG_DELETED, true, 0},
    {"UNDRAFT", IMAP_SK_FLAG, SK_ARG_NONE, MBOX_FLAG_DRAFT, true, 0},
    {"UNFLAGGED", IMAP_SK_FLAG, SK_ARG_NONE, MBOX_FLAG_FLAGGED, true, 0},
    {"UNKEYWORD", IMAP_SK_KEYWORD, SK_ARG_KEYWORD, 0, true, 0},
    {"UNSEEN", IMAP_SK_FLAG, SK_ARG_NONE, MBOX_FLAG_SEEN, true, 0},
};
#define IMAP_SK_DEF_COUNT (sizeof(imap_sk_defs) / sizeof(imap_sk_defs[0]))

struct imap_sk_parser {
	struct imap_search_prog *prog;
	const char *error;
};

static int imap_sk_def_cmp(const void *key, const void *elem)
{
	return strcasecmp(key, ((const struct imap_sk_def *)elem)->name);
}

static struct imap_search_key *imap_sk_new(struct imap_sk_parser *p, enum imap_search_op op)
{
	struct imap_search_key *k = mime_arena_alloc(&p->prog->arena, sizeof(*k));

	k->op = op;
	p->prog->nkeys++;
	return k;
}

/* Remember the first error; NULL, the "no next argument" of the callers. */
static const struct imap_arg *imap_sk_fail(struct imap_sk_parser *p, const char *error)
{
	if (p->error == NULL)
		p->error = error;
	return NULL;
}

/* An astring without NUL (a literal8 is not a string here). */
static bool imap_sk_string(const struct imap_arg *a, const char **s_r, size_t *len_r)
{
	if (a == NULL || (a->type == IMAP_ARG_LITERAL && a->literal8) ||
	    !imap_arg_get_astring(a, s_r, len_r))
		return false;
	return memchr(*s_r, '\0', *len_r) == NULL;
}

static const char *imap_sk_folded(struct imap_sk_parser *p, const char *s, size_t len,
                                  size_t *len_r)
{
	struct mime_buf b = MIME_BUF_INIT;
	const char *folded;

	imap_search_fold(s, len, &b);
	folded = mime_arena_strndup(&p->prog->arena, mime_buf_str(&b), b.len);
	*len_r = b.len;
	mime_buf_free(&b);
	return folded;
}

static void imap_sk_set_folded(struct imap_sk_parser *p, struct imap_search_key *k, const char *s,
                               size_t len)
{
	k->str = imap_sk_folded(p, s, len, &k->str_len);
}

static bool imap_sk_number(const struct imap_arg *a, uint64_t *n_r)
{
	uint64_t n = 0;

	if (a == NULL || a->type != IMAP_ARG_ATOM || a->len == 0 || a->len > 19)
		return false;
	for (size_t i = 0; i < a->len; i++) {
		if (a->str[i] < '0' || a->str[i] > '9')
			return false;
		n = n * 10 + (uint64_t)(a->str[i] - '0');
	}
	/* RFC 9051 number64: up to 2^63 - 1 */
	if (n > INT64_MAX)
		return false;
	*n_r = n;
	return true;
}

static bool imap_sk_keyword_ok(const char *s, size_t len)
{
	if (len == 0 || s[0] == '\\')
		return false;
	for (size_t i = 0; i < len; i++) {
		if (s[i] == ']' || s[i] == '%' || s[i] == '*')
			return false;
	}
	return true;
}

static bool imap_sk_seqset(struct imap_sk_parser *p, const struct imap_arg *a,
                           struct imap_search_key *k)
{
	const char *error;

	if (a == NULL || a->type != IMAP_ARG_ATOM) {
		imap_sk_fail(p, "Missing or invalid sequence set.");
		return false;
	}
	if (imap_seqset_parse(a->str, a->len, IMAP_SEQSET_RANGES_MAX, &k->set, &error) < 0) {
		imap_sk_fail(p, error);
		return false;
	}
	return true;
}

static const struct imap_arg *imap_sk_key(struct imap_sk_parser *p, const struct imap_arg *a,
                                          unsigned depth, struct imap_search_key **key_r);

/* RFC 7162 3.1.5: MODSEQ ["/flags/<flag>" priv|shared|all] <mod-sequence-valzer>. The entry
   only narrows which metadata changed; with per-message modseqs it changes nothing. */
static const struct imap_arg *imap_sk_modseq(struct imap_sk_parser *p, const struct imap_arg *a,
                                             struct imap_search_key *k)
{
	if (a != NULL && (a->type == IMAP_ARG_QUOTED || a->type == IMAP_ARG_LITERAL)) {
		const struct imap_arg *type = a->next;

		if (type == NULL ||
		    !(imap_arg_atom_is(type, "priv") || imap_arg_atom_is(type, "shared") ||
		      imap_arg_atom_is(type, "all")))
			return imap_sk_fail(p, "Invalid MODSEQ entry type.");
		a = type->next;
	}
	if (!imap_sk_number(a, &k->num))
		return imap_sk_fail(p, "Invalid MODSEQ value.");
	p->prog->has_modseq = true;
	return a->next;
}

/* The argument(s) of k as def describes them; returns the argument after them. */
static const struct imap_arg *imap_sk_args(struct imap_sk_parser *p, const struct imap_sk_def *def,
                                           const struct imap_arg *a, unsigned depth,
                                           struct imap_search_key *k)
{
	const char *s;
	size_t len;

	switch (def->arg) {
	case SK_ARG_NONE:
		return a;
	case SK_ARG_STRING:
	case SK_ARG_TEXT:
		if (!imap_sk_string(a, &s, &len))
			return imap_sk_fail(p, "Missing or invalid search string.");
		if (def->arg == SK_ARG_STRING) {
			imap_sk_set_folded(p, k, s, len);
		} else {
			if (++p->prog->ntext > IMAP_SEARCH_TEXT_KEYS_MAX)
				return imap_sk_fail(p, "Too many BODY and TEXT keys.");
			k->str = mime_arena_strndup(&p->prog->arena, s, len);
			k->str_len = len;
			k->text_fold = imap_sk_folded(p, s, len, &k->text_fold_len);
		}
		return a->next;
	case SK_ARG_DATE:
		if (a == NULL || (a->type != IMAP_ARG_ATOM && a->type != IMAP_ARG_QUOTED) ||
		    imap_search_date_parse(a->str, a->len, &k->day) < 0)
			return imap_sk_fail(p, "Invalid search date.");
		return a->next;
	case SK_ARG_NUMBER:
		if (!imap_sk_number(a, &k->num))
			return imap_sk_fail(p, "Invalid search size.");
		return a->next;
	case SK_ARG_HEADER:
		if (!imap_sk_string(a, &s, &len) || len == 0 || memchr(s, ':', len) != NULL)
			return imap_sk_fail(p, "Missing or invalid header field name.");
		k->field = mime_arena_strndup(&p->prog->arena, s, len);
		if (!imap_sk_string(a->next, &s, &len))
			return imap_sk_fail(p, "Missing or invalid search string.");
		imap_sk_set_folded(p, k, s, len);
		return a->next->next;
	case SK_ARG_KEYWORD:
		if (a == NULL || a->type != IMAP_ARG_ATOM || !imap_sk_keyword_ok(a->str, a->len))
			return imap_sk_fail(p, "Missing or invalid keyword.");
		k->str = mime_arena_strndup(&p->prog->arena, a->str, a->len);
		k->str_len = a->len;
		return a->next;
	case SK_ARG_SEQSET:
		return imap_sk_seqset(p, a, k) ? a->next : NULL;
	case SK_ARG_NOT:
	case SK_ARG_OR:
		for (unsigned i = 0; i < (def->arg == SK_ARG_OR ? 2u : 1u); i++) {
			struct imap_search_key *child;

			if (a == NULL)
				return imap_sk_fail(p, "Missing search key.");
			a = imap_sk_key(p, a, depth + 1, &child);
			if (child != NULL) {
				/* linked even on error: its sequence sets are freed with the tree
				 */
				child->next = k->children;
				k->children = child; /* reversed: fixed below */
			}
			if (p->error != NULL)
				return NULL;
		}
		if (def->arg == SK_ARG_OR) {
			struct imap_search_key *second = k->children;

			k->children = second->next;
			k->children->next = second;
			second->next = NULL;
		}
		return a;
	case SK_ARG_MODSEQ:
		return imap_sk_modseq(p, a, k);
	}
	return imap_sk_fail(p, "Invalid search key.");
}

static unsigned imap_sk_cost(const struct imap_search_key *k)
{
	unsigned cost = 0;

	for (const struct imap_search_key *c = k->children; c != NULL; c = c->next)
		cost = c->cost > cost ? c->cost : cost;
	return cost;
}

/* A list's keys, AND'ed, cheapest first (stable), so costly ones run on fewer messages. */
static void imap_sk_sort_children(struct imap_search_key *k)
{
	struct imap_search_key *sorted = NULL, **tail;

	while (k->children != NULL) {
		struct imap_search_key *c = k->children;

		k->children = c->next;
		for (tail = &sorted; *tail != NULL && (*tail)->cost <= c->cost;
		     tail = &(*tail)->next)
			;
		c->next = *tail;
		*tail = c;
	}
	k->children = sorted;
}

/* Keys from a up to the end of its list, AND'ed into k. */
static void imap_sk_list(struct imap_sk_parser *p, const struct imap_arg *a, unsigned depth,
                         struct imap_search_key *k)
{
	struct imap_search_key **tail = &k->children;

	if (a == NULL) {
		imap_sk_fail(p, "Missing search key.");
		return;
	}
	while (a != NULL && p->error == NULL) {
		a = imap_sk_key(p, a, depth, tail);
		if (p->error == NULL)
			tail = &(*tail)->next;
	}
	k->cost = imap_sk_cost(k);
	imap_sk_sort_children(k);
}

static const struct imap_arg *imap_sk_key(struct imap_sk_parser *p, const struct imap_arg *a,
                                          unsigned depth, struct imap_search_key **key_r)
{
	const struct imap_sk_def *def;
	struct imap_search_key *k;

	*key_r = NULL;
	if (depth > IMAP_SEARCH_DEPTH_MAX)
		return imap_sk_fail(p, "Search program nested too deeply.");
	if (p->prog->nkeys >= IMAP_SEARCH_KEYS_MAX)
		return imap_sk_fail(p, "Too many search keys.");
	if (a->type == IMAP_ARG_LIST) {
		k = *key_r = imap_sk_new(p, IMAP_SK_AND);
		imap_sk_list(p, a->list, depth + 1, k);
		return a->next;
	}
	if (a->type != IMAP_ARG_ATOM)
		return imap_sk_fail(p, "Invalid search key.");
	if ((a->str[0] >= '0' && a->str[0] <= '9') || a->str[0] == '*' || a->str[0] == '$') {
		k = *key_r = imap_sk_new(p, IMAP_SK_SEQSET);
		if (!imap_sk_seqset(p, a, k))
			return NULL;
		/* "$" holds UIDs: no sequence number to check */
		p->prog->has_seqnums |= !k->set->dollar;
		return a->next;
	}
	def = bsearch(a->str, imap_sk_defs, IMAP_SK_DEF_COUNT, sizeof(imap_sk_defs[0]),
	              imap_sk_def_cmp);
	if (def == NULL)
		return imap_sk_fail(p, "Unknown search key.");
	k = *key_r = imap_sk_new(p, def->op);
	k->flag = def->flag;
	k->neg = def->neg;
	k->cost = def->cost;
	a = imap_sk_args(p, def, a->next, depth, k);
	if (def->arg == SK_ARG_NOT || def->arg == SK_ARG_OR)
		k->cost = imap_sk_cost(k);
	return a;
}

static void imap_sk_free_sets(struct imap_search_key *k)
{
	for (; k != NULL; k = k->next) {
		imap_seqset_free(&k->set);
		free(k->uids);
		k->uids = NULL;
		imap_sk_free_sets(k->children);
	}
}

void imap_search_prog_free(struct imap_search_prog **progp)
{
	struct imap_search_prog *prog = *progp;

	if (prog == NULL)
		return;
	imap_sk_free_sets(prog->root);
	mime_arena_free(&prog->arena);
	free(prog);
	*progp = NULL;
}

bool imap_search_charset_ok(const char *name)
{
	return strcasecmp(name, "UTF-8") == 0 || strcasecmp(name, "US-ASCII") == 0;
}

static struct imap_search_prog *imap_search_prog_new(void)
{
	struct imap_search_prog *prog = calloc(1, sizeof(*prog));

	if (prog == NULL)
		fatal("out of memory");
	return prog;
}

static int imap_search_finish(struct imap_search_prog *prog, struct imap_sk_parser *p,
                              const struct imap_arg *keys, struct imap_search_prog **prog_r,
                              const char **error_r)
{
	p->prog = prog;
	prog->root = imap_sk_new(p, IMAP_SK_AND);
	imap_sk_list(p, keys, 0, prog->root);
	if (p->error != NULL) {
		*error_r = p->error;
		imap_search_prog_free(&prog);
		return IMAP_SEARCH_BAD;
	}
	*prog_r = prog;
	return IMAP_SEARCH_OK;
}

int imap_search_parse_keys(const struct imap_arg *args, struct imap_search_prog **prog_r,
                           const char **error_r)
{
	struct imap_sk_parser p = {0};

	*prog_r = NULL;
	return imap_search_finish(imap_search_prog_new(), &p, args, prog_r, error_r);
}

/* RETURN (MIN MAX ALL COUNT SAVE): RFC 4731 3.1, RFC 5182 2; an empty list means ALL (RFC
   9051 6.4.4), SAVE alone asks for no ESEARCH response at all. */
static int imap_search_return(struct imap_search_prog *prog, const struct imap_arg *a,
                              const char **error_r)
{
	const struct imap_arg *opt;
	unsigned count;
	static const struct {
		const char *name;
		unsigned bit;
	} opts[] = {{"MIN", IMAP_SEARCH_RETURN_MIN},
	            {"MAX", IMAP_SEARCH_RETURN_MAX},
	            {"ALL", IMAP_SEARCH_RETURN_ALL},
	            {"COUNT", IMAP_SEARCH_RETURN_COUNT}};

	if (!imap_arg_get_list(a, &opt, &count)) {
		*error_r = "RETURN needs a list of options.";
		return -1;
	}
	prog->esearch = true;
	for (; opt != NULL; opt = opt->next) {
		size_t i;

		if (imap_arg_atom_is(opt, "SAVE")) {
			prog->save = true;
			continue;
		}
		for (i = 0; i < sizeof(opts) / sizeof(opts[0]); i++) {
			if (imap_arg_atom_is(opt, opts[i].name)) {
				prog->ret |= opts[i].bit;
				break;
			}
		}
		if (i == sizeof(opts) / sizeof(opts[0])) {
			*error_r = "Unknown RETURN option.";
			return -1;
		}
	}
	if (prog->ret == 0 && !prog->save)
		prog->ret = IMAP_SEARCH_RETURN_ALL;
	return 0;
}

bool imap_search_args_save(const struct imap_arg *args)
{
	const struct imap_arg *opt;
	unsigned count;

	if (!imap_arg_atom_is(args, "RETURN") || !imap_arg_get_list(args->next, &opt, &count))
		return false;
	for (; opt != NULL; opt = opt->next) {
		if (imap_arg_atom_is(opt, "SAVE"))
			return true;
	}
	return false;
}

int imap_search_parse(const struct imap_arg *args, struct imap_search_prog **prog_r,
                      const char **error_r)
{
	struct imap_search_prog *prog = imap_search_prog_new();
	struct imap_sk_parser p = {0};
	const char *charset;
	size_t len;

	*prog_r = NULL;
	if (imap_arg_atom_is(args, "RETURN")) {
		if (imap_search_return(prog, args->next, error_r) < 0) {
			imap_search_prog_free(&prog);
			return IMAP_SEARCH_BAD;
		}
		args = args->next->next;
	}
	if (imap_arg_atom_is(args, "CHARSET")) {
		if (!imap_sk_string(args->next, &charset, &len)) {
			*error_r = "Missing or invalid charset.";
			imap_search_prog_free(&prog);
			return IMAP_SEARCH_BAD;
		}
		if (!imap_search_charset_ok(charset)) {
			*error_r = "[BADCHARSET (UTF-8 US-ASCII)] Unsupported charset.";
			imap_search_prog_free(&prog);
			return IMAP_SEARCH_BADCHARSET;
		}
		args = args->next->next;
	}
	return imap_search_finish(prog, &p, args, prog_r, error_r);
}
