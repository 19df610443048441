#ifndef MAILD_FOLDER_NAME_H
#define MAILD_FOLDER_NAME_H

#include <stdbool.h>
#include <stddef.h>

/*
 * Folder names of one user's Maildir++, as IMAP sees them and as they sit on disk.
 *
 * On the wire (RFC 3501 5.1.3) a name is modified UTF-7 with "/" between levels; in this API
 * it is UTF-8 ("canonical name"); on disk it is one directory in the Maildir root, the way
 * Dovecot's default Maildir++ layout writes it: "." followed by the levels in modified UTF-7
 * joined with "." ("Work/Entwürfe" is ".Work.Entw&APw-rfe"). INBOX is the root Maildir itself.
 *
 * Decisions (recorded here, where the IMAP session reads them):
 * - INBOX is case-insensitive as a whole name and as the first level: "inbox/Sub" is
 *   "INBOX/Sub", stored as ".INBOX.Sub" (Dovecot does the same with its Maildir++ layout).
 *   The directory ".INBOX" itself and first levels that differ from "INBOX" only in case
 *   (".Inbox.x") are never folders: they could not be reached by name.
 * - "." inside a level is refused (FOLDER_NAME_DOT): on disk it would become a level
 *   separator. Dovecot refuses it too unless its listescape plugin is configured; we do not
 *   escape, so every name we write reads the same in a stock Dovecot.
 * - The whole hierarchy is one directory name, so the on-disk form (with its leading ".")
 *   must fit NAME_MAX (255 bytes), whatever the level count; the UTF-8 name is limited to
 *   FOLDER_NAME_MAX bytes besides.
 * Nothing that passes these checks can name anything outside the Maildir root: the result
 * is always exactly one path component that starts with "." and is neither "." nor "..".
 */

#define FOLDER_SEP '/'
#define FOLDER_NAME_MAX 1024                  /* bytes of a UTF-8 name */
#define FOLDER_DIR_MAX 255                    /* bytes of the on-disk directory name (NAME_MAX) */
#define FOLDER_WIRE_MAX (FOLDER_NAME_MAX * 4) /* modified UTF-7 accepted before decoding */

enum folder_name_error {
	FOLDER_NAME_OK = 0,
	FOLDER_NAME_EMPTY,        /* "" */
	FOLDER_NAME_EDGE_SEP,     /* "/a" or "a/" */
	FOLDER_NAME_EMPTY_LEVEL,  /* "a//b" */
	FOLDER_NAME_DOT,          /* ".", "..", "a.b": "." separates levels on disk */
	FOLDER_NAME_CONTROL,      /* U+0000-U+001F, U+007F-U+009F */
	FOLDER_NAME_BAD_UTF8,     /* not well-formed UTF-8 */
	FOLDER_NAME_BAD_MUTF7,    /* not strict modified UTF-7 (on the wire or on disk) */
	FOLDER_NAME_TOO_LONG,     /* over FOLDER_NAME_MAX bytes of UTF-8 */
	FOLDER_NAME_DIR_TOO_LONG, /* on-disk name over FOLDER_DIR_MAX bytes */
	FOLDER_NAME_RESERVED,     /* on disk only: ".INBOX", ".Inbox.x", not a ".name" */
};

/* One name in both forms. */
struct folder_name {
	char name[FOLDER_NAME_MAX + 1]; /* canonical UTF-8, "/" between levels, "INBOX" upper */
	char dir[FOLDER_DIR_MAX + 1];   /* "" for INBOX, else ".Level1.Level2" (modified UTF-7) */
};

/* A short English reason for err, for the session's "NO [CANNOT] ..." line. Never NULL. */
const char *folder_name_strerror(enum folder_name_error err);

/* A UTF-8 name (len bytes, NUL not allowed inside) checked and converted: every rule above.
   fn_r is filled only on FOLDER_NAME_OK. */
enum folder_name_error folder_name_from_utf8(const char *in, size_t len, struct folder_name *fn_r);

/* A name as the client sent it (modified UTF-7, len bytes): decoded strictly, then as
   folder_name_from_utf8. */
enum folder_name_error folder_name_from_mutf7(const char *in, size_t len, struct folder_name *fn_r);

/* A directory entry of the Maildir root (".Work.Projects"): decoded strictly, then as
   folder_name_from_utf8; fn_r->dir is then byte-for-byte dirent. Anything else, including
   ".", "..", names not starting with "." and our own hidden "..maild-*" working
   directories, is an error: such entries are not folders. */
enum folder_name_error folder_name_from_dir(const char *dirent, struct folder_name *fn_r);

/* Is fn INBOX (the root Maildir)? */
bool folder_name_is_inbox(const struct folder_name *fn);

/* Is name (canonical) the same as parent or below it ("a" is under "a" and "a/b", not "ab")? */
bool folder_name_is_under(const char *name, const char *parent);

/*
 * Lines of the Maildir++ "subscriptions" file, compatible with Dovecot's: one name per line
 * in its storage form (modified UTF-7), "INBOX" for INBOX. Version 1 files (no header) join
 * levels with "."; version 2 files start with "V\t2\n\n" and join levels with a TAB.
 */
#define FOLDER_SUBS_V2_HEADER "V\t2\n\n"

/* One line (without its LF) to a name; any error means the line names no folder of ours
   (it is kept as it is when the file is rewritten). */
enum folder_name_error folder_name_from_subs_line(const char *line, size_t len, bool v2,
                                                  struct folder_name *fn_r);
/* fn as a line (without LF) into out; -1 when out is too small. */
int folder_name_to_subs_line(const struct folder_name *fn, bool v2, char *out, size_t size);

#endif
