#ifndef MAILD_SMTP_SESSION_H
#define MAILD_SMTP_SESSION_H

#include <limits.h>
#include <stdarg.h>

#include "../core/conn.h"

struct sasl_auth;
#include "smtp_cmd.h"
#include "smtp_data.h"
#include "smtp_header_filter.h"
#include "smtp_line.h"
#include "smtp_server.h"

/* RFC 4954 4: AUTH lines (the command with its initial response, and the responses) may be up
   to 12288 octets; every other command stays within RFC 5321's 512. */
#define SMTP_AUTH_LINE_MAX 12288

enum smtp_mode {
	SMTP_MODE_COMMAND, /* reading command lines */
	SMTP_MODE_DATA,	   /* reading message text after 354 */
	SMTP_MODE_BDAT,	   /* reading the octets of a BDAT chunk (RFC 3030) */
	SMTP_MODE_WAIT,	   /* an answer from another worker is awaited; input is held */
};

struct smtp_session_rcpt {
	char address[520]; /* the mailbox it resolved to */
	char orig_to[520]; /* as the client gave it */
	bool remote;	   /* for the outbound queue: no maildir */
	char maildir[PATH_MAX];
	uint64_t quota;
	uint8_t notify; /* DSN (RFC 3461), kept for the queue's bounces */
	char orcpt[SMTP_ORCPT_MAX + 1];
};

struct smtp_session {
	struct smtp_server *srv;
	struct conn *conn;
	enum smtp_service service;
	char client[96]; /* "unknown[192.0.2.1]", as Postfix logs it */
	char helo[ADDRESS_DOMAIN_MAX + 1];
	bool greeted, esmtp;
	enum smtp_mode mode;
	bool discard_input; /* STARTTLS: nothing received before the handshake is kept */
	/* The command just handled must be the last of its group (RFC 2920 3.1: EHLO, HELO,
	   DATA; any command of a client that was not told PIPELINING): nothing may follow it
	   in what the client sent before reading our answer. */
	const char *sync_point;
	struct smtp_line reader;
	uint8_t line_buf[SMTP_AUTH_LINE_MAX];
	uint8_t in[SMTP_INPUT_MAX];
	size_t in_len;
	unsigned errors, junk, commands, messages;
	uint64_t start_ms;
	bool ip_counted;
	unsigned counts[SMTP_VERB_AUTH + 1];
	/* AUTH: the exchange under way, and who the client is once it succeeded */
	struct sasl_auth *sasl;
	bool auth_reading; /* the next line is a response to a 334 challenge */
	char auth_mech[24];
	char auth_user[520];
	char auth_method[24];
	/* the transaction */
	bool has_mail, null_sender, smtputf8;
	char sender[520];
	char queue_id[16];
	struct smtp_session_rcpt *rcpts;
	size_t nrcpt;
	uint8_t ret; /* DSN RET= and ENVID= of MAIL */
	char envid[SMTP_ENVID_MAX + 1];
	char pending[520]; /* the RCPT address being resolved */
	uint8_t pending_notify;
	bool pending_smtputf8;
	char pending_orcpt[SMTP_ORCPT_MAX + 1];
	struct address pending_sender; /* MAIL FROM being checked against the login */
	/* its local targets, held until their quotas are checked */
	struct smtp_session_rcpt *cand;
	size_t ncand, cand_next;
	bool quota_pending; /* an IPC_QUOTA_CHECK answer will resume the session */
	int spool_fd;
	/* Another worker got spool_fd and has not answered yet: the file must be closed, not
	   reused (smtp_spool.h). */
	bool spool_lent;
	bool bdat_started;  /* this transaction's text comes in BDAT chunks */
	bool bdat_last;	    /* the chunk being read is the LAST one */
	const char *bdat_refusal; /* read the chunk, then answer this instead */
	uint64_t bdat_left; /* octets of the chunk still to read */
	struct smtp_data data;
	struct smtp_header_filter headers; /* drops X-Spam-* on the way to the spool */
	uint64_t tx_start_ms;
	uint8_t spool_buf[16384];
	size_t spool_len;
	bool spool_failed;
};

/* smtp_session.c */
void smtp_reply(struct smtp_session *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* A 4xx/5xx answer: counted, and past SMTP_ERRORS_MAX the session ends with 421. */
void smtp_reply_error(struct smtp_session *s, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void smtp_session_wait(struct smtp_session *s);
/* Arm the deadline for what comes next: ms, or less when the session's own time runs out. */
void smtp_arm_timeout(struct smtp_session *s, uint64_t ms);
void smtp_session_resume(struct smtp_session *s);
void smtp_session_end(struct smtp_session *s, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void smtp_tx_reset(struct smtp_session *s);
const char *smtp_proto(const struct smtp_session *s);

/* smtp_session_cmd.c */
void smtp_session_command(struct smtp_session *s, const struct smtp_bytes *line);

/* smtp_session_auth.c */
void smtp_do_auth(struct smtp_session *s, const struct smtp_cmd *cmd);
/* A line answering a 334 challenge. */
void smtp_session_auth_response(struct smtp_session *s, const struct smtp_bytes *line);
/* The session ends or TLS restarts: drop any exchange under way. */
void smtp_session_auth_end(struct smtp_session *s);

/* smtp_session_data.c */
void smtp_session_data_start(struct smtp_session *s);
size_t smtp_session_data_feed(struct smtp_session *s, const uint8_t *in, size_t len);
void smtp_session_bdat_start(struct smtp_session *s, uint64_t size, bool last);
size_t smtp_session_bdat_feed(struct smtp_session *s, const uint8_t *in, size_t len);

#endif
