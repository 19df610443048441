#ifndef MAILD_CONFIG_H
#define MAILD_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "roles.h"

/*
 * The configuration file: flat `key = value` lines with dotted names, `#` comments at the start
 * of a line, blank lines, and optional `[name]` sections that prefix the keys below them with
 * "name.". Values are trimmed; `;` and `#` inside a value are part of it. A later assignment
 * overrides an earlier one. config_load() reads the main file, then every `*.conf` of
 * `<directory of the main file>/conf.d/` in strcmp() order.
 *
 * Every error of every file is collected in one pass, each line formatted `FILE:LINE: message`
 * (`FILE: message` when it is about the file as a whole).
 *
 * Parsing uses libinih and sets its run-time option globals (ini_allow_multiline, ...) on every
 * call: do not load a config concurrently with another libinih user in the same process.
 */

/* Longest line accepted, not counting the line ending. */
#define CONFIG_LINE_MAX 4096
/* Largest file accepted, main file or drop-in. */
#define CONFIG_FILE_MAX (1024 * 1024)
/* Errors stored per load; one more line says that there were more. */
#define CONFIG_ERRORS_MAX 100
/* Addresses in one LISTEN value. */
#define CONFIG_LISTEN_MAX 64
/* Buffer size for the error text of the config_parse_*() functions. */
#define CONFIG_ERROR_MAX 256
/* Buffer size for config_format_size() and config_format_duration(). */
#define CONFIG_NUMBER_MAX 32

enum config_type {
	CONFIG_STRING,   /* any text, also empty */
	CONFIG_PATH,     /* must begin with '/' */
	CONFIG_BOOL,     /* yes/no, true/false, on/off, any case */
	CONFIG_UINT,     /* decimal */
	CONFIG_SIZE,     /* bytes, optional K/M/G suffix (1024-based) */
	CONFIG_DURATION, /* ms/s/m/h/d suffix, plain number = seconds; stored in milliseconds */
	CONFIG_ENUM,     /* one of config_key.enum_values, exact */
	CONFIG_LISTEN,   /* comma- or space-separated host:port, [v6]:port, *:port; empty = none */
	CONFIG_USER,     /* a system user that exists when the file is loaded */
	CONFIG_GROUP,    /* a system group that exists when the file is loaded */
};

/* Extra check of a value that already passed its type's check: 0 if valid, else -1 with a
   static message in *error_r. */
typedef int config_validate_cb(const char *value, const char **error_r);

struct config_key {
	const char *name;
	enum config_type type;
	/* Text, parsed like a value from a file; must be valid (USER/GROUP existence aside). */
	const char *default_value;
	/* ROLE_BIT()s of the workers that read it: a SIGHUP that changes it restarts them.
	   ROLE_NONE: only the supervisor reads it. */
	uint32_t roles;
	/* CONFIG_ENUM: the allowed values, NULL-terminated. */
	const char *const *enum_values;
	/* UINT, SIZE (bytes), DURATION (milliseconds): inclusive bounds; max 0 = no maximum. */
	uint64_t min, max;
	config_validate_cb *validate; /* or NULL */
	const char *help;             /* one line for docs */
	/* Applied to running workers without a restart (the TLS files: the supervisor hands the
	   new certificate to smtp and imap at every reload), so changing it restarts nothing. */
	bool live;
};

/* Every setting, sorted by name (strcmp); see config_keys.c. */
extern const struct config_key config_keys[];
extern const size_t config_keys_count;

struct config;

struct config_errors {
	char **lines;
	size_t count;
};

/* Loads path and its drop-ins. Returns 0 with *config_r set, or -1 with *config_r NULL and every
   error appended to errors_r (which may be NULL; initialise it with {0}). */
int config_load(const char *path, struct config **config_r, struct config_errors *errors_r);
/* Like config_load() on len bytes of text named name in messages, without drop-ins. The text
   need not end in NUL; a NUL byte inside it is an error. */
int config_load_string(const char *name, const char *text, size_t len, struct config **config_r,
                       struct config_errors *errors_r);
/* Every key at its default. Never fails; USER and GROUP defaults are not looked up. */
struct config *config_defaults(void);
void config_free(struct config **config);
void config_errors_clear(struct config_errors *errors);

/* The key called name, or NULL if there is none. */
const struct config_key *config_key_find(const char *name);

/* The main file's path as given to config_load(); "" for defaults and strings. */
const char *config_path(const struct config *config);

/*
 * Accessors. Asking for a key the table does not have, or with the wrong accessor for its type,
 * is a programming error: they print a message and abort().
 */
/* STRING, PATH, ENUM, USER, GROUP, LISTEN: the value's text. */
const char *config_str(const struct config *c, const char *key);
bool config_bool(const struct config *c, const char *key);
/* UINT, SIZE (bytes), DURATION (milliseconds). */
uint64_t config_uint(const struct config *c, const char *key);

struct config_listen {
	char host[256]; /* "" for '*'; an IPv6 address without its brackets */
	uint16_t port;
};
/* LISTEN: copies up to max addresses to out, returns how many the value has (maybe > max). */
size_t config_listen(const struct config *c, const char *key, struct config_listen *out,
                     size_t max);

/* Any type: the value as text for `config show` (BOOL as yes/no, UINT in plain decimal, the rest
   as written). */
const char *config_value_text(const struct config *c, const char *key);
/* True when the value equals the default, compared parsed (25M == 26214400), whether or not a
   file set it; config_origin() tells whether one did. */
bool config_is_default(const struct config *c, const char *key);
/* The file whose assignment is in effect and its line, or NULL (and line 0) if none set it. */
const char *config_origin(const struct config *c, const char *key, unsigned *line_r);

/* OR of the roles of every key whose parsed value differs between the two configs; when
   supervisor_changed_r is not NULL, it tells whether a ROLE_NONE key differs. */
uint32_t config_changed_roles(const struct config *old_c, const struct config *new_c,
                              bool *supervisor_changed_r);

/*
 * Value parsers (config_value.c), also for mailctl arguments such as a quota. Each returns 0, or
 * -1 with a message about text (without the key name) in error, e.g. "invalid port '99999'".
 */
int config_parse_bool(const char *text, bool *value_r, char error[static CONFIG_ERROR_MAX]);
int config_parse_uint(const char *text, uint64_t *value_r, char error[static CONFIG_ERROR_MAX]);
int config_parse_size(const char *text, uint64_t *bytes_r, char error[static CONFIG_ERROR_MAX]);
int config_parse_duration(const char *text, uint64_t *msecs_r, char error[static CONFIG_ERROR_MAX]);
/* Fills out[0 .. *count_r - 1]; more than CONFIG_LISTEN_MAX addresses is an error. */
int config_parse_listen(const char *text, struct config_listen out[static CONFIG_LISTEN_MAX],
                        size_t *count_r, char error[static CONFIG_ERROR_MAX]);
/* 0 if the user (group) exists, else -1, also when the lookup itself failed. */
int config_check_user(const char *name, char error[static CONFIG_ERROR_MAX]);
int config_check_group(const char *name, char error[static CONFIG_ERROR_MAX]);
/* Shortest exact spelling of a size ("25M", "1536") or a duration ("30s", "100ms"). */
void config_format_size(uint64_t bytes, char buf[static CONFIG_NUMBER_MAX]);
void config_format_duration(uint64_t msecs, char buf[static CONFIG_NUMBER_MAX]);

#endif
