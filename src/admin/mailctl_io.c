/*
 * mailctl's dealings with the outside: the configuration file, the admin socket, and the
 * terminal (passwords, "Remove ...?").
 */
#include <errno.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <sysexits.h>
#include <termios.h>
#include <unistd.h>

#include "core/config.h"
#include "core/strutil.h"
#include "mailctl_io.h"

/* Longest answer to "Remove ...? [y/N]" looked at. */
#define MAILCTL_ANSWER_MAX 16

/*
 * The configuration file.
 */

int mailctl_io_config_open(const char *path, struct mailctl_config *c, struct mailctl_status *st)
{
	const char *env = getenv("MAILD_CONFIG");
	struct config_errors errors = {0};
	struct stat sb;

	c->path = path;
	if (c->path == NULL && env != NULL && env[0] != '\0')
		c->path = env;
	if (c->path == NULL) {
		c->path = MAILCTL_DEFAULT_CONFIG;
		if (stat(c->path, &sb) < 0 && errno == ENOENT) {
			c->defaults = true;
			c->config = config_defaults();
			return 0;
		}
	}
	if (config_load(c->path, &c->config, &errors) == 0)
		return 0;
	for (size_t i = 0; i < errors.count; i++)
		fprintf(stderr, "%s\n", errors.lines[i]);
	if (errors.count == 0)
		fprintf(stderr, "%s: cannot be loaded\n", c->path);
	config_errors_clear(&errors);
	return mailctl_failed(st, EX_CONFIG);
}

/*
 * The admin socket.
 */

static int mailctl_connect_error(const char *path, int err, struct mailctl_status *st)
{
	switch (err) {
	case ENOENT:
	case ECONNREFUSED:
		return mailctl_fail(st, EX_UNAVAILABLE, "admin socket %s: %s (is maild running?)",
		                    path, strerror(err));
	case EACCES:
	case EPERM:
		return mailctl_fail(st, EX_NOPERM, "admin socket %s: %s", path, strerror(err));
	case EAGAIN:
		/* The listen backlog stayed full for the whole SO_SNDTIMEO. */
		return mailctl_fail(st, EX_TEMPFAIL, "admin socket %s: no reply from maild", path);
	default:
		return mailctl_fail(st, EX_UNAVAILABLE, "admin socket %s: %s", path, strerror(err));
	}
}

static int mailctl_connect(const char *path, unsigned timeout_secs, int *fd_r,
                           struct mailctl_status *st)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	struct timeval tv = {.tv_sec = (time_t)timeout_secs};
	int fd, err;

	/* An empty sun_path would name an abstract socket: not what any config means. */
	if (path[0] == '\0' || str_copy(sun.sun_path, sizeof(sun.sun_path), path) < 0)
		return mailctl_fail(st, EX_CONFIG, "admin socket '%s': not usable as a socket path",
		                    path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return mailctl_fail(st, EX_OSERR, "admin socket %s: %s", path, strerror(errno));
	/* On Linux SO_SNDTIMEO also bounds connect() to a unix socket with a full backlog. */
	if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) < 0 ||
	    connect(fd, (const struct sockaddr *)&sun, sizeof(sun)) < 0) {
		err = errno;
		close(fd);
		return mailctl_connect_error(path, err, st);
	}
	*fd_r = fd;
	return 0;
}

static int mailctl_io_error(const char *path, int err, struct mailctl_status *st)
{
	if (err == EAGAIN || err == EWOULDBLOCK)
		return mailctl_fail(st, EX_TEMPFAIL, "admin socket %s: no reply from maild", path);
	if (err == EPIPE || err == ECONNRESET || err == 0)
		return mailctl_fail(st, EX_TEMPFAIL, "admin socket %s: connection closed by maild",
		                    path);
	return mailctl_fail(st, EX_TEMPFAIL, "admin socket %s: %s", path, strerror(err));
}

static int mailctl_send(int fd, const char *path, const char *buf, size_t len,
                        struct mailctl_status *st)
{
	while (len > 0) {
		/* MSG_NOSIGNAL: a maild gone away is an error to report, not a SIGPIPE. */
		ssize_t n = send(fd, buf, len, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return mailctl_io_error(path, errno, st);
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Reads up to the first '\n', which becomes the NUL ending *line_r; the rest is ignored. */
static int mailctl_recv_line(int fd, const char *path, char **line_r, size_t *len_r,
                             struct mailctl_status *st)
{
	size_t len = 0, size = 4096;
	char *buf = malloc(size), *nl;
	ssize_t n = 0;

	for (;;) {
		if (buf == NULL)
			mailctl_oom();
		n = recv(fd, buf + len, size - len, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		nl = memchr(buf + len, '\n', (size_t)n);
		len += (size_t)n;
		if (nl != NULL) {
			*nl = '\0';
			*line_r = buf;
			*len_r = (size_t)(nl - buf);
			return 0;
		}
		if (len == size && size >= MAILCTL_REPLY_MAX)
			break;
		if (len == size)
			buf = realloc(buf, size *= 2);
	}
	free(buf);
	if (n > 0)
		return mailctl_fail(st, EX_SOFTWARE, "admin socket %s: reply longer than %d bytes",
		                    path, MAILCTL_REPLY_MAX);
	return mailctl_io_error(path, n < 0 ? errno : 0, st);
}

/* request as one line ending in '\n', malloc'ed. */
static int mailctl_request_encode(const json_t *request, char **line_r, size_t *len_r,
                                  struct mailctl_status *st)
{
	/* json_dumpb() writes straight into our buffer: no stray copies of a password. */
	size_t len = json_dumpb(request, NULL, 0, JSON_COMPACT);
	char *line;

	if (len == 0)
		mailctl_oom();
	if (len > MAILCTL_REQUEST_MAX)
		return mailctl_fail(st, EX_DATAERR, "request: longer than %d bytes",
		                    MAILCTL_REQUEST_MAX);
	line = malloc(len + 1);
	if (line == NULL || json_dumpb(request, line, len, JSON_COMPACT) != len)
		mailctl_oom();
	line[len] = '\n';
	*line_r = line;
	*len_r = len + 1;
	return 0;
}

int mailctl_io_exchange(const char *path, const json_t *request, unsigned timeout_secs,
                        struct mailctl_reply *reply_r, struct mailctl_status *st)
{
	char *line = NULL, *reply = NULL;
	size_t len = 0, reply_len = 0;
	int fd = -1;
	int ret = mailctl_request_encode(request, &line, &len, st);

	if (ret == 0)
		ret = mailctl_connect(path, timeout_secs, &fd, st);
	if (ret == 0)
		ret = mailctl_send(fd, path, line, len, st);
	if (ret == 0)
		ret = mailctl_recv_line(fd, path, &reply, &reply_len, st);
	if (fd >= 0)
		close(fd);
	if (line != NULL)
		explicit_bzero(line, len);
	free(line);
	if (ret == 0 && mailctl_reply_parse(reply, reply_len, reply_r) < 0)
		ret = mailctl_fail(st, EX_SOFTWARE, "admin socket %s: malformed reply from maild",
		                   path);
	free(reply);
	return ret;
}

int mailctl_reply_parse(const char *line, size_t len, struct mailctl_reply *reply_r)
{
	struct mailctl_reply r = {0};
	const json_t *ok, *code;

	r.root = json_loadb(line, len, JSON_REJECT_DUPLICATES, NULL);
	ok = json_object_get(r.root, "ok");
	if (!json_is_object(r.root) || !json_is_boolean(ok)) {
		json_decref(r.root);
		return -1;
	}
	r.ok = json_is_true(ok);
	r.result = json_object_get(r.root, "result");
	if (r.result == NULL)
		r.result = json_null();
	code = json_object_get(r.root, "code");
	/* An error must not become exit status 0, nor one the shell cannot carry. */
	r.code = EX_SOFTWARE;
	if (json_is_integer(code) && json_integer_value(code) > 0 && json_integer_value(code) < 256)
		r.code = (int)json_integer_value(code);
	r.error = json_string_value(json_object_get(r.root, "error"));
	if (r.error == NULL)
		r.error = "maild: request failed (no error text in the reply)";
	r.details = json_object_get(r.root, "details");
	if (!json_is_array(r.details))
		r.details = NULL;
	*reply_r = r;
	return 0;
}

void mailctl_reply_clear(struct mailctl_reply *reply)
{
	json_decref(reply->root);
	memset(reply, 0, sizeof(*reply));
}

/*
 * The terminal.
 */

/* Reads one line from fd a byte at a time, so that nothing after it is consumed and no copy
   of a password is left in a stdio buffer. Stores it without "\n" or "\r\n", NUL-terminated.
   Returns its length; -1 on end of input before any byte or on a read error; -2 when it does
   not fit in size - 1 bytes (the rest of the line is read and dropped). */
static ssize_t mailctl_read_line(int fd, char *buf, size_t size)
{
	size_t len = 0;
	bool any = false, newline = false, too_long = false;
	char c = '\0';
	ssize_t n;

	buf[0] = '\0';
	while (!newline && (n = read(fd, &c, 1)) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		any = true;
		newline = c == '\n';
		if (!newline && len + 1 < size)
			buf[len++] = c;
		else if (!newline)
			too_long = true;
	}
	explicit_bzero(&c, sizeof(c));
	if (newline && len > 0 && buf[len - 1] == '\r')
		len--;
	buf[len] = '\0';
	if (!any)
		return -1;
	return too_long ? -2 : (ssize_t)len;
}

/* The terminal's settings while echo is off, for the signal handler to put back. */
static struct termios mailctl_tty_saved;
static volatile sig_atomic_t mailctl_tty_quiet;
static const int mailctl_tty_signals[] = {SIGHUP, SIGINT, SIGQUIT, SIGTERM};
#define MAILCTL_TTY_SIGNALS (sizeof(mailctl_tty_signals) / sizeof(mailctl_tty_signals[0]))
static struct sigaction mailctl_tty_old[MAILCTL_TTY_SIGNALS];

/* Puts echo back, then dies of sig as if we had not caught it. */
static void mailctl_tty_signal(int sig)
{
	if (mailctl_tty_quiet)
		(void)tcsetattr(STDIN_FILENO, TCSANOW, &mailctl_tty_saved);
	(void)signal(sig, SIG_DFL);
	(void)raise(sig);
}

static void mailctl_tty_echo_on(void)
{
	(void)tcsetattr(STDIN_FILENO, TCSAFLUSH, &mailctl_tty_saved);
	mailctl_tty_quiet = 0;
	for (size_t i = 0; i < MAILCTL_TTY_SIGNALS; i++)
		(void)sigaction(mailctl_tty_signals[i], &mailctl_tty_old[i], NULL);
}

static int mailctl_tty_echo_off(void)
{
	struct sigaction sa = {.sa_handler = mailctl_tty_signal};
	struct termios quiet;

	if (tcgetattr(STDIN_FILENO, &mailctl_tty_saved) < 0)
		return -1;
	sigemptyset(&sa.sa_mask);
	for (size_t i = 0; i < MAILCTL_TTY_SIGNALS; i++) {
		(void)sigaction(mailctl_tty_signals[i], NULL, &mailctl_tty_old[i]);
		/* A signal ignored by whoever started us stays ignored. */
		if (mailctl_tty_old[i].sa_handler != SIG_IGN)
			(void)sigaction(mailctl_tty_signals[i], &sa, NULL);
	}
	quiet = mailctl_tty_saved;
	quiet.c_lflag &= ~(tcflag_t)(ECHO | ECHOE | ECHOK);
	quiet.c_lflag |= ECHONL; /* the Enter still moves to the next line */
	mailctl_tty_quiet = 1;
	if (tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet) < 0) {
		int err = errno;

		mailctl_tty_echo_on();
		errno = err;
		return -1;
	}
	return 0;
}

static ssize_t mailctl_tty_ask(const char *prompt, struct mailctl_password *pw)
{
	ssize_t n;

	fputs(prompt, stderr);
	fflush(stderr);
	n = mailctl_read_line(STDIN_FILENO, pw->text, sizeof(pw->text));
	pw->len = n > 0 ? (size_t)n : 0;
	return n;
}

/* The checks every password passes, wherever it came from. */
static int mailctl_password_check(const char *object, const struct mailctl_password *pw, ssize_t n,
                                  struct mailctl_status *st)
{
	if (n == -2)
		return mailctl_fail(st, EX_DATAERR, "%s: password longer than %d bytes", object,
		                    MAILCTL_PASSWORD_MAX);
	if (n <= 0)
		return mailctl_fail(st, EX_DATAERR, "%s: no password given%s", object,
		                    isatty(STDIN_FILENO) ? "" : " on standard input");
	if (strlen(pw->text) != pw->len)
		return mailctl_fail(st, EX_DATAERR, "%s: password contains a NUL byte", object);
	return 0;
}

static int mailctl_password_tty(const char *object, struct mailctl_password *pw,
                                struct mailctl_status *st)
{
	struct mailctl_password again = {{0}, 0};
	ssize_t n, m = 0;
	int ret;

	if (mailctl_tty_echo_off() < 0)
		return mailctl_fail(st, EX_IOERR, "%s: cannot turn off echo on the terminal: %s",
		                    object, strerror(errno));
	n = mailctl_tty_ask("Password: ", pw);
	if (n > 0)
		m = mailctl_tty_ask("Retype password: ", &again);
	mailctl_tty_echo_on();
	ret = mailctl_password_check(object, pw, n, st);
	if (ret == 0 && (m != n || memcmp(pw->text, again.text, pw->len) != 0))
		ret = mailctl_fail(st, EX_DATAERR, "%s: passwords do not match", object);
	explicit_bzero(&again, sizeof(again));
	return ret;
}

int mailctl_io_password(const char *object, struct mailctl_password *pw, struct mailctl_status *st)
{
	ssize_t n;

	if (isatty(STDIN_FILENO))
		return mailctl_password_tty(object, pw, st);
	n = mailctl_read_line(STDIN_FILENO, pw->text, sizeof(pw->text));
	pw->len = n > 0 ? (size_t)n : 0;
	return mailctl_password_check(object, pw, n, st);
}

int mailctl_io_confirm_remove(const char *object, const char *target, struct mailctl_status *st)
{
	char answer[MAILCTL_ANSWER_MAX];

	if (!isatty(STDIN_FILENO))
		return mailctl_fail(st, EX_USAGE, "%s: refusing to remove without --yes", object);
	if (target != NULL)
		fprintf(stderr, "Remove target %s from %s? [y/N] ", target, object);
	else
		fprintf(stderr, "Remove %s? [y/N] ", object);
	fflush(stderr);
	if (mailctl_read_line(STDIN_FILENO, answer, sizeof(answer)) == -1)
		fputc('\n', stderr);
	else if (strcasecmp(answer, "y") == 0 || strcasecmp(answer, "yes") == 0)
		return 0;
	return mailctl_fail(st, MAILCTL_EXIT_DECLINED, "%s: not removed", object);
}
