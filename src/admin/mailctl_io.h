#ifndef MAILD_MAILCTL_IO_H
#define MAILD_MAILCTL_IO_H

#include <stdbool.h>
#include <stddef.h>

#include "mailctl.h"

#define MAILCTL_DEFAULT_CONFIG "/etc/maild/maild.conf"
/* Seconds mailctl waits for maild on each send and each read of the reply. */
#define MAILCTL_REPLY_TIMEOUT 30
/* Longest reply line read (a `user list` of a large site is big, but not this big). */
#define MAILCTL_REPLY_MAX (64 * 1024 * 1024)
/* Longest request line, without its '\n' (docs/admin-protocol.md, "Framing"). */
#define MAILCTL_REQUEST_MAX 65536
/* Longest password read, in bytes. */
#define MAILCTL_PASSWORD_MAX 1024
/* Exit status when the person at the terminal answers no to "Remove ...?". */
#define MAILCTL_EXIT_DECLINED 1

struct config;

/*
 * The configuration file.
 */

/* The configuration in use and where it came from. */
struct mailctl_config {
	struct config *config;
	const char *path;
	bool defaults; /* the default path does not exist: built-in defaults */
};

/* Loads path (--config), else $MAILD_CONFIG, else MAILCTL_DEFAULT_CONFIG, whose absence means
   config_defaults(). Returns 0, or 78 after printing every error of the file, one per line.
   The caller frees c->config with config_free(). */
int mailctl_io_config_open(const char *path, struct mailctl_config *c, struct mailctl_status *st);

/*
 * Talking to maild.
 */

/* A reply, parsed; result, error and details point into root. */
struct mailctl_reply {
	struct json_t *root;
	bool ok;
	const struct json_t *result;  /* ok: the result (JSON null when absent) */
	int code;                     /* !ok: the exit status, 1..255 (70 when maild sent none) */
	const char *error;            /* !ok: the message */
	const struct json_t *details; /* !ok: the array of strings, or NULL */
};

/* Sends request (a JSON object) as one line to the admin socket at path and reads the reply
   line, waiting at most timeout_secs for each send and each read. Returns 0 with *reply_r set
   (free it with mailctl_reply_clear()), or an exit status with st set: 65 request longer than
   MAILCTL_REQUEST_MAX, 69 maild not reachable, 77 permission denied, 75 no reply or connection
   closed, 78 path unusable for a socket, 70 reply malformed or longer than MAILCTL_REPLY_MAX.
   The encoded request, which may hold a password, is wiped before it is freed. */
int mailctl_io_exchange(const char *path, const struct json_t *request, unsigned timeout_secs,
                        struct mailctl_reply *reply_r, struct mailctl_status *st);

/* Parses one reply line. Returns 0, or -1 when it is not a reply as the protocol defines it. */
int mailctl_reply_parse(const char *line, size_t len, struct mailctl_reply *reply_r);
/* Accepts a zeroed reply. */
void mailctl_reply_clear(struct mailctl_reply *reply);

/*
 * Talking to the person (or script) running mailctl.
 */

struct mailctl_password {
	char text[MAILCTL_PASSWORD_MAX + 1];
	size_t len;
};

/* Reads a password for object ("user bob@example.org"): on a terminal asked twice with echo
   off (restored also when SIGINT, SIGTERM, SIGHUP or SIGQUIT ends mailctl meanwhile), else
   exactly one line of standard input without its "\n" or "\r\n". Returns 0, or 65 with st set
   (none given, mismatch, too long, NUL byte), 74 when echo cannot be turned off. The caller
   wipes pw with explicit_bzero() after use, also after a failure. */
int mailctl_io_password(const char *object, struct mailctl_password *pw, struct mailctl_status *st);

/* Before removing object ("alias a@example.org"), or only its target when not NULL: when
   standard input is not a terminal 64 ("refusing to remove without --yes"), else asks there
   and returns 0 for "y" or "yes" (any case), MAILCTL_EXIT_DECLINED for anything else. st is
   set when it does not return 0. */
int mailctl_io_confirm_remove(const char *object, const char *target, struct mailctl_status *st);

#endif
