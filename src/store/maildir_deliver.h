#ifndef MAILD_MAILDIR_DELIVER_H
#define MAILD_MAILDIR_DELIVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "maildir_name.h"

/* Durable delivery of one message into one or more Maildirs.

   For every recipient: create tmp/<base> (O_CREAT|O_EXCL, 0600), write the recipient's
   prepended header bytes and then the spool file (read with pread from offset 0; the fd's
   position is neither used nor moved), fsync the file, rename it to new/<base>,S=..,W=..
   without ever replacing an existing file, fsync new/. Only then is the recipient "ok".
   Concurrent calls (threads) delivering into the same new/ share its fsync through
   dir_sync_process() (dir_sync.h): each still waits for one that started after its rename.

   Failure never leaves a half-written file in new/ and never leaves our file in tmp/: every
   error path unlinks what it created. An fsync error (EIO, ENOSPC) is final for that file: it
   is discarded and the recipient fails temporarily; fsync is never retried to turn a lost
   write into a success (RELIABILITY F23, the 2018 "fsyncgate" lesson). If fsync of new/
   fails after the rename (for a shared fsync: every delivery it covered), the file is removed
   from new/ again and the recipient fails temporarily: a retry may then duplicate the message, which is better than acknowledging
   one that a crash could lose.

   Messages are stored byte for byte as received (CRLF line endings, see maildir_name.h). */

enum maildir_deliver_status {
	MAILDIR_DELIVER_OK,
	/* Try again later (452/451 4.x.x): ENOSPC, EDQUOT, EIO, EACCES, EROFS, EMFILE, ... and
	   any errno we do not know to be permanent. */
	MAILDIR_DELIVER_TEMPFAIL,
	/* Retrying cannot help (550/552 5.x.x): the Maildir or its new/ or tmp/ is missing or not
	   a directory (ENOENT, ENOTDIR, ELOOP, ENAMETOOLONG), or the message is larger than the
	   file system allows (EFBIG). A missing Maildir root usually means it was never created:
	   run maildir_create() and deliver again before bouncing. */
	MAILDIR_DELIVER_PERMFAIL,
};

enum maildir_strategy {
	/* Every recipient gets its own copy, written from the spool. */
	MAILDIR_STRATEGY_COPY,
	/* A recipient whose prepended bytes equal those of an earlier delivered recipient gets a
	   hard link of that recipient's new/ file, linked straight into its own new/ under a
	   fresh unique name, then new/ is fsynced. Recipients with different prepended bytes
	   (a per-recipient Delivered-To:, say) cannot share a file and are copied; so is every
	   recipient whose link fails for any reason (other file system, EMLINK, the first
	   recipient's client already moved the file to cur/): the copy then reports the real
	   error if the destination is broken. */
	MAILDIR_STRATEGY_LINK,
};

struct maildir_rcpt {
	/* The Maildir (root, or a .Folder directory) holding cur/ new/ tmp/. */
	const char *maildir;
	/* Bytes written before the message, e.g. "Return-Path: <a@b>\r\nDelivered-To: c@d\r\n".
	   Must use CRLF line endings like the message. May be NULL with len 0. */
	const uint8_t *prepend;
	size_t prepend_len;
};

struct maildir_delivery {
	enum maildir_deliver_status status;
	/* The step that failed ("create tmp/ file", "fsync file", ...), NULL when ok. Static. */
	const char *error;
	/* errno of that step, 0 when ok. */
	int error_errno;
	/* The file is a hard link of an earlier recipient's file. */
	bool linked;
	/* S= and W= of the stored file: add size to the quota (maildir_quota_add). */
	uint64_t size;
	uint64_t vsize;
	/* Basename in <maildir>/new/ when ok. */
	char name[MAILDIR_NAME_MAX];
};

/* Deliver the message in spool_fd (a regular file, read from offset 0 to EOF) to count
   recipients, results_r[i] for rcpts[i]. Recipients are independent: one failing does not
   stop the others. 1 when every recipient is ok, 0 when at least one is not (see
   results_r), -1 with errno EINVAL for bad arguments. */
int maildir_deliver(int spool_fd, const struct maildir_rcpt *rcpts, size_t count,
		    enum maildir_strategy strategy, struct maildir_delivery *results_r);

/* Maildir convention (qmail maildir(5)): a tmp/ file untouched for 36 hours is garbage. */
#define MAILDIR_TMP_MAX_AGE (36 * 60 * 60)

/* Remove regular files in <maildir>/tmp whose mtime and ctime are both at least max_age
   seconds old. Call it per Maildir and per .Folder, e.g. when a mailbox is opened.
   At start-up, max_age = now - the start time of the process removes what a crashed
   predecessor left, but only while nothing else writes into the Maildir (IMAP APPEND,
   another delivery process, an external program): call it before any such writer runs.
   0 with *removed_r set, or -1 with *error_r (static or strerror text); a missing tmp/ is
   not an error. */
/* Remove tmp/ files whose writer is gone: names made by maildir_name_unique() carry the
   writer's pid (P<pid>), and a file whose pid no longer exists can never be finished (a
   delivery or APPEND killed half-way, RELIABILITY F1/F5). Files of live processes, and names
   without a pid, are left to maildir_tmp_cleanup(). Cheap: tmp/ is normally empty. */
int maildir_tmp_sweep_dead(const char *maildir, unsigned int *removed_r);

int maildir_tmp_cleanup(const char *maildir, time_t max_age, unsigned int *removed_r,
			const char **error_r);

#endif
