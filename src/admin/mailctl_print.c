/*
 * mailctl's output: tables and `key: value` lines for people, one JSON object per line for
 * scripts (like `postqueue -j`), and the messages of failures.
 */
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>

#include "core/config.h"
#include "core/strutil.h"
#include "mailctl.h"
#include "mailctl_io.h"
#include "mailctl_print.h"

/*
 * Messages.
 */

int mailctl_fail(struct mailctl_status *st, int code, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(st->msg, sizeof(st->msg), fmt, ap);
	va_end(ap);
	/* A message, not data: cut it visibly rather than lose it. */
	if (n < 0)
		(void)str_copy(st->msg, sizeof(st->msg), "error");
	else if ((size_t)n >= sizeof(st->msg))
		memcpy(st->msg + sizeof(st->msg) - 4, "...", 4);
	st->code = code;
	return code;
}

int mailctl_failed(struct mailctl_status *st, int code)
{
	st->code = code;
	st->msg[0] = '\0';
	return code;
}

void mailctl_oom(void)
{
	fputs("mailctl: out of memory\n", stderr);
	exit(EX_SOFTWARE);
}

/* Text from maild or a file goes to a terminal: no control characters (escape sequences). */
static void mailctl_clean(char *s)
{
	for (; *s != '\0'; s++) {
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			*s = '?';
	}
}

static char *mailctl_clean_dup(const char *s)
{
	char *copy = strdup(s);

	if (copy == NULL)
		mailctl_oom();
	mailctl_clean(copy);
	return copy;
}

/* One line to out, control characters shown as '?'. */
static void mailctl_say(FILE *out, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void mailctl_say(FILE *out, const char *fmt, ...)
{
	va_list ap;
	char *line;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&line, fmt, ap);
	va_end(ap);
	if (n < 0)
		mailctl_oom();
	mailctl_clean(line);
	fprintf(out, "%s\n", line);
	free(line);
}

void mailctl_print_error(FILE *out, const char *error, const json_t *details)
{
	const json_t *detail;
	size_t i;

	mailctl_say(out, "mailctl: %s", error);
	json_array_foreach(details, i, detail)
	{
		if (json_is_string(detail))
			mailctl_say(out, "%s", json_string_value(detail));
	}
}

/*
 * Numbers for people.
 */

void mailctl_format_size(uint64_t bytes, char buf[static MAILCTL_FIELD_MAX])
{
	static const char units[] = "KMGT";
	double value = (double)bytes / 1024;
	size_t unit = 0;

	if (bytes == 0) {
		snprintf(buf, MAILCTL_FIELD_MAX, "unlimited");
		return;
	}
	if (bytes < 1024) {
		snprintf(buf, MAILCTL_FIELD_MAX, "%llu", (unsigned long long)bytes);
		return;
	}
	/* Go up a unit before rounding to one decimal would show 1024.0. */
	while (value >= 1023.95 && unit + 1 < sizeof(units) - 1) {
		value /= 1024;
		unit++;
	}
	snprintf(buf, MAILCTL_FIELD_MAX, "%.1f%c", value, units[unit]);
}

void mailctl_format_date(int64_t unix_time, char buf[static MAILCTL_FIELD_MAX])
{
	time_t t = (time_t)unix_time;
	struct tm tm;

	if (localtime_r(&t, &tm) == NULL || strftime(buf, MAILCTL_FIELD_MAX, "%Y-%m-%d", &tm) == 0)
		snprintf(buf, MAILCTL_FIELD_MAX, "?");
}

void mailctl_format_uptime(int64_t seconds, char buf[static MAILCTL_FIELD_MAX])
{
	long long s = seconds > 0 ? (long long)seconds : 0;

	if (s >= 86400)
		snprintf(buf, MAILCTL_FIELD_MAX, "%lldd%lldh", s / 86400, s % 86400 / 3600);
	else if (s >= 3600)
		snprintf(buf, MAILCTL_FIELD_MAX, "%lldh%02lldm", s / 3600, s % 3600 / 60);
	else if (s >= 60)
		snprintf(buf, MAILCTL_FIELD_MAX, "%lldm%02llds", s / 60, s % 60);
	else
		snprintf(buf, MAILCTL_FIELD_MAX, "%llds", s);
}

/*
 * Tables.
 */

struct mailctl_table {
	size_t ncols;
	size_t nrows; /* the header row included */
	size_t cap;   /* rows cells has room for */
	char **cells; /* row after row */
};

struct mailctl_table *mailctl_table_new(size_t ncols, const char *const *headers)
{
	struct mailctl_table *table = calloc(1, sizeof(*table));

	if (table == NULL)
		mailctl_oom();
	if (ncols == 0 || ncols > MAILCTL_TABLE_COLS_MAX)
		abort(); /* a table of ours, wrongly declared */
	table->ncols = ncols;
	mailctl_table_add(table, headers);
	return table;
}

void mailctl_table_add(struct mailctl_table *table, const char *const *cells)
{
	char **row;

	if (table->nrows == table->cap) {
		table->cap = table->cap == 0 ? 16 : table->cap * 2;
		table->cells =
		    reallocarray(table->cells, table->cap, table->ncols * sizeof(char *));
		if (table->cells == NULL)
			mailctl_oom();
	}
	row = table->cells + table->nrows * table->ncols;
	for (size_t i = 0; i < table->ncols; i++)
		row[i] = mailctl_clean_dup(cells[i]);
	table->nrows++;
}

/* Characters on the screen, near enough: UTF-8 sequences counted once. */
static size_t mailctl_width(const char *s)
{
	size_t width = 0;

	for (; *s != '\0'; s++) {
		if (((unsigned char)*s & 0xc0) != 0x80)
			width++;
	}
	return width;
}

void mailctl_table_print(const struct mailctl_table *table, FILE *out)
{
	size_t widths[MAILCTL_TABLE_COLS_MAX] = {0};
	size_t ncols = table->ncols;

	for (size_t r = 0; r < table->nrows; r++) {
		for (size_t c = 0; c < ncols; c++) {
			size_t w = mailctl_width(table->cells[r * table->ncols + c]);

			widths[c] = w > widths[c] ? w : widths[c];
		}
	}
	for (size_t r = 0; r < table->nrows; r++) {
		for (size_t c = 0; c < ncols; c++) {
			const char *cell = table->cells[r * table->ncols + c];

			fputs(cell, out);
			if (c + 1 < ncols)
				fprintf(out, "%*s", (int)(widths[c] - mailctl_width(cell) + 2), "");
		}
		fputc('\n', out);
	}
}

void mailctl_table_free(struct mailctl_table **table)
{
	struct mailctl_table *t = *table;

	if (t == NULL)
		return;
	for (size_t i = 0; i < t->nrows * t->ncols; i++)
		free(t->cells[i]);
	free(t->cells);
	free(t);
	*table = NULL;
}

/*
 * Results.
 */

enum mailctl_field_kind {
	FIELD_TEXT,
	FIELD_COUNT,
	FIELD_SIZE,   /* bytes, 0 = unlimited */
	FIELD_DATE,   /* unix time */
	FIELD_UPTIME, /* seconds */
};

/* A column of a table, or a line of `key: value`. */
struct mailctl_field {
	const char *label;
	const char *key;
	enum mailctl_field_kind kind;
};

enum mailctl_shape {
	SHAPE_DONE,   /* an object, summed up in one line by a mailctl_done_cb */
	SHAPE_SHOW,   /* an object, as `key: value` lines */
	SHAPE_LIST,   /* an array of objects, as a table */
	SHAPE_STATUS, /* an object whose "workers" array is shown as a table */
};

/* Prints the confirmation line of a change. */
typedef void mailctl_done_cb(FILE *out, const json_t *result, const json_t *args);

struct mailctl_printer {
	const char *cmd;
	enum mailctl_shape shape;
	mailctl_done_cb *done;
	const struct mailctl_field *fields;
	size_t nfields;
};

/* The object's name: key of the result, else of the request's args. */
static const char *mailctl_name(const json_t *result, const json_t *args, const char *key)
{
	const char *name = json_string_value(json_object_get(result, key));

	if (name == NULL)
		name = json_string_value(json_object_get(args, key));
	return name != NULL ? name : "?";
}

/* "a@example.org, b@example.org", malloc'ed. */
static char *mailctl_join(const json_t *array)
{
	const json_t *item;
	char *text = NULL;
	size_t i, len;
	FILE *f = open_memstream(&text, &len);

	if (f == NULL)
		mailctl_oom();
	json_array_foreach(array, i, item) fprintf(
	    f, "%s%s", i > 0 ? ", " : "", json_is_string(item) ? json_string_value(item) : "?");
	if (fclose(f) != 0)
		mailctl_oom();
	return text;
}

static void mailctl_done_domain_add(FILE *out, const json_t *result, const json_t *args)
{
	mailctl_say(out, "domain %s: added", mailctl_name(result, args, "domain"));
}

static void mailctl_done_domain_remove(FILE *out, const json_t *result, const json_t *args)
{
	mailctl_say(out, "domain %s: removed", mailctl_name(result, args, "domain"));
}

static void mailctl_done_user_add(FILE *out, const json_t *result, const json_t *args)
{
	const char *maildir = json_string_value(json_object_get(result, "maildir"));

	mailctl_say(out, "user %s: added%s%s%s", mailctl_name(result, args, "address"),
	            maildir != NULL ? " (maildir " : "", maildir != NULL ? maildir : "",
	            maildir != NULL ? ")" : "");
}

static void mailctl_done_user_passwd(FILE *out, const json_t *result, const json_t *args)
{
	mailctl_say(out, "user %s: password changed", mailctl_name(result, args, "address"));
}

static void mailctl_done_user_quota(FILE *out, const json_t *result, const json_t *args)
{
	const json_t *quota = json_object_get(result, "quota");
	char size[MAILCTL_FIELD_MAX];

	if (!json_is_integer(quota))
		quota = json_object_get(args, "quota");
	mailctl_format_size((uint64_t)json_integer_value(quota), size);
	mailctl_say(out, "user %s: quota set to %s", mailctl_name(result, args, "address"), size);
}

static void mailctl_done_user_enable(FILE *out, const json_t *result, const json_t *args)
{
	mailctl_say(out, "user %s: enabled", mailctl_name(result, args, "address"));
}

static void mailctl_done_user_disable(FILE *out, const json_t *result, const json_t *args)
{
	mailctl_say(out, "user %s: disabled", mailctl_name(result, args, "address"));
}

static void mailctl_done_user_remove(FILE *out, const json_t *result, const json_t *args)
{
	const char *moved_to = json_string_value(json_object_get(result, "moved_to"));

	mailctl_say(out, "user %s: removed%s%s%s", mailctl_name(result, args, "address"),
	            moved_to != NULL ? " (mail kept in " : "", moved_to != NULL ? moved_to : "",
	            moved_to != NULL ? ")" : "");
}

static void mailctl_done_alias_add(FILE *out, const json_t *result, const json_t *args)
{
	const json_t *targets = json_object_get(result, "targets");
	char *text;

	if (!json_is_array(targets))
		targets = json_object_get(args, "targets");
	text = mailctl_join(targets);
	mailctl_say(out, "alias %s: added (%s)", mailctl_name(result, args, "address"), text);
	free(text);
}

/* The protocol leaves the type of "removed" open: a count or the list of targets. */
static void mailctl_done_alias_remove(FILE *out, const json_t *result, const json_t *args)
{
	const char *address = mailctl_name(result, args, "address");
	const json_t *removed = json_object_get(result, "removed");
	const char *target = json_string_value(json_object_get(args, "target"));
	char *text;

	if (target != NULL) {
		mailctl_say(out, "alias %s: target %s removed", address, target);
	} else if (json_is_integer(removed)) {
		mailctl_say(out, "alias %s: removed (%lld target%s)", address,
		            (long long)json_integer_value(removed),
		            json_integer_value(removed) == 1 ? "" : "s");
	} else if (json_is_array(removed)) {
		text = mailctl_join(removed);
		mailctl_say(out, "alias %s: removed (%s)", address, text);
		free(text);
	} else {
		mailctl_say(out, "alias %s: removed", address);
	}
}

static void mailctl_done_auth_test(FILE *out, const json_t *result, const json_t *args)
{
	(void)args;
	mailctl_say(out, "auth %s: password accepted",
		    json_string_value(json_object_get(result, "address")));
}

static void mailctl_done_reload(FILE *out, const json_t *result, const json_t *args)
{
	(void)result;
	(void)args;
	mailctl_say(out, "maild: configuration reloaded");
}

#define FIELDS(f) f, sizeof(f) / sizeof(f[0])

/* clang-format off */
static const struct mailctl_field mailctl_domain_list[] = {
	{ "DOMAIN", "domain", FIELD_TEXT },
	{ "ACCOUNTS", "accounts", FIELD_COUNT },
	{ "ALIASES", "aliases", FIELD_COUNT },
	{ "CREATED", "created", FIELD_DATE },
};
static const struct mailctl_field mailctl_domain_show[] = {
	{ "domain", "domain", FIELD_TEXT },
	{ "accounts", "accounts", FIELD_COUNT },
	{ "aliases", "aliases", FIELD_COUNT },
	{ "created", "created", FIELD_DATE },
	{ "active", "active", FIELD_TEXT },
};
static const struct mailctl_field mailctl_user_list[] = {
	{ "ADDRESS", "address", FIELD_TEXT },
	{ "NAME", "name", FIELD_TEXT },
	{ "QUOTA", "quota", FIELD_SIZE },
	{ "ACTIVE", "active", FIELD_TEXT },
};
static const struct mailctl_field mailctl_user_show[] = {
	{ "address", "address", FIELD_TEXT },
	{ "name", "name", FIELD_TEXT },
	{ "quota", "quota", FIELD_SIZE },
	{ "active", "active", FIELD_TEXT },
	{ "created", "created", FIELD_DATE },
	{ "maildir", "maildir", FIELD_TEXT },
	{ "password scheme", "password_scheme", FIELD_TEXT },
};
static const struct mailctl_field mailctl_alias_list[] = {
	{ "ADDRESS", "address", FIELD_TEXT },
	{ "TARGET", "target", FIELD_TEXT },
};
static const struct mailctl_field mailctl_address_resolve[] = {
	{ "ADDRESS", "address", FIELD_TEXT },
	{ "LOCAL", "local", FIELD_TEXT },
};
static const struct mailctl_field mailctl_status_workers[] = {
	{ "ROLE", "role", FIELD_TEXT },
	{ "PID", "pid", FIELD_COUNT },
	{ "USER", "user", FIELD_TEXT },
	{ "UPTIME", "uptime", FIELD_UPTIME },
	{ "RESTARTS", "restarts", FIELD_COUNT },
	{ "STATE", "state", FIELD_TEXT },
};

static const struct mailctl_printer mailctl_printers[] = {
	{ "domain.add", SHAPE_DONE, mailctl_done_domain_add, NULL, 0 },
	{ "domain.list", SHAPE_LIST, NULL, FIELDS(mailctl_domain_list) },
	{ "domain.show", SHAPE_SHOW, NULL, FIELDS(mailctl_domain_show) },
	{ "domain.remove", SHAPE_DONE, mailctl_done_domain_remove, NULL, 0 },
	{ "user.add", SHAPE_DONE, mailctl_done_user_add, NULL, 0 },
	{ "user.list", SHAPE_LIST, NULL, FIELDS(mailctl_user_list) },
	{ "user.show", SHAPE_SHOW, NULL, FIELDS(mailctl_user_show) },
	{ "user.passwd", SHAPE_DONE, mailctl_done_user_passwd, NULL, 0 },
	{ "user.quota", SHAPE_DONE, mailctl_done_user_quota, NULL, 0 },
	{ "user.disable", SHAPE_DONE, mailctl_done_user_disable, NULL, 0 },
	{ "user.enable", SHAPE_DONE, mailctl_done_user_enable, NULL, 0 },
	{ "user.remove", SHAPE_DONE, mailctl_done_user_remove, NULL, 0 },
	{ "alias.add", SHAPE_DONE, mailctl_done_alias_add, NULL, 0 },
	{ "alias.list", SHAPE_LIST, NULL, FIELDS(mailctl_alias_list) },
	{ "alias.remove", SHAPE_DONE, mailctl_done_alias_remove, NULL, 0 },
	{ "auth.test", SHAPE_DONE, mailctl_done_auth_test, NULL, 0 },
	{ "address.resolve", SHAPE_LIST, NULL, FIELDS(mailctl_address_resolve) },
	{ "status", SHAPE_STATUS, NULL, FIELDS(mailctl_status_workers) },
	{ "reload", SHAPE_DONE, mailctl_done_reload, NULL, 0 },
};
/* clang-format on */
#define MAILCTL_PRINTERS_COUNT (sizeof(mailctl_printers) / sizeof(mailctl_printers[0]))

/* The text of field f of obj: the string itself, or formatted into buf. "-" when absent, null
   or empty (an empty cell would shift the columns for awk), "?" for an unexpected type. */
static const char *mailctl_field_text(const json_t *obj, const struct mailctl_field *f,
                                      char buf[static MAILCTL_FIELD_MAX])
{
	const json_t *v = json_object_get(obj, f->key);
	json_int_t n = json_integer_value(v);

	if (json_is_string(v))
		return json_string_length(v) > 0 ? json_string_value(v) : "-";
	if (json_is_boolean(v))
		return json_is_true(v) ? "yes" : "no";
	if (v == NULL || json_is_null(v))
		return "-";
	if (!json_is_integer(v) || (f->kind == FIELD_SIZE && n < 0))
		return "?";
	if (f->kind == FIELD_SIZE)
		mailctl_format_size((uint64_t)n, buf);
	else if (f->kind == FIELD_DATE)
		mailctl_format_date(n, buf);
	else if (f->kind == FIELD_UPTIME)
		mailctl_format_uptime(n, buf);
	else
		snprintf(buf, MAILCTL_FIELD_MAX, "%lld", (long long)n);
	return buf;
}

/* The rows of a list-shaped result, or NULL when they are not an array of objects. */
static const json_t *mailctl_rows(const struct mailctl_printer *p, const json_t *result)
{
	const json_t *rows = p->shape == SHAPE_STATUS ? json_object_get(result, "workers") : result;
	const json_t *row;
	size_t i;

	if (!json_is_array(rows))
		return NULL;
	json_array_foreach(rows, i, row)
	{
		if (!json_is_object(row))
			return NULL;
	}
	return rows;
}

static void mailctl_print_table(FILE *out, const struct mailctl_printer *p, const json_t *rows)
{
	const char *cells[MAILCTL_TABLE_COLS_MAX];
	char bufs[MAILCTL_TABLE_COLS_MAX][MAILCTL_FIELD_MAX];
	struct mailctl_table *table;
	const json_t *row;
	size_t i;

	for (size_t c = 0; c < p->nfields; c++)
		cells[c] = p->fields[c].label;
	table = mailctl_table_new(p->nfields, cells);
	json_array_foreach(rows, i, row)
	{
		for (size_t c = 0; c < p->nfields; c++)
			cells[c] = mailctl_field_text(row, &p->fields[c], bufs[c]);
		mailctl_table_add(table, cells);
	}
	mailctl_table_print(table, out);
	mailctl_table_free(&table);
}

static void mailctl_print_show(FILE *out, const struct mailctl_printer *p, const json_t *result)
{
	char buf[MAILCTL_FIELD_MAX];

	for (size_t i = 0; i < p->nfields; i++) {
		mailctl_say(out, "%s: %s", p->fields[i].label,
		            mailctl_field_text(result, &p->fields[i], buf));
	}
}

/* json_dumpf() escapes control characters: safe for a terminal too. */
static void mailctl_print_json(FILE *out, const json_t *object)
{
	json_dumpf(object, out, JSON_COMPACT);
	fputc('\n', out);
}

int mailctl_print_result(FILE *out, const char *cmd, const json_t *result, const json_t *args,
                         bool json)
{
	const struct mailctl_printer *p = NULL;
	const json_t *rows, *row;
	size_t i;

	for (i = 0; cmd != NULL && i < MAILCTL_PRINTERS_COUNT && p == NULL; i++) {
		if (strcmp(mailctl_printers[i].cmd, cmd) == 0)
			p = &mailctl_printers[i];
	}
	if (p == NULL || (!json_is_object(result) && p->shape != SHAPE_LIST))
		return -1;
	if (p->shape == SHAPE_DONE || p->shape == SHAPE_SHOW) {
		if (json)
			mailctl_print_json(out, result);
		else if (p->shape == SHAPE_SHOW)
			mailctl_print_show(out, p, result);
		else
			p->done(out, result, args);
		return 0;
	}
	rows = mailctl_rows(p, result);
	if (rows == NULL)
		return -1;
	if (!json) {
		mailctl_print_table(out, p, rows);
		return 0;
	}
	json_array_foreach(rows, i, row) mailctl_print_json(out, row);
	return 0;
}

int mailctl_print_reply(const char *socket, const json_t *request,
                        const struct mailctl_reply *reply, bool json, struct mailctl_status *st)
{
	const char *cmd = json_string_value(json_object_get(request, "cmd"));

	if (!reply->ok) {
		mailctl_print_error(stderr, reply->error, reply->details);
		return mailctl_failed(st, reply->code);
	}
	if (mailctl_print_result(stdout, cmd, reply->result, json_object_get(request, "args"),
	                         json) < 0)
		return mailctl_fail(st, EX_SOFTWARE, "admin socket %s: unexpected result for %s",
		                    socket, cmd);
	return 0;
}

/*
 * `config show`.
 */

static void mailctl_print_setting(FILE *out, const char *key, const char *value, bool is_default,
                                  bool json)
{
	json_t *setting;

	if (!json) {
		mailctl_say(out, "%s =%s%s", key, value[0] != '\0' ? " " : "", value);
		return;
	}
	/* JSON cannot carry text that is not UTF-8; such a value is shown as null. */
	setting = json_pack("{s:s, s:o?, s:b}", "key", key, "value", json_string(value), "default",
	                    is_default);
	if (setting == NULL)
		mailctl_oom();
	mailctl_print_json(out, setting);
	json_decref(setting);
}

void mailctl_print_config(FILE *out, const struct config *config, const char *key,
                          bool changed_only, bool json)
{
	/* config_keys is sorted by name: so is the output. */
	for (size_t i = 0; i < config_keys_count; i++) {
		const char *name = config_keys[i].name;
		bool is_default = config_is_default(config, name);
		const char *value = config_value_text(config, name);

		if ((key != NULL && strcmp(name, key) != 0) || (changed_only && is_default))
			continue;
		mailctl_print_setting(out, name, value != NULL ? value : "", is_default, json);
	}
}
