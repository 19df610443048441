#ifndef MAILD_MAILDIR_PATH_H
#define MAILD_MAILDIR_PATH_H

#include <stddef.h>

/* <mail_root>/<domain>/<h>/<local>: h is two hex digits of a hash of the lowercased local part,
   so no directory holds more than a few hundred mailboxes (ext4 dir_index or not). The local
   part is lowercased and '/' and '%' are %-escaped so it is always one path component.
   -1 when the result does not fit. */
int maildir_path(const char *mail_root, const char *domain, const char *localpart, char *out,
		 size_t size);

#endif
