/* Login for LOGIN and AUTHENTICATE: the SASL exchange through sasl_auth (the accounts worker
   checks the password and keeps the failure penalty), then the account's Maildir from accounts
   (IPC_ACCT_QUOTA), then the authenticated state; and the Dovecot-shaped log lines. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../accounts/sasl_auth.h"
#include "../core/base64.h"
#include "../core/ipc_msg.h"
#include "../core/log.h"
#include "../core/strutil.h"
#include "imap_capability.h"
#include "imap_session.h"

/* A name for a log line inside user=<...>: printable ASCII except what would end or confuse
   the field (fail2ban reads these lines), everything else as \xNN. */
static const char *imap_log_user(const char *in, char *out, size_t size)
{
	size_t o = 0;

	for (const uint8_t *p = (const uint8_t *)in; *p != '\0' && o + 5 < size; p++) {
		if (*p > ' ' && *p < 0x7f && strchr("<>,\\\"", *p) == NULL)
			out[o++] = (char)*p;
		else
			o += (size_t)snprintf(out + o, size - o, "\\x%02x", *p);
	}
	out[o] = '\0';
	return out;
}

static void imap_login_wipe(struct imap_session *s)
{
	if (s->auth_secret != NULL) {
		explicit_bzero(s->auth_secret, s->auth_secret_len);
		free(s->auth_secret);
	}
	s->auth_secret = NULL;
	s->auth_secret_len = 0;
}

void imap_login_abort(struct imap_session *s)
{
	sasl_auth_free(s->sasl); /* safe with a step in flight: its callback never comes */
	s->sasl = NULL;
	imap_login_wipe(s);
}

/* PLAIN (RFC 4616) is authzid NUL authcid NUL passwd: the authcid names the user in the logs.
   False when a part is longer than any stored name or password can be. */
static bool imap_login_plain_check(struct imap_session *s, const uint8_t *data, size_t len)
{
	const uint8_t *nul1 = memchr(data, '\0', len), *nul2;
	size_t ulen;

	if (nul1 == NULL)
		return len < IMAP_LOGIN_USER_MAX; /* malformed: sasl_auth says so */
	nul2 = memchr(nul1 + 1, '\0', len - (size_t)(nul1 + 1 - data));
	if (nul2 == NULL)
		return true;
	ulen = (size_t)(nul2 - nul1 - 1);
	if ((size_t)(nul1 - data) >= IMAP_LOGIN_USER_MAX || ulen >= IMAP_LOGIN_USER_MAX ||
	    len - (size_t)(nul2 + 1 - data) >= IMAP_LOGIN_PASS_MAX)
		return false;
	if (s->auth_user[0] == '\0') {
		memcpy(s->auth_user, nul1 + 1, ulen);
		s->auth_user[ulen] = '\0';
	}
	return true;
}

static void imap_login_step_done(void *arg, enum sasl_auth_status status, const char *out,
                                 size_t outlen, const char *user);

/* Hand data (NULL: no initial response) to the exchange; the session waits for its answer. */
static void imap_login_step(struct imap_session *s, const uint8_t *data, size_t len)
{
	imap_login_wipe(s);
	if (data != NULL) {
		/* Kept until the answer, then wiped: the password is in it. */
		s->auth_secret = malloc(len + 1);
		if (s->auth_secret == NULL)
			fatal("out of memory");
		memcpy(s->auth_secret, data, len);
		s->auth_secret[len] = '\0';
		s->auth_secret_len = len;
		if (strcmp(s->auth_mech, "PLAIN") == 0 && !imap_login_plain_check(s, data, len)) {
			imap_login_abort(s);
			imap_login_fail_now(s, "PLAIN");
			return;
		}
	}
	imap_session_wait(s);
	if (sasl_auth_step(s->sasl, (const char *)s->auth_secret, len, imap_login_step_done, s) <
	    0) {
		imap_login_abort(s);
		imap_tagged(s, IMAP_NO, "[UNAVAILABLE] Temporary authentication failure.");
	}
}

/* RELIABILITY 63: credentials are refused without TLS (LOGINDISABLED is advertised), as
   Dovecot's disable_plaintext_auth does. */
bool imap_login_refuse_plaintext(struct imap_session *s)
{
	if (imap_session_login_allowed(s))
		return false;
	s->plaintext_refused = true;
	imap_tagged(s, IMAP_NO,
	            "[PRIVACYREQUIRED] Plaintext authentication disallowed on "
	            "non-secure (SSL/TLS) connections.");
	return true;
}

void imap_login_start(struct imap_session *s, const char *mech, const char *user_hint,
                      const uint8_t *initial, size_t initial_len)
{
	(void)str_copy(s->auth_mech, sizeof(s->auth_mech), mech);
	if (user_hint == NULL || str_copy(s->auth_user, sizeof(s->auth_user), user_hint) < 0)
		s->auth_user[0] = '\0';
	s->sasl = sasl_auth_new(s->srv->w, "imap", mech, conn_peer_ip(s->conn));
	if (s->sasl == NULL) {
		imap_tagged(s, IMAP_NO, "[UNAVAILABLE] Temporary authentication failure.");
		return;
	}
	imap_login_step(s, initial, initial_len);
}

void imap_login_continue(struct imap_session *s, const uint8_t *data, size_t len)
{
	imap_login_step(s, data, len);
}

/* A continuation line of AUTHENTICATE: base64, or "*" to cancel (RFC 9051 6.2.2). */
static void imap_login_line(struct imap_session *s, const char *line, size_t len)
{
	uint8_t *buf;
	ssize_t n;

	if (len == 1 && line[0] == '*') {
		imap_login_abort(s);
		imap_tagged(s, IMAP_BAD, "Authentication cancelled.");
		return;
	}
	buf = malloc(len / 4 * 3 + 1);
	if (buf == NULL)
		fatal("out of memory");
	n = base64_decode(line, len, buf, len / 4 * 3 + 1);
	if (n < 0) {
		imap_login_abort(s);
		imap_tagged(s, IMAP_BAD, "Invalid base64 data.");
	} else {
		imap_login_continue(s, buf, (size_t)n);
	}
	explicit_bzero(buf, len / 4 * 3 + 1);
	free(buf);
}

static void imap_login_challenge(struct imap_session *s, const char *out, size_t outlen)
{
	size_t size = 2 + BASE64_ENCODED_SIZE(outlen) + 2;
	ssize_t len;
	char *line = malloc(size);

	if (line == NULL)
		fatal("out of memory");
	memcpy(line, "+ ", 2);
	len = base64_encode(out, outlen, line + 2, size - 2);
	if (len < 0)
		fatal("imap: challenge buffer");
	memcpy(line + 2 + len, "\r\n", 2);
	imap_write(s, line, 2 + (size_t)len + 2);
	free(line);
	imap_session_expect_line(s, imap_login_line);
}

static void imap_login_failed(struct imap_session *s, enum imap_status st, const char *text)
{
	s->auth_failures++;
	imap_tagged(s, st, "%s", text);
	if (s->auth_failures >= IMAP_AUTH_FAILURES_MAX && conn_is_open(s->conn))
		imap_session_bye(s, "Too many authentication failures.", NULL);
}

static void imap_login_account(struct imap_session *s, const char *user);

void imap_login_fail_now(struct imap_session *s, const char *mech)
{
	(void)str_copy(s->auth_mech, sizeof(s->auth_mech), mech);
	s->auth_user[0] = '\0';
	imap_login_failed(s, IMAP_NO, "[AUTHENTICATIONFAILED] Authentication failed.");
}

static void imap_login_step_done(void *arg, enum sasl_auth_status status, const char *out,
                                 size_t outlen, const char *user)
{
	struct imap_session *s = arg;

	imap_login_wipe(s);
	if (status == SASL_AUTH_CONTINUE) {
		imap_login_challenge(s, out, outlen);
		return;
	}
	sasl_auth_free(s->sasl);
	s->sasl = NULL;
	switch (status) {
	case SASL_AUTH_OK:
		imap_login_account(s, user);
		break;
	case SASL_AUTH_FAIL:
		/* One answer for an unknown user and a wrong password. */
		imap_login_failed(s, IMAP_NO, "[AUTHENTICATIONFAILED] Authentication failed.");
		break;
	case SASL_AUTH_LOCKED:
		imap_login_failed(s, IMAP_NO,
		                  "[UNAVAILABLE] Too many failed logins from your "
		                  "address; try again later.");
		break;
	case SASL_AUTH_MALFORMED:
		imap_login_failed(s, IMAP_BAD, "Invalid authentication data.");
		break;
	default:
		imap_tagged(s, IMAP_NO, "[UNAVAILABLE] Temporary authentication failure.");
	}
}

static void imap_login_log_ok(struct imap_session *s)
{
	char u[IMAP_USER_MAX * 4];

	log_info("imap-login: Login: user=<%s>, method=%s, rip=%s, lip=%s, mpid=%d%s, session=<%s>",
	         imap_log_user(s->user, u, sizeof(u)), s->auth_mech, conn_peer_ip(s->conn),
	         conn_local_ip(s->conn), (int)getpid(), conn_is_tls(s->conn) ? ", TLS" : "", s->id);
}

/* RELIABILITY 67: one user from one address may not hold every connection. */
static bool imap_login_user_ip_enter(struct imap_session *s)
{
	char key[IMAP_USER_MAX + 80];

	snprintf(key, sizeof(key), "%s\n%s", s->user, conn_peer_ip(s->conn));
	if (!imap_count_enter(s->srv->per_user_ip, key, s->srv->limits.max_connections_per_user_ip))
		return false;
	s->user_ip_counted = true;
	return true;
}

static void imap_login_finish(struct imap_session *s)
{
	char caps[IMAP_CAPABILITY_MAX];

	if (!imap_login_user_ip_enter(s)) {
		char u[IMAP_USER_MAX * 4];

		log_warning(
		    "imap-login: Maximum number of connections from user+IP exceeded "
		    "(imap.max_connections_per_user_ip=%u): user=<%s>, rip=%s, session=<%s>",
		    s->srv->limits.max_connections_per_user_ip,
		    imap_log_user(s->user, u, sizeof(u)), conn_peer_ip(s->conn), s->id);
		s->user[0] = '\0';
		imap_tagged(s, IMAP_NO,
		            "[LIMIT] Too many connections for this user from your "
		            "address.");
		imap_session_bye(s, "Maximum number of connections from user+IP exceeded.",
		                 "Connection limit");
		return;
	}
	s->state = IMAP_STATE_AUTH;
	s->logged_in = true;
	s->bytes_in = s->bytes_out = 0;
	imap_session_parser_update(s);
	imap_login_log_ok(s);
	imap_session_capability(s, caps, sizeof(caps));
	imap_tagged(s, IMAP_OK, "[CAPABILITY %s] Logged in", caps);
}

static void imap_login_account_done(const struct ipc_frame *frame, int fd, void *ctx)
{
	struct imap_session *s = ctx;
	struct ipc_rbuf r;
	bool found = false;

	if (fd >= 0)
		close(fd);
	if (frame != NULL) {
		ipc_rbuf_init(&r, frame->payload, frame->len);
		found = ipc_get_u8(&r) != 0;
		s->quota = ipc_get_u64(&r);
		ipc_get_str(&r, s->maildir, sizeof(s->maildir));
		if (ipc_rbuf_end(&r) < 0)
			found = false;
	}
	if (!found || s->maildir[0] != '/') {
		char u[IMAP_USER_MAX * 4];

		log_warning("imap-login: no mailbox for authenticated user=<%s> (%s), session=<%s>",
		            imap_log_user(s->user, u, sizeof(u)),
		            frame == NULL ? "accounts unreachable" : "account not found", s->id);
		s->user[0] = '\0';
		s->maildir[0] = '\0';
		imap_tagged(s, IMAP_NO, "[UNAVAILABLE] Mailbox not available; try again later.");
		return;
	}
	imap_login_finish(s);
}

/* The password is right: find the account's Maildir before saying OK. */
static void imap_login_account(struct imap_session *s, const char *user)
{
	struct ipc_wbuf b;
	int ret;

	if (user == NULL || str_copy(s->user, sizeof(s->user), user) < 0) {
		imap_tagged(s, IMAP_NO, "[UNAVAILABLE] Temporary authentication failure.");
		return;
	}
	ipc_wbuf_init(&b);
	ipc_put_str(&b, s->user);
	ret = ipc_link_request(s->srv->w->peers[ROLE_ACCOUNTS], IPC_ACCT_QUOTA, &b, -1,
	                       imap_login_account_done, s);
	ipc_wbuf_free(&b);
	if (ret < 0)
		imap_login_account_done(NULL, -1, s);
}

/* reason: why the connection closed (ours, or the conn's phrase); NULL when unknown. */
void imap_login_log_disconnect(struct imap_session *s, const char *reason)
{
	char u[IMAP_USER_MAX * 4], why[96], method[32] = "";
	uint64_t secs = (uv_now(s->srv->w->loop) - s->start_ms) / 1000;

	if (s->logged_in) {
		bool logout = reason != NULL && strcmp(reason, "Logged out") == 0;

		log_info("imap(%s)<%d><%s>: %s%s in=%llu out=%llu",
		         imap_log_user(s->user, u, sizeof(u)), (int)getpid(), s->id,
		         logout ? "" : "Disconnected: ", reason != NULL ? reason : "Disconnected",
		         (unsigned long long)s->bytes_in, (unsigned long long)s->bytes_out);
		return;
	}
	/* Dovecot's imap-login shape, which fail2ban's stock dovecot filter reads. The reason is
	   said only when it was ours (inactivity, limits): a client's close needs none. */
	reason = s->close_reason;
	if (reason != NULL && strcmp(reason, "Connection closed") == 0)
		reason = NULL;
	if (s->auth_failures > 0)
		snprintf(why, sizeof(why), "auth failed, %u attempts in %llu secs",
		         s->auth_failures, (unsigned long long)secs);
	else if (s->plaintext_refused)
		snprintf(why, sizeof(why), "tried to use disallowed plaintext auth");
	else
		snprintf(why, sizeof(why), "no auth attempts in %llu secs",
		         (unsigned long long)secs);
	if (s->auth_mech[0] != '\0')
		snprintf(method, sizeof(method), " method=%s,", s->auth_mech);
	log_info("imap-login: Disconnected%s%s (%s): user=<%s>,%s rip=%s, lip=%s%s, session=<%s>",
	         reason != NULL ? ": " : "", reason != NULL ? reason : "", why,
	         imap_log_user(s->auth_user, u, sizeof(u)), method, conn_peer_ip(s->conn),
	         conn_local_ip(s->conn), conn_is_tls(s->conn) ? ", TLS" : "", s->id);
}
