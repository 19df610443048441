#ifndef MAILD_FOLDER_OPS_INT_H
#define MAILD_FOLDER_OPS_INT_H

/* Shared by folder_ops.c and folder_subs.c only. */
#include "folder_ops.h"

/* FOLDER_OP_IO with *error_r = strerror(errno). */
enum folder_op_error folder_op_io(const char **error_r);
/* The Maildir root as a directory fd, or -1 (errno). */
int folder_open_root(const char *root);
/* Subscriptions at or below from renamed to below to (canonical names). */
enum folder_op_error folder_subs_rename(const char *root, int root_fd, const char *from,
                                        const char *to, const char **error_r);

#endif
