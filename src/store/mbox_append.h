#ifndef MAILD_MBOX_APPEND_H
#define MAILD_MBOX_APPEND_H

/* Writing message files, shared by mbox_append.c and mbox_copy.c only. */

#include "mbox_private.h"

/* May count messages of these sizes be added under quota? 1 yes, 0 over quota, -1. Always
   1 for .Trash or without a quota. */
int mbox_quota_fits(struct mbox *mb, const struct maildir_quota_limit *quota,
                    enum maildir_quota_policy policy, const uint64_t *sizes, size_t count);
/* Record a change in the root's maildirsize (not for .Trash); failures are not fatal. */
void mbox_quota_record(struct mbox *mb, int64_t bytes, int64_t count);

/* Write req's message to tmp/<base>: O_EXCL, mtime = internal date, fsynced. Removed again
   on any error. 0 or -1. */
int mbox_tmp_write(struct mbox *mb, const char *base, const struct mbox_append_req *req,
                   uint64_t *size_r, uint64_t *vsize_r);
/* Rename from_fd/from to cur/name without replacing anything. 0 or -1. */
int mbox_publish(struct mbox *mb, int from_fd, const char *from, const char *name);
/* "<base>,S=<size>,W=<vsize>:2,<letters>". 0 or -1. */
int mbox_final_name(struct mbox *mb, const char *base, uint64_t size, uint64_t vsize, uint8_t flags,
                    uint32_t keywords, char *name, size_t name_size);

#endif
