#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "admin_request.h"

static int parse(const char *line, struct admin_request *req, char *error)
{
	return admin_request_parse(line, strlen(line), req, error, 256);
}

static void test_valid_user_add_is_decoded(void **state)
{
	struct admin_request req;
	char error[256];
	uint64_t quota = 0;

	(void)state;
	assert_int_equal(parse("{\"cmd\":\"user.add\",\"args\":{\"address\":\"a@b.test\","
			       "\"password\":\"x\",\"quota\":1024}}",
			       &req, error),
			 0);
	assert_int_equal(req.cmd, ADMIN_USER_ADD);
	assert_string_equal(admin_arg_str(&req, "address"), "a@b.test");
	assert_true(admin_arg_uint(&req, "quota", &quota));
	assert_int_equal(quota, 1024);
	assert_null(admin_arg_str(&req, "name"));
	admin_request_clear(&req);
}

static void test_args_may_be_omitted_when_none_are_required(void **state)
{
	struct admin_request req;
	char error[256];

	(void)state;
	assert_int_equal(parse("{\"cmd\":\"status\"}", &req, error), 0);
	assert_int_equal(req.cmd, ADMIN_STATUS);
	admin_request_clear(&req);
}

static void test_bad_requests_are_refused_with_a_reason(void **state)
{
	static const struct {
		const char *line;
		const char *error;
	} cases[] = {
		{ "", "not a JSON object" },
		{ "[1,2]", "not a JSON object" },
		{ "{\"cmd\":\"user.add\"", "not a JSON object" },
		{ "{\"cmd\":42}", "'cmd' must be a string" },
		{ "{\"cmd\":\"user.frobnicate\"}", "unknown command" },
		{ "{\"cmd\":\"status\",\"extra\":1}", "unknown field" },
		{ "{\"cmd\":\"status\",\"cmd\":\"reload\"}", "not a JSON object" },
		{ "{\"cmd\":\"domain.add\"}", "missing argument 'domain'" },
		{ "{\"cmd\":\"domain.add\",\"args\":{\"domain\":7}}", "wrong type" },
		{ "{\"cmd\":\"domain.add\",\"args\":{\"domain\":\"a\",\"x\":1}}", "unknown argument" },
		{ "{\"cmd\":\"domain.add\",\"args\":[]}", "'args' must be an object" },
		{ "{\"cmd\":\"user.quota\",\"args\":{\"address\":\"a@b\",\"quota\":-1}}", "wrong type" },
		{ "{\"cmd\":\"alias.add\",\"args\":{\"address\":\"a@b\",\"targets\":[]}}", "wrong type" },
		{ "{\"cmd\":\"alias.add\",\"args\":{\"address\":\"a@b\",\"targets\":[1]}}", "wrong type" },
		{ "{\"cmd\":\"domain.add\",\"args\":{\"domain\":\"a\\u0000b\"}}", "not a JSON object" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct admin_request req;
		char error[256] = "";

		assert_int_equal(parse(cases[i].line, &req, error), -1);
		assert_non_null(strstr(error, cases[i].error));
		assert_null(req.root);
	}
}

static void test_request_at_the_size_limit_is_read_and_one_past_is_refused(void **state)
{
	static char line[ADMIN_REQUEST_MAX + 2];
	struct admin_request req;
	char error[256];
	const char *head = "{\"cmd\":\"domain.add\",\"args\":{\"domain\":\"";
	const char *tail = "\"}}";
	size_t fill = ADMIN_REQUEST_MAX - strlen(head) - strlen(tail);

	(void)state;
	memcpy(line, head, strlen(head));
	memset(line + strlen(head), 'a', fill);
	memcpy(line + strlen(head) + fill, tail, strlen(tail));
	assert_int_equal(admin_request_parse(line, ADMIN_REQUEST_MAX, &req, error, sizeof(error)),
			 0);
	admin_request_clear(&req);
	assert_int_equal(
		admin_request_parse(line, ADMIN_REQUEST_MAX + 1, &req, error, sizeof(error)), -1);
	assert_non_null(strstr(error, "too large"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_valid_user_add_is_decoded),
		cmocka_unit_test(test_args_may_be_omitted_when_none_are_required),
		cmocka_unit_test(test_bad_requests_are_refused_with_a_reason),
		cmocka_unit_test(test_request_at_the_size_limit_is_read_and_one_past_is_refused),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
