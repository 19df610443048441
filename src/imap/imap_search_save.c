/* What SEARCH RETURN (SAVE ...) keeps as the search result variable "$" (imap_search.h). */
#include "imap_search.h"

struct imap_seqset *imap_search_saved(unsigned ret, const struct imap_search_result *res)
{
	uint32_t ends[2];
	size_t n = 0;

	/* RFC 5182 2.4: ALL or COUNT (or SAVE alone) keep every match; MIN and MAX alone keep
	   only what they return. Sequence numbers and UIDs rise together, so the lowest
	   sequence number's UID is the lowest UID too. */
	if (ret == 0 || (ret & (IMAP_SEARCH_RETURN_ALL | IMAP_SEARCH_RETURN_COUNT)) != 0)
		return imap_seqset_from_sorted(res->uids, res->count);
	if (res->count > 0 && (ret & IMAP_SEARCH_RETURN_MIN) != 0)
		ends[n++] = res->uids[0];
	if (res->count > 0 && (ret & IMAP_SEARCH_RETURN_MAX) != 0 &&
	    (n == 0 || res->uids[res->count - 1] != ends[0]))
		ends[n++] = res->uids[res->count - 1];
	return imap_seqset_from_sorted(ends, n);
}
