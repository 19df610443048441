/* RFC 9051 sequence sets: parsing, normalising, "*" and "$", limits (RELIABILITY rows 61, 66),
   and the compact form of a saved search result. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "imap_parser.h"
#include "imap_seqset.h"

/* "1,3:5" for the numeric ranges, then " *lo..hi" while "*" is unresolved, "$" for SEARCHRES. */
static void render(const struct imap_seqset *set, char *out, size_t size)
{
	size_t len = 0;

	out[0] = '\0';
	for (size_t i = 0; i < set->count; i++) {
		const struct imap_seq_range *r = &set->ranges[i];

		if (r->lo == r->hi)
			len += (size_t)snprintf(out + len, size - len, "%s%u", i ? "," : "", r->lo);
		else
			len += (size_t)snprintf(out + len, size - len, "%s%u:%u", i ? "," : "",
			                        r->lo, r->hi);
		assert_true(len < size);
	}
	if (set->star)
		len += (size_t)snprintf(out + len, size - len, " *%llu..%llu",
		                        (unsigned long long)set->star_lo,
		                        (unsigned long long)set->star_hi);
	if (set->dollar)
		len += (size_t)snprintf(out + len, size - len, "$");
	assert_true(len < size);
}

struct good {
	const char *in;
	const char *parsed;
	uint32_t max;
	const char *resolved;
};

static const struct good good[] = {
    {"1", "1", 10, "1"},
    {"1,3:5,7:*", "1,3:5 *7..7", 10, "1,3:5,7:10"},
    {"*", " *4294967296..0", 10, "10"},
    {"1:*", " *1..1", 10, "1:10"},
    /* RFC 9051 9: "*:1" is "1:*" */
    {"*:1", " *1..1", 10, "1:10"},
    {"*:*", " *4294967296..0", 3, "3"},
    /* "n:*" past the last message still names the last one (UID ranges, RFC 9051 6.4.8) */
    {"559:*", " *559..559", 500, "500:559"},
    {"4:2", "2:4", 9, "2:4"},
    {"5,1,2,3,4:4,10:8,11", "1:5,8:11", 9, "1:5,8:11"},
    {"1:3,2:6,8,7", "1:8", 9, "1:8"},
    {"4294967295", "4294967295", 9, "4294967295"},
    {"1:4294967295", "1:4294967295", 9, "1:4294967295"},
    /* no wraparound next to "*" */
    {"4294967295:*", " *4294967295..4294967295", 10, "10:4294967295"},
    {"4294967295,*", "4294967295 *4294967296..0", 10, "10,4294967295"},
    {"3:*,8:*", " *3..8", 5, "3:8"},
    {"3:*,8:*", " *3..8", 1, "1:8"},
    {"3:*,8:*", " *3..8", 20, "3:20"},
    /* an empty mailbox: "*" names nothing */
    {"1:*", " *1..1", 0, ""},
    {"2,*", "2 *4294967296..0", 0, "2"},
    /* RFC 5182 SEARCHRES */
    {"$", "$", 10, "$"},
};

static void test_sequence_sets_parse_and_resolve(void **state)
{
	struct imap_seqset *set;
	const char *error;
	char out[256];

	(void)state;
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		if (imap_seqset_parse(good[i].in, strlen(good[i].in), IMAP_SEQSET_RANGES_MAX, &set,
		                      &error) != 0) {
			print_error("%s: %s\n", good[i].in, error);
			fail();
		}
		render(set, out, sizeof(out));
		if (strcmp(out, good[i].parsed) != 0) {
			print_error("%s parsed as '%s', not '%s'\n", good[i].in, out,
			            good[i].parsed);
			fail();
		}
		imap_seqset_resolve(set, good[i].max);
		assert_false(set->star);
		render(set, out, sizeof(out));
		if (strcmp(out, good[i].resolved) != 0) {
			print_error("%s resolved as '%s', not '%s'\n", good[i].in, out,
			            good[i].resolved);
			fail();
		}
		imap_seqset_free(&set);
		assert_null(set);
	}
	imap_seqset_free(&set);
}

struct bad {
	const char *in;
	const char *error;
};

/* RELIABILITY row 66: 0 and overflow are BAD. */
static const struct bad bad[] = {
    {"0", "invalid sequence number"},
    {"0:5", "invalid sequence number"},
    {"5:0", "invalid sequence number"},
    {"01", "invalid sequence number"},
    {"4294967296", "sequence number too large"},
    {"1:4294967296", "sequence number too large"},
    {"99999999999999999999999", "sequence number too large"},
    {"", "invalid sequence set"},
    {",", "invalid sequence set"},
    {"1,", "invalid sequence set"},
    {",1", "invalid sequence set"},
    {"1,,2", "invalid sequence set"},
    {"1::2", "invalid sequence set"},
    {"1:2:3", "invalid sequence set"},
    {"1:", "invalid sequence set"},
    {":1", "invalid sequence set"},
    {"-1", "invalid sequence set"},
    {"+1", "invalid sequence set"},
    {"1 2", "invalid sequence set"},
    {"a", "invalid sequence set"},
    {"1a", "invalid sequence set"},
    {"**", "invalid sequence set"},
    {"1,$", "invalid sequence set"},
    {"$,1", "invalid sequence set"},
    {"$$", "invalid sequence set"},
    {"$:1", "invalid sequence set"},
    {"1:$", "invalid sequence set"},
    {"*,$", "invalid sequence set"},
};

static void test_invalid_sequence_sets_are_refused(void **state)
{
	struct imap_seqset *set = NULL;
	const char *error = NULL;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (imap_seqset_parse(bad[i].in, strlen(bad[i].in), IMAP_SEQSET_RANGES_MAX, &set,
		                      &error) == 0) {
			print_error("'%s' was accepted\n", bad[i].in);
			fail();
		}
		assert_null(set);
		assert_string_equal(error, bad[i].error);
	}
	/* a NUL is just an invalid character, not an end */
	assert_int_equal(imap_seqset_parse("1\0"
	                                   "2",
	                                   3, 10, &set, &error),
	                 -1);
}

static char *numbers(size_t n, size_t step)
{
	char *s = malloc(n * 12 + 1);
	size_t len = 0;

	assert_non_null(s);
	for (size_t i = 0; i < n; i++)
		len += (size_t)snprintf(s + len, 13, "%s%zu", i ? "," : "", 1 + i * step);
	return s;
}

/* RELIABILITY row 61: a huge list of elements is refused before anything is allocated. */
static void test_element_count_limit(void **state)
{
	struct imap_seqset *set;
	const char *error;
	char *s;

	(void)state;
	s = numbers(IMAP_SEQSET_RANGES_MAX, 1);
	assert_int_equal(imap_seqset_parse(s, strlen(s), IMAP_SEQSET_RANGES_MAX, &set, &error), 0);
	assert_int_equal(set->count, 1); /* 1,2,3,... merges into one range */
	assert_int_equal(imap_seqset_size(set), IMAP_SEQSET_RANGES_MAX);
	imap_seqset_free(&set);
	free(s);
	s = numbers(IMAP_SEQSET_RANGES_MAX + 1, 1);
	assert_int_equal(imap_seqset_parse(s, strlen(s), IMAP_SEQSET_RANGES_MAX, &set, &error), -1);
	assert_string_equal(error, "too many elements in sequence set");
	free(s);
}

static void test_membership_over_many_ranges(void **state)
{
	const size_t n = 50000;
	struct imap_seqset *set;
	const char *error;
	char *s = numbers(n, 2); /* 1,3,5,...: nothing merges */

	(void)state;
	assert_int_equal(imap_seqset_parse(s, strlen(s), IMAP_SEQSET_RANGES_MAX, &set, &error), 0);
	assert_int_equal(set->count, n);
	for (uint32_t v = 0; v <= 2 * n + 1; v++)
		assert_int_equal(imap_seqset_contains(set, v), v % 2 == 1 && v < 2 * n);
	assert_false(imap_seqset_contains(set, UINT32_MAX));
	imap_seqset_free(&set);
	free(s);
	assert_int_equal(imap_seqset_parse("1:4294967295", 12, 1, &set, &error), 0);
	assert_true(imap_seqset_contains(set, UINT32_MAX));
	assert_false(imap_seqset_contains(set, 0));
	assert_int_equal(imap_seqset_size(set), UINT32_MAX);
	imap_seqset_free(&set);
}

/* Row 66 as the session meets it: an atom of a parsed command given to imap_seqset. */
static void test_sequence_set_atoms_from_commands(void **state)
{
	static const struct {
		const char *cmd;
		const char *error;
	} rows[] = {
	    {"a UID FETCH 1:* (FLAGS)\r\n", NULL},
	    {"a UID FETCH *:1 (FLAGS)\r\n", NULL},
	    {"a FETCH 0 (FLAGS)\r\n", "invalid sequence number"},
	    {"a FETCH 4294967296 (FLAGS)\r\n", "sequence number too large"},
	    {"a FETCH 1:4294967296 (FLAGS)\r\n", "sequence number too large"},
	};
	struct imap_seqset *set;
	const char *error;
	size_t used;

	(void)state;
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		struct imap_parser_limits limits;
		struct imap_parser *p;
		const struct imap_arg *a;
		int ret;

		imap_parser_limits_default(&limits, true);
		p = imap_parser_new(&limits, 0);
		assert_int_equal(
		    imap_parser_feed(p, (const uint8_t *)rows[i].cmd, strlen(rows[i].cmd), &used),
		    IMAP_PARSE_COMMAND);
		a = imap_parser_command(p)->args;
		if (imap_arg_atom_is(a, "FETCH"))
			a = a->next;
		ret = imap_seqset_parse(a->str, a->len, IMAP_SEQSET_RANGES_MAX, &set, &error);
		if (rows[i].error == NULL) {
			assert_int_equal(ret, 0);
			imap_seqset_resolve(set, 10);
			assert_int_equal(imap_seqset_size(set), 10);
			imap_seqset_free(&set);
		} else {
			assert_int_equal(ret, -1);
			assert_string_equal(error, rows[i].error);
		}
		imap_parser_free(&p);
	}
}

/* A search result kept as "$": runs of consecutive UIDs share a range, allocated at once. */
static void test_from_sorted_numbers(void **state)
{
	static const uint32_t v[] = {1, 2, 3, 7, 9, 10, 4294967294u, 4294967295u};
	const size_t n = 100000;
	uint32_t *many = malloc(n * sizeof(*many));
	struct imap_seqset *set;
	char out[256];

	(void)state;
	assert_non_null(many);
	set = imap_seqset_from_sorted(v, sizeof(v) / sizeof(v[0]));
	render(set, out, sizeof(out));
	assert_string_equal(out, "1:3,7,9:10,4294967294:4294967295");
	assert_false(set->dollar || set->star);
	imap_seqset_free(&set);
	set = imap_seqset_from_sorted(NULL, 0);
	assert_int_equal(set->count, 0);
	assert_false(imap_seqset_contains(set, 1));
	imap_seqset_free(&set);
	/* 100,000 consecutive UIDs: one range; every other one: 50,000, exactly */
	for (size_t i = 0; i < n; i++)
		many[i] = (uint32_t)(i + 5);
	set = imap_seqset_from_sorted(many, n);
	assert_int_equal(set->count, 1);
	assert_int_equal(imap_seqset_size(set), n);
	imap_seqset_free(&set);
	for (size_t i = 0; i < n / 2; i++)
		many[i] = (uint32_t)(2 * i + 1);
	set = imap_seqset_from_sorted(many, n / 2);
	assert_int_equal(set->count, n / 2);
	assert_true(imap_seqset_contains(set, 99999));
	assert_false(imap_seqset_contains(set, 99998));
	imap_seqset_free(&set);
	free(many);
}

/* A parsed "$" takes the saved ranges (a copy) and becomes an ordinary set. */
static void test_assign_saved_to_dollar(void **state)
{
	static const uint32_t v[] = {4, 5, 6, 20};
	struct imap_seqset *saved = imap_seqset_from_sorted(v, 4), *set;
	const char *error;
	char out[64];

	(void)state;
	assert_int_equal(imap_seqset_parse("$", 1, IMAP_SEQSET_RANGES_MAX, &set, &error), 0);
	assert_true(set->dollar);
	imap_seqset_assign(set, saved);
	imap_seqset_free(&saved);
	assert_false(set->dollar);
	render(set, out, sizeof(out));
	assert_string_equal(out, "4:6,20");
	imap_seqset_resolve(set, 3); /* no "*": unchanged */
	render(set, out, sizeof(out));
	assert_string_equal(out, "4:6,20");
	/* an empty "$" is an empty set, not an error */
	imap_seqset_assign(set, NULL);
	assert_int_equal(set->count, 0);
	assert_int_equal(imap_seqset_size(set), 0);
	imap_seqset_free(&set);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_sequence_sets_parse_and_resolve),
	    cmocka_unit_test(test_invalid_sequence_sets_are_refused),
	    cmocka_unit_test(test_element_count_limit),
	    cmocka_unit_test(test_membership_over_many_ranges),
	    cmocka_unit_test(test_sequence_set_atoms_from_commands),
	    cmocka_unit_test(test_from_sorted_numbers),
	    cmocka_unit_test(test_assign_saved_to_dollar),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
