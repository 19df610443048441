#ifndef MAILD_IMAP_SEQSET_H
#define MAILD_IMAP_SEQSET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../store/mime_buf.h"

/*
 * RFC 9051 sequence-set (message sequence numbers or UIDs):
 *   sequence-set = (seq-number / seq-range) ["," sequence-set] / "$"
 *   seq-range    = seq-number ":" seq-number     ; "4:2" is "2:4", "*:1" is "1:*"
 *   seq-number   = nz-number / "*"               ; 1..4294967295, no leading zero
 * "$" (RFC 5182 SEARCHRES) stands alone; "1,$" is refused. 0, numbers past 4294967295,
 * leading zeros, empty elements and anything else are errors (RELIABILITY row 66); nothing
 * wraps around.
 */

/* RELIABILITY row 61: a set of more elements than this is refused before allocation. */
#define IMAP_SEQSET_RANGES_MAX 100000u

struct imap_seq_range {
	uint32_t lo, hi; /* lo <= hi */
};

struct imap_seqset {
	/* The numeric elements, sorted, merged (no two overlap or touch), count of them. */
	struct imap_seq_range *ranges;
	size_t count;
	/* "$": the client means the saved search result; ranges is empty. */
	bool dollar;
	/* Elements with "*" not yet resolved: together they are the range between
	   min(star_lo, max) and max(star_hi, max), max being the current largest number.
	   "*" alone leaves star_lo 2^32 and star_hi 0. */
	bool star;
	uint64_t star_lo, star_hi;
};

/* Parse len bytes. ranges_max caps the number of comma-separated elements (use
   IMAP_SEQSET_RANGES_MAX). Returns 0 with *set_r (free with imap_seqset_free), or -1 with
   *error_r a static text for the BAD reply ("invalid sequence set", ...). Sorting and merging
   take O(n log n). */
int imap_seqset_parse(const char *str, size_t len, size_t ranges_max, struct imap_seqset **set_r,
                      const char **error_r);
void imap_seqset_free(struct imap_seqset **setp);

/* Replace "*" by max, the largest sequence number or UID in use (RFC 9051 9: "n:*" covers
   n..max or max..n). With max 0 (empty mailbox) "*" names no message, so the elements with it
   add nothing. No effect on a set without "*". */
void imap_seqset_resolve(struct imap_seqset *set, uint32_t max);
/* Whether n is in the numeric ranges (resolve first); O(log n). */
bool imap_seqset_contains(const struct imap_seqset *set, uint32_t n);
/* How many numbers the numeric ranges hold. */
uint64_t imap_seqset_size(const struct imap_seqset *set);

/* The set of n ascending, distinct numbers v (UIDs of a search result): consecutive ones
   share a range, and the ranges are allocated once, at their exact count, so a 100,000-message
   result costs two allocations and 8 bytes a run of consecutive numbers. Free with
   imap_seqset_free. */
struct imap_seqset *imap_seqset_from_sorted(const uint32_t *v, size_t n);
/* Make set (a parsed "$") a copy of from's ranges, which hold no "*"; from NULL is the empty
   set. set is then an ordinary set, dollar cleared. */
void imap_seqset_assign(struct imap_seqset *set, const struct imap_seqset *from);

/* Append numbers (ascending for the compact form) as a sequence set, consecutive runs merged:
   "1:3,7,9:10". Used for UIDs and sequence numbers in SEARCH, COPYUID, MODIFIED, VANISHED. */
void imap_seqset_write(struct mime_buf *b, const uint32_t *v, size_t n);

#endif
