/* The search-program parser on arbitrary command arguments: the bytes become the arguments of
   one "t SEARCH ..." command (parsed by the real command parser, literals buffered), then go
   through imap_search_parse() and the SORT criteria parser; the tree it builds must keep its
   promises (OR has two children, NOT one, nesting within IMAP_SEARCH_DEPTH_MAX, full-text
   keys within their limit). The same bytes also feed the date parsers and the RFC 5256 base
   subject, whose output must be valid for strcmp (NUL-terminated, no longer than its input
   times the widest case mapping). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "imap_parser.h"
#include "imap_search.h"
#include "imap_sort.h"

static unsigned check_tree(const struct imap_search_key *k, unsigned depth, unsigned *ntext)
{
	unsigned max = depth;

	for (; k != NULL; k = k->next) {
		unsigned n = 0, d;

		for (const struct imap_search_key *c = k->children; c != NULL; c = c->next)
			n++;
		if ((k->op == IMAP_SK_OR && n != 2) || (k->op == IMAP_SK_NOT && n != 1) ||
		    (k->op == IMAP_SK_AND && n == 0 && depth > 0))
			abort();
		if ((k->op == IMAP_SK_SEQSET || k->op == IMAP_SK_UIDSET) && k->set == NULL)
			abort();
		if (k->op == IMAP_SK_BODY || k->op == IMAP_SK_TEXT)
			(*ntext)++;
		d = check_tree(k->children, depth + 1, ntext);
		max = d > max ? d : max;
	}
	return max;
}

static void run_search(const struct imap_arg *args)
{
	struct imap_search_prog *prog;
	struct imap_sort_crit crit[IMAP_SORT_CRIT_MAX];
	const char *error;
	unsigned ntext = 0;
	size_t n;

	if (imap_search_parse(args, &prog, &error) == IMAP_SEARCH_OK) {
		if (check_tree(prog->root, 0, &ntext) > IMAP_SEARCH_DEPTH_MAX + 2 ||
		    ntext != prog->ntext || ntext > IMAP_SEARCH_TEXT_KEYS_MAX)
			abort();
		imap_search_prog_free(&prog);
	} else if (error == NULL || prog != NULL) {
		abort();
	}
	if (imap_sort_parse(args, crit, &n, &error) == 0 && (n == 0 || n > IMAP_SORT_CRIT_MAX))
		abort();
}

static void run_text(const uint8_t *data, size_t size)
{
	struct mime_buf b = MIME_BUF_INIT;
	int32_t day;
	int64_t utc;

	(void)imap_base_subject((const char *)data, size, &b);
	if (strlen(mime_buf_str(&b)) > b.len)
		abort();
	mime_buf_free(&b);
	(void)imap_search_rfc5322_date((const char *)data, size, &day, &utc);
	(void)imap_search_date_parse((const char *)data, size, &day);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct imap_parser_limits limits;
	struct imap_parser *p;
	uint8_t *line = malloc(size + 12);
	size_t len = 0, pos = 0, used;

	if (line == NULL)
		abort();
	run_text(data, size);
	memcpy(line, "t SEARCH ", 9);
	memcpy(line + 9, data, size);
	len = 9 + size;
	line[len++] = '\r';
	line[len++] = '\n';
	imap_parser_limits_default(&limits, true);
	p = imap_parser_new(&limits, IMAP_PARSER_UTF8);
	while (pos < len) {
		enum imap_parse_result res = imap_parser_feed(p, line + pos, len - pos, &used);

		pos += used;
		if (res == IMAP_PARSE_LITERAL) {
			(void)imap_parser_literal_buffer(p);
		} else if (res == IMAP_PARSE_COMMAND) {
			run_search(imap_parser_command(p)->args);
			break;
		} else if (res != IMAP_PARSE_ERROR) {
			break;
		}
	}
	imap_parser_free(&p);
	free(line);
	return 0;
}
