#include <strings.h>

#include "mime_decode.h"

/* RFC 4648 4: the value of each base64 character, -1 for others. */
static int b64_value(uint8_t c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

void mime_b64_init(struct mime_b64 *d)
{
	*d = (struct mime_b64){0};
}

static bool is_b64_ignorable(uint8_t c)
{
	return c == '\r' || c == '\n' || c == ' ' || c == '\t';
}

size_t mime_b64_decode(struct mime_b64 *d, const uint8_t *in, size_t len, uint8_t *out)
{
	size_t i, n = 0;

	for (i = 0; i < len; i++) {
		int v = b64_value(in[i]);

		if (v < 0) {
			if (in[i] == '=') {
				n += mime_b64_finish(d, out + n);
			} else if (!is_b64_ignorable(in[i])) {
				d->flags |= MIME_DECODE_INVALID;
			}
			continue;
		}
		d->acc = d->acc << 6 | (uint32_t)v;
		if (++d->n == 4) {
			out[n++] = (uint8_t)(d->acc >> 16);
			out[n++] = (uint8_t)(d->acc >> 8);
			out[n++] = (uint8_t)d->acc;
			d->acc = 0;
			d->n = 0;
		}
	}
	return n;
}

size_t mime_b64_finish(struct mime_b64 *d, uint8_t *out)
{
	size_t n = 0;

	/* two characters carry one octet, three carry two; one alone carries nothing whole */
	if (d->n == 2) {
		out[n++] = (uint8_t)(d->acc >> 4);
	} else if (d->n == 3) {
		out[n++] = (uint8_t)(d->acc >> 10);
		out[n++] = (uint8_t)(d->acc >> 2);
	} else if (d->n == 1) {
		d->flags |= MIME_DECODE_INVALID;
	}
	d->acc = 0;
	d->n = 0;
	return n;
}

enum qp_state {
	QP_TEXT,
	QP_EQ,     /* after "=" */
	QP_EQ_HEX, /* after "=" and one hex digit */
	QP_EQ_WS,  /* after "=" and blanks (transport padding before a soft line break) */
	QP_EQ_CR,  /* after "=" [blanks] CR */
};

void mime_qp_init(struct mime_qp *d)
{
	*d = (struct mime_qp){.state = QP_TEXT};
}

static int hex_value(uint8_t c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c |= 0x20;
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

static size_t qp_flush_held(struct mime_qp *d, uint8_t *out)
{
	size_t i, n = d->nheld;

	for (i = 0; i < n; i++)
		out[i] = d->held[i];
	d->nheld = 0;
	return n;
}

static size_t qp_text(struct mime_qp *d, uint8_t c, uint8_t *out)
{
	size_t n = 0;

	if (c == ' ' || c == '\t') {
		if (d->nheld == MIME_QP_HOLD_MAX)
			n = qp_flush_held(d, out);
		d->held[d->nheld++] = c;
		return n;
	}
	if (c == '\r' || c == '\n') {
		/* RFC 2045 6.7 rule 3: blanks at the end of an encoded line are not data */
		d->nheld = 0;
		out[0] = c;
		return 1;
	}
	n = qp_flush_held(d, out);
	if (c == '=') {
		d->state = QP_EQ;
		return n;
	}
	out[n++] = c;
	return n;
}

/* "=" and what was held after it were no escape: pass them on, then c as text. */
static size_t qp_not_escape(struct mime_qp *d, uint8_t c, uint8_t *out)
{
	size_t n = 0;

	d->flags |= MIME_DECODE_INVALID;
	out[n++] = '=';
	if (d->state == QP_EQ_HEX)
		out[n++] = d->hex;
	if (d->state == QP_EQ_WS)
		n += qp_flush_held(d, out + n);
	d->state = QP_TEXT;
	return n + qp_text(d, c, out + n);
}

static size_t qp_byte(struct mime_qp *d, uint8_t c, uint8_t *out)
{
	switch (d->state) {
	case QP_EQ:
		if (hex_value(c) >= 0) {
			d->hex = c;
			d->state = QP_EQ_HEX;
		} else if (c == '\r' || c == '\n') {
			d->state = c == '\r' ? QP_EQ_CR : QP_TEXT;
		} else if (c == ' ' || c == '\t') {
			d->held[0] = c;
			d->nheld = 1;
			d->state = QP_EQ_WS;
		} else {
			return qp_not_escape(d, c, out);
		}
		return 0;
	case QP_EQ_HEX:
		if (hex_value(c) < 0)
			return qp_not_escape(d, c, out);
		out[0] = (uint8_t)(hex_value(d->hex) << 4 | hex_value(c));
		d->state = QP_TEXT;
		return 1;
	case QP_EQ_WS:
		if (c == ' ' || c == '\t') {
			if (d->nheld < MIME_QP_HOLD_MAX)
				d->held[d->nheld++] = c;
			return 0;
		}
		if (c != '\r' && c != '\n')
			return qp_not_escape(d, c, out);
		d->nheld = 0;
		d->state = c == '\r' ? QP_EQ_CR : QP_TEXT;
		return 0;
	case QP_EQ_CR:
		d->state = QP_TEXT;
		if (c == '\n')
			return 0;
		/* "=" CR without LF: taken as a soft line break all the same */
		d->flags |= MIME_DECODE_INVALID;
		return qp_text(d, c, out);
	default:
		return qp_text(d, c, out);
	}
}

size_t mime_qp_decode(struct mime_qp *d, const uint8_t *in, size_t len, uint8_t *out)
{
	size_t i, n = 0;

	for (i = 0; i < len; i++)
		n += qp_byte(d, in[i], out + n);
	return n;
}

size_t mime_qp_finish(struct mime_qp *d, uint8_t *out)
{
	size_t n = 0;

	/* a final "=" alone is a soft line break whose line end was lost */
	if (d->state == QP_EQ_HEX) {
		d->flags |= MIME_DECODE_INVALID;
		out[n++] = '=';
		out[n++] = d->hex;
	}
	d->nheld = 0;
	d->state = QP_TEXT;
	return n;
}

enum mime_cte mime_cte_from_name(const char *name)
{
	if (name == NULL || name[0] == '\0' || strcasecmp(name, "7bit") == 0 ||
	    strcasecmp(name, "8bit") == 0 || strcasecmp(name, "binary") == 0)
		return MIME_CTE_IDENTITY;
	if (strcasecmp(name, "base64") == 0)
		return MIME_CTE_BASE64;
	if (strcasecmp(name, "quoted-printable") == 0)
		return MIME_CTE_QP;
	return MIME_CTE_UNKNOWN;
}

void mime_decoder_init(struct mime_decoder *d, enum mime_cte cte)
{
	d->cte = cte;
	if (cte == MIME_CTE_BASE64)
		mime_b64_init(&d->u.b64);
	else
		mime_qp_init(&d->u.qp);
}

size_t mime_decoder_feed(struct mime_decoder *d, const uint8_t *in, size_t len, uint8_t *out)
{
	size_t i;

	switch (d->cte) {
	case MIME_CTE_BASE64:
		return mime_b64_decode(&d->u.b64, in, len, out);
	case MIME_CTE_QP:
		return mime_qp_decode(&d->u.qp, in, len, out);
	default:
		for (i = 0; i < len; i++)
			out[i] = in[i];
		return len;
	}
}

size_t mime_decoder_finish(struct mime_decoder *d, uint8_t *out)
{
	if (d->cte == MIME_CTE_BASE64)
		return mime_b64_finish(&d->u.b64, out);
	if (d->cte == MIME_CTE_QP)
		return mime_qp_finish(&d->u.qp, out);
	return 0;
}

unsigned mime_decoder_flags(const struct mime_decoder *d)
{
	if (d->cte == MIME_CTE_BASE64)
		return d->u.b64.flags;
	if (d->cte == MIME_CTE_QP)
		return d->u.qp.flags;
	return 0;
}
