#ifndef MAILD_MAILDIR_QUOTA_H
#define MAILD_MAILDIR_QUOTA_H

#include <stdint.h>

/* Maildir++ quota (Courier's README.maildirquota, as Dovecot, maildrop and Exim use it).

   <maildir>/maildirsize holds the limit on its first line ("<bytes>S,<count>C"; we always
   write both, 0 meaning unlimited) and then one "<bytes> <count>" line per change, either
   number possibly negative. Usage is the sum of those lines. The file is a cache: it is
   rebuilt by scanning the Maildir whenever it is missing, unreadable or malformed, when its
   limit line differs from the configured limit (accounts.db is authoritative), and when it is
   stale. Stale, as the spec has it: 5120 bytes or larger (too many deltas), or showing the
   mailbox over quota while unchanged for 15 minutes (a deletion made by a program that does
   not write maildirsize must not keep a mailbox blocked forever).

   The scan counts cur/ and new/ of INBOX and of every .Folder except .Trash (deleting mail
   into Trash frees quota; a subfolder .Trash.X does count), taking each size from S= in the
   name when present and from stat otherwise. It is approximate by design, like every
   Maildir++ implementation: a delivery racing a recalculation can be counted twice or not at
   all until the next one; a directory that changes during the scan makes it start over (at
   most 3 times). */

#define MAILDIR_QUOTA_WARN_PERCENT 90
#define MAILDIR_QUOTA_STALE_SIZE 5120
#define MAILDIR_QUOTA_STALE_SECS (15 * 60)

/* 0 in either field: no limit of that kind. */
struct maildir_quota_limit {
	uint64_t bytes;
	uint64_t count;
};

struct maildir_quota_usage {
	uint64_t bytes;
	uint64_t count;
};

enum maildir_quota_policy {
	/* Exim quota_is_inclusive = false, our default: a message is accepted while usage is
	   below the limit, whatever its size; the mailbox may end over the limit, and the next
	   message is refused. The limit is enforced once it has been reached. */
	MAILDIR_QUOTA_NONINCLUSIVE,
	/* Exim quota_is_inclusive = true (Dovecot without quota_grace): accepted only when
	   usage + size stays within the limit. */
	MAILDIR_QUOTA_INCLUSIVE,
};

/* Current usage of the Maildir at maildir under limit: read from maildirsize, or recalculated
   and maildirsize rewritten (see above). 1 when read, 0 when recalculated, -1 with *error_r
   (static or strerror text) when neither worked. */
int maildir_quota_get(const char *maildir, const struct maildir_quota_limit *limit,
		      struct maildir_quota_usage *usage_r, const char **error_r);

/* Scan the Maildir and write maildirsize afresh (tmp/ file, fsync, rename). 0 or -1. */
int maildir_quota_recalc(const char *maildir, const struct maildir_quota_limit *limit,
			 struct maildir_quota_usage *usage_r, const char **error_r);

/* Record a change after a delivery (size, 1) or an expunge (-size, -1): one line appended
   with O_APPEND in a single write, not fsynced (a lost line is repaired by the next
   recalculation). Into the account's root Maildir even for a delivery into a .Folder; not at
   all for .Trash. 1 appended, 0 when there is no maildirsize (the next maildir_quota_get
   rebuilds it, counting the message), -1 with *error_r. */
int maildir_quota_add(const char *maildir, int64_t bytes, int64_t count, const char **error_r);

/* May a message of size bytes be added to a mailbox at usage under limit? 1 yes, 0 over
   quota (452 4.2.2 at RCPT or after DATA). With MAILDIR_QUOTA_NONINCLUSIVE and a 1000-byte
   limit: usage 999 accepts a message of any size (1 byte filling it exactly, or 5000 bytes
   taking it past); usage 1000 (at the limit) and 1001 refuse even an empty one. With
   MAILDIR_QUOTA_INCLUSIVE: usage 999 accepts 1 byte (exactly full) and refuses 2 (one past).
   The message count is checked the same way with a size of one message. */
int maildir_quota_check(const struct maildir_quota_usage *usage,
			const struct maildir_quota_limit *limit, uint64_t size,
			enum maildir_quota_policy policy);

/* Did a change from old_usage to new_usage first reach percent (1..100, 0 meaning
   MAILDIR_QUOTA_WARN_PERCENT) of limit? 1 when old is below the threshold and new at or above
   it, so a series of deliveries warns once; usage falling below and rising again warns again.
   The threshold is ceil(limit * percent / 100). 0 otherwise and whenever limit is 0. */
int maildir_quota_crossed(uint64_t old_usage, uint64_t new_usage, uint64_t limit,
			  unsigned int percent);

#endif
