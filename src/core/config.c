#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ini.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "core/array_sort.h"

#define TYPE_BIT(t) (1u << (t))
#define TYPES_TEXT                                                                                 \
	(TYPE_BIT(CONFIG_STRING) | TYPE_BIT(CONFIG_PATH) | TYPE_BIT(CONFIG_ENUM) |                 \
	 TYPE_BIT(CONFIG_LISTEN) | TYPE_BIT(CONFIG_USER) | TYPE_BIT(CONFIG_GROUP))
#define TYPES_NUMBER (TYPE_BIT(CONFIG_UINT) | TYPE_BIT(CONFIG_SIZE) | TYPE_BIT(CONFIG_DURATION))

/* Longest key name; longer unknown names get no "did you mean". */
#define SUGGEST_NAME_MAX 64
/* Longest [section] name: libinih keeps 49 bytes of it and silently drops the rest. */
#define SECTION_NAME_MAX 48

struct config_value {
	char *text;                   /* canonical text, see config_value_text() */
	uint64_t number;              /* BOOL 0/1; UINT; SIZE in bytes; DURATION in ms */
	struct config_listen *listen; /* LISTEN: listen_count addresses */
	size_t listen_count;
	const char *origin; /* file that set it, one of config->files; NULL: default */
	unsigned line;
};

struct config {
	char *path;
	char **files; /* every file read, owning the names values' origins point to */
	size_t files_count;
	struct config_value values[]; /* config_keys_count, in the order of config_keys */
};

static void config_fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

/* A broken invariant of the program, not of the file: nothing sensible is left to do. */
static void config_fatal(const char *fmt, ...)
{
	va_list args;

	fputs("maild: config: ", stderr);
	va_start(args, fmt);
	vfprintf(stderr, fmt, args);
	va_end(args);
	fputc('\n', stderr);
	abort();
}

static void *config_xmalloc(size_t size)
{
	void *p = malloc(size != 0 ? size : 1);

	if (p == NULL)
		config_fatal("out of memory");
	return p;
}

static void *config_xrealloc(void *p, size_t size)
{
	p = realloc(p, size != 0 ? size : 1);
	if (p == NULL)
		config_fatal("out of memory");
	return p;
}

static char *config_xstrdup(const char *s)
{
	size_t len = strlen(s);

	return memcpy(config_xmalloc(len + 1), s, len + 1);
}

static int key_compare(const void *name, const void *key)
{
	return strcmp(name, ((const struct config_key *)key)->name);
}

const struct config_key *config_key_find(const char *name)
{
	return array_search(name, config_keys, config_keys_count, sizeof(config_keys[0]), key_compare);
}

static const struct config_key *key_get(const char *name, unsigned types, const char *what)
{
	const struct config_key *key = config_key_find(name);

	if (key == NULL)
		config_fatal("no such key '%s'", name);
	if ((TYPE_BIT(key->type) & types) == 0)
		config_fatal("key '%s' is not %s", name, what);
	return key;
}

static const struct config_value *value_get(const struct config *c, const char *name,
                                            unsigned types, const char *what)
{
	return &c->values[key_get(name, types, what) - config_keys];
}

static void value_free(struct config_value *value)
{
	free(value->text);
	free(value->listen);
	*value = (struct config_value){0};
}

static void range_format(const struct config_key *key, uint64_t value,
                         char buf[static CONFIG_NUMBER_MAX])
{
	if (key->type == CONFIG_SIZE)
		config_format_size(value, buf);
	else if (key->type == CONFIG_DURATION)
		config_format_duration(value, buf);
	else
		snprintf(buf, CONFIG_NUMBER_MAX, "%llu", (unsigned long long)value);
}

static int number_parse(const struct config_key *key, const char *text, uint64_t *number_r,
                        char error[static CONFIG_ERROR_MAX])
{
	char min[CONFIG_NUMBER_MAX], max[CONFIG_NUMBER_MAX];
	int ret;

	if (key->type == CONFIG_SIZE)
		ret = config_parse_size(text, number_r, error);
	else if (key->type == CONFIG_DURATION)
		ret = config_parse_duration(text, number_r, error);
	else
		ret = config_parse_uint(text, number_r, error);
	if (ret < 0)
		return -1;
	if (*number_r >= key->min && (key->max == 0 || *number_r <= key->max))
		return 0;
	range_format(key, key->min, min);
	range_format(key, key->max, max);
	if (key->max == 0)
		snprintf(error, CONFIG_ERROR_MAX, "'%.100s' is out of range (at least %s)", text,
		         min);
	else
		snprintf(error, CONFIG_ERROR_MAX, "'%.100s' is out of range (%s..%s)", text, min,
		         max);
	return -1;
}

static int enum_parse(const struct config_key *key, const char *text,
                      char error[static CONFIG_ERROR_MAX])
{
	size_t len;

	for (const char *const *v = key->enum_values; *v != NULL; v++) {
		if (strcmp(text, *v) == 0)
			return 0;
	}
	len = (size_t)snprintf(error, CONFIG_ERROR_MAX, "invalid value '%.100s' (expected", text);
	for (const char *const *v = key->enum_values; *v != NULL && len < CONFIG_ERROR_MAX; v++) {
		len += (size_t)snprintf(error + len, CONFIG_ERROR_MAX - len, "%s %s",
		                        v == key->enum_values ? "" : ",", *v);
	}
	if (len < CONFIG_ERROR_MAX)
		snprintf(error + len, CONFIG_ERROR_MAX - len, ")");
	return -1;
}

static int listen_parse(const char *text, struct config_value *value,
                        char error[static CONFIG_ERROR_MAX])
{
	struct config_listen *list = config_xmalloc(CONFIG_LISTEN_MAX * sizeof(*list));
	size_t count;

	if (config_parse_listen(text, list, &count, error) < 0) {
		free(list);
		return -1;
	}
	value->listen = config_xmalloc(count * sizeof(*list));
	memcpy(value->listen, list, count * sizeof(*list));
	value->listen_count = count;
	free(list);
	return 0;
}

/* Checks text by the key's type into *value: the number or list it stands for, and the text
   config_value_text() shows, which differs from text only for BOOL and UINT. */
static int value_parse_type(const struct config_key *key, const char *text, bool lookup,
                            struct config_value *value, char error[static CONFIG_ERROR_MAX])
{
	char number[CONFIG_NUMBER_MAX];
	bool b;

	switch (key->type) {
	case CONFIG_STRING:
		break;
	case CONFIG_PATH:
		if (text[0] == '/')
			break;
		snprintf(error, CONFIG_ERROR_MAX, "not an absolute path '%.100s'", text);
		return -1;
	case CONFIG_BOOL:
		if (config_parse_bool(text, &b, error) < 0)
			return -1;
		value->number = b;
		value->text = config_xstrdup(b ? "yes" : "no");
		return 0;
	case CONFIG_UINT:
		if (number_parse(key, text, &value->number, error) < 0)
			return -1;
		snprintf(number, sizeof(number), "%llu", (unsigned long long)value->number);
		value->text = config_xstrdup(number);
		return 0;
	case CONFIG_SIZE:
	case CONFIG_DURATION:
		if (number_parse(key, text, &value->number, error) < 0)
			return -1;
		break;
	case CONFIG_ENUM:
		if (enum_parse(key, text, error) < 0)
			return -1;
		break;
	case CONFIG_LISTEN:
		if (listen_parse(text, value, error) < 0)
			return -1;
		break;
	case CONFIG_USER:
		if (lookup && config_check_user(text, error) < 0)
			return -1;
		break;
	case CONFIG_GROUP:
		if (lookup && config_check_group(text, error) < 0)
			return -1;
		break;
	}
	value->text = config_xstrdup(text);
	return 0;
}

/* Parses text as a value of key into *value_r. lookup: check that users and groups exist. */
static int value_parse(const struct config_key *key, const char *text, bool lookup,
                       struct config_value *value_r, char error[static CONFIG_ERROR_MAX])
{
	struct config_value value = {0};
	const char *reason = "invalid";

	if (value_parse_type(key, text, lookup, &value, error) < 0) {
		value_free(&value);
		return -1;
	}
	if (key->validate != NULL && key->validate(text, &reason) < 0) {
		snprintf(error, CONFIG_ERROR_MAX, "invalid value '%.100s': %s", text, reason);
		value_free(&value);
		return -1;
	}
	*value_r = value;
	return 0;
}

static bool value_equal(const struct config_key *key, const struct config_value *a,
                        const struct config_value *b)
{
	switch (key->type) {
	case CONFIG_BOOL:
	case CONFIG_UINT:
	case CONFIG_SIZE:
	case CONFIG_DURATION:
		return a->number == b->number;
	case CONFIG_LISTEN:
		if (a->listen_count != b->listen_count)
			return false;
		for (size_t i = 0; i < a->listen_count; i++) {
			if (a->listen[i].port != b->listen[i].port ||
			    strcmp(a->listen[i].host, b->listen[i].host) != 0)
				return false;
		}
		return true;
	default:
		return strcmp(a->text, b->text) == 0;
	}
}

static void value_default(const struct config_key *key, struct config_value *value_r)
{
	char error[CONFIG_ERROR_MAX];

	if (value_parse(key, key->default_value, false, value_r, error) < 0)
		config_fatal("default of '%s' is invalid: %s", key->name, error);
}

/* config_key_find() needs the table sorted; a row out of place is a bug to stop at once. */
static void keys_check(void)
{
	for (size_t i = 0; i < config_keys_count; i++) {
		const struct config_key *key = &config_keys[i];
		if (i > 0 && strcmp(config_keys[i - 1].name, key->name) >= 0)
			config_fatal("config_keys[] is not sorted at '%s'", key->name);
		if (strlen(key->name) > SUGGEST_NAME_MAX)
			config_fatal("key name '%s' is too long", key->name);
		if (key->type == CONFIG_ENUM && key->enum_values == NULL)
			config_fatal("enum key '%s' has no values", key->name);
	}
}

static struct config *config_new(const char *path)
{
	struct config *config =
	    config_xmalloc(sizeof(*config) + config_keys_count * sizeof(config->values[0]));

	keys_check();
	config->path = config_xstrdup(path);
	config->files = NULL;
	config->files_count = 0;
	for (size_t i = 0; i < config_keys_count; i++)
		value_default(&config_keys[i], &config->values[i]);
	return config;
}

struct config *config_defaults(void)
{
	return config_new("");
}

void config_free(struct config **config)
{
	struct config *c = *config;

	if (c == NULL)
		return;
	for (size_t i = 0; i < config_keys_count; i++)
		value_free(&c->values[i]);
	for (size_t i = 0; i < c->files_count; i++)
		free(c->files[i]);
	free(c->files);
	free(c->path);
	free(c);
	*config = NULL;
}

static const char *config_add_file(struct config *c, const char *name)
{
	c->files = config_xrealloc(c->files, (c->files_count + 1) * sizeof(*c->files));
	c->files[c->files_count] = config_xstrdup(name);
	return c->files[c->files_count++];
}

static char *config_xprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static char *config_xvprintf(const char *fmt, va_list args)
{
	va_list copy;
	int len;
	char *s;

	va_copy(copy, args);
	len = vsnprintf(NULL, 0, fmt, copy);
	va_end(copy);
	if (len < 0)
		config_fatal("cannot format '%s'", fmt);
	s = config_xmalloc((size_t)len + 1);
	vsnprintf(s, (size_t)len + 1, fmt, args);
	return s;
}

static char *config_xprintf(const char *fmt, ...)
{
	va_list args;
	char *s;

	va_start(args, fmt);
	s = config_xvprintf(fmt, args);
	va_end(args);
	return s;
}

/* Reading one config: the main file or a string, then the drop-ins. */
struct loader {
	struct config *config;
	struct config_errors *errors; /* NULL: only count them */
	size_t error_count;
	const char *file;      /* the file being read, for messages and origins */
	const char *pos, *end; /* its text not yet handed to libinih */
	unsigned line;         /* number of the line last handed to libinih */
	bool skip_section;     /* the last [section] line was bad: ignore the keys under it */
};

static void loader_error(struct loader *l, unsigned line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Adds "FILE:LINE: message", or "FILE: message" for line 0. */
static void loader_error(struct loader *l, unsigned line, const char *fmt, ...)
{
	struct config_errors *errors = l->errors;
	va_list args;
	char *message, **lines;

	l->error_count++;
	if (errors == NULL || l->error_count > CONFIG_ERRORS_MAX + 1)
		return;
	if (l->error_count == CONFIG_ERRORS_MAX + 1) {
		message = config_xstrdup("too many errors, not reporting more");
	} else {
		va_start(args, fmt);
		message = config_xvprintf(fmt, args);
		va_end(args);
	}
	lines = config_xrealloc(errors->lines, (errors->count + 1) * sizeof(*lines));
	errors->lines = lines;
	if (line != 0)
		lines[errors->count++] = config_xprintf("%s:%u: %s", l->file, line, message);
	else
		lines[errors->count++] = config_xprintf("%s: %s", l->file, message);
	free(message);
}

void config_errors_clear(struct config_errors *errors)
{
	for (size_t i = 0; i < errors->count; i++)
		free(errors->lines[i]);
	free(errors->lines);
	*errors = (struct config_errors){0};
}

static bool same_letter(char a, char b)
{
	return tolower((unsigned char)a) == tolower((unsigned char)b);
}

/* Optimal string alignment distance, ignoring case: "tls.certfile" is 1 from "tls.cert_file",
   "smtp.lsiten" 1 from "smtp.listen". Both names are at most SUGGEST_NAME_MAX long. */
static size_t edit_distance(const char *a, const char *b)
{
	size_t rows[3][SUGGEST_NAME_MAX + 1];
	size_t *before = rows[0], *prev = rows[1], *cur = rows[2], *spare;
	size_t a_len = strlen(a), b_len = strlen(b);

	for (size_t j = 0; j <= b_len; j++)
		prev[j] = j;
	for (size_t i = 1; i <= a_len; i++) {
		cur[0] = i;
		for (size_t j = 1; j <= b_len; j++) {
			size_t d = prev[j - 1] + !same_letter(a[i - 1], b[j - 1]);
			if (prev[j] + 1 < d)
				d = prev[j] + 1;
			if (cur[j - 1] + 1 < d)
				d = cur[j - 1] + 1;
			if (i > 1 && j > 1 && same_letter(a[i - 1], b[j - 2]) &&
			    same_letter(a[i - 2], b[j - 1]) && before[j - 2] + 1 < d)
				d = before[j - 2] + 1;
			cur[j] = d;
		}
		spare = before;
		before = prev;
		prev = cur;
		cur = spare;
	}
	return prev[b_len];
}

/* The known key an unknown name is most probably a typo of, or NULL. */
static const struct config_key *key_suggest(const char *name)
{
	const struct config_key *nearest = NULL;
	size_t len = strlen(name), best = SIZE_MAX;

	if (len > SUGGEST_NAME_MAX)
		return NULL;
	for (size_t i = 0; i < config_keys_count; i++) {
		size_t d = edit_distance(name, config_keys[i].name);
		if (d < best) {
			best = d;
			nearest = &config_keys[i];
		}
	}
	/* A typo, not another word: at most 3 edits, and at most one per 3 characters. */
	if (best > 3 || best * 3 > len)
		return NULL;
	return nearest;
}

static bool is_name_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '.' || c == '_' || c == '-';
}

static size_t name_span(const char *s, size_t len)
{
	size_t i = 0;

	while (i < len && is_name_char(s[i]))
		i++;
	return i;
}

static size_t blank_span(const char *s, size_t len)
{
	size_t i = 0;

	while (i < len && (s[i] == ' ' || s[i] == '\t'))
		i++;
	return i;
}

/* s is "[...": it must be "[name]", blanks after it allowed. */
static bool loader_section_ok(struct loader *l, const char *s, size_t len)
{
	size_t n = name_span(s + 1, len - 1);
	size_t close = 1 + n;
	bool ok = n > 0 && close < len && s[close] == ']' &&
	          blank_span(s + close + 1, len - close - 1) == len - close - 1;

	if (!ok)
		loader_error(l, l->line, "syntax error: expected '[section]'");
	else if (n > SECTION_NAME_MAX)
		loader_error(l, l->line, "section name too long (max %d bytes)", SECTION_NAME_MAX);
	l->skip_section = !ok || n > SECTION_NAME_MAX;
	return !l->skip_section;
}

/*
 * libinih tells only the number of the first bad line, and takes "name: value" and
 * "[section] junk" without complaint. So each line is checked here before libinih sees it, every
 * bad one is reported, and it reaches libinih as a blank line.
 */
static bool loader_line_ok(struct loader *l, const char *s, size_t len, size_t max)
{
	size_t i, n;

	if (len > max) {
		loader_error(l, l->line, "line too long (max %zu bytes)", max);
		return false;
	}
	if (memchr(s, '\0', len) != NULL) {
		loader_error(l, l->line, "syntax error: NUL byte");
		return false;
	}
	for (i = 0; i < len; i++) {
		if (((unsigned char)s[i] < ' ' && s[i] != '\t') || s[i] == 0x7f) {
			loader_error(l, l->line, "syntax error: control character");
			return false;
		}
	}
	i = blank_span(s, len);
	if (i == len || s[i] == '#')
		return true;
	if (s[i] == '[')
		return loader_section_ok(l, s + i, len - i);
	n = name_span(s + i, len - i);
	i += n;
	i += blank_span(s + i, len - i);
	if (n == 0 || i == len || s[i] != '=') {
		loader_error(l, l->line, "syntax error: expected 'key = value'");
		return false;
	}
	return true;
}

/* libinih's fgets(): the next line, without "\r\n" or the UTF-8 BOM, if it passes the checks. */
static char *loader_read_line(char *buf, int size, void *stream)
{
	struct loader *l = stream;
	const char *start = l->pos, *newline;
	size_t len, max;

	if (l->pos == l->end)
		return NULL;
	if (size < 2)
		config_fatal("libinih offers a line buffer of %d bytes", size);
	max = (size_t)size - 2 < CONFIG_LINE_MAX ? (size_t)size - 2 : CONFIG_LINE_MAX;
	newline = memchr(start, '\n', (size_t)(l->end - start));
	len = (size_t)((newline != NULL ? newline : l->end) - start);
	l->pos = newline != NULL ? newline + 1 : l->end;
	l->line++;
	if (len > 0 && start[len - 1] == '\r')
		len--;
	if (l->line == 1 && len >= 3 && memcmp(start, "\xef\xbb\xbf", 3) == 0) {
		start += 3;
		len -= 3;
	}
	if (!loader_line_ok(l, start, len, max))
		len = 0;
	memcpy(buf, start, len);
	buf[len] = '\n';
	buf[len + 1] = '\0';
	return buf;
}

static void loader_unknown_key(struct loader *l, const char *name)
{
	const struct config_key *nearest = key_suggest(name);

	if (nearest != NULL)
		loader_error(l, l->line, "unknown key '%s' (did you mean '%s'?)", name,
		             nearest->name);
	else
		loader_error(l, l->line, "unknown key '%s'", name);
}

/* libinih's handler, called right after loader_read_line() returned the line. */
static int loader_assign(void *user, const char *section, const char *name, const char *text)
{
	struct loader *l = user;
	char full[SECTION_NAME_MAX + 1 + CONFIG_LINE_MAX + 1];
	const struct config_key *key;
	struct config_value value;
	char error[CONFIG_ERROR_MAX];

	if (l->skip_section)
		return 1;
	snprintf(full, sizeof(full), "%s%s%s", section, section[0] != '\0' ? "." : "", name);
	key = config_key_find(full);
	if (key == NULL) {
		loader_unknown_key(l, full);
		return 1;
	}
	if (value_parse(key, text, true, &value, error) < 0) {
		loader_error(l, l->line, "%s: %s", key->name, error);
		return 1;
	}
	value.origin = l->file;
	value.line = l->line;
	value_free(&l->config->values[key - config_keys]);
	l->config->values[key - config_keys] = value;
	return 1;
}

/* libinih's options are process-wide variables: set every one that matters before each use. */
static void loader_setup_inih(void)
{
	static char comment_prefixes[] = "#"; /* ';' starts no comment */

	ini_allow_multiline = false; /* an indented line is a line, not a continuation */
	ini_allow_bom = false;       /* loader_read_line() removes it */
	ini_start_comment_prefixes = comment_prefixes;
	ini_allow_inline_comments = false; /* in "a;b # c" all of it is the value */
	ini_use_stack = true;
	ini_max_line = CONFIG_LINE_MAX + 2; /* '\n' and NUL */
	ini_allow_realloc = false;
	ini_stop_on_first_error = false;
	ini_allow_no_value = false;
}

/* Parses len bytes of text as the file l->file. */
static void loader_parse_text(struct loader *l, const char *text, size_t len)
{
	int ret;

	l->pos = text;
	l->end = len != 0 ? text + len : text; /* text may be NULL when len is 0 */
	l->line = 0;
	l->skip_section = false;
	loader_setup_inih();
	ret = ini_parse_stream(loader_read_line, l, loader_assign, l);
	if (ret == -2)
		config_fatal("out of memory");
	/* Not expected: loader_line_ok() lets through only lines libinih takes. */
	if (ret != 0)
		loader_error(l, ret > 0 ? (unsigned)ret : 0, "syntax error");
}

/* All of l->file, or NULL after reporting why not. */
static char *loader_read_file(struct loader *l, size_t *len_r)
{
	size_t size = 0, cap = 64 * 1024;
	int fd = open(l->file, O_RDONLY | O_CLOEXEC);
	char *buf;
	ssize_t n;

	if (fd < 0) {
		loader_error(l, 0, "cannot open: %s", strerror(errno));
		return NULL;
	}
	buf = config_xmalloc(cap);
	do {
		if (size == cap) {
			cap = cap * 2 < CONFIG_FILE_MAX + 1 ? cap * 2 : CONFIG_FILE_MAX + 1;
			buf = config_xrealloc(buf, cap);
		}
		n = read(fd, buf + size, cap - size);
		if (n > 0)
			size += (size_t)n;
	} while (size <= CONFIG_FILE_MAX && (n > 0 || (n < 0 && errno == EINTR)));
	if (n < 0)
		loader_error(l, 0, "cannot read: %s", strerror(errno));
	else if (size > CONFIG_FILE_MAX)
		loader_error(l, 0, "file too large (max %d bytes)", CONFIG_FILE_MAX);
	close(fd);
	if (n < 0 || size > CONFIG_FILE_MAX) {
		free(buf);
		return NULL;
	}
	*len_r = size;
	return buf;
}

static void loader_parse_file(struct loader *l, const char *path)
{
	size_t len;
	char *text;

	l->file = config_add_file(l->config, path);
	text = loader_read_file(l, &len);
	if (text == NULL)
		return;
	loader_parse_text(l, text, len);
	free(text);
}

/* "*.conf", as the shell's glob matches it: not a dot file. */
static bool is_dropin_name(const char *name)
{
	size_t len = strlen(name);

	return name[0] != '.' && len > 5 && strcmp(name + len - 5, ".conf") == 0;
}

static int name_compare(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The drop-in file names in dir, sorted; NULL (count 0) after reporting a failure. */
static char **loader_list_dropins(struct loader *l, DIR *dir, size_t *count_r)
{
	char **names = NULL;
	size_t count = 0;
	struct dirent *entry;

	errno = 0;
	while ((entry = readdir(dir)) != NULL) {
		if (!is_dropin_name(entry->d_name))
			continue;
		names = config_xrealloc(names, (count + 1) * sizeof(*names));
		names[count++] = config_xstrdup(entry->d_name);
	}
	if (errno != 0)
		loader_error(l, 0, "cannot read directory: %s", strerror(errno));
	if (count > 0)
		array_sort(names, count, sizeof(*names), name_compare);
	*count_r = count;
	return names;
}

/* Every *.conf in conf.d/ beside the main file, in strcmp() order. */
static void loader_parse_dropins(struct loader *l, const char *main_path)
{
	const char *slash = strrchr(main_path, '/');
	char *dir_path = slash == NULL
	                     ? config_xstrdup("conf.d")
	                     : config_xprintf("%.*s/conf.d", (int)(slash - main_path), main_path);
	DIR *dir = opendir(dir_path);
	char **names = NULL;
	size_t count = 0;

	l->file = dir_path;
	if (dir == NULL && errno != ENOENT)
		loader_error(l, 0, "cannot open directory: %s", strerror(errno));
	if (dir != NULL) {
		names = loader_list_dropins(l, dir, &count);
		closedir(dir);
	}
	for (size_t i = 0; i < count; i++) {
		char *path = config_xprintf("%s/%s", dir_path, names[i]);
		loader_parse_file(l, path);
		free(path);
		free(names[i]);
	}
	free(names);
	free(dir_path);
}

static int loader_finish(struct loader *l, struct config **config_r)
{
	if (l->error_count == 0) {
		*config_r = l->config;
		return 0;
	}
	config_free(&l->config);
	*config_r = NULL;
	return -1;
}

int config_load(const char *path, struct config **config_r, struct config_errors *errors_r)
{
	struct loader l = {.config = config_new(path), .errors = errors_r};

	loader_parse_file(&l, path);
	loader_parse_dropins(&l, path);
	return loader_finish(&l, config_r);
}

int config_load_string(const char *name, const char *text, size_t len, struct config **config_r,
                       struct config_errors *errors_r)
{
	struct loader l = {.config = config_new(""), .errors = errors_r};

	l.file = config_add_file(l.config, name);
	loader_parse_text(&l, text, len);
	return loader_finish(&l, config_r);
}

const char *config_path(const struct config *config)
{
	return config->path;
}

const char *config_str(const struct config *c, const char *key)
{
	return value_get(c, key, TYPES_TEXT, "a text")->text;
}

bool config_bool(const struct config *c, const char *key)
{
	return value_get(c, key, TYPE_BIT(CONFIG_BOOL), "a boolean")->number != 0;
}

uint64_t config_uint(const struct config *c, const char *key)
{
	return value_get(c, key, TYPES_NUMBER, "a number")->number;
}

size_t config_listen(const struct config *c, const char *key, struct config_listen *out, size_t max)
{
	const struct config_value *value = value_get(c, key, TYPE_BIT(CONFIG_LISTEN), "a listen");

	for (size_t i = 0; i < value->listen_count && i < max; i++)
		out[i] = value->listen[i];
	return value->listen_count;
}

const char *config_value_text(const struct config *c, const char *key)
{
	return value_get(c, key, ~0u, "")->text;
}

bool config_is_default(const struct config *c, const char *key)
{
	const struct config_key *k = key_get(key, ~0u, "");
	struct config_value def;
	bool equal;

	value_default(k, &def);
	equal = value_equal(k, &c->values[k - config_keys], &def);
	value_free(&def);
	return equal;
}

const char *config_origin(const struct config *c, const char *key, unsigned *line_r)
{
	const struct config_value *value = value_get(c, key, ~0u, "");

	if (line_r != NULL)
		*line_r = value->line;
	return value->origin;
}

uint32_t config_changed_roles(const struct config *old_c, const struct config *new_c,
                              bool *supervisor_changed_r)
{
	uint32_t roles = 0;
	bool supervisor = false;

	for (size_t i = 0; i < config_keys_count; i++) {
		if (config_keys[i].live ||
		    value_equal(&config_keys[i], &old_c->values[i], &new_c->values[i]))
			continue;
		roles |= config_keys[i].roles;
		if (config_keys[i].roles == ROLE_NONE)
			supervisor = true;
	}
	if (supervisor_changed_r != NULL)
		*supervisor_changed_r = supervisor;
	return roles;
}
