#ifndef MAILD_TEST_MBOX_HARNESS_H
#define MAILD_TEST_MBOX_HARNESS_H

#include <stddef.h>

/* Temporary Maildir++ trees for the mbox tests. */

/* A fresh Maildir++ (INBOX, .Sent, .Drafts, .Trash, .Junk) in a new temp directory; the
   path is malloc'ed. */
char *mh_maildir(void);
/* rm -rf and free. */
void mh_remove(char *root);
/* cmocka setup and teardown: *state is a fresh mh_maildir(), removed afterwards. */
int mh_setup(void **state);
int mh_teardown(void **state);
struct mbox;
/* mbox_open() that fails the test with its error. */
struct mbox *mh_open(const char *root, const char *folder);
/* Write rel (relative to dir) with text. */
void mh_put(const char *dir, const char *rel, const char *text);
/* Whether dir/rel exists. */
int mh_exists(const char *dir, const char *rel);
/* The number of entries not starting with '.' in dir/rel. */
size_t mh_count(const char *dir, const char *rel);
/* The first name (not a dot file) in dir/rel starting with prefix, into out; 0 found, -1 not. */
int mh_find(const char *dir, const char *rel, const char *prefix, char *out, size_t size);
/* Contents of dir/rel (static buffer), NULL when missing. */
const char *mh_read(const char *dir, const char *rel);

/* Run sql on dir's maild-index.sqlite behind maild's back. */
void mh_sql_run(const char *root, const char *sql);
/* The first column of sql's first row, as an integer. */
long long mh_sql_int(const char *root, const char *sql);

#endif
