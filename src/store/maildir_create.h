#ifndef MAILD_MAILDIR_CREATE_H
#define MAILD_MAILDIR_CREATE_H

#include <stddef.h>

/* Create a Maildir++ at path (and missing parents, mode 0700): cur/new/tmp and the folders
   .Sent .Drafts .Trash .Junk, each with cur/new/tmp and a maildirfolder file, plus a
   subscriptions file naming them. Existing parts are kept (re-adding an account reuses its
   mail). The directories are fsynced so the mailbox survives a crash right after. 0 or -1
   with *error_r (static or strerror text). */
int maildir_create(const char *path, const char **error_r);

/* Move the Maildir at path aside to <removed_dir>/<domain>/<local>-<YYYYmmddTHHMMSS>, never
   deleting mail. moved_to_r gets the new path. A missing Maildir is not an error (moved_to_r
   is then ""). */
int maildir_move_aside(const char *path, const char *removed_dir, const char *domain,
		       const char *local, char *moved_to_r, size_t size, const char **error_r);

#endif
