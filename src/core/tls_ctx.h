#ifndef MAILD_TLS_CTX_H
#define MAILD_TLS_CTX_H

#include <stddef.h>

/* A server TLS context built from a certificate chain and its private key (both PEM), shared by
   the connections of one worker (struct conn, conn.h).

   Policy, fixed here so SMTP and IMAP agree:
   - TLS 1.2 minimum, TLS 1.3 allowed; for TLS 1.2 only forward-secret AEAD suites (ECDHE/DHE
     with AES-GCM or ChaCha20-Poly1305, Mozilla's "intermediate" set), server preference order.
   - No compression (CRIME), no renegotiation at all (SSL_OP_NO_RENEGOTIATION: a client's
     renegotiation ClientHello is answered with a no_renegotiation alert).
   - No session resumption: no tickets (TLS 1.2 and 1.3) and no session cache. Each worker would
     hold its own ticket key, lost at every restart and reload anyway, and a full ECDHE handshake
     costs well under a millisecond; without tickets no long-lived key in memory can decrypt past
     sessions.
   - SNI is not looked at: one certificate chain serves every name.

   Reload: load a new context, hand it to new connections, and tls_ctx_free() the old one. Every
   connection holds its own reference to the underlying SSL_CTX (taken by SSL_new), so those
   started with the old context keep it until they close. */

struct tls_ctx;
struct ssl_st;

/* Load cert_file (the certificate, then any intermediates) and key_file, and check that the key
   belongs to the certificate. 0 with *ctx_r set, or -1 with one line in error such as
   "tls.cert_file /x: No such file or directory" or
   "tls.key_file /y: key does not match certificate in /x". An encrypted key is refused (we never
   prompt for a pass phrase). Must run where key_file is readable. */
int tls_ctx_load(const char *cert_file, const char *key_file, struct tls_ctx **ctx_r, char *error,
                 size_t error_size);

/* The same from one descriptor holding the chain and then the key (IPC_TLS_RELOAD's memfd);
   runs without privileges. fd stays open. */
int tls_ctx_load_fd(int fd, struct tls_ctx **ctx_r, char *error, size_t error_size);

/* Drop this reference. Connections already using the context keep it alive. Accepts NULL;
   leaves *ctx NULL. */
void tls_ctx_free(struct tls_ctx **ctx);

/* A new server-side SSL object on this context (for conn.c); NULL when OpenSSL fails. */
struct ssl_st *tls_ctx_new_ssl(struct tls_ctx *ctx);

#endif
