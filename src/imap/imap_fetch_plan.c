/* The arguments of FETCH (RFC 9051 6.4.5 and 9 fetch-att, RFC 3516 BINARY, RFC 7162
   CHANGEDSINCE/VANISHED) turned into a plan. Pure: no session, no mailbox. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../store/mime_hdrcache.h"
#include "imap_fetch.h"

struct imap_fetch_parse {
	struct imap_fetch_plan *plan;
	size_t cap; /* of plan->bodies */
	unsigned items;
	const char *error;
};

static int imap_fetch_fail(struct imap_fetch_parse *p, const char *error)
{
	if (p->error == NULL)
		p->error = error;
	return -1;
}

/* RFC 9051 number: 1*DIGIT, at most 2^32-1 (partial origins and lengths). max bounds it. */
static bool imap_fetch_number(const char *s, size_t len, uint64_t max, uint64_t *v_r)
{
	uint64_t v = 0;

	if (len == 0 || len > 20)
		return false;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		if (v > (max - (uint64_t)(s[i] - '0')) / 10)
			return false;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	*v_r = v;
	return true;
}

static const struct {
	const char *name;
	unsigned attrs;
} imap_fetch_simple[] = {
    {"UID", IMAP_FETCH_UID},
    {"FLAGS", IMAP_FETCH_FLAGS},
    {"INTERNALDATE", IMAP_FETCH_INTERNALDATE},
    {"RFC822.SIZE", IMAP_FETCH_RFC822_SIZE},
    {"ENVELOPE", IMAP_FETCH_ENVELOPE},
    {"BODY", IMAP_FETCH_BODY},
    {"BODYSTRUCTURE", IMAP_FETCH_BODYSTRUCTURE},
    {"MODSEQ", IMAP_FETCH_MODSEQ},
};

static struct imap_fetch_body *imap_fetch_body_add(struct imap_fetch_parse *p)
{
	struct imap_fetch_plan *plan = p->plan;

	if (plan->nbodies >= IMAP_FETCH_BODIES_MAX) {
		imap_fetch_fail(p, "Too many body sections in one FETCH.");
		return NULL;
	}
	if (plan->nbodies == p->cap) {
		size_t cap = p->cap == 0 ? 4 : p->cap * 2;
		struct imap_fetch_body *b = mime_arena_alloc(&plan->arena, cap * sizeof(*b));

		if (plan->nbodies > 0)
			memcpy(b, plan->bodies, plan->nbodies * sizeof(*b));
		plan->bodies = b;
		p->cap = cap;
	}
	memset(&plan->bodies[plan->nbodies], 0, sizeof(plan->bodies[0]));
	return &plan->bodies[plan->nbodies++];
}

/* RFC822, RFC822.HEADER, RFC822.TEXT: BODY[], BODY.PEEK[HEADER], BODY[TEXT] under their own
   names (RFC 9051 6.4.5, kept from RFC 3501). 1 when name was one of them, 0 not, -1. */
static int imap_fetch_rfc822(struct imap_fetch_parse *p, const char *name)
{
	struct imap_fetch_body *b;
	enum mime_section_kind kind;
	bool seen;

	if (strcasecmp(name, "RFC822") == 0) {
		kind = MIME_SECTION_BODY;
		seen = true;
	} else if (strcasecmp(name, "RFC822.HEADER") == 0) {
		kind = MIME_SECTION_HEADER;
		seen = false;
	} else if (strcasecmp(name, "RFC822.TEXT") == 0) {
		kind = MIME_SECTION_TEXT;
		seen = true;
	} else {
		return 0;
	}
	b = imap_fetch_body_add(p);
	if (b == NULL)
		return -1;
	b->kind = IMAP_FETCH_SECTION;
	b->section.kind = kind;
	b->set_seen = seen;
	b->label = mime_arena_strndup(&p->plan->arena, name, strlen(name));
	for (char *c = (char *)b->label; *c != '\0'; c++)
		if (*c >= 'a' && *c <= 'z')
			*c = (char)(*c - 'a' + 'A');
	return 1;
}

static int imap_fetch_simple_item(struct imap_fetch_parse *p, const struct imap_arg *a)
{
	for (size_t i = 0; i < sizeof(imap_fetch_simple) / sizeof(imap_fetch_simple[0]); i++) {
		if (strcasecmp(a->str, imap_fetch_simple[i].name) == 0) {
			p->plan->attrs |= imap_fetch_simple[i].attrs;
			return 0;
		}
	}
	if (imap_fetch_rfc822(p, a->str) == 1)
		return 0;
	return imap_fetch_fail(p, "Unknown FETCH data item.");
}

/* A header field name (RFC 5322 ftext: printable US-ASCII except colon). */
static bool imap_fetch_field_ok(const char *s, size_t len)
{
	if (len == 0 || len > IMAP_FETCH_FIELD_LEN_MAX)
		return false;
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)s[i] <= 32 || (unsigned char)s[i] >= 127 || s[i] == ':')
			return false;
	return true;
}

/* Whether a field name can be written back as an atom. */
static bool imap_fetch_atom_ok(const char *s)
{
	return strpbrk(s, "()[]{}\"\\%*") == NULL;
}

/* The (FROM TO) of HEADER.FIELDS into b->section, echoed into label. */
static int imap_fetch_fields(struct imap_fetch_parse *p, struct imap_fetch_body *b,
                             const struct imap_arg *list, struct mime_buf *label)
{
	const char **fields;
	size_t n = 0;

	if (list == NULL || list->type != IMAP_ARG_LIST || list->count == 0)
		return imap_fetch_fail(p, "HEADER.FIELDS needs a list of field names.");
	if (list->count > IMAP_FETCH_FIELDS_MAX)
		return imap_fetch_fail(p, "Too many header field names.");
	fields = mime_arena_alloc(&p->plan->arena, list->count * sizeof(*fields));
	mime_buf_append_str(label, " (");
	for (const struct imap_arg *f = list->list; f != NULL; f = f->next) {
		const char *str;
		size_t len;

		if (f->type == IMAP_ARG_LIST || !imap_arg_get_astring(f, &str, &len) ||
		    !imap_fetch_field_ok(str, len))
			return imap_fetch_fail(p, "Invalid header field name.");
		fields[n] = mime_arena_strndup(&p->plan->arena, str, len);
		if (n > 0)
			mime_buf_append_c(label, ' ');
		if (imap_fetch_atom_ok(fields[n])) {
			mime_buf_append(label, str, len);
		} else {
			mime_buf_append_c(label, '"');
			for (size_t i = 0; i < len; i++) {
				if (str[i] == '"' || str[i] == '\\')
					mime_buf_append_c(label, '\\');
				mime_buf_append_c(label, str[i]);
			}
			mime_buf_append_c(label, '"');
		}
		n++;
	}
	mime_buf_append_c(label, ')');
	b->section.fields = fields;
	b->section.nfields = n;
	return 0;
}

/* "<origin.length>" after the "]" (RFC 9051 9: "<" number "." nz-number ">"). */
static int imap_fetch_partial(struct imap_fetch_parse *p, struct imap_fetch_body *b, const char *s,
                              size_t len)
{
	const char *dot, *end = s + len;

	if (len == 0)
		return 0;
	if (b->kind == IMAP_FETCH_BINARY_SIZE || s[0] != '<' || end[-1] != '>')
		return imap_fetch_fail(p, "Invalid partial specification.");
	dot = memchr(s, '.', len);
	if (dot == NULL ||
	    !imap_fetch_number(s + 1, (size_t)(dot - s - 1), UINT32_MAX, &b->partial_off) ||
	    !imap_fetch_number(dot + 1, (size_t)(end - 1 - dot - 1), UINT32_MAX, &b->partial_len) ||
	    b->partial_len == 0)
		return imap_fetch_fail(p, "Invalid partial specification.");
	b->partial = true;
	return 0;
}

/* BODY[...], BODY.PEEK[...], BINARY[...], BINARY.PEEK[...], BINARY.SIZE[...] starting at atom
   a (which holds the "["). *next_r: the argument after the item. */
static int imap_fetch_section_item(struct imap_fetch_parse *p, const struct imap_arg *a,
                                   const char *bracket, const struct imap_arg **next_r)
{
	struct mime_buf label = MIME_BUF_INIT;
	struct imap_fetch_body *b;
	size_t nlen = (size_t)(bracket - a->str);
	const char *text = bracket + 1, *close, *rest;
	size_t text_len;
	int ret = -1;

	*next_r = a->next;
	b = imap_fetch_body_add(p);
	if (b == NULL)
		return -1;
	if (nlen == 4 && strncasecmp(a->str, "BODY", 4) == 0) {
		b->kind = IMAP_FETCH_SECTION, b->set_seen = true;
		mime_buf_append_str(&label, "BODY[");
	} else if (nlen == 9 && strncasecmp(a->str, "BODY.PEEK", 9) == 0) {
		b->kind = IMAP_FETCH_SECTION;
		mime_buf_append_str(&label, "BODY[");
	} else if (nlen == 6 && strncasecmp(a->str, "BINARY", 6) == 0) {
		b->kind = IMAP_FETCH_BINARY, b->set_seen = true;
		mime_buf_append_str(&label, "BINARY[");
	} else if (nlen == 11 && strncasecmp(a->str, "BINARY.PEEK", 11) == 0) {
		b->kind = IMAP_FETCH_BINARY;
		mime_buf_append_str(&label, "BINARY[");
	} else if (nlen == 11 && strncasecmp(a->str, "BINARY.SIZE", 11) == 0) {
		b->kind = IMAP_FETCH_BINARY_SIZE;
		mime_buf_append_str(&label, "BINARY.SIZE[");
	} else {
		imap_fetch_fail(p, "Unknown FETCH data item.");
		goto out;
	}
	close = strchr(text, ']');
	text_len = close != NULL ? (size_t)(close - text) : strlen(text);
	if (mime_section_parse(text, text_len, &b->section) < 0) {
		imap_fetch_fail(p, "Invalid section.");
		goto out;
	}
	for (size_t i = 0; i < text_len; i++)
		mime_buf_append_c(&label, (text[i] >= 'a' && text[i] <= 'z') ? (char)(text[i] - 32)
		                                                             : text[i]);
	if (b->kind != IMAP_FETCH_SECTION && b->section.kind != MIME_SECTION_BODY) {
		/* RFC 3516 section-binary: part numbers only */
		imap_fetch_fail(p, "BINARY takes part numbers only.");
		goto out;
	}
	if (b->section.kind == MIME_SECTION_HEADER_FIELDS ||
	    b->section.kind == MIME_SECTION_HEADER_FIELDS_NOT) {
		/* "BODY[HEADER.FIELDS" (FROM TO) "]<0.10>": three arguments */
		const struct imap_arg *list = a->next;

		if (close != NULL || imap_fetch_fields(p, b, list, &label) < 0)
			goto fields_bad;
		if (list->next == NULL || list->next->type != IMAP_ARG_ATOM ||
		    list->next->str[0] != ']')
			goto fields_bad;
		rest = list->next->str + 1;
		*next_r = list->next->next;
	} else {
		if (close == NULL) {
			imap_fetch_fail(p, "Missing ] in section.");
			goto out;
		}
		rest = close + 1;
	}
	mime_buf_append_c(&label, ']');
	b->hdr_cached = b->kind == IMAP_FETCH_SECTION &&
	                b->section.kind == MIME_SECTION_HEADER_FIELDS && b->section.path_len == 0 &&
	                mime_hdrcache_covers(b->section.fields, b->section.nfields);
	if (imap_fetch_partial(p, b, rest, strlen(rest)) < 0)
		goto out;
	if (b->partial)
		mime_buf_printf(&label, "<%llu>", (unsigned long long)b->partial_off);
	b->label = mime_arena_strndup(&p->plan->arena, label.p, label.len);
	ret = 0;
	goto out;
fields_bad:
	imap_fetch_fail(p, "Invalid HEADER.FIELDS list.");
out:
	mime_buf_free(&label);
	return ret;
}

/* One fetch-att starting at a; *next_r: the argument after it. */
static int imap_fetch_item(struct imap_fetch_parse *p, const struct imap_arg *a,
                           const struct imap_arg **next_r)
{
	const char *bracket;

	*next_r = a->next;
	if (++p->items > IMAP_FETCH_ITEMS_MAX)
		return imap_fetch_fail(p, "Too many FETCH data items.");
	if (a->type != IMAP_ARG_ATOM)
		return imap_fetch_fail(p, "Invalid FETCH data item.");
	bracket = strchr(a->str, '[');
	if (bracket == NULL)
		return imap_fetch_simple_item(p, a);
	return imap_fetch_section_item(p, a, bracket, next_r);
}

/* (CHANGEDSINCE n) (VANISHED) — RFC 7162 3.1.4.1, 3.2.6. */
static int imap_fetch_modifiers(struct imap_fetch_parse *p, const struct imap_arg *list, bool uid)
{
	struct imap_fetch_plan *plan = p->plan;

	if (list->type != IMAP_ARG_LIST || list->count == 0 || list->next != NULL)
		return imap_fetch_fail(p, "Invalid FETCH modifiers.");
	for (const struct imap_arg *m = list->list; m != NULL; m = m->next) {
		if (imap_arg_atom_is(m, "CHANGEDSINCE") && !plan->changedsince_set) {
			m = m->next;
			if (m == NULL || m->type != IMAP_ARG_ATOM ||
			    !imap_fetch_number(m->str, m->len, INT64_MAX, &plan->changedsince))
				return imap_fetch_fail(p, "Invalid CHANGEDSINCE value.");
			plan->changedsince_set = true;
		} else if (imap_arg_atom_is(m, "VANISHED") && uid && !plan->vanished) {
			plan->vanished = true;
		} else {
			return imap_fetch_fail(p, "Unknown FETCH modifier.");
		}
	}
	/* RFC 7162 3.2.6: VANISHED without CHANGEDSINCE is a BAD command. */
	if (plan->vanished && !plan->changedsince_set)
		return imap_fetch_fail(p, "VANISHED needs CHANGEDSINCE.");
	if (plan->changedsince_set)
		plan->attrs |= IMAP_FETCH_MODSEQ;
	return 0;
}

static int imap_fetch_macro(struct imap_fetch_parse *p, const struct imap_arg *a)
{
	static const unsigned fast =
	    IMAP_FETCH_FLAGS | IMAP_FETCH_INTERNALDATE | IMAP_FETCH_RFC822_SIZE;

	if (a->type != IMAP_ARG_ATOM)
		return 0;
	if (strcasecmp(a->str, "FAST") == 0)
		p->plan->attrs |= fast;
	else if (strcasecmp(a->str, "ALL") == 0)
		p->plan->attrs |= fast | IMAP_FETCH_ENVELOPE;
	else if (strcasecmp(a->str, "FULL") == 0)
		p->plan->attrs |= fast | IMAP_FETCH_ENVELOPE | IMAP_FETCH_BODY;
	else
		return 0;
	return 1;
}

static int imap_fetch_items(struct imap_fetch_parse *p, const struct imap_arg *args,
                            const struct imap_arg **next_r)
{
	const struct imap_arg *a;

	if (args == NULL)
		return imap_fetch_fail(p, "FETCH needs data items.");
	*next_r = args->next;
	if (imap_fetch_macro(p, args) == 1)
		return 0;
	if (args->type != IMAP_ARG_LIST)
		return imap_fetch_item(p, args, next_r);
	if (args->count == 0)
		return imap_fetch_fail(p, "Empty FETCH data item list.");
	for (a = args->list; a != NULL;)
		if (imap_fetch_item(p, a, &a) < 0)
			return -1;
	return 0;
}

int imap_fetch_plan_parse(const struct imap_arg *args, bool uid, struct imap_fetch_plan *plan_r,
                          const char **error_r)
{
	struct imap_fetch_parse p = {.plan = plan_r};
	const struct imap_arg *next = NULL;

	memset(plan_r, 0, sizeof(*plan_r));
	if (imap_fetch_items(&p, args, &next) < 0)
		goto bad;
	if (next != NULL && imap_fetch_modifiers(&p, next, uid) < 0)
		goto bad;
	if (uid)
		plan_r->attrs |= IMAP_FETCH_UID;
	for (size_t i = 0; i < plan_r->nbodies; i++)
		plan_r->set_seen |= plan_r->bodies[i].set_seen;
	return 0;
bad:
	*error_r = p.error != NULL ? p.error : "Invalid FETCH arguments.";
	return -1;
}

void imap_fetch_plan_free(struct imap_fetch_plan *plan)
{
	mime_arena_free(&plan->arena);
	memset(plan, 0, sizeof(*plan));
}
