#ifndef MAILD_IMAP_SEARCH_H
#define MAILD_IMAP_SEARCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../store/mbox.h"
#include "../store/mime_buf.h"
#include "imap_parser.h"
#include "imap_seqset.h"

/*
 * SEARCH programs (RFC 9051 6.4.4, RFC 3501 6.4.4, RFC 4731 ESEARCH, RFC 7162 MODSEQ).
 *
 * imap_search_parse() turns the argument tree of a search program into a tree of keys. It is
 * pure (fuzzed by tests/fuzz/fuzz_imap_search.c): no mailbox is needed, sequence sets keep
 * their "*" until the search runs. Strings are kept case-folded (imap_search_fold) so the
 * matcher compares folded text with memmem. imap_search_run() evaluates a program against a
 * folder on a pool thread (imap_search_match.c).
 *
 * Decisions:
 * - CHARSET: UTF-8 and US-ASCII only (both read as UTF-8); anything else is BADCHARSET.
 * - A sequence number past the last message is BAD, as for every other command
 *   (imap_mailbox_set); UIDs that do not exist are simply not matched.
 * - "$" (RFC 5182 SEARCHRES, RFC 9051 6.4.4.1) parses as a sequence-set key whose set has
 *   dollar; imap_search_prepare() replaces it by the saved UIDs, whether it came alone or
 *   after UID (a message is in "$" when its UID is). RETURN (SAVE) sets prog->save; what is
 *   kept is imap_search_saved()'s choice, stored by imap_search_job.c.
 * - FROM/TO/CC/BCC match the decoded addresses rendered "Name <local@domain>" and joined
 *   with ", " (the decoded field value when it holds no address); SUBJECT and HEADER the
 *   decoded, unfolded value of every such field; BODY/TEXT go through the full-text index.
 */

/* Nesting of NOT, OR and parenthesised lists (each level recurses in parser and matcher). */
#define IMAP_SEARCH_DEPTH_MAX 100u
/* Keys in one program; the parser's argument limit (IMAP_ARGS_MAX) caps it anyway. */
#define IMAP_SEARCH_KEYS_MAX 10000u
/* BODY/TEXT keys in one program: each is one full-text query. */
#define IMAP_SEARCH_TEXT_KEYS_MAX 32u

enum imap_search_op {
	IMAP_SK_ALL,
	IMAP_SK_AND, /* children: every one */
	IMAP_SK_OR,  /* children: exactly two, either */
	IMAP_SK_NOT, /* children: exactly one */
	IMAP_SK_SEQSET,
	IMAP_SK_UIDSET,
	IMAP_SK_FLAG,    /* flag set (or not, neg) */
	IMAP_SK_KEYWORD, /* str is the keyword (not folded) */
	IMAP_SK_RECENT,
	IMAP_SK_NEW, /* RECENT UNSEEN */
	IMAP_SK_BEFORE,
	IMAP_SK_ON,
	IMAP_SK_SINCE,
	IMAP_SK_SENTBEFORE,
	IMAP_SK_SENTON,
	IMAP_SK_SENTSINCE,
	IMAP_SK_LARGER,
	IMAP_SK_SMALLER,
	IMAP_SK_MODSEQ,
	IMAP_SK_FROM,
	IMAP_SK_TO,
	IMAP_SK_CC,
	IMAP_SK_BCC,
	IMAP_SK_SUBJECT,
	IMAP_SK_HEADER, /* field is the field name */
	IMAP_SK_BODY,
	IMAP_SK_TEXT,
};

struct imap_search_key {
	enum imap_search_op op;
	bool neg;                         /* FLAG, KEYWORD: the UN- form */
	struct imap_search_key *children; /* AND, OR, NOT */
	struct imap_search_key *next;     /* sibling */
	const char *str;                  /* folded needle (BODY/TEXT: as given, UTF-8) */
	size_t str_len;
	const char *field; /* HEADER */
	uint64_t num;      /* LARGER, SMALLER, MODSEQ */
	int32_t day;       /* date keys: days since 1970-01-01 */
	uint8_t flag;      /* FLAG: enum mbox_flag */
	struct imap_seqset *set;
	unsigned cost; /* matcher: cheaper keys of an AND are tried first */
	/* BODY/TEXT: the UIDs the full-text index found (imap_search_run), and the needle folded
	   for the messages it has no text of yet, which are read directly */
	uint32_t *uids;
	size_t nuids;
	const char *text_fold;
	size_t text_fold_len;
};

/* RFC 4731 / RFC 9051 RETURN options. */
#define IMAP_SEARCH_RETURN_MIN 0x1u
#define IMAP_SEARCH_RETURN_MAX 0x2u
#define IMAP_SEARCH_RETURN_ALL 0x4u
#define IMAP_SEARCH_RETURN_COUNT 0x8u

/* Which cached header fields the matcher will want (bits of enum imap_hdr). */
struct imap_search_prog {
	struct imap_search_key *root; /* an AND */
	struct mime_arena arena;
	bool esearch;     /* RETURN was given */
	unsigned ret;     /* IMAP_SEARCH_RETURN_* (RETURN () means ALL; RETURN (SAVE) is 0) */
	bool save;        /* RETURN (SAVE): the result becomes "$" */
	bool has_modseq;  /* a MODSEQ key: results carry (MODSEQ n) */
	unsigned nkeys;   /* keys in the tree */
	unsigned ntext;   /* BODY/TEXT keys */
	bool has_seqnums; /* a sequence-number set: checked against the message count */
};

enum imap_search_error {
	IMAP_SEARCH_OK = 0,
	IMAP_SEARCH_BAD = -1,        /* *error_r: text for BAD */
	IMAP_SEARCH_BADCHARSET = -2, /* NO [BADCHARSET (UTF-8 US-ASCII)] */
};

/* A charset the search strings may be in: UTF-8 or US-ASCII, any case. */
bool imap_search_charset_ok(const char *name);

/* The keys of a search program, args being the first key (after any CHARSET). A program
   without keys is BAD. 0 with *prog_r, or an imap_search_error with *error_r (static). */
int imap_search_parse_keys(const struct imap_arg *args, struct imap_search_prog **prog_r,
                           const char **error_r);
/* The arguments of SEARCH: [RETURN (opts)] [CHARSET name] keys. */
int imap_search_parse(const struct imap_arg *args, struct imap_search_prog **prog_r,
                      const char **error_r);
void imap_search_prog_free(struct imap_search_prog **progp);
/* Whether SEARCH's arguments start with a RETURN list holding SAVE, whatever follows: a SEARCH
   that imap_search_parse() answers NO [BADCHARSET] still empties "$" then (RFC 9051
   6.4.4.1); one it answers BAD leaves it alone. */
bool imap_search_args_save(const struct imap_arg *args);

/* Fold UTF-8 text for case-insensitive comparison (Unicode lower case through the C.UTF-8
   locale, ASCII only when that locale is missing); invalid bytes are copied. Appends to
   out. Thread-safe. */
void imap_search_fold(const char *in, size_t len, struct mime_buf *out);

/* "1-Feb-1994" (RFC 9051 date, day of one or two digits, month any case): 0 with the day
   number since 1970-01-01, or -1. */
int imap_search_date_parse(const char *s, size_t len, int32_t *day_r);
/* Days since 1970-01-01 of a proleptic Gregorian date (month 1..12). */
int32_t imap_search_days(int year, int month, int day);

/* An RFC 5322 date-time (lenient: day name optional, seconds optional, two-digit years,
   obsolete zone names). 0 with *day_r the date as written and *utc_r the instant in UTC
   seconds, or -1. */
int imap_search_rfc5322_date(const char *s, size_t len, int32_t *day_r, int64_t *utc_r);

/* ----- running a program (imap_search_match.c) ----- */

/* Resolve "*" in the sets against mb's view, "$" to a copy of saved (the UIDs of the session's
   search result variable, NULL when empty), and keyword names to indexes; memory only, so on
   the loop. 0, or -1 with *error_r for BAD (a sequence number past the last message). */
int imap_search_prepare(struct imap_search_prog *prog, struct mbox *mb,
                        const struct imap_seqset *saved, const char **error_r);

struct imap_search_result {
	uint32_t *seqs; /* ascending */
	uint32_t *uids; /* uids[i] of seqs[i] */
	size_t count;
	uint64_t highest_modseq; /* of the matches */
	/* BODY/TEXT: messages read directly because the full-text index had no text of them
	   (more than IMAP_SEARCH_FTS_INLINE_MAX); the caller has them indexed in the background */
	size_t unindexed;
};

/* Messages without text in the full-text index that a BODY/TEXT search indexes before it
   answers (a few hundred milliseconds at most); past that, it reads them directly and leaves the
   indexing to the background indexer (imap_fts_indexer.h). */
#define IMAP_SEARCH_FTS_INLINE_MAX 256u

/* Pool thread, after imap_search_prepare(). Evaluate prog against every message of mb (the handle's
   view: sequence numbers as the client knows them). BODY/TEXT: answered from the full-text index
   for the messages it has text of; those it lacks are indexed first when they are few
   (IMAP_SEARCH_FTS_INLINE_MAX), otherwise read directly, folded the same way (res_r->unindexed).
   Caches header fields of messages it reads. 0 with *res_r (free with imap_search_result_free),
   or -1 with *error_r malloc'ed. */
int imap_search_run(struct mbox *mb, struct imap_search_prog *prog,
                    struct imap_search_result *res_r, char **error_r);
void imap_search_result_free(struct imap_search_result *res);

/* What a successful SEARCH RETURN (SAVE ...) keeps as "$" (RFC 5182 2.4, RFC 9051 6.4.4.1):
   with MIN and/or MAX but neither ALL nor COUNT, only the message(s) they name; otherwise the
   whole result. As UIDs, compact (imap_seqset_from_sorted); pure. */
struct imap_seqset *imap_search_saved(unsigned ret, const struct imap_search_result *res);

#endif
