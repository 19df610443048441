#ifndef MAILD_FOLDER_OPS_H
#define MAILD_FOLDER_OPS_H

#include <stdbool.h>

/*
 * CREATE, DELETE, RENAME, SUBSCRIBE and UNSUBSCRIBE on one user's Maildir++ at root
 * (RFC 3501 6.3.3-6.3.7). Synchronous, no libuv: the session runs them off the loop.
 * Names are UTF-8 (the session decodes the wire's modified UTF-7, or uses
 * folder_name_from_mutf7 and passes .name); each is checked with folder_name_from_utf8.
 *
 * Every function returns FOLDER_OP_OK or an error with *error_r a static English reason the
 * session puts after its response code; the mapping suggested here follows RFC 5530.
 */

enum folder_op_error {
	FOLDER_OP_OK = 0,
	FOLDER_OP_BAD_NAME,    /* NO [CANNOT] <folder_name_strerror text> */
	FOLDER_OP_EXISTS,      /* NO [ALREADYEXISTS] */
	FOLDER_OP_NONEXISTENT, /* NO [NONEXISTENT] */
	FOLDER_OP_INBOX,       /* NO [CANNOT]: INBOX cannot be deleted */
	FOLDER_OP_INTO_ITSELF, /* NO [CANNOT]: RENAME a folder below itself */
	FOLDER_OP_LOCKED,      /* NO [INUSE]: the subscriptions file stayed locked; try again */
	FOLDER_OP_IO,          /* NO [SERVERBUG]: a system call failed (strerror text) */
};

/* A new folder: a hidden "..maild-new.*" directory with cur/ new/ tmp/ (0700) and an empty
   maildirfolder file, fsynced, then renamed into place without replacing anything, and the
   root fsynced: a crash leaves either no folder or a whole one. One trailing "/" is dropped
   (RFC 3501 6.3.3: it only declares intent to create children). Missing parents are not
   created (Maildir++ needs none; LIST shows them as \Noselect \HasChildren). The new folder
   is not subscribed. INBOX, or a name that exists: FOLDER_OP_EXISTS. */
enum folder_op_error folder_create(const char *root, const char *name, const char **error_r);

/* DELETE (RFC 3501 6.3.4): the folder's directory is renamed to a hidden "..maild-deleted.*"
   name (gone from every listing at once, and a crash there loses nothing that was still
   visible), the root fsynced, then everything under it removed, messages included (nothing
   goes to Trash), and maildirsize removed so the quota is recalculated. Children keep their
   own directories; the name stays as a \Noselect parent while they exist. Subscriptions are
   kept (RFC 3501 6.3.6). INBOX: FOLDER_OP_INBOX. A name with no directory, even one with
   children: FOLDER_OP_NONEXISTENT. A failure after the rename is not reported (the folder
   is gone); folder_purge_deleted finishes the removal later. */
enum folder_op_error folder_delete(const char *root, const char *name, const char **error_r);

/* RENAME (RFC 3501 6.3.5). A folder and every folder below it move together ("a" to "b"
   renames ".a", ".a.x" and ".a.x.y"); the source may also be a missing parent whose
   children exist. Every target is checked first (valid, not existing: FOLDER_OP_EXISTS) and
   each directory renamed without replacing; a crash part-way leaves some under the old and
   some under the new name, losing nothing. Subscriptions of the moved names follow them.
   INBOX as the source: a new folder is created and INBOX's messages (new/ and cur/, with its
   dovecot-keywords copied so keyword letters keep their meaning) are moved into it one by
   one, leaving INBOX empty and its children where they are. INBOX as the target:
   FOLDER_OP_EXISTS. A target below the source: FOLDER_OP_INTO_ITSELF. maildirsize is
   removed when Trash (not counted by the quota) is the source or the target. */
enum folder_op_error folder_rename(const char *root, const char *from, const char *to,
                                   const char **error_r);

/* SUBSCRIBE / UNSUBSCRIBE (RFC 3501 6.3.6-6.3.7) in root's "subscriptions" file, which is
   rewritten under Dovecot's lock ("subscriptions.lock", created exclusively, written,
   fsynced and renamed over the file), keeping its version and every line it does not
   change. The name need not exist. Subscribing twice or unsubscribing a name that is not
   subscribed changes nothing and is not an error. FOLDER_OP_LOCKED when another writer held
   the lock for FOLDER_SUBS_LOCK_WAIT_MS (a lock older than 30 s is stale and removed). */
#define FOLDER_SUBS_LOCK_WAIT_MS 5000
enum folder_op_error folder_subscribe(const char *root, const char *name, bool subscribe,
                                      const char **error_r);

/* Remove what interrupted DELETEs and CREATEs left ("..maild-deleted.*", "..maild-new.*").
   For the session to call at login, off the loop. 0 or -1 with *error_r. */
int folder_purge_deleted(const char *root, const char **error_r);

#endif
