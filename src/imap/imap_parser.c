/* IMAP command parser: the feed loop and the states of a command line (tag, name, atoms,
   quoted strings, lists, line end). Literals and bad-line skipping: imap_parser_literal.c. */
#include <stdlib.h>
#include <string.h>

#include "imap_parser_int.h"
#include "log.h"

void imap_parser_limits_default(struct imap_parser_limits *limits, bool authed)
{
	limits->line_max = IMAP_LINE_MAX;
	if (authed) {
		limits->args_max = IMAP_ARGS_MAX;
		limits->depth_max = IMAP_DEPTH_MAX;
		limits->literal_max = UINT32_MAX;
		limits->literal_nonsync_max = UINT32_MAX;
		limits->literal_mem_max = IMAP_LITERAL_MEM_MAX;
	} else {
		limits->args_max = IMAP_PREAUTH_ARGS_MAX;
		limits->depth_max = IMAP_PREAUTH_DEPTH_MAX;
		limits->literal_max = IMAP_PREAUTH_LITERAL_MAX;
		limits->literal_nonsync_max = IMAP_LITERAL_MINUS_MAX;
		limits->literal_mem_max = IMAP_PREAUTH_LITERAL_MAX;
	}
}

static bool limits_valid(const struct imap_parser_limits *l)
{
	/* line_max is kept below SIZE_MAX / 4 so scratch and arena sizes never wrap. */
	return l->line_max > 0 && l->line_max < SIZE_MAX / 4 && l->args_max > 0 &&
	       l->depth_max > 0 && l->depth_max <= IMAP_DEPTH_LIMIT &&
	       l->literal_mem_max < SIZE_MAX / 4;
}

/* Applies pending limits and flags and forgets the last command. */
void imap_parser_begin(struct imap_parser *p)
{
	if (p->stack_levels != p->next_limits.depth_max + 1) {
		struct imap_level *s =
		    realloc(p->stack, (p->next_limits.depth_max + 1) * sizeof(*s));

		if (s == NULL)
			fatal("imap parser: out of memory");
		p->stack = s;
		p->stack_levels = p->next_limits.depth_max + 1;
	}
	p->limits = p->next_limits;
	p->flags = p->next_flags;
	imap_arena_reset(p);
	imap_scratch_trim(p);
	memset(&p->cmd, 0, sizeof(p->cmd));
	memset(&p->stack[0], 0, sizeof(p->stack[0]));
	p->line_len = 0;
	p->arg_count = 0;
	p->depth = 0;
	p->lit_mem_used = 0;
	p->error = NULL;
	p->state = p->want_line ? PS_LINE : PS_START;
	p->want_line = false;
}

struct imap_parser *imap_parser_new(const struct imap_parser_limits *limits, unsigned flags)
{
	struct imap_parser *p;

	if (!limits_valid(limits))
		return NULL;
	p = calloc(1, sizeof(*p));
	if (p == NULL)
		fatal("imap parser: out of memory");
	p->next_limits = *limits;
	p->next_flags = flags;
	imap_parser_begin(p);
	return p;
}

void imap_parser_free(struct imap_parser **pp)
{
	struct imap_parser *p = *pp;

	if (p == NULL)
		return;
	imap_arena_free(p);
	free(p->scratch);
	free(p->stack);
	free(p);
	*pp = NULL;
}

/* Nothing of a command has been read: new settings can apply at once. After DONE they wait
   for the next feed, so that the last command stays readable until then. */
static void apply_if_idle(struct imap_parser *p)
{
	if (p->state == PS_START)
		imap_parser_begin(p);
}

int imap_parser_set_limits(struct imap_parser *p, const struct imap_parser_limits *limits)
{
	if (!limits_valid(limits))
		return -1;
	p->next_limits = *limits;
	apply_if_idle(p);
	return 0;
}

void imap_parser_set_flags(struct imap_parser *p, unsigned flags)
{
	p->next_flags = flags;
	apply_if_idle(p);
}

void imap_parser_reset(struct imap_parser *p)
{
	p->want_line = false;
	imap_parser_begin(p);
}

size_t imap_parser_memory(const struct imap_parser *p)
{
	return sizeof(*p) + p->arena_bytes + p->scratch_cap + p->stack_levels * sizeof(*p->stack);
}

const struct imap_command *imap_parser_command(const struct imap_parser *p)
{
	return &p->cmd;
}

const char *imap_parser_error(const struct imap_parser *p)
{
	return p->error;
}

const char *imap_parser_line(const struct imap_parser *p, size_t *len_r)
{
	*len_r = p->scratch_len;
	return p->scratch_len > 0 ? (const char *)p->scratch : "";
}

void imap_parser_expect_line(struct imap_parser *p)
{
	if (p->state == PS_START)
		p->state = PS_LINE;
	else if (p->state == PS_DONE)
		p->want_line = true;
	else
		fatal("imap_parser_expect_line: called inside a command");
}

/* The command is bad: report ERROR and skip the rest of its line. The byte is kept for the
   skipper, which must see it (it may be the line end or part of "{n+}"). */
enum imap_step imap_parser_fail(struct imap_parser *p, const char *reason)
{
	p->skip = imap_parser_skip_from(p->state);
	p->state = PS_SKIP;
	p->error = reason;
	p->event = IMAP_PARSE_ERROR;
	return STEP_KEEP;
}

enum imap_step imap_parser_fatal(struct imap_parser *p, const char *reason)
{
	p->state = PS_FATAL;
	p->error = reason;
	p->event = IMAP_PARSE_FATAL;
	return STEP_KEEP;
}

/* RFC 9051 tag: ASTRING-CHAR except "+", i.e. printable ASCII but atom-specials other
   than "]", and "+". */
static bool tag_char(uint8_t c)
{
	return c > 0x20 && c < 0x7f && strchr("(){\"\\%*+", c) == NULL;
}

/* Command names are letters in RFC 9051; digits, "-", "_" and "." cover X- extensions. */
static bool name_char(uint8_t c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '-' || c == '_' || c == '.';
}

/* RFC 9051 ATOM-CHAR, widened by the list wildcards, "\" and "]" (flags, LIST patterns,
   sections); "(" and ")" end an atom, "{" and DQUOTE may not be in one. */
static bool atom_char(uint8_t c)
{
	return c > 0x20 && c < 0x7f && c != '(' && c != ')' && c != '{' && c != '"';
}

static const char *atom_char_error(uint8_t c)
{
	if (c == 0)
		return "NUL in atom";
	if (c >= 0x80)
		return "8-bit character in atom";
	if (c < 0x20 || c == 0x7f)
		return "control character in atom";
	return "invalid character in atom";
}

static bool line_end(uint8_t c)
{
	return c == '\r' || c == '\n';
}

static enum imap_step step_start(struct imap_parser *p, uint8_t c)
{
	if (c == '\n')
		return STEP_TAKE;
	if (c == '\r') {
		p->state = PS_START_CR;
		return STEP_TAKE;
	}
	if (!tag_char(c))
		return imap_parser_fail(p, c == ' ' ? "missing tag" : "invalid tag");
	p->scratch_len = 0;
	p->state = PS_TAG;
	return STEP_AGAIN;
}

static enum imap_step step_start_cr(struct imap_parser *p, uint8_t c)
{
	if (c != '\n')
		return imap_parser_fail(p, "CR without LF");
	p->state = PS_START;
	return STEP_TAKE;
}

static enum imap_step step_tag(struct imap_parser *p, uint8_t c)
{
	if (tag_char(c)) {
		imap_scratch_add(p, c);
		return STEP_TAKE;
	}
	if (c != ' ' && !line_end(c))
		return imap_parser_fail(p, c == 0 ? "NUL in tag" : "invalid tag");
	p->cmd.tag = imap_scratch_dup(p);
	if (c != ' ')
		return imap_parser_fail(p, "missing command name");
	p->state = PS_NAME_START;
	return STEP_TAKE;
}

static enum imap_step step_name_start(struct imap_parser *p, uint8_t c)
{
	if (c == ' ')
		return STEP_TAKE;
	if (line_end(c))
		return imap_parser_fail(p, "missing command name");
	if (!name_char(c))
		return imap_parser_fail(p, "invalid command name");
	p->scratch_len = 0;
	p->state = PS_NAME;
	return STEP_AGAIN;
}

static enum imap_step step_name(struct imap_parser *p, uint8_t c)
{
	if (name_char(c)) {
		imap_scratch_add(p, c);
		return STEP_TAKE;
	}
	if (c != ' ' && !line_end(c))
		return imap_parser_fail(p, "invalid command name");
	p->cmd.name = imap_scratch_dup(p);
	p->state = PS_ARGS;
	return c == ' ' ? STEP_TAKE : STEP_AGAIN;
}

static enum imap_step command_done(struct imap_parser *p)
{
	if (p->depth > 0)
		return imap_parser_fail(p, "unbalanced parentheses");
	p->state = PS_DONE;
	p->event = IMAP_PARSE_COMMAND;
	return STEP_TAKE;
}

static enum imap_step step_eol_cr(struct imap_parser *p, uint8_t c)
{
	if (c != '\n')
		return imap_parser_fail(p, "CR without LF");
	return command_done(p);
}

/* One more argument of the given kind starts at this byte. */
static enum imap_step arg_start(struct imap_parser *p, enum imap_pstate state)
{
	if (!imap_args_begin(p))
		return imap_parser_fail(p, "too many arguments");
	p->scratch_len = 0;
	p->state = state;
	return state == PS_ATOM ? STEP_AGAIN : STEP_TAKE;
}

static enum imap_step lit_open(struct imap_parser *p, bool binary)
{
	if (!imap_args_begin(p))
		return imap_parser_fail(p, "too many arguments");
	p->lit.size = 0;
	p->lit.sync = true;
	p->lit.binary = binary;
	p->state = PS_LIT_OPEN;
	return STEP_TAKE;
}

static enum imap_step list_open(struct imap_parser *p)
{
	if (!imap_args_begin(p))
		return imap_parser_fail(p, "too many arguments");
	if (!imap_args_open(p))
		return imap_parser_fail(p, "parentheses nested too deeply");
	return STEP_TAKE;
}

static enum imap_step step_args(struct imap_parser *p, uint8_t c)
{
	switch (c) {
	case ' ':
		return STEP_TAKE;
	case '\r':
		if (p->depth > 0)
			return imap_parser_fail(p, "unbalanced parentheses");
		p->state = PS_EOL_CR;
		return STEP_TAKE;
	case '\n':
		return command_done(p);
	case '(':
		return list_open(p);
	case ')':
		if (!imap_args_close(p))
			return imap_parser_fail(p, "unbalanced parentheses");
		return STEP_TAKE;
	case '"':
		return arg_start(p, PS_QUOTED);
	case '{':
		return lit_open(p, false);
	case '~':
		p->state = PS_TILDE;
		return STEP_TAKE;
	default:
		if (!atom_char(c))
			return imap_parser_fail(p, atom_char_error(c));
		return arg_start(p, PS_ATOM);
	}
}

/* "~{" starts a literal8 (RFC 3516); any other "~" starts an atom. */
static enum imap_step step_tilde(struct imap_parser *p, uint8_t c)
{
	if (c == '{')
		return lit_open(p, true);
	if (!imap_args_begin(p))
		return imap_parser_fail(p, "too many arguments");
	p->scratch_len = 0;
	imap_scratch_add(p, '~');
	p->state = PS_ATOM;
	return STEP_AGAIN;
}

static void atom_done(struct imap_parser *p)
{
	bool nil = imap_ascii_eq((const char *)p->scratch, p->scratch_len, "NIL");
	struct imap_arg *a = imap_args_add(p, nil ? IMAP_ARG_NIL : IMAP_ARG_ATOM);

	a->str = nil ? "NIL" : imap_scratch_dup(p);
	a->len = p->scratch_len;
	p->state = PS_ARGS;
}

static enum imap_step step_atom(struct imap_parser *p, uint8_t c)
{
	if (atom_char(c)) {
		imap_scratch_add(p, c);
		return STEP_TAKE;
	}
	if (c != ' ' && c != '(' && c != ')' && !line_end(c))
		return imap_parser_fail(p, atom_char_error(c));
	atom_done(p);
	return STEP_AGAIN;
}

/* Whether s holds only well-formed UTF-8 (RFC 3629: no overlongs, surrogates or values past
   U+10FFFF). */
static bool utf8_valid(const uint8_t *s, size_t len)
{
	size_t i = 0, n, k;

	while (i < len) {
		uint8_t c = s[i], lo = 0x80, hi = 0xbf;

		if (c < 0x80) {
			i++;
			continue;
		}
		if (c < 0xc2 || c > 0xf4)
			return false;
		n = c < 0xe0 ? 2 : c < 0xf0 ? 3 : 4;
		lo = c == 0xe0 ? 0xa0 : c == 0xf0 ? 0x90 : 0x80;
		hi = c == 0xed ? 0x9f : c == 0xf4 ? 0x8f : 0xbf;
		if (len - i < n || s[i + 1] < lo || s[i + 1] > hi)
			return false;
		for (k = 2; k < n; k++) {
			if (s[i + k] < 0x80 || s[i + k] > 0xbf)
				return false;
		}
		i += n;
	}
	return true;
}

static enum imap_step quoted_done(struct imap_parser *p)
{
	struct imap_arg *a;

	if ((p->flags & IMAP_PARSER_UTF8) != 0 && !utf8_valid(p->scratch, p->scratch_len))
		return imap_parser_fail(p, "invalid UTF-8 in quoted string");
	a = imap_args_add(p, IMAP_ARG_QUOTED);
	a->str = imap_scratch_dup(p);
	a->len = p->scratch_len;
	p->state = PS_ARGS;
	return STEP_TAKE;
}

/* RFC 9051 quoted: TEXT-CHARs (no CR, LF or NUL, CVE-2019-11500 class) with \" and \\ as the
   only escapes; UTF-8 only once the client enabled it (RFC 6855 3). */
static enum imap_step step_quoted(struct imap_parser *p, uint8_t c)
{
	if (c == '"' && p->state == PS_QUOTED)
		return quoted_done(p);
	if (c == '\\' && p->state == PS_QUOTED) {
		p->state = PS_QUOTED_ESC;
		return STEP_TAKE;
	}
	if (line_end(c))
		return imap_parser_fail(p, "unterminated quoted string");
	if (c == 0)
		return imap_parser_fail(p, "NUL in quoted string");
	if (p->state == PS_QUOTED_ESC && c != '"' && c != '\\')
		return imap_parser_fail(p, "invalid escape in quoted string");
	if (c >= 0x80 && (p->flags & IMAP_PARSER_UTF8) == 0)
		return imap_parser_fail(p, "8-bit character in quoted string");
	imap_scratch_add(p, c);
	p->state = PS_QUOTED;
	return STEP_TAKE;
}

static enum imap_step parser_step(struct imap_parser *p, uint8_t c)
{
	switch (p->state) {
	case PS_START:
		return step_start(p, c);
	case PS_START_CR:
		return step_start_cr(p, c);
	case PS_TAG:
		return step_tag(p, c);
	case PS_NAME_START:
		return step_name_start(p, c);
	case PS_NAME:
		return step_name(p, c);
	case PS_ARGS:
		return step_args(p, c);
	case PS_TILDE:
		return step_tilde(p, c);
	case PS_ATOM:
		return step_atom(p, c);
	case PS_QUOTED:
	case PS_QUOTED_ESC:
		return step_quoted(p, c);
	case PS_EOL_CR:
		return step_eol_cr(p, c);
	case PS_LINE:
	case PS_LINE_CR:
		return imap_parser_line_step(p, c);
	case PS_SKIP:
		return imap_parser_skip_step(p, c);
	default:
		return imap_parser_lit_step(p, c);
	}
}

/* Whether a byte read in this state belongs to the command's line (line_max). */
static bool state_counts(enum imap_pstate state)
{
	return state != PS_START && state != PS_START_CR && state != PS_SKIP;
}

/* Bytes that are not looked at one by one: literal data and skipped literals. */
static size_t parser_bulk(struct imap_parser *p, const uint8_t *in, size_t len)
{
	if (p->state == PS_LIT_DATA)
		return imap_parser_lit_data(p, in, len);
	return imap_parser_skip_data(p, len);
}

/* States in which the feed has something to say before reading a byte. */
static bool feed_pending(struct imap_parser *p, enum imap_parse_result *result_r)
{
	switch (p->state) {
	case PS_LIT_WAIT:
		fatal("imap_parser_feed: the literal was not decided");
	case PS_FATAL:
		*result_r = IMAP_PARSE_FATAL;
		return true;
	case PS_LIT_FAIL:
		*result_r = p->fail_result;
		p->state = p->fail_result == IMAP_PARSE_FATAL ? PS_FATAL : PS_DONE;
		return true;
	case PS_DONE:
		imap_parser_begin(p);
		return false;
	default:
		return false;
	}
}

enum imap_parse_result imap_parser_feed(struct imap_parser *p, const uint8_t *in, size_t len,
                                        size_t *consumed_r)
{
	enum imap_parse_result result = IMAP_PARSE_MORE;
	size_t pos = 0;

	*consumed_r = 0;
	if (feed_pending(p, &result))
		return result;
	p->event = IMAP_PARSE_MORE;
	while (pos < len && p->event == IMAP_PARSE_MORE) {
		enum imap_pstate state = p->state;
		enum imap_step step;

		if (state == PS_LIT_DATA || state == PS_SKIP_DATA) {
			pos += parser_bulk(p, in + pos, len - pos);
			continue;
		}
		if (state_counts(state) && p->line_len >= p->limits.line_max)
			step = imap_parser_fail(p, "line too long");
		else
			step = parser_step(p, in[pos]);
		if (step == STEP_TAKE) {
			pos++;
			p->line_len += state_counts(state);
		}
	}
	*consumed_r = pos;
	return p->event;
}
