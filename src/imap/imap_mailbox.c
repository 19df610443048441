/* The selected folder of a session and the helpers the mailbox commands share
   (imap_mailbox.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../core/log.h"
#include "core/array_sort.h"
#include "imap_mailbox.h"
#include "imap_mutf7.h"
#include "imap_seqset.h"

static const struct {
	uint8_t flag;
	const char *name;
} imap_system_flags[] = {
    {MBOX_FLAG_ANSWERED, "\\Answered"}, {MBOX_FLAG_FLAGGED, "\\Flagged"},
    {MBOX_FLAG_DELETED, "\\Deleted"},   {MBOX_FLAG_SEEN, "\\Seen"},
    {MBOX_FLAG_DRAFT, "\\Draft"},
};
#define IMAP_SYSTEM_FLAG_COUNT (sizeof(imap_system_flags) / sizeof(imap_system_flags[0]))

static bool imap_utf8_enabled(const struct imap_session *s)
{
	return (s->enabled & (IMAP_ENABLED_UTF8_ACCEPT | IMAP_ENABLED_IMAP4REV2)) != 0;
}

void imap_mailbox_unselect(struct imap_session *s)
{
	if (s->sel == NULL)
		return;
	mbox_close(&s->sel->mb);
	imap_seqset_free(&s->sel->saved);
	free(s->sel);
	s->sel = NULL;
	s->on_mailbox_changed = NULL;
	if (s->state == IMAP_STATE_SELECTED)
		s->state = IMAP_STATE_AUTH;
}

int imap_mailbox_name_arg(struct imap_session *s, const struct imap_arg *arg,
                          struct folder_name *fn_r)
{
	enum folder_name_error err;

	if (arg == NULL || arg->type == IMAP_ARG_LIST || arg->str == NULL) {
		imap_tagged(s, IMAP_BAD, "Missing or invalid mailbox name.");
		return -1;
	}
	if (memchr(arg->str, '\0', arg->len) != NULL) {
		imap_tagged(s, IMAP_NO, "[CANNOT] Invalid mailbox name.");
		return -1;
	}
	err = imap_utf8_enabled(s) ? folder_name_from_utf8(arg->str, arg->len, fn_r)
	                           : folder_name_from_mutf7(arg->str, arg->len, fn_r);
	if (err != FOLDER_NAME_OK) {
		imap_tagged(s, IMAP_NO, "[CANNOT] Invalid mailbox name: %s.",
		            folder_name_strerror(err));
		return -1;
	}
	return 0;
}

static void imap_quoted(struct mime_buf *out, const char *p, size_t len)
{
	mime_buf_append_c(out, '"');
	for (size_t i = 0; i < len; i++) {
		if (p[i] == '"' || p[i] == '\\')
			mime_buf_append_c(out, '\\');
		mime_buf_append_c(out, p[i]);
	}
	mime_buf_append_c(out, '"');
}

void imap_mailbox_name_write(const struct imap_session *s, const char *utf8_name,
                             struct mime_buf *out)
{
	char wire[IMAP_MUTF7_ENCODED_MAX(FOLDER_NAME_MAX)];
	const char *error;
	size_t len;

	if (imap_utf8_enabled(s)) {
		imap_quoted(out, utf8_name, strlen(utf8_name));
		return;
	}
	/* Names come from the folder library, valid UTF-8 within FOLDER_NAME_MAX. */
	if (imap_mutf7_from_utf8(utf8_name, strlen(utf8_name), wire, sizeof(wire), &len, &error) <
	    0)
		fatal("imap: folder name not encodable: %s", error);
	imap_quoted(out, wire, len);
}

/* ----- message sets ----- */

static int imap_set_bad(struct imap_session *s, const char *why)
{
	imap_tagged(s, IMAP_BAD, "%s", why);
	return -1;
}

int imap_mailbox_set(struct imap_session *s, const struct imap_arg *arg, bool uid,
                     uint32_t **uids_r, size_t *n_r)
{
	struct mbox *mb = s->sel->mb;
	uint32_t count = mbox_count(mb);
	struct imap_seqset *set;
	const char *error;
	uint32_t *uids = NULL;
	size_t n = 0, cap = 0;

	*uids_r = NULL;
	*n_r = 0;
	if (arg == NULL || arg->type != IMAP_ARG_ATOM)
		return imap_set_bad(s, "Missing or invalid message set.");
	if (imap_seqset_parse(arg->str, arg->len, IMAP_SEQSET_RANGES_MAX, &set, &error) < 0)
		return imap_set_bad(s, error);
	if (set->dollar) {
		/* RFC 9051 6.4.4.1: "$" is UIDs, mapped to sequence numbers where needed */
		imap_seqset_assign(set, s->sel->saved);
		uid = true;
	}
	imap_seqset_resolve(set, uid ? (count > 0 ? mbox_uid(mb, count) : 0) : count);
	for (size_t i = 0; i < set->count; i++) {
		uint32_t first, last;

		if (!uid) {
			if (set->ranges[i].hi > count) {
				imap_seqset_free(&set);
				free(uids);
				return imap_set_bad(s, "Invalid message sequence number.");
			}
			first = set->ranges[i].lo;
			last = set->ranges[i].hi;
		} else if (mbox_seq_range(mb, set->ranges[i].lo, set->ranges[i].hi, &first, &last) !=
		           1) {
			continue;
		}
		for (uint32_t seq = first; seq <= last && seq != 0; seq++) {
			if (n == cap) {
				cap = cap == 0 ? 64 : cap * 2;
				uids = realloc(uids, cap * sizeof(*uids));
				if (uids == NULL)
					fatal("out of memory");
			}
			uids[n++] = mbox_uid(mb, seq);
			if (seq == UINT32_MAX)
				break;
		}
	}
	imap_seqset_free(&set);
	*uids_r = uids;
	*n_r = n;
	return 0;
}

/* ----- flags ----- */

void imap_flags_write(const struct mbox *mb, uint8_t flags, uint32_t keywords, bool recent,
                      struct mime_buf *out)
{
	bool first = true;

	mime_buf_append_c(out, '(');
	for (size_t i = 0; i < IMAP_SYSTEM_FLAG_COUNT; i++) {
		if ((flags & imap_system_flags[i].flag) == 0)
			continue;
		if (!first)
			mime_buf_append_c(out, ' ');
		mime_buf_append_str(out, imap_system_flags[i].name);
		first = false;
	}
	for (unsigned k = 0; k < MBOX_KEYWORDS_MAX; k++) {
		const char *name = (keywords & (1u << k)) ? mbox_keyword_name(mb, k) : NULL;

		if (name == NULL)
			continue;
		if (!first)
			mime_buf_append_c(out, ' ');
		mime_buf_append_str(out, name);
		first = false;
	}
	if (recent) {
		if (!first)
			mime_buf_append_c(out, ' ');
		mime_buf_append_str(out, "\\Recent");
	}
	mime_buf_append_c(out, ')');
}

static int imap_flag_one(struct mbox *mb, const struct imap_arg *a, bool create, uint8_t *flags,
                         uint32_t *keywords, const char **error_r)
{
	unsigned idx;
	int k;

	if (a->type != IMAP_ARG_ATOM || a->len == 0) {
		*error_r = "Invalid flag.";
		return -1;
	}
	if (a->str[0] == '\\') {
		for (size_t i = 0; i < IMAP_SYSTEM_FLAG_COUNT; i++) {
			if (strcasecmp(a->str, imap_system_flags[i].name) == 0) {
				*flags |= imap_system_flags[i].flag;
				return 0;
			}
		}
		*error_r = strcasecmp(a->str, "\\Recent") == 0 ? "\\Recent cannot be set."
		                                                : "Unknown system flag.";
		return -1;
	}
	for (size_t i = 0; i < a->len; i++) {
		/* RFC 9051 flag-keyword = atom, without "]" (resp-specials) */
		if (a->str[i] == ']' || a->str[i] == '%' || a->str[i] == '*') {
			*error_r = "Invalid keyword.";
			return -1;
		}
	}
	k = mbox_keyword_find(mb, a->str);
	if (k >= 0) {
		*keywords |= 1u << k;
		return 0;
	}
	if (!create)
		return 0; /* a keyword no message has: nothing to add or remove */
	switch (mbox_keyword_add(mb, a->str, &idx)) {
	case 1:
		*keywords |= 1u << idx;
		return 0;
	case 0:
		*error_r = "[LIMIT] Too many keywords in this mailbox.";
		return -1;
	default:
		*error_r = "Keyword could not be stored.";
		return -1;
	}
}

int imap_flags_parse(struct mbox *mb, const struct imap_arg *arg, bool create, uint8_t *flags_r,
                     uint32_t *keywords_r, const char **error_r)
{
	*flags_r = 0;
	*keywords_r = 0;
	if (arg == NULL) {
		*error_r = "Missing flags.";
		return -1;
	}
	if (arg->type != IMAP_ARG_LIST)
		return imap_flag_one(mb, arg, create, flags_r, keywords_r, error_r);
	for (const struct imap_arg *a = arg->list; a != NULL; a = a->next)
		if (imap_flag_one(mb, a, create, flags_r, keywords_r, error_r) < 0)
			return -1;
	return 0;
}

void imap_mailbox_send_flags(struct imap_session *s)
{
	struct mime_buf b = MIME_BUF_INIT;
	struct mbox *mb = s->sel->mb;
	size_t list_start;

	mime_buf_append_str(&b, "* FLAGS ");
	list_start = b.len;
	imap_flags_write(mb, MBOX_FLAG_ANSWERED | MBOX_FLAG_FLAGGED | MBOX_FLAG_DELETED |
	                         MBOX_FLAG_SEEN | MBOX_FLAG_DRAFT,
	                 MBOX_KEYWORDS_ALL, false, &b);
	imap_send(s, "%s", mime_buf_str(&b));
	if (s->sel->readonly) {
		imap_send(s, "* OK [PERMANENTFLAGS ()] Read-only mailbox.");
	} else {
		/* The same list, with \* since keywords are created on demand. */
		char *list = strdup(mime_buf_str(&b) + list_start);

		if (list == NULL)
			fatal("out of memory");
		list[strlen(list) - 1] = '\0';
		imap_send(s, "* OK [PERMANENTFLAGS %s \\*)] Flags permitted.", list);
		free(list);
	}
	mime_buf_free(&b);
}

/* ----- reporting changes ----- */

static int imap_uid_cmp(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

void imap_mailbox_report(struct imap_session *s, const struct mbox_changes *ch)
{
	struct imap_selected *sel = s->sel;
	struct mbox *mb;
	uint32_t count;

	if (sel == NULL || ch == NULL)
		return;
	mb = sel->mb;
	if (ch->expunged_count > 0) {
		if (s->enabled & IMAP_ENABLED_QRESYNC) {
			struct mime_buf b = MIME_BUF_INIT;
			uint32_t *sorted = malloc(ch->expunged_count * sizeof(*sorted));

			if (sorted == NULL)
				fatal("out of memory");
			memcpy(sorted, ch->expunged_uids, ch->expunged_count * sizeof(*sorted));
			array_sort(sorted, ch->expunged_count, sizeof(*sorted), imap_uid_cmp);
			mime_buf_append_str(&b, "* VANISHED ");
			imap_seqset_write(&b, sorted, ch->expunged_count);
			imap_send(s, "%s", mime_buf_str(&b));
			mime_buf_free(&b);
			free(sorted);
		} else {
			for (size_t i = 0; i < ch->expunged_count; i++)
				imap_send(s, "* %u EXPUNGE", ch->expunged_seqs[i]);
		}
		sel->exists -= sel->exists >= ch->expunged_count ? (uint32_t)ch->expunged_count
		                                                 : sel->exists;
	}
	count = mbox_count(mb);
	if (count != sel->exists || ch->added_count > 0) {
		imap_send(s, "* %u EXISTS", count);
		if ((s->enabled & IMAP_ENABLED_IMAP4REV2) == 0) {
			struct mbox_counts c;

			mbox_counts(mb, &c);
			imap_send(s, "* %u RECENT", c.recent);
		}
		sel->exists = count;
	}
	for (size_t i = 0; i < ch->changed_count; i++) {
		struct mime_buf b = MIME_BUF_INIT;
		struct mbox_msg_info info;
		uint32_t seq = mbox_seq(mb, ch->changed[i]);

		if (seq == 0 || mbox_msg(mb, seq, &info) != 1)
			continue;
		mime_buf_printf(&b, "* %u FETCH (UID %u FLAGS ", seq, info.uid);
		imap_flags_write(mb, info.flags, info.keywords, info.recent, &b);
		if (sel->condstore)
			mime_buf_printf(&b, " MODSEQ (%llu)", (unsigned long long)info.modseq);
		mime_buf_append_c(&b, ')');
		imap_send(s, "%s", mime_buf_str(&b));
		mime_buf_free(&b);
	}
}

/* ----- syncing from the thread pool ----- */

struct imap_sync_job {
	struct mbox *mb;
	struct mbox_changes changes;
	int rc;
	imap_session_cb *done;
	char *text;  /* imap_mailbox_done: answer OK with text */
	bool suspend; /* the session goes idle: close the index connection after */
};

static void imap_sync_work(void *arg)
{
	struct imap_sync_job *job = arg;

	job->rc = mbox_sync(job->mb, 0, &job->changes);
	if (job->suspend)
		mbox_suspend(job->mb);
}

static void imap_sync_cancel(void *arg)
{
	struct imap_sync_job *job = arg;

	mbox_changes_free(&job->changes);
	free(job->text);
	free(job);
}

static void imap_sync_after(struct imap_session *s, void *arg)
{
	struct imap_sync_job *job = arg;

	if (job->rc < 0)
		log_warning("imap(%s): sync of %s failed: %s", s->user,
		            s->sel != NULL ? s->sel->name.name : "?",
		            s->sel != NULL ? mbox_error(s->sel->mb) : "");
	else
		imap_mailbox_report(s, &job->changes);
	if (job->text != NULL)
		imap_tagged(s, IMAP_OK, "%s", job->text);
	else if (job->done != NULL)
		job->done(s);
	imap_sync_cancel(job);
}

static void imap_mailbox_sync_start(struct imap_session *s, imap_session_cb *done,
                                    const char *text, bool suspend)
{
	struct imap_sync_job *job = calloc(1, sizeof(*job));

	if (job == NULL || (text != NULL && (job->text = strdup(text)) == NULL))
		fatal("out of memory");
	job->mb = s->sel->mb;
	job->done = done;
	job->suspend = suspend;
	if (imap_job_run(s, imap_sync_work, imap_sync_after, imap_sync_cancel, job) < 0) {
		/* Only one job at a time: the one under way reports on its own. */
		imap_sync_cancel(job);
		if (text != NULL)
			imap_tagged(s, IMAP_OK, "%s", text);
		else if (done != NULL)
			done(s);
	}
}

void imap_mailbox_sync_then(struct imap_session *s, imap_session_cb *done)
{
	if (s->sel == NULL) {
		done(s);
		return;
	}
	imap_mailbox_sync_start(s, done, NULL, false);
}

void imap_mailbox_sync_idle(struct imap_session *s, imap_session_cb *done)
{
	if (s->sel == NULL) {
		done(s);
		return;
	}
	imap_mailbox_sync_start(s, done, NULL, true);
}

void imap_mailbox_tell_others(struct imap_session *s)
{
	for (struct imap_session *o = s->srv->sessions; o != NULL; o = o->next) {
		if (o != s && o->on_mailbox_changed != NULL && strcmp(o->maildir, s->maildir) == 0)
			o->on_mailbox_changed(o);
	}
}

void imap_mailbox_done(struct imap_session *s, bool allow_expunge, const char *text)
{
	if (s->sel != NULL && !s->sel->readonly)
		imap_mailbox_tell_others(s);
	if (s->sel == NULL || !allow_expunge) {
		imap_tagged(s, IMAP_OK, "%s", text);
		return;
	}
	imap_mailbox_sync_start(s, NULL, text, false);
}
