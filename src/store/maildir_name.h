#ifndef MAILD_MAILDIR_NAME_H
#define MAILD_MAILDIR_NAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/time.h>

/* Maildir file names as Dovecot makes them:

     <secs>.M<usecs>P<pid>Q<n>.<host>                    the base, also the name in tmp/
     <base>,S=<size>,W=<vsize>                           the name in new/
     <base>,S=<size>,W=<vsize>:2,<flags>                 the name in cur/

   S is the file's size in bytes. W is the size with every bare LF counted as CRLF, which is the
   RFC822.SIZE an IMAP server reports. maild stores messages with CRLF line endings exactly as
   they came off the wire (and SMTP refuses bare LF, RELIABILITY row 3), so for mail delivered
   by maild W equals S. Dovecot reads such files natively (its mail_save_crlf mode); storing the
   received bytes unchanged keeps the archive, DKIM signatures and row 71 ("stored unchanged")
   exact, and lets IMAP FETCH send the file without conversion.

   Uniqueness (RELIABILITY F20) never rests on the clock: the pid separates processes (also
   after fork, as it is read on every call), the per-process counter Q separates calls within a
   process even when the clock stands still or jumps back. Delivery additionally creates with
   O_EXCL and publishes without replacing (maildir_deliver.c), so a collision is an error that
   is retried, never an overwrite. */

/* NAME_MAX + 1: every name we make fits one path component. */
#define MAILDIR_NAME_MAX 256
/* The escaped host is cut to this many bytes so base + S= + W= + ":2," + all 52 flag letters
   stay within NAME_MAX. */
#define MAILDIR_NAME_HOST_MAX 90

/* Escape a host name for the base: '/' becomes "\057" and ':' becomes "\072" as Dovecot does,
   so the host never adds a path separator or an info separator. The result is cut at an
   escape boundary to MAILDIR_NAME_HOST_MAX bytes. -1 when out is too small. */
int maildir_name_escape_host(const char *host, char *out, size_t size);

/* A fresh unique base for now (gettimeofday). The host is read once per process.
   0, or -1 when size is too small. Thread-safe. */
int maildir_name_unique(char *base_r, size_t size);

/* The same for a given time: lets a test replay a clock that stands still or runs back. */
int maildir_name_unique_at(const struct timeval *now, char *base_r, size_t size);

/* Delivery order of two file names (strcmp's sign convention): the leading seconds, then
   within a second the ".M<microseconds>" of both, as numbers (they are not zero-padded:
   "M99999" came before "M100001"), then the bytes. UIDs are given in this order, as Dovecot
   gives them. */
int maildir_name_cmp_delivery(const char *a, const char *b);
/* maildir_name_cmp_delivery() with the numbers parsed once, for sorting many names. */
struct maildir_delivery_key {
	uint64_t sec, usec;
	/* 0: no leading time, 1: seconds only, 2: seconds and ".M<usec>". */
	int kind;
	const char *name;
};
void maildir_delivery_key(const char *name, struct maildir_delivery_key *key_r);
int maildir_delivery_key_cmp(const struct maildir_delivery_key *a,
                             const struct maildir_delivery_key *b);

/* The name for new/ (flags NULL) or cur/ (flags a string of flag letters, possibly empty;
   they are written sorted and without duplicates as the Maildir spec requires). -1 when the
   result does not fit or a flag is not an ASCII letter. */
int maildir_name_final(const char *base, uint64_t msg_size, uint64_t vsize, const char *flags,
		       char *name_r, size_t size);

struct maildir_name_info {
	/* Bytes before the info separator, the first ':' (the whole name when there is none).
	   The base identifies a message across new/ -> cur/ and flag changes. */
	size_t base_len;
	/* The name carries ":2," followed by flags. */
	bool has_info;
	/* The flag letters after ":2," (points into the parsed name), "" without them. */
	const char *flags;
	bool has_size;
	uint64_t size;
	bool has_vsize;
	uint64_t vsize;
};

/* Parse a basename made by us, Dovecot, Courier, mbsync or anyone else: S= and W= are taken
   from the comma fields of the base when they are well-formed decimal numbers, other fields
   (U=, V=, ...) are ignored, a missing field leaves has_size/has_vsize false. Pure; no I/O.
   1 when name can be a message file, 0 when it cannot (empty, starts with '.', has '/'). */
int maildir_name_parse(const char *name, struct maildir_name_info *info_r);

#endif
