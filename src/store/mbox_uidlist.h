#ifndef MAILD_MBOX_UIDLIST_H
#define MAILD_MBOX_UIDLIST_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* The uid list of one Maildir folder: which UID each message file has, the folder's
   UIDVALIDITY and next UID. It is the truth for UIDs (the SQLite index is a cache rebuilt
   from it), so it is written durably.

   Format: Dovecot's dovecot-uidlist version 3, so known tools read it:

     3 V<uidvalidity> N<nextuid> G<guid>
     <uid> [<ext> ...] :<file name>

   The header's fields are a letter and a value each, separated by spaces; unknown fields
   are ignored. A record's optional extensions (Dovecot writes W<vsize>, S<size>, G<guid>,
   ...) are space-separated tokens before the ':' that starts the file name. A file name may
   carry the ":2,<flags>" it had when listed; only its base (up to the first ':') identifies
   the message. Version 1 ("1 <uidvalidity> <nextuid>" and "<uid> <file name>") is read too.

   maild's own list is <folder>/maild-uidlist. It is written whole (tmp file, fsync, rename,
   fsync of the directory) and otherwise only grows: new records are appended in one write
   and fdatasync'ed. After appends the header's N may lag: the next UID is the larger of N
   and the last record's UID + 1, as Dovecot reads it too. A crash can leave a torn last
   line; the reader ignores a line without its '\n' and reports where the good part ends, so
   the next writer cuts it off before appending. */

#define MBOX_UIDLIST_FILE "maild-uidlist"
#define MBOX_UIDLIST_LOCK_FILE "maild-uidlist.lock"
#define MBOX_UIDLIST_DOVECOT_FILE "dovecot-uidlist"
/* A uid list larger than this is refused as not ours to read. */
#define MBOX_UIDLIST_MAX_SIZE (1024 * 1024 * 1024)

struct mbox_uidlist_entry {
	uint32_t uid;
	/* The base of the file name (NUL-terminated, owned by the list). */
	char *base;
};

struct mbox_uidlist {
	unsigned version;
	uint32_t uidvalidity;
	/* max(header N, last UID + 1) */
	uint32_t nextuid;
	/* 32 hex digits, "" when the header has none. */
	char guid[33];
	/* Ascending by UID. */
	struct mbox_uidlist_entry *entries;
	size_t count;
	/* Lines read or written (header excluded): records, dropped or not. */
	size_t lines;
	/* Identity of the file and the end of its last complete line. */
	uint64_t ino;
	uint64_t size;
};

/* Read the uid list named file (MBOX_UIDLIST_FILE or MBOX_UIDLIST_DOVECOT_FILE) in dir_fd.
   Records that are malformed, not ascending or with an invalid file name are skipped
   (counted in lines); a malformed header is an error. 1 read, 0 no such file, -1 with
   *error_r (static or strerror text). */
int mbox_uidlist_read(int dir_fd, const char *file, struct mbox_uidlist *ul_r,
                      const char **error_r);

/* Free the entries; the struct is left empty and may be reused. */
void mbox_uidlist_clear(struct mbox_uidlist *ul);

/* Write MBOX_UIDLIST_FILE in dir_fd afresh: header from ul (a guid is made when ul has none)
   and ul's entries. Atomic and durable. ul's ino, size and lines describe the new file.
   0 or -1 with *error_r. */
int mbox_uidlist_write(int dir_fd, struct mbox_uidlist *ul, const char **error_r);

/* Append count records to MBOX_UIDLIST_FILE in dir_fd, whose good part ends at ul->size
   (anything after it, a torn line, is cut off first). Durable on return. ul's size and
   lines are updated; its entries are not touched. 0 or -1 with *error_r. */
int mbox_uidlist_append(int dir_fd, struct mbox_uidlist *ul,
                        const struct mbox_uidlist_entry *entries, size_t count,
                        const char **error_r);

/* Index of uid in ul's entries, or -1. */
ssize_t mbox_uidlist_find(const struct mbox_uidlist *ul, uint32_t uid);

#endif
