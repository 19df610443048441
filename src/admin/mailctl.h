#ifndef MAILD_MAILCTL_H
#define MAILD_MAILCTL_H

#include <stddef.h>
#include <stdint.h>

/* The admin client: maild run under the name "mailctl". Speaks docs/admin-protocol.md to the
   admin socket (config key admin.socket); `config`, `version` and `help` run locally.
   Returns the process exit status (sysexits, see docs/admin-protocol.md). */
int mailctl_main(int argc, char **argv);

/*
 * Internals shared by the mailctl*.c files and tests/unit/test_mailctl.c.
 */

struct json_t;

/* Longest one-line message kept in a struct mailctl_status. */
#define MAILCTL_MSG_MAX 1024
/* Positional words accepted on the command line, NOUN and VERB included. */
#define MAILCTL_POS_MAX 8
/* Largest size accepted: what a JSON integer (int64_t) can carry. */
#define MAILCTL_SIZE_MAX ((uint64_t)INT64_MAX)

/* How something went: an exit status and, when it is not 0, the line printed after
   "mailctl: " (empty when the failure was printed already). */
struct mailctl_status {
	int code;
	char msg[MAILCTL_MSG_MAX];
};

/* Sets st to code and the formatted message (cut with "..." when too long); returns code.
   (mailctl_print.c, like the next two.) */
int mailctl_fail(struct mailctl_status *st, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Sets st to code for a failure that was printed already; returns code. */
int mailctl_failed(struct mailctl_status *st, int code);
/* Out of memory: say so and exit(70). */
void mailctl_oom(void) __attribute__((noreturn));

enum mailctl_opt {
	MAILCTL_OPT_CONFIG,
	MAILCTL_OPT_JSON,
	MAILCTL_OPT_YES,
	MAILCTL_OPT_HELP,
	MAILCTL_OPT_NAME,
	MAILCTL_OPT_QUOTA,
	MAILCTL_OPT_HASH,
	MAILCTL_OPT_CHANGED, /* -n of `config show` */
	MAILCTL_OPT_COUNT
};

/* The command line, split; every pointer points into argv. */
struct mailctl_args {
	/* An option's value, the option's own name for a flag, NULL when not given. */
	const char *opt[MAILCTL_OPT_COUNT];
	const char *pos[MAILCTL_POS_MAX];
	size_t npos;
};

struct mailctl_cmd;

/* Splits argv (argv[0] skipped); options may come anywhere, "--" ends them. Returns 0, or 64
   with st set (unknown option, missing value, option given twice, too many words). */
int mailctl_args_parse(int argc, char **argv, struct mailctl_args *a, struct mailctl_status *st);
/* The command a names, checked against its argument counts and accepted options. Returns 0,
   or 64 with st set to a one-line hint. */
int mailctl_cmd_find(const struct mailctl_args *a, const struct mailctl_cmd **cmd_r,
                     struct mailctl_status *st);
/* Builds the request {"cmd": ..., "args": {...}} for a command that goes to maild, without the
   password. Returns 0, or 65 with st set (bad size, empty target, text not UTF-8). */
int mailctl_request_build(const struct mailctl_cmd *cmd, const struct mailctl_args *a,
                          struct json_t **request_r, struct mailctl_status *st);
/* Adds args.password; 65 with st set when the password is not UTF-8. object names the account
   in that message ("user bob@example.org"). */
int mailctl_request_set_password(struct json_t *request, const char *password, const char *object,
                                 struct mailctl_status *st);
/* Overwrites the password inside request (if any) before the request is freed. */
void mailctl_request_wipe(struct json_t *request);
/* Bytes, with an optional K/M/G/T suffix (1024-based, any case), or "unlimited" (= 0).
   Returns 0, or -1 when text is not such a size or exceeds MAILCTL_SIZE_MAX. */
int mailctl_size_parse(const char *text, uint64_t *bytes_r);

#endif
