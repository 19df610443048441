/* Feeds arbitrary bytes to the IMAP parser and whatever command comes out to the STORE and
   APPEND argument checks, and the raw bytes to the date-time parser; checks that what they
   accept is consistent (flags found, modseq in range, dates re-render to the same time). */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "imap_modify_args.h"
#include "imap_parser.h"

static void check_date(const uint8_t *data, size_t size)
{
	static const char months[12][4] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
	                                   "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
	char again[32];
	struct tm tm;
	time_t t, t2;

	if (imap_date_time_parse((const char *)data, size, &t) < 0)
		return;
	if (size != 26 || t < 0)
		abort();
	/* the same instant written in UTC parses back to it (seconds 60 roll over) */
	if (gmtime_r(&t, &tm) == NULL)
		abort();
	snprintf(again, sizeof(again), "%02d-%s-%04d %02d:%02d:%02d +0000", tm.tm_mday,
	         months[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
	if (tm.tm_year + 1900 <= 9999 &&
	    (imap_date_time_parse(again, strlen(again), &t2) < 0 || t2 != t))
		abort();
}

static void check_command(const struct imap_command *cmd)
{
	struct imap_store_args sa;
	const struct imap_arg *flags;
	const char *error;
	time_t date;

	if (cmd->args == NULL)
		return;
	if (imap_store_args_parse(cmd->args->next, &sa, &error) == 0) {
		if (sa.flags == NULL || (sa.flags_list && sa.flags->type != IMAP_ARG_LIST) ||
		    sa.unchangedsince > IMAP_MODSEQ_MAX)
			abort();
	} else if (error == NULL) {
		abort();
	}
	if (imap_append_args_parse(cmd->args->next, NULL, &flags, &date, &error) == 0) {
		if (flags != NULL && flags->type != IMAP_ARG_LIST)
			abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct imap_parser_limits limits;
	struct imap_parser *p;
	size_t off = 0;

	check_date(data, size);
	imap_parser_limits_default(&limits, true);
	limits.literal_max = 4096;
	p = imap_parser_new(&limits, 0);
	while (off < size) {
		size_t used = 0;
		enum imap_parse_result r = imap_parser_feed(p, data + off, size - off, &used);

		off += used;
		if (r == IMAP_PARSE_COMMAND)
			check_command(imap_parser_command(p));
		else if (r == IMAP_PARSE_LITERAL && imap_parser_literal_buffer(p) < 0)
			break;
		else if (r == IMAP_PARSE_FATAL)
			break;
		else if (used == 0 && r != IMAP_PARSE_ERROR)
			break;
	}
	imap_parser_free(&p);
	return 0;
}
