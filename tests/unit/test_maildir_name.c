#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "maildir_name.h"

#define MANY_NAMES 100000
#define FORK_NAMES 10000

static int cmp_name(const void *a, const void *b)
{
	return strcmp((const char *)a, (const char *)b);
}

/* Sorted array of fixed-size names: no two neighbours equal. */
static void assert_all_distinct(char (*names)[MAILDIR_NAME_MAX], size_t n)
{
	qsort(names, n, MAILDIR_NAME_MAX, cmp_name);
	for (size_t i = 1; i < n; i++)
		assert_string_not_equal(names[i - 1], names[i]);
}

static void test_names_are_unique_across_100000_calls(void **state)
{
	char(*names)[MAILDIR_NAME_MAX] = calloc(MANY_NAMES, MAILDIR_NAME_MAX);
	char pid[32];

	(void)state;
	assert_non_null(names);
	snprintf(pid, sizeof(pid), "P%ldQ", (long)getpid());
	for (size_t i = 0; i < MANY_NAMES; i++) {
		assert_int_equal(maildir_name_unique(names[i], MAILDIR_NAME_MAX), 0);
		assert_non_null(strstr(names[i], ".M"));
		assert_non_null(strstr(names[i], pid));
		assert_null(strchr(names[i], '/'));
		assert_null(strchr(names[i], ':'));
	}
	assert_all_distinct(names, MANY_NAMES);
	free(names);
}

/* F20: the clock standing still or jumping back one hour must not repeat a name. */
static void test_names_stay_unique_when_the_clock_stands_still_or_runs_back(void **state)
{
	struct timeval times[] = { { 1700000000, 500000 }, { 1700000000, 500000 },
				   { 1699996400, 500000 }, { 1700000000, 500000 } };
	char names[4][MAILDIR_NAME_MAX];

	(void)state;
	for (size_t i = 0; i < 4; i++) {
		assert_int_equal(maildir_name_unique_at(&times[i], names[i], MAILDIR_NAME_MAX), 0);
		assert_int_equal(strncmp(names[i], i == 2 ? "1699996400.M500000P" :
							    "1700000000.M500000P", 19), 0);
	}
	assert_all_distinct(names, 4);
}

static void child_write_names(int fd)
{
	char name[MAILDIR_NAME_MAX + 1];

	for (size_t i = 0; i < FORK_NAMES; i++) {
		size_t len;

		if (maildir_name_unique(name, MAILDIR_NAME_MAX) < 0)
			_exit(2);
		len = strlen(name);
		name[len++] = '\n';
		if (write(fd, name, len) != (ssize_t)len)
			_exit(3);
	}
	_exit(0);
}

static size_t read_lines(FILE *in, char (*names)[MAILDIR_NAME_MAX], size_t max)
{
	size_t n = 0;

	while (n < max && fgets(names[n], MAILDIR_NAME_MAX, in) != NULL) {
		names[n][strcspn(names[n], "\n")] = '\0';
		n++;
	}
	return n;
}

/* The child starts with the parent's counter; only the pid keeps their names apart. */
static void test_names_are_unique_across_a_fork(void **state)
{
	char(*names)[MAILDIR_NAME_MAX] = calloc(2 * FORK_NAMES, MAILDIR_NAME_MAX);
	int fds[2], status;
	pid_t pid;
	FILE *in;

	(void)state;
	assert_non_null(names);
	assert_int_equal(pipe(fds), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(fds[0]);
		child_write_names(fds[1]);
	}
	close(fds[1]);
	for (size_t i = 0; i < FORK_NAMES; i++)
		assert_int_equal(maildir_name_unique(names[i], MAILDIR_NAME_MAX), 0);
	in = fdopen(fds[0], "r");
	assert_non_null(in);
	assert_int_equal(read_lines(in, names + FORK_NAMES, FORK_NAMES), FORK_NAMES);
	fclose(in);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	assert_all_distinct(names, 2 * FORK_NAMES);
	free(names);
}

static void test_host_slash_and_colon_are_escaped_like_dovecot(void **state)
{
	char out[MAILDIR_NAME_HOST_MAX + 1], host[300];

	(void)state;
	assert_int_equal(maildir_name_escape_host("mx/1:2.example", out, sizeof(out)), 0);
	assert_string_equal(out, "mx\\0571\\0722.example");
	assert_int_equal(maildir_name_escape_host("a:b", out, 4), -1);
	/* A long host is cut, never in the middle of an escape. */
	memset(host, 'h', sizeof(host));
	host[88] = '/';
	host[sizeof(host) - 1] = '\0';
	assert_int_equal(maildir_name_escape_host(host, out, sizeof(out)), 0);
	assert_int_equal(strlen(out), 88);
	assert_null(strchr(out, '\\'));
}

static void test_final_names_carry_sizes_and_sorted_flags(void **state)
{
	char name[MAILDIR_NAME_MAX];

	(void)state;
	assert_int_equal(maildir_name_final("1.M2P3Q4.h", 1234, 1250, NULL, name, sizeof(name)),
			 0);
	assert_string_equal(name, "1.M2P3Q4.h,S=1234,W=1250");
	assert_int_equal(maildir_name_final("1.M2P3Q4.h", 10, 10, "SRFS", name, sizeof(name)), 0);
	assert_string_equal(name, "1.M2P3Q4.h,S=10,W=10:2,FRS");
	assert_int_equal(maildir_name_final("1.M2P3Q4.h", 10, 10, "", name, sizeof(name)), 0);
	assert_string_equal(name, "1.M2P3Q4.h,S=10,W=10:2,");
	assert_int_equal(maildir_name_final("b", 1, 1, "S1", name, sizeof(name)), -1);
	assert_int_equal(maildir_name_final("b", 1, 1, NULL, name, 8), -1);
}

/* The longest name we can make (largest time, pid, counter, a host cut to the limit, every
   flag letter) still fits one path component. */
static void test_longest_name_fits_name_max(void **state)
{
	char host[300], esc[MAILDIR_NAME_HOST_MAX + 1], base[MAILDIR_NAME_MAX];
	char name[MAILDIR_NAME_MAX], flags[64];
	size_t n = 0;

	(void)state;
	for (char c = 'A'; c <= 'Z'; c++)
		flags[n++] = c;
	for (char c = 'a'; c <= 'z'; c++)
		flags[n++] = c;
	flags[n] = '\0';
	memset(host, 'h', sizeof(host));
	host[sizeof(host) - 1] = '\0';
	assert_int_equal(maildir_name_escape_host(host, esc, sizeof(esc)), 0);
	assert_int_equal(strlen(esc), MAILDIR_NAME_HOST_MAX);
	snprintf(base, sizeof(base), "%lld.M999999P%dQ%llu.%s", (long long)INT64_MIN, INT32_MAX,
		 (unsigned long long)UINT64_MAX, esc);
	assert_int_equal(maildir_name_final(base, UINT64_MAX, UINT64_MAX, flags, name,
					    sizeof(name)),
			 0);
	assert_true(strlen(name) <= 255);
}

static void test_parser_reads_dovecot_names(void **state)
{
	const char *name = "1700000000.M123456P4242Q7.mail.example.org,S=2048,W=2101:2,FS";
	struct maildir_name_info info;

	(void)state;
	assert_int_equal(maildir_name_parse(name, &info), 1);
	assert_int_equal(info.base_len, strlen(name) - strlen(":2,FS"));
	assert_true(info.has_info);
	assert_string_equal(info.flags, "FS");
	assert_true(info.has_size);
	assert_int_equal(info.size, 2048);
	assert_true(info.has_vsize);
	assert_int_equal(info.vsize, 2101);

	assert_int_equal(maildir_name_parse("1.M1P1Q1.a\\072b,S=5,W=5", &info), 1);
	assert_int_equal(info.base_len, strlen("1.M1P1Q1.a\\072b,S=5,W=5"));
	assert_false(info.has_info);
	assert_string_equal(info.flags, "");
	assert_int_equal(info.size, 5);
}

static void test_parser_round_trips_our_names(void **state)
{
	char base[MAILDIR_NAME_MAX], name[MAILDIR_NAME_MAX];
	struct maildir_name_info info;

	(void)state;
	assert_int_equal(maildir_name_unique(base, sizeof(base)), 0);
	assert_int_equal(maildir_name_final(base, 77, 80, "TS", name, sizeof(name)), 0);
	assert_int_equal(maildir_name_parse(name, &info), 1);
	assert_int_equal(info.base_len, strlen(base) + strlen(",S=77,W=80"));
	assert_int_equal(info.size, 77);
	assert_int_equal(info.vsize, 80);
	assert_string_equal(info.flags, "ST");
}

static void test_parser_tolerates_names_from_other_programs(void **state)
{
	struct maildir_name_info info;

	(void)state;
	/* Courier: S= only. */
	assert_int_equal(
		maildir_name_parse("1234567890.M5P6V0000000000000803I00000000000abcde.host,S=1234:2,S",
				   &info),
		1);
	assert_true(info.has_size && info.size == 1234 && !info.has_vsize);
	assert_string_equal(info.flags, "S");
	/* mbsync: a U= field and no size. */
	assert_int_equal(maildir_name_parse("1697040000.12345_3.host,U=87:2,RS", &info), 1);
	assert_false(info.has_size || info.has_vsize);
	assert_string_equal(info.flags, "RS");
	/* qmail: no fields, no info. */
	assert_int_equal(maildir_name_parse("1234567890.12345.host", &info), 1);
	assert_int_equal(info.base_len, strlen("1234567890.12345.host"));
	assert_false(info.has_info || info.has_size);
	/* Fields in any order among unknown ones. */
	assert_int_equal(maildir_name_parse("x,W=10,FOO=bar,S=9:2,RS", &info), 1);
	assert_true(info.size == 9 && info.vsize == 10);
	/* Experimental info ":1," carries no flags. */
	assert_int_equal(maildir_name_parse("x,S=3:1,abc", &info), 1);
	assert_false(info.has_info);
	assert_int_equal(info.base_len, 5);
	assert_string_equal(info.flags, "");
}

static void test_parser_ignores_malformed_sizes(void **state)
{
	const char *bad[] = { "x,S=12a", "x,S=", "x,S=99999999999999999999999", "x,S=-5",
			      "S=12.host", "x,s=12" };
	struct maildir_name_info info;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(maildir_name_parse(bad[i], &info), 1);
		assert_false(info.has_size);
	}
	assert_int_equal(maildir_name_parse("x,S=18446744073709551615", &info), 1);
	assert_true(info.has_size && info.size == UINT64_MAX);
}

static void test_parser_refuses_what_is_not_a_message(void **state)
{
	struct maildir_name_info info;

	(void)state;
	assert_int_equal(maildir_name_parse("", &info), 0);
	assert_int_equal(maildir_name_parse(".nfs0001", &info), 0);
	assert_int_equal(maildir_name_parse("..", &info), 0);
	assert_int_equal(maildir_name_parse("a/b,S=1", &info), 0);
}

/* Every prefix of a name is a name the parser must survive (ASan checks the reads). */
static void test_parser_survives_every_prefix(void **state)
{
	const char *full = "1700000000.M1P2Q3.h\\057x,S=12,W=13,U=9:2,DFRST";
	struct maildir_name_info info;

	(void)state;
	for (size_t len = 0; len <= strlen(full); len++) {
		char *copy = strndup(full, len);

		assert_non_null(copy);
		assert_int_equal(maildir_name_parse(copy, &info), len > 0);
		assert_true(info.base_len <= len);
		free(copy);
	}
}

static void test_delivery_order_compares_seconds_and_microseconds_as_numbers(void **state)
{
	(void)state;
	/* Same second: 99999 microseconds came before 100001 (strcmp says otherwise). */
	assert_true(maildir_name_cmp_delivery("1795000000.M99999P1Q1.h,S=1:2,",
	                                      "1795000000.M100001P1Q2.h,S=1:2,") < 0);
	assert_true(maildir_name_cmp_delivery("1795000000.M100001P1Q2.h", "1795000000.M99999P1Q1.h") >
	            0);
	/* Seconds first, whatever their digits. */
	assert_true(maildir_name_cmp_delivery("999999999.M900000P1.h", "1000000000.M1P1.h") < 0);
	/* Same time: the rest of the name decides; equal names are equal. */
	assert_true(maildir_name_cmp_delivery("1.M5P1Q1.h", "1.M5P1Q2.h") < 0);
	assert_int_equal(maildir_name_cmp_delivery("1.M5P1Q1.h:2,S", "1.M5P1Q1.h:2,S"), 0);
	/* Names of other programs without the M part, or without a time, still sort. */
	assert_true(maildir_name_cmp_delivery("1700000001.12345_1.host", "1700000002.1_1.host") < 0);
	assert_true(maildir_name_cmp_delivery("abc", "abd") < 0);
	assert_true(maildir_name_cmp_delivery("12", "abc") < 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_delivery_order_compares_seconds_and_microseconds_as_numbers),
	    cmocka_unit_test(test_names_are_unique_across_100000_calls),
		cmocka_unit_test(test_names_stay_unique_when_the_clock_stands_still_or_runs_back),
		cmocka_unit_test(test_names_are_unique_across_a_fork),
		cmocka_unit_test(test_host_slash_and_colon_are_escaped_like_dovecot),
		cmocka_unit_test(test_final_names_carry_sizes_and_sorted_flags),
		cmocka_unit_test(test_longest_name_fits_name_max),
		cmocka_unit_test(test_parser_reads_dovecot_names),
		cmocka_unit_test(test_parser_round_trips_our_names),
		cmocka_unit_test(test_parser_tolerates_names_from_other_programs),
		cmocka_unit_test(test_parser_ignores_malformed_sizes),
		cmocka_unit_test(test_parser_refuses_what_is_not_a_message),
		cmocka_unit_test(test_parser_survives_every_prefix),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
