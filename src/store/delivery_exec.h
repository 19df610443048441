#ifndef MAILD_DELIVERY_EXEC_H
#define MAILD_DELIVERY_EXEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "maildir_deliver.h"

/* Local delivery of one received message to its local recipients: the part of the delivery
   role that touches files. No IPC and no event loop: it blocks (fsync), so the role runs it on
   the thread pool; it is thread-safe as long as two calls do not share a request or results.

   For every recipient, in order:
   1. checks: the sender and the address carry no CR, LF (NUL cannot occur in a C string), the
      Maildir path is absolute, the folder name is valid (see below);
   2. recipients with the same Maildir root and folder are delivered once; the later ones are
      marked duplicate and share the first one's result (their Delivered-To: is not written);
   3. quota (Maildir++ maildirsize of the account root, non-inclusive): a mailbox already at or
      over its limit refuses with 4.2.2 "mailbox full" and nothing is written; a message that
      merely takes it past the limit is accepted. Delivery into Trash is never refused (Trash
      does not count, maildir_quota.h). **decided:** when the usage cannot be read (maildirsize
      and the scan both fail) the message is delivered anyway and `warning` says why: quota is
      a policy limit, refusing mail because its bookkeeping failed would turn a cache problem
      into lost or delayed mail, and the next recalculation repairs the count;
   4. one maildir_deliver() call for every remaining recipient, with the prepend
      "Return-Path: <sender>\r\nDelivered-To: address\r\n" (RFC 5321 4.4, Postfix's
      Delivered-To). With MAILDIR_STRATEGY_LINK a hard link is only possible between
      identical prepends, so the per-recipient Delivered-To: makes every distinct address a
      copy anyway; the link still saves a copy for one address filed into two folders;
   5. a target whose Maildir is missing (ENOENT) gets maildir_create() on the account root and
      one more try. **decided:** a folder that is still missing after that (a filter rule naming
      a folder the user deleted) is delivered into INBOX instead, as Dovecot's LDA does without
      lda_mailbox_autocreate: mail is never bounced for a folder, and deleted folders do not
      come back by themselves;
   6. maildir_quota_add() on the account root for each delivered message not filed into Trash;
      when the usage first reaches warn_percent of the limit, one warning message ("Your
      mailbox is 90% full") is delivered into that account's INBOX and counted too.
      Concurrent deliveries into one mailbox can race here like every Maildir++ writer: the
      warning may then come twice, or not until the next crossing.

   Status codes (RFC 3463): 2.0.0 ok; 4.2.2 mailbox full; 4.3.1 ENOSPC/EDQUOT; 4.3.0 other write
   errors and our own invariants (bad Maildir path, unreadable spool); 5.1.3 bad recipient
   address; 5.1.7 bad sender address; 5.2.0 the Maildir is not usable (not a directory, ...);
   5.3.0 invalid folder name; 5.3.4 message larger than max_size or than the file system
   allows. */

/* Recipients in one request. */
#define DELIVERY_RCPT_MAX 1000
/* Buffer sizes, NUL included. An address is at most 320 bytes (RFC 5321 4.5.3.1: 64 + @ +
   255); a little more is accepted for robustness. */
#define DELIVERY_ADDRESS_MAX 512
#define DELIVERY_FOLDER_MAX 256
#define DELIVERY_DSN_MAX 16
#define DELIVERY_TEXT_MAX 160

enum delivery_status {
	DELIVERY_OK = 0,
	DELIVERY_TEMPFAIL = 1,
	DELIVERY_PERMFAIL = 2,
};

struct delivery_rcpt {
	/* The final mailbox, local@domain: written as Delivered-To:. */
	const char *address;
	/* Absolute path of the account's Maildir++ root. */
	const char *maildir;
	/* 0: unlimited. */
	uint64_t quota_bytes;
	/* NULL, "" or "INBOX" (any case): INBOX. Otherwise a Maildir++ folder name without the
	   leading dot, '.' separating levels ("Junk", "Lists.maild"), stored as the directory
	   .<folder>: no '/', no leading or trailing '.', no empty level ("a..b"), no control
	   characters, valid UTF-8 (the name is used on disk as given: a producer that follows
	   IMAP's modified UTF-7 must pass the encoded name). */
	const char *folder;
};

struct delivery_request {
	/* MAIL FROM, "" for the null sender <>. */
	const char *sender;
	const struct delivery_rcpt *rcpts;
	size_t count; /* 1 .. DELIVERY_RCPT_MAX */
	/* MAILDIR_STRATEGY_LINK is the role's choice (see step 4 above). */
	enum maildir_strategy strategy;
	/* For the From:, Message-ID: and file names of the quota warning. */
	const char *hostname;
	/* Quota warning threshold in percent; 0: MAILDIR_QUOTA_WARN_PERCENT (90). */
	unsigned int warn_percent;
	/* A spool file larger than this fails every recipient with 5.3.4; 0: no limit. */
	uint64_t max_size;
};

struct delivery_result {
	enum delivery_status status;
	char dsn[DELIVERY_DSN_MAX];   /* "2.0.0", "4.2.2", ... */
	char text[DELIVERY_TEXT_MAX]; /* "delivered to maildir INBOX", "mailbox full", ... */
	/* Bytes stored (prepend and message) when ok, else 0. */
	uint64_t size;
	/* The folder the message went to when ok ("" for INBOX): differs from the request's
	   when a missing folder fell back to INBOX. */
	char folder[DELIVERY_FOLDER_MAX];
	/* Same Maildir and folder as an earlier recipient: shares that one's delivery. */
	bool duplicate;
	/* This delivery crossed the warning threshold and the warning message was stored. */
	bool quota_warned;
	/* "" or something worth a log warning that did not fail the recipient (quota unknown,
	   warning message not stored). */
	char warning[DELIVERY_TEXT_MAX];
};

/* Deliver the message in spool_fd (a regular file, read with pread from offset 0 to EOF, CRLF
   line endings as received) to req->count recipients; results_r[i] answers req->rcpts[i].
   1 when every recipient is ok, 0 when at least one is not, -1 with errno EINVAL for bad
   arguments (results_r untouched). spool_fd stays open. */
int delivery_exec(int spool_fd, const struct delivery_request *req,
		  struct delivery_result *results_r);

enum delivery_quota_verdict {
	DELIVERY_QUOTA_ACCEPT = 0,
	DELIVERY_QUOTA_OVER = 1,
	DELIVERY_QUOTA_TEMPFAIL = 2,
};

/* RCPT-time check: may a message of size bytes (0 if not known yet) go into the account whose
   Maildir++ root is maildir, under quota_bytes (0: unlimited)? Non-inclusive, as delivery is.
   *usage_r is the current usage; it is 0 when quota_bytes is 0 (not computed: nothing to
   check) and when the Maildir does not exist yet (an empty mailbox). DELIVERY_QUOTA_TEMPFAIL
   with *error_r (static or strerror text) when the usage cannot be read; a caller at RCPT may
   accept then, as delivery itself does. */
enum delivery_quota_verdict delivery_quota_check(const char *maildir, uint64_t quota_bytes,
						 uint64_t size, uint64_t *usage_r,
						 const char **error_r);

#endif
