#ifndef MAILD_IMAP_THREAD_H
#define MAILD_IMAP_THREAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../store/mime_buf.h"

/*
 * THREAD=ORDEREDSUBJECT and THREAD=REFERENCES (RFC 5256 3), pure: the caller gathers what
 * each matching message says (imap_cmd_thread.c) and gets the thread list text.
 *
 * Message-IDs compare as octets (the text between "<" and ">"); a message without a valid
 * Message-ID, or with one an earlier message already has, is unique. Parent links that would
 * make a loop are not made; so are links whose loop check would climb more than
 * IMAP_THREAD_CLIMB_MAX ancestors (a hostile References chain cannot make threading
 * quadratic). Every walk of the tree is iterative: a thread may be as deep as the folder.
 */

#define IMAP_THREAD_CLIMB_MAX 10000u

enum imap_thread_alg {
	IMAP_THREAD_ORDEREDSUBJECT,
	IMAP_THREAD_REFERENCES,
};

struct imap_thread_msg {
	uint32_t num;        /* written in the output: sequence number or UID */
	uint32_t seq;        /* ties of equal dates go in sequence order */
	int64_t date;        /* sent date (RFC 5256 2.2), UTC seconds */
	const char *subject; /* base subject, folded (imap_base_subject) */
	bool reply;          /* the subject had a reply/forward marker */
	const char *message_id, *references, *in_reply_to; /* undecoded values, may be "" */
};

/* Append the threads of msgs[0..n) as RFC 5256 thread-lists ("(1 2)(3 (4)(5))"). */
void imap_thread_write(enum imap_thread_alg alg, const struct imap_thread_msg *msgs, size_t n,
                       struct mime_buf *out);

#endif
