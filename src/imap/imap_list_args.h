#ifndef MAILD_IMAP_LIST_ARGS_H
#define MAILD_IMAP_LIST_ARGS_H

#include <stdbool.h>
#include <stddef.h>

#include "imap_parser.h"

/*
 * The arguments of LIST and LSUB (RFC 9051 6.3.9, LIST-EXTENDED RFC 5258 3, SPECIAL-USE
 * RFC 6154 3, LIST-STATUS RFC 5819), checked and turned into a folder_list query. Pure: no
 * session, no disk; a unit test and a fuzz target feed it parsed commands.
 *
 *   LIST [SP "(" [sel-opt *(SP sel-opt)] ")"] SP reference SP (pattern / "(" pattern
 *        *(SP pattern) ")") [SP "RETURN" SP "(" [ret-opt *(SP ret-opt)] ")"]
 *   LSUB SP reference SP pattern
 *
 * sel-opt: SUBSCRIBED REMOTE RECURSIVEMATCH SPECIAL-USE; ret-opt: SUBSCRIBED CHILDREN
 * SPECIAL-USE STATUS (items). Unknown options are a BAD (RFC 5258 3: "MUST reject"), and so is
 * RECURSIVEMATCH without another selection option (RFC 5258 3.1).
 *
 * Names: reference and patterns are modified UTF-7 on the wire, or UTF-8 once UTF8=ACCEPT or
 * IMAP4rev2 is enabled (utf8); they come out as UTF-8, the form the folder library matches.
 * A pattern (or reference) that is not valid modified UTF-7 can match no folder name, so it
 * is dropped rather than refused (RFC 9051 6.3.9: LIST answers what matches, possibly
 * nothing). An empty pattern asks for the hierarchy separator (empty_pattern).
 */

/* Patterns in one LIST: each costs a pass of the matcher over every folder name. */
#define IMAP_LIST_PATTERNS_MAX 64

struct imap_list_args {
	char *reference;       /* UTF-8, malloc'ed; "" for none */
	char **patterns;       /* UTF-8, malloc'ed, non-empty, each usable with reference */
	size_t pattern_count;  /* 0: nothing can match (only empty or undecodable patterns) */
	bool empty_pattern;    /* a "" pattern: answer (\Noselect) "/" "" */
	unsigned select;       /* FOLDER_SEL_* */
	unsigned ret;          /* FOLDER_RET_* asked by the client */
	unsigned status_items; /* RETURN (STATUS (...)): IMAP_STATUS_*; 0 when not asked */
	bool extended;         /* RFC 5258 extended LIST: options or a pattern list were given */
};

/* Parse args (the command's first argument and its siblings). 0 with *out filled (free it
   with imap_list_args_free), or -1 with *error_r a static text for the BAD reply and *out
   empty. */
int imap_list_args_parse(const struct imap_arg *args, bool lsub, bool utf8,
                         struct imap_list_args *out, const char **error_r);
void imap_list_args_free(struct imap_list_args *a);

#endif
