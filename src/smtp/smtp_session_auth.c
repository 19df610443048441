/* AUTH (RFC 4954) on the submission ports, under TLS only; the exchange runs through
   sasl_auth.c and the password is checked by the accounts worker. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../accounts/sasl_auth.h"
#include "../core/base64.h"
#include "../core/log.h"
#include "../core/strutil.h"
#include "smtp_session.h"

/* RFC 4954 4: a response line may be up to 12288 octets; PLAIN and LOGIN need far less. */
#define SMTP_AUTH_DECODED_MAX 9216

static void smtp_auth_forget(struct smtp_session *s)
{
	sasl_auth_free(s->sasl);
	s->sasl = NULL;
	s->auth_mech[0] = '\0';
}

static void smtp_auth_failed_log(struct smtp_session *s, const char *why)
{
	/* The Postfix shape fail2ban's postfix-sasl filter matches; never the password. */
	log_warning("warning: %s: SASL %s authentication failed: %s", s->client, s->auth_mech, why);
}

static void smtp_auth_step_done(void *arg, enum sasl_auth_status status, const char *out,
				size_t outlen, const char *user)
{
	struct smtp_session *s = arg;
	char challenge[BASE64_ENCODED_SIZE(1024)];

	s->mode = SMTP_MODE_COMMAND;
	switch (status) {
	case SASL_AUTH_CONTINUE:
		if (base64_encode(out, outlen, challenge, sizeof(challenge)) < 0) {
			smtp_auth_forget(s);
			smtp_reply_error(s, "454 4.7.0 Temporary authentication failure");
			break;
		}
		smtp_reply(s, "334 %s", challenge);
		s->auth_reading = true;
		break;
	case SASL_AUTH_OK:
		(void)str_copy(s->auth_user, sizeof(s->auth_user), user);
		(void)str_copy(s->auth_method, sizeof(s->auth_method), s->auth_mech);
		log_info("%s: sasl_method=%s, sasl_username=%s", s->client, s->auth_method,
			 log_esc(s->auth_user));
		smtp_auth_forget(s);
		smtp_reply(s, "235 2.7.0 Authentication successful");
		break;
	case SASL_AUTH_FAIL:
		smtp_auth_failed_log(s, "authentication failure");
		smtp_auth_forget(s);
		smtp_reply_error(s, "535 5.7.8 Error: authentication failed: authentication failure");
		break;
	case SASL_AUTH_LOCKED:
		smtp_auth_failed_log(s, "too many failures from this address");
		smtp_auth_forget(s);
		smtp_reply_error(s, "454 4.7.0 Temporary authentication failure: too many failed "
				    "attempts, try again later");
		break;
	case SASL_AUTH_MALFORMED:
		smtp_auth_failed_log(s, "malformed response");
		smtp_auth_forget(s);
		smtp_reply_error(s, "501 5.5.2 Error: malformed authentication response");
		break;
	default:
		smtp_auth_forget(s);
		smtp_reply_error(s, "454 4.7.0 Temporary authentication failure");
	}
	smtp_session_resume(s);
}

/* Hand decoded client bytes (NULL: none yet) to the exchange; the session waits. */
static void smtp_auth_feed(struct smtp_session *s, const char *in, size_t len)
{
	if (sasl_auth_step(s->sasl, in, len, smtp_auth_step_done, s) < 0) {
		smtp_auth_forget(s);
		smtp_reply_error(s, "454 4.7.0 Temporary authentication failure");
		return;
	}
	smtp_session_wait(s);
}

/* Base64 from the client; -1 (answered) when it is not. */
static ssize_t smtp_auth_decode(struct smtp_session *s, const uint8_t *p, size_t len, char *out,
				size_t out_size)
{
	ssize_t n = base64_decode((const char *)p, len, out, out_size);

	if (n < 0) {
		smtp_auth_failed_log(s, "malformed base64");
		smtp_auth_forget(s);
		smtp_reply_error(s, "501 5.5.2 Error: cannot decode response");
	}
	return n;
}

void smtp_do_auth(struct smtp_session *s, const struct smtp_cmd *cmd)
{
	char decoded[SMTP_AUTH_DECODED_MAX];
	ssize_t n;

	if (!conn_is_tls(s->conn)) {
		/* RELIABILITY 30: never before TLS (Postfix smtpd_tls_auth_only). */
		smtp_reply_error(s, "530 5.7.0 Must issue a STARTTLS command first");
		return;
	}
	if (s->service == SMTP_SERVICE_MX) {
		smtp_reply_error(s, "503 5.5.1 Error: authentication not enabled");
		return;
	}
	if (!s->greeted || !s->esmtp) {
		smtp_reply_error(s, "503 5.5.1 Error: send EHLO first");
		return;
	}
	if (s->auth_user[0] != '\0') {
		smtp_reply_error(s, "503 5.5.1 Error: already authenticated");
		return;
	}
	if (s->has_mail) {
		smtp_reply_error(s, "503 5.5.1 Error: MAIL transaction in progress");
		return;
	}
	if (!sasl_auth_mechanism_known(cmd->auth.mech)) {
		smtp_reply_error(s, "504 5.5.4 Error: unsupported authentication mechanism");
		return;
	}
	(void)str_copy(s->auth_mech, sizeof(s->auth_mech), cmd->auth.mech);
	s->sasl = sasl_auth_new(s->srv->w, "smtp", cmd->auth.mech, conn_peer_ip(s->conn));
	if (s->sasl == NULL) {
		s->auth_mech[0] = '\0';
		smtp_reply_error(s, "454 4.7.0 Temporary authentication failure");
		return;
	}
	if (!cmd->auth.has_initial) {
		smtp_auth_feed(s, NULL, 0);
		return;
	}
	/* RFC 4954 4: "=" is an initial response of zero length. */
	if (cmd->auth.initial.len == 1 && cmd->auth.initial.p[0] == '=') {
		smtp_auth_feed(s, "", 0);
		return;
	}
	n = smtp_auth_decode(s, cmd->auth.initial.p, cmd->auth.initial.len, decoded,
			     sizeof(decoded));
	if (n >= 0)
		smtp_auth_feed(s, decoded, (size_t)n);
	explicit_bzero(decoded, sizeof(decoded));
}

void smtp_session_auth_response(struct smtp_session *s, const struct smtp_bytes *line)
{
	char decoded[SMTP_AUTH_DECODED_MAX];
	ssize_t n;

	s->auth_reading = false;
	s->commands++;
	smtp_arm_timeout(s, s->srv->limits.command_timeout_ms);
	if (line->len == 1 && line->p[0] == '*') {
		/* RELIABILITY 36 */
		smtp_auth_forget(s);
		smtp_reply_error(s, "501 5.0.0 Error: authentication cancelled");
		return;
	}
	n = smtp_auth_decode(s, line->p, line->len, decoded, sizeof(decoded));
	if (n >= 0)
		smtp_auth_feed(s, decoded, (size_t)n);
	explicit_bzero(decoded, sizeof(decoded));
}

void smtp_session_auth_end(struct smtp_session *s)
{
	smtp_auth_forget(s);
}
