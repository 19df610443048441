#include <string.h>

#include "mime_header.h"

enum tok_kind {
	TOK_END,
	TOK_ATOM,    /* atext run, 8-bit included (RFC 6532) */
	TOK_QUOTED,  /* p/len: the content between the quotes, escapes as written */
	TOK_DLIT,    /* [domain literal], brackets included */
	TOK_SPECIAL, /* c */
};

struct tok {
	enum tok_kind kind;
	const uint8_t *p;
	size_t len;
	char c;
};

struct lexer {
	const uint8_t *p;
	size_t len, pos;
	const uint8_t *comment; /* the content of the last top-level comment passed */
	size_t comment_len;
	struct tok peeked;
	bool has_peeked;
};

static bool is_special(uint8_t c)
{
	return strchr("()<>@,;:\\.[]\"", c) != NULL || c == '\0';
}

static bool is_space(uint8_t c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* Pass a comment starting at lx->pos ("("), remembering its content. */
static void skip_comment(struct lexer *lx)
{
	size_t start = lx->pos + 1, depth = 0;

	for (; lx->pos < lx->len; lx->pos++) {
		uint8_t c = lx->p[lx->pos];

		if (c == '\\' && lx->pos + 1 < lx->len)
			lx->pos++;
		else if (c == '(')
			depth++;
		else if (c == ')' && --depth == 0)
			break;
	}
	lx->comment = lx->p + start;
	lx->comment_len = (lx->pos < lx->len ? lx->pos : lx->len) - start;
	if (lx->pos < lx->len)
		lx->pos++;
}

/* Scan to the closing delimiter at lx->pos, honouring backslash escapes; returns its index
   (lx->len when missing) and moves past it. */
static size_t scan_to(struct lexer *lx, uint8_t close)
{
	size_t i;

	for (i = lx->pos; i < lx->len && lx->p[i] != close; i++) {
		if (lx->p[i] == '\\' && i + 1 < lx->len)
			i++;
	}
	if (i > lx->len)
		i = lx->len;
	lx->pos = i < lx->len ? i + 1 : lx->len;
	return i;
}

static struct tok lex_next(struct lexer *lx)
{
	struct tok t = {.kind = TOK_END};
	size_t start;

	if (lx->has_peeked) {
		lx->has_peeked = false;
		return lx->peeked;
	}
	for (;;) {
		while (lx->pos < lx->len && is_space(lx->p[lx->pos]))
			lx->pos++;
		if (lx->pos >= lx->len || lx->p[lx->pos] != '(')
			break;
		skip_comment(lx);
	}
	if (lx->pos >= lx->len)
		return t;
	start = lx->pos;
	if (lx->p[start] == '"') {
		lx->pos++;
		t.kind = TOK_QUOTED;
		t.p = lx->p + start + 1;
		t.len = scan_to(lx, '"') - (start + 1);
	} else if (lx->p[start] == '[') {
		lx->pos++;
		t.kind = TOK_DLIT;
		t.p = lx->p + start;
		t.len = scan_to(lx, ']') + 1 - start;
		if (start + t.len > lx->len)
			t.len = lx->len - start;
	} else if (is_special(lx->p[start])) {
		t.kind = TOK_SPECIAL;
		t.c = (char)lx->p[start];
		lx->pos++;
	} else {
		while (lx->pos < lx->len && !is_space(lx->p[lx->pos]) &&
		       !is_special(lx->p[lx->pos]))
			lx->pos++;
		t.kind = TOK_ATOM;
		t.p = lx->p + start;
		t.len = lx->pos - start;
	}
	return t;
}

static struct tok lex_peek(struct lexer *lx)
{
	if (!lx->has_peeked) {
		lx->peeked = lex_next(lx);
		lx->has_peeked = true;
	}
	return lx->peeked;
}

static bool tok_is(const struct tok *t, char c)
{
	return t->kind == TOK_SPECIAL && t->c == c;
}

/* Append a quoted string's content without its escapes. */
static void append_unescaped(struct mime_buf *b, const uint8_t *p, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++) {
		if (p[i] == '\\' && i + 1 < len)
			i++;
		if (p[i] != '\r' && p[i] != '\n')
			mime_buf_append_c(b, (char)p[i]);
	}
}

/* What an address collects before its kind is known. */
struct words {
	struct mime_buf phrase; /* words joined by one space, quotes removed */
	struct mime_buf local;  /* as written without CFWS, quotes kept */
	size_t n;
};

static void words_add(struct words *w, const struct tok *t)
{
	if (tok_is(t, '.')) {
		mime_buf_append_c(&w->phrase, '.');
		mime_buf_append_c(&w->local, '.');
		w->n++;
		return;
	}
	if (w->phrase.len > 0)
		mime_buf_append_c(&w->phrase, ' ');
	if (t->kind == TOK_QUOTED) {
		append_unescaped(&w->phrase, t->p, t->len);
		mime_buf_append_c(&w->local, '"');
		mime_buf_append(&w->local, t->p, t->len);
		mime_buf_append_c(&w->local, '"');
	} else {
		mime_buf_append(&w->phrase, t->p, t->len);
		mime_buf_append(&w->local, t->p, t->len);
	}
	w->n++;
}

static void words_reset(struct words *w)
{
	mime_buf_truncate(&w->phrase, 0);
	mime_buf_truncate(&w->local, 0);
	w->n = 0;
}

struct addr_list {
	struct mime_arena *a;
	struct mime_address *head, **tail;
	size_t count;
};

static const char *dup_buf(struct mime_arena *a, const struct mime_buf *b)
{
	return b->len > 0 ? mime_arena_strndup(a, b->p, b->len) : NULL;
}

static struct mime_address *list_add(struct addr_list *l, enum mime_addr_kind kind)
{
	struct mime_address *ad = mime_arena_alloc(l->a, sizeof(*ad));

	ad->kind = kind;
	*l->tail = ad;
	l->tail = &ad->next;
	l->count++;
	return ad;
}

/* A domain: atoms, dots and literals up to what cannot be part of one. */
static void read_domain(struct lexer *lx, struct mime_buf *out)
{
	struct tok t;

	for (;;) {
		t = lex_peek(lx);
		if (t.kind == TOK_ATOM || t.kind == TOK_DLIT)
			mime_buf_append(out, t.p, t.len);
		else if (tok_is(&t, '.'))
			mime_buf_append_c(out, '.');
		else
			return;
		(void)lex_next(lx);
	}
}

/* RFC 5322 4.4 obs-route: "@a,@b:" before the addr-spec inside angle brackets. */
static void read_route(struct lexer *lx, struct mime_buf *route)
{
	struct tok t;

	for (;;) {
		t = lex_peek(lx);
		if (tok_is(&t, '@')) {
			(void)lex_next(lx);
			mime_buf_append_c(route, '@');
			read_domain(lx, route);
		} else if (tok_is(&t, ',')) {
			(void)lex_next(lx);
			if (route->len > 0)
				mime_buf_append_c(route, ',');
		} else {
			if (tok_is(&t, ':'))
				(void)lex_next(lx);
			return;
		}
	}
}

/* After "<": [route] local "@" domain ">". */
static void read_angle(struct lexer *lx, struct words *w, struct mime_buf *route,
                       struct mime_buf *host, bool *has_host)
{
	struct tok t = lex_peek(lx);

	words_reset(w);
	if (tok_is(&t, '@'))
		read_route(lx, route);
	for (;;) {
		t = lex_next(lx);
		if (t.kind == TOK_END || tok_is(&t, '>'))
			return;
		if (tok_is(&t, '@')) {
			*has_host = true;
			read_domain(lx, host);
		} else if (t.kind == TOK_ATOM || t.kind == TOK_QUOTED || tok_is(&t, '.')) {
			if (!*has_host)
				words_add(w, &t);
		}
	}
}

/* Skip to the end of the current address (",", ";" or the end), not taking it. */
static void skip_rest(struct lexer *lx)
{
	struct tok t;

	for (;;) {
		t = lex_peek(lx);
		if (t.kind == TOK_END || tok_is(&t, ',') || tok_is(&t, ';'))
			return;
		(void)lex_next(lx);
	}
}

struct addr_state {
	struct lexer lx;
	struct addr_list l;
	struct words w;
	struct mime_buf name, route, host;
	bool in_group;
};

static void emit_mailbox(struct addr_state *s, bool has_host, bool angle)
{
	struct mime_address *ad = list_add(&s->l, MIME_ADDR_MAILBOX);

	ad->name = dup_buf(s->l.a, &s->name);
	/* Dovecot: "user@host (Name)" takes the comment as the display name */
	if (ad->name == NULL && !angle && s->lx.comment != NULL && s->lx.comment_len > 0) {
		struct mime_buf c = MIME_BUF_INIT;

		append_unescaped(&c, s->lx.comment, s->lx.comment_len);
		ad->name = dup_buf(s->l.a, &c);
		mime_buf_free(&c);
	}
	ad->route = dup_buf(s->l.a, &s->route);
	ad->mailbox = dup_buf(s->l.a, &s->w.local);
	ad->host =
	    has_host ? mime_arena_strndup(s->l.a, mime_buf_str(&s->host), s->host.len) : NULL;
}

/* One address (or a group's start or end); false at the end of the input. */
static bool read_address(struct addr_state *s)
{
	bool has_host = false;
	struct tok t;

	words_reset(&s->w);
	mime_buf_truncate(&s->name, 0);
	mime_buf_truncate(&s->route, 0);
	mime_buf_truncate(&s->host, 0);
	s->lx.comment = NULL;
	for (;;) {
		t = lex_next(&s->lx);
		if (t.kind == TOK_ATOM || t.kind == TOK_QUOTED || t.kind == TOK_DLIT ||
		    tok_is(&t, '.')) {
			words_add(&s->w, &t);
			continue;
		}
		if (t.kind != TOK_SPECIAL || strchr("<:@,;", t.c) != NULL)
			break;
		/* stray ")", ">", "\", "]": skipped */
	}
	if (tok_is(&t, '<')) {
		mime_buf_append(&s->name, s->w.phrase.p, s->w.phrase.len);
		read_angle(&s->lx, &s->w, &s->route, &s->host, &has_host);
		emit_mailbox(s, has_host, true);
		skip_rest(&s->lx);
	} else if (tok_is(&t, ':')) {
		if (!s->in_group) {
			list_add(&s->l, MIME_ADDR_GROUP_START)->name =
			    dup_buf(s->l.a, &s->w.phrase);
			s->in_group = true;
		}
	} else if (tok_is(&t, '@')) {
		read_domain(&s->lx, &s->host);
		has_host = true;
		skip_rest(&s->lx);
		emit_mailbox(s, has_host, false);
	} else if (s->w.n > 0) {
		emit_mailbox(s, false, false);
	}
	if (tok_is(&t, ';') && s->in_group) {
		list_add(&s->l, MIME_ADDR_GROUP_END);
		s->in_group = false;
	}
	return t.kind != TOK_END;
}

size_t mime_address_parse(struct mime_arena *a, const uint8_t *p, size_t len,
                          struct mime_address **list_r)
{
	struct addr_state s = {
	    .lx = {.p = p, .len = len},
	    .l = {.a = a},
	    .w = {MIME_BUF_INIT, MIME_BUF_INIT, 0},
	    .name = MIME_BUF_INIT,
	    .route = MIME_BUF_INIT,
	    .host = MIME_BUF_INIT,
	};

	s.l.tail = &s.l.head;
	while (read_address(&s))
		;
	if (s.in_group)
		list_add(&s.l, MIME_ADDR_GROUP_END);
	mime_buf_free(&s.w.phrase);
	mime_buf_free(&s.w.local);
	mime_buf_free(&s.name);
	mime_buf_free(&s.route);
	mime_buf_free(&s.host);
	*list_r = s.l.head;
	return s.l.count;
}
