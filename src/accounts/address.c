#include <arpa/inet.h>
#include <stdint.h>
#include <string.h>

#include "../core/utf8.h"
#include "address.h"

/* RFC 1035 2.3.4 */
#define ADDRESS_LABEL_MAX 63

/* Which forms a caller accepts. */
struct address_rules {
	bool utf8;
	bool quoted;
	bool literal;
	bool catchall;
	bool trailing_dot;
};

static int address_fail(const char **error_r, const char *error)
{
	*error_r = error;
	return -1;
}

static bool ascii_alpha(uint8_t c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool ascii_digit(uint8_t c)
{
	return c >= '0' && c <= '9';
}

static char ascii_lower(char c)
{
	return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

/* Whether p starts with prefix (lowercase) in any ASCII case. */
static bool ascii_has_prefix(const uint8_t *p, size_t len, const char *prefix)
{
	size_t n = strlen(prefix);

	if (len < n)
		return false;
	for (size_t i = 0; i < n; i++) {
		if (ascii_lower((char)p[i]) != prefix[i])
			return false;
	}
	return true;
}

/* RFC 5322 3.2.3 atext, without the UTF-8 that RFC 6531 adds. */
static bool ascii_atext(uint8_t c)
{
	return ascii_alpha(c) || ascii_digit(c) ||
	       (c != '\0' && strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL);
}

/* Length of the well-formed UTF-8 sequence at p (RFC 3629 section 4, Unicode table 3-7), or 0
   for anything else: a stray continuation byte, overlong forms (C0, C1, E0 80..9F,
   F0 80..8F), surrogates (ED A0..BF), values past U+10FFFF (F4 90.., F5..FF) and sequences cut
   short by the end of the input or by an ASCII byte. */
/* One non-ASCII character at p: its length, or 0 with *error_r set. The two messages say
   where it was found. */
static size_t address_nonascii(const uint8_t *p, size_t avail, bool utf8, const char *refused,
                               const char *malformed, const char **error_r)
{
	size_t n;

	if (!utf8) {
		*error_r = refused;
		return 0;
	}
	n = utf8_char_len(p, avail);
	if (n == 0)
		*error_r = malformed;
	return n;
}

/* RFC 5321 4.1.2: Dot-string = Atom *("." Atom), Atom = 1*atext; RFC 6531 3.3 adds
   UTF8-non-ascii to atext. Scans up to the first '@' or the end; *end_r is where it stopped. */
static int address_dot_string(const uint8_t *p, size_t len, bool utf8, size_t *end_r,
                              const char **error_r)
{
	bool after_dot = true; /* a dot first is as wrong as a dot after a dot */
	size_t i = 0, n;

	while (i < len && p[i] != '@') {
		if (i >= ADDRESS_LOCAL_MAX)
			return address_fail(error_r, "local part too long");
		if (p[i] == '.') {
			if (after_dot)
				return address_fail(error_r,
				                    i == 0 ? "local part starts with a dot"
				                           : "two dots in a row in local part");
			after_dot = true;
			i++;
			continue;
		}
		after_dot = false;
		if (p[i] < 0x80) {
			if (!ascii_atext(p[i]))
				return address_fail(error_r, "invalid character in local part");
			i++;
			continue;
		}
		n = address_nonascii(p + i, len - i, utf8, "non-ASCII character in local part",
		                     "invalid UTF-8 in local part", error_r);
		if (n == 0)
			return -1;
		i += n;
	}
	if (i > ADDRESS_LOCAL_MAX)
		return address_fail(error_r, "local part too long");
	if (i == 0)
		return address_fail(error_r, "empty local part");
	if (after_dot)
		return address_fail(error_r, "local part ends with a dot");
	*end_r = i;
	return 0;
}

/* Whether content (already known to be valid qtext) could be written without quotes. */
static bool address_is_dot_string(const char *content, size_t len)
{
	const char *error;
	size_t end;

	return address_dot_string((const uint8_t *)content, len, true, &end, &error) == 0 &&
	       end == len;
}

/* The canonical form of a quoted local part's content: bare when it is a Dot-string, else
   quoted with a backslash only before '"' and '\' (RFC 5321 4.1.2: "the form that uses the
   minimum quoting possible"). Never longer than the quoted form it came from. */
static void address_quote(const char *content, size_t len, char *out)
{
	size_t o = 0;

	if (address_is_dot_string(content, len)) {
		memcpy(out, content, len);
		out[len] = '\0';
		return;
	}
	out[o++] = '"';
	for (size_t i = 0; i < len; i++) {
		if (content[i] == '"' || content[i] == '\\')
			out[o++] = '\\';
		out[o++] = content[i];
	}
	out[o++] = '"';
	out[o] = '\0';
}

/* RFC 5321 4.1.2: Quoted-string = DQUOTE *QcontentSMTP DQUOTE, qtextSMTP = %d32-33 /
   %d35-91 / %d93-126, quoted-pairSMTP = %d92 %d32-126; RFC 6531 3.3 adds UTF8-non-ascii to
   qtextSMTP. p[0] is the opening quote. The limit of 64 octets counts the quotes. */
static int address_quoted(const uint8_t *p, size_t len, bool utf8, char *local, size_t *end_r,
                          const char **error_r)
{
	char content[ADDRESS_LOCAL_MAX];
	size_t i = 1, clen = 0, n;

	for (;;) {
		if (i >= len)
			return address_fail(error_r, "unterminated quoted local part");
		if (i >= ADDRESS_LOCAL_MAX)
			return address_fail(error_r, "local part too long");
		if (p[i] == '"')
			break;
		if (p[i] == '\\') {
			if (i + 1 >= len || p[i + 1] < 32 || p[i + 1] > 126)
				return address_fail(error_r, "invalid quoted pair in local part");
			content[clen++] = (char)p[i + 1];
			i += 2;
		} else if (p[i] >= 32 && p[i] <= 126) {
			content[clen++] = (char)p[i++];
		} else if (p[i] < 0x80) {
			return address_fail(error_r, "invalid character in local part");
		} else {
			n = address_nonascii(p + i, len - i, utf8,
			                     "non-ASCII character in local part",
			                     "invalid UTF-8 in local part", error_r);
			if (n == 0)
				return -1;
			/* i + n <= len, and the length check above keeps clen + n below 64 */
			if (i + n > ADDRESS_LOCAL_MAX)
				return address_fail(error_r, "local part too long");
			memcpy(content + clen, p + i, n);
			clen += n;
			i += n;
		}
	}
	address_quote(content, clen, local);
	*end_r = i + 1;
	return 0;
}

/* RFC 5321 4.1.3: IPv4-address-literal = Snum 3("." Snum), Snum = 1*3DIGIT (0-255). */
static bool address_ipv4_literal(const uint8_t *p, size_t len)
{
	size_t i = 0;

	for (int part = 0; part < 4; part++) {
		unsigned value = 0, digits = 0;

		if (part > 0 && (i >= len || p[i++] != '.'))
			return false;
		while (i < len && ascii_digit(p[i]) && digits < 3) {
			value = value * 10 + (unsigned)(p[i++] - '0');
			digits++;
		}
		if (digits == 0 || value > 255)
			return false;
	}
	return i == len;
}

/* RFC 5321 4.1.3: IPv6-address-literal = "IPv6:" IPv6-addr; inet_pton() takes the same full,
   compressed and IPv4-tailed forms. */
static bool address_ipv6_literal(const uint8_t *p, size_t len)
{
	char text[INET6_ADDRSTRLEN];
	struct in6_addr in6;

	if (len >= sizeof(text) || memchr(p, '\0', len) != NULL)
		return false;
	memcpy(text, p, len);
	text[len] = '\0';
	return inet_pton(AF_INET6, text, &in6) == 1;
}

/* address-literal = "[" ( IPv4-address-literal / IPv6-address-literal /
   General-address-literal ) "]". p[0] is '['. */
static int address_literal(const uint8_t *p, size_t len, const char **error_r)
{
	const uint8_t *in = p + 1;
	size_t n;

	if (len < 3 || p[len - 1] != ']')
		return address_fail(error_r, "invalid address literal");
	n = len - 2;
	/* RFC 5321 4.1.2: ABNF strings such as the tag are case-insensitive */
	if (ascii_has_prefix(in, n, "ipv6:")) {
		if (!address_ipv6_literal(in + 5, n - 5))
			return address_fail(error_r, "invalid IPv6 address literal");
		return 0;
	}
	if (address_ipv4_literal(in, n))
		return 0;
	if (memchr(in, ':', n) != NULL)
		return address_fail(error_r, "unsupported address literal");
	return address_fail(error_r, "invalid address literal");
}

/* One label of RFC 5321 4.1.2 sub-domain = Let-dig [Ldh-str] (RFC 6531 3.3 adds U-labels,
   checked here only as well-formed UTF-8). */
static int address_label(const uint8_t *p, size_t len, bool utf8, const char **error_r)
{
	size_t i = 0, n;

	if (len == 0)
		return address_fail(error_r, "empty label in domain");
	if (len > ADDRESS_LABEL_MAX)
		return address_fail(error_r, "domain label too long");
	if (p[0] == '-' || p[len - 1] == '-')
		return address_fail(error_r, "domain label starts or ends with a hyphen");
	while (i < len) {
		if (p[i] < 0x80) {
			if (!ascii_alpha(p[i]) && !ascii_digit(p[i]) && p[i] != '-')
				return address_fail(error_r, "invalid character in domain");
			i++;
			continue;
		}
		n = address_nonascii(p + i, len - i, utf8, "non-ASCII character in domain",
		                     "invalid UTF-8 in domain", error_r);
		if (n == 0)
			return -1;
		i += n;
	}
	return 0;
}

/* The domain part: checked, then copied lowercased into out (ADDRESS_DOMAIN_MAX + 1). */
static int address_domain(const uint8_t *p, size_t len, const struct address_rules *rules,
                          char *out, const char **error_r)
{
	size_t start = 0;

	if (len == 0)
		return address_fail(error_r, "empty domain");
	if (memchr(p, '@', len) != NULL)
		return address_fail(error_r, "more than one @");
	if (p[0] == '[') {
		if (!rules->literal)
			return address_fail(error_r, "address literal not allowed");
		if (address_literal(p, len, error_r) < 0)
			return -1;
	} else {
		/* RFC 1034 3.1: a trailing dot names the root; "example.org." is "example.org". */
		if (p[len - 1] == '.') {
			if (!rules->trailing_dot)
				return address_fail(error_r, "domain ends with a dot");
			len--;
		}
		if (len == 0)
			return address_fail(error_r, "empty domain");
		for (size_t i = 0; i <= len; i++) {
			if (i < len && p[i] != '.')
				continue;
			if (address_label(p + start, i - start, rules->utf8, error_r) < 0)
				return -1;
			start = i + 1;
		}
	}
	if (len > ADDRESS_DOMAIN_MAX)
		return address_fail(error_r, "domain too long");
	for (size_t i = 0; i < len; i++)
		out[i] = ascii_lower((char)p[i]);
	out[len] = '\0';
	return 0;
}

static int address_local(const uint8_t *p, size_t len, const struct address_rules *rules,
                         char *local, size_t *end_r, const char **error_r)
{
	if (p[0] == '"') {
		if (!rules->quoted)
			return address_fail(error_r, "quoted local part not allowed");
		return address_quoted(p, len, rules->utf8, local, end_r, error_r);
	}
	if (p[0] == '@' && rules->catchall) {
		local[0] = '\0';
		*end_r = 0;
		return 0;
	}
	if (address_dot_string(p, len, rules->utf8, end_r, error_r) < 0)
		return -1;
	memcpy(local, p, *end_r);
	local[*end_r] = '\0';
	return 0;
}

static int address_parse_rules(const uint8_t *p, size_t len, const struct address_rules *rules,
                               struct address *addr_r, const char **error_r)
{
	struct address addr;
	size_t end;

	if (len == 0)
		return address_fail(error_r, "empty address");
	if (address_local(p, len, rules, addr.local, &end, error_r) < 0)
		return -1;
	if (end == len)
		return address_fail(error_r, "missing @");
	if (p[end] != '@')
		return address_fail(error_r, "invalid character after quoted local part");
	if (address_domain(p + end + 1, len - end - 1, rules, addr.domain, error_r) < 0)
		return -1;
	*addr_r = addr;
	return 0;
}

int address_parse(const char *text, size_t len, bool allow_utf8, struct address *addr_r,
                  const char **error_r)
{
	const struct address_rules rules = {
	    .utf8 = allow_utf8,
	    .quoted = true,
	    .literal = true,
	    .trailing_dot = true,
	};

	return address_parse_rules((const uint8_t *)text, len, &rules, addr_r, error_r);
}

int address_parse_mailbox(const char *text, bool allow_catchall, struct address *addr_r,
                          const char **error_r)
{
	const struct address_rules rules = {
	    .utf8 = true,
	    .catchall = allow_catchall,
	    .trailing_dot = true,
	};

	return address_parse_rules((const uint8_t *)text, strlen(text), &rules, addr_r, error_r);
}

int address_domain_valid(const char *domain, const char **error_r)
{
	const struct address_rules rules = {.utf8 = true};
	char out[ADDRESS_DOMAIN_MAX + 1];

	return address_domain((const uint8_t *)domain, strlen(domain), &rules, out, error_r);
}

int address_format(const struct address *addr, char *out, size_t size)
{
	size_t llen = strlen(addr->local), dlen = strlen(addr->domain);

	if (size == 0)
		return -1;
	if (llen + 1 + dlen >= size) {
		out[0] = '\0';
		return -1;
	}
	memcpy(out, addr->local, llen);
	out[llen] = '@';
	memcpy(out + llen + 1, addr->domain, dlen + 1);
	return 0;
}

static bool ascii_caseeq(const char *a, const char *b)
{
	for (; *a != '\0' && ascii_lower(*a) == ascii_lower(*b); a++, b++)
		;
	return *a == '\0' && *b == '\0';
}

bool address_equal(const struct address *a, const struct address *b)
{
	return ascii_caseeq(a->local, b->local) && strcmp(a->domain, b->domain) == 0;
}

bool address_is_postmaster(const struct address *addr)
{
	return ascii_caseeq(addr->local, "postmaster");
}
