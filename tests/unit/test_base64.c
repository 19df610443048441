/* Strict base64 for SASL: RFC 4648 vectors, and everything not canonical is refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>

#include "base64.h"

static void test_rfc4648_vectors(void **state)
{
	const char *plain[] = { "", "f", "fo", "foo", "foob", "fooba", "foobar" };
	const char *coded[] = { "", "Zg==", "Zm8=", "Zm9v", "Zm9vYg==", "Zm9vYmE=", "Zm9vYmFy" };
	char enc[32], dec[32];

	(void)state;
	for (size_t i = 0; i < 7; i++) {
		assert_int_equal(base64_encode(plain[i], strlen(plain[i]), enc, sizeof(enc)),
				 strlen(coded[i]));
		assert_string_equal(enc, coded[i]);
		assert_int_equal(base64_decode(coded[i], strlen(coded[i]), dec, sizeof(dec)),
				 strlen(plain[i]));
		assert_memory_equal(dec, plain[i], strlen(plain[i]));
	}
}

static void test_sasl_plain_with_nuls(void **state)
{
	char out[64];
	const char *t = "AGJvYkBleGFtcGxlLnRlc3QAcHc="; /* \0bob@example.test\0pw */

	(void)state;
	assert_int_equal(base64_decode(t, strlen(t), out, sizeof(out)), 20);
	assert_memory_equal(out, "\0bob@example.test\0pw", 20);
}

static void test_refuses_what_is_not_canonical(void **state)
{
	const char *bad[] = { "Zg", "Zg=", "Z===", "Zg==Zg==", "Zm9v YmFy", "Zm9v\r\n",
			      "Zh==", "Zm9=", "Zm!v", "====", "Zg=a" };
	char out[32];

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(base64_decode(bad[i], strlen(bad[i]), out, sizeof(out)), -1);
}

static void test_output_limits(void **state)
{
	char out[3], enc[8];

	(void)state;
	assert_int_equal(base64_decode("Zm9v", 4, out, 3), 3);  /* exactly fits */
	assert_int_equal(base64_decode("Zm9vYg==", 8, out, 3), -1); /* one past */
	assert_int_equal(base64_encode("foob", 4, enc, 8), -1);  /* needs 9 with NUL */
	assert_int_equal(base64_encode("foo", 3, enc, 5), 4);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rfc4648_vectors),
		cmocka_unit_test(test_sasl_plain_with_nuls),
		cmocka_unit_test(test_refuses_what_is_not_canonical),
		cmocka_unit_test(test_output_limits),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
