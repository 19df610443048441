/* Failed-login penalties: growing delay, lockout at the limit, windows, bounded table. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <cmocka.h>

#include "auth_penalty.h"

static struct auth_penalty *make(unsigned max_failures)
{
	struct auth_penalty_config c = { .max_failures = max_failures,
					 .window_ms = 60000,
					 .delay_ms = 1000,
					 .delay_max_ms = 15000,
					 .slots = 64 };
	struct auth_penalty *p = auth_penalty_new(&c);

	assert_non_null(p);
	return p;
}

static void test_delay_doubles_up_to_the_cap(void **state)
{
	struct auth_penalty *p = make(100);
	uint64_t expect[] = { 1000, 2000, 4000, 8000, 15000, 15000, 15000 };

	(void)state;
	for (size_t i = 0; i < sizeof(expect) / sizeof(expect[0]); i++)
		assert_int_equal(auth_penalty_failed(p, "192.0.2.1", 10), expect[i]);
	/* Another address starts from the beginning. */
	assert_int_equal(auth_penalty_failed(p, "192.0.2.2", 10), 1000);
	auth_penalty_free(p);
}

static void test_lockout_at_the_limit_not_before(void **state)
{
	struct auth_penalty *p = make(3);

	(void)state;
	auth_penalty_failed(p, "192.0.2.1", 0);
	auth_penalty_failed(p, "192.0.2.1", 0);
	assert_false(auth_penalty_locked(p, "192.0.2.1", 0)); /* two of three */
	auth_penalty_failed(p, "192.0.2.1", 0);
	assert_true(auth_penalty_locked(p, "192.0.2.1", 0)); /* three: locked */
	assert_false(auth_penalty_locked(p, "192.0.2.9", 0));
	auth_penalty_free(p);
}

static void test_window_expires_from_the_first_failure(void **state)
{
	struct auth_penalty *p = make(2);

	(void)state;
	auth_penalty_failed(p, "192.0.2.1", 1000);
	auth_penalty_failed(p, "192.0.2.1", 50000);
	assert_true(auth_penalty_locked(p, "192.0.2.1", 60999));
	assert_false(auth_penalty_locked(p, "192.0.2.1", 61000));
	/* A failure after the window starts a fresh count with the first delay. */
	assert_int_equal(auth_penalty_failed(p, "192.0.2.1", 61001), 1000);
	auth_penalty_free(p);
}

static void test_success_forgets_the_address(void **state)
{
	struct auth_penalty *p = make(2);

	(void)state;
	auth_penalty_failed(p, "192.0.2.1", 0);
	auth_penalty_failed(p, "192.0.2.1", 0);
	assert_true(auth_penalty_locked(p, "192.0.2.1", 0));
	auth_penalty_succeeded(p, "192.0.2.1");
	assert_false(auth_penalty_locked(p, "192.0.2.1", 0));
	assert_int_equal(auth_penalty_failed(p, "192.0.2.1", 0), 1000);
	auth_penalty_free(p);
}

static void test_many_addresses_stay_in_a_bounded_table(void **state)
{
	struct auth_penalty *p = make(2);
	char ip[64];

	(void)state;
	/* The attacker first, then a flood of other addresses that evicts what it must. */
	auth_penalty_failed(p, "198.51.100.1", 0);
	auth_penalty_failed(p, "198.51.100.1", 0);
	for (int i = 0; i < 100000; i++) {
		snprintf(ip, sizeof(ip), "10.%d.%d.%d", (i >> 16) & 255, (i >> 8) & 255, i & 255);
		auth_penalty_failed(p, ip, 1 + (uint64_t)i);
	}
	/* Nothing crashed and memory did not grow (64 slots); recent addresses are tracked. */
	auth_penalty_failed(p, "10.1.134.159", 100001);
	assert_true(auth_penalty_locked(p, "10.1.134.159", 100001));
	auth_penalty_free(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_delay_doubles_up_to_the_cap),
		cmocka_unit_test(test_lockout_at_the_limit_not_before),
		cmocka_unit_test(test_window_expires_from_the_first_failure),
		cmocka_unit_test(test_success_forgets_the_address),
		cmocka_unit_test(test_many_addresses_stay_in_a_bounded_table),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
