#ifndef MAILD_IMAP_FTS_INDEXER_H
#define MAILD_IMAP_FTS_INDEXER_H

#include <stdint.h>

/* What identifies the set of messages a SELECT saw: UIDs only grow, so while UIDNEXT and the
   count are the same, so are the messages. */
struct imap_fts_folder_state {
	uint32_t uidvalidity, uidnext, exists;
};

/* Start indexing the full text of folder (its directory name, "" for INBOX) of the Maildir
   at root in a background thread, unless one already runs in this process or this process
   found the folder fully indexed in the same state. */
void imap_fts_indexer_start(const char *root, const char *folder,
                            const struct imap_fts_folder_state *state);
/* Stop the background thread between two batches and wait for it; none starts after. */
void imap_fts_indexer_stop(void);

#endif
