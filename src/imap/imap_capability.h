#ifndef MAILD_IMAP_CAPABILITY_H
#define MAILD_IMAP_CAPABILITY_H

#include <stdbool.h>
#include <stddef.h>

/* The CAPABILITY list for a session's situation, as the greeting, the CAPABILITY command and
   the OK after login announce it (RFC 9051 6.1.1, 7.2.2). Pure: no session, no socket. */

struct imap_capability_state {
	bool authed;        /* logged in: the mailbox extensions, LITERAL+ */
	bool starttls;      /* STARTTLS can be offered: port 143, a certificate, no TLS yet */
	bool login_allowed; /* credentials may be sent now (TLS, or loopback when allowed) */
};

/* Before login: IMAP4rev1 IMAP4rev2 SASL-IR LITERAL- ID ENABLE, then STARTTLS when it can be
   offered, then AUTH=PLAIN when credentials may be sent, else LOGINDISABLED (RFC 9051 6.2.3).
   After login: IMAP4rev1 IMAP4rev2 and the list in imap_capability.c, one place to trim when a
   command is missing. The text goes to buf with a NUL; -1 when it does not fit. */
int imap_capability_build(const struct imap_capability_state *st, char *buf, size_t size);

/* Longest result, NUL included, with some room to grow. */
#define IMAP_CAPABILITY_MAX 512

#endif
