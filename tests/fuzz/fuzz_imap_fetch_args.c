/* Feeds arbitrary bytes as the arguments of "FETCH 1 ..." through the IMAP parser into
   imap_fetch_plan_parse(), and every body item of an accepted plan through the literal writer
   over a small multipart message, once whole and once in one-octet pieces, the pieces of
   HEADER.FIELDS items of cached names from the message's header lines cache entry
   (mime_hdrcache.h); the two renderings must match (habit 15). The first byte picks UID FETCH
   and whether the message has bare LFs. */
#include <stdlib.h>
#include <string.h>

#include "imap_fetch.h"
#include "imap_parser.h"
#include "mime_hdrcache.h"
#include "mime_header.h"

static const char message[] = "From: a@b.test\r\n"
                              "Subject: fuzz\r\n"
                              "Content-Type: multipart/mixed; boundary=B\r\n"
                              "\r\n"
                              "--B\r\n"
                              "Content-Type: text/plain\r\n"
                              "Content-Transfer-Encoding: quoted-printable\r\n"
                              "\r\n"
                              "a=3Db =\r\nc\r\n"
                              "--B\r\n"
                              "Content-Type: message/rfc822\r\n"
                              "\r\n"
                              "Subject: inner\n"
                              "\n"
                              "inner body\n"
                              "--B\r\n"
                              "Content-Transfer-Encoding: base64\r\n"
                              "\r\n"
                              "AAEC/w==\r\n"
                              "--B--\r\n";

static void render(const struct imap_fetch_body *b, const struct imap_fetch_src *src, size_t step,
                   struct mime_buf *out)
{
	struct imap_fetch_lit lit;

	if (imap_fetch_lit_init(&lit, b, src) == 0)
		while (!imap_fetch_lit_emit(&lit, out, step))
			;
	imap_fetch_lit_free(&lit);
}

static void check_plan(const struct imap_fetch_plan *plan, bool crlf)
{
	struct mime_message *m =
	    mime_message_parse((const uint8_t *)message, sizeof(message) - 1, NULL);
	struct imap_fetch_src src = {
	    .buf = (const uint8_t *)message, .len = sizeof(message) - 1, .msg = m, .crlf = crlf};
	struct imap_fetch_src cached = src;
	struct mime_buf entry = MIME_BUF_INIT;

	/* the pieces come from the header lines cache entry where an item may use it */
	if (mime_hdrcache_build(src.buf, mime_header_size(src.buf, src.len), &entry) != 1)
		abort();
	cached.hdr_lines = (const uint8_t *)entry.p;
	cached.hdr_lines_len = entry.len;
	for (size_t i = 0; i < plan->nbodies; i++) {
		struct mime_buf whole = MIME_BUF_INIT, pieces = MIME_BUF_INIT;

		render(&plan->bodies[i], &src, 1u << 20, &whole);
		render(&plan->bodies[i], &cached, 1, &pieces);
		if (whole.len != pieces.len || memcmp(whole.p, pieces.p, whole.len) != 0)
			abort();
		mime_buf_free(&whole);
		mime_buf_free(&pieces);
	}
	mime_buf_free(&entry);
	mime_message_free(&m);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct imap_parser_limits limits;
	struct imap_parser *p;
	struct imap_fetch_plan plan;
	const char *error;
	uint8_t *line;
	size_t used, len;
	bool uid, crlf;

	if (size < 1 || size > 8192)
		return 0;
	uid = data[0] & 1;
	crlf = data[0] & 2;
	data++, size--;
	line = malloc(size + 16);
	if (line == NULL)
		abort();
	memcpy(line, "t FETCH 1 ", 10);
	memcpy(line + 10, data, size);
	memcpy(line + 10 + size, "\r\n", 2);
	len = size + 12;
	imap_parser_limits_default(&limits, true);
	p = imap_parser_new(&limits, 0);
	if (imap_parser_feed(p, line, len, &used) == IMAP_PARSE_COMMAND) {
		const struct imap_command *cmd = imap_parser_command(p);

		if (cmd->args != NULL) {
			if (imap_fetch_plan_parse(cmd->args->next, uid, &plan, &error) == 0)
				check_plan(&plan, crlf);
			else if (error == NULL)
				abort();
			imap_fetch_plan_free(&plan);
		}
	}
	imap_parser_free(&p);
	free(line);
	return 0;
}
