#include <string.h>
#include <strings.h>

#include "imap_bodystructure.h"
#include "imap_envelope.h"

/* What Dovecot writes where the grammar needs a part and there is none. */
static const char empty_part[] =
    "(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 0 0)";
static const char empty_envelope[] = "(NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL)";

static void write_params(struct mime_buf *out, const struct mime_param *params, size_t n)
{
	size_t i;

	if (n == 0) {
		mime_buf_append_str(out, "NIL");
		return;
	}
	mime_buf_append_c(out, '(');
	for (i = 0; i < n; i++) {
		struct mime_buf name = MIME_BUF_INIT;

		mime_buf_append_str(&name, params[i].name);
		if (params[i].extended)
			mime_buf_append_c(&name, '*');
		if (i > 0)
			mime_buf_append_c(out, ' ');
		imap_envelope_string(out, (const uint8_t *)name.p, name.len);
		mime_buf_append_c(out, ' ');
		imap_envelope_nstring(out, params[i].value);
		mime_buf_free(&name);
	}
	mime_buf_append_c(out, ')');
}

/* body-fld-dsp SP body-fld-lang SP body-fld-loc */
static void write_ext_common(struct mime_buf *out, const struct mime_part *part)
{
	size_t i;

	if (part->disposition == NULL) {
		mime_buf_append_str(out, "NIL");
	} else {
		mime_buf_append_c(out, '(');
		imap_envelope_nstring(out, part->disposition);
		mime_buf_append_c(out, ' ');
		write_params(out, part->disp_params, part->disp_nparams);
		mime_buf_append_c(out, ')');
	}
	mime_buf_append_c(out, ' ');
	if (part->nlanguages == 0) {
		mime_buf_append_str(out, "NIL");
	} else {
		mime_buf_append_c(out, '(');
		for (i = 0; i < part->nlanguages; i++) {
			if (i > 0)
				mime_buf_append_c(out, ' ');
			imap_envelope_nstring(out, part->languages[i]);
		}
		mime_buf_append_c(out, ')');
	}
	mime_buf_append_c(out, ' ');
	imap_envelope_nstring(out, part->location);
}

static void write_multipart(struct mime_buf *out, const struct mime_message *m,
                            const struct mime_part *part, bool extended)
{
	const struct mime_part *c;

	if (part->children == NULL)
		mime_buf_append_str(out, empty_part);
	for (c = part->children; c != NULL; c = c->next)
		imap_bodystructure_write_part(out, m, c, extended);
	mime_buf_append_c(out, ' ');
	imap_envelope_nstring(out, part->subtype);
	if (!extended)
		return;
	mime_buf_append_c(out, ' ');
	write_params(out, part->params, part->nparams);
	mime_buf_append_c(out, ' ');
	write_ext_common(out, part);
}

/* The embedded message of a message/rfc822 part: envelope SP body SP lines. */
static void write_embedded(struct mime_buf *out, const struct mime_message *m,
                           const struct mime_part *part, bool extended)
{
	const struct mime_part *inner = part->is_message ? part->children : NULL;

	mime_buf_append_c(out, ' ');
	if (inner != NULL) {
		imap_envelope_write(out, m->buf + inner->header_off, inner->header_len);
		mime_buf_append_c(out, ' ');
		imap_bodystructure_write_part(out, m, inner, extended);
	} else {
		mime_buf_append_str(out, empty_envelope);
		mime_buf_append_c(out, ' ');
		mime_buf_append_str(out, empty_part);
	}
	mime_buf_printf(out, " %zu", part->body_lines);
}

static void write_single(struct mime_buf *out, const struct mime_message *m,
                         const struct mime_part *part, bool extended)
{
	imap_envelope_nstring(out, part->type);
	mime_buf_append_c(out, ' ');
	imap_envelope_nstring(out, part->subtype);
	mime_buf_append_c(out, ' ');
	if (!part->ctype_given && mime_part_is(part, "text", "plain"))
		mime_buf_append_str(out, "(\"charset\" \"us-ascii\")");
	else
		write_params(out, part->params, part->nparams);
	mime_buf_append_c(out, ' ');
	imap_envelope_nstring(out, part->id);
	mime_buf_append_c(out, ' ');
	imap_envelope_nstring(out, part->description);
	mime_buf_append_c(out, ' ');
	imap_envelope_nstring(out, part->encoding != NULL ? part->encoding : "7bit");
	mime_buf_printf(out, " %zu", part->body_len);
	if (strcasecmp(part->type, "text") == 0)
		mime_buf_printf(out, " %zu", part->body_lines);
	else if (mime_part_is(part, "message", "rfc822"))
		write_embedded(out, m, part, extended);
	if (!extended)
		return;
	mime_buf_append_c(out, ' ');
	imap_envelope_nstring(out, part->md5);
	mime_buf_append_c(out, ' ');
	write_ext_common(out, part);
}

void imap_bodystructure_write_part(struct mime_buf *out, const struct mime_message *m,
                                   const struct mime_part *part, bool extended)
{
	mime_buf_append_c(out, '(');
	if (part->is_multipart)
		write_multipart(out, m, part, extended);
	else
		write_single(out, m, part, extended);
	mime_buf_append_c(out, ')');
}

void imap_bodystructure_write(struct mime_buf *out, const struct mime_message *m, bool extended)
{
	imap_bodystructure_write_part(out, m, m->root, extended);
}
