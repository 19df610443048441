#ifndef MAILD_FOLDER_LIST_H
#define MAILD_FOLDER_LIST_H

#include <stdbool.h>
#include <stddef.h>

/*
 * The folder tree of one Maildir++, read once (one readdir of the root and one read of the
 * subscriptions file) and then asked LIST/LSUB questions (RFC 3501 6.3.8/6.3.9, LIST-EXTENDED
 * RFC 5258, SPECIAL-USE RFC 6154). Synchronous, no libuv: the session runs it off the loop.
 *
 * The tree holds INBOX (the root Maildir), every ".Name" directory whose name is valid
 * (folder_name_from_dir; others, symlinks included, are not folders), every missing parent
 * of those ("a" for ".a.b": Maildir++ needs no parent directory) and every subscribed name,
 * existing or not. Names are UTF-8; the session converts to modified UTF-7 for the wire.
 */

enum folder_attr {
	/* Not a folder: a missing parent or a subscription to a missing folder. The session
	   sends "\NonExistent" to a LIST-EXTENDED command and "\Noselect" otherwise
	   (folder_attrs_format). */
	FOLDER_ATTR_NONEXISTENT = 1 << 0,
	/* LSUB only: a name that is not subscribed (or does not exist) but is returned because
	   "%" stopped above a subscribed name (RFC 3501 6.3.9). */
	FOLDER_ATTR_NOSELECT = 1 << 1,
	FOLDER_ATTR_HASCHILDREN = 1 << 2,
	FOLDER_ATTR_HASNOCHILDREN = 1 << 3,
	FOLDER_ATTR_SUBSCRIBED = 1 << 4,
	/* RFC 6154, on existing top-level folders of exactly these names. */
	FOLDER_ATTR_ARCHIVE = 1 << 5,
	FOLDER_ATTR_DRAFTS = 1 << 6,
	FOLDER_ATTR_JUNK = 1 << 7,
	FOLDER_ATTR_SENT = 1 << 8,
	FOLDER_ATTR_TRASH = 1 << 9,
	/* RECURSIVEMATCH: a descendant that does not match the pattern meets the selection
	   criteria; the session adds the extended data ("CHILDINFO" ("SUBSCRIBED")). */
	FOLDER_ATTR_CHILDINFO = 1 << 10,
};
#define FOLDER_ATTR_SPECIAL_USE                                                                    \
	(FOLDER_ATTR_ARCHIVE | FOLDER_ATTR_DRAFTS | FOLDER_ATTR_JUNK | FOLDER_ATTR_SENT |          \
	 FOLDER_ATTR_TRASH)

/* LIST-EXTENDED selection options (RFC 5258 3.1, RFC 6154 3). */
#define FOLDER_SEL_SUBSCRIBED (1u << 0)
#define FOLDER_SEL_REMOTE (1u << 1) /* accepted; there are no remote mailboxes */
#define FOLDER_SEL_RECURSIVEMATCH (1u << 2)
#define FOLDER_SEL_SPECIAL_USE (1u << 3)
/* Return options (RFC 5258 3.2, RFC 6154 3). The session asks FOLDER_RET_CHILDREN and
   FOLDER_RET_SPECIAL_USE for a plain LIST too (CHILDREN, RFC 3348, and as Dovecot does). */
#define FOLDER_RET_SUBSCRIBED (1u << 0)
#define FOLDER_RET_CHILDREN (1u << 1)
#define FOLDER_RET_SPECIAL_USE (1u << 2)

struct folder_query {
	const char *reference;       /* UTF-8; "" or NULL for none */
	const char *const *patterns; /* UTF-8 with "*" and "%"; LIST-EXTENDED allows several */
	size_t pattern_count;
	unsigned int select; /* FOLDER_SEL_*; SUBSCRIBED implies FOLDER_RET_SUBSCRIBED */
	unsigned int ret;    /* FOLDER_RET_* */
	bool lsub;           /* LSUB: subscribed names only, select and ret ignored */
};

/* One name of the tree, for folder_ops and the session. */
struct folder_info {
	const char *name; /* canonical UTF-8 */
	const char *dir;  /* directory in the root ("" for INBOX), NULL when it does not exist */
	bool subscribed;
};

struct folder_list;

typedef void folder_list_cb(const char *name, unsigned int attrs, void *ctx);

/* Read the Maildir++ at root. 0, or -1 with *error_r (static or strerror text) when the root
   cannot be read; an unreadable subscriptions file is an error too (LSUB would lie). */
int folder_list_scan(const char *root, struct folder_list **fl_r, const char **error_r);
void folder_list_free(struct folder_list **flp);

/* Names matching q in order (INBOX and its children first, then by name, each parent
   before its children), each once even when several patterns match it. The reference is
   prefixed to each pattern (RFC 3501 6.3.8) unless the pattern starts with "/"; a leading
   "INBOX" level of the result is case-insensitive. An empty pattern matches nothing: the
   session answers LIST "" "" itself with (\Noselect) "/" "". Returns the number of names,
   or -1 with *error_r for a request the session must answer BAD (RECURSIVEMATCH alone,
   no pattern, a pattern over 2 * FOLDER_NAME_MAX bytes). */
int folder_list_query(const struct folder_list *fl, const struct folder_query *q,
                      folder_list_cb *cb, void *ctx, const char **error_r);

/* Attributes of a canonical name as a plain LIST would give them (children, subscribed,
   special use): 1 and *attrs_r when the name is in the tree, 0 when not. A folder that
   can be selected is one found without FOLDER_ATTR_NONEXISTENT. */
int folder_list_lookup(const struct folder_list *fl, const char *name, unsigned int *attrs_r);

/* Every name in the tree, in query order: 0 <= i < folder_list_count(). */
size_t folder_list_count(const struct folder_list *fl);
void folder_list_get(const struct folder_list *fl, size_t i, struct folder_info *info_r);

/* attrs as the IMAP flag list without parentheses ("\HasChildren \Subscribed"): with
   extended (a LIST-EXTENDED command) FOLDER_ATTR_NONEXISTENT is "\NonExistent", otherwise
   "\Noselect". CHILDINFO is not an attribute and is left out. -1 when out is too small. */
int folder_attrs_format(unsigned int attrs, bool extended, char *out, size_t size);

/* The subscriptions file of root, whole (NUL-terminated, malloc'ed) in *text_r, with *v2_r
   telling its version (FOLDER_SUBS_V2_HEADER); a missing file is empty and version 1.
   0 or -1 with *error_r. For folder_list_scan and folder_ops. */
#define FOLDER_SUBS_FILE "subscriptions"
#define FOLDER_SUBS_MAX (1024 * 1024)
int folder_subs_load(const char *root, char **text_r, size_t *len_r, bool *v2_r,
                     const char **error_r);

#endif
