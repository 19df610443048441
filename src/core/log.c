#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "utf8.h"

static char log_ident[64] = "maild";
static bool log_foreground = true;
static enum log_level log_min_level = LOG_LEVEL_INFO;

static const struct {
	const char *name;
	enum log_level level;
} log_level_names[] = {
	{ "error", LOG_LEVEL_ERROR }, { "warning", LOG_LEVEL_WARNING },
	{ "notice", LOG_LEVEL_NOTICE }, { "info", LOG_LEVEL_INFO },
	{ "debug", LOG_LEVEL_DEBUG },
};

static void log_set_ident(const char *service)
{
	if (service == NULL || *service == '\0')
		snprintf(log_ident, sizeof(log_ident), "maild");
	else
		snprintf(log_ident, sizeof(log_ident), "maild/%s", service);
}

void log_init(const char *service, bool foreground)
{
	log_set_ident(service);
	log_foreground = foreground;
	if (!foreground) {
		closelog();
		/* openlog keeps the pointer: log_ident is static and updated in place. */
		openlog(log_ident, LOG_PID | LOG_NDELAY, LOG_MAIL);
	}
}

void log_set_service(const char *service)
{
	log_set_ident(service);
	if (!log_foreground) {
		closelog();
		openlog(log_ident, LOG_PID | LOG_NDELAY, LOG_MAIL);
	}
}

void log_set_level(enum log_level level)
{
	log_min_level = level;
}

int log_level_from_name(const char *name)
{
	for (size_t i = 0; i < sizeof(log_level_names) / sizeof(log_level_names[0]); i++) {
		if (strcmp(log_level_names[i].name, name) == 0)
			return (int)log_level_names[i].level;
	}
	return -1;
}

static void log_write(enum log_level level, const char *fmt, va_list ap)
{
	char line[4096];
	int saved_errno = errno;

	if (level > log_min_level)
		return;
	vsnprintf(line, sizeof(line), fmt, ap);
	if (log_foreground) {
		struct timespec ts;
		struct tm tm;
		char stamp[32];

		clock_gettime(CLOCK_REALTIME, &ts);
		gmtime_r(&ts.tv_sec, &tm);
		strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", &tm);
		/* One write per line so lines of several processes on one stderr never interleave. */
		dprintf(STDERR_FILENO, "%s.%03ldZ %s[%ld]: %s\n", stamp, ts.tv_nsec / 1000000,
			log_ident, (long)getpid(), line);
	} else {
		syslog((int)level, "%s", line);
	}
	errno = saved_errno;
}

#define LOG_FN(fn, level)                                                                          \
	void fn(const char *fmt, ...)                                                              \
	{                                                                                          \
		va_list ap;                                                                        \
		va_start(ap, fmt);                                                                 \
		log_write(level, fmt, ap);                                                         \
		va_end(ap);                                                                        \
	}

LOG_FN(log_error, LOG_LEVEL_ERROR)
LOG_FN(log_warning, LOG_LEVEL_WARNING)
LOG_FN(log_notice, LOG_LEVEL_NOTICE)
LOG_FN(log_info, LOG_LEVEL_INFO)
LOG_FN(log_debug, LOG_LEVEL_DEBUG)

void fatal(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_write(LOG_LEVEL_ERROR, fmt, ap);
	va_end(ap);
	exit(70);
}

const char *log_esc_buf(const char *in, size_t len, char *out, size_t out_size)
{
	const unsigned char *p = (const unsigned char *)in;
	size_t o = 0;

	if (out_size < 8) {
		if (out_size > 0)
			out[0] = '\0';
		return out;
	}
	for (size_t i = 0; i < len;) {
		size_t n = p[i] >= 0x80 ? utf8_char_len(p + i, len - i) : 0;
		size_t need = n > 0 ? n : (p[i] >= 0x20 && p[i] < 0x7f && p[i] != '\\') ? 1 : 4;

		if (o + need + 4 > out_size) {
			memcpy(out + o, "...", 3);
			o += 3;
			break;
		}
		if (n > 0)
			memcpy(out + o, p + i, n), i += n;
		else if (need == 1)
			out[o] = (char)p[i++];
		else
			snprintf(out + o, 5, "\\x%02x", p[i++]);
		o += need;
	}
	out[o] = '\0';
	return out;
}

const char *log_esc(const char *in)
{
	static char bufs[4][512];
	static unsigned next;
	char *out = bufs[next++ % 4];

	if (in == NULL)
		return "(null)";
	return log_esc_buf(in, strlen(in), out, sizeof(bufs[0]));
}
