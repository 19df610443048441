#ifndef MAILD_MBOX_FILE_H
#define MAILD_MBOX_FILE_H

#include <stddef.h>
#include <sys/stat.h>

/* Small whole-file helpers for the folder's metadata files (uid list, keywords). */

/* Read file in dir_fd into a malloc'ed buffer (NUL-terminated, *len_r without the NUL).
   1 read, 0 no such file, -1 with errno (EFBIG when larger than max). st_r may be NULL. */
int mbox_file_read(int dir_fd, const char *file, size_t max, char **buf_r, size_t *len_r,
                   struct stat *st_r);

/* Replace file in dir_fd by data atomically and durably: "<file>.tmp" written, fsynced,
   renamed over file, the directory fsynced. Callers hold the folder lock, so the tmp name
   is theirs. st_r (may be NULL) describes the new file. 0 or -1 with errno. */
int mbox_file_replace(int dir_fd, const char *file, const char *data, size_t len,
                      struct stat *st_r);


#endif
