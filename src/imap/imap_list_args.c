/* LIST and LSUB arguments (imap_list_args.h). */
#include <stdlib.h>
#include <string.h>

#include "../core/log.h"
#include "../store/folder_list.h"
#include "../store/folder_name.h"
#include "imap_list_args.h"
#include "imap_mutf7.h"
#include "imap_status.h"

/* The longest reference + pattern the folder library matches (folder_list_query). */
#define IMAP_LIST_PATTERN_MAX (2 * FOLDER_NAME_MAX)

static const struct {
	const char *name;
	unsigned bit;
} imap_list_select_opts[] =
    {
        {"SUBSCRIBED", FOLDER_SEL_SUBSCRIBED},
        {"REMOTE", FOLDER_SEL_REMOTE},
        {"RECURSIVEMATCH", FOLDER_SEL_RECURSIVEMATCH},
        {"SPECIAL-USE", FOLDER_SEL_SPECIAL_USE},
},
  imap_list_return_opts[] = {
      {"SUBSCRIBED", FOLDER_RET_SUBSCRIBED},
      {"CHILDREN", FOLDER_RET_CHILDREN},
      {"SPECIAL-USE", FOLDER_RET_SPECIAL_USE},
};

static char *imap_list_strdup(const char *p, size_t len)
{
	char *copy = malloc(len + 1);

	if (copy == NULL)
		fatal("out of memory");
	memcpy(copy, p, len);
	copy[len] = '\0';
	return copy;
}

/* A reference or pattern as UTF-8: 1 with *out_r (malloc'ed), 0 when it cannot name any
   folder (invalid modified UTF-7), -1 when it is not an astring. */
static int imap_list_name(const struct imap_arg *a, bool utf8, char **out_r, size_t *len_r)
{
	const char *str, *error;
	size_t len, out_len;
	char *out;

	if (!imap_arg_get_astring(a, &str, &len) || memchr(str, '\0', len) != NULL)
		return -1;
	if (utf8) {
		*out_r = imap_list_strdup(str, len);
		*len_r = len;
		return 1;
	}
	out = malloc(IMAP_MUTF7_DECODED_MAX(len));
	if (out == NULL)
		fatal("out of memory");
	if (imap_mutf7_to_utf8(str, len, out, IMAP_MUTF7_DECODED_MAX(len), &out_len, &error) < 0) {
		free(out);
		return 0;
	}
	*out_r = out;
	*len_r = out_len;
	return 1;
}

static int imap_list_select(const struct imap_arg *list, struct imap_list_args *out,
                            const char **error_r)
{
	for (const struct imap_arg *a = list->list; a != NULL; a = a->next) {
		size_t i, n = sizeof(imap_list_select_opts) / sizeof(imap_list_select_opts[0]);

		for (i = 0; i < n && !imap_arg_atom_is(a, imap_list_select_opts[i].name); i++)
			;
		if (i == n) {
			*error_r = "Unknown LIST selection option.";
			return -1;
		}
		out->select |= imap_list_select_opts[i].bit;
	}
	/* RFC 5258 3.1: RECURSIVEMATCH alone would change nothing; it is an error. */
	if ((out->select & FOLDER_SEL_RECURSIVEMATCH) != 0 &&
	    (out->select & (FOLDER_SEL_SUBSCRIBED | FOLDER_SEL_SPECIAL_USE)) == 0) {
		*error_r = "RECURSIVEMATCH needs another selection option.";
		return -1;
	}
	return 0;
}

static int imap_list_return(const struct imap_arg *list, struct imap_list_args *out,
                            const char **error_r)
{
	for (const struct imap_arg *a = list->list; a != NULL; a = a->next) {
		size_t i, n = sizeof(imap_list_return_opts) / sizeof(imap_list_return_opts[0]);

		if (imap_arg_atom_is(a, "STATUS")) {
			/* RFC 5819: STATUS (items), the same items as the STATUS command */
			unsigned items;

			if (imap_status_parse(a->next, &items, error_r) < 0)
				return -1;
			out->status_items |= items;
			a = a->next;
			continue;
		}
		for (i = 0; i < n && !imap_arg_atom_is(a, imap_list_return_opts[i].name); i++)
			;
		if (i == n) {
			*error_r = "Unknown LIST return option.";
			return -1;
		}
		out->ret |= imap_list_return_opts[i].bit;
	}
	return 0;
}

static int imap_list_add_pattern(const struct imap_arg *a, bool utf8, struct imap_list_args *out,
                                 size_t ref_len, const char **error_r)
{
	size_t len;
	char *pat;
	int r = imap_list_name(a, utf8, &pat, &len);

	if (r < 0) {
		*error_r = "Invalid mailbox pattern.";
		return -1;
	}
	if (r == 0)
		return 0; /* matches no folder name */
	if (len == 0) {
		out->empty_pattern = true;
		free(pat);
		return 0;
	}
	/* The reference is prefixed unless the pattern starts at the root (RFC 3501 6.3.8). */
	if ((pat[0] == FOLDER_SEP ? 0 : ref_len) + len > IMAP_LIST_PATTERN_MAX) {
		free(pat);
		*error_r = "Mailbox pattern too long.";
		return -1;
	}
	out->patterns[out->pattern_count++] = pat;
	return 0;
}

static int imap_list_patterns(const struct imap_arg *a, bool utf8, bool ref_ok,
                              struct imap_list_args *out, const char **error_r)
{
	const struct imap_arg *first = a;
	unsigned count = 1;
	size_t ref_len = strlen(out->reference);

	if (a->type == IMAP_ARG_LIST) {
		/* RFC 5258 3: several patterns, at least one */
		if (a->count == 0) {
			*error_r = "Empty mailbox pattern list.";
			return -1;
		}
		first = a->list;
		count = a->count;
		out->extended = true;
	}
	if (count > IMAP_LIST_PATTERNS_MAX) {
		*error_r = "Too many mailbox patterns.";
		return -1;
	}
	out->patterns = calloc(count, sizeof(*out->patterns));
	if (out->patterns == NULL)
		fatal("out of memory");
	for (unsigned i = 0; i < count; i++, first = first->next) {
		if (first->type == IMAP_ARG_LIST) {
			*error_r = "Invalid mailbox pattern.";
			return -1;
		}
		if (imap_list_add_pattern(first, utf8, out, ref_len, error_r) < 0)
			return -1;
	}
	if (!ref_ok) {
		/* an undecodable reference: nothing can match, but the syntax was fine */
		for (size_t i = 0; i < out->pattern_count; i++)
			free(out->patterns[i]);
		out->pattern_count = 0;
	}
	return 0;
}

static int imap_list_parse(const struct imap_arg *a, bool lsub, bool utf8,
                           struct imap_list_args *out, const char **error_r)
{
	size_t len;
	int r;

	if (!lsub && a != NULL && a->type == IMAP_ARG_LIST) {
		out->extended = true;
		if (imap_list_select(a, out, error_r) < 0)
			return -1;
		a = a->next;
	}
	if (a == NULL || a->next == NULL) {
		*error_r = "LIST needs a reference and a mailbox pattern.";
		return -1;
	}
	r = imap_list_name(a, utf8, &out->reference, &len);
	if (r < 0) {
		*error_r = "Invalid reference name.";
		return -1;
	}
	if (r == 0)
		out->reference = imap_list_strdup("", 0);
	if (lsub && a->next->type == IMAP_ARG_LIST) {
		*error_r = "Invalid mailbox pattern.";
		return -1;
	}
	if (imap_list_patterns(a->next, utf8, r > 0, out, error_r) < 0)
		return -1;
	a = a->next->next;
	if (a != NULL && !lsub && imap_arg_atom_is(a, "RETURN") && a->next != NULL &&
	    a->next->type == IMAP_ARG_LIST) {
		out->extended = true;
		if (imap_list_return(a->next, out, error_r) < 0)
			return -1;
		a = a->next->next;
	}
	if (a != NULL) {
		*error_r = "Unexpected LIST arguments.";
		return -1;
	}
	return 0;
}

int imap_list_args_parse(const struct imap_arg *args, bool lsub, bool utf8,
                         struct imap_list_args *out, const char **error_r)
{
	*out = (struct imap_list_args){0};
	if (imap_list_parse(args, lsub, utf8, out, error_r) < 0) {
		imap_list_args_free(out);
		return -1;
	}
	return 0;
}

void imap_list_args_free(struct imap_list_args *a)
{
	for (size_t i = 0; i < a->pattern_count; i++)
		free(a->patterns[i]);
	free(a->patterns);
	free(a->reference);
	*a = (struct imap_list_args){0};
}
