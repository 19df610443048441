#ifndef MAILD_IMAP_BODYSTRUCTURE_H
#define MAILD_IMAP_BODYSTRUCTURE_H

#include <stdbool.h>

#include "mime_buf.h"
#include "mime_parse.h"

/*
 * IMAP BODY and BODYSTRUCTURE (RFC 3501 7.4.2, RFC 9051 7.5.2) of a parsed message.
 *
 *   one part:  (type subtype params id description encoding size [lines] [ext])
 *              text: lines; message/rfc822: envelope body lines
 *              ext (BODYSTRUCTURE only): md5 disposition language location
 *   multipart: (part part ... subtype [params disposition language location])
 *
 * Choices, as Dovecot makes them: type and subtype as written in the header, "text" "plain"
 * ("charset" "us-ascii") when there is no Content-Type (NIL parameters for a Content-Type
 * without any); encoding "7bit" when absent; RFC 2231 parameters merged and written in the
 * extended form ("filename*" "utf-8''%E2%82%AC.txt"); a disposition as ("type" params|NIL);
 * languages always as a list; a multipart without parts (no boundary, no delimiter, or past a
 * limit) gets one empty text/plain part, since the grammar needs at least one; a
 * message/rfc822 that was not parsed (base64 encoded, past a limit) gets an envelope of NILs
 * and that empty part as its body. Sizes are octets as stored and lines count line ends.
 * message/global is written in the message/rfc822 form only where RFC 9051 allows it: never
 * here (RFC 3501 clients would misread it), it is written as a basic part.
 */

/* BODYSTRUCTURE (extended true) or BODY (false) of the whole message. */
void imap_bodystructure_write(struct mime_buf *out, const struct mime_message *m, bool extended);
/* The same for one part of it (FETCH BODYSTRUCTURE of a part is not IMAP, but the filter
   worker logs parts this way). */
void imap_bodystructure_write_part(struct mime_buf *out, const struct mime_message *m,
                                   const struct mime_part *part, bool extended);

#endif
