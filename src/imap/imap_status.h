#ifndef MAILD_IMAP_STATUS_H
#define MAILD_IMAP_STATUS_H

#include <stdbool.h>
#include <stdint.h>

#include "../store/mbox.h"
#include "../store/mime_buf.h"
#include "imap_parser.h"

struct imap_session;

/*
 * STATUS data of a folder (RFC 9051 6.3.11, RFC 3501 6.3.10), shared by STATUS
 * (imap_cmd_status.c) and LIST's RETURN (STATUS (...)) (RFC 5819, imap_cmd_list.c).
 *
 * Items: MESSAGES UIDNEXT UIDVALIDITY UNSEEN RECENT (RFC 3501; RECENT is gone from IMAP4rev2
 * but IMAP4rev1 clients still ask), SIZE and DELETED (RFC 9051, RFC 8438), HIGHESTMODSEQ
 * (RFC 7162). Another folder is read with its own mbox handle on a pool thread
 * (imap_status_read); the selected folder is answered from the session's handle
 * (imap_status_from_mbox), so it agrees with what the client was told and its \Recent stays
 * with the session.
 */

#define IMAP_STATUS_MESSAGES (1u << 0)
#define IMAP_STATUS_RECENT (1u << 1)
#define IMAP_STATUS_UIDNEXT (1u << 2)
#define IMAP_STATUS_UIDVALIDITY (1u << 3)
#define IMAP_STATUS_UNSEEN (1u << 4)
#define IMAP_STATUS_DELETED (1u << 5)
#define IMAP_STATUS_SIZE (1u << 6)
#define IMAP_STATUS_HIGHESTMODSEQ (1u << 7)

struct imap_status_values {
	uint32_t messages, recent, uidnext, uidvalidity, unseen, deleted;
	uint64_t size, highestmodseq;
};

/* The parenthesised list of a STATUS command or of LIST's RETURN (STATUS (...)): every
   element an item above (any case); at least one (RFC 9051 status-att-list). 0 with
   *items_r, or -1 with *error_r (static text for a BAD). Pure. */
int imap_status_parse(const struct imap_arg *list, unsigned *items_r, const char **error_r);

/* Values of an open handle, from its memory only (loop thread is fine). */
void imap_status_from_mbox(const struct mbox *mb, struct imap_status_values *v_r);

/* Open the folder dir ("" INBOX, ".Work") of the Maildir++ at root, read its values, close
   it. Pool thread. 1 read, 0 the folder does not exist (no cur/), -1 with *error_r
   (malloc'ed) when it could not be opened. */
int imap_status_read(const char *root, const char *dir, struct imap_status_values *v_r,
                     char **error_r);

/* "* STATUS <name> (MESSAGES 2 ...)\r\n" appended to out, the name encoded for the session
   (imap_mailbox_name_write), the items in a fixed order. */
void imap_status_format(const struct imap_session *s, const char *utf8_name, unsigned items,
                        const struct imap_status_values *v, struct mime_buf *out);

#endif
