/* Feeds arbitrary bytes to the IMAP command parser in one shot, in random pieces and (for short
   inputs) byte by byte, and aborts when the event renderings differ (habit 15). Every parsed
   string also goes through imap_seqset and imap_mutf7, whose round trips must hold.
   The first byte picks the options: authenticated limits, UTF8=ACCEPT, small limits, and which
   literals are streamed or refused. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "imap_mutf7.h"
#include "imap_parser.h"
#include "imap_seqset.h"

struct text {
	char *p;
	size_t len, cap;
};

static void text_add(struct text *t, const void *s, size_t n)
{
	if (t->len + n + 1 > t->cap) {
		t->cap = (t->len + n + 1) * 2;
		t->p = realloc(t->p, t->cap);
		if (t->p == NULL)
			abort();
	}
	memcpy(t->p + t->len, s, n);
	t->len += n;
	t->p[t->len] = '\0';
}

static void text_fmt(struct text *t, const char *fmt, ...)
{
	char tmp[256];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(tmp))
		abort();
	text_add(t, tmp, (size_t)n);
}

/* ---- the other parsers, on every string the command parser produced ---- */

static void check_seqset(const char *s, size_t len)
{
	struct imap_seqset *set;
	const char *error;
	uint32_t max = len > 0 ? (uint8_t)s[0] : 0;

	if (imap_seqset_parse(s, len, 1000, &set, &error) < 0)
		return;
	imap_seqset_resolve(set, max);
	for (size_t i = 0; i < set->count; i++) {
		const struct imap_seq_range *r = &set->ranges[i];

		if (r->lo == 0 || r->lo > r->hi || (i > 0 && r->lo <= set->ranges[i - 1].hi + 1ull))
			abort();
		if (!imap_seqset_contains(set, r->lo) || !imap_seqset_contains(set, r->hi))
			abort();
		if (r->lo > 1 && imap_seqset_contains(set, r->lo - 1))
			abort();
	}
	imap_seqset_free(&set);
}

/* A strict codec: what decodes re-encodes to the same bytes, and the other way round. */
static void check_mutf7(const char *s, size_t len)
{
	size_t room = IMAP_MUTF7_ENCODED_MAX(len), alen, blen;
	char *a = malloc(room), *b = malloc(room);
	const char *error;

	if (a == NULL || b == NULL)
		abort();
	if (imap_mutf7_to_utf8(s, len, a, IMAP_MUTF7_DECODED_MAX(len), &alen, &error) == 0) {
		if (imap_mutf7_from_utf8(a, alen, b, room, &blen, &error) != 0 || blen != len ||
		    memcmp(b, s, len) != 0)
			abort();
	}
	if (imap_mutf7_from_utf8(s, len, a, room, &alen, &error) == 0) {
		if (imap_mutf7_to_utf8(a, alen, b, room, &blen, &error) != 0 || blen != len ||
		    memcmp(b, s, len) != 0)
			abort();
	}
	free(a);
	free(b);
}

/* ---- driving the parser ---- */

struct run {
	struct imap_parser *p;
	struct text out;
	uint64_t stream_over, refuse_mod;
	uint32_t stream_hash;
	size_t memory_max;
	bool fatal, check_strings;
};

static void render_args(struct run *r, const struct imap_arg *a, unsigned depth)
{
	for (; a != NULL; a = a->next) {
		if (depth > IMAP_DEPTH_LIMIT)
			abort();
		text_fmt(&r->out, " %d:", (int)a->type);
		if (a->type == IMAP_ARG_LIST) {
			text_fmt(&r->out, "%u(", a->count);
			render_args(r, a->list, depth + 1);
			text_add(&r->out, ")", 1);
			continue;
		}
		text_fmt(&r->out, "%zu%s%s=", a->len, a->literal8 ? "~" : "",
		         a->streamed ? "s" : "");
		if (a->str == NULL)
			continue;
		if (a->str[a->len] != '\0')
			abort();
		text_add(&r->out, a->str, a->len);
		if (r->check_strings) {
			check_seqset(a->str, a->len);
			check_mutf7(a->str, a->len);
		}
	}
}

static void sink(void *ctx, const uint8_t *data, size_t len)
{
	struct run *r = ctx;

	if (len == 0)
		abort();
	for (size_t i = 0; i < len; i++)
		r->stream_hash = r->stream_hash * 31 + data[i];
}

static void on_literal(struct run *r)
{
	const struct imap_literal *lit = imap_parser_literal(r->p);

	text_fmt(&r->out, "LIT %llu %d %d\n", (unsigned long long)lit->size, lit->sync,
	         lit->binary);
	if (r->refuse_mod != 0 && lit->size % r->refuse_mod == 1)
		imap_parser_literal_refuse(r->p);
	else if (lit->size > r->stream_over)
		imap_parser_literal_stream(r->p, sink, r);
	else if (imap_parser_literal_buffer(r->p) < 0)
		text_add(&r->out, "NOBUF\n", 6);
}

static void on_command(struct run *r)
{
	const struct imap_command *cmd = imap_parser_command(r->p);

	text_add(&r->out, "CMD ", 4);
	text_add(&r->out, cmd->tag, strlen(cmd->tag));
	text_add(&r->out, " ", 1);
	text_add(&r->out, cmd->name, strlen(cmd->name));
	text_fmt(&r->out, " %u", cmd->arg_count);
	render_args(r, cmd->args, 0);
	text_add(&r->out, "\n", 1);
	if (strcasecmp(cmd->name, "AUTHENTICATE") == 0 || strcasecmp(cmd->name, "IDLE") == 0)
		imap_parser_expect_line(r->p);
}

static bool on_event(struct run *r, enum imap_parse_result res)
{
	const char *line;
	size_t len;

	switch (res) {
	case IMAP_PARSE_MORE:
		return false;
	case IMAP_PARSE_COMMAND:
		on_command(r);
		return true;
	case IMAP_PARSE_LITERAL:
		on_literal(r);
		return true;
	case IMAP_PARSE_LINE:
		line = imap_parser_line(r->p, &len);
		text_add(&r->out, "LINE ", 5);
		text_add(&r->out, line, len);
		text_add(&r->out, "\n", 1);
		return true;
	case IMAP_PARSE_ERROR:
		line = imap_parser_command(r->p)->tag;
		text_add(&r->out, "ERR ", 4);
		text_add(&r->out, line != NULL ? line : "*", line != NULL ? strlen(line) : 1);
		text_fmt(&r->out, " %s\n", imap_parser_error(r->p));
		return true;
	case IMAP_PARSE_FATAL:
		text_fmt(&r->out, "FATAL %s\n", imap_parser_error(r->p));
		r->fatal = true;
		return false;
	}
	abort();
}

static void feed(struct run *r, const uint8_t *in, size_t len)
{
	enum imap_parse_result res;
	size_t used;

	if (r->fatal)
		return;
	do {
		res = imap_parser_feed(r->p, in, len, &used);
		if (used > len)
			abort();
		in += used;
		len -= used;
		if (imap_parser_memory(r->p) > r->memory_max)
			abort();
	} while (on_event(r, res));
	if (!r->fatal && len != 0)
		abort();
}

static void limits_for(uint8_t opt, struct imap_parser_limits *l)
{
	imap_parser_limits_default(l, (opt & 1) != 0);
	if ((opt & 4) != 0) {
		l->line_max = 40;
		l->args_max = 6;
		l->depth_max = 3;
		l->literal_max = 300;
		l->literal_nonsync_max = 100;
		l->literal_mem_max = 64;
	}
}

/* mode 0: one shot; 1: byte by byte; else pieces of random size from seed mode. */
static char *run(uint8_t opt, const uint8_t *data, size_t size, uint32_t mode, bool check)
{
	struct imap_parser_limits limits;
	struct run r = {0};
	char *out;

	limits_for(opt, &limits);
	r.p = imap_parser_new(&limits, (opt & 2) != 0 ? IMAP_PARSER_UTF8 : 0);
	r.stream_over = (opt & 8) != 0 ? 3 : UINT64_MAX;
	r.refuse_mod = (opt & 16) != 0 ? 5 : 0;
	r.check_strings = check;
	/* scratch (twice line_max), nodes, buffered literals, blocks and their slack */
	r.memory_max = 4 * limits.line_max + 2 * limits.literal_mem_max +
	               3 * (size_t)limits.args_max * sizeof(struct imap_arg) + 64 * 1024;
	for (size_t pos = 0; pos < size;) {
		size_t n = size - pos;

		if (mode == 1) {
			n = 1;
		} else if (mode > 1) {
			mode = mode * 1103515245u + 12345u;
			n = 1 + (mode >> 16) % 23;
			n = n < size - pos ? n : size - pos;
		}
		feed(&r, data + pos, n);
		pos += n;
	}
	imap_parser_free(&r.p);
	text_fmt(&r.out, "HASH %08x\n", r.stream_hash);
	out = r.out.p;
	return out;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *once, *other;
	uint32_t seed = 2166136261u;

	if (size < 1)
		return 0;
	for (size_t i = 0; i < size; i++)
		seed = (seed ^ data[i]) * 16777619u;
	once = run(data[0], data + 1, size - 1, 0, true);
	other = run(data[0], data + 1, size - 1, seed | 2, false);
	if (strcmp(once, other) != 0)
		abort();
	free(other);
	if (size <= 512) {
		other = run(data[0], data + 1, size - 1, 1, false);
		if (strcmp(once, other) != 0)
			abort();
		free(other);
	}
	free(once);
	return 0;
}
