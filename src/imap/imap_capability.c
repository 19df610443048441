/* The CAPABILITY list (RFC 9051 7.2.2). */
#include <string.h>

#include "imap_capability.h"

/* Announced only after login: every one of them is about mailboxes. Remove an entry here when
   its command is not there yet; nothing else lists them. */
static const char *const imap_capabilities_authed[] = {
    "LITERAL+",              /* RFC 7888: after login the message size limit applies instead */
    "ID",                    /* RFC 2971 */
    "ENABLE",                /* RFC 5161 */
    "IDLE",                  /* RFC 2177 */
    "NAMESPACE",             /* RFC 2342 */
    "UNSELECT",              /* RFC 3691 */
    "UIDPLUS",               /* RFC 4315 */
    "MOVE",                  /* RFC 6851 */
    "SPECIAL-USE",           /* RFC 6154 */
    "LIST-EXTENDED",         /* RFC 5258 */
    "LIST-STATUS",           /* RFC 5819 */
    "STATUS=SIZE",           /* RFC 8438 */
    "BINARY",                /* RFC 3516 */
    "CONDSTORE",             /* RFC 7162 */
    "QRESYNC",               /* RFC 7162 */
    "ESEARCH",               /* RFC 4731 */
    "SEARCHRES",             /* RFC 5182 */
    "QUOTA",                 /* RFC 9208 */
    "QUOTA=RES-STORAGE",     /* RFC 9208 5.1: the one resource an account's quota limits */
    "SORT",                  /* RFC 5256 */
    "THREAD=REFERENCES",     /* RFC 5256 */
    "THREAD=ORDEREDSUBJECT", /* RFC 5256 */
    "SORT=DISPLAY",          /* RFC 5957 */
    "UTF8=ACCEPT",           /* RFC 6855 */
};

/* Before login. LITERAL-: non-synchronising literals only up to 4096 octets (RFC 7888 4), so
   nobody can make us read a large literal before knowing who they are. */
static const char *const imap_capabilities_preauth[] = {
    "SASL-IR", /* RFC 4959 */
    "LITERAL-",
    "ID",
    "ENABLE",
};

struct imap_cap_buf {
	char *p;
	size_t size, len;
	bool overflow;
};

static void imap_cap_add(struct imap_cap_buf *b, const char *word)
{
	size_t n = strlen(word), sep = b->len > 0 ? 1 : 0;

	if (b->overflow || b->len + sep + n + 1 > b->size) {
		b->overflow = true;
		return;
	}
	if (sep)
		b->p[b->len++] = ' ';
	memcpy(b->p + b->len, word, n + 1);
	b->len += n;
}

int imap_capability_build(const struct imap_capability_state *st, char *buf, size_t size)
{
	struct imap_cap_buf b = {buf, size, 0, size == 0};
	const char *const *list = st->authed ? imap_capabilities_authed : imap_capabilities_preauth;
	size_t n = st->authed ? sizeof(imap_capabilities_authed) / sizeof(list[0])
	                      : sizeof(imap_capabilities_preauth) / sizeof(list[0]);

	imap_cap_add(&b, "IMAP4rev1");
	imap_cap_add(&b, "IMAP4rev2");
	for (size_t i = 0; i < n; i++)
		imap_cap_add(&b, list[i]);
	if (!st->authed) {
		if (st->starttls)
			imap_cap_add(&b, "STARTTLS");
		/* RFC 9051 6.2.3: LOGINDISABLED while LOGIN would be refused; AUTH= only where the
		   credentials are protected (RFC 8314 and Dovecot's disable_plaintext_auth). */
		imap_cap_add(&b, st->login_allowed ? "AUTH=PLAIN" : "LOGINDISABLED");
	}
	if (b.overflow) {
		if (size > 0)
			buf[0] = '\0';
		return -1;
	}
	return 0;
}
