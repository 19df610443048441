#ifndef MAILD_LOG_H
#define MAILD_LOG_H

#include <stdbool.h>
#include <stddef.h>

/* Levels in syslog order; the config's log.level picks the lowest one written. */
enum log_level { LOG_LEVEL_ERROR = 3, LOG_LEVEL_WARNING = 4, LOG_LEVEL_NOTICE = 5,
		 LOG_LEVEL_INFO = 6, LOG_LEVEL_DEBUG = 7 };

/* service is the part after "maild/" in the ident ("admin", "smtpd", "submission/smtpd").
   In the foreground lines go to stderr with a timestamp, otherwise to syslog (facility mail). */
void log_init(const char *service, bool foreground);
/* Change the service part of the ident, e.g. after a role is known. */
void log_set_service(const char *service);
void log_set_level(enum log_level level);
/* "debug", "info", ... -> level; -1 when unknown. */
int log_level_from_name(const char *name);

void log_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warning(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_notice(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* A broken invariant of our own: log and exit(70). */
void fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

/* Escape untrusted text for a log line: printable ASCII and valid UTF-8 pass, anything else
   becomes \xNN; at most out_size-1 bytes, truncation marked with "...". Returns out. */
const char *log_esc_buf(const char *in, size_t len, char *out, size_t out_size);
/* Same into one of a few rotating static buffers (for use inside one log call). */
const char *log_esc(const char *in);

#endif
