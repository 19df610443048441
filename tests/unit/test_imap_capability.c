#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "imap_capability.h"
#include "imap_commands.h"

static bool has_word(const char *list, const char *word)
{
	size_t n = strlen(word);

	for (const char *p = list; (p = strstr(p, word)) != NULL; p += n) {
		if ((p == list || p[-1] == ' ') && (p[n] == ' ' || p[n] == '\0'))
			return true;
	}
	return false;
}

static void build(bool authed, bool starttls, bool login, char *buf)
{
	struct imap_capability_state st = {authed, starttls, login};

	assert_int_equal(imap_capability_build(&st, buf, IMAP_CAPABILITY_MAX), 0);
}

static void test_preauth_plaintext_on_143(void **state)
{
	char caps[IMAP_CAPABILITY_MAX];

	(void)state;
	build(false, true, false, caps);
	assert_string_equal(caps, "IMAP4rev1 IMAP4rev2 SASL-IR LITERAL- ID ENABLE STARTTLS "
	                          "LOGINDISABLED");
}

static void test_preauth_after_tls(void **state)
{
	char caps[IMAP_CAPABILITY_MAX];

	(void)state;
	build(false, false, true, caps);
	assert_string_equal(caps, "IMAP4rev1 IMAP4rev2 SASL-IR LITERAL- ID ENABLE AUTH=PLAIN");
}

static void test_preauth_without_certificate(void **state)
{
	char caps[IMAP_CAPABILITY_MAX];

	(void)state;
	build(false, false, false, caps);
	assert_false(has_word(caps, "STARTTLS"));
	assert_true(has_word(caps, "LOGINDISABLED"));
	assert_false(has_word(caps, "AUTH=PLAIN"));
}

static void test_authed(void **state)
{
	static const char *const want[] = {
	    "IMAP4rev1",   "IMAP4rev2", "LITERAL+",          "ID",
	    "ENABLE",      "IDLE",      "NAMESPACE",         "UNSELECT",
	    "UIDPLUS",     "MOVE",      "SPECIAL-USE",       "LIST-EXTENDED",
	    "LIST-STATUS", "CONDSTORE", "QRESYNC",           "ESEARCH",
	    "QUOTA",       "SORT",      "THREAD=REFERENCES", "UTF8=ACCEPT",
	    "SEARCHRES"};
	char caps[IMAP_CAPABILITY_MAX];

	(void)state;
	build(true, true, true, caps);
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
		assert_true(has_word(caps, want[i]));
	assert_false(has_word(caps, "LITERAL-"));
	assert_false(has_word(caps, "STARTTLS"));
	assert_false(has_word(caps, "AUTH=PLAIN"));
	assert_false(has_word(caps, "LOGINDISABLED"));
}

static void test_too_small_buffer(void **state)
{
	struct imap_capability_state st = {true, false, true};
	char caps[IMAP_CAPABILITY_MAX];
	size_t full;

	(void)state;
	assert_int_equal(imap_capability_build(&st, caps, sizeof(caps)), 0);
	full = strlen(caps);
	assert_int_equal(imap_capability_build(&st, caps, full + 1), 0);
	assert_int_equal(imap_capability_build(&st, caps, full), -1);
	assert_string_equal(caps, "");
	assert_int_equal(imap_capability_build(&st, caps, 0), -1);
}

static void test_command_table(void **state)
{
	static const char *const names[] = {"AUTHENTICATE", "CAPABILITY", "ENABLE",
	                                    "ID",           "LOGIN",      "LOGOUT",
	                                    "NAMESPACE",    "NOOP",       "STARTTLS"};

	(void)state;
	/* Every row is found by bsearch, so the table is sorted; any case matches. */
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		const struct imap_command_def *def = imap_command_find(names[i]);

		assert_non_null(def);
		assert_string_equal(def->name, names[i]);
		assert_non_null(def->run);
		assert_true(def->states != 0);
	}
	assert_non_null(imap_command_find("capability"));
	assert_non_null(imap_command_find("Login"));
	assert_null(imap_command_find("LOGI"));
	assert_null(imap_command_find("LOGINX"));
	assert_null(imap_command_find(""));
	assert_null(imap_command_find(NULL));
	assert_int_equal(imap_command_find("LOGIN")->states, IMAP_NOT_AUTH);
	assert_int_equal(imap_command_find("STARTTLS")->states, IMAP_NOT_AUTH);
	assert_int_equal(imap_command_find("AUTHENTICATE")->states, IMAP_NOT_AUTH);
	assert_int_equal(imap_command_find("ENABLE")->states, IMAP_AUTH);
	assert_int_equal(imap_command_find("LOGOUT")->states, IMAP_ANY_STATE);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_preauth_plaintext_on_143),
	    cmocka_unit_test(test_preauth_after_tls),
	    cmocka_unit_test(test_preauth_without_certificate),
	    cmocka_unit_test(test_authed),
	    cmocka_unit_test(test_too_small_buffer),
	    cmocka_unit_test(test_command_table),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
