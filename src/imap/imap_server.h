#ifndef MAILD_IMAP_SERVER_H
#define MAILD_IMAP_SERVER_H

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "../core/worker.h"

/* What a listening socket serves (RFC 9051 11.1 STARTTLS on 143; RFC 8314 implicit TLS on 993). */
enum imap_service {
	IMAP_SERVICE_IMAP,  /* port 143: plaintext until STARTTLS */
	IMAP_SERVICE_IMAPS, /* port 993: TLS from the first byte */
};

/* The imap.* limits of the config (docs/admin.md), read once at start; a reload that changes
   them restarts the worker. */
struct imap_limits {
	unsigned max_connections, max_connections_per_ip, max_connections_per_user_ip;
	uint64_t login_timeout_ms;      /* per command before login */
	uint64_t autologout_timeout_ms; /* per command after login (RFC 9051 5.4: >= 30 min) */
	uint64_t line_max;              /* non-literal bytes of one command */
	uint64_t literal_max;           /* limits.message_size: the largest literal after login */
	bool plaintext_auth_loopback;   /* LOGIN without TLS from 127.0.0.0/8 and ::1 */
	uint64_t fts_background_min;    /* SELECT of this many messages: index in the background */
};

struct tls_ctx;
struct imap_session;
struct imap_count;

struct imap_listener {
	uv_tcp_t handle;
	enum imap_service service;
	struct imap_server *srv;
};

struct imap_server {
	struct worker *w;
	struct tls_ctx *tls; /* NULL: no certificate, no STARTTLS, no port 993 */
	struct imap_limits limits;
	struct imap_listener listeners[WORKER_LISTEN_MAX];
	size_t listener_count;
	struct imap_session *sessions; /* every live session, for stop and mailbox changes */
	unsigned session_count;
	struct imap_count *per_ip, *per_user_ip;
	bool stopping;
	uv_timer_t trim_timer; /* imap_server_trim_soon() */
	bool trim_pending;
	uv_timer_t recheck_timer; /* imap_server_recheck_soon() */
	bool recheck_pending;
};

/* imap_count.c: live connections by key (client address; user and address), a small hash.
   Every entry is a live connection, so the table is bounded by imap.max_connections. */
struct imap_count *imap_count_new(void);
/* Count one more for key; false (nothing counted) when key already has limit. */
bool imap_count_enter(struct imap_count *t, const char *key, unsigned limit);
void imap_count_leave(struct imap_count *t, const char *key);

/* imap_session.c */
void imap_session_accept(struct imap_listener *l);
/* SIGTERM: sessions between commands say BYE now, the others after their command. */
void imap_sessions_stop(struct imap_server *srv);

/* imap_role.c: sessions went idle or ended and gave memory back: return the freed pages to
   the system a second later, once for a whole burst (malloc_trim). Thousands of IDLE
   sessions set up at once would otherwise keep the high-water mark of their SELECTs. */
void imap_server_trim_soon(struct imap_server *srv);

/* imap_role.c: IDLE sessions whose last sync left a scan for later (mbox_sync_deferred(),
   marked sel->recheck) sync again a little over a second from now. */
void imap_server_recheck_soon(struct imap_server *srv);

/* imap_role.c: a session ends; after SIGTERM the last one out ends the worker. */
void imap_server_session_gone(struct imap_server *srv);
/* Delivery stored a message in maildir (account root), folder ("" INBOX). Wakes the IDLE
   sessions of that mailbox once IDLE exists (imap_session.h: on_mailbox_changed). */
void imap_server_mailbox_changed(struct imap_server *srv, const char *maildir, const char *folder);

#endif
