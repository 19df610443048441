/* Command state, jobs and streamed output shared by the commands that change mailboxes
   (imap_modify.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "../core/log.h"
#include "imap_modify.h"

/* Every live command state of this process (the imap worker runs one loop). */
static struct imap_cmd_state *imap_states;
static uv_timer_t imap_sweep_timer;
static bool imap_sweep_timer_ready;

#define IMAP_SWEEP_INTERVAL_MS 2000

static bool imap_state_owned(const struct imap_cmd_state *st)
{
	for (const struct imap_session *o = st->srv->sessions; o != NULL; o = o->next) {
		if (o == st->s)
			return o->cmd_ctx == st;
	}
	return false;
}

static void imap_state_unlink(struct imap_cmd_state *st)
{
	if (st->prev != NULL)
		st->prev->next = st->next;
	else
		imap_states = st->next;
	if (st->next != NULL)
		st->next->prev = st->prev;
	st->prev = st->next = NULL;
}

static void imap_state_destroy(struct imap_cmd_state *st)
{
	imap_state_unlink(st);
	mime_buf_free(&st->text);
	st->free_fn(st);
}

static void imap_states_sweep(void)
{
	struct imap_cmd_state *next;

	for (struct imap_cmd_state *st = imap_states; st != NULL; st = next) {
		next = st->next;
		if (st->busy || imap_state_owned(st))
			continue;
		imap_state_destroy(st);
	}
	if (imap_states == NULL && imap_sweep_timer_ready)
		uv_timer_stop(&imap_sweep_timer);
}

static void imap_sweep_tick(uv_timer_t *t)
{
	(void)t;
	imap_states_sweep();
}

void imap_cmd_state_start(struct imap_session *s, struct imap_cmd_state *st,
                          imap_cmd_state_free_fn *free_fn)
{
	imap_states_sweep();
	st->srv = s->srv;
	st->s = s;
	st->free_fn = free_fn;
	st->prev = NULL;
	st->next = imap_states;
	if (imap_states != NULL)
		imap_states->prev = st;
	imap_states = st;
	s->cmd_ctx = st;
	if (!imap_sweep_timer_ready) {
		uv_timer_init(s->srv->w->loop, &imap_sweep_timer);
		uv_unref((uv_handle_t *)&imap_sweep_timer); /* never keeps the worker alive */
		imap_sweep_timer_ready = true;
	}
	if (!uv_is_active((uv_handle_t *)&imap_sweep_timer))
		uv_timer_start(&imap_sweep_timer, imap_sweep_tick, IMAP_SWEEP_INTERVAL_MS,
		               IMAP_SWEEP_INTERVAL_MS);
}

void imap_cmd_state_end(struct imap_cmd_state **stp)
{
	struct imap_cmd_state *st = *stp;

	if (st == NULL)
		return;
	*stp = NULL;
	if (imap_state_owned(st)) {
		st->s->cmd_ctx = NULL;
		if (st->s->on_drain != NULL && st->emit != NULL)
			st->s->on_drain = NULL;
	}
	imap_state_destroy(st);
}

struct imap_cmd_state *imap_cmd_state_get(struct imap_session *s, imap_cmd_state_free_fn *free_fn)
{
	for (struct imap_cmd_state *st = imap_states; st != NULL; st = st->next) {
		if (st == s->cmd_ctx)
			return st->s == s && st->free_fn == free_fn ? st : NULL;
	}
	return NULL;
}

/* ----- jobs ----- */

static void imap_state_work(void *arg)
{
	struct imap_cmd_state *st = arg;

	st->work(st);
}

static void imap_state_after(struct imap_session *s, void *arg)
{
	struct imap_cmd_state *st = arg;

	st->busy = false;
	st->after(s, st);
}

static void imap_state_cancel(void *arg)
{
	struct imap_cmd_state *st = arg;

	st->busy = false;
	imap_state_destroy(st);
}

int imap_cmd_state_job(struct imap_cmd_state *st, imap_cmd_work_fn *work, imap_cmd_after_fn *after)
{
	st->work = work;
	st->after = after;
	st->busy = true;
	if (imap_job_run(st->s, imap_state_work, imap_state_after, imap_state_cancel, st) < 0) {
		st->busy = false;
		return -1;
	}
	return 0;
}

/* ----- streamed output ----- */

static void imap_state_emit_more(struct imap_session *s)
{
	struct imap_cmd_state *st = s->cmd_ctx;

	s->on_drain = NULL;
	if (st == NULL || st->emit == NULL)
		return;
	while (conn_is_open(s->conn)) {
		if (conn_output_pending(s->conn) >= IMAP_MODIFY_OUTPUT_MARK) {
			s->on_drain = imap_state_emit_more;
			return;
		}
		if (!st->emit(s, st))
			break;
	}
	if (!conn_is_open(s->conn))
		return; /* the close frees the session; the sweep frees st */
	st->emit = NULL;
	st->emit_done(s);
}

void imap_cmd_state_emit(struct imap_session *s, struct imap_cmd_state *st, imap_emit_fn *emit,
                         imap_session_cb *done)
{
	st->emit = emit;
	st->emit_done = done;
	s->cmd_ctx = st;
	imap_state_emit_more(s);
}

/* ----- the tagged reply ----- */

static void imap_modify_answer(struct imap_session *s)
{
	struct imap_cmd_state *st = NULL;
	enum imap_status status = IMAP_NO;
	char *text;

	for (struct imap_cmd_state *o = imap_states; o != NULL; o = o->next) {
		if (o == s->cmd_ctx && o->s == s)
			st = o;
	}
	if (st == NULL)
		fatal("imap: command answered without its state");
	text = strdup(mime_buf_str(&st->text));
	if (text == NULL)
		fatal("out of memory");
	status = st->status;
	/* Freed first: the reply may go on to read and run the next command at once. */
	imap_cmd_state_end(&st);
	imap_tagged(s, status, "%s", text);
	free(text);
}

void imap_modify_finish(struct imap_session *s, struct imap_cmd_state *st, enum imap_status status,
                        bool allow_expunge, bool tell)
{
	st->status = status;
	s->cmd_ctx = st;
	if (tell)
		imap_mailbox_tell_others(s);
	if (s->sel != NULL && allow_expunge) {
		imap_mailbox_sync_then(s, imap_modify_answer);
		return;
	}
	imap_modify_answer(s);
}

/* ----- helpers ----- */

void imap_modify_send_buf(struct imap_session *s, const struct mime_buf *b)
{
	imap_write(s, mime_buf_str(b), b->len);
	imap_write(s, "\r\n", 2);
}

bool imap_modify_emit_expunged(struct imap_session *s, const struct mbox_changes *ch, size_t *pos)
{
	struct mime_buf b = MIME_BUF_INIT;
	size_t n = ch->expunged_count, start = *pos;

	if (*pos >= n)
		return false;
	if ((s->enabled & IMAP_ENABLED_QRESYNC) == 0) {
		/* Many lines per write: one TLS record and one syscall for hundreds of them. */
		while (*pos < n && b.len < IMAP_MODIFY_EXPUNGE_CHUNK) {
			mime_buf_printf(&b, "* %u EXPUNGE\r\n", ch->expunged_seqs[*pos]);
			(*pos)++;
		}
		imap_write(s, mime_buf_str(&b), b.len);
	} else {
		/* UIDs descend with the sequence numbers: read them backwards, ascending. */
		mime_buf_append_str(&b, "* VANISHED ");
		while (*pos < n && b.len < IMAP_MODIFY_VANISHED_LINE) {
			size_t i = n - 1 - *pos, j = i;

			while (j > 0 && ch->expunged_uids[j - 1] == ch->expunged_uids[j] + 1)
				j--;
			if (b.len > 11)
				mime_buf_append_c(&b, ',');
			if (j < i)
				mime_buf_printf(&b, "%u:%u", ch->expunged_uids[i],
				                ch->expunged_uids[j]);
			else
				mime_buf_printf(&b, "%u", ch->expunged_uids[i]);
			*pos += i - j + 1;
		}
		imap_modify_send_buf(s, &b);
	}
	mime_buf_free(&b);
	if (s->sel != NULL) {
		size_t gone = *pos - start;

		s->sel->exists -= s->sel->exists >= gone ? (uint32_t)gone : s->sel->exists;
	}
	return true;
}

const struct maildir_quota_limit *imap_modify_quota(const struct imap_session *s,
                                                    struct maildir_quota_limit *buf)
{
	if (s->quota == 0)
		return NULL;
	buf->bytes = s->quota;
	buf->count = 0;
	return buf;
}

int imap_modify_open(const char *root, const char *dir, struct mbox **mb_r, char **error_r)
{
	char cur[PATH_MAX];
	struct stat st;
	int n;

	*mb_r = NULL;
	*error_r = NULL;
	n = snprintf(cur, sizeof(cur), "%s/%s%scur", root, dir, dir[0] != '\0' ? "/" : "");
	if (n < 0 || (size_t)n >= sizeof(cur)) {
		*error_r = strdup("folder path too long");
		return -1;
	}
	if (stat(cur, &st) < 0) {
		if (errno == ENOENT || errno == ENOTDIR)
			return 0;
		*error_r = strdup(strerror(errno));
		return -1;
	}
	if (!S_ISDIR(st.st_mode))
		return 0;
	return mbox_open(root, dir, mb_r, error_r) < 0 ? -1 : 1;
}
