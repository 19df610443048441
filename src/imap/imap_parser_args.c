/* The per-command arena, the scratch buffer and the argument tree of the IMAP parser, and the
   argument helpers of imap_parser.h. */
#include <stdalign.h>
#include <stdlib.h>
#include <string.h>

#include "imap_parser_int.h"
#include "log.h"

/* Most commands fit one block, which is kept from one command to the next. */
#define IMAP_ARENA_BLOCK 4096u
#define IMAP_ARENA_ALIGN alignof(struct imap_arg)
/* A scratch buffer larger than this is released between commands. */
#define IMAP_SCRATCH_KEEP 4096u

struct imap_arena_block {
	struct imap_arena_block *next;
	size_t size, used;
	alignas(IMAP_ARENA_ALIGN) uint8_t data[];
};

static struct imap_arena_block *arena_block_new(struct imap_parser *p, size_t size)
{
	struct imap_arena_block *b = malloc(sizeof(*b) + size);

	if (b == NULL)
		fatal("imap parser: out of memory (%zu bytes)", size);
	b->size = size;
	b->used = 0;
	b->next = p->arena;
	p->arena = b;
	p->arena_bytes += sizeof(*b) + size;
	return b;
}

void *imap_arena_alloc(struct imap_parser *p, size_t size)
{
	struct imap_arena_block *b = p->arena;
	void *ptr;

	/* Sizes come from checked limits; this only guards the rounding below. */
	if (size > SIZE_MAX / 2)
		fatal("imap parser: arena request of %zu bytes", size);
	size = (size + IMAP_ARENA_ALIGN - 1) & ~(IMAP_ARENA_ALIGN - 1);
	if (b == NULL || b->size - b->used < size)
		b = arena_block_new(p, size > IMAP_ARENA_BLOCK ? size : IMAP_ARENA_BLOCK);
	ptr = b->data + b->used;
	b->used += size;
	return ptr;
}

/* Frees every block but one ordinary block, which is emptied for the next command. */
void imap_arena_reset(struct imap_parser *p)
{
	struct imap_arena_block *b = p->arena, *next;

	while (b != NULL && (b->next != NULL || b->size != IMAP_ARENA_BLOCK)) {
		next = b->next;
		p->arena_bytes -= sizeof(*b) + b->size;
		free(b);
		b = next;
	}
	p->arena = b;
	if (b != NULL)
		b->used = 0;
}

void imap_arena_free(struct imap_parser *p)
{
	struct imap_arena_block *next;

	while (p->arena != NULL) {
		next = p->arena->next;
		free(p->arena);
		p->arena = next;
	}
	p->arena_bytes = 0;
}

/* Every scratch byte is a counted line byte, so the buffer never passes line_max + 1. */
void imap_scratch_add(struct imap_parser *p, uint8_t c)
{
	if (p->scratch_len + 1 >= p->scratch_cap) {
		size_t cap = p->scratch_cap != 0 ? p->scratch_cap * 2 : 256;
		uint8_t *s = realloc(p->scratch, cap);

		if (s == NULL)
			fatal("imap parser: out of memory (%zu bytes)", cap);
		p->scratch = s;
		p->scratch_cap = cap;
	}
	p->scratch[p->scratch_len++] = c;
	p->scratch[p->scratch_len] = '\0';
}

void imap_scratch_trim(struct imap_parser *p)
{
	p->scratch_len = 0;
	if (p->scratch_cap > IMAP_SCRATCH_KEEP) {
		free(p->scratch);
		p->scratch = NULL;
		p->scratch_cap = 0;
	}
}

const char *imap_scratch_dup(struct imap_parser *p)
{
	char *s = imap_arena_alloc(p, p->scratch_len + 1);

	if (p->scratch_len > 0)
		memcpy(s, p->scratch, p->scratch_len);
	s[p->scratch_len] = '\0';
	return s;
}

bool imap_args_begin(struct imap_parser *p)
{
	if (p->arg_count >= p->limits.args_max)
		return false;
	p->arg_count++;
	return true;
}

struct imap_arg *imap_args_add(struct imap_parser *p, enum imap_arg_type type)
{
	struct imap_arg *a = imap_arena_alloc(p, sizeof(*a));
	struct imap_level *lv = &p->stack[p->depth];

	memset(a, 0, sizeof(*a));
	a->type = type;
	if (lv->last != NULL)
		lv->last->next = a;
	else if (lv->list != NULL)
		lv->list->list = a;
	else
		p->cmd.args = a;
	lv->last = a;
	if (lv->list != NULL)
		lv->list->count++;
	else
		p->cmd.arg_count++;
	return a;
}

/* Lists are a stack of levels, not recursion: depth is bounded by depth_max alone
   (RELIABILITY row 60, CVE-2025-61600 class). */
bool imap_args_open(struct imap_parser *p)
{
	struct imap_arg *list;

	if (p->depth >= p->limits.depth_max)
		return false;
	list = imap_args_add(p, IMAP_ARG_LIST);
	p->depth++;
	p->stack[p->depth].list = list;
	p->stack[p->depth].last = NULL;
	return true;
}

bool imap_args_close(struct imap_parser *p)
{
	if (p->depth == 0)
		return false;
	p->depth--;
	return true;
}

static char ascii_lower(char c)
{
	return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

bool imap_ascii_eq(const char *s, size_t len, const char *word)
{
	size_t i;

	for (i = 0; i < len; i++) {
		if (word[i] == '\0' || ascii_lower(s[i]) != ascii_lower(word[i]))
			return false;
	}
	return word[i] == '\0';
}

bool imap_arg_atom_is(const struct imap_arg *a, const char *word)
{
	return a != NULL && (a->type == IMAP_ARG_ATOM || a->type == IMAP_ARG_NIL) &&
	       imap_ascii_eq(a->str, a->len, word);
}

bool imap_arg_get_string(const struct imap_arg *a, const char **str_r, size_t *len_r)
{
	if (a == NULL || a->str == NULL ||
	    (a->type != IMAP_ARG_QUOTED && a->type != IMAP_ARG_LITERAL))
		return false;
	*str_r = a->str;
	*len_r = a->len;
	return true;
}

bool imap_arg_get_astring(const struct imap_arg *a, const char **str_r, size_t *len_r)
{
	if (a != NULL && (a->type == IMAP_ARG_ATOM || a->type == IMAP_ARG_NIL)) {
		*str_r = a->str;
		*len_r = a->len;
		return true;
	}
	return imap_arg_get_string(a, str_r, len_r);
}

bool imap_arg_get_nstring(const struct imap_arg *a, const char **str_r, size_t *len_r)
{
	if (a != NULL && a->type == IMAP_ARG_NIL) {
		*str_r = NULL;
		*len_r = 0;
		return true;
	}
	return imap_arg_get_string(a, str_r, len_r);
}

bool imap_arg_get_list(const struct imap_arg *a, const struct imap_arg **list_r, unsigned *count_r)
{
	if (a == NULL || a->type != IMAP_ARG_LIST)
		return false;
	*list_r = a->list;
	*count_r = a->count;
	return true;
}
