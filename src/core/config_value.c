#include <arpa/inet.h>
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config.h"

#define KIB 1024ull
#define MIB (1024 * KIB)
#define GIB (1024 * MIB)

#define MSEC_SECOND 1000ull
#define MSEC_MINUTE (60 * MSEC_SECOND)
#define MSEC_HOUR (60 * MSEC_MINUTE)
#define MSEC_DAY (24 * MSEC_HOUR)

/* Longest part of the user's text quoted back in a message. */
#define QUOTE_MAX 100
/* Largest buffer tried for one getpwnam_r()/getgrnam_r() answer. */
#define ACCOUNT_BUF_MAX (1024 * 1024)

struct unit {
	const char *suffix;
	uint64_t factor;
};

static const struct unit size_units[] = {
    {"", 1}, {"K", KIB}, {"k", KIB}, {"M", MIB}, {"m", MIB}, {"G", GIB}, {"g", GIB}, {NULL, 0},
};

static const struct unit duration_units[] = {
    {"", MSEC_SECOND}, {"ms", 1},       {"s", MSEC_SECOND}, {"m", MSEC_MINUTE},
    {"h", MSEC_HOUR},  {"d", MSEC_DAY}, {NULL, 0},
};

static void set_error(char *error, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void set_error(char *error, const char *fmt, ...)
{
	va_list args;

	va_start(args, fmt);
	vsnprintf(error, CONFIG_ERROR_MAX, fmt, args);
	va_end(args);
}

/* Reads the decimal digits at *p into *value_r and moves *p past them.
   Returns 1, 0 if there is no digit, -1 if the number does not fit. */
static int read_decimal(const char **p, uint64_t *value_r)
{
	const char *s = *p;
	uint64_t value = 0;

	if (*s < '0' || *s > '9')
		return 0;
	for (; *s >= '0' && *s <= '9'; s++) {
		unsigned digit = (unsigned)(*s - '0');
		if (value > (UINT64_MAX - digit) / 10)
			return -1;
		value = value * 10 + digit;
	}
	*p = s;
	*value_r = value;
	return 1;
}

/* A number followed by one of units' suffixes, multiplied by that unit's factor.
   Returns 1, 0 if malformed, -1 if the result does not fit. */
static int read_with_unit(const char *text, const struct unit *units, uint64_t *value_r)
{
	const char *p = text;
	uint64_t number;
	int ret = read_decimal(&p, &number);

	if (ret <= 0)
		return ret;
	for (; units->suffix != NULL; units++) {
		if (strcmp(p, units->suffix) != 0)
			continue;
		if (number > UINT64_MAX / units->factor)
			return -1;
		*value_r = number * units->factor;
		return 1;
	}
	return 0;
}

int config_parse_bool(const char *text, bool *value_r, char error[static CONFIG_ERROR_MAX])
{
	static const char *const yes[] = {"yes", "true", "on"};
	static const char *const no[] = {"no", "false", "off"};

	for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		if (strcasecmp(text, yes[i]) == 0) {
			*value_r = true;
			return 0;
		}
		if (strcasecmp(text, no[i]) == 0) {
			*value_r = false;
			return 0;
		}
	}
	set_error(error, "invalid boolean '%.*s' (use yes or no)", QUOTE_MAX, text);
	return -1;
}

int config_parse_uint(const char *text, uint64_t *value_r, char error[static CONFIG_ERROR_MAX])
{
	const char *p = text;
	int ret = read_decimal(&p, value_r);

	if (ret < 0) {
		set_error(error, "number too large '%.*s'", QUOTE_MAX, text);
		return -1;
	}
	if (ret == 0 || *p != '\0') {
		set_error(error, "invalid number '%.*s'", QUOTE_MAX, text);
		return -1;
	}
	return 0;
}

int config_parse_size(const char *text, uint64_t *bytes_r, char error[static CONFIG_ERROR_MAX])
{
	int ret = read_with_unit(text, size_units, bytes_r);

	if (ret < 0) {
		set_error(error, "size too large '%.*s'", QUOTE_MAX, text);
		return -1;
	}
	if (ret == 0) {
		set_error(error, "invalid size '%.*s' (use a number with K, M or G)", QUOTE_MAX,
		          text);
		return -1;
	}
	return 0;
}

int config_parse_duration(const char *text, uint64_t *msecs_r, char error[static CONFIG_ERROR_MAX])
{
	int ret = read_with_unit(text, duration_units, msecs_r);

	if (ret < 0) {
		set_error(error, "duration too long '%.*s'", QUOTE_MAX, text);
		return -1;
	}
	if (ret == 0) {
		set_error(error, "invalid duration '%.*s' (use a number with ms, s, m, h or d)",
		          QUOTE_MAX, text);
		return -1;
	}
	return 0;
}

static bool is_host_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '.' || c == '-' || c == '_';
}

/* A host name or IPv4 address: "mx.example.org", "192.0.2.1". */
static bool listen_host_valid(const char *host, size_t len)
{
	if (len == 0 || len >= sizeof(((struct config_listen *)NULL)->host))
		return false;
	for (size_t i = 0; i < len; i++) {
		if (!is_host_char(host[i]))
			return false;
	}
	return true;
}

/* The inside of "[...]": an IPv6 address, optionally with a "%zone". */
static bool listen_ipv6_valid(const char *host, size_t len)
{
	char addr[INET6_ADDRSTRLEN];
	struct in6_addr in6;
	const char *zone = memchr(host, '%', len);
	size_t addr_len = zone != NULL ? (size_t)(zone - host) : len;

	if (addr_len == 0 || addr_len >= sizeof(addr))
		return false;
	if (zone != NULL && !listen_host_valid(zone + 1, len - addr_len - 1))
		return false;
	memcpy(addr, host, addr_len);
	addr[addr_len] = '\0';
	return inet_pton(AF_INET6, addr, &in6) == 1;
}

static int listen_port_parse(const char *port, size_t len, uint16_t *port_r)
{
	unsigned value = 0;

	if (len == 0 || len > 5)
		return -1;
	for (size_t i = 0; i < len; i++) {
		if (port[i] < '0' || port[i] > '9')
			return -1;
		value = value * 10 + (unsigned)(port[i] - '0');
	}
	if (value == 0 || value > 65535)
		return -1;
	*port_r = (uint16_t)value;
	return 0;
}

static const char *last_colon(const char *s, size_t len)
{
	while (len > 0) {
		if (s[--len] == ':')
			return s + len;
	}
	return NULL;
}

/* Splits one "host:port", "[v6]:port" or "*:port" into its host and port text. */
static int listen_split(const char *item, size_t len, const char **host_r, size_t *host_len_r,
                        const char **port_r, char error[static CONFIG_ERROR_MAX])
{
	const char *colon;

	if (item[0] == '[') {
		const char *close = memchr(item, ']', len);
		if (close == NULL || (close + 1 < item + len && close[1] != ':') ||
		    !listen_ipv6_valid(item + 1, (size_t)(close - item - 1))) {
			set_error(error, "invalid address '%.*s'", (int)len, item);
			return -1;
		}
		*host_r = item + 1;
		*host_len_r = (size_t)(close - item - 1);
		colon = close + 1 < item + len ? close + 1 : NULL;
	} else {
		colon = last_colon(item, len);
		*host_r = item;
		*host_len_r = colon != NULL ? (size_t)(colon - item) : 0;
		if (colon != NULL && !(*host_len_r == 1 && item[0] == '*') &&
		    !listen_host_valid(item, *host_len_r)) {
			set_error(error, "invalid address '%.*s'", (int)len, item);
			return -1;
		}
	}
	if (colon == NULL || colon + 1 == item + len) {
		set_error(error, "missing port in '%.*s'", (int)len, item);
		return -1;
	}
	*port_r = colon + 1;
	return 0;
}

static int listen_item_parse(const char *item, size_t len, struct config_listen *out,
                             char error[static CONFIG_ERROR_MAX])
{
	const char *host, *port;
	size_t host_len, port_len;

	if (len > QUOTE_MAX) {
		set_error(error, "address too long '%.*s'", QUOTE_MAX, item);
		return -1;
	}
	if (listen_split(item, len, &host, &host_len, &port, error) < 0)
		return -1;
	port_len = (size_t)(item + len - port);
	if (listen_port_parse(port, port_len, &out->port) < 0) {
		set_error(error, "invalid port '%.*s'", (int)port_len, port);
		return -1;
	}
	if (host_len == 1 && host[0] == '*')
		host_len = 0;
	memcpy(out->host, host, host_len);
	out->host[host_len] = '\0';
	return 0;
}

int config_parse_listen(const char *text, struct config_listen out[static CONFIG_LISTEN_MAX],
                        size_t *count_r, char error[static CONFIG_ERROR_MAX])
{
	static const char separators[] = ", \t";
	const char *p = text + strspn(text, separators);
	size_t count = 0;

	while (*p != '\0') {
		size_t len = strcspn(p, separators);
		if (count == CONFIG_LISTEN_MAX) {
			set_error(error, "too many addresses (max %d)", CONFIG_LISTEN_MAX);
			return -1;
		}
		if (listen_item_parse(p, len, &out[count], error) < 0)
			return -1;
		count++;
		p += len;
		p += strspn(p, separators);
	}
	*count_r = count;
	return 0;
}

/* getpwnam_r() and getgrnam_r() may also report "not found" as one of these. */
static bool is_not_found(int ret)
{
	return ret == 0 || ret == ENOENT || ret == ESRCH || ret == EBADF || ret == EPERM;
}

static int account_check(bool group, const char *name, char error[static CONFIG_ERROR_MAX])
{
	const char *what = group ? "group" : "user";
	size_t size = 4096;
	bool found;
	int ret;

	for (;;) {
		struct passwd pw, *pw_r = NULL;
		struct group gr, *gr_r = NULL;
		char *buf = malloc(size);
		if (buf == NULL) {
			fputs("maild: config: out of memory\n", stderr);
			abort();
		}
		ret = group ? getgrnam_r(name, &gr, buf, size, &gr_r)
		            : getpwnam_r(name, &pw, buf, size, &pw_r);
		found = pw_r != NULL || gr_r != NULL;
		free(buf);
		if (ret != ERANGE || size >= ACCOUNT_BUF_MAX)
			break;
		size *= 2;
	}
	if (found)
		return 0;
	if (is_not_found(ret))
		set_error(error, "unknown %s '%.*s'", what, QUOTE_MAX, name);
	else
		set_error(error, "cannot look up %s '%.*s': %s", what, QUOTE_MAX, name,
		          strerror(ret));
	return -1;
}

int config_check_user(const char *name, char error[static CONFIG_ERROR_MAX])
{
	return account_check(false, name, error);
}

int config_check_group(const char *name, char error[static CONFIG_ERROR_MAX])
{
	return account_check(true, name, error);
}

/* The largest unit that divides value exactly; units[] are ordered from the largest. */
static void format_with_unit(uint64_t value, const struct unit *units, size_t count,
                             char buf[static CONFIG_NUMBER_MAX])
{
	for (size_t i = 0; i < count; i++) {
		if (value != 0 && value % units[i].factor == 0) {
			snprintf(buf, CONFIG_NUMBER_MAX, "%llu%s",
			         (unsigned long long)(value / units[i].factor), units[i].suffix);
			return;
		}
	}
	snprintf(buf, CONFIG_NUMBER_MAX, "%llu%s", (unsigned long long)value,
	         units[count - 1].suffix);
}

void config_format_size(uint64_t bytes, char buf[static CONFIG_NUMBER_MAX])
{
	static const struct unit units[] = {{"G", GIB}, {"M", MIB}, {"K", KIB}, {"", 1}};

	format_with_unit(bytes, units, sizeof(units) / sizeof(units[0]), buf);
}

void config_format_duration(uint64_t msecs, char buf[static CONFIG_NUMBER_MAX])
{
	static const struct unit units[] = {
	    {"d", MSEC_DAY}, {"h", MSEC_HOUR}, {"m", MSEC_MINUTE}, {"s", MSEC_SECOND}, {"ms", 1},
	};

	format_with_unit(msecs, units, sizeof(units) / sizeof(units[0]), buf);
}
