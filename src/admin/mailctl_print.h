#ifndef MAILD_MAILCTL_PRINT_H
#define MAILD_MAILCTL_PRINT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct config;
struct json_t;
struct mailctl_reply;
struct mailctl_status;

/* Big enough for every mailctl_format_*() result. */
#define MAILCTL_FIELD_MAX 32
/* Most columns a table may have. */
#define MAILCTL_TABLE_COLS_MAX 8

/* "unlimited" for 0, plain bytes below 1 K, else one decimal and a 1024-based unit: "1.5K",
   "1.0G", "2048.0T". */
void mailctl_format_size(uint64_t bytes, char buf[static MAILCTL_FIELD_MAX]);
/* YYYY-MM-DD in local time. */
void mailctl_format_date(int64_t unix_time, char buf[static MAILCTL_FIELD_MAX]);
/* The two largest units: "3d4h", "2h05m", "4m05s", "45s". */
void mailctl_format_uptime(int64_t seconds, char buf[static MAILCTL_FIELD_MAX]);

/*
 * A table for people: a header row, then rows, each column as wide as its widest cell (in
 * UTF-8 characters) plus two spaces, the last column not padded. Control characters in cells
 * are shown as '?'. Out of memory is fatal.
 */
struct mailctl_table;

/* ncols: 1 .. MAILCTL_TABLE_COLS_MAX; headers: ncols strings, copied. */
struct mailctl_table *mailctl_table_new(size_t ncols, const char *const *headers);
/* cells: ncols strings, copied. */
void mailctl_table_add(struct mailctl_table *table, const char *const *cells);
void mailctl_table_print(const struct mailctl_table *table, FILE *out);
void mailctl_table_free(struct mailctl_table **table);

/* Prints the result of a successful request cmd ("user.add") to out: a confirmation line, a
   table or `key: value` lines, or with json one JSON object per line (per row of a list, per
   worker of status). args are the request's arguments, naming the object when the result does
   not. Unknown keys in the result are ignored. Returns 0, or -1 when the result lacks the shape
   the protocol promises for cmd (nothing printed then). */
int mailctl_print_result(FILE *out, const char *cmd, const struct json_t *result,
                         const struct json_t *args, bool json);
/* The reply to request, from the admin socket at socket: an error with its details on stderr
   (returns the reply's code), or the result on stdout as mailctl_print_result() prints it
   (returns 0; 70 with st set when the result lacks its promised shape). */
int mailctl_print_reply(const char *socket, const struct json_t *request,
                        const struct mailctl_reply *reply, bool json, struct mailctl_status *st);
/* "mailctl: <error>" and each detail line, control characters shown as '?'. */
void mailctl_print_error(FILE *out, const char *error, const struct json_t *details);
/* `config show`: every key of config in name order (only key when not NULL; with changed_only
   only those that differ from their default), one "key = value" line each ("key =" when
   empty), or with json {"key": ..., "value": ..., "default": bool}. */
void mailctl_print_config(FILE *out, const struct config *config, const char *key,
                          bool changed_only, bool json);

#endif
