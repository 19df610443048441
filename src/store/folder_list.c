/* The folder tree of a Maildir++ and LIST/LSUB over it. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../core/log.h"
#include "core/array_sort.h"
#include "../core/strutil.h"
#include "folder_list.h"
#include "folder_name.h"

#define NODE_EXISTS 0x1     /* a directory (or the root, for INBOX) */
#define NODE_IN_TREE 0x2    /* exists, or has an existing descendant */
#define NODE_SUBSCRIBED 0x4 /* named in the subscriptions file */

struct folder_node {
	char *name;
	char *dir; /* NULL unless NODE_EXISTS */
	unsigned int flags;
	unsigned int attrs; /* FOLDER_ATTR_* that do not depend on the query */
};

struct folder_list {
	struct folder_node *nodes;
	size_t count, alloc;
};

static const struct {
	const char *name;
	unsigned int attr;
} folder_special[] = {
    {"Archive", FOLDER_ATTR_ARCHIVE}, {"Drafts", FOLDER_ATTR_DRAFTS}, {"Junk", FOLDER_ATTR_JUNK},
    {"Sent", FOLDER_ATTR_SENT},       {"Trash", FOLDER_ATTR_TRASH},
};

static char *folder_strdup(const char *s)
{
	char *copy = strdup(s);

	if (copy == NULL)
		fatal("out of memory");
	return copy;
}

static void folder_list_add(struct folder_list *fl, const char *name, const char *dir,
                            unsigned int flags)
{
	struct folder_node *node;

	if (fl->count == fl->alloc) {
		fl->alloc = fl->alloc == 0 ? 32 : fl->alloc * 2;
		fl->nodes = reallocarray(fl->nodes, fl->alloc, sizeof(*fl->nodes));
		if (fl->nodes == NULL)
			fatal("out of memory");
	}
	node = &fl->nodes[fl->count++];
	node->name = folder_strdup(name);
	node->dir = dir == NULL ? NULL : folder_strdup(dir);
	node->flags = flags;
	node->attrs = 0;
}

/* ----- reading the disk ----- */

int folder_subs_load(const char *root, char **text_r, size_t *len_r, bool *v2_r,
                     const char **error_r)
{
	char path[PATH_MAX], *buf;
	size_t len = 0;
	ssize_t n;
	int fd;

	*v2_r = false;
	if (str_printf(path, sizeof(path), "%s/" FOLDER_SUBS_FILE, root) < 0) {
		*error_r = "Maildir path too long";
		return -1;
	}
	buf = malloc(FOLDER_SUBS_MAX + 1);
	if (buf == NULL)
		fatal("out of memory");
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0 && errno != ENOENT) {
		*error_r = strerror(errno);
		free(buf);
		return -1;
	}
	while (fd >= 0 && (n = read(fd, buf + len, FOLDER_SUBS_MAX + 1 - len)) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 || (len += (size_t)n) > FOLDER_SUBS_MAX) {
			*error_r = n < 0 ? strerror(errno) : "subscriptions file too large";
			(void)close(fd);
			free(buf);
			return -1;
		}
	}
	if (fd >= 0)
		(void)close(fd);
	buf[len] = '\0';
	*v2_r = strncmp(buf, FOLDER_SUBS_V2_HEADER, strlen(FOLDER_SUBS_V2_HEADER)) == 0;
	*text_r = buf;
	*len_r = len;
	return 0;
}

/* Lines that name no folder of ours (other tools' names, garbage) are not listed. */
static int folder_list_read_subs(struct folder_list *fl, const char *root, const char **error_r)
{
	struct folder_name fn;
	char *text, *p, *end, *nl;
	size_t len;
	bool v2;

	if (folder_subs_load(root, &text, &len, &v2, error_r) < 0)
		return -1;
	p = text + (v2 ? strlen(FOLDER_SUBS_V2_HEADER) : 0);
	end = text + len;
	for (; p < end; p = nl + 1) {
		nl = memchr(p, '\n', (size_t)(end - p));
		if (nl == NULL)
			nl = end;
		if (folder_name_from_subs_line(p, (size_t)(nl - p), v2, &fn) == FOLDER_NAME_OK)
			folder_list_add(fl, fn.name, NULL, NODE_SUBSCRIBED);
	}
	free(text);
	return 0;
}

/* Real directories only: a symlink could lead out of the Maildir. */
static bool folder_is_dir(DIR *d, const struct dirent *de)
{
	struct stat st;

	if (de->d_type == DT_DIR)
		return true;
	if (de->d_type != DT_UNKNOWN)
		return false;
	return fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode);
}

static int folder_list_read_dirs(struct folder_list *fl, const char *root, const char **error_r)
{
	struct folder_name fn;
	struct dirent *de;
	DIR *d = opendir(root);

	if (d == NULL) {
		*error_r = strerror(errno);
		return -1;
	}
	while ((errno = 0, de = readdir(d)) != NULL) {
		if (de->d_name[0] != '.' || folder_name_from_dir(de->d_name, &fn) != FOLDER_NAME_OK)
			continue;
		if (folder_is_dir(d, de))
			folder_list_add(fl, fn.name, fn.dir, NODE_EXISTS | NODE_IN_TREE);
	}
	if (errno != 0) {
		*error_r = strerror(errno);
		(void)closedir(d);
		return -1;
	}
	(void)closedir(d);
	return 0;
}

/* ----- building the tree ----- */

/* The parents of every name ("a" and "a/b" for "a/b/c"); in the tree when the child is. */
static void folder_list_add_parents(struct folder_list *fl)
{
	size_t n = fl->count;

	for (size_t i = 0; i < n; i++) {
		char name[FOLDER_NAME_MAX + 1];
		unsigned int flags = fl->nodes[i].flags & NODE_IN_TREE;
		char *sep;

		if (str_copy(name, sizeof(name), fl->nodes[i].name) < 0)
			continue;
		while ((sep = strrchr(name, FOLDER_SEP)) != NULL) {
			*sep = '\0';
			folder_list_add(fl, name, NULL, flags);
		}
	}
}

static bool folder_in_inbox(const char *name)
{
	return folder_name_is_under(name, "INBOX");
}

/* INBOX and its children first; then bytewise with "/" below every other byte, so that a
   parent's descendants follow it without a gap ("a", "a/b", "a-b", not "a", "a-b", "a/b"). */
static int folder_node_cmp(const void *a, const void *b)
{
	const unsigned char *x = (const unsigned char *)((const struct folder_node *)a)->name;
	const unsigned char *y = (const unsigned char *)((const struct folder_node *)b)->name;
	bool ix = folder_in_inbox((const char *)x), iy = folder_in_inbox((const char *)y);

	if (ix != iy)
		return ix ? -1 : 1;
	for (; *x != '\0' && *x == *y; x++, y++)
		;
	if (*x == *y)
		return 0;
	if (*x == '\0' || *y == '\0')
		return *x == '\0' ? -1 : 1;
	if (*x == FOLDER_SEP || *y == FOLDER_SEP)
		return *x == FOLDER_SEP ? -1 : 1;
	return *x < *y ? -1 : 1;
}

/* Sorted, then one node per name with the flags of all its duplicates. */
static void folder_list_merge(struct folder_list *fl)
{
	size_t out = 0;

	array_sort(fl->nodes, fl->count, sizeof(*fl->nodes), folder_node_cmp);
	for (size_t i = 0; i < fl->count; i++) {
		struct folder_node *node = &fl->nodes[i];

		if (out > 0 && strcmp(fl->nodes[out - 1].name, node->name) == 0) {
			struct folder_node *keep = &fl->nodes[out - 1];

			keep->flags |= node->flags;
			if (keep->dir == NULL) {
				keep->dir = node->dir;
				node->dir = NULL;
			}
			free(node->name);
			free(node->dir);
			continue;
		}
		fl->nodes[out++] = *node;
	}
	fl->count = out;
}

static unsigned int folder_special_use(const char *name)
{
	for (size_t i = 0; i < sizeof(folder_special) / sizeof(folder_special[0]); i++) {
		if (strcmp(name, folder_special[i].name) == 0)
			return folder_special[i].attr;
	}
	return 0;
}

static void folder_list_set_attrs(struct folder_list *fl)
{
	for (size_t i = 0; i < fl->count; i++) {
		struct folder_node *node = &fl->nodes[i];
		bool children = false;

		for (size_t j = i + 1; j < fl->count; j++) {
			if (!folder_name_is_under(fl->nodes[j].name, node->name))
				break;
			if ((fl->nodes[j].flags & NODE_IN_TREE) != 0) {
				children = true;
				break;
			}
		}
		if ((node->flags & NODE_EXISTS) == 0) {
			/* RFC 5258: \HasNoChildren tells nothing about a name that does not exist.
			 */
			node->attrs =
			    FOLDER_ATTR_NONEXISTENT | (children ? FOLDER_ATTR_HASCHILDREN : 0);
		} else {
			node->attrs =
			    (children ? FOLDER_ATTR_HASCHILDREN : FOLDER_ATTR_HASNOCHILDREN) |
			    folder_special_use(node->name);
		}
		if ((node->flags & NODE_SUBSCRIBED) != 0)
			node->attrs |= FOLDER_ATTR_SUBSCRIBED;
	}
}

int folder_list_scan(const char *root, struct folder_list **fl_r, const char **error_r)
{
	struct folder_list *fl = calloc(1, sizeof(*fl));

	if (fl == NULL)
		fatal("out of memory");
	folder_list_add(fl, "INBOX", "", NODE_EXISTS | NODE_IN_TREE);
	if (folder_list_read_dirs(fl, root, error_r) < 0 ||
	    folder_list_read_subs(fl, root, error_r) < 0) {
		folder_list_free(&fl);
		return -1;
	}
	folder_list_add_parents(fl);
	folder_list_merge(fl);
	folder_list_set_attrs(fl);
	*fl_r = fl;
	return 0;
}

void folder_list_free(struct folder_list **flp)
{
	struct folder_list *fl = *flp;

	if (fl == NULL)
		return;
	for (size_t i = 0; i < fl->count; i++) {
		free(fl->nodes[i].name);
		free(fl->nodes[i].dir);
	}
	free(fl->nodes);
	free(fl);
	*flp = NULL;
}

/* ----- access ----- */

size_t folder_list_count(const struct folder_list *fl)
{
	return fl->count;
}

void folder_list_get(const struct folder_list *fl, size_t i, struct folder_info *info_r)
{
	info_r->name = fl->nodes[i].name;
	info_r->dir = fl->nodes[i].dir;
	info_r->subscribed = (fl->nodes[i].flags & NODE_SUBSCRIBED) != 0;
}

static const struct folder_node *folder_list_find(const struct folder_list *fl, const char *name)
{
	struct folder_node key = {.name = (char *)name};

	return array_search(&key, fl->nodes, fl->count, sizeof(*fl->nodes), folder_node_cmp);
}

int folder_list_lookup(const struct folder_list *fl, const char *name, unsigned int *attrs_r)
{
	const struct folder_node *node = folder_list_find(fl, name);

	/* A subscription alone is not a name of the tree. */
	if (node == NULL || (node->flags & (NODE_IN_TREE | NODE_EXISTS)) == 0)
		return 0;
	*attrs_r = node->attrs;
	return 1;
}

int folder_attrs_format(unsigned int attrs, bool extended, char *out, size_t size)
{
	static const struct {
		unsigned int attr;
		const char *text;
	} names[] = {
	    {FOLDER_ATTR_NOSELECT, "\\Noselect"},
	    {FOLDER_ATTR_HASCHILDREN, "\\HasChildren"},
	    {FOLDER_ATTR_HASNOCHILDREN, "\\HasNoChildren"},
	    {FOLDER_ATTR_SUBSCRIBED, "\\Subscribed"},
	    {FOLDER_ATTR_ARCHIVE, "\\Archive"},
	    {FOLDER_ATTR_DRAFTS, "\\Drafts"},
	    {FOLDER_ATTR_JUNK, "\\Junk"},
	    {FOLDER_ATTR_SENT, "\\Sent"},
	    {FOLDER_ATTR_TRASH, "\\Trash"},
	};
	size_t len = 0;

	if (size == 0)
		return -1;
	out[0] = '\0';
	if ((attrs & FOLDER_ATTR_NONEXISTENT) != 0) {
		if (extended)
			attrs &= ~(unsigned int)FOLDER_ATTR_NOSELECT;
		else
			attrs |= FOLDER_ATTR_NOSELECT;
		if (extended && str_copy(out, size, "\\NonExistent") < 0)
			return -1;
		len = strlen(out);
	}
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if ((attrs & names[i].attr) == 0)
			continue;
		if (str_printf(out + len, size - len, "%s%s", len > 0 ? " " : "", names[i].text) <
		    0)
			return -1;
		len += strlen(out + len);
	}
	return 0;
}

/* ----- LIST and LSUB ----- */

struct folder_query_run {
	const struct folder_list *fl;
	const struct folder_query *q;
	char **patterns;
	size_t *pattern_lens;
	size_t count;
	uint8_t *cur, *next; /* states of the matcher, one per pattern byte and one past */
};

/* The matcher's states reachable without input: "*" and "%" match the empty string. */
static void folder_match_close(const char *pat, size_t m, uint8_t *states)
{
	for (size_t j = 0; j < m; j++) {
		if (states[j] && (pat[j] == '*' || pat[j] == '%'))
			states[j + 1] = 1;
	}
}

/* RFC 3501 6.3.8: "*" matches anything, "%" anything but the hierarchy separator. A set of
   states rather than backtracking, so "*a*a*a*b" costs len(name) * len(pattern) at worst. */
static bool folder_match(struct folder_query_run *run, const char *pat, size_t m, const char *name)
{
	uint8_t *cur = run->cur, *next = run->next, *swap;
	bool alive;

	memset(cur, 0, m + 1);
	cur[0] = 1;
	folder_match_close(pat, m, cur);
	for (const char *c = name; *c != '\0'; c++) {
		memset(next, 0, m + 1);
		alive = false;
		for (size_t j = 0; j < m; j++) {
			if (!cur[j])
				continue;
			if (pat[j] == '*' || (pat[j] == '%' && *c != FOLDER_SEP))
				next[j] = 1;
			else if (pat[j] == *c)
				next[j + 1] = 1;
			else
				continue;
			alive = true;
		}
		if (!alive)
			return false;
		folder_match_close(pat, m, next);
		swap = cur;
		cur = next;
		next = swap;
	}
	return cur[m] != 0;
}

static bool folder_query_matches(struct folder_query_run *run, const char *name)
{
	for (size_t i = 0; i < run->count; i++) {
		if (folder_match(run, run->patterns[i], run->pattern_lens[i], name))
			return true;
	}
	return false;
}

/* Does the node meet the selection criteria (RFC 5258 3.1: all options at once)? */
static bool folder_query_selects(const struct folder_query *q, const struct folder_node *node)
{
	if (q->lsub)
		return (node->flags & NODE_SUBSCRIBED) != 0;
	if ((q->select & (FOLDER_SEL_SUBSCRIBED | FOLDER_SEL_SPECIAL_USE)) == 0)
		return (node->flags & (NODE_EXISTS | NODE_IN_TREE)) != 0;
	if ((q->select & FOLDER_SEL_SUBSCRIBED) != 0 && (node->flags & NODE_SUBSCRIBED) == 0)
		return false;
	if ((q->select & FOLDER_SEL_SPECIAL_USE) != 0 &&
	    (node->attrs & FOLDER_ATTR_SPECIAL_USE) == 0)
		return false;
	return true;
}

/* RFC 5258 3.5 (CHILDINFO) and RFC 3501 6.3.9 (LSUB "%"): a descendant meets the criteria
   but does not match the pattern itself. */
static bool folder_query_childinfo(struct folder_query_run *run, size_t i)
{
	const struct folder_list *fl = run->fl;

	for (size_t j = i + 1; j < fl->count; j++) {
		if (!folder_name_is_under(fl->nodes[j].name, fl->nodes[i].name))
			break;
		if (folder_query_selects(run->q, &fl->nodes[j]) &&
		    !folder_query_matches(run, fl->nodes[j].name))
			return true;
	}
	return false;
}

static unsigned int folder_query_attrs(const struct folder_query *q, const struct folder_node *node)
{
	unsigned int keep = FOLDER_ATTR_NONEXISTENT;

	if (q->lsub) {
		return (node->flags & NODE_SUBSCRIBED) == 0 || (node->flags & NODE_EXISTS) == 0
		           ? FOLDER_ATTR_NOSELECT
		           : 0;
	}
	if ((q->ret & FOLDER_RET_CHILDREN) != 0)
		keep |= FOLDER_ATTR_HASCHILDREN | FOLDER_ATTR_HASNOCHILDREN;
	if ((q->ret & FOLDER_RET_SUBSCRIBED) != 0 || (q->select & FOLDER_SEL_SUBSCRIBED) != 0)
		keep |= FOLDER_ATTR_SUBSCRIBED;
	if ((q->ret & FOLDER_RET_SPECIAL_USE) != 0 || (q->select & FOLDER_SEL_SPECIAL_USE) != 0)
		keep |= FOLDER_ATTR_SPECIAL_USE;
	return node->attrs & keep;
}

static int folder_query_node(struct folder_query_run *run, size_t i, folder_list_cb *cb, void *ctx)
{
	const struct folder_query *q = run->q;
	const struct folder_node *node = &run->fl->nodes[i];
	bool recursive = q->lsub || (q->select & FOLDER_SEL_RECURSIVEMATCH) != 0;
	unsigned int attrs;

	if (!folder_query_matches(run, node->name))
		return 0;
	if (folder_query_selects(q, node)) {
		attrs = folder_query_attrs(q, node);
		if (!q->lsub && recursive && folder_query_childinfo(run, i))
			attrs |= FOLDER_ATTR_CHILDINFO;
	} else if (recursive && folder_query_childinfo(run, i)) {
		attrs = folder_query_attrs(q, node);
		if (q->lsub)
			attrs = FOLDER_ATTR_NOSELECT;
		else
			attrs |= FOLDER_ATTR_CHILDINFO;
	} else {
		return 0;
	}
	cb(node->name, attrs, ctx);
	return 1;
}

/* reference + pattern (RFC 3501 6.3.8), a first level "inbox" made "INBOX". */
static char *folder_pattern_make(const char *ref, const char *pat, size_t *len_r)
{
	size_t rlen = pat[0] == FOLDER_SEP ? 0 : strlen(ref), plen = strlen(pat);
	char *out = malloc(rlen + plen + 1);

	if (out == NULL)
		fatal("out of memory");
	memcpy(out, ref, rlen);
	memcpy(out + rlen, pat, plen + 1);
	if (strncasecmp(out, "INBOX", 5) == 0 && (out[5] == '\0' || out[5] == FOLDER_SEP))
		memcpy(out, "INBOX", 5);
	*len_r = rlen + plen;
	return out;
}

static int folder_query_prepare(struct folder_query_run *run, const struct folder_query *q,
                                const char **error_r)
{
	const char *ref = q->reference == NULL ? "" : q->reference;
	size_t max = 0;

	if (q->pattern_count == 0) {
		*error_r = "no mailbox pattern";
		return -1;
	}
	if (!q->lsub && (q->select & FOLDER_SEL_RECURSIVEMATCH) != 0 &&
	    (q->select & (FOLDER_SEL_SUBSCRIBED | FOLDER_SEL_SPECIAL_USE)) == 0) {
		/* RFC 5258 3.1 */
		*error_r = "RECURSIVEMATCH needs another selection option";
		return -1;
	}
	run->patterns = calloc(q->pattern_count, sizeof(*run->patterns));
	run->pattern_lens = calloc(q->pattern_count, sizeof(*run->pattern_lens));
	if (run->patterns == NULL || run->pattern_lens == NULL)
		fatal("out of memory");
	for (size_t i = 0; i < q->pattern_count; i++) {
		/* An empty pattern asks for the separator, which the session answers. */
		if (q->patterns[i][0] == '\0')
			continue;
		run->patterns[run->count] =
		    folder_pattern_make(ref, q->patterns[i], &run->pattern_lens[run->count]);
		if (run->pattern_lens[run->count] > 2 * FOLDER_NAME_MAX) {
			free(run->patterns[run->count]);
			*error_r = "mailbox pattern too long";
			return -1;
		}
		if (run->pattern_lens[run->count] > max)
			max = run->pattern_lens[run->count];
		run->count++;
	}
	run->cur = malloc(max + 1);
	run->next = malloc(max + 1);
	if (run->cur == NULL || run->next == NULL)
		fatal("out of memory");
	return 0;
}

static void folder_query_done(struct folder_query_run *run)
{
	for (size_t i = 0; i < run->count; i++)
		free(run->patterns[i]);
	free(run->patterns);
	free(run->pattern_lens);
	free(run->cur);
	free(run->next);
}

int folder_list_query(const struct folder_list *fl, const struct folder_query *q,
                      folder_list_cb *cb, void *ctx, const char **error_r)
{
	struct folder_query_run run = {.fl = fl, .q = q};
	int found = 0;

	if (folder_query_prepare(&run, q, error_r) < 0) {
		folder_query_done(&run);
		return -1;
	}
	for (size_t i = 0; i < fl->count && run.count > 0; i++)
		found += folder_query_node(&run, i, cb, ctx);
	folder_query_done(&run);
	return found;
}
