#include <string.h>

#include "imap_envelope.h"
#include "mime_header.h"

/* RFC 3501 7.4.2: the fields of ENVELOPE, in order. */
enum env_field {
	ENV_DATE,
	ENV_SUBJECT,
	ENV_FROM,
	ENV_SENDER,
	ENV_REPLY_TO,
	ENV_TO,
	ENV_CC,
	ENV_BCC,
	ENV_IN_REPLY_TO,
	ENV_MESSAGE_ID,
	ENV_COUNT,
};

static const char *const env_names[ENV_COUNT] = {
    "date", "subject", "from", "sender", "reply-to", "to", "cc", "bcc", "in-reply-to", "message-id",
};

static bool env_is_address(enum env_field e)
{
	return e >= ENV_FROM && e <= ENV_BCC;
}

void imap_envelope_string(struct mime_buf *out, const uint8_t *p, size_t len)
{
	size_t i, nuls = 0;
	bool literal = false;

	for (i = 0; i < len; i++) {
		if (p[i] == '\0')
			nuls++;
		else if (p[i] >= 0x80 || p[i] == '\r' || p[i] == '\n')
			literal = true;
	}
	if (literal) {
		mime_buf_printf(out, "{%zu}\r\n", len - nuls);
		for (i = 0; i < len; i++) {
			if (p[i] != '\0')
				mime_buf_append_c(out, (char)p[i]);
		}
		return;
	}
	mime_buf_append_c(out, '"');
	for (i = 0; i < len; i++) {
		if (p[i] == '"' || p[i] == '\\')
			mime_buf_append_c(out, '\\');
		if (p[i] != '\0')
			mime_buf_append_c(out, (char)p[i]);
	}
	mime_buf_append_c(out, '"');
}

void imap_envelope_nstring(struct mime_buf *out, const char *s)
{
	if (s == NULL)
		mime_buf_append_str(out, "NIL");
	else
		imap_envelope_string(out, (const uint8_t *)s, strlen(s));
}

static void write_address(struct mime_buf *out, const struct mime_address *ad)
{
	mime_buf_append_c(out, '(');
	switch (ad->kind) {
	case MIME_ADDR_GROUP_START:
		mime_buf_append_str(out, "NIL NIL ");
		imap_envelope_nstring(out, ad->name != NULL ? ad->name : "");
		mime_buf_append_str(out, " NIL");
		break;
	case MIME_ADDR_GROUP_END:
		mime_buf_append_str(out, "NIL NIL NIL NIL");
		break;
	default:
		imap_envelope_nstring(out, ad->name);
		mime_buf_append_c(out, ' ');
		imap_envelope_nstring(out, ad->route);
		mime_buf_append_c(out, ' ');
		imap_envelope_nstring(out, ad->mailbox != NULL ? ad->mailbox : "MISSING_MAILBOX");
		mime_buf_append_c(out, ' ');
		imap_envelope_nstring(out, ad->host != NULL ? ad->host : "MISSING_DOMAIN");
		break;
	}
	mime_buf_append_c(out, ')');
}

/* An address list; false (nothing written) when the field holds no address. */
static bool write_addresses(struct mime_buf *out, const struct mime_field *f)
{
	struct mime_arena a = MIME_ARENA_INIT;
	struct mime_address *list, *ad;

	if (mime_address_parse(&a, f->value, f->value_len, &list) == 0) {
		mime_arena_free(&a);
		return false;
	}
	mime_buf_append_c(out, '(');
	for (ad = list; ad != NULL; ad = ad->next)
		write_address(out, ad);
	mime_buf_append_c(out, ')');
	mime_arena_free(&a);
	return true;
}

static void write_text(struct mime_buf *out, const struct mime_field *f)
{
	struct mime_arena a = MIME_ARENA_INIT;

	imap_envelope_nstring(out, mime_field_value(&a, f));
	mime_arena_free(&a);
}

void imap_envelope_write(struct mime_buf *out, const uint8_t *hdr, size_t len)
{
	struct mime_field fields[ENV_COUNT];
	bool have[ENV_COUNT] = {false};
	struct mime_header_iter it;
	struct mime_field f;
	unsigned e;

	mime_header_iter_init(&it, hdr, len);
	while (mime_header_next(&it, &f)) {
		for (e = 0; e < ENV_COUNT; e++) {
			if (!have[e] && mime_field_is(&f, env_names[e])) {
				fields[e] = f;
				have[e] = true;
			}
		}
	}
	mime_buf_append_c(out, '(');
	for (e = 0; e < ENV_COUNT; e++) {
		const struct mime_field *src = have[e] ? &fields[e] : NULL;

		if (e > 0)
			mime_buf_append_c(out, ' ');
		if (!env_is_address(e)) {
			if (src != NULL)
				write_text(out, src);
			else
				mime_buf_append_str(out, "NIL");
			continue;
		}
		if (src != NULL && write_addresses(out, src))
			continue;
		/* RFC 3501 7.4.2: absent or empty Sender and Reply-To are From */
		if ((e == ENV_SENDER || e == ENV_REPLY_TO) && have[ENV_FROM] &&
		    write_addresses(out, &fields[ENV_FROM]))
			continue;
		mime_buf_append_str(out, "NIL");
	}
	mime_buf_append_c(out, ')');
}
