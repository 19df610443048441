#ifndef MAILD_IMAP_MODIFY_ARGS_H
#define MAILD_IMAP_MODIFY_ARGS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "imap_parser.h"

/*
 * The arguments of STORE and APPEND, checked without a mailbox (pure: no session, no disk).
 * Flags are not resolved here: imap_flags_parse() (imap_mailbox.h) does that against the
 * folder's keywords; these functions only find them and check the grammar around them.
 */

enum imap_store_op {
	IMAP_STORE_OP_SET,    /* FLAGS */
	IMAP_STORE_OP_ADD,    /* +FLAGS */
	IMAP_STORE_OP_REMOVE, /* -FLAGS */
};

struct imap_store_args {
	enum imap_store_op op;
	bool silent; /* .SILENT: no FETCH responses (RFC 9051 6.4.6) */
	/* RFC 7162 3.1.3 (UNCHANGEDSINCE n); 0 is valid and fails every message with a modseq. */
	bool unchangedsince_set;
	uint64_t unchangedsince;
	/* The flags: a list (flags_list true, flags->list its elements, maybe none) or the first of
	   one or more flag atoms chained by next ("STORE 1 +FLAGS \Seen \Flagged"). */
	const struct imap_arg *flags;
	bool flags_list;
};

/* RFC 7162 mod-sequence-value: 1..2^63-1. */
#define IMAP_MODSEQ_MAX INT64_MAX

/* What follows the sequence set of STORE:
     ["(" store-modifier *(SP store-modifier) ")" SP] store-att-flags
     store-att-flags = (["+" / "-"] "FLAGS" [".SILENT"]) SP (flag-list / (flag *(SP flag)))
   Only UNCHANGEDSINCE is a known modifier (RFC 7162), once. 0 or -1 with *error_r a static
   text for BAD. The flags themselves are left to imap_flags_parse(). */
int imap_store_args_parse(const struct imap_arg *after_set, struct imap_store_args *args_r,
                          const char **error_r);

/* RFC 9051 date-time without its quotes: "dd-Mon-yyyy hh:mm:ss +zzzz", the day as two digits
   or a space and one digit (" 1-Jan-2024"), the month name in any case. Dates before 1970
   and after 9999 are refused, and so are impossible ones (31-Apr, 29-Feb-2023). 0 with the
   UTC time in *t_r, or -1. */
int imap_date_time_parse(const char *str, size_t len, time_t *t_r);

/* APPEND's arguments between the mailbox and the message: [flag-list] [date-time], the list
   first when both are given (RFC 9051 6.3.12). first is the argument after the mailbox name,
   end the one that stops the scan (the message literal, or NULL at the end of the
   arguments). *flags_r gets the list argument or NULL, *date_r the time or 0. 0, or -1 with
   *error_r for BAD. */
int imap_append_args_parse(const struct imap_arg *first, const struct imap_arg *end,
                           const struct imap_arg **flags_r, time_t *date_r, const char **error_r);

#endif
