#ifndef MAILD_CONN_H
#define MAILD_CONN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

/* One accepted TCP connection on the worker's libuv loop, plaintext or TLS (OpenSSL through
   memory BIOs), for the SMTP and IMAP servers.

   Lifetime. conn_new() returns a conn that owns itself. It goes away through one path: an
   error, the peer, a timeout or conn_close() start the close; once libuv has closed the socket
   and timers, on_close runs exactly once and the conn is freed right after it returns. Until
   on_close the pointer stays valid, so a callback may call conn_close() (or anything else) on
   its own conn: no callback of ours frees it underneath the caller. After the close has started
   no on_read, on_eof, on_tls_ready, on_timeout or on_drain comes, conn_write() returns -1 and
   the getters keep working. Never run the loop recursively from a callback.

   The process must ignore SIGPIPE (worker.c does): a write to a reset connection is an error
   to report, not a signal. */

struct conn;
struct tls_ctx;

/* Plaintext from the client, decrypted when TLS is on; len > 0. data is ours and valid only
   during the call: keep what you need. */
typedef void conn_read_cb(struct conn *c, const uint8_t *data, size_t len, void *ctx);
typedef void conn_event_cb(struct conn *c, void *ctx);
/* The conn is closing for good: free your session here. reason is one short phrase ("connection
   closed by client", "timeout", "TLS handshake failed: unsupported protocol", "output limit
   exceeded", "closed by server", ...) valid during the call. Only getters may be used on c. */
typedef void conn_close_cb(struct conn *c, const char *reason, void *ctx);

struct conn_callbacks {
	/* required; data lives in one buffer shared by every conn of the process: copy what
	   you keep first, before anything that could resume another conn */
	conn_read_cb *on_read;
	conn_close_cb *on_close; /* required */
	/* The TLS handshake completed; conn_is_tls() is true from now on. Optional. */
	conn_event_cb *on_tls_ready;
	/* The client closed its sending side (TCP FIN or TLS close_notify): no more on_read. Finish
	   what you have (replies can still be written) and conn_close(c, true). When NULL the conn
	   does that itself at once. May come during a TLS handshake, before on_tls_ready. */
	conn_event_cb *on_eof;
	/* The deadline of conn_set_timeout() passed. Write a goodbye and conn_close(c, true), or
	   re-arm with conn_set_timeout(). If it does neither, or is NULL, the conn closes itself
	   (flushing) with reason "timeout". */
	conn_event_cb *on_timeout;
	/* Output that had to wait in our memory (conn_output_pending() > 0) has all gone to the
	   kernel; once per such episode. A sender of large data (IMAP FETCH) writes until
	   conn_output_pending() passes its own mark, then continues from here. Optional. */
	conn_event_cb *on_drain;
};

#define CONN_READ_BUF 16384                      /* bytes delivered per on_read, at most */
#define CONN_OUTPUT_LIMIT_DEFAULT (1024u * 1024) /* see conn_set_output_limit() */
#define CONN_HANDSHAKE_TIMEOUT_DEFAULT 30000     /* ms */
#define CONN_FLUSH_TIMEOUT_DEFAULT 10000         /* ms */

/* Accept one connection from server (call it from the server's uv_connection_cb) and start
   reading; callbacks are copied, ctx is passed to each of them. NULL when the accept failed
   (logged; no callback will run). TCP_NODELAY is set: replies go out as they are written. */
struct conn *conn_new(uv_loop_t *loop, uv_stream_t *server, const struct conn_callbacks *cb,
                      void *ctx);

/* Send plaintext to the client, encrypted when TLS is on, in order. What the kernel does not take
   at once is copied and queued. Written before the TLS handshake completes, it waits and goes
   out encrypted right after it. 0 ok; -1 when the conn is closing, or when the queue would pass
   the output limit: then the conn is closed at once (reason "output limit exceeded"). len must
   stay under INT_MAX (a bug of ours otherwise: fatal). Each call costs one send (one TLS record
   per 16 KiB): build a reply and write it whole rather than in small pieces. */
int conn_write(struct conn *c, const void *data, size_t len);
/* Bytes accepted by conn_write() that still wait in our memory for the kernel to take them. */
size_t conn_output_pending(const struct conn *c);
/* Bound on conn_output_pending() (default CONN_OUTPUT_LIMIT_DEFAULT): a client that does not
   read must not grow our memory. To send more than this (IMAP FETCH of a large message), write
   pieces while conn_output_pending() is under your own mark and continue from on_drain. */
void conn_set_output_limit(struct conn *c, size_t bytes);

/* Start TLS as the server: right after conn_new() for implicit TLS (465, 993), or for STARTTLS
   after writing the "ready" reply (that reply goes out in plaintext first, the handshake after).
   Every byte that arrives from now on is TLS; on_read resumes with decrypted data once the
   handshake is done (on_tls_ready). A failed handshake, or none within the handshake timeout,
   closes the conn. 0 ok; -1 when TLS is already on, the conn is closing or OpenSSL failed.

   STARTTLS injection (CVE-2011-0411, RFC 3207 4.2, RFC 2595 3.1). The conn's side: it holds no
   plaintext it has not delivered (each read is handed to on_read whole, a paused conn reads
   nothing), and every byte read after this call goes to TLS as ciphertext, where injected
   plaintext fails the handshake. YOUR side: when the STARTTLS command arrives followed by more
   bytes, in the same on_read or already in your own line buffer, throw those bytes away and
   stop parsing; they were sent before TLS and may come from a man in the middle. Then forget
   everything learnt before TLS (EHLO name, AUTH state) as the RFCs require. */
int conn_start_tls(struct conn *c, struct tls_ctx *ctx);

/* Stop delivering on_read (and on_eof) until conn_resume(), e.g. while waiting for an IPC
   reply. Nothing is lost: the socket is simply not read, so the kernel and the client's TCP
   window hold what comes meanwhile (a paused TLS handshake waits too). Writing still works.
   Safe inside on_read: no more on_read comes after the one that paused, even when TLS data
   already decrypted or buffered remains; conn_resume() delivers it from the next loop turn,
   never from inside conn_resume() itself. */
void conn_pause(struct conn *c);
void conn_resume(struct conn *c);

/* Close. flush true: stop reading, send what is queued (with a TLS close_notify), then close,
   giving up after the flush timeout (the reason becomes "flush timeout"). flush false: close
   now, dropping queued output. Safe to call more than once and from any callback; on_close
   follows from the loop. */
void conn_close(struct conn *c, bool flush);
/* The conn is neither closing nor closed: on_read and conn_write still work. */
bool conn_is_open(const struct conn *c);

/* Deadline ms from now (0: none), measured on the loop's monotonic clock (uv_now). Incoming
   bytes do not move it: re-arm it yourself, e.g. for each command; a client trickling one byte
   a second still hits it. See on_timeout. */
void conn_set_timeout(struct conn *c, uint64_t ms);
/* Limit on the TLS handshake from conn_start_tls() (default CONN_HANDSHAKE_TIMEOUT_DEFAULT;
   0: none); applies to a handshake under way from now. On expiry the conn closes with reason
   "TLS handshake timeout". */
void conn_set_handshake_timeout(struct conn *c, uint64_t ms);
/* How long conn_close(c, true) may take to send what is queued (default
   CONN_FLUSH_TIMEOUT_DEFAULT). */
void conn_set_flush_timeout(struct conn *c, uint64_t ms);

/* The client's address ("203.0.113.5", "2001:db8::1"; an IPv4-mapped IPv6 address is shown as
   IPv4; "unknown" if the kernel did not say) and port, and ours. */
const char *conn_peer_ip(const struct conn *c);
uint16_t conn_peer_port(const struct conn *c);
const char *conn_local_ip(const struct conn *c);
uint16_t conn_local_port(const struct conn *c);

/* True once the TLS handshake has completed (not merely started). */
bool conn_is_tls(const struct conn *c);
/* "TLSv1.3", "TLSv1.2"; NULL until conn_is_tls(). */
const char *conn_tls_version(const struct conn *c);
/* "TLS_AES_256_GCM_SHA384", "ECDHE-ECDSA-AES128-GCM-SHA256"; NULL until conn_is_tls(). */
const char *conn_tls_cipher(const struct conn *c);

#endif
