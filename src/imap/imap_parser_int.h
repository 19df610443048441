#ifndef MAILD_IMAP_PARSER_INT_H
#define MAILD_IMAP_PARSER_INT_H

/* Shared by imap_parser.c (states of a command line), imap_parser_literal.c (literals, skipping
   a bad line, raw lines) and imap_parser_args.c (arena, argument tree). Not for other users. */

#include "imap_parser.h"

enum imap_pstate {
	PS_START,    /* before a tag; empty lines are ignored here */
	PS_START_CR, /* CR of an empty line */
	PS_TAG,
	PS_NAME_START, /* after the tag's SP */
	PS_NAME,
	PS_ARGS, /* between arguments */
	PS_ATOM,
	PS_TILDE, /* "~": literal8 or an atom */
	PS_QUOTED,
	PS_QUOTED_ESC,
	PS_LIT_OPEN, /* after "{" */
	PS_LIT_DIGITS,
	PS_LIT_PLUS,   /* after "+", wants "}" */
	PS_LIT_CLOSED, /* after "}", wants the line end */
	PS_LIT_CR,
	PS_LIT_WAIT, /* LITERAL returned, the caller decides */
	PS_LIT_DATA, /* literal bytes */
	PS_LIT_FAIL, /* a decision failed; the next feed reports it */
	PS_EOL_CR,   /* CR ending the command */
	PS_LINE,     /* imap_parser_expect_line() */
	PS_LINE_CR,
	PS_DONE,      /* an event ended the command; the next feed starts another */
	PS_SKIP,      /* skipping the rest of a bad line */
	PS_SKIP_DATA, /* skipping a non-synchronising literal announced in a bad line */
	PS_FATAL,
};

/* What a bad line's skipper has seen of a literal announcement "{digits[+]}" CR LF. */
enum imap_skip {
	SK_NONE,
	SK_OPEN,
	SK_DIGITS,
	SK_PLUS,
	SK_CLOSED,
	SK_CR,
};

/* What one step did with its byte. */
enum imap_step {
	STEP_TAKE,  /* consumed */
	STEP_AGAIN, /* not consumed, the state changed: look at the byte again */
	STEP_KEEP,  /* not consumed; an event is set */
};

struct imap_level {
	struct imap_arg *list; /* NULL at the top level */
	struct imap_arg *last;
};

struct imap_arena_block;

struct imap_parser {
	struct imap_parser_limits limits;
	struct imap_parser_limits next_limits; /* applied when the next command starts */
	unsigned flags, next_flags;
	enum imap_pstate state;
	enum imap_parse_result event;       /* set by a step that ends the feed */
	enum imap_parse_result fail_result; /* PS_LIT_FAIL */
	const char *error;
	bool want_line;

	/* the command being parsed */
	struct imap_command cmd;
	size_t line_len;
	unsigned arg_count;
	unsigned depth;
	size_t lit_mem_used;
	struct imap_level *stack; /* depth_max + 1 levels */
	unsigned stack_levels;

	/* the atom, quoted string, tag or name being read; at most line_max bytes */
	uint8_t *scratch;
	size_t scratch_len, scratch_cap;

	/* the literal being announced, decided or read (and the skipper's announcement) */
	struct imap_literal lit;
	uint64_t lit_left;
	uint8_t *lit_buf; /* buffered: lit.size + 1 bytes in the arena */
	imap_literal_sink_cb *sink;
	void *sink_ctx;
	bool lit_nul;
	enum imap_skip skip;

	struct imap_arena_block *arena;
	size_t arena_bytes;
};

/* imap_parser.c */
enum imap_step imap_parser_fail(struct imap_parser *p, const char *reason);
enum imap_step imap_parser_fatal(struct imap_parser *p, const char *reason);
void imap_parser_begin(struct imap_parser *p);

/* imap_parser_literal.c */
enum imap_step imap_parser_lit_step(struct imap_parser *p, uint8_t c);
size_t imap_parser_lit_data(struct imap_parser *p, const uint8_t *in, size_t len);
enum imap_step imap_parser_skip_step(struct imap_parser *p, uint8_t c);
size_t imap_parser_skip_data(struct imap_parser *p, size_t len);
enum imap_step imap_parser_line_step(struct imap_parser *p, uint8_t c);
enum imap_skip imap_parser_skip_from(enum imap_pstate state);

/* imap_parser_args.c */
void *imap_arena_alloc(struct imap_parser *p, size_t size);
void imap_arena_reset(struct imap_parser *p);
void imap_arena_free(struct imap_parser *p);
void imap_scratch_add(struct imap_parser *p, uint8_t c);
void imap_scratch_trim(struct imap_parser *p);
const char *imap_scratch_dup(struct imap_parser *p);
/* Counts one more argument; false (and nothing counted) past args_max. */
bool imap_args_begin(struct imap_parser *p);
struct imap_arg *imap_args_add(struct imap_parser *p, enum imap_arg_type type);
bool imap_args_open(struct imap_parser *p);
bool imap_args_close(struct imap_parser *p);
/* ASCII-case-insensitive comparison of len bytes with a NUL-terminated word. */
bool imap_ascii_eq(const char *s, size_t len, const char *word);

#endif
