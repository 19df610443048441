#ifndef MAILD_IMAP_PARSER_H
#define MAILD_IMAP_PARSER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Incremental IMAP command parser (RFC 3501 and RFC 9051 section 9, with LITERAL+/LITERAL-
 * RFC 7888 and literal8 RFC 3516). It never reads a socket: the caller feeds the bytes it has
 * and the parser says how many it used and what happened. One command at a time:
 *
 *   tag SP name [SP args] CRLF
 *
 * args is a tree of atoms, NIL, quoted strings, literals and parenthesised lists. The parser
 * knows no command's grammar: "UID FETCH" is name "UID" with "FETCH" as first argument, and
 * BODY[HEADER.FIELDS (FROM TO)] arrives as atom "BODY[HEADER.FIELDS", list (FROM TO), atom "]".
 *
 * Decisions (documented here because the session depends on them):
 * - A bare LF ends a line like CRLF does (as in Dovecot; netcat and scripts send LF). A CR not
 *   followed by LF is an error. Empty lines between commands are ignored.
 * - Runs of spaces between arguments and a space before the line end are accepted. Where an
 *   argument's end is unambiguous (after ")", a quoted string or a literal; "(" after an atom)
 *   the next may follow without a space, so section syntax like "(FROM)]" parses.
 * - Atoms are printable US-ASCII except ( ) { and the double quote (RFC 9051 ATOM-CHAR, plus the
 *   list wildcards, "\", "[" and "]" that flags, patterns and sections need). 8-bit bytes are
 *   never allowed in atoms, tags or command names; UTF-8 mailbox names come quoted.
 * - Quoted strings allow only \" and \\ as escapes. 8-bit bytes in them need IMAP_PARSER_UTF8
 *   (set after ENABLE UTF8=ACCEPT, RFC 6855, or ENABLE IMAP4rev2) and must then be valid UTF-8.
 * - NUL is an error in tags, atoms, quoted strings and literals; only literal8 may carry it.
 * - "{n-}" is not IMAP syntax (RFC 7888's LITERAL- uses "{n+}" with a 4096-octet cap): error.
 *
 * Limits (struct imap_parser_limits): the non-literal bytes of one command, line ends included;
 * the arguments of one command (every atom, string, literal and list counts one); list nesting;
 * the largest literal; the largest non-synchronising literal; the bytes of literals buffered in
 * memory per command. Each is checked before anything is allocated for it. The parser's memory
 * is bounded by those limits: tag, name and arguments live in one per-command arena that is
 * released at once when the next command starts.
 */

/* Defaults. Dovecot's imap_max_line_length is 64k too. */
#define IMAP_LINE_MAX (64u * 1024u)
#define IMAP_ARGS_MAX 10000u
#define IMAP_DEPTH_MAX 100u
#define IMAP_LITERAL_MEM_MAX (64u * 1024u)
/* RFC 7888 section 4: LITERAL- caps non-synchronising literals at 4096 octets. */
#define IMAP_LITERAL_MINUS_MAX 4096u
/* Before authentication only LOGIN, AUTHENTICATE and ID carry data; habit 5: stricter. */
#define IMAP_PREAUTH_LITERAL_MAX (8u * 1024u)
#define IMAP_PREAUTH_ARGS_MAX 256u
#define IMAP_PREAUTH_DEPTH_MAX 8u
/* The largest depth_max accepted by imap_parser_new() and imap_parser_set_limits(). */
#define IMAP_DEPTH_LIMIT 1000u

struct imap_parser_limits {
	size_t line_max;              /* non-literal bytes per command, line ends included */
	unsigned args_max;            /* arguments per command */
	unsigned depth_max;           /* list nesting; 1..IMAP_DEPTH_LIMIT */
	uint64_t literal_max;         /* any literal, buffered or streamed */
	uint64_t literal_nonsync_max; /* a "{n+}" literal (also capped by literal_max) */
	size_t literal_mem_max;       /* buffered literal bytes per command */
};

/* Fill with the defaults: before authentication literal_max 8 KiB, literal_nonsync_max 4096
   (LITERAL-), args 256, depth 8; after it IMAP_ARGS_MAX, IMAP_DEPTH_MAX, literal_max and
   literal_nonsync_max UINT32_MAX (LITERAL+; set literal_max to the message size limit).
   line_max IMAP_LINE_MAX and literal_mem_max IMAP_LITERAL_MEM_MAX (preauth: 8 KiB) either way. */
void imap_parser_limits_default(struct imap_parser_limits *limits, bool authed);

/* Parser flags. */
#define IMAP_PARSER_UTF8 0x1u /* UTF-8 in quoted strings (RFC 6855 UTF8=ACCEPT, RFC 9051) */

enum imap_arg_type {
	IMAP_ARG_ATOM,    /* includes numbers, flags (\Seen), sequence sets, section pieces */
	IMAP_ARG_NIL,     /* the atom NIL in any case; str is "NIL" */
	IMAP_ARG_QUOTED,  /* unescaped content */
	IMAP_ARG_LITERAL, /* {n}, {n+}, ~{n}, ~{n+} */
	IMAP_ARG_LIST,
};

struct imap_arg {
	enum imap_arg_type type;
	/* ATOM, NIL, QUOTED and buffered LITERAL: len bytes followed by a NUL. Only a literal8 may
	   hold NULs itself, so use len, not strlen. NULL for a LIST and a streamed literal. */
	const char *str;
	size_t len;            /* a streamed literal: its size */
	struct imap_arg *list; /* LIST: first element, NULL when empty */
	unsigned count;        /* LIST: number of elements */
	bool literal8;         /* LITERAL: sent as ~{n} (RFC 3516) */
	bool streamed;         /* LITERAL: the bytes went to the caller's sink, str is NULL */
	struct imap_arg *next; /* next sibling, NULL at the end */
};

struct imap_command {
	const char *tag;       /* NULL until the tag is complete */
	const char *name;      /* as sent, NULL until complete; compare ignoring ASCII case */
	struct imap_arg *args; /* first top-level argument, NULL when none */
	unsigned arg_count;    /* top-level arguments */
};

/* A literal the client announced; valid while the LITERAL event is pending. */
struct imap_literal {
	uint64_t size;
	bool sync;   /* "{n}": the client waits for "+" before sending the bytes */
	bool binary; /* literal8 "~{n}" */
};

enum imap_parse_result {
	IMAP_PARSE_MORE,    /* every byte used, nothing complete yet */
	IMAP_PARSE_COMMAND, /* imap_parser_command() holds a complete command */
	IMAP_PARSE_LITERAL, /* imap_parser_literal() was announced; decide before the next feed */
	IMAP_PARSE_LINE,    /* imap_parser_line() holds the raw line asked for */
	IMAP_PARSE_ERROR,   /* reply BAD with imap_parser_error(); feed on, the line is skipped */
	IMAP_PARSE_FATAL,   /* reply BAD with imap_parser_error() and close the connection */
};

/* Receives a streamed literal's bytes in order, in chunks that point into the fed input. The
   chunks of one literal add up to exactly its size; a write error is the sink's to remember. */
typedef void imap_literal_sink_cb(void *ctx, const uint8_t *data, size_t len);

struct imap_parser;

/* A new parser; limits are copied. Returns NULL when limits are unusable (a zero limit or
   depth_max over IMAP_DEPTH_LIMIT). Out of memory is fatal, here and in every later call. */
struct imap_parser *imap_parser_new(const struct imap_parser_limits *limits, unsigned flags);
void imap_parser_free(struct imap_parser **pp);

/* New limits or flags (after LOGIN, after ENABLE). They apply from the next command on: call
   them between commands, e.g. right after IMAP_PARSE_COMMAND. set_limits returns -1 (and
   changes nothing) for limits imap_parser_new() would refuse. */
int imap_parser_set_limits(struct imap_parser *p, const struct imap_parser_limits *limits);
void imap_parser_set_flags(struct imap_parser *p, unsigned flags);

/*
 * Parse up to len bytes of in. *consumed_r says how many were used; the caller keeps the rest
 * and feeds it again (pipelined commands stay in the caller's buffer; after STARTTLS it must
 * drop them, RFC 9051 6.2.1). Returns at the first event:
 *  MORE     all bytes used.
 *  COMMAND  a command ended with its line end; the next feed starts the next command.
 *  LITERAL  "{n}" and its line end were read. Before the next feed the caller must call one of
 *           imap_parser_literal_buffer/_stream/_refuse (feeding first is a bug and fatal).
 *           For a synchronising literal it then sends "+ " or its own tagged NO/BAD.
 *           A NUL in a literal other than literal8 is an ERROR reported after its last byte:
 *           a streamed literal has reached the sink by then and must be discarded.
 *  LINE     the raw line asked for with imap_parser_expect_line().
 *  ERROR    the command is bad: the tag (if already read) is in imap_parser_command(), the reason
 *           in imap_parser_error(). The offending byte is not consumed; the next feeds skip to
 *           the end of the line (and over a "{n+}" literal announced in it, so its bytes are
 *           never taken for commands) and then parse the next command. "line too long" is an
 *           ERROR too; RELIABILITY row 59 wants the session to close after it.
 *  FATAL    the stream cannot be resynchronised (a non-synchronising literal over the limits
 *           or refused). Every later feed returns FATAL again and consumes nothing.
 * Everything imap_parser_command() and imap_parser_line() point to stays valid until the next
 * feed. A streamed literal's sink is called from inside this function.
 */
enum imap_parse_result imap_parser_feed(struct imap_parser *p, const uint8_t *in, size_t len,
                                        size_t *consumed_r);

/* The command so far: complete after COMMAND; tag, name and the arguments before the literal
   during LITERAL (so APPEND can check mailbox, flags and size before "+"); maybe a tag after
   ERROR. */
const struct imap_command *imap_parser_command(const struct imap_parser *p);
/* The pending literal during LITERAL, else NULL. */
const struct imap_literal *imap_parser_literal(const struct imap_parser *p);
/* A short reason for the BAD text ("literal too large", "line too long", ...) after ERROR or
   FATAL; a static string. */
const char *imap_parser_error(const struct imap_parser *p);

/* Decisions on the pending literal; exactly one after each LITERAL event.
   buffer: keep its bytes in the command (str/len of the argument). Returns 0, or -1 when it
   would pass literal_mem_max: nothing is sent or read, and the next feed returns ERROR "literal
   too large" for a synchronising literal (the client will not send it) and FATAL for a
   non-synchronising one.
   stream: hand its bytes to sink(ctx, ...) as they arrive and keep only the size; for APPEND.
   refuse: the caller has answered (NO [TOOBIG], BAD...). A synchronising literal ends the
   command: the next feed parses a new command. A non-synchronising one makes the parser FATAL. */
int imap_parser_literal_buffer(struct imap_parser *p);
void imap_parser_literal_stream(struct imap_parser *p, imap_literal_sink_cb *sink, void *ctx);
void imap_parser_literal_refuse(struct imap_parser *p);

/* The next line is not a command but raw text (AUTHENTICATE responses, IDLE's DONE): the next
   feed returns LINE once with the line's bytes (line end removed) under line_max, then goes
   back to commands. NUL, a bare CR and an over-long line are ERRORs. Call between commands. */
void imap_parser_expect_line(struct imap_parser *p);
/* The line after LINE: len_r bytes followed by a NUL. */
const char *imap_parser_line(const struct imap_parser *p, size_t *len_r);

/* Forget any partial command (after STARTTLS or COMPRESS, with the caller's buffer dropped).
   Clears FATAL too. Limits and flags stay. */
void imap_parser_reset(struct imap_parser *p);
/* Bytes the parser holds allocated now (arena, scratch buffer, list stack, itself). */
size_t imap_parser_memory(const struct imap_parser *p);

/* Argument helpers. NULL arguments are accepted and give false. */
/* An atom equal to word ignoring ASCII case. */
bool imap_arg_atom_is(const struct imap_arg *a, const char *word);
/* RFC 9051 astring: an atom (NIL included, as "NIL"), quoted string or buffered literal. */
bool imap_arg_get_astring(const struct imap_arg *a, const char **str_r, size_t *len_r);
/* RFC 9051 string: a quoted string or buffered literal. */
bool imap_arg_get_string(const struct imap_arg *a, const char **str_r, size_t *len_r);
/* RFC 9051 nstring: NIL gives *str_r NULL and *len_r 0, else a string. */
bool imap_arg_get_nstring(const struct imap_arg *a, const char **str_r, size_t *len_r);
/* A list: its first element (NULL when empty) and count. */
bool imap_arg_get_list(const struct imap_arg *a, const struct imap_arg **list_r, unsigned *count_r);

#endif
