/*
 * libFuzzer target for the SMTP command line reader and the command parser.
 *
 * Input: one byte for the line cap, one for the session state (extensions, SMTPUTF8, size
 * limit), then the byte stream a client sends. The stream goes through the line reader in one
 * piece and in pieces chosen from the stream itself; both must yield the same lines at the same
 * offsets, none longer than the cap. Every good line is parsed from an exact-size copy (so an
 * over-read is caught), and the whole stream is parsed as one line as well (NUL, CR, LF
 * included). Accepted commands must hold what the header promises.
 *
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -D_GNU_SOURCE -Isrc/accounts -Isrc/smtp \
 *       src/accounts/address.c src/smtp/smtp_line.c src/smtp/smtp_cmd.c \
 *       tests/fuzz/fuzz_smtp_cmd.c
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "smtp_cmd.h"
#include "smtp_line.h"

/* The largest cap the first byte can choose: 3 + 255 * 4. */
#define FUZZ_LINE_BUF 1024

#define CHECK(cond)                                                                                \
	do {                                                                                       \
		if (!(cond))                                                                       \
			abort();                                                                   \
	} while (0)

static void fnv(uint64_t *h, const void *p, size_t len)
{
	const uint8_t *b = p;

	for (size_t i = 0; i < len; i++)
		*h = (*h ^ b[i]) * 0x100000001b3ULL;
}

static bool printable(const char *s)
{
	for (; *s != '\0'; s++) {
		if (*s < 32 || *s > 126)
			return false;
	}
	return true;
}

static void check_accepted(const struct smtp_cmd *cmd)
{
	char text[ADDRESS_FORMAT_MAX];

	switch (cmd->verb) {
	case SMTP_VERB_MAIL:
		if (!cmd->mail.null_sender)
			CHECK(address_format(&cmd->mail.addr, text, sizeof(text)) == 0);
		CHECK(printable(cmd->mail.envid) && strlen(cmd->mail.envid) <= SMTP_ENVID_MAX);
		CHECK(printable(cmd->mail.auth) && strlen(cmd->mail.auth) <= SMTP_AUTH_PARAM_MAX);
		CHECK(cmd->mail.has_envid == (cmd->mail.envid[0] != '\0'));
		break;
	case SMTP_VERB_RCPT:
		CHECK(cmd->rcpt.postmaster || cmd->rcpt.addr.domain[0] != '\0');
		CHECK(printable(cmd->rcpt.orcpt) && printable(cmd->rcpt.orcpt_type));
		CHECK(cmd->rcpt.notify < 16);
		break;
	case SMTP_VERB_EHLO:
	case SMTP_VERB_HELO:
		CHECK(cmd->helo.domain[0] != '\0' && printable(cmd->helo.domain));
		break;
	case SMTP_VERB_AUTH:
		CHECK(cmd->auth.mech[0] != '\0' && strlen(cmd->auth.mech) <= SMTP_SASL_MECH_MAX);
		break;
	default:
		break;
	}
}

static void parse(const uint8_t *line, size_t len, uint8_t state)
{
	const struct smtp_cmd_opts opts = {
	    .ext = state & 0x3f,
	    .smtputf8 = (state & 0x40) != 0,
	    .size_max = (state & 0x80) != 0 ? UINT64_MAX : 1000,
	};
	uint8_t *copy = malloc(len > 0 ? len : 1);
	struct smtp_cmd cmd;
	struct smtp_reply reply;

	if (copy == NULL)
		return;
	if (len > 0)
		memcpy(copy, line, len);
	if (smtp_cmd_parse(copy, len, &opts, &cmd, &reply) == 0) {
		check_accepted(&cmd);
	} else {
		CHECK(reply.code >= 500 && reply.code <= 555);
		CHECK(reply.status != NULL && reply.text != NULL);
	}
	CHECK(cmd.name.len <= len && cmd.arg.len <= len);
	CHECK(smtp_verb_name(cmd.verb) != NULL);
	free(copy);
}

/* Reads the stream in pieces: all at once when pieces is NULL, else of sizes taken from it.
   Returns a hash of every line and its end offset. */
static uint64_t read_lines(const uint8_t *in, size_t len, size_t cap, const uint8_t *pieces,
                           uint8_t state)
{
	uint8_t buf[FUZZ_LINE_BUF];
	struct smtp_line lr;
	struct smtp_bytes line;
	uint64_t h = 0xcbf29ce484222325ULL;
	size_t pos = 0, used, k = 0;

	smtp_line_init(&lr, buf, cap);
	while (pos < len) {
		size_t n = pieces == NULL ? len - pos : 1 + pieces[k++ % len] % 8;

		if (n > len - pos)
			n = len - pos;
		while (n > 0) {
			enum smtp_line_result r = smtp_line_feed(&lr, in + pos, n, &used, &line);

			CHECK(used <= n);
			pos += used;
			n -= used;
			if (r == SMTP_LINE_MORE) {
				CHECK(n == 0);
				continue;
			}
			CHECK(line.len + 2 <= cap && line.p == buf);
			fnv(&h, &r, sizeof(r));
			fnv(&h, &pos, sizeof(pos));
			fnv(&h, line.p, line.len);
			if (r == SMTP_LINE_OK && pieces == NULL)
				parse(line.p, line.len, state);
		}
	}
	return h + (smtp_line_pending(&lr) ? 1 : 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t cap;
	uint8_t state;

	if (size < 2)
		return 0;
	cap = SMTP_LINE_MAX_MIN + (size_t)data[0] * 4;
	state = data[1];
	data += 2;
	size -= 2;
	CHECK(read_lines(data, size, cap, NULL, state) == read_lines(data, size, cap, data, state));
	parse(data, size, state);
	return 0;
}
