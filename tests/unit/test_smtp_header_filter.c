#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "smtp_header_filter.h"

struct sink {
	char buf[4096];
	size_t len;
};

static void sink_out(const uint8_t *p, size_t len, void *ctx)
{
	struct sink *s = ctx;

	assert_true(s->len + len < sizeof(s->buf));
	memcpy(s->buf + s->len, p, len);
	s->len += len;
}

/* Filter in, fed in pieces of `step` octets (0: all at once). */
static const char *filter(const char *in, size_t step, struct sink *s, unsigned *dropped)
{
	struct smtp_header_filter f;
	size_t len = strlen(in);

	memset(s, 0, sizeof(*s));
	smtp_header_filter_init(&f, "x-spam-", sink_out, s);
	for (size_t off = 0; off < len;) {
		size_t n = step == 0 || step > len - off ? len - off : step;

		smtp_header_filter_feed(&f, (const uint8_t *)in + off, n);
		off += n;
	}
	smtp_header_filter_finish(&f);
	s->buf[s->len] = '\0';
	if (dropped != NULL)
		*dropped = f.dropped;
	return s->buf;
}

static const struct {
	const char *in, *out;
	unsigned dropped;
} cases[] = {
	{ "Subject: a\r\n\r\nbody\r\n", "Subject: a\r\n\r\nbody\r\n", 0 },
	{ "X-Spam-Status: No\r\nSubject: a\r\n\r\nbody\r\n", "Subject: a\r\n\r\nbody\r\n", 1 },
	{ "Subject: a\r\nx-spam-flag: NO\r\n\r\n", "Subject: a\r\n\r\n", 1 },
	{ "X-SPAM-Score: 0\r\n\t folded\r\n  more\r\nTo: b\r\n\r\n", "To: b\r\n\r\n", 1 },
	{ "To: b\r\n folded\r\n\r\nX-Spam-In-Body: kept\r\n",
	  "To: b\r\n folded\r\n\r\nX-Spam-In-Body: kept\r\n", 0 },
	{ "X-Spammer: kept\r\nX-Spa: kept\r\n\r\n", "X-Spammer: kept\r\nX-Spa: kept\r\n\r\n", 0 },
	{ "X-Spam-A: 1\r\nX-Spam-B: 2\r\nFrom: c\r\n\r\nx", "From: c\r\n\r\nx", 2 },
	{ "X-Spam-Cut", "", 1 },
	{ "X-Sp", "X-Sp", 0 },
	{ "\r\nX-Spam-Body: kept\r\n", "\r\nX-Spam-Body: kept\r\n", 0 },
};

static void test_x_spam_fields_are_removed_with_their_folds(void **state)
{
	struct sink s;
	unsigned dropped;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_string_equal(filter(cases[i].in, 0, &s, &dropped), cases[i].out);
		assert_int_equal(dropped, cases[i].dropped);
	}
}

static void test_every_split_gives_the_same_output(void **state)
{
	struct sink s;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		for (size_t step = 1; step <= strlen(cases[i].in); step++)
			assert_string_equal(filter(cases[i].in, step, &s, NULL), cases[i].out);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_x_spam_fields_are_removed_with_their_folds),
		cmocka_unit_test(test_every_split_gives_the_same_output),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
