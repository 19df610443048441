/* One body item of one message as an IMAP literal (RFC 9051 6.4.5 BODY[section]<partial>,
   RFC 3516 BINARY and BINARY.SIZE), written in bounded pieces. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../core/log.h"
#include "../store/mime_header.h"
#include "imap_fetch.h"

/* Source octets transformed at a time; the scratch holds what one step produces. */
#define IMAP_FETCH_STEP (64u * 1024u)
#define IMAP_FETCH_SCRATCH (2u * IMAP_FETCH_STEP + MIME_DECODER_OUT_MAX(0) + 16u)

bool imap_fetch_body_needs_parse(const struct imap_fetch_body *body)
{
	return body->section.path_len > 0;
}

bool imap_fetch_body_from_lines(const struct imap_fetch_body *body,
                                const struct imap_fetch_src *src)
{
	return body->hdr_cached && src->hdr_lines != NULL;
}

/* Transform len source octets at in into out (room for IMAP_FETCH_SCRATCH); the count. */
static size_t imap_fetch_xform_step(struct imap_fetch_lit *lit, const uint8_t *in, size_t len,
                                    uint8_t *out)
{
	size_t n = 0;

	switch (lit->xform) {
	case IMAP_FETCH_XF_COPY:
		memcpy(out, in, len);
		return len;
	case IMAP_FETCH_XF_CRLF:
		for (size_t i = 0; i < len; i++) {
			if (in[i] == '\n' && !lit->prev_cr)
				out[n++] = '\r';
			out[n++] = in[i];
			lit->prev_cr = in[i] == '\r';
		}
		return n;
	case IMAP_FETCH_XF_DECODE:
		return mime_decoder_feed(&lit->dec, in, len, out);
	}
	return 0;
}

/* Octets the transformed source has, counted without keeping them; NUL seen in *nul_r (looked
   for only when want_nul: BINARY; BODY[] of a big message must not read it all up front). */
static uint64_t imap_fetch_count(struct imap_fetch_lit *lit, bool want_nul, bool *nul_r)
{
	uint64_t total = 0;

	*nul_r = false;
	if (lit->xform == IMAP_FETCH_XF_COPY) {
		*nul_r = want_nul && memchr(lit->src, '\0', lit->src_len) != NULL;
		return lit->src_len;
	}
	if (lit->xform == IMAP_FETCH_XF_CRLF) {
		bool prev_cr = false;

		for (size_t i = 0; i < lit->src_len; i++) {
			total += (lit->src[i] == '\n' && !prev_cr) ? 2 : 1;
			prev_cr = lit->src[i] == '\r';
		}
		return total;
	}
	for (size_t off = 0; off < lit->src_len; off += IMAP_FETCH_STEP) {
		size_t len =
		    lit->src_len - off < IMAP_FETCH_STEP ? lit->src_len - off : IMAP_FETCH_STEP;
		size_t n = mime_decoder_feed(&lit->dec, lit->src + off, len, lit->scratch);

		*nul_r = *nul_r || memchr(lit->scratch, '\0', n) != NULL;
		total += n;
	}
	size_t n = mime_decoder_finish(&lit->dec, lit->scratch);

	*nul_r = *nul_r || memchr(lit->scratch, '\0', n) != NULL;
	mime_decoder_init(&lit->dec, lit->cte);
	return total + n;
}

/* The top-level sections without the parse: header and text split at the empty line. */
static int imap_fetch_resolve_top(const struct imap_fetch_src *src, const struct mime_section *s,
                                  size_t *off_r, size_t *len_r)
{
	size_t hsize = mime_header_size(src->buf, src->len);

	switch (s->kind) {
	case MIME_SECTION_BODY:
		*off_r = 0, *len_r = src->len;
		return 1;
	case MIME_SECTION_HEADER:
	case MIME_SECTION_HEADER_FIELDS:
	case MIME_SECTION_HEADER_FIELDS_NOT:
		*off_r = 0, *len_r = hsize;
		return 1;
	case MIME_SECTION_TEXT:
		*off_r = hsize, *len_r = src->len - hsize;
		return 1;
	case MIME_SECTION_MIME:
		break;
	}
	return 0;
}

static int imap_fetch_resolve(const struct imap_fetch_src *src, const struct mime_section *s,
                              size_t *off_r, size_t *len_r)
{
	if (s->path_len == 0)
		return imap_fetch_resolve_top(src, s, off_r, len_r);
	if (src->msg == NULL)
		fatal("imap fetch: a part number without the parsed message");
	return mime_section_resolve(src->msg, s, off_r, len_r);
}

/* BINARY[part]: the part's body, to be decoded. 1, 0 no such part, -1 unknown encoding. */
static int imap_fetch_binary_source(struct imap_fetch_lit *lit, const struct imap_fetch_src *src)
{
	const struct mime_section *s = &lit->body->section;
	const struct mime_part *part;

	if (s->path_len == 0) {
		/* BINARY[]: the whole message, nothing to decode */
		lit->src = src->buf, lit->src_len = src->len;
		lit->cte = MIME_CTE_IDENTITY;
		return 1;
	}
	part = mime_section_part(src->msg, s);
	if (part == NULL)
		return 0;
	lit->src = src->buf + part->body_off;
	lit->src_len = part->body_len;
	lit->cte = (part->is_multipart || part->is_message)
	               ? MIME_CTE_IDENTITY
	               : mime_cte_from_name(part->encoding != NULL ? part->encoding : "7bit");
	return lit->cte == MIME_CTE_UNKNOWN ? -1 : 1;
}

static int imap_fetch_section_source(struct imap_fetch_lit *lit, const struct imap_fetch_src *src)
{
	const struct mime_section *s = &lit->body->section;
	size_t off, len;

	if (imap_fetch_body_from_lines(lit->body, src)) {
		/* the same octets as filtering the file's header (mime_hdrcache.h), and never
		   more than the entry */
		mime_buf_reserve(&lit->owned, src->hdr_lines_len);
		mime_header_filter(src->hdr_lines, src->hdr_lines_len, s->fields, s->nfields, false,
		                   &lit->owned);
		lit->src = (const uint8_t *)lit->owned.p;
		lit->src_len = lit->owned.len;
		return 1;
	}
	if (imap_fetch_resolve(src, s, &off, &len) != 1)
		return 0;
	if (s->kind == MIME_SECTION_HEADER_FIELDS || s->kind == MIME_SECTION_HEADER_FIELDS_NOT) {
		mime_header_filter(src->buf + off, len, s->fields, s->nfields,
		                   s->kind == MIME_SECTION_HEADER_FIELDS_NOT, &lit->owned);
		lit->src = (const uint8_t *)lit->owned.p;
		lit->src_len = lit->owned.len;
		return 1;
	}
	lit->src = src->buf + off;
	lit->src_len = len;
	lit->xform = src->crlf ? IMAP_FETCH_XF_CRLF : IMAP_FETCH_XF_COPY;
	return 1;
}

int imap_fetch_lit_init(struct imap_fetch_lit *lit, const struct imap_fetch_body *body,
                        const struct imap_fetch_src *src)
{
	bool nul = false;
	int ret;

	memset(lit, 0, sizeof(*lit));
	lit->body = body;
	lit->xform = IMAP_FETCH_XF_COPY;
	if (body->kind == IMAP_FETCH_SECTION) {
		ret = imap_fetch_section_source(lit, src);
	} else {
		ret = imap_fetch_binary_source(lit, src);
		if (ret == 1 && lit->cte != MIME_CTE_IDENTITY)
			lit->xform = IMAP_FETCH_XF_DECODE;
	}
	if (ret < 0)
		return -1;
	if (ret == 0) {
		lit->nil = true;
		return 0;
	}
	/* A copy goes out straight from the source: no scratch (128 KiB per literal, a mapping
	   of its own for malloc, would cost more than a header's few hundred octets). */
	if (lit->xform != IMAP_FETCH_XF_COPY) {
		lit->scratch = malloc(IMAP_FETCH_SCRATCH);
		if (lit->scratch == NULL)
			fatal("out of memory");
	}
	mime_decoder_init(&lit->dec, lit->cte);
	lit->part_size = imap_fetch_count(lit, body->kind == IMAP_FETCH_BINARY, &nul);
	lit->binary8 = body->kind == IMAP_FETCH_BINARY && nul;
	lit->size = lit->part_size;
	if (body->partial) {
		uint64_t off =
		    body->partial_off < lit->part_size ? body->partial_off : lit->part_size;
		uint64_t left = lit->part_size - off;

		lit->size = body->partial_len < left ? body->partial_len : left;
		if (lit->xform == IMAP_FETCH_XF_COPY) {
			/* jump straight to the origin */
			lit->in_pos = (size_t)off;
			lit->pos = off;
		}
	}
	return 0;
}

void imap_fetch_lit_free(struct imap_fetch_lit *lit)
{
	mime_buf_free(&lit->owned);
	free(lit->scratch);
	lit->scratch = NULL;
}

/* Refill the scratch with the next transformed octets; false when the source is exhausted. */
static bool imap_fetch_refill(struct imap_fetch_lit *lit)
{
	lit->scratch_len = lit->scratch_pos = 0;
	if (lit->in_pos < lit->src_len) {
		size_t len = lit->src_len - lit->in_pos;

		if (len > IMAP_FETCH_STEP)
			len = IMAP_FETCH_STEP;
		lit->scratch_len =
		    imap_fetch_xform_step(lit, lit->src + lit->in_pos, len, lit->scratch);
		lit->in_pos += len;
		return true;
	}
	if (lit->xform == IMAP_FETCH_XF_DECODE && !lit->finished) {
		lit->finished = true;
		lit->scratch_len = mime_decoder_finish(&lit->dec, lit->scratch);
		return true;
	}
	return false;
}

/* Literal data: up to max octets of the window [start, start + size) of the transformed
   source. */
static void imap_fetch_lit_data(struct imap_fetch_lit *lit, struct mime_buf *out, size_t max)
{
	uint64_t start = lit->body->partial ? lit->body->partial_off : 0;
	size_t room = max;

	while (lit->written < lit->size && room > 0) {
		uint64_t want = lit->size - lit->written;

		if (want > room)
			want = room;
		if (lit->xform == IMAP_FETCH_XF_COPY) {
			/* no scratch: straight from the source (in_pos == pos) */
			mime_buf_append(out, lit->src + lit->in_pos, (size_t)want);
			lit->in_pos += (size_t)want, lit->pos += want;
			lit->written += want, room -= (size_t)want;
			continue;
		}
		if (lit->scratch_pos == lit->scratch_len && !imap_fetch_refill(lit)) {
			/* The source gave less than it counted (it cannot: counted from the same
			   bytes); pad so the literal keeps its announced size. */
			while (lit->written < lit->size && room > 0)
				mime_buf_append_c(out, ' '), lit->written++, room--;
			break;
		}
		size_t avail = lit->scratch_len - lit->scratch_pos;

		if (lit->pos < start) {
			uint64_t skip = start - lit->pos < avail ? start - lit->pos : avail;

			lit->scratch_pos += (size_t)skip, lit->pos += skip;
			continue;
		}
		if (want > avail)
			want = avail;
		mime_buf_append(out, lit->scratch + lit->scratch_pos, (size_t)want);
		lit->scratch_pos += (size_t)want, lit->pos += want;
		lit->written += want, room -= (size_t)want;
	}
}

bool imap_fetch_lit_emit(struct imap_fetch_lit *lit, struct mime_buf *out, size_t max)
{
	const struct imap_fetch_body *b = lit->body;

	if (!lit->header_sent) {
		lit->header_sent = true;
		if (b->kind == IMAP_FETCH_BINARY_SIZE) {
			/* RFC 3516 4.2: the decoded size of the whole part; 0 for none */
			mime_buf_printf(out, "%s %llu", b->label,
			                lit->nil ? 0ULL : (unsigned long long)lit->part_size);
			return true;
		}
		if (lit->nil) {
			mime_buf_printf(out, "%s NIL", b->label);
			return true;
		}
		/* once per message of a big FETCH: no printf */
		mime_buf_append_str(out, b->label);
		mime_buf_append_str(out, lit->binary8 ? " ~{" : " {");
		mime_buf_append_uint(out, lit->size);
		mime_buf_append(out, "}\r\n", 3);
	}
	imap_fetch_lit_data(lit, out, max);
	return lit->written >= lit->size;
}

void imap_fetch_date(int64_t t, char *buf, size_t size)
{
	static const char *const months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
	                                     "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
	time_t tt = (time_t)t;
	struct tm tm;
	long off;

	if (localtime_r(&tt, &tm) == NULL) {
		tt = 0;
		gmtime_r(&tt, &tm);
	}
	off = tm.tm_gmtoff / 60;
	snprintf(buf, size, "%02d-%s-%04d %02d:%02d:%02d %c%02ld%02ld", tm.tm_mday,
	         months[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec,
	         off < 0 ? '-' : '+', (off < 0 ? -off : off) / 60, (off < 0 ? -off : off) % 60);
}
