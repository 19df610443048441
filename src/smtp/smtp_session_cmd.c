/* SMTP commands: validation apart from effect, dispatched from a table (RFC 5321 4.1). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <unistd.h>

#include "../accounts/resolve.h"
#include "../accounts/sasl_auth.h"
#include "../core/ipc_msg.h"
#include "../core/log.h"
#include "../core/strutil.h"
#include "smtp_session.h"

typedef void smtp_cmd_fn(struct smtp_session *s, const struct smtp_cmd *cmd);

/* The extensions whose parameters MAIL and RCPT accept (they are what EHLO advertises). */
#define SMTP_EXTENSIONS (SMTP_EXT_SIZE | SMTP_EXT_8BITMIME | SMTP_EXT_SMTPUTF8 | SMTP_EXT_DSN)

static void smtp_do_ehlo(struct smtp_session *s, const struct smtp_cmd *cmd)
{
	struct smtp_server *srv = s->srv;
	bool tls = srv->tls != NULL && !conn_is_tls(s->conn);

	smtp_tx_reset(s);
	s->sync_point = cmd->verb == SMTP_VERB_EHLO ? "EHLO" : "HELO";
	(void)str_copy(s->helo, sizeof(s->helo), cmd->helo.domain);
	s->greeted = true;
	s->esmtp = cmd->verb == SMTP_VERB_EHLO;
	if (!s->esmtp) {
		smtp_reply(s, "250 %s", srv->hostname);
		return;
	}
	smtp_reply(s, "250-%s", srv->hostname);
	smtp_reply(s, "250-PIPELINING");
	smtp_reply(s, "250-SIZE %llu", (unsigned long long)srv->size_max);
	smtp_reply(s, "250-8BITMIME");
	smtp_reply(s, "250-SMTPUTF8");
	smtp_reply(s, "250-ENHANCEDSTATUSCODES");
	smtp_reply(s, "250-CHUNKING");
	/* RELIABILITY 30: AUTH only under TLS, and only where users submit. */
	if (conn_is_tls(s->conn) && s->service != SMTP_SERVICE_MX && s->auth_user[0] == '\0')
		smtp_reply(s, "250-AUTH %s", sasl_auth_mechanisms());
	smtp_reply(s, tls ? "250-DSN" : "250 DSN");
	if (tls)
		smtp_reply(s, "250 STARTTLS");
}

static void smtp_do_starttls(struct smtp_session *s, const struct smtp_cmd *cmd)
{
	if (conn_is_tls(s->conn)) {
		smtp_reply_error(s, "554 5.5.1 Error: TLS already active");
		return;
	}
	if (s->srv->tls == NULL) {
		smtp_reply_error(s, "454 4.7.0 TLS not available due to local problem");
		return;
	}
	if (cmd->arg.len > 0) {
		smtp_reply_error(s, "501 5.5.4 Syntax: STARTTLS");
		return;
	}
	smtp_reply(s, "220 2.0.0 Ready to start TLS");
	if (conn_start_tls(s->conn, s->srv->tls) < 0) {
		smtp_session_end(s, "421 4.7.0 %s Error: TLS failed", s->srv->hostname);
		return;
	}
	/* RFC 3207 4.2: forget everything learnt before TLS, including buffered commands. */
	smtp_tx_reset(s);
	smtp_session_auth_end(s);
	s->auth_user[0] = '\0';
	s->greeted = false;
	s->helo[0] = '\0';
	smtp_line_reset(&s->reader);
	s->discard_input = true;
}

static void smtp_new_queue_id(struct smtp_session *s)
{
	uint8_t r[5];

	if (getrandom(r, sizeof(r), 0) != (ssize_t)sizeof(r))
		fatal("getrandom failed");
	snprintf(s->queue_id, sizeof(s->queue_id), "%02X%02X%02X%02X%02X", r[0], r[1], r[2], r[3],
		 r[4]);
}

/* The transaction starts (the sender is acceptable). */
static void smtp_mail_accept(struct smtp_session *s, const struct smtp_cmd *cmd)
{
	s->has_mail = true;
	s->null_sender = cmd->mail.null_sender;
	s->smtputf8 = cmd->mail.smtputf8;
	s->ret = (uint8_t)cmd->mail.ret;
	(void)str_copy(s->envid, sizeof(s->envid), cmd->mail.envid);
	if (!s->null_sender)
		address_format(&cmd->mail.addr, s->sender, sizeof(s->sender));
	smtp_new_queue_id(s);
	s->tx_start_ms = uv_now(s->srv->w->loop);
	smtp_reply(s, "250 2.1.0 Ok");
}

static void smtp_mail_refuse_sender(struct smtp_session *s, const char *sender)
{
	log_info("NOQUEUE: reject: MAIL from %s: 553 5.7.1 <%s>: Sender address rejected: not "
		 "owned by user %s; from=<%s> proto=%s helo=<%s>",
		 s->client, log_esc(sender), log_esc(s->auth_user), log_esc(sender),
		 smtp_proto(s), log_esc(s->helo));
	smtp_reply_error(s, "553 5.7.1 <%s>: Sender address rejected: not owned by user %s",
			 sender, s->auth_user);
}

/* Is the login among the mailboxes the sender address resolves to? */
static bool smtp_sender_targets_include(struct ipc_rbuf *r, const char *user)
{
	uint32_t n = ipc_get_u32(r);
	bool found = false;

	for (uint32_t i = 0; i < n && !r->failed; i++) {
		char address[520], maildir[PATH_MAX];

		(void)ipc_get_bool(r);
		(void)ipc_get_i64(r);
		ipc_get_str(r, address, sizeof(address));
		(void)ipc_get_u64(r);
		ipc_get_str(r, maildir, sizeof(maildir));
		if (!r->failed && strcasecmp(address, user) == 0)
			found = true;
	}
	return ipc_rbuf_end(r) == 0 && found;
}

static void smtp_mail_owner_done(const struct ipc_frame *frame, int fd, void *ctx)
{
	struct smtp_session *s = ctx;
	char sender[520], fail_text[512];
	struct smtp_cmd cmd = { 0 };
	struct ipc_rbuf r;
	uint8_t status = RESOLVE_TEMPFAIL;

	if (fd >= 0)
		close(fd);
	address_format(&s->pending_sender, sender, sizeof(sender));
	if (frame != NULL) {
		ipc_rbuf_init(&r, frame->payload, frame->len);
		status = ipc_get_u8(&r);
		ipc_get_str(&r, fail_text, sizeof(fail_text));
		if (r.failed)
			status = RESOLVE_TEMPFAIL;
	}
	if (status == RESOLVE_OK && smtp_sender_targets_include(&r, s->auth_user)) {
		cmd.mail.addr = s->pending_sender;
		cmd.mail.smtputf8 = s->pending_smtputf8;
		cmd.mail.ret = (enum smtp_ret)s->ret;
		(void)str_copy(cmd.mail.envid, sizeof(cmd.mail.envid), s->envid);
		smtp_mail_accept(s, &cmd);
	} else if (status == RESOLVE_TEMPFAIL) {
		smtp_reply_error(s, "451 4.3.0 <%s>: Temporary lookup failure", sender);
	} else {
		smtp_mail_refuse_sender(s, sender);
	}
	s->mode = SMTP_MODE_COMMAND;
	smtp_session_resume(s);
}

/* RELIABILITY 27: a user sends as their own address, as an alias that reaches them, or with
   the null sender; anything else is someone else's. */
static void smtp_mail_check_owner(struct smtp_session *s, const struct smtp_cmd *cmd)
{
	char sender[520];
	struct ipc_wbuf b;

	address_format(&cmd->mail.addr, sender, sizeof(sender));
	if (cmd->mail.null_sender || strcasecmp(sender, s->auth_user) == 0) {
		smtp_mail_accept(s, cmd);
		return;
	}
	/* Kept while accounts answers: the parsed command does not outlive this call. */
	s->pending_sender = cmd->mail.addr;
	s->pending_smtputf8 = cmd->mail.smtputf8;
	s->ret = (uint8_t)cmd->mail.ret;
	(void)str_copy(s->envid, sizeof(s->envid), cmd->mail.envid);
	ipc_wbuf_init(&b);
	ipc_put_str(&b, sender);
	if (ipc_link_request(s->srv->w->peers[ROLE_ACCOUNTS], IPC_ACCT_RESOLVE, &b, -1,
			     smtp_mail_owner_done, s) < 0)
		smtp_reply_error(s, "451 4.3.0 <%s>: Temporary lookup failure", sender);
	else
		smtp_session_wait(s);
	ipc_wbuf_free(&b);
}

static void smtp_do_mail(struct smtp_session *s, const struct smtp_cmd *cmd)
{
	if (!s->greeted) {
		smtp_reply_error(s, "503 5.5.1 Error: send HELO/EHLO first");
		return;
	}
	if (s->has_mail) {
		smtp_reply_error(s, "503 5.5.1 Error: nested MAIL command");
		return;
	}
	if (s->messages >= s->srv->limits.max_messages) {
		smtp_session_end(s, "421 4.7.0 %s Error: too many messages in one connection",
				 s->srv->hostname);
		return;
	}
	if (s->service != SMTP_SERVICE_MX && s->auth_user[0] == '\0') {
		/* RFC 6409 4.3 and the issue: submission needs AUTH, which needs TLS first. */
		smtp_reply_error(s, conn_is_tls(s->conn)
					    ? "530 5.7.0 Authentication required"
					    : "530 5.7.0 Must issue a STARTTLS command first");
		return;
	}
	if (s->auth_user[0] != '\0')
		smtp_mail_check_owner(s, cmd);
	else
		smtp_mail_accept(s, cmd);
}

static void smtp_log_rcpt_reject(struct smtp_session *s, const char *reply, const char *rcpt)
{
	log_info("NOQUEUE: reject: RCPT from %s: %s; from=<%s> to=<%s> proto=%s helo=<%s>",
		 s->client, reply, log_esc(s->sender), log_esc(rcpt), smtp_proto(s),
		 log_esc(s->helo));
}

static void smtp_rcpt_refuse(struct smtp_session *s, const char *fmt, const char *addr)
{
	char reply[768];

	snprintf(reply, sizeof(reply), fmt, addr);
	smtp_log_rcpt_reject(s, reply, addr);
	smtp_reply_error(s, "%s", reply);
}

/* Hold the targets of an answer until their quotas are checked: local ones go to their
   Maildirs, remote ones (an alias forwarding elsewhere) to the outbound queue. */
static int smtp_rcpt_take(struct smtp_session *s, struct ipc_rbuf *r, uint32_t n)
{
	free(s->cand);
	s->cand = NULL;
	s->ncand = 0;
	s->cand_next = 0;
	for (uint32_t i = 0; i < n && !r->failed; i++) {
		struct smtp_session_rcpt t = { 0 };
		bool local = ipc_get_bool(r);

		(void)ipc_get_i64(r);
		ipc_get_str(r, t.address, sizeof(t.address));
		t.quota = ipc_get_u64(r);
		ipc_get_str(r, t.maildir, sizeof(t.maildir));
		if (r->failed || (local && t.maildir[0] == '\0'))
			continue;
		t.remote = !local;
		t.notify = s->pending_notify;
		(void)str_copy(t.orcpt, sizeof(t.orcpt), s->pending_orcpt);
		(void)str_copy(t.orig_to, sizeof(t.orig_to), s->pending);
		struct smtp_session_rcpt *grown = realloc(s->cand, (s->ncand + 1) * sizeof(t));
		if (grown == NULL)
			fatal("out of memory");
		s->cand = grown;
		s->cand[s->ncand++] = t;
	}
	return r->failed ? -1 : 0;
}

/* Every target had room: they join the transaction. */
static void smtp_rcpt_commit(struct smtp_session *s)
{
	struct smtp_session_rcpt *grown = realloc(s->rcpts, (s->nrcpt + s->ncand) * sizeof(*grown));

	if (grown == NULL && s->nrcpt + s->ncand > 0)
		fatal("out of memory");
	s->rcpts = grown;
	memcpy(s->rcpts + s->nrcpt, s->cand, s->ncand * sizeof(*grown));
	s->nrcpt += s->ncand;
	free(s->cand);
	s->cand = NULL;
	s->ncand = 0;
	smtp_reply(s, "250 2.1.5 Ok");
}

static bool smtp_rcpt_quota_next(struct smtp_session *s);

static void smtp_rcpt_add_remote(struct smtp_session *s)
{
	struct smtp_session_rcpt t = { .remote = true, .notify = s->pending_notify };

	(void)str_copy(t.address, sizeof(t.address), s->pending);
	(void)str_copy(t.orig_to, sizeof(t.orig_to), s->pending);
	(void)str_copy(t.orcpt, sizeof(t.orcpt), s->pending_orcpt);
	free(s->cand);
	s->cand = malloc(sizeof(t));
	if (s->cand == NULL)
		fatal("out of memory");
	s->cand[0] = t;
	s->ncand = 1;
	smtp_rcpt_commit(s);
}

static void smtp_rcpt_quota_done(const struct ipc_frame *frame, int fd, void *ctx)
{
	struct smtp_session *s = ctx;
	uint8_t verdict = IPC_QUOTA_TEMPFAIL;
	struct ipc_rbuf r;

	if (fd >= 0)
		close(fd);
	s->quota_pending = false;
	if (frame != NULL) {
		ipc_rbuf_init(&r, frame->payload, frame->len);
		verdict = ipc_get_u8(&r);
		(void)ipc_get_u64(&r);
		if (ipc_rbuf_end(&r) < 0)
			verdict = IPC_QUOTA_TEMPFAIL;
	}
	if (verdict == IPC_QUOTA_OVER) {
		/* RELIABILITY 69: this recipient waits; the others of the message are unaffected. */
		smtp_rcpt_refuse(s, "452 4.2.2 <%s>: Recipient address rejected: Mailbox full",
				 s->pending);
		free(s->cand);
		s->cand = NULL;
		s->ncand = 0;
	} else if (smtp_rcpt_quota_next(s)) {
		return; /* asked about the next target */
	}
	/* A check that could not be made does not refuse: delivery checks again. */
	if (s->cand != NULL)
		smtp_rcpt_commit(s);
	s->mode = SMTP_MODE_COMMAND;
	smtp_session_resume(s);
}

/* Ask delivery about the next target with a quota; false when none is left. */
static bool smtp_rcpt_quota_next(struct smtp_session *s)
{
	while (s->cand_next < s->ncand) {
		struct smtp_session_rcpt *t = &s->cand[s->cand_next++];
		struct ipc_wbuf b;
		int ret;

		if (t->quota == 0 || t->remote)
			continue;
		ipc_wbuf_init(&b);
		ipc_put_str(&b, t->maildir);
		ipc_put_u64(&b, t->quota);
		ipc_put_u64(&b, 0);
		ret = ipc_link_request(s->srv->w->peers[ROLE_DELIVERY], IPC_QUOTA_CHECK, &b, -1,
				       smtp_rcpt_quota_done, s);
		ipc_wbuf_free(&b);
		if (ret == 0) {
			s->quota_pending = true;
			return true;
		}
	}
	return false;
}

static void smtp_rcpt_answer(struct smtp_session *s, uint8_t status, const char *fail_text,
			     struct ipc_rbuf *r)
{
	const char *a = s->pending;

	switch (status) {
	case RESOLVE_OK:
		if (smtp_rcpt_take(s, r, ipc_get_u32(r)) < 0 || ipc_rbuf_end(r) < 0)
			smtp_reply_error(s, "451 4.3.0 <%s>: Temporary lookup failure", a);
		else if (!smtp_rcpt_quota_next(s))
			smtp_rcpt_commit(s);
		return;
	case RESOLVE_NOT_LOCAL:
		if (s->auth_user[0] != '\0') {
			/* An authenticated user may relay: the outbound queue takes it. */
			smtp_rcpt_add_remote(s);
			return;
		}
		smtp_rcpt_refuse(s, "554 5.7.1 <%s>: Relay access denied", a);
		return;
	case RESOLVE_INACTIVE:
		smtp_rcpt_refuse(s, "550 5.2.1 <%s>: Recipient address rejected: Mailbox disabled",
				 a);
		return;
	case RESOLVE_FAIL: {
		char fmt[600];

		snprintf(fmt, sizeof(fmt), "550 5.1.1 <%%s>: %s", fail_text);
		smtp_rcpt_refuse(s, fmt, a);
		return;
	}
	case RESOLVE_UNKNOWN_USER:
		smtp_rcpt_refuse(s, "550 5.1.1 <%s>: Recipient address rejected: User unknown", a);
		return;
	case RESOLVE_LOOP:
	case RESOLVE_TOO_MANY:
		smtp_rcpt_refuse(s, "550 5.4.6 <%s>: Recipient address rejected: alias loop", a);
		return;
	default:
		smtp_reply_error(s, "451 4.3.0 <%s>: Temporary lookup failure", a);
	}
}

static void smtp_rcpt_done(const struct ipc_frame *frame, int fd, void *ctx)
{
	struct smtp_session *s = ctx;
	char fail_text[512] = "";
	struct ipc_rbuf r;

	if (fd >= 0)
		close(fd);
	if (frame == NULL) {
		smtp_reply_error(s, "451 4.3.0 <%s>: Temporary lookup failure", s->pending);
	} else {
		ipc_rbuf_init(&r, frame->payload, frame->len);
		uint8_t status = ipc_get_u8(&r);
		ipc_get_str(&r, fail_text, sizeof(fail_text));
		smtp_rcpt_answer(s, r.failed ? RESOLVE_TEMPFAIL : status, fail_text, &r);
		if (s->quota_pending)
			return; /* the quota answer resumes the session */
	}
	s->mode = SMTP_MODE_COMMAND;
	smtp_session_resume(s);
}

static void smtp_do_rcpt(struct smtp_session *s, const struct smtp_cmd *cmd)
{
	struct ipc_wbuf b;

	if (!s->has_mail) {
		smtp_reply_error(s, "503 5.5.1 Error: need MAIL command");
		return;
	}
	if (s->nrcpt >= s->srv->limits.max_recipients) {
		smtp_reply_error(s, "452 4.5.3 Error: too many recipients");
		return;
	}
	if (cmd->rcpt.postmaster)
		snprintf(s->pending, sizeof(s->pending), "postmaster@%s", s->srv->hostname);
	else
		address_format(&cmd->rcpt.addr, s->pending, sizeof(s->pending));
	s->pending_notify = (uint8_t)cmd->rcpt.notify;
	(void)str_copy(s->pending_orcpt, sizeof(s->pending_orcpt),
		       cmd->rcpt.has_orcpt ? cmd->rcpt.orcpt : "");
	ipc_wbuf_init(&b);
	ipc_put_str(&b, s->pending);
	if (ipc_link_request(s->srv->w->peers[ROLE_ACCOUNTS], IPC_ACCT_RESOLVE, &b, -1,
			     smtp_rcpt_done, s) < 0)
		smtp_reply_error(s, "451 4.3.0 <%s>: Temporary lookup failure", s->pending);
	else
		smtp_session_wait(s);
	ipc_wbuf_free(&b);
}

static void smtp_do_data(struct smtp_session *s, const struct smtp_cmd *cmd)
{
	(void)cmd;
	if (!s->has_mail) {
		smtp_reply_error(s, "503 5.5.1 Error: need MAIL command");
		return;
	}
	if (s->nrcpt == 0) {
		smtp_reply_error(s, "554 5.5.1 Error: no valid recipients");
		return;
	}
	if (s->bdat_started) {
		/* RFC 3030 2: DATA may not follow BDAT in one transaction. */
		smtp_reply_error(s, "503 5.5.1 Error: DATA after BDAT");
		return;
	}
	s->sync_point = "DATA";
	smtp_session_data_start(s);
}

static void smtp_do_rset(struct smtp_session *s, const struct smtp_cmd *cmd)
{
	(void)cmd;
	smtp_tx_reset(s);
	smtp_reply(s, "250 2.0.0 Ok");
}

static void smtp_do_noop(struct smtp_session *s, const struct smtp_cmd *cmd)
{
	(void)cmd;
	smtp_reply(s, "250 2.0.0 Ok");
}

static void smtp_do_quit(struct smtp_session *s, const struct smtp_cmd *cmd)
{
	(void)cmd;
	smtp_session_end(s, "221 2.0.0 Bye");
}

static void smtp_do_vrfy(struct smtp_session *s, const struct smtp_cmd *cmd)
{
	(void)cmd;
	/* RFC 5321 3.5.3: 252 neither confirms nor denies; accounts are never revealed. */
	smtp_reply(s, "252 2.0.0 Send some mail, I'll try my best");
}

static void smtp_do_help(struct smtp_session *s, const struct smtp_cmd *cmd)
{
	(void)cmd;
	smtp_reply(s, "214 2.0.0 See RFC 5321");
}

static void smtp_do_bdat(struct smtp_session *s, const struct smtp_cmd *cmd)
{
	smtp_session_bdat_start(s, cmd->bdat.size, cmd->bdat.last);
}

static smtp_cmd_fn *const smtp_handlers[SMTP_VERB_AUTH + 1] = {
	[SMTP_VERB_EHLO] = smtp_do_ehlo,	 [SMTP_VERB_HELO] = smtp_do_ehlo,
	[SMTP_VERB_MAIL] = smtp_do_mail,	 [SMTP_VERB_RCPT] = smtp_do_rcpt,
	[SMTP_VERB_DATA] = smtp_do_data,	 [SMTP_VERB_BDAT] = smtp_do_bdat,
	[SMTP_VERB_RSET] = smtp_do_rset,	 [SMTP_VERB_NOOP] = smtp_do_noop,
	[SMTP_VERB_QUIT] = smtp_do_quit,	 [SMTP_VERB_VRFY] = smtp_do_vrfy,
	[SMTP_VERB_HELP] = smtp_do_help,	 [SMTP_VERB_STARTTLS] = smtp_do_starttls,
	[SMTP_VERB_AUTH] = smtp_do_auth,
};

void smtp_session_command(struct smtp_session *s, const struct smtp_bytes *line)
{
	struct smtp_cmd_opts opts = { .ext = s->esmtp ? SMTP_EXTENSIONS : 0,
				      .smtputf8 = s->smtputf8,
				      .size_max = s->srv->size_max };
	struct smtp_reply reply;
	struct smtp_cmd cmd;

	s->commands++;
	smtp_arm_timeout(s, s->srv->limits.command_timeout_ms);
	if (line->len > SMTP_LINE_MAX - 2 &&
	    (line->len < 5 || strncasecmp((const char *)line->p, "AUTH ", 5) != 0)) {
		/* RELIABILITY 8; only AUTH may use the longer line RFC 4954 allows. */
		smtp_reply_error(s, "500 5.5.2 Error: line too long");
		return;
	}
	if (smtp_cmd_parse(line->p, line->len, &opts, &cmd, &reply) < 0) {
		if (cmd.verb == SMTP_VERB_BDAT) {
			/* The chunk's length is unknown: there is no way back into step. */
			smtp_session_end(s, "%d %s %s", reply.code, reply.status, reply.text);
			return;
		}
		if (cmd.verb == SMTP_VERB_UNKNOWN && ++s->junk >= s->srv->limits.max_junk) {
			smtp_session_end(s, "421 4.7.0 %s Error: too many junk commands",
					 s->srv->hostname);
			return;
		}
		smtp_reply_error(s, "%d %s %s", reply.code, reply.status, reply.text);
		return;
	}
	s->counts[cmd.verb]++;
	/* Without EHLO the client was never told it may pipeline. */
	if (!s->esmtp && cmd.verb != SMTP_VERB_QUIT)
		s->sync_point = smtp_verb_name(cmd.verb);
	if ((cmd.verb == SMTP_VERB_NOOP || cmd.verb == SMTP_VERB_RSET) &&
	    ++s->junk >= s->srv->limits.max_junk) {
		smtp_session_end(s, "421 4.7.0 %s Error: too many junk commands", s->srv->hostname);
		return;
	}
	smtp_handlers[cmd.verb](s, &cmd);
}
