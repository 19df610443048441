#ifndef MAILD_IMAP_SESSION_H
#define MAILD_IMAP_SESSION_H

#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>

#include "../core/conn.h"
#include "imap_parser.h"
#include "imap_server.h"

/*
 * One IMAP connection (RFC 9051). The session feeds its input to the parser, dispatches each
 * command from the table in imap_commands.c, and writes replies. A command handler answers
 * with imap_tagged(), which ends the command; until then no further command is read. A
 * handler that waits for another worker calls imap_session_wait() and answers later from its
 * callback; one that needs a continuation line (AUTHENTICATE, IDLE's DONE) sends "+ ..." and
 * calls imap_session_expect_line().
 */

enum imap_state {
	IMAP_STATE_NOT_AUTH,
	IMAP_STATE_AUTH,
	IMAP_STATE_SELECTED,
	IMAP_STATE_LOGOUT,
};
#define IMAP_STATE_BIT(st) (1u << (st))
#define IMAP_NOT_AUTH IMAP_STATE_BIT(IMAP_STATE_NOT_AUTH)
#define IMAP_AUTH IMAP_STATE_BIT(IMAP_STATE_AUTH)
#define IMAP_SELECTED IMAP_STATE_BIT(IMAP_STATE_SELECTED)
#define IMAP_ANY_STATE (IMAP_NOT_AUTH | IMAP_AUTH | IMAP_SELECTED)

enum imap_status { IMAP_OK, IMAP_NO, IMAP_BAD };

/* ENABLEd extensions (RFC 5161), s->enabled. */
#define IMAP_ENABLED_UTF8_ACCEPT 0x1u
#define IMAP_ENABLED_IMAP4REV2 0x2u
#define IMAP_ENABLED_CONDSTORE 0x4u
#define IMAP_ENABLED_QRESYNC 0x8u

/* Tags are atoms of the command line; longer ones are refused with an untagged BAD. */
#define IMAP_TAG_MAX 128
/* A user name as the client gave it or as accounts returned it, NUL included. */
#define IMAP_USER_MAX 520
/* Input held while a command waits: a read is at most CONN_READ_BUF and reading pauses while
   waiting, so twice that always suffices. */
#define IMAP_INPUT_MAX (2 * CONN_READ_BUF)
/* Output queued in our memory before the client is cut off (conn_set_output_limit). A command
   that sends more (FETCH) writes up to its own lower mark and goes on from on_drain. */
#define IMAP_OUTPUT_LIMIT (4u * 1024 * 1024)
/* Consecutive BAD replies before the connection is closed: stricter before login. */
#define IMAP_BAD_MAX_PREAUTH 3
#define IMAP_BAD_MAX 20
/* Failed logins on one connection before it is closed. */
#define IMAP_AUTH_FAILURES_MAX 3

struct imap_session;
struct imap_selected;
struct imap_job;
struct sasl_auth;

typedef void imap_session_cb(struct imap_session *s);
/* A continuation line (line end removed, NUL-terminated, len bytes). */
typedef void imap_line_cb(struct imap_session *s, const char *line, size_t len);

struct imap_session {
	struct imap_server *srv;
	struct imap_session *prev, *next; /* srv->sessions */
	struct conn *conn;
	enum imap_service service;
	enum imap_state state;
	struct imap_parser *parser;
	char id[16];            /* session=<...> in the logs */
	char tag[IMAP_TAG_MAX]; /* the running command's tag */
	bool in_command;        /* dispatched, no tagged reply yet */
	bool waiting;           /* input paused until the command goes on */
	bool processing;        /* inside the input loop */
	bool discard_input;     /* STARTTLS: drop what was pipelined behind it */
	bool bye_pending;       /* SIGTERM came during a command: BYE after it */
	imap_line_cb *line_cb;  /* a continuation line is expected */
	unsigned bad_in_row;
	unsigned enabled; /* IMAP_ENABLED_* */
	uint8_t *in; /* input not yet parsed, IMAP_INPUT_MAX; NULL when none (idle sessions) */
	size_t in_len;
	uint64_t start_ms;
	bool ip_counted, user_ip_counted;
	const char *refusal;      /* over a limit on port 993: BYE text for after the handshake */
	const char *close_reason; /* ours, for the disconnect log line */
	/* login (imap_login.c) */
	struct sasl_auth *sasl;
	char auth_mech[16];            /* "PLAIN"; empty: never tried */
	char auth_user[IMAP_USER_MAX]; /* as the client gave it, for the logs */
	unsigned auth_failures;
	bool plaintext_refused; /* LOGIN/AUTHENTICATE without TLS was refused */
	uint8_t *auth_secret;   /* bytes handed to sasl_auth_step, wiped when it answers */
	size_t auth_secret_len;
	/* after login */
	bool logged_in;
	char user[IMAP_USER_MAX];     /* canonical local@domain */
	char maildir[PATH_MAX];       /* the account's Maildir++ root */
	uint64_t quota;               /* bytes, 0 unlimited */
	uint64_t bytes_in, bytes_out; /* since login, for "Logged out in= out=" */
	/* the selected folder (imap_mailbox.h); NULL outside IMAP_STATE_SELECTED */
	struct imap_selected *sel;
	struct imap_job *job; /* a thread-pool job under way (imap_job.c) */
	bool close_deferred;  /* the connection closed during a job: free when it ends */
	/* Hooks for the commands to come; NULL until set. */
	imap_session_cb *on_mailbox_changed; /* delivery stored mail in s->maildir (IDLE) */
	imap_session_cb *on_drain;           /* queued output went out (large FETCH) */
	/* The running command's own state, and how to free it when the connection closes before
	   the command ends (a client gone during a long FETCH). The session forgets both at the
	   tagged reply: free your state before answering. Called after any job has ended. */
	void *cmd_ctx;
	void (*cmd_free)(void *cmd_ctx);
	struct imap_command uid_cmd;         /* UID <cmd>: the sub-command (imap_cmd_uid.c) */
};

/* --- replies (imap_session.c) --- */
/* One line, CRLF added: "* ...", "+ ...". */
void imap_send(struct imap_session *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Raw bytes (literal data); counted in bytes_out. */
void imap_write(struct imap_session *s, const void *data, size_t len);
/* "<tag> OK|NO|BAD <text>" for the running command, and the command ends: the next one is read,
   consecutive BADs are counted, and a pending shutdown says BYE. text usually starts with a
   response code: "[AUTHENTICATIONFAILED] Authentication failed." */
void imap_tagged(struct imap_session *s, enum imap_status st, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* "* BYE <text>" and close (flushing). reason goes to the disconnect log line. */
void imap_session_bye(struct imap_session *s, const char *text, const char *reason);

/* --- command flow (imap_session.c) --- */
/* Stop reading input until imap_tagged() or imap_session_expect_line(). */
void imap_session_wait(struct imap_session *s);
/* Read input again after a wait, inside a command that goes on (IDLE between its syncs); the
   expected line, if any, is still expected. */
void imap_session_resume(struct imap_session *s);
/* The next line is raw text for cb (after a "+ " continuation request); reading resumes. */
void imap_session_expect_line(struct imap_session *s, imap_line_cb *cb);
/* Re-arm the inactivity deadline for the session's state. */
void imap_session_arm_timeout(struct imap_session *s);
/* Capabilities for this session now (imap_capability.h); buf of IMAP_CAPABILITY_MAX. */
void imap_session_capability(const struct imap_session *s, char *buf, size_t size);
/* Credentials may be sent now: TLS, or loopback with imap.allow_plaintext_auth_loopback. */
bool imap_session_login_allowed(const struct imap_session *s);
/* Parser limits for the state (line length, literal sizes) and UTF-8 after ENABLE. */
void imap_session_parser_update(struct imap_session *s);

/* --- input (imap_session_input.c) --- */
void imap_session_input(struct imap_session *s, const uint8_t *data, size_t len);
/* Go on reading the held input after a wait. */
void imap_session_process(struct imap_session *s);

/* --- login (imap_login.c): LOGIN and AUTHENTICATE share it --- */
/* Start an exchange with mechanism mech; initial is the decoded initial response (NULL:
   none). user_hint names the user for the logs. The session waits until it ends. */
void imap_login_start(struct imap_session *s, const char *mech, const char *user_hint,
                      const uint8_t *initial, size_t initial_len);
/* Credentials no account can have (a user name or password longer than any stored): the same
   answer as a wrong password, counted as a failure, without asking anyone. */
void imap_login_fail_now(struct imap_session *s, const char *mech);
/* Longest user name and password passed on, NUL included (as sasl_auth.c takes them). */
#define IMAP_LOGIN_USER_MAX IMAP_USER_MAX
#define IMAP_LOGIN_PASS_MAX 1024
/* The client's base64 answer to a challenge (AUTHENTICATE), already decoded. */
void imap_login_continue(struct imap_session *s, const uint8_t *data, size_t len);
/* Credentials may not be sent now: answers NO [PRIVACYREQUIRED] and returns true. */
bool imap_login_refuse_plaintext(struct imap_session *s);
/* Forget an exchange under way (cancel, close). */
void imap_login_abort(struct imap_session *s);
/* The log lines at the end of a session (imap-login: Disconnected ..., imap(u): Logged out). */
void imap_login_log_disconnect(struct imap_session *s, const char *reason);

#endif
