#ifndef MAILD_IMAP_ENVELOPE_H
#define MAILD_IMAP_ENVELOPE_H

#include <stddef.h>
#include <stdint.h>

#include "mime_buf.h"

/*
 * IMAP strings and the ENVELOPE structure (RFC 3501 7.4.2, RFC 9051 7.5.2).
 *
 * Strings are written quoted when every octet is 7-bit and neither CR nor LF ("\"" and "\\"
 * escaped), else as a literal "{n}\r\n..." (8-bit header text, which RFC 6532 allows, needs
 * one without UTF8=ACCEPT). NUL octets cannot travel in either (RFC 3501 9, CHAR8) and are
 * left out.
 *
 * ENVELOPE, from a message's header section:
 *   (date subject from sender reply-to to cc bcc in-reply-to message-id)
 * date, subject, in-reply-to and message-id are the first such field's value unfolded and
 * trimmed, not decoded (RFC 2047 words stay), NIL when the field is absent. Address lists are
 * lists of (name adl mailbox host), NIL when the field is absent or holds no address; a group
 * is (NIL NIL "group name" NIL) before its members and (NIL NIL NIL NIL) after them. sender
 * and reply-to default to from when absent or empty (RFC 3501 7.4.2).
 *
 * As Dovecot does: a mailbox without a domain gets host "MISSING_DOMAIN" and an empty address
 * ("<>") mailbox "MISSING_MAILBOX" (a NIL host would make it a group marker); "user@host
 * (Name)" gets the comment as its name. Unlike Dovecot: tabs in subjects and names are kept
 * as written (Dovecot makes them spaces), and a quoted local part keeps its quotes
 * (mailbox "\"a b\"" for "a b"@example.com, so that mailbox@host is a valid address).
 */

/* An IMAP string of len octets, quoted or literal. */
void imap_envelope_string(struct mime_buf *out, const uint8_t *p, size_t len);
/* An IMAP nstring: NIL for NULL. */
void imap_envelope_nstring(struct mime_buf *out, const char *s);
/* The parenthesised ENVELOPE of the header section hdr[0..len). */
void imap_envelope_write(struct mime_buf *out, const uint8_t *hdr, size_t len);

#endif
