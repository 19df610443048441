/* The header fields whose lines the index keeps per message (mime_hdrcache.h). */
#include <string.h>

#include "mime_hdrcache.h"
#include "mime_header.h"

/* Who asks for what in BODY.PEEK[HEADER.FIELDS (...)] when it lists a folder:
     ENVELOPE (RFC 9051 7.5.2)  Date From Sender Reply-To To Cc Bcc Subject In-Reply-To
                                Message-ID
     Thunderbird                + Priority X-Priority References Newsgroups Content-Type
     mutt / neomutt             + Content-Description Lines List-Post List-Subscribe
                                  List-Unsubscribe X-Label
     K-9 / Thunderbird Android  + List-Post List-Unsubscribe X-K9mail-Identity Chat-Version
     Apple Mail                 + X-Uniform-Type-Identifier X-Universally-Unique-Identifier
                                  List-Id List-Unsubscribe (and DKIM-Signature,
                                  Authentication-Results, BIMI-*: not kept, see the header)
     webmails (importance)      + Importance
   The rest of RFC 2369/2919/8058's List-* fields are small and come with the others. */
static const char *const hdrcache_set[] = {
    "Date",
    "From",
    "Sender",
    "Reply-To",
    "To",
    "Cc",
    "Bcc",
    "Subject",
    "In-Reply-To",
    "Message-ID",
    "References",
    "Content-Type",
    "Content-Description",
    "Lines",
    "Newsgroups",
    "Priority",
    "X-Priority",
    "Importance",
    "List-Id",
    "List-Post",
    "List-Subscribe",
    "List-Unsubscribe",
    "List-Unsubscribe-Post",
    "List-Help",
    "List-Archive",
    "List-Owner",
    "X-Label",
    "X-K9mail-Identity",
    "Chat-Version",
    "X-Uniform-Type-Identifier",
    "X-Universally-Unique-Identifier",
};

#define HDRCACHE_SET_COUNT (sizeof(hdrcache_set) / sizeof(hdrcache_set[0]))

static bool ascii_case_equal(const char *a, const char *b)
{
	for (; *a != '\0' && *b != '\0'; a++, b++) {
		char x = *a >= 'A' && *a <= 'Z' ? (char)(*a - 'A' + 'a') : *a;
		char y = *b >= 'A' && *b <= 'Z' ? (char)(*b - 'A' + 'a') : *b;

		if (x != y)
			return false;
	}
	return *a == *b;
}

static bool hdrcache_has(const char *name)
{
	for (size_t i = 0; i < HDRCACHE_SET_COUNT; i++)
		if (ascii_case_equal(name, hdrcache_set[i]))
			return true;
	return false;
}

bool mime_hdrcache_covers(const char *const *names, size_t n)
{
	if (n == 0)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!hdrcache_has(names[i]))
			return false;
	return true;
}

int mime_hdrcache_build(const uint8_t *p, size_t len, struct mime_buf *out)
{
	struct mime_buf entry = MIME_BUF_INIT;
	int ret = 0;

	/* The same function that answers from the file writes the entry, so answering from
	   the entry gives the same octets (mime_hdrcache.h). Built apart, so that out does not
	   keep the memory of a refused one. */
	mime_header_filter(p, len, hdrcache_set, HDRCACHE_SET_COUNT, false, &entry);
	if (entry.len <= MIME_HDRCACHE_MAX) {
		mime_buf_append(out, entry.p, entry.len);
		ret = 1;
	}
	mime_buf_free(&entry);
	return ret;
}
