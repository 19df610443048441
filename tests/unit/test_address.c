#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "address.h"

struct good_address {
	const char *in;
	size_t len; /* 0: strlen(in) */
	bool utf8;
	const char *local;
	const char *domain;
};

struct bad_address {
	const char *in;
	size_t len; /* 0: strlen(in) */
	bool utf8;
	const char *error;
};

static const struct good_address good[] = {
    {"bob@example.org", 0, false, "bob", "example.org"},
    {"Bob.Smith@Example.ORG", 0, false, "Bob.Smith", "example.org"},
    {"a@b", 0, false, "a", "b"},
    {"bob@example.org.", 0, false, "bob", "example.org"},
    {"!#$%&'*+-/=?^_`{|}~@x.example", 0, false, "!#$%&'*+-/=?^_`{|}~", "x.example"},
    {"a.b.c@x-y.z0.example", 0, false, "a.b.c", "x-y.z0.example"},
    {"user@xn--bcher-kva.example", 0, false, "user", "xn--bcher-kva.example"},
    {"user@123.example", 0, false, "user", "123.example"},
    /* RFC 5321 4.1.2: quoted forms are equivalent; the least quoting is canonical */
    {"\"bob\"@example.org", 0, false, "bob", "example.org"},
    {"\"b\\ob\"@example.org", 0, false, "bob", "example.org"},
    {"\"john doe\"@example.org", 0, false, "\"john doe\"", "example.org"},
    {"\"a\\\"b\"@x", 0, false, "\"a\\\"b\"", "x"},
    {"\"a\\\\b\"@x", 0, false, "\"a\\\\b\"", "x"},
    {"\"a@b\"@x", 0, false, "\"a@b\"", "x"},
    {"\"a..b\"@x", 0, false, "\"a..b\"", "x"},
    {"\"\"@x", 0, false, "\"\"", "x"},
    {"\"user@other.example\"@our.example", 0, false, "\"user@other.example\"", "our.example"},
    /* address literals, RFC 5321 4.1.3 */
    {"user@[192.0.2.1]", 0, false, "user", "[192.0.2.1]"},
    {"user@[0.0.0.0]", 0, false, "user", "[0.0.0.0]"},
    {"user@[IPv6:2001:DB8::1]", 0, false, "user", "[ipv6:2001:db8::1]"},
    {"user@[ipv6:::ffff:192.0.2.1]", 0, false, "user", "[ipv6:::ffff:192.0.2.1]"},
    /* RFC 6531: UTF-8 with SMTPUTF8; only ASCII letters are lowercased */
    {"j\xc3\xb6hn@B\xc3\xbcro.DE", 0, true, "j\xc3\xb6hn", "b\xc3\xbcro.de"},
    {"\xe7\x94\xa8\xe6\x88\xb7@\xe4\xbe\x8b\xe5\xad\x90.\xe5\xb9\xbf\xe5\x91\x8a", 0, true,
     "\xe7\x94\xa8\xe6\x88\xb7", "\xe4\xbe\x8b\xe5\xad\x90.\xe5\xb9\xbf\xe5\x91\x8a"},
    {"\xf0\x9f\x98\x80@x", 0, true, "\xf0\x9f\x98\x80", "x"},
    {"\xf4\x8f\xbf\xbf@x", 0, true, "\xf4\x8f\xbf\xbf", "x"}, /* U+10FFFF */
    /* U+D7FF and U+E000, either side of the surrogates */
    {"\xed\x9f\xbf\xee\x80\x80@x", 0, true, "\xed\x9f\xbf\xee\x80\x80", "x"},
    {"\xef\xbf\xbf@x", 0, true, "\xef\xbf\xbf", "x"}, /* U+FFFF */
    {"\xc2\x80@x", 0, true, "\xc2\x80", "x"},         /* smallest 2-byte */
    {"\"j\xc3\xb6 hn\"@x", 0, true, "\"j\xc3\xb6 hn\"", "x"},
};

static const struct bad_address bad[] = {
    {"", 0, false, "empty address"},
    {"bob", 0, false, "missing @"},
    {"@example.org", 0, false, "empty local part"},
    {"bob@", 0, false, "empty domain"},
    {"bob@.", 0, false, "empty domain"},
    {"a@b@c", 0, false, "more than one @"},
    {"a@@b", 0, false, "more than one @"},
    {"\"a\"@b@c", 0, false, "more than one @"},
    {".bob@x", 0, false, "local part starts with a dot"},
    {"bob.@x", 0, false, "local part ends with a dot"},
    {"bo..b@x", 0, false, "two dots in a row in local part"},
    {"bo b@x", 0, false, "invalid character in local part"},
    {"bo(b@x", 0, false, "invalid character in local part"},
    {"bob\"@x", 0, false, "invalid character in local part"},
    {"a\0b@x", 5, false, "invalid character in local part"},
    {"bob@x\0y", 7, false, "invalid character in domain"},
    {"\"bob@x", 0, false, "unterminated quoted local part"},
    {"\"bob\"x@y", 0, false, "invalid character after quoted local part"},
    {"\"bob\"", 0, false, "missing @"},
    {"\"a\tb\"@x", 0, false, "invalid character in local part"},
    {"\"a\x7f\"@x", 0, false, "invalid character in local part"},
    {"\"a\\\x01\"@x", 0, false, "invalid quoted pair in local part"},
    {"\"a\\", 0, false, "invalid quoted pair in local part"},
    {"bob@-x.org", 0, false, "domain label starts or ends with a hyphen"},
    {"bob@x-.org", 0, false, "domain label starts or ends with a hyphen"},
    {"bob@x..org", 0, false, "empty label in domain"},
    {"bob@.x.org", 0, false, "empty label in domain"},
    {"bob@x.org..", 0, false, "empty label in domain"},
    {"bob@x_y.org", 0, false, "invalid character in domain"},
    {"bob@x y.org", 0, false, "invalid character in domain"},
    {"bob@[1.2.3]", 0, false, "invalid address literal"},
    {"bob@[256.1.1.1]", 0, false, "invalid address literal"},
    {"bob@[1.2.3.4", 0, false, "invalid address literal"},
    {"bob@[1.2.3.4].", 0, false, "invalid address literal"},
    {"bob@[]", 0, false, "invalid address literal"},
    {"bob@[IPv6:zz::1]", 0, false, "invalid IPv6 address literal"},
    {"bob@[IPv6:1.2.3.4]", 0, false, "invalid IPv6 address literal"},
    {"bob@[x-tag:stuff]", 0, false, "unsupported address literal"},
    /* UTF-8 needs SMTPUTF8 */
    {"j\xc3\xb6hn@x", 0, false, "non-ASCII character in local part"},
    {"j@b\xc3\xbcro.de", 0, false, "non-ASCII character in domain"},
    {"\"j\xc3\xb6hn\"@x", 0, false, "non-ASCII character in local part"},
    /* and must be well-formed */
    {"a\xc0\x80@x", 0, true, "invalid UTF-8 in local part"},         /* overlong NUL */
    {"a\xc1\xbf@x", 0, true, "invalid UTF-8 in local part"},         /* overlong */
    {"a\xe0\x80\xaf@x", 0, true, "invalid UTF-8 in local part"},     /* overlong '/' */
    {"a\xf0\x80\x80\xaf@x", 0, true, "invalid UTF-8 in local part"}, /* overlong '/' */
    {"a\xed\xa0\x80@x", 0, true, "invalid UTF-8 in local part"},     /* U+D800 */
    {"a\xed\xbf\xbf@x", 0, true, "invalid UTF-8 in local part"},     /* U+DFFF */
    {"a\xf4\x90\x80\x80@x", 0, true, "invalid UTF-8 in local part"}, /* U+110000 */
    {"a\xf5\x80\x80\x80@x", 0, true, "invalid UTF-8 in local part"},
    {"a\xff@x", 0, true, "invalid UTF-8 in local part"},
    {"a\x80@x", 0, true, "invalid UTF-8 in local part"}, /* stray continuation */
    {"a\xc3@x", 0, true, "invalid UTF-8 in local part"}, /* cut by '@' */
    {"a\xe2\x82@x", 0, true, "invalid UTF-8 in local part"},
    {"a\xf0\x9f\x98@x", 0, true, "invalid UTF-8 in local part"},
    {"\"a\xed\xa0\x80\"@x", 0, true, "invalid UTF-8 in local part"},
    {"a@x\xc3", 0, true, "invalid UTF-8 in domain"}, /* cut by the end */
    {"a@x\xed\xa0\x80", 0, true, "invalid UTF-8 in domain"},
    {"a@x\xc0\x80.org", 0, true, "invalid UTF-8 in domain"},
};

static void assert_good(const struct good_address *g)
{
	size_t len = g->len != 0 ? g->len : strlen(g->in);
	/* exactly len bytes on the heap: ASan catches any read past the end */
	char *copy = malloc(len);
	struct address addr;
	const char *error = NULL;

	assert_non_null(copy);
	memcpy(copy, g->in, len);
	if (address_parse(copy, len, g->utf8, &addr, &error) != 0)
		fail_msg("\"%s\" refused: %s", g->in, error);
	assert_string_equal(addr.local, g->local);
	assert_string_equal(addr.domain, g->domain);
	free(copy);
}

static void assert_bad(const struct bad_address *b)
{
	size_t len = b->len != 0 ? b->len : strlen(b->in);
	char *copy = malloc(len + 1); /* +1: malloc(0) may return NULL */
	struct address addr;
	const char *error = NULL;

	assert_non_null(copy);
	memcpy(copy, b->in, len);
	if (address_parse(copy, len, b->utf8, &addr, &error) != -1)
		fail_msg("\"%s\" accepted", b->in);
	if (error == NULL || strcmp(error, b->error) != 0)
		fail_msg("\"%s\": got \"%s\", want \"%s\"", b->in, error ? error : "(null)",
		         b->error);
	free(copy);
}

static void test_good_addresses_parse_to_canonical_form(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		assert_good(&good[i]);
}

static void test_bad_addresses_are_refused_with_the_reason(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_bad(&bad[i]);
}

/* Every prefix, one byte longer each time, in a buffer of exactly that size: the parser
   must answer (accept or refuse with a reason) without reading past len. */
static void assert_every_prefix_answers(const char *in, size_t full, bool utf8)
{
	for (size_t len = 0; len <= full; len++) {
		char *copy = malloc(len + 1);
		const char *error = NULL;
		struct address addr;
		int ret;

		assert_non_null(copy);
		memcpy(copy, in, len);
		ret = address_parse(copy, len, utf8, &addr, &error);
		if (ret == -1)
			assert_non_null(error);
		else
			assert_int_equal(ret, 0);
		free(copy);
	}
}

static void test_every_prefix_is_parsed_within_its_length(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		size_t len = good[i].len != 0 ? good[i].len : strlen(good[i].in);

		assert_every_prefix_answers(good[i].in, len, good[i].utf8);
		assert_every_prefix_answers(good[i].in, len, !good[i].utf8);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		size_t len = bad[i].len != 0 ? bad[i].len : strlen(bad[i].in);

		assert_every_prefix_answers(bad[i].in, len, true);
	}
}

static int parse_str(const char *s, bool utf8, struct address *addr, const char **error)
{
	return address_parse(s, strlen(s), utf8, addr, error);
}

/* Test inputs built piece by piece. */
struct text {
	char buf[1024];
	size_t len;
};

static struct text *text_add(struct text *t, const char *s, size_t times)
{
	size_t n = strlen(s);

	for (size_t i = 0; i < times; i++) {
		assert_true(t->len + n < sizeof(t->buf));
		memcpy(t->buf + t->len, s, n);
		t->len += n;
	}
	t->buf[t->len] = '\0';
	return t;
}

static int parse_text(const struct text *t, bool utf8, struct address *addr, const char **error)
{
	return address_parse(t->buf, t->len, utf8, addr, error);
}

static void assert_too_long(const struct text *t, bool utf8, const char *error_want)
{
	struct address addr;
	const char *error = NULL;

	assert_int_equal(parse_text(t, utf8, &addr, &error), -1);
	assert_string_equal(error, error_want);
}

static void test_local_part_of_64_octets_is_the_limit(void **state)
{
	struct text t64 = {0}, t65 = {0}, u64 = {0}, u66 = {0}, mixed = {0};
	struct address addr;
	const char *error;

	(void)state;
	text_add(text_add(&t64, "a", 64), "@x", 1);
	assert_int_equal(parse_text(&t64, false, &addr, &error), 0);
	assert_int_equal(strlen(addr.local), 64);
	text_add(text_add(&t65, "a", 65), "@x", 1);
	assert_too_long(&t65, false, "local part too long");
	/* octets, not characters: 32 two-byte characters fit, 33 do not */
	text_add(text_add(&u64, "\xc3\xa9", 32), "@x", 1);
	assert_int_equal(parse_text(&u64, true, &addr, &error), 0);
	text_add(text_add(&u66, "\xc3\xa9", 33), "@x", 1);
	assert_too_long(&u66, true, "local part too long");
	/* a character that starts at octet 64 and ends past it */
	text_add(text_add(&mixed, "a", 63), "\xc3\xa9@x", 1);
	assert_too_long(&mixed, true, "local part too long");
}

static void test_quoted_local_part_counts_its_quotes(void **state)
{
	struct text t64 = {0}, t65 = {0};
	struct address addr;
	const char *error;

	(void)state;
	text_add(text_add(text_add(&t64, "\"", 1), "a", 61), " \"@x", 1); /* 1 + 61 + 2 = 64 */
	assert_int_equal(parse_text(&t64, false, &addr, &error), 0);
	assert_int_equal(strlen(addr.local), 64);
	text_add(text_add(text_add(&t65, "\"", 1), "a", 62), " \"@x", 1);
	assert_too_long(&t65, false, "local part too long");
}

static void test_domain_label_of_63_octets_is_the_limit(void **state)
{
	struct text t63 = {0}, t64 = {0};
	struct address addr;
	const char *error;

	(void)state;
	text_add(text_add(text_add(&t63, "u@", 1), "b", 63), ".example", 1);
	assert_int_equal(parse_text(&t63, false, &addr, &error), 0);
	text_add(text_add(text_add(&t64, "u@", 1), "b", 64), ".example", 1);
	assert_too_long(&t64, false, "domain label too long");
}

/* "u@" and four labels of 63 octets: a domain of 4 * 63 + 3 = 255 octets. */
static struct text *domain_255(struct text *t)
{
	text_add(t, "u@", 1);
	for (int i = 0; i < 4; i++)
		text_add(text_add(t, i > 0 ? "." : "", 1), "d", 63);
	return t;
}

static void test_domain_of_255_octets_is_the_limit(void **state)
{
	struct text t255 = {0}, root = {0}, t256 = {0};
	struct address addr;
	const char *error;

	(void)state;
	domain_255(&t255);
	assert_int_equal(parse_text(&t255, false, &addr, &error), 0);
	assert_int_equal(strlen(addr.domain), 255);
	/* the root's dot is not counted */
	text_add(domain_255(&root), ".", 1);
	assert_int_equal(parse_text(&root, false, &addr, &error), 0);
	assert_int_equal(strlen(addr.domain), 255);
	/* 256: 63 + 63 + 63 + 62 + 1 and four dots */
	text_add(&t256, "u@", 1);
	for (int i = 0; i < 3; i++)
		text_add(text_add(&t256, "d", 63), ".", 1);
	text_add(text_add(&t256, "e", 62), ".a", 1);
	assert_int_equal(t256.len - 2, 256);
	assert_too_long(&t256, false, "domain too long");
}

static void test_mailbox_form_refuses_quotes_and_literals(void **state)
{
	struct address addr;
	const char *error;

	(void)state;
	assert_int_equal(address_parse_mailbox("Bob@Example.ORG", false, &addr, &error), 0);
	assert_string_equal(addr.local, "Bob");
	assert_string_equal(addr.domain, "example.org");
	assert_int_equal(address_parse_mailbox("\"bob\"@example.org", false, &addr, &error), -1);
	assert_string_equal(error, "quoted local part not allowed");
	assert_int_equal(address_parse_mailbox("bob@[192.0.2.1]", false, &addr, &error), -1);
	assert_string_equal(error, "address literal not allowed");
	/* UTF-8 always allowed for names an admin creates */
	assert_int_equal(address_parse_mailbox("j\xc3\xb6hn@b\xc3\xbcro.de", false, &addr, &error),
	                 0);
	assert_int_equal(address_parse_mailbox("a\xed\xa0\x80@x", false, &addr, &error), -1);
	assert_string_equal(error, "invalid UTF-8 in local part");
}

static void test_catchall_only_where_allowed(void **state)
{
	struct address addr;
	const char *error;

	(void)state;
	assert_int_equal(address_parse_mailbox("@Example.org", true, &addr, &error), 0);
	assert_string_equal(addr.local, "");
	assert_string_equal(addr.domain, "example.org");
	assert_int_equal(address_parse_mailbox("@example.org", false, &addr, &error), -1);
	assert_string_equal(error, "empty local part");
	assert_int_equal(address_parse_mailbox("@", true, &addr, &error), -1);
	assert_string_equal(error, "empty domain");
	assert_int_equal(address_parse("@example.org", 12, true, &addr, &error), -1);
}

static void test_domain_valid_for_domain_add(void **state)
{
	const char *error;

	(void)state;
	assert_int_equal(address_domain_valid("example.org", &error), 0);
	assert_int_equal(address_domain_valid("Example.ORG", &error), 0);
	assert_int_equal(address_domain_valid("b\xc3\xbcro.de", &error), 0);
	assert_int_equal(address_domain_valid("example.org.", &error), -1);
	assert_string_equal(error, "domain ends with a dot");
	assert_int_equal(address_domain_valid("[192.0.2.1]", &error), -1);
	assert_string_equal(error, "address literal not allowed");
	assert_int_equal(address_domain_valid("a@b", &error), -1);
	assert_string_equal(error, "more than one @");
	assert_int_equal(address_domain_valid("", &error), -1);
	assert_string_equal(error, "empty domain");
	assert_int_equal(address_domain_valid("-a.org", &error), -1);
}

static void test_format_round_trips_and_refuses_short_buffers(void **state)
{
	struct address addr;
	char out[ADDRESS_FORMAT_MAX];
	const char *error;

	(void)state;
	assert_int_equal(parse_str("\"john doe\"@Example.org.", false, &addr, &error), 0);
	assert_int_equal(address_format(&addr, out, sizeof(out)), 0);
	assert_string_equal(out, "\"john doe\"@example.org");
	assert_int_equal(parse_str(out, false, &addr, &error), 0);
	assert_string_equal(addr.local, "\"john doe\"");
	assert_int_equal(address_parse_mailbox("@example.org", true, &addr, &error), 0);
	assert_int_equal(address_format(&addr, out, sizeof(out)), 0);
	assert_string_equal(out, "@example.org");
	assert_int_equal(address_parse_mailbox("bob@x", false, &addr, &error), 0);
	assert_int_equal(address_format(&addr, out, 6), 0);
	assert_string_equal(out, "bob@x");
	assert_int_equal(address_format(&addr, out, 5), -1);
	assert_string_equal(out, "");
}

static void test_postmaster_in_any_case(void **state)
{
	struct address addr;
	const char *error;

	(void)state;
	assert_int_equal(parse_str("PostMaster@example.org", false, &addr, &error), 0);
	assert_true(address_is_postmaster(&addr));
	assert_int_equal(parse_str("\"postmaster\"@example.org", false, &addr, &error), 0);
	assert_true(address_is_postmaster(&addr));
	assert_int_equal(parse_str("postmaster+x@example.org", false, &addr, &error), 0);
	assert_false(address_is_postmaster(&addr));
	assert_int_equal(parse_str("postmaste@example.org", false, &addr, &error), 0);
	assert_false(address_is_postmaster(&addr));
}

static void test_equal_ignores_local_case_only(void **state)
{
	struct address a, b;
	const char *error;

	(void)state;
	assert_int_equal(parse_str("Bob@Example.org", false, &a, &error), 0);
	assert_int_equal(parse_str("bOB@example.ORG.", false, &b, &error), 0);
	assert_true(address_equal(&a, &b));
	assert_int_equal(parse_str("bob2@example.org", false, &b, &error), 0);
	assert_false(address_equal(&a, &b));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_good_addresses_parse_to_canonical_form),
	    cmocka_unit_test(test_bad_addresses_are_refused_with_the_reason),
	    cmocka_unit_test(test_every_prefix_is_parsed_within_its_length),
	    cmocka_unit_test(test_local_part_of_64_octets_is_the_limit),
	    cmocka_unit_test(test_quoted_local_part_counts_its_quotes),
	    cmocka_unit_test(test_domain_label_of_63_octets_is_the_limit),
	    cmocka_unit_test(test_domain_of_255_octets_is_the_limit),
	    cmocka_unit_test(test_mailbox_form_refuses_quotes_and_literals),
	    cmocka_unit_test(test_catchall_only_where_allowed),
	    cmocka_unit_test(test_domain_valid_for_domain_add),
	    cmocka_unit_test(test_format_round_trips_and_refuses_short_buffers),
	    cmocka_unit_test(test_postmaster_in_any_case),
	    cmocka_unit_test(test_equal_ignores_local_case_only),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
