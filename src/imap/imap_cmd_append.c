/* APPEND (RFC 9051 6.3.12) with UIDPLUS's APPENDUID (RFC 4315) and LITERAL+ (RFC 7888).
 *
 * The message literal is never held in memory. When it is announced, before "+", the
 * mailbox name and the arguments are checked and a pool job opens the target folder, checks
 * the quota and opens an anonymous file in the folder's tmp/ (O_TMPFILE: nothing is left
 * behind whatever happens); then the parser streams the literal's bytes into that file as
 * they arrive. When the command line ends, a second job hands the file to mbox_append(),
 * which writes, fsyncs and publishes the message and gives it its UID.
 *
 * A synchronising literal that cannot be taken is refused before "+" (NO [TRYCREATE],
 * NO [OVERQUOTA], ...) and the client never sends it; the size limit is the parser's
 * (NO [TOOBIG], imap_session_input.c). A non-synchronising literal (LITERAL+) is already on
 * its way: its bytes are read and dropped, and the refusal comes when the line ends.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../core/log.h"
#include "../store/maildir_name.h"
#include "imap_commands.h"
#include "imap_modify.h"
#include "imap_modify_args.h"

/* Maildir++: deleted mail is kept here, outside the quota. */
#define IMAP_TRASH_DIR ".Trash"

struct imap_append_state {
	struct imap_cmd_state st; /* first: s->cmd_ctx */
	char root[PATH_MAX];
	struct folder_name name;
	bool same;       /* the target is the selected folder: its handle is used */
	struct mbox *mb; /* the target */
	bool sync;       /* the literal is "{n}" */
	uint64_t size;
	const struct imap_arg *flags_arg; /* points into the command: valid until it ends */
	time_t date;
	struct maildir_quota_limit qbuf;
	const struct maildir_quota_limit *quota;
	/* the data */
	int fd;
	uint64_t written;
	int write_errno;
	/* refused while the literal still comes in (LITERAL+): answered at the line end */
	bool failed;
	enum imap_status fail_status;
	const char *fail_text;
	/* job results */
	bool missing, over_quota;
	char *error;
	const char *flag_error;
	int rc;
	uint32_t uidvalidity, uid;
};

static void imap_append_free(struct imap_cmd_state *st)
{
	struct imap_append_state *as = (struct imap_append_state *)st;

	if (!as->same)
		mbox_close(&as->mb);
	if (as->fd >= 0)
		(void)close(as->fd);
	free(as->error);
	free(as);
}

static void imap_append_end(struct imap_append_state *as)
{
	struct imap_cmd_state *st = &as->st;

	imap_cmd_state_end(&st);
}

/* ----- before the literal ----- */

static void imap_append_discard(void *ctx, const uint8_t *data, size_t len)
{
	(void)ctx;
	(void)data;
	(void)len;
}

static void imap_append_sink(void *ctx, const uint8_t *data, size_t len)
{
	struct imap_append_state *as = ctx;

	while (len > 0 && as->write_errno == 0) {
		ssize_t n = write(as->fd, data, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			as->write_errno = errno;
			return;
		}
		data += n;
		len -= (size_t)n;
		as->written += (uint64_t)n;
	}
}

/* The literal cannot be taken. "{n}": answer now and the client will not send it.
   "{n+}": its bytes are on the way: drop them and answer when the line ends. */
static void imap_append_refuse(struct imap_session *s, struct imap_append_state *as,
                               enum imap_status status, const char *text)
{
	if (as->sync) {
		/* The parser first: the reply may read the next command at once. */
		imap_parser_literal_refuse(s->parser);
		imap_append_end(as);
		imap_tagged(s, status, "%s", text);
		return;
	}
	as->failed = true;
	as->fail_status = status;
	as->fail_text = text;
	imap_parser_literal_stream(s->parser, imap_append_discard, as);
	imap_session_resume(s);
}

/* Pool: an anonymous file in the folder's tmp/, or a named one unlinked at once where the
   file system has no O_TMPFILE. */
static int imap_append_tmpfile(struct imap_append_state *as)
{
	char dir[PATH_MAX + FOLDER_DIR_MAX + 8], path[sizeof(dir) + MAILDIR_NAME_MAX + 8];
	char base[MAILDIR_NAME_MAX];
	int fd;

	snprintf(dir, sizeof(dir), "%s/%s%stmp", as->root, as->name.dir,
	         as->name.dir[0] != '\0' ? "/" : "");
	fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (fd >= 0 || (errno != EOPNOTSUPP && errno != EISDIR && errno != EINVAL))
		return fd;
	if (maildir_name_unique(base, sizeof(base)) < 0)
		return -1;
	snprintf(path, sizeof(path), "%s/%s.append", dir, base);
	fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd >= 0)
		(void)unlink(path);
	return fd;
}

static void imap_append_prepare_work(struct imap_cmd_state *st)
{
	struct imap_append_state *as = (struct imap_append_state *)st;
	struct maildir_quota_usage usage;
	const char *error;
	uint8_t flags;
	uint32_t keywords;
	int ret = 1;

	if (!as->same)
		ret = imap_modify_open(as->root, as->name.dir, &as->mb, &as->error);
	if (ret <= 0) {
		as->missing = ret == 0;
		return;
	}
	if (as->flags_arg != NULL &&
	    imap_flags_parse(as->mb, as->flags_arg, false, &flags, &keywords, &as->flag_error) < 0)
		return;
	/* Checked again by mbox_append(); here so that a full mailbox is refused before the
	   client sends the message. Non-inclusive, as delivery has it (maildir_quota.h). */
	if (as->quota != NULL && strcmp(as->name.dir, IMAP_TRASH_DIR) != 0) {
		if (maildir_quota_get(as->root, as->quota, &usage, &error) < 0)
			log_warning("imap: quota of %s unknown: %s", as->root, error);
		else if (maildir_quota_check(&usage, as->quota, as->size,
		                             MAILDIR_QUOTA_NONINCLUSIVE) == 0)
			as->over_quota = true;
	}
	if (!as->over_quota) {
		as->fd = imap_append_tmpfile(as);
		if (as->fd < 0 && as->error == NULL)
			as->error = strdup(strerror(errno));
	}
}

static void imap_append_prepare_after(struct imap_session *s, struct imap_cmd_state *st)
{
	struct imap_append_state *as = (struct imap_append_state *)st;

	if (as->missing) {
		imap_append_refuse(s, as, IMAP_NO, "[TRYCREATE] Mailbox doesn't exist.");
		return;
	}
	if (as->flag_error != NULL) {
		imap_append_refuse(s, as, as->flag_error[0] == '[' ? IMAP_NO : IMAP_BAD,
		                   as->flag_error);
		return;
	}
	if (as->over_quota) {
		imap_append_refuse(s, as, IMAP_NO, "[OVERQUOTA] Quota exceeded.");
		return;
	}
	if (as->fd < 0) {
		log_error("imap(%s): append to %s: %s", s->user, as->name.name,
		          as->error != NULL ? as->error : "cannot open the folder");
		imap_append_refuse(s, as, IMAP_NO,
		                   "[SERVERBUG] Cannot append; see the server log.");
		return;
	}
	imap_parser_literal_stream(s->parser, imap_append_sink, as);
	if (as->sync)
		imap_send(s, "+ Ready for literal data");
	imap_session_resume(s);
}

/* The mailbox name the way imap_mailbox_name_arg() reads it, without answering. */
static const char *imap_append_name(const struct imap_session *s, const struct imap_arg *arg,
                                    struct folder_name *fn_r, enum imap_status *status_r)
{
	enum folder_name_error err;

	*status_r = IMAP_BAD;
	if (arg == NULL || arg->type == IMAP_ARG_LIST || arg->str == NULL)
		return "Missing or invalid mailbox name.";
	*status_r = IMAP_NO;
	if (memchr(arg->str, '\0', arg->len) != NULL)
		return "[CANNOT] Invalid mailbox name.";
	err = (s->enabled & (IMAP_ENABLED_UTF8_ACCEPT | IMAP_ENABLED_IMAP4REV2)) != 0
	          ? folder_name_from_utf8(arg->str, arg->len, fn_r)
	          : folder_name_from_mutf7(arg->str, arg->len, fn_r);
	return err == FOLDER_NAME_OK ? NULL : "[CANNOT] Invalid mailbox name.";
}

/* Checks that need no disk, then the preparing job. */
static void imap_append_start(struct imap_session *s, struct imap_append_state *as,
                              const struct imap_command *so_far, const struct imap_literal *lit)
{
	enum imap_status status = IMAP_BAD;
	const char *error;

	if (lit->binary) {
		imap_append_refuse(s, as, IMAP_BAD, "literal8 needs BINARY, which is not offered.");
		return;
	}
	error = imap_append_name(s, so_far->args, &as->name, &status);
	if (error == NULL &&
	    imap_append_args_parse(so_far->args->next, NULL, &as->flags_arg, &as->date, &error) < 0)
		status = IMAP_BAD;
	if (error == NULL && lit->size == 0) {
		status = IMAP_NO;
		error = "[CANNOT] An empty message cannot be appended.";
	}
	if (error != NULL) {
		imap_append_refuse(s, as, status, error);
		return;
	}
	snprintf(as->root, sizeof(as->root), "%s", s->maildir);
	as->same = s->sel != NULL && strcmp(s->sel->name.dir, as->name.dir) == 0;
	if (as->same)
		as->mb = s->sel->mb;
	as->quota = imap_modify_quota(s, &as->qbuf);
	if (imap_cmd_state_job(&as->st, imap_append_prepare_work, imap_append_prepare_after) < 0)
		imap_append_refuse(s, as, IMAP_NO, "[INUSE] Busy, try again.");
}

enum imap_literal_action imap_cmd_append_literal(struct imap_session *s,
                                                 const struct imap_command *so_far,
                                                 const struct imap_literal *lit)
{
	struct imap_append_state *as;

	/* A literal before any argument is the mailbox name: an ordinary astring. Before login
	   (a "{n+}" the dispatcher lets through) there is no Maildir: the command is refused
	   when complete. */
	if (so_far->arg_count == 0 || !s->logged_in || s->maildir[0] == '\0' ||
	    (s->state != IMAP_STATE_AUTH && s->state != IMAP_STATE_SELECTED))
		return IMAP_LITERAL_BUFFER;
	as = (struct imap_append_state *)imap_cmd_state_get(s, imap_append_free);
	if (as != NULL) {
		/* A second message: MULTIAPPEND (RFC 3502) is not offered. */
		as->sync = lit->sync;
		if (!as->sync)
			as->failed = true; /* the first one is not stored either */
		imap_append_refuse(s, as, IMAP_BAD, "One message per APPEND.");
		return IMAP_LITERAL_HANDLED;
	}
	as = calloc(1, sizeof(*as));
	if (as == NULL)
		fatal("out of memory");
	as->fd = -1;
	as->sync = lit->sync;
	as->size = lit->size;
	imap_cmd_state_start(s, &as->st, imap_append_free);
	s->in_command = true; /* a shutdown waits for the message */
	imap_append_start(s, as, so_far, lit);
	return IMAP_LITERAL_HANDLED;
}

/* ----- after the literal ----- */

static void imap_append_work(struct imap_cmd_state *st)
{
	struct imap_append_state *as = (struct imap_append_state *)st;
	struct mbox_append_req req = {.data = NULL,
	                              .fd = as->fd,
	                              .internaldate = as->date,
	                              .quota = as->quota,
	                              .policy = MAILDIR_QUOTA_NONINCLUSIVE};

	if (as->flags_arg != NULL && imap_flags_parse(as->mb, as->flags_arg, true, &req.flags,
	                                              &req.keywords, &as->flag_error) < 0) {
		as->rc = -1;
		return;
	}
	as->uidvalidity = mbox_uidvalidity(as->mb);
	as->rc = mbox_append(as->mb, &req, &as->uid);
	if (as->rc == -1)
		as->error = strdup(mbox_error(as->mb));
}

static void imap_append_after(struct imap_session *s, struct imap_cmd_state *st)
{
	struct imap_append_state *as = (struct imap_append_state *)st;

	if (as->rc == 0) {
		mime_buf_printf(&st->text, "[APPENDUID %u %u] Append completed.", as->uidvalidity,
		                as->uid);
		/* The selected folder as target: the sync reports EXISTS (RFC 9051 6.3.12). */
		imap_modify_finish(s, st, IMAP_OK, true, true);
		return;
	}
	if (as->flag_error != NULL) {
		mime_buf_append_str(&st->text, as->flag_error);
	} else if (as->rc == MBOX_OVER_QUOTA) {
		mime_buf_append_str(&st->text, "[OVERQUOTA] Quota exceeded.");
	} else {
		log_error("imap(%s): append to %s failed: %s", s->user, as->name.name,
		          as->error != NULL ? as->error : "unknown error");
		mime_buf_append_str(&st->text, "[SERVERBUG] Append failed; see the server log.");
	}
	imap_modify_finish(s, st, IMAP_NO, false, false);
}

/* The last top-level argument: the message. */
static const struct imap_arg *imap_append_last(const struct imap_command *cmd)
{
	const struct imap_arg *a = cmd->args;

	while (a != NULL && a->next != NULL)
		a = a->next;
	return a;
}

void imap_cmd_append(struct imap_session *s, const struct imap_command *cmd)
{
	struct imap_append_state *as =
	    (struct imap_append_state *)imap_cmd_state_get(s, imap_append_free);
	const struct imap_arg *msg = imap_append_last(cmd);
	enum imap_status status;
	const char *text = NULL;

	if (as == NULL) {
		imap_tagged(s, IMAP_BAD, "APPEND needs a mailbox and a message literal.");
		return;
	}
	if (as->failed) {
		status = as->fail_status;
		text = as->fail_text;
	} else if (msg == NULL || msg->type != IMAP_ARG_LITERAL || !msg->streamed ||
	           msg->len != as->size || cmd->arg_count < 2) {
		status = IMAP_BAD;
		text = "Invalid APPEND arguments.";
	} else if (as->write_errno != 0 || as->written != as->size) {
		log_error("imap(%s): append to %s: writing the message: %s", s->user, as->name.name,
		          as->write_errno != 0 ? strerror(as->write_errno) : "short write");
		status = IMAP_NO;
		text = as->write_errno == ENOSPC || as->write_errno == EDQUOT
		           ? "[LIMIT] No space left for the message."
		           : "[SERVERBUG] Append failed; see the server log.";
	}
	if (text != NULL) {
		imap_append_end(as);
		imap_tagged(s, status, "%s", text);
		return;
	}
	if (imap_cmd_state_job(&as->st, imap_append_work, imap_append_after) < 0) {
		imap_append_end(as);
		imap_tagged(s, IMAP_NO, "[INUSE] Busy, try again.");
	}
}
