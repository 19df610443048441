/* The FETCH responses for a set of messages, batch by batch (imap_fetch_run.h): the folder's
   memory for UID/FLAGS/MODSEQ, the index cache for ENVELOPE/BODY/BODYSTRUCTURE and for
   HEADER.FIELDS of common fields (mime_hdrcache.h), the mapped file for everything else. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../core/log.h"
#include "../store/mime_hdrcache.h"
#include "../store/mime_header.h"
#include "core/array_sort.h"
#include "imap_bodystructure.h"
#include "imap_envelope.h"
#include "imap_fetch_run.h"
#include "imap_mailbox.h"

struct imap_fetch_cache {
	uint32_t uid;
	enum mbox_cache_field field;
	char *data;
	size_t len;
};

/* What the index said of a message's header lines entry (MBOX_CACHE_HDR_LINES). */
enum imap_fetch_lines {
	IMAP_FETCH_LINES_UNKNOWN, /* not asked */
	IMAP_FETCH_LINES_CACHED,  /* in imap_fetch_msg.lines */
	IMAP_FETCH_LINES_TOO_BIG, /* the empty marker: read the file */
	IMAP_FETCH_LINES_MISSING, /* none yet: written from the file */
};

/* The message being written. */
struct imap_fetch_msg {
	uint32_t seq, uid;
	int fd;
	uint8_t *map;
	size_t map_len;
	struct mime_message *mime;
	struct imap_fetch_src src;
	size_t body_i; /* next body item */
	bool lit_active;
	bool items; /* some item is written: the next one needs a space */
	struct imap_fetch_lit lit;
	enum imap_fetch_lines lines_state;
	char *lines; /* the entry (malloc'ed) when CACHED; src.hdr_lines points to it */
};

bool imap_fetch_run_memory_only(const struct imap_fetch_run *run)
{
	return (run->plan.attrs & ~IMAP_FETCH_MEMORY_ATTRS) == 0 && run->plan.nbodies == 0;
}

static void imap_fetch_msg_free(struct imap_fetch_msg **mp)
{
	struct imap_fetch_msg *m = *mp;

	if (m == NULL)
		return;
	if (m->lit_active)
		imap_fetch_lit_free(&m->lit);
	mime_message_free(&m->mime);
	free(m->lines);
	if (m->map != NULL)
		(void)munmap(m->map, m->map_len);
	if (m->fd >= 0)
		(void)close(m->fd);
	free(m);
	*mp = NULL;
}

void imap_fetch_run_free(struct imap_fetch_run **runp)
{
	struct imap_fetch_run *run = *runp;

	if (run == NULL)
		return;
	imap_fetch_msg_free(&run->cur);
	mbox_cache_run_free(&run->lines_run);
	for (size_t i = 0; i < run->cache_n; i++)
		free(run->cache[i].data);
	free(run->cache);
	free(run->seen_changed);
	free(run->uids);
	mime_buf_free(&run->out);
	imap_fetch_plan_free(&run->plan);
	free(run);
	*runp = NULL;
}

static void imap_fetch_note(struct imap_fetch_run *run, const char *what, const char *why)
{
	run->failed = true;
	if (run->error[0] == '\0')
		snprintf(run->error, sizeof(run->error), "%s: %s", what, why);
}

/* ----- \Seen (RFC 9051 6.4.5: BODY[] without PEEK sets it) ----- */

static int imap_fetch_uid_cmp(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

static bool imap_fetch_wanted(const struct imap_fetch_run *run, const struct mbox_msg_info *info)
{
	return !run->plan.changedsince_set || info->modseq > run->plan.changedsince;
}

/* Store \Seen for the next window of messages that lack it, remembering which changed. */
static void imap_fetch_seen_window(struct imap_fetch_run *run)
{
	size_t end =
	    run->idx + IMAP_FETCH_SEEN_WINDOW < run->n ? run->idx + IMAP_FETCH_SEEN_WINDOW : run->n;
	struct mbox_store_req req = {.mode = MBOX_STORE_ADD, .flags = MBOX_FLAG_SEEN};
	struct mbox_store_result res = {0};
	uint32_t want[IMAP_FETCH_SEEN_WINDOW];
	size_t nwant = 0;

	free(run->seen_changed);
	run->seen_changed = NULL;
	run->seen_changed_n = 0;
	for (size_t i = run->idx; i < end; i++) {
		struct mbox_msg_info info;
		uint32_t seq = mbox_seq(run->mb, run->uids[i]);

		if (seq != 0 && mbox_msg(run->mb, seq, &info) == 1 &&
		    (info.flags & MBOX_FLAG_SEEN) == 0 && imap_fetch_wanted(run, &info))
			want[nwant++] = run->uids[i];
	}
	run->seen_upto = end;
	if (nwant == 0)
		return;
	if (mbox_store(run->mb, want, nwant, &req, &res) < 0)
		imap_fetch_note(run, "storing \\Seen", mbox_error(run->mb));
	if (res.changed_count > 0) {
		run->seen_changed = res.changed;
		run->seen_changed_n = res.changed_count;
		res.changed = NULL;
		res.changed_count = 0;
		run->seen_set = true;
	}
	mbox_store_result_free(&res);
}

static bool imap_fetch_seen_changed(const struct imap_fetch_run *run, uint32_t uid)
{
	return run->seen_changed_n > 0 &&
	       array_search(&uid, run->seen_changed, run->seen_changed_n, sizeof(uint32_t),
	                    imap_fetch_uid_cmp) != NULL;
}

/* ----- the cache of ENVELOPE, BODY and BODYSTRUCTURE ----- */

static void imap_fetch_cache_add(struct imap_fetch_run *run, uint32_t uid,
                                 enum mbox_cache_field field, const struct mime_buf *b)
{
	struct imap_fetch_cache *c;

	if (run->cache_n == run->cache_cap) {
		run->cache_cap = run->cache_cap == 0 ? 64 : run->cache_cap * 2;
		run->cache = realloc(run->cache, run->cache_cap * sizeof(*run->cache));
		if (run->cache == NULL)
			fatal("out of memory");
	}
	c = &run->cache[run->cache_n++];
	run->cache_bytes += b->len;
	c->uid = uid;
	c->field = field;
	c->len = b->len;
	c->data = malloc(b->len + 1);
	if (c->data == NULL)
		fatal("out of memory");
	memcpy(c->data, mime_buf_str(b), b->len + 1);
}

/* One transaction for the batch's new cache entries. A failure only costs a re-render later. */
static void imap_fetch_cache_flush(struct imap_fetch_run *run)
{
	bool ok = true;

	if (run->cache_n == 0)
		return;
	if (mbox_batch_begin(run->mb) < 0) {
		ok = false;
	} else {
		for (size_t i = 0; i < run->cache_n && ok; i++)
			ok = mbox_cache_set(run->mb, run->cache[i].uid, run->cache[i].field,
			                    run->cache[i].data, run->cache[i].len) == 0;
		ok = mbox_batch_commit(run->mb) == 0 && ok;
	}
	if (!ok)
		log_warning("imap: fetch cache not written: %s", mbox_error(run->mb));
	for (size_t i = 0; i < run->cache_n; i++)
		free(run->cache[i].data);
	run->cache_n = 0;
	run->cache_bytes = 0;
}

/* ----- the header lines cache of HEADER.FIELDS (mime_hdrcache.h) ----- */

static bool imap_fetch_wants_lines(const struct imap_fetch_plan *plan)
{
	for (size_t i = 0; i < plan->nbodies; i++)
		if (plan->bodies[i].hdr_cached)
			return true;
	return false;
}

/* Ask the index for m's entry; messages come in ascending UIDs, so the run reads the
   entries of a few hundred at a time. An index error counts as no entry. */
static void imap_fetch_lines_lookup(struct imap_fetch_run *run, struct imap_fetch_msg *m)
{
	void *data;
	size_t len;
	int ret;

	if (run->lines_run == NULL &&
	    (run->lines_run = mbox_cache_run_new(run->mb, MBOX_CACHE_HDR_LINES)) == NULL)
		fatal("out of memory");
	ret = mbox_cache_run_get(run->lines_run, m->uid, &data, &len);
	if (ret == 1 && len > 0) {
		m->lines = data;
		m->lines_state = IMAP_FETCH_LINES_CACHED;
		m->src.hdr_lines = (const uint8_t *)m->lines;
		m->src.hdr_lines_len = len;
		return;
	}
	if (ret == 1)
		free(data);
	m->lines_state = ret == 1 ? IMAP_FETCH_LINES_TOO_BIG : IMAP_FETCH_LINES_MISSING;
}

/* The entry from the mapped file, written with the batch's other entries (an empty one when
   it is too big, so the next FETCH goes to the file without trying). This message's items
   are answered from the file: the same octets. */
static void imap_fetch_lines_build(struct imap_fetch_run *run, struct imap_fetch_msg *m)
{
	struct mime_buf b = MIME_BUF_INIT;

	(void)mime_hdrcache_build(m->src.buf, mime_header_size(m->src.buf, m->src.len), &b);
	imap_fetch_cache_add(run, m->uid, MBOX_CACHE_HDR_LINES, &b);
	mime_buf_free(&b);
}

/* Whether some body item needs the message's file. */
static bool imap_fetch_bodies_need_file(const struct imap_fetch_run *run,
                                        const struct imap_fetch_msg *m)
{
	for (size_t i = 0; i < run->plan.nbodies; i++)
		if (!imap_fetch_body_from_lines(&run->plan.bodies[i], &m->src))
			return true;
	return false;
}

/* ----- one message ----- */

struct imap_fetch_structs {
	struct mime_buf env, body, bs; /* rendered (from the cache or now) */
	bool env_ok, body_ok, bs_ok;
};

static void imap_fetch_structs_free(struct imap_fetch_structs *st)
{
	mime_buf_free(&st->env);
	mime_buf_free(&st->body);
	mime_buf_free(&st->bs);
}

static void imap_fetch_cached(struct imap_fetch_run *run, uint32_t uid, unsigned attr,
                              enum mbox_cache_field field, struct mime_buf *b, bool *ok_r)
{
	void *data;
	size_t len;

	*ok_r = false;
	if ((run->plan.attrs & attr) == 0)
		return;
	if (mbox_cache_get(run->mb, uid, field, &data, &len) == 1) {
		mime_buf_append(b, data, len);
		*ok_r = len > 0;
		free(data);
	}
}

/* Map the message's file. 1, 0 gone (expunged elsewhere), -1 error (noted). */
static int imap_fetch_map(struct imap_fetch_run *run, struct imap_fetch_msg *m)
{
	struct stat st;

	m->fd = mbox_msg_open(run->mb, m->seq);
	if (m->fd < 0) {
		if (errno == ENOENT) {
			run->expunged = true;
			return 0;
		}
		imap_fetch_note(run, "opening a message", strerror(errno));
		return -1;
	}
	if (fstat(m->fd, &st) < 0) {
		imap_fetch_note(run, "fstat", strerror(errno));
		return -1;
	}
	m->map_len = (size_t)st.st_size;
	if (m->map_len > 0) {
		m->map = mmap(NULL, m->map_len, PROT_READ, MAP_PRIVATE, m->fd, 0);
		if (m->map == MAP_FAILED) {
			m->map = NULL;
			imap_fetch_note(run, "mmap", strerror(errno));
			return -1;
		}
		(void)madvise(m->map, m->map_len, MADV_SEQUENTIAL);
	}
	m->src.buf = m->map != NULL ? m->map : (const uint8_t *)"";
	m->src.len = m->map_len;
	return 1;
}

/* RFC 3516 4.3: a BINARY item of a part whose encoding we cannot decode fails the FETCH
   before anything of the message is written. */
static bool imap_fetch_cte_ok(const struct imap_fetch_run *run, const struct imap_fetch_msg *m)
{
	for (size_t i = 0; i < run->plan.nbodies; i++) {
		const struct imap_fetch_body *b = &run->plan.bodies[i];
		const struct mime_part *part;

		if (b->kind == IMAP_FETCH_SECTION || b->section.path_len == 0)
			continue;
		part = mime_section_part(m->mime, &b->section);
		if (part != NULL && !part->is_multipart && !part->is_message && part->encoding &&
		    mime_cte_from_name(part->encoding) == MIME_CTE_UNKNOWN)
			return false;
	}
	return true;
}

static bool imap_fetch_needs_parse(const struct imap_fetch_run *run,
                                   const struct imap_fetch_structs *st)
{
	if (((run->plan.attrs & IMAP_FETCH_BODY) && !st->body_ok) ||
	    ((run->plan.attrs & IMAP_FETCH_BODYSTRUCTURE) && !st->bs_ok))
		return true;
	for (size_t i = 0; i < run->plan.nbodies; i++)
		if (imap_fetch_body_needs_parse(&run->plan.bodies[i]))
			return true;
	return false;
}

/* What the cache lacks, from the file: true when something was. */
static bool imap_fetch_render_structs(struct imap_fetch_run *run, struct imap_fetch_msg *m,
                                      struct imap_fetch_structs *st)
{
	size_t added = run->cache_n;

	if ((run->plan.attrs & IMAP_FETCH_ENVELOPE) && !st->env_ok) {
		imap_envelope_write(&st->env, m->src.buf, mime_header_size(m->src.buf, m->src.len));
		imap_fetch_cache_add(run, m->uid, MBOX_CACHE_ENVELOPE, &st->env);
	}
	if ((run->plan.attrs & IMAP_FETCH_BODY) && !st->body_ok) {
		imap_bodystructure_write(&st->body, m->mime, false);
		imap_fetch_cache_add(run, m->uid, MBOX_CACHE_BODY, &st->body);
	}
	if ((run->plan.attrs & IMAP_FETCH_BODYSTRUCTURE) && !st->bs_ok) {
		imap_bodystructure_write(&st->bs, m->mime, true);
		imap_fetch_cache_add(run, m->uid, MBOX_CACHE_BODYSTRUCTURE, &st->bs);
	}
	return run->cache_n > added;
}

/* The file is mapped: the entries the cache lacks. A client that lists a folder with
   ENVELOPE or BODYSTRUCTURE is likely to ask for header fields too, so the header lines come
   with them while the header is at hand. */
static void imap_fetch_fill_cache(struct imap_fetch_run *run, struct imap_fetch_msg *m,
                                  struct imap_fetch_structs *st)
{
	if (imap_fetch_render_structs(run, m, st) && m->lines_state == IMAP_FETCH_LINES_UNKNOWN)
		imap_fetch_lines_lookup(run, m);
	if (m->lines_state == IMAP_FETCH_LINES_MISSING)
		imap_fetch_lines_build(run, m);
}

/* "* seq FETCH (UID .. FLAGS .. MODSEQ .. INTERNALDATE .. RFC822.SIZE .. ENVELOPE .. BODY ..
   BODYSTRUCTURE .." — the items short enough to go out at once. */
static void imap_fetch_head(struct imap_fetch_run *run, struct imap_fetch_msg *m,
                            const struct mbox_msg_info *info, const struct imap_fetch_structs *st,
                            time_t date, uint64_t vsize)
{
	struct mime_buf *out = &run->out;
	unsigned attrs = run->plan.attrs;
	bool seen_now = imap_fetch_seen_changed(run, m->uid);
	const char *sp = "";

	/* once per message: appends, not printf */
	mime_buf_append(out, "* ", 2);
	mime_buf_append_uint(out, m->seq);
	mime_buf_append(out, " FETCH (", 8);
	if (attrs & IMAP_FETCH_UID) {
		mime_buf_append(out, "UID ", 4);
		mime_buf_append_uint(out, m->uid);
		sp = " ";
	}
	if ((attrs & IMAP_FETCH_FLAGS) || seen_now) {
		mime_buf_printf(out, "%sFLAGS ", sp), sp = " ";
		imap_flags_write(run->mb, info->flags, info->keywords, info->recent, out);
	}
	/* RFC 7162 3.1: a CONDSTORE-aware client gets MODSEQ with every FLAGS */
	if ((attrs & IMAP_FETCH_MODSEQ) ||
	    (((attrs & IMAP_FETCH_FLAGS) || seen_now) && run->condstore))
		mime_buf_printf(out, "%sMODSEQ (%llu)", sp, (unsigned long long)info->modseq),
		    sp = " ";
	if (attrs & IMAP_FETCH_INTERNALDATE) {
		char buf[40];

		imap_fetch_date((int64_t)date, buf, sizeof(buf));
		mime_buf_printf(out, "%sINTERNALDATE \"%s\"", sp, buf), sp = " ";
	}
	if (attrs & IMAP_FETCH_RFC822_SIZE)
		mime_buf_printf(out, "%sRFC822.SIZE %llu", sp, (unsigned long long)vsize), sp = " ";
	if (attrs & IMAP_FETCH_ENVELOPE)
		mime_buf_printf(out, "%sENVELOPE %s", sp, mime_buf_str(&st->env)), sp = " ";
	if (attrs & IMAP_FETCH_BODY)
		mime_buf_printf(out, "%sBODY %s", sp, mime_buf_str(&st->body)), sp = " ";
	if (attrs & IMAP_FETCH_BODYSTRUCTURE)
		mime_buf_printf(out, "%sBODYSTRUCTURE %s", sp, mime_buf_str(&st->bs)), sp = " ";
	m->items = sp[0] != '\0';
}

/* The sequence number of uid, 0 when gone: mostly the one after the previous message's (1:*
   walks the folder in order), else a binary search. */
static uint32_t imap_fetch_seq(struct imap_fetch_run *run, uint32_t uid)
{
	uint32_t seq = run->last_seq + 1;

	if (mbox_uid(run->mb, seq) != uid)
		seq = mbox_seq(run->mb, uid);
	if (seq != 0)
		run->last_seq = seq;
	return seq;
}

/* Start message uids[idx]: everything up to the body items. 1 started (run->cur set), 0
   skipped, -1 stop the FETCH. */
static int imap_fetch_start(struct imap_fetch_run *run)
{
	struct imap_fetch_structs st;
	struct imap_fetch_msg *m;
	struct mbox_msg_info info;
	uint32_t uid = run->uids[run->idx];
	uint32_t seq = imap_fetch_seq(run, uid);
	time_t date = 0;
	uint64_t vsize = 0;
	int ret = 0;

	if (seq == 0 || mbox_msg(run->mb, seq, &info) != 1 || !imap_fetch_wanted(run, &info))
		return 0;
	memset(&st, 0, sizeof(st));
	m = calloc(1, sizeof(*m));
	if (m == NULL)
		fatal("out of memory");
	m->seq = seq, m->uid = uid, m->fd = -1;
	imap_fetch_cached(run, uid, IMAP_FETCH_ENVELOPE, MBOX_CACHE_ENVELOPE, &st.env, &st.env_ok);
	imap_fetch_cached(run, uid, IMAP_FETCH_BODY, MBOX_CACHE_BODY, &st.body, &st.body_ok);
	imap_fetch_cached(run, uid, IMAP_FETCH_BODYSTRUCTURE, MBOX_CACHE_BODYSTRUCTURE, &st.bs,
	                  &st.bs_ok);
	if (imap_fetch_wants_lines(&run->plan))
		imap_fetch_lines_lookup(run, m);
	bool bodies_file = imap_fetch_bodies_need_file(run, m);
	bool need_file = bodies_file || ((run->plan.attrs & IMAP_FETCH_ENVELOPE) && !st.env_ok) ||
	                 imap_fetch_needs_parse(run, &st);
	/* the size says whether the file's sections go out with bare LFs made CRLF */
	if (((run->plan.attrs & IMAP_FETCH_INTERNALDATE) &&
	     mbox_msg_internaldate(run->mb, seq, &date) < 0) ||
	    ((run->plan.attrs & IMAP_FETCH_RFC822_SIZE || bodies_file) &&
	     mbox_msg_vsize(run->mb, seq, &vsize) < 0)) {
		if (errno == ENOENT)
			run->expunged = true;
		else
			imap_fetch_note(run, "reading a message", mbox_error(run->mb));
		goto skip;
	}
	if (need_file) {
		if (imap_fetch_map(run, m) != 1)
			goto skip;
		m->src.crlf = vsize != 0 && vsize != m->map_len;
		if (imap_fetch_needs_parse(run, &st)) {
			m->mime = mime_message_parse(m->src.buf, m->src.len, NULL);
			m->src.msg = m->mime;
			if (!imap_fetch_cte_ok(run, m)) {
				run->unknown_cte = true;
				ret = -1;
				goto skip;
			}
		}
		imap_fetch_fill_cache(run, m, &st);
	}
	imap_fetch_head(run, m, &info, &st, date, vsize);
	imap_fetch_structs_free(&st);
	run->cur = m;
	return 1;
skip:
	imap_fetch_structs_free(&st);
	imap_fetch_msg_free(&m);
	return ret;
}

/* Go on with the body items of run->cur within budget; true when the message is complete. */
static bool imap_fetch_bodies(struct imap_fetch_run *run, size_t budget)
{
	struct imap_fetch_msg *m = run->cur;
	struct mime_buf *out = &run->out;

	while (m->body_i < run->plan.nbodies) {
		const struct imap_fetch_body *b = &run->plan.bodies[m->body_i];

		if (out->len >= budget)
			return false;
		if (!m->lit_active) {
			if (imap_fetch_lit_init(&m->lit, b, &m->src) < 0)
				m->lit.nil = true; /* checked before: cannot happen */
			m->lit_active = true;
			if (m->items)
				mime_buf_append_c(out, ' ');
			m->items = true;
		}
		if (!imap_fetch_lit_emit(&m->lit, out, budget > out->len ? budget - out->len : 1))
			return false;
		imap_fetch_lit_free(&m->lit);
		m->lit_active = false;
		m->body_i++;
	}
	mime_buf_append_str(out, ")\r\n");
	return true;
}

/* Give the mapped pages back: the next batch faults in what it reads. */
static void imap_fetch_release_pages(struct imap_fetch_run *run)
{
	if (run->cur != NULL && run->cur->map != NULL)
		(void)madvise(run->cur->map, run->cur->map_len, MADV_DONTNEED);
}

void imap_fetch_run_batch(struct imap_fetch_run *run, size_t budget)
{
	unsigned started = 0;

	while (!run->done && run->out.len < budget) {
		if (run->cur != NULL) {
			if (!imap_fetch_bodies(run, budget))
				break;
			imap_fetch_msg_free(&run->cur);
			continue;
		}
		if (run->idx >= run->n || started >= IMAP_FETCH_BATCH_MSGS ||
		    run->cache_bytes >= IMAP_FETCH_CACHE_BYTES) {
			run->done = run->idx >= run->n;
			break;
		}
		if (run->plan.set_seen && !run->readonly && run->idx >= run->seen_upto)
			imap_fetch_seen_window(run);
		started++;
		int ret = imap_fetch_start(run);

		run->idx++;
		if (ret < 0)
			run->done = true;
	}
	if (run->cur == NULL && run->idx >= run->n)
		run->done = true;
	imap_fetch_cache_flush(run);
	imap_fetch_release_pages(run);
}
