/* Search arguments for the SEARCH tests (imap_args_harness.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <cmocka.h>

#include "imap_args_harness.h"
#include "imap_parser.h"

static struct imap_parser *parser;

const struct imap_arg *ih_search_args(const char *args)
{
	struct imap_parser_limits limits;
	static char line[70000];
	size_t used;
	int n;

	imap_parser_free(&parser);
	imap_parser_limits_default(&limits, true);
	parser = imap_parser_new(&limits, IMAP_PARSER_UTF8);
	n = snprintf(line, sizeof(line), "t SEARCH %s\r\n", args);
	assert_true(n > 0 && (size_t)n < sizeof(line));
	for (size_t pos = 0;; pos += used) {
		enum imap_parse_result res =
		    imap_parser_feed(parser, (const uint8_t *)line + pos, (size_t)n - pos, &used);

		if (res == IMAP_PARSE_COMMAND)
			break;
		assert_int_equal(res, IMAP_PARSE_LITERAL);
		assert_int_equal(imap_parser_literal_buffer(parser), 0);
	}
	return imap_parser_command(parser)->args;
}

void ih_search_args_free(void)
{
	imap_parser_free(&parser);
}
