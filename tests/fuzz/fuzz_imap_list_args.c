/* LIST/LSUB arguments (imap_list_args.h): arbitrary bytes parsed as a command line, then its
   arguments checked as LIST and as LSUB, with and without UTF-8. Whatever is accepted must
   keep the promises of the header: non-empty patterns within the length limit, at most
   IMAP_LIST_PATTERNS_MAX of them, RECURSIVEMATCH never alone, nothing kept on refusal. */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "folder_list.h"
#include "folder_name.h"
#include "imap_list_args.h"
#include "imap_parser.h"

static void check(const struct imap_arg *args, bool lsub, bool utf8)
{
	struct imap_list_args a;
	const char *error = NULL;

	if (imap_list_args_parse(args, lsub, utf8, &a, &error) < 0) {
		if (error == NULL || a.patterns != NULL || a.reference != NULL)
			abort();
		return;
	}
	if (a.reference == NULL || a.pattern_count > IMAP_LIST_PATTERNS_MAX)
		abort();
	for (size_t i = 0; i < a.pattern_count; i++) {
		size_t len = strlen(a.patterns[i]);

		if (len == 0 || (a.patterns[i][0] != FOLDER_SEP ? strlen(a.reference) : 0) + len >
		                    2 * FOLDER_NAME_MAX)
			abort();
	}
	if ((a.select & FOLDER_SEL_RECURSIVEMATCH) != 0 &&
	    (a.select & (FOLDER_SEL_SUBSCRIBED | FOLDER_SEL_SPECIAL_USE)) == 0)
		abort();
	if (lsub && (a.extended || a.select != 0 || a.ret != 0 || a.status_items != 0))
		abort();
	imap_list_args_free(&a);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct imap_parser_limits limits;
	struct imap_parser *p;
	size_t used;

	for (int utf8 = 0; utf8 < 2; utf8++) {
		size_t off = 0;
		enum imap_parse_result r;

		imap_parser_limits_default(&limits, true);
		p = imap_parser_new(&limits, utf8 ? IMAP_PARSER_UTF8 : 0);
		while (off < size) {
			r = imap_parser_feed(p, data + off, size - off, &used);
			off += used;
			if (r == IMAP_PARSE_LITERAL) {
				(void)imap_parser_literal_buffer(p);
			} else if (r == IMAP_PARSE_COMMAND) {
				const struct imap_arg *args = imap_parser_command(p)->args;

				check(args, false, utf8 != 0);
				check(args, true, utf8 != 0);
			} else if (r == IMAP_PARSE_MORE || r == IMAP_PARSE_FATAL) {
				break;
			}
		}
		imap_parser_free(&p);
	}
	return 0;
}
