#ifndef MAILD_MBOX_KEYWORDS_H
#define MAILD_MBOX_KEYWORDS_H

#include <stdbool.h>

#include "mbox_flags.h"

/* The keyword names of one folder: Dovecot's dovecot-keywords, "<index> <keyword>" per line,
   index 0 being the file-name letter 'a' and 25 the letter 'z'. **decided:** maild reads and
   writes this same file (under the folder lock), so a Dovecot or a mutt reading the folder
   sees the same letters, and keywords survive a lost index. Names compare ASCII
   case-insensitively, as IMAP clients expect of flags. */

#define MBOX_KEYWORDS_FILE "dovecot-keywords"
#define MBOX_KEYWORD_NAME_MAX 128

struct mbox_keywords {
	/* names[i] for letter 'a' + i; NULL for an unused index. */
	char *names[MBOX_KEYWORDS_MAX];
};

/* Read dir_fd's MBOX_KEYWORDS_FILE into kw (emptied first). Malformed lines and invalid
   names are skipped. 1 read, 0 no file, -1 with *error_r. */
int mbox_keywords_read(int dir_fd, struct mbox_keywords *kw, const char **error_r);

/* Write it afresh, atomically and durably. 0 or -1 with *error_r. */
int mbox_keywords_write(int dir_fd, const struct mbox_keywords *kw, const char **error_r);

void mbox_keywords_clear(struct mbox_keywords *kw);

/* The index of name, or -1. */
int mbox_keywords_find(const struct mbox_keywords *kw, const char *name);

/* A free index, or -1 when all 26 are used. */
int mbox_keywords_free_slot(const struct mbox_keywords *kw);

/* Whether name can be a keyword: 1..MBOX_KEYWORD_NAME_MAX bytes of printable ASCII other
   than space and IMAP's atom-specials, not starting with '\'. */
bool mbox_keywords_valid_name(const char *name);

#endif
