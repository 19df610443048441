#ifndef MAILD_IMAP_FTS_INDEXER_H
#define MAILD_IMAP_FTS_INDEXER_H

/* Start indexing the full text of folder (its directory name, "" for INBOX) of the Maildir
   at root in a background thread, unless one already runs in this process. */
void imap_fts_indexer_start(const char *root, const char *folder);
/* Stop the background thread between two batches and wait for it; none starts after. */
void imap_fts_indexer_stop(void);

#endif
