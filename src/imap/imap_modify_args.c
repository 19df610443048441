/* STORE and APPEND arguments (RFC 9051 6.4.6, 6.3.12; RFC 7162 3.1.3): grammar only. */
#include <errno.h>
#include <string.h>
#include <strings.h>

#include "imap_modify_args.h"

/* Digits only, no sign, no leading "+", at most max; "0" alone allowed. */
static int imap_parse_u64(const char *s, size_t len, uint64_t max, uint64_t *v_r)
{
	uint64_t v = 0;

	if (len == 0 || len > 20 || (len > 1 && s[0] == '0'))
		return -1;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		if (v > (max - (uint64_t)(s[i] - '0')) / 10)
			return -1;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	*v_r = v;
	return 0;
}

static int imap_store_modifiers(const struct imap_arg *list, struct imap_store_args *args,
                                const char **error_r)
{
	for (const struct imap_arg *a = list; a != NULL; a = a->next) {
		if (!imap_arg_atom_is(a, "UNCHANGEDSINCE") || args->unchangedsince_set) {
			*error_r = "Unknown or repeated STORE modifier.";
			return -1;
		}
		a = a->next;
		/* RFC 7162 3.1.3: mod-sequence-valzer, 0 allowed */
		if (a == NULL || a->type != IMAP_ARG_ATOM ||
		    imap_parse_u64(a->str, a->len, IMAP_MODSEQ_MAX, &args->unchangedsince) < 0) {
			*error_r = "Invalid UNCHANGEDSINCE value.";
			return -1;
		}
		args->unchangedsince_set = true;
	}
	return 0;
}

static int imap_store_item(const struct imap_arg *a, struct imap_store_args *args)
{
	const char *p;
	size_t len;

	if (a == NULL || a->type != IMAP_ARG_ATOM)
		return -1;
	p = a->str;
	len = a->len;
	args->op = IMAP_STORE_OP_SET;
	if (len > 0 && (p[0] == '+' || p[0] == '-')) {
		args->op = p[0] == '+' ? IMAP_STORE_OP_ADD : IMAP_STORE_OP_REMOVE;
		p++;
		len--;
	}
	if (len == 5 && strncasecmp(p, "FLAGS", 5) == 0) {
		args->silent = false;
		return 0;
	}
	if (len == 12 && strncasecmp(p, "FLAGS.SILENT", 12) == 0) {
		args->silent = true;
		return 0;
	}
	return -1;
}

int imap_store_args_parse(const struct imap_arg *after_set, struct imap_store_args *args_r,
                          const char **error_r)
{
	const struct imap_arg *a = after_set;

	memset(args_r, 0, sizeof(*args_r));
	if (a != NULL && a->type == IMAP_ARG_LIST) {
		if (a->count == 0) {
			*error_r = "Empty STORE modifier list.";
			return -1;
		}
		if (imap_store_modifiers(a->list, args_r, error_r) < 0)
			return -1;
		a = a->next;
	}
	if (imap_store_item(a, args_r) < 0) {
		*error_r = "Expected FLAGS, +FLAGS or -FLAGS.";
		return -1;
	}
	a = a->next;
	if (a == NULL) {
		*error_r = "Missing flags.";
		return -1;
	}
	if (a->type == IMAP_ARG_LIST) {
		if (a->next != NULL) {
			*error_r = "Unexpected argument after the flag list.";
			return -1;
		}
		args_r->flags = a;
		args_r->flags_list = true;
		return 0;
	}
	for (const struct imap_arg *f = a; f != NULL; f = f->next) {
		if (f->type != IMAP_ARG_ATOM) {
			*error_r = "Invalid flag.";
			return -1;
		}
	}
	args_r->flags = a;
	return 0;
}

/* ----- date-time ----- */

static const char imap_months[12][4] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                        "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

static int imap_digits(const char *p, size_t n)
{
	int v = 0;

	for (size_t i = 0; i < n; i++) {
		if (p[i] < '0' || p[i] > '9')
			return -1;
		v = v * 10 + (p[i] - '0');
	}
	return v;
}

static bool imap_leap(int y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int imap_month_days(int y, int m)
{
	static const int days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};

	return m == 1 && imap_leap(y) ? 29 : days[m];
}

/* Days from 1970-01-01 to y-m-d (m 0..11), proleptic Gregorian, y >= 1970. */
static int64_t imap_days_since_epoch(int y, int m, int d)
{
	int64_t days = 0;

	for (int yy = 1970; yy < y; yy++)
		days += imap_leap(yy) ? 366 : 365;
	for (int mm = 0; mm < m; mm++)
		days += imap_month_days(y, mm);
	return days + d - 1;
}

int imap_date_time_parse(const char *str, size_t len, time_t *t_r)
{
	/* "dd-Mon-yyyy hh:mm:ss +zzzz": 26 bytes exactly */
	int day, month = -1, year, hh, mm, ss, zh, zm;
	int64_t t;

	if (str == NULL || len != 26 || str[2] != '-' || str[6] != '-' || str[11] != ' ' ||
	    str[14] != ':' || str[17] != ':' || str[20] != ' ' ||
	    (str[21] != '+' && str[21] != '-'))
		return -1;
	day = str[0] == ' ' ? imap_digits(str + 1, 1) : imap_digits(str, 2);
	for (int i = 0; i < 12; i++)
		if (strncasecmp(str + 3, imap_months[i], 3) == 0)
			month = i;
	year = imap_digits(str + 7, 4);
	hh = imap_digits(str + 12, 2);
	mm = imap_digits(str + 15, 2);
	ss = imap_digits(str + 18, 2);
	zh = imap_digits(str + 22, 2);
	zm = imap_digits(str + 24, 2);
	if (day < 1 || month < 0 || year < 1970 || hh < 0 || hh > 23 || mm < 0 || mm > 59 ||
	    ss < 0 || ss > 60 || zh < 0 || zh > 23 || zm < 0 || zm > 59)
		return -1;
	if (day > imap_month_days(year, month))
		return -1;
	t = imap_days_since_epoch(year, month, day) * 86400 + hh * 3600 + mm * 60 + ss;
	/* The zone says how far local time is ahead of UTC: subtract it. */
	t -= (str[21] == '+' ? 1 : -1) * (int64_t)(zh * 3600 + zm * 60);
	if (t < 0)
		return -1; /* before the epoch: not a file mtime we keep */
	*t_r = (time_t)t;
	return 0;
}

int imap_append_args_parse(const struct imap_arg *first, const struct imap_arg *end,
                           const struct imap_arg **flags_r, time_t *date_r, const char **error_r)
{
	const struct imap_arg *a = first;

	*flags_r = NULL;
	*date_r = 0;
	if (a != end && a->type == IMAP_ARG_LIST) {
		for (const struct imap_arg *f = a->list; f != NULL; f = f->next) {
			if (f->type != IMAP_ARG_ATOM) {
				*error_r = "Invalid flag list.";
				return -1;
			}
		}
		*flags_r = a;
		a = a->next;
	}
	if (a != end && a->type == IMAP_ARG_QUOTED) {
		if (imap_date_time_parse(a->str, a->len, date_r) < 0) {
			*error_r = "Invalid date-time.";
			return -1;
		}
		a = a->next;
	}
	if (a != end) {
		*error_r = "Invalid APPEND arguments.";
		return -1;
	}
	return 0;
}
