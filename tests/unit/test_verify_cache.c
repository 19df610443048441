/* Remembered logins: only the same address, stored hash and password within the ttl. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "verify_cache.h"

#define TTL 300000

static void test_a_success_is_remembered_until_the_ttl_ends(void **state)
{
	struct verify_cache *c = verify_cache_new(TTL, 16);

	(void)state;
	assert_non_null(c);
	assert_false(verify_cache_hit(c, "amy@example.test", "$y$h1", "pw", 1000));
	verify_cache_put(c, "amy@example.test", "$y$h1", "pw", 1000);
	assert_true(verify_cache_hit(c, "amy@example.test", "$y$h1", "pw", 1000));
	assert_true(verify_cache_hit(c, "amy@example.test", "$y$h1", "pw", 1000 + TTL - 1));
	assert_false(verify_cache_hit(c, "amy@example.test", "$y$h1", "pw", 1000 + TTL));
	verify_cache_free(c);
}

static void test_another_password_hash_or_address_misses(void **state)
{
	struct verify_cache *c = verify_cache_new(TTL, 16);

	(void)state;
	verify_cache_put(c, "amy@example.test", "$y$h1", "pw", 0);
	assert_false(verify_cache_hit(c, "amy@example.test", "$y$h1", "pW", 1));
	assert_false(verify_cache_hit(c, "amy@example.test", "$y$h1", "pw2", 1));
	assert_false(verify_cache_hit(c, "amy@example.test", "$y$h1", "", 1));
	/* A new password (or a rehash) changed the stored hash. */
	assert_false(verify_cache_hit(c, "amy@example.test", "$y$h2", "pw", 1));
	assert_false(verify_cache_hit(c, "bob@example.test", "$y$h1", "pw", 1));
	/* The separators keep address, hash and password apart. */
	assert_false(verify_cache_hit(c, "amy@example.test", "$y$h", "1pw", 1));
	verify_cache_free(c);
}

static void test_one_slot_holds_the_latest_address(void **state)
{
	struct verify_cache *c = verify_cache_new(TTL, 1);

	(void)state;
	verify_cache_put(c, "amy@example.test", "h", "pw", 0);
	verify_cache_put(c, "bob@example.test", "h", "pw", 0);
	assert_false(verify_cache_hit(c, "amy@example.test", "h", "pw", 1));
	assert_true(verify_cache_hit(c, "bob@example.test", "h", "pw", 1));
	verify_cache_free(c);
}

static void test_a_ttl_of_zero_remembers_nothing(void **state)
{
	struct verify_cache *c = verify_cache_new(0, 16);

	(void)state;
	verify_cache_put(c, "amy@example.test", "h", "pw", 0);
	assert_false(verify_cache_hit(c, "amy@example.test", "h", "pw", 0));
	verify_cache_free(c);
}

static void test_an_address_at_the_limit_is_kept_one_past_it_is_not(void **state)
{
	struct verify_cache *c = verify_cache_new(TTL, 16);
	char at[256], past[257];

	(void)state;
	memset(at, 'a', sizeof(at) - 1);
	at[sizeof(at) - 1] = '\0';
	memset(past, 'a', sizeof(past) - 1);
	past[sizeof(past) - 1] = '\0';
	verify_cache_put(c, at, "h", "pw", 0);
	assert_true(verify_cache_hit(c, at, "h", "pw", 1));
	verify_cache_put(c, past, "h", "pw", 0);
	assert_false(verify_cache_hit(c, past, "h", "pw", 1));
	verify_cache_free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_a_success_is_remembered_until_the_ttl_ends),
	    cmocka_unit_test(test_another_password_hash_or_address_misses),
	    cmocka_unit_test(test_one_slot_holds_the_latest_address),
	    cmocka_unit_test(test_a_ttl_of_zero_remembers_nothing),
	    cmocka_unit_test(test_an_address_at_the_limit_is_kept_one_past_it_is_not),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
