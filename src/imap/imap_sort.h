#ifndef MAILD_IMAP_SORT_H
#define MAILD_IMAP_SORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../store/mbox.h"
#include "../store/mime_buf.h"
#include "imap_parser.h"
#include "imap_search.h"

/*
 * SORT (RFC 5256, with DISPLAYFROM/DISPLAYTO of RFC 5957) and the base subject both SORT and
 * THREAD use. Strings compare as their folded UTF-8 bytes (imap_search_fold, close to
 * i;unicode-casemap); equal keys fall back to the next criterion and finally to sequence
 * order (RFC 5256 3). The sent date is the Date field normalised to UTC, the INTERNALDATE
 * when there is none that parses (RFC 5256 2.2).
 */

/* Criteria in one SORT (each key at most once is plenty; REVERSE not counted). */
#define IMAP_SORT_CRIT_MAX 16u

enum imap_sort_key {
	IMAP_SORT_ARRIVAL,
	IMAP_SORT_CC,
	IMAP_SORT_DATE,
	IMAP_SORT_FROM,
	IMAP_SORT_SIZE,
	IMAP_SORT_SUBJECT,
	IMAP_SORT_TO,
	IMAP_SORT_DISPLAYFROM,
	IMAP_SORT_DISPLAYTO,
};

struct imap_sort_crit {
	enum imap_sort_key key;
	bool reverse;
};

/* The base subject of an undecoded Subject value (RFC 5256 2.1), folded, appended to out.
   Returns true when a reply or forward marker was removed ("Re:", "Fwd:", "(fwd)",
   "[fwd: ...]"), which THREAD=REFERENCES needs. Pure. */
bool imap_base_subject(const char *raw, size_t len, struct mime_buf *out);

/* The parenthesised sort criteria. 0 with crit[0..*n_r), or -1 with *error_r. Pure. */
int imap_sort_parse(const struct imap_arg *list, struct imap_sort_crit *crit, size_t *n_r,
                    const char **error_r);

/* Pool thread: reorder res (seqs and uids together) by crit. */
void imap_sort_run(struct mbox *mb, struct imap_search_result *res,
                   const struct imap_sort_crit *crit, size_t n);

/* The sent date of the current message of d (RFC 5256 2.2), UTC seconds. */
struct imap_msgdata;
int64_t imap_sort_sent_date(struct imap_msgdata *d);

#endif
