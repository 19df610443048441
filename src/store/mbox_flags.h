#ifndef MAILD_MBOX_FLAGS_H
#define MAILD_MBOX_FLAGS_H

#include <stddef.h>
#include <stdint.h>

/* Maildir info flags (the letters after ":2,") and the IMAP flags they stand for.
   System flags are upper-case letters (cr.yp.to/proto/maildir.html); Dovecot's keywords are
   the lower-case letters a-z, letter a being index 0 of the folder's dovecot-keywords file. */

enum mbox_flag {
	MBOX_FLAG_ANSWERED = 1 << 0, /* R \Answered */
	MBOX_FLAG_FLAGGED = 1 << 1,  /* F \Flagged */
	MBOX_FLAG_DELETED = 1 << 2,  /* T \Deleted ("trashed") */
	MBOX_FLAG_SEEN = 1 << 3,     /* S \Seen */
	MBOX_FLAG_DRAFT = 1 << 4,    /* D \Draft */
	MBOX_FLAG_PASSED = 1 << 5,   /* P "passed" (resent/forwarded); no IMAP system flag */
};
#define MBOX_FLAGS_ALL 0x3f

/* Keywords a folder can hold in file names: one per letter a-z. */
#define MBOX_KEYWORDS_MAX 26
#define MBOX_KEYWORDS_ALL ((1u << MBOX_KEYWORDS_MAX) - 1)

/* The flags and keywords of the letters after ":2,". Letters we do not manage (other
   upper-case letters, digits) are ignored here and kept by mbox_flags_letters(). Pure. */
void mbox_flags_parse(const char *letters, uint8_t *flags_r, uint32_t *keywords_r);

/* The letters for flags and keywords in ASCII order, plus the unmanaged letters of old (the
   current letters, may be NULL), so a flag another program set survives our rename.
   0, or -1 when out is too small (53 bytes always suffice). */
int mbox_flags_letters(uint8_t flags, uint32_t keywords, const char *old, char *out, size_t size);

/* A file name for cur/: the first base_len bytes of base, ":2," and the letters as
   mbox_flags_letters() makes them. 0, or -1 when it does not fit. */
int mbox_flags_name(const char *base, size_t base_len, uint8_t flags, uint32_t keywords,
                    const char *old_letters, char *out, size_t size);

#endif
