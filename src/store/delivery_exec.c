/* Local delivery of one message to its recipients' Maildirs (see delivery_exec.h). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../core/log.h"
#include "../core/utf8.h"
#include "../core/fileio.h"
#include "../core/strutil.h"
#include "delivery_exec.h"
#include "maildir_create.h"
#include "maildir_quota.h"

#define EXEC_NONE SIZE_MAX
/* Maildir++ keeps deleted mail here and does not count it (maildir_quota.h). */
#define EXEC_TRASH "Trash"

/* One account root of the request, for quota and the warning message. */
struct exec_account {
	const char *root;
	uint64_t quota;
	bool usage_read;
	bool usage_known;
	struct maildir_quota_usage usage;
	uint64_t added;
	bool create_tried;
	const char *create_error; /* maildir_create() failed: static or strerror text */
	size_t first_ok;	  /* first delivered recipient, for the warning; EXEC_NONE */
};

/* One distinct Maildir root + folder: one file written. */
struct exec_target {
	size_t rcpt;	/* the recipient whose prepend and result it carries */
	size_t account; /* index into exec_ctx.accounts */
	char *path;	/* the directory holding cur/ new/ tmp/ */
	const char *folder;
	char *prepend;
	size_t prepend_len;
	bool live;    /* still to deliver */
	bool pending; /* in the next maildir_deliver() pass */
	struct maildir_delivery res;
};

struct exec_ctx {
	int spool_fd;
	const struct delivery_request *req;
	struct delivery_result *results;
	uint64_t spool_size;
	size_t *target_of; /* per recipient; EXEC_NONE when it failed its checks */
	struct exec_target *targets;
	size_t ntargets;
	struct exec_account *accounts;
	size_t naccounts;
};

static atomic_uint exec_msgid_counter;

static void *exec_calloc(size_t n, size_t size)
{
	void *p = calloc(n, size);

	if (p == NULL)
		fatal("out of memory");
	return p;
}

static char *exec_strdup(const char *s)
{
	char *p = strdup(s);

	if (p == NULL)
		fatal("out of memory");
	return p;
}

/* Result texts are for people: cutting an over-long one is harmless. */
static void exec_set(struct delivery_result *r, enum delivery_status status, const char *dsn,
		     const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static void exec_set(struct delivery_result *r, enum delivery_status status, const char *dsn,
		     const char *fmt, ...)
{
	va_list ap;

	r->status = status;
	(void)str_copy(r->dsn, sizeof(r->dsn), dsn);
	va_start(ap, fmt);
	(void)vsnprintf(r->text, sizeof(r->text), fmt, ap);
	va_end(ap);
}

static const char *exec_strerror(int err, char *buf, size_t size)
{
	/* GNU strerror_r (_GNU_SOURCE): thread-safe, may return a static string. */
	return strerror_r(err, buf, size);
}

/* ----- checks ----- */

/* Header injection: the addresses come from our own parser, but a CR or LF here would let a
   recipient write headers of its own into the stored message. */
static bool exec_header_safe(const char *s)
{
	return strpbrk(s, "\r\n") == NULL;
}

/* Length of the UTF-8 sequence at p (RFC 3629, no overlongs or surrogates), 0 if invalid. */
/* Maildir++ folder name: one path component below the root, whose own name starts with the
   dot we add; '.' separates levels, so no level may be empty. */
static bool exec_folder_valid(const char *folder)
{
	const unsigned char *start = (const unsigned char *)folder, *p = start;
	size_t len = strlen(folder);

	if (len == 0 || len >= DELIVERY_FOLDER_MAX - 1 || p[0] == '.' || p[len - 1] == '.' ||
	    strstr(folder, "..") != NULL)
		return false;
	while (*p != '\0') {
		size_t n = 1;

		if (*p == '/' || *p < 0x20 || *p == 0x7f)
			return false;
		if (*p >= 0x80 && (n = utf8_char_len(p, len - (size_t)(p - start))) == 0)
			return false;
		p += n;
	}
	return true;
}

/* "" for INBOX, as IMAP names it in any case (RFC 3501 5.1). */
static const char *exec_folder_norm(const char *folder)
{
	if (folder == NULL || strcasecmp(folder, "INBOX") == 0)
		return "";
	return folder;
}

static int exec_check_rcpt(const struct delivery_request *req, const struct delivery_rcpt *rc,
			   struct delivery_result *r)
{
	const char *folder = exec_folder_norm(rc->folder);

	if (rc->address == NULL || rc->address[0] == '\0' || !exec_header_safe(rc->address)) {
		exec_set(r, DELIVERY_PERMFAIL, "5.1.3", "invalid recipient address");
		return -1;
	}
	if (!exec_header_safe(req->sender)) {
		exec_set(r, DELIVERY_PERMFAIL, "5.1.7", "invalid sender address");
		return -1;
	}
	/* Our own peer computed the path: a relative one is our bug, and retrying is safe. */
	if (rc->maildir == NULL || rc->maildir[0] != '/') {
		exec_set(r, DELIVERY_TEMPFAIL, "4.3.0", "invalid maildir path");
		return -1;
	}
	if (folder[0] != '\0' && !exec_folder_valid(folder)) {
		exec_set(r, DELIVERY_PERMFAIL, "5.3.0", "invalid folder name");
		return -1;
	}
	return 0;
}

/* ----- plan: targets and accounts ----- */

static size_t exec_account_of(struct exec_ctx *c, const struct delivery_rcpt *rc)
{
	struct exec_account *a;

	for (size_t i = 0; i < c->naccounts; i++) {
		if (strcmp(c->accounts[i].root, rc->maildir) == 0)
			return i;
	}
	a = &c->accounts[c->naccounts];
	a->root = rc->maildir;
	a->quota = rc->quota_bytes;
	a->first_ok = EXEC_NONE;
	return c->naccounts++;
}

static size_t exec_find_target(const struct exec_ctx *c, const char *root, const char *folder)
{
	for (size_t i = 0; i < c->ntargets; i++) {
		const struct exec_target *t = &c->targets[i];

		if (strcmp(c->accounts[t->account].root, root) == 0 &&
		    strcmp(t->folder, folder) == 0)
			return i;
	}
	return EXEC_NONE;
}

static char *exec_join(const char *root, const char *folder)
{
	size_t size = strlen(root) + strlen(folder) + 3;
	char *path = exec_calloc(1, size);

	if (folder[0] == '\0')
		(void)str_copy(path, size, root);
	else
		(void)str_printf(path, size, "%s/.%s", root, folder);
	return path;
}

/* RFC 5321 4.4: Return-Path records MAIL FROM; Delivered-To marks the final mailbox, as
   Postfix and Dovecot write it (and lets mail loops be detected). */
static char *exec_prepend(const char *sender, const char *address, size_t *len_r)
{
	size_t size = strlen(sender) + strlen(address) + 40;
	char *p = exec_calloc(1, size);
	int len = str_printf(p, size, "Return-Path: <%s>\r\nDelivered-To: %s\r\n", sender,
			     address);

	if (len < 0)
		fatal("delivery prepend does not fit");
	*len_r = (size_t)len;
	return p;
}

static void exec_add_target(struct exec_ctx *c, size_t i)
{
	const struct delivery_rcpt *rc = &c->req->rcpts[i];
	struct exec_target *t = &c->targets[c->ntargets];

	t->rcpt = i;
	t->account = exec_account_of(c, rc);
	t->folder = exec_folder_norm(rc->folder);
	t->path = exec_join(rc->maildir, t->folder);
	t->prepend = exec_prepend(c->req->sender, rc->address, &t->prepend_len);
	t->live = true;
	c->target_of[i] = c->ntargets++;
}

static void exec_plan(struct exec_ctx *c)
{
	for (size_t i = 0; i < c->req->count; i++) {
		const struct delivery_rcpt *rc = &c->req->rcpts[i];
		size_t t;

		c->target_of[i] = EXEC_NONE;
		if (exec_check_rcpt(c->req, rc, &c->results[i]) < 0)
			continue;
		t = exec_find_target(c, rc->maildir, exec_folder_norm(rc->folder));
		if (t != EXEC_NONE) {
			c->target_of[i] = t;
			c->results[i].duplicate = true;
			continue;
		}
		exec_add_target(c, i);
	}
}

/* ----- quota ----- */

static void exec_read_usage(struct exec_account *a, struct delivery_result *r)
{
	struct maildir_quota_limit limit = { a->quota, 0 };
	const char *error = NULL;
	struct stat st;

	/* A Maildir that does not exist yet is empty; delivery creates it. */
	if (stat(a->root, &st) < 0 && errno == ENOENT) {
		a->usage_known = true;
		return;
	}
	if (maildir_quota_get(a->root, &limit, &a->usage, &error) < 0) {
		(void)str_printf(r->warning, sizeof(r->warning),
				 "quota usage unknown (%s); delivered without a quota check",
				 error);
		return;
	}
	a->usage_known = true;
}

/* Usage is read once per account, before anything is written, so every target of one
   account is judged against the same figure. */
static void exec_check_quota(struct exec_ctx *c)
{
	for (size_t j = 0; j < c->ntargets; j++) {
		struct exec_target *t = &c->targets[j];
		struct exec_account *a = &c->accounts[t->account];
		struct maildir_quota_limit limit = { a->quota, 0 };

		if (a->quota == 0 || strcmp(t->folder, EXEC_TRASH) == 0)
			continue;
		if (!a->usage_read) {
			a->usage_read = true;
			exec_read_usage(a, &c->results[t->rcpt]);
		}
		if (a->usage_known &&
		    maildir_quota_check(&a->usage, &limit, c->spool_size + t->prepend_len,
					MAILDIR_QUOTA_NONINCLUSIVE) == 0) {
			exec_set(&c->results[t->rcpt], DELIVERY_TEMPFAIL, "4.2.2", "mailbox full");
			t->live = false;
		}
	}
}

/* ----- delivery ----- */

static void exec_pass(struct exec_ctx *c)
{
	struct maildir_rcpt *rcpts = exec_calloc(c->ntargets + 1, sizeof(*rcpts));
	struct maildir_delivery *res = exec_calloc(c->ntargets + 1, sizeof(*res));
	size_t *idx = exec_calloc(c->ntargets + 1, sizeof(*idx));
	size_t n = 0;

	for (size_t i = 0; i < c->ntargets; i++) {
		const struct exec_target *t = &c->targets[i];

		if (!t->live || !t->pending)
			continue;
		rcpts[n].maildir = t->path;
		rcpts[n].prepend = (const uint8_t *)t->prepend;
		rcpts[n].prepend_len = t->prepend_len;
		idx[n++] = i;
	}
	if (n > 0 && maildir_deliver(c->spool_fd, rcpts, n, c->req->strategy, res) < 0)
		fatal("maildir_deliver refused its arguments");
	for (size_t k = 0; k < n; k++) {
		c->targets[idx[k]].res = res[k];
		c->targets[idx[k]].pending = false;
	}
	free(idx);
	free(res);
	free(rcpts);
}

static bool exec_box_exists(const char *path)
{
	char sub[PATH_MAX];
	struct stat st;

	return str_printf(sub, sizeof(sub), "%s/new", path) >= 0 && stat(sub, &st) == 0 &&
	       S_ISDIR(st.st_mode);
}

/* A target that failed because its Maildir is missing: create the account's Maildir (once)
   and try again; a folder still missing then falls back to INBOX (delivery_exec.h, 5). */
static void exec_repair(struct exec_ctx *c, struct exec_target *t)
{
	struct exec_account *a = &c->accounts[t->account];

	if (t->res.status != MAILDIR_DELIVER_PERMFAIL || t->res.error_errno != ENOENT)
		return;
	if (!a->create_tried) {
		a->create_tried = true;
		if (maildir_create(a->root, &a->create_error) == 0)
			a->create_error = NULL;
		else if (a->create_error == NULL)
			a->create_error = "unknown error";
	}
	if (a->create_error != NULL) {
		t->live = false;
		exec_set(&c->results[t->rcpt], DELIVERY_TEMPFAIL, "4.3.0",
			 "cannot create maildir: %s", a->create_error);
		return;
	}
	if (t->folder[0] != '\0' && !exec_box_exists(t->path)) {
		free(t->path);
		t->path = exec_strdup(a->root);
		t->folder = "";
	}
	t->pending = true;
}

static void exec_deliver(struct exec_ctx *c)
{
	for (size_t i = 0; i < c->ntargets; i++) {
		unsigned removed = 0;

		c->targets[i].pending = c->targets[i].live;
		/* Leftovers of a killed delivery into this Maildir go before the next one. */
		if (c->targets[i].live && maildir_tmp_sweep_dead(c->targets[i].path, &removed) == 0 &&
		    removed > 0)
			log_info("%s: removed %u unfinished file(s) from tmp/", c->targets[i].path,
				 removed);
	}
	exec_pass(c);
	for (size_t i = 0; i < c->ntargets; i++) {
		if (c->targets[i].live)
			exec_repair(c, &c->targets[i]);
	}
	exec_pass(c);
}

static void exec_map_failure(const struct maildir_delivery *d, struct delivery_result *r)
{
	char buf[128];
	const char *why = exec_strerror(d->error_errno, buf, sizeof(buf));
	const char *step = d->error != NULL ? d->error : "deliver";

	if (d->error_errno == ENOSPC || d->error_errno == EDQUOT)
		exec_set(r, DELIVERY_TEMPFAIL, "4.3.1", "insufficient system storage");
	else if (d->status == MAILDIR_DELIVER_TEMPFAIL)
		exec_set(r, DELIVERY_TEMPFAIL, "4.3.0", "cannot %s: %s", step, why);
	else if (d->error_errno == EFBIG)
		exec_set(r, DELIVERY_PERMFAIL, "5.3.4", "message too big for the file system");
	else
		exec_set(r, DELIVERY_PERMFAIL, "5.2.0", "maildir unusable: cannot %s: %s", step,
			 why);
}

static void exec_map_target(const struct exec_target *t, struct delivery_result *r)
{
	if (t->res.status != MAILDIR_DELIVER_OK) {
		exec_map_failure(&t->res, r);
		return;
	}
	exec_set(r, DELIVERY_OK, "2.0.0", "delivered to maildir %s",
		 t->folder[0] != '\0' ? t->folder : "INBOX");
	(void)str_copy(r->folder, sizeof(r->folder), t->folder);
	r->size = t->res.size;
}

/* ----- quota accounting and the warning message ----- */

static const char *exec_human(uint64_t bytes, char *buf, size_t size)
{
	static const char *const units[] = { "KiB", "MiB", "GiB", "TiB" };
	uint64_t unit = 1024;
	size_t u = 0;

	if (bytes < unit) {
		(void)str_printf(buf, size, "%llu bytes", (unsigned long long)bytes);
		return buf;
	}
	while (u + 1 < sizeof(units) / sizeof(units[0]) && bytes >= unit * 1024) {
		unit *= 1024;
		u++;
	}
	(void)str_printf(buf, size, "%llu.%llu %s", (unsigned long long)(bytes / unit),
			 (unsigned long long)(bytes % unit * 10 / unit), units[u]);
	return buf;
}

/* RFC 5322 3.3 date-time, spelled out so the locale cannot change it. */
static void exec_date(char *buf, size_t size)
{
	static const char *const days[] = { "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat" };
	static const char *const months[] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
					      "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
	time_t now = time(NULL);
	struct tm tm;
	long off;

	if (localtime_r(&now, &tm) == NULL)
		(void)gmtime_r(&now, &tm);
	off = tm.tm_gmtoff / 60;
	(void)str_printf(buf, size, "%s, %d %s %d %02d:%02d:%02d %c%02ld%02ld", days[tm.tm_wday],
			 tm.tm_mday, months[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min,
			 tm.tm_sec, off < 0 ? '-' : '+', labs(off) / 60, labs(off) % 60);
}

/* Only a plain host name goes into our headers; anything else would be a config mistake
   that must not break the message. */
static const char *exec_hostname(const char *host)
{
	if (host == NULL || host[0] == '\0' || strlen(host) > 253 ||
	    strspn(host, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-") !=
		    strlen(host))
		return "localhost";
	return host;
}

static int exec_warning_text(const struct exec_ctx *c, const struct exec_account *a,
			     const char *address, char *buf, size_t size)
{
	const char *host = exec_hostname(c->req->hostname);
	unsigned int percent = c->req->warn_percent != 0 ? c->req->warn_percent
							 : MAILDIR_QUOTA_WARN_PERCENT;
	uint64_t used = a->usage.bytes + a->added;
	char date[64], h_used[32], h_quota[32];

	exec_date(date, sizeof(date));
	return str_printf(
		buf, size,
		"From: Mail Delivery System <MAILER-DAEMON@%s>\r\n"
		"To: <%s>\r\n"
		"Subject: Your mailbox is %u%% full\r\n"
		"Date: %s\r\n"
		"Message-ID: <%lld.%u.%d.quota@%s>\r\n"
		"Auto-Submitted: auto-generated\r\n"
		"MIME-Version: 1.0\r\n"
		"Content-Type: text/plain; charset=utf-8\r\n"
		"Content-Transfer-Encoding: 8bit\r\n"
		"\r\n"
		"Your mailbox <%s> now holds %s of its %s quota (%llu%%).\r\n"
		"\r\n"
		"Mail that arrives while it is full is refused until there is room again.\r\n"
		"Please delete messages you no longer need and empty the Trash folder.\r\n",
		host, address, percent, date, (long long)time(NULL),
		atomic_fetch_add(&exec_msgid_counter, 1), (int)getpid(), host, address,
		exec_human(used, h_used, sizeof(h_used)),
		exec_human(a->quota, h_quota, sizeof(h_quota)),
		(unsigned long long)((double)used * 100.0 / (double)a->quota));
}

/* An anonymous file: a memfd, or an unlinked O_TMPFILE in the Maildir where memfds are not
   available; nothing to clean up on any path. */
static int exec_anon_file(const char *root)
{
	char tmp[PATH_MAX];
	int fd = memfd_create("maild-quota-warning", MFD_CLOEXEC);

	if (fd >= 0 || str_printf(tmp, sizeof(tmp), "%s/tmp", root) < 0)
		return fd;
	return open(tmp, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
}

/* 0 with the stored delivery in *res_r, -1 with errno (or res_r's error) set. */
static int exec_store_warning(const struct exec_ctx *c, const struct exec_account *a,
			      const char *address, struct maildir_delivery *res_r)
{
	char text[4096];
	struct maildir_rcpt rcpt = { .maildir = a->root };
	size_t prepend_len;
	int len, fd, ret;
	char *prepend;

	len = exec_warning_text(c, a, address, text, sizeof(text));
	if (len < 0) {
		errno = ENAMETOOLONG;
		return -1;
	}
	fd = exec_anon_file(a->root);
	if (fd < 0)
		return -1;
	/* The warning comes from the mail system itself: null sender, so nothing answers it. */
	prepend = exec_prepend("", address, &prepend_len);
	rcpt.prepend = (const uint8_t *)prepend;
	rcpt.prepend_len = prepend_len;
	ret = fd_write_all(fd, text, (size_t)len);
	if (ret == 0)
		ret = maildir_deliver(fd, &rcpt, 1, MAILDIR_STRATEGY_COPY, res_r) == 1 ? 0 : -1;
	(void)close(fd);
	free(prepend);
	return ret;
}

static void exec_send_warning(struct exec_ctx *c, struct exec_account *a)
{
	struct delivery_result *r = &c->results[a->first_ok];
	const char *address = c->req->rcpts[a->first_ok].address;
	struct maildir_delivery res = { 0 };
	const char *error = NULL;
	char buf[128];

	if (exec_store_warning(c, a, address, &res) < 0) {
		(void)str_printf(r->warning, sizeof(r->warning), "quota warning not stored: %s",
				 res.error != NULL ? res.error
						   : exec_strerror(errno, buf, sizeof(buf)));
		return;
	}
	r->quota_warned = true;
	if (maildir_quota_add(a->root, (int64_t)res.size, 1, &error) < 0)
		(void)str_printf(r->warning, sizeof(r->warning), "maildirsize not updated: %s",
				 error);
}

static void exec_account_add(struct exec_ctx *c, const struct exec_target *t)
{
	struct exec_account *a = &c->accounts[t->account];
	struct delivery_result *r = &c->results[t->rcpt];
	const char *error = NULL;

	if (a->first_ok == EXEC_NONE)
		a->first_ok = t->rcpt;
	if (strcmp(t->folder, EXEC_TRASH) == 0)
		return;
	a->added += t->res.size;
	/* Never fails the recipient: the message is durable, and a lost line is repaired by the
	   next recalculation. */
	if (maildir_quota_add(a->root, (int64_t)t->res.size, 1, &error) < 0)
		(void)str_printf(r->warning, sizeof(r->warning), "maildirsize not updated: %s",
				 error);
}

static void exec_account(struct exec_ctx *c)
{
	for (size_t i = 0; i < c->ntargets; i++) {
		const struct exec_target *t = &c->targets[i];

		if (t->live && t->res.status == MAILDIR_DELIVER_OK)
			exec_account_add(c, t);
	}
	for (size_t i = 0; i < c->naccounts; i++) {
		struct exec_account *a = &c->accounts[i];

		if (a->first_ok != EXEC_NONE && a->quota > 0 && a->usage_known &&
		    maildir_quota_crossed(a->usage.bytes, a->usage.bytes + a->added, a->quota,
					  c->req->warn_percent) == 1)
			exec_send_warning(c, a);
	}
}

/* ----- results ----- */

static void exec_finish(struct exec_ctx *c)
{
	for (size_t i = 0; i < c->ntargets; i++) {
		const struct exec_target *t = &c->targets[i];

		if (t->live)
			exec_map_target(t, &c->results[t->rcpt]);
	}
	for (size_t i = 0; i < c->req->count; i++) {
		const struct delivery_result *owner;
		struct delivery_result *r = &c->results[i];

		if (!r->duplicate)
			continue;
		owner = &c->results[c->targets[c->target_of[i]].rcpt];
		r->status = owner->status;
		memcpy(r->dsn, owner->dsn, sizeof(r->dsn));
		memcpy(r->text, owner->text, sizeof(r->text));
		memcpy(r->folder, owner->folder, sizeof(r->folder));
		r->size = owner->size;
	}
}

static void exec_fail_all(struct exec_ctx *c, enum delivery_status status, const char *dsn,
			  const char *text)
{
	for (size_t i = 0; i < c->req->count; i++)
		exec_set(&c->results[i], status, dsn, "%s", text);
}

/* The spool must be a readable regular file within the size limit before anything else. */
static int exec_check_spool(struct exec_ctx *c)
{
	struct stat st;
	char buf[128], text[DELIVERY_TEXT_MAX];

	if (fstat(c->spool_fd, &st) < 0) {
		(void)str_printf(text, sizeof(text), "cannot read the message: %s",
				 exec_strerror(errno, buf, sizeof(buf)));
		exec_fail_all(c, DELIVERY_TEMPFAIL, "4.3.0", text);
		return -1;
	}
	if (!S_ISREG(st.st_mode)) {
		exec_fail_all(c, DELIVERY_TEMPFAIL, "4.3.0", "message file is not a regular file");
		return -1;
	}
	c->spool_size = (uint64_t)st.st_size;
	if (c->req->max_size != 0 && c->spool_size > c->req->max_size) {
		exec_fail_all(c, DELIVERY_PERMFAIL, "5.3.4", "message too big");
		return -1;
	}
	return 0;
}

static void exec_free(struct exec_ctx *c)
{
	for (size_t i = 0; i < c->ntargets; i++) {
		free(c->targets[i].path);
		free(c->targets[i].prepend);
	}
	free(c->targets);
	free(c->accounts);
	free(c->target_of);
}

int delivery_exec(int spool_fd, const struct delivery_request *req,
		  struct delivery_result *results_r)
{
	struct exec_ctx c = { .spool_fd = spool_fd, .req = req, .results = results_r };
	size_t ok = 0;

	if (spool_fd < 0 || req == NULL || req->sender == NULL || req->rcpts == NULL ||
	    req->count == 0 || req->count > DELIVERY_RCPT_MAX || results_r == NULL) {
		errno = EINVAL;
		return -1;
	}
	memset(results_r, 0, req->count * sizeof(*results_r));
	if (exec_check_spool(&c) == 0) {
		c.target_of = exec_calloc(req->count, sizeof(*c.target_of));
		c.targets = exec_calloc(req->count, sizeof(*c.targets));
		c.accounts = exec_calloc(req->count, sizeof(*c.accounts));
		exec_plan(&c);
		exec_check_quota(&c);
		exec_deliver(&c);
		exec_account(&c);
		exec_finish(&c);
		exec_free(&c);
	}
	for (size_t i = 0; i < req->count; i++)
		ok += results_r[i].status == DELIVERY_OK;
	return ok == req->count ? 1 : 0;
}

enum delivery_quota_verdict delivery_quota_check(const char *maildir, uint64_t quota_bytes,
						 uint64_t size, uint64_t *usage_r,
						 const char **error_r)
{
	struct maildir_quota_limit limit = { quota_bytes, 0 };
	struct maildir_quota_usage usage = { 0, 0 };
	struct stat st;

	*usage_r = 0;
	if (quota_bytes == 0 || (stat(maildir, &st) < 0 && errno == ENOENT))
		return DELIVERY_QUOTA_ACCEPT;
	if (maildir_quota_get(maildir, &limit, &usage, error_r) < 0)
		return DELIVERY_QUOTA_TEMPFAIL;
	*usage_r = usage.bytes;
	return maildir_quota_check(&usage, &limit, size, MAILDIR_QUOTA_NONINCLUSIVE) == 1
		       ? DELIVERY_QUOTA_ACCEPT
		       : DELIVERY_QUOTA_OVER;
}
