/*
 * mailctl: the command line, the command table, and the way from a command to a request and
 * from the reply to the exit status. Talking over the socket and to the terminal is in
 * mailctl_io.c, the output for people and scripts in mailctl_print.c.
 */
#include <errno.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sysexits.h>

#include "core/config.h"
#include "core/strutil.h"
#include "version.h"
#include "mailctl.h"
#include "mailctl_io.h"
#include "mailctl_print.h"

#define OPT_BIT(o) (1u << (o))
#define OPTS_GLOBAL                                                                                \
	(OPT_BIT(MAILCTL_OPT_CONFIG) | OPT_BIT(MAILCTL_OPT_JSON) | OPT_BIT(MAILCTL_OPT_YES) |      \
	 OPT_BIT(MAILCTL_OPT_HELP))
#define OPTS_USER_ADD                                                                              \
	(OPT_BIT(MAILCTL_OPT_NAME) | OPT_BIT(MAILCTL_OPT_QUOTA) | OPT_BIT(MAILCTL_OPT_HASH))

/* Command flags. */
#define CMD_PASSWORD 1u /* sends a password unless --password-hash is given */
#define CMD_CONFIRM 2u  /* destructive: asks on a terminal, else needs --yes */

/* How a word of the command line becomes a request argument. */
enum mailctl_kind {
	MAILCTL_TEXT, /* a JSON string */
	MAILCTL_SIZE, /* mailctl_size_parse(), a JSON integer */
	MAILCTL_LIST, /* TARGET[,TARGET...], a JSON array of strings */
};

struct mailctl_param {
	const char *key; /* the argument's name in the request */
	enum mailctl_kind kind;
};

struct mailctl_option {
	const char *name;
	enum mailctl_opt opt;
	bool has_value;
	struct mailctl_param param; /* the request argument it sets; key NULL for none */
};

/* clang-format off */
static const struct mailctl_option mailctl_options[] = {
	{ "--config", MAILCTL_OPT_CONFIG, true, { NULL, MAILCTL_TEXT } },
	{ "--json", MAILCTL_OPT_JSON, false, { NULL, MAILCTL_TEXT } },
	{ "--yes", MAILCTL_OPT_YES, false, { NULL, MAILCTL_TEXT } },
	{ "--help", MAILCTL_OPT_HELP, false, { NULL, MAILCTL_TEXT } },
	{ "-h", MAILCTL_OPT_HELP, false, { NULL, MAILCTL_TEXT } },
	{ "--name", MAILCTL_OPT_NAME, true, { "name", MAILCTL_TEXT } },
	{ "--quota", MAILCTL_OPT_QUOTA, true, { "quota", MAILCTL_SIZE } },
	{ "--password-hash", MAILCTL_OPT_HASH, true, { "password_hash", MAILCTL_TEXT } },
	{ "-n", MAILCTL_OPT_CHANGED, false, { NULL, MAILCTL_TEXT } },
};
/* clang-format on */
#define MAILCTL_OPTIONS_COUNT (sizeof(mailctl_options) / sizeof(mailctl_options[0]))

typedef int mailctl_local_cb(const struct mailctl_cmd *cmd, const struct mailctl_args *a,
                             struct mailctl_status *st);

struct mailctl_cmd {
	const char *noun;
	const char *verb;        /* NULL: the noun alone is the command */
	const char *wire;        /* the protocol's cmd; NULL when it runs locally */
	mailctl_local_cb *local; /* runs it when wire is NULL */
	unsigned min_args;       /* words after NOUN [VERB] */
	unsigned max_args;
	unsigned opts;                  /* OPT_BIT()s accepted besides OPTS_GLOBAL */
	unsigned flags;                 /* CMD_* */
	struct mailctl_param params[2]; /* what those words become, in order */
	const char *usage;              /* those words, for hints and help */
};

static mailctl_local_cb mailctl_cmd_help;
static mailctl_local_cb mailctl_cmd_version;
static mailctl_local_cb mailctl_cmd_config_check;
static mailctl_local_cb mailctl_cmd_config_show;

/* clang-format off */
#define P_TEXT(key) { key, MAILCTL_TEXT }

static const struct mailctl_cmd mailctl_cmds[] = {
	{ "domain", "add", "domain.add", NULL, 1, 1, 0, 0, { P_TEXT("domain") }, "DOMAIN" },
	{ "domain", "list", "domain.list", NULL, 0, 0, 0, 0, { { 0 } }, "" },
	{ "domain", "show", "domain.show", NULL, 1, 1, 0, 0, { P_TEXT("domain") }, "DOMAIN" },
	{ "domain", "remove", "domain.remove", NULL, 1, 1, 0, CMD_CONFIRM, { P_TEXT("domain") },
	  "DOMAIN" },
	{ "user", "add", "user.add", NULL, 1, 1, OPTS_USER_ADD, CMD_PASSWORD, { P_TEXT("address") },
	  "ADDRESS [--name NAME] [--quota SIZE] [--password-hash HASH]" },
	{ "user", "list", "user.list", NULL, 0, 1, 0, 0, { P_TEXT("domain") }, "[DOMAIN]" },
	{ "user", "show", "user.show", NULL, 1, 1, 0, 0, { P_TEXT("address") }, "ADDRESS" },
	{ "user", "passwd", "user.passwd", NULL, 1, 1, OPT_BIT(MAILCTL_OPT_HASH), CMD_PASSWORD,
	  { P_TEXT("address") }, "ADDRESS [--password-hash HASH]" },
	{ "user", "quota", "user.quota", NULL, 2, 2, 0, 0,
	  { P_TEXT("address"), { "quota", MAILCTL_SIZE } }, "ADDRESS SIZE" },
	{ "user", "disable", "user.disable", NULL, 1, 1, 0, 0, { P_TEXT("address") }, "ADDRESS" },
	{ "user", "enable", "user.enable", NULL, 1, 1, 0, 0, { P_TEXT("address") }, "ADDRESS" },
	{ "user", "remove", "user.remove", NULL, 1, 1, 0, CMD_CONFIRM, { P_TEXT("address") },
	  "ADDRESS" },
	{ "alias", "add", "alias.add", NULL, 2, 2, 0, 0,
	  { P_TEXT("address"), { "targets", MAILCTL_LIST } }, "ADDRESS TARGET[,TARGET...]" },
	{ "alias", "list", "alias.list", NULL, 0, 1, 0, 0, { P_TEXT("domain") }, "[DOMAIN]" },
	{ "alias", "remove", "alias.remove", NULL, 1, 2, 0, CMD_CONFIRM,
	  { P_TEXT("address"), P_TEXT("target") }, "ADDRESS [TARGET]" },
	{ "auth", "test", "auth.test", NULL, 1, 1, 0, CMD_PASSWORD, { P_TEXT("address") },
	  "ADDRESS" },
	{ "address", "resolve", "address.resolve", NULL, 1, 1, 0, 0, { P_TEXT("address") },
	  "ADDRESS" },
	{ "status", NULL, "status", NULL, 0, 0, 0, 0, { { 0 } }, "" },
	{ "reload", NULL, "reload", NULL, 0, 0, 0, 0, { { 0 } }, "" },
	{ "version", NULL, NULL, mailctl_cmd_version, 0, 0, 0, 0, { { 0 } }, "" },
	{ "help", NULL, NULL, mailctl_cmd_help, 0, 0, 0, 0, { { 0 } }, "" },
	{ "config", "check", NULL, mailctl_cmd_config_check, 0, 0, 0, 0, { { 0 } }, "" },
	{ "config", "show", NULL, mailctl_cmd_config_show, 0, 1, OPT_BIT(MAILCTL_OPT_CHANGED), 0,
	  { { 0 } }, "[-n] [KEY]" },
};
/* clang-format on */
#define MAILCTL_CMDS_COUNT (sizeof(mailctl_cmds) / sizeof(mailctl_cmds[0]))

/*
 * The command line.
 */

static const struct mailctl_option *mailctl_option_find(const char *arg, size_t len)
{
	for (size_t i = 0; i < MAILCTL_OPTIONS_COUNT; i++) {
		const char *name = mailctl_options[i].name;

		if (strlen(name) == len && strncmp(name, arg, len) == 0)
			return &mailctl_options[i];
	}
	return NULL;
}

static const char *mailctl_option_name(enum mailctl_opt opt)
{
	for (size_t i = 0; i < MAILCTL_OPTIONS_COUNT; i++) {
		if (mailctl_options[i].opt == opt)
			return mailctl_options[i].name;
	}
	return "?";
}

/* argv[*i] is an option; takes its value, from "--opt=value" or from the next word. */
static int mailctl_parse_option(int argc, char **argv, int *i, struct mailctl_args *a,
                                struct mailctl_status *st)
{
	const char *arg = argv[*i];
	const char *eq = strchr(arg, '=');
	const struct mailctl_option *o =
	    mailctl_option_find(arg, eq != NULL ? (size_t)(eq - arg) : strlen(arg));
	const char *value;

	if (o == NULL)
		return mailctl_fail(st, EX_USAGE, "unknown option '%s' (try 'mailctl help')", arg);
	if (!o->has_value && eq != NULL)
		return mailctl_fail(st, EX_USAGE, "option '%s' takes no value", o->name);
	if (!o->has_value)
		value = o->name;
	else if (eq != NULL)
		value = eq + 1;
	else if (*i + 1 < argc)
		value = argv[++*i];
	else
		return mailctl_fail(st, EX_USAGE, "option '%s' needs a value", o->name);
	if (a->opt[o->opt] != NULL)
		return mailctl_fail(st, EX_USAGE, "option '%s' given twice", o->name);
	a->opt[o->opt] = value;
	return 0;
}

int mailctl_args_parse(int argc, char **argv, struct mailctl_args *a, struct mailctl_status *st)
{
	bool options_done = false;

	memset(a, 0, sizeof(*a));
	for (int i = 1; i < argc; i++) {
		const char *arg = argv[i];

		if (!options_done && strcmp(arg, "--") == 0) {
			options_done = true;
		} else if (!options_done && arg[0] == '-' && arg[1] != '\0') {
			int ret = mailctl_parse_option(argc, argv, &i, a, st);

			if (ret != 0)
				return ret;
		} else if (a->npos == MAILCTL_POS_MAX) {
			return mailctl_fail(st, EX_USAGE,
			                    "too many arguments (try 'mailctl help')");
		} else {
			a->pos[a->npos++] = arg;
		}
	}
	return 0;
}

/* How many words name cmd: NOUN, or NOUN VERB. */
static size_t mailctl_cmd_words(const struct mailctl_cmd *cmd)
{
	return cmd->verb != NULL ? 2 : 1;
}

/* The i-th word after NOUN [VERB], or NULL. */
static const char *mailctl_cmd_arg(const struct mailctl_cmd *cmd, const struct mailctl_args *a,
                                   size_t i)
{
	size_t pos = mailctl_cmd_words(cmd) + i;

	return pos < a->npos ? a->pos[pos] : NULL;
}

/* "user add ADDRESS [--name NAME] ..." */
static void mailctl_cmd_synopsis(const struct mailctl_cmd *cmd, char *buf, size_t size)
{
	if (str_printf(buf, size, "%s%s%s%s%s", cmd->noun, cmd->verb != NULL ? " " : "",
	               cmd->verb != NULL ? cmd->verb : "", cmd->usage[0] != '\0' ? " " : "",
	               cmd->usage) < 0)
		(void)str_copy(buf, size, cmd->noun);
}

/* "add, list, show, remove": the verbs of noun, for a hint. */
static void mailctl_verbs(const char *noun, char *buf, size_t size)
{
	size_t len = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < MAILCTL_CMDS_COUNT; i++) {
		const struct mailctl_cmd *c = &mailctl_cmds[i];
		int n;

		if (strcmp(c->noun, noun) != 0 || c->verb == NULL)
			continue;
		n = str_printf(buf + len, size - len, "%s%s", len > 0 ? ", " : "", c->verb);
		if (n < 0)
			return;
		len += (size_t)n;
	}
}

static int mailctl_cmd_check(const struct mailctl_cmd *cmd, const struct mailctl_args *a,
                             struct mailctl_status *st)
{
	size_t nargs = a->npos - mailctl_cmd_words(cmd);
	char synopsis[160];

	mailctl_cmd_synopsis(cmd, synopsis, sizeof(synopsis));
	if (nargs < cmd->min_args)
		return mailctl_fail(st, EX_USAGE, "missing argument (usage: mailctl %s)", synopsis);
	if (nargs > cmd->max_args)
		return mailctl_fail(st, EX_USAGE, "too many arguments (usage: mailctl %s)",
		                    synopsis);
	for (int o = 0; o < MAILCTL_OPT_COUNT; o++) {
		if (a->opt[o] != NULL && ((OPTS_GLOBAL | cmd->opts) & OPT_BIT(o)) == 0)
			return mailctl_fail(st, EX_USAGE,
			                    "option '%s' does not apply (usage: mailctl %s)",
			                    mailctl_option_name((enum mailctl_opt)o), synopsis);
	}
	return 0;
}

int mailctl_cmd_find(const struct mailctl_args *a, const struct mailctl_cmd **cmd_r,
                     struct mailctl_status *st)
{
	const char *noun = a->npos > 0 ? a->pos[0] : "";
	const char *verb = a->npos > 1 ? a->pos[1] : NULL;
	bool noun_known = false;
	char verbs[160];

	for (size_t i = 0; i < MAILCTL_CMDS_COUNT; i++) {
		const struct mailctl_cmd *c = &mailctl_cmds[i];

		if (strcmp(c->noun, noun) != 0)
			continue;
		noun_known = true;
		if (c->verb == NULL || (verb != NULL && strcmp(c->verb, verb) == 0)) {
			*cmd_r = c;
			return mailctl_cmd_check(c, a, st);
		}
	}
	if (!noun_known)
		return mailctl_fail(st, EX_USAGE, "unknown command '%s' (try 'mailctl help')",
		                    noun);
	mailctl_verbs(noun, verbs, sizeof(verbs));
	if (verb == NULL)
		return mailctl_fail(st, EX_USAGE, "%s: missing verb (one of %s)", noun, verbs);
	return mailctl_fail(st, EX_USAGE, "%s %s: unknown verb (one of %s)", noun, verb, verbs);
}

/*
 * From a command to a request.
 */

static json_t *mailctl_json(json_t *value)
{
	if (value == NULL)
		mailctl_oom();
	return value;
}

static void mailctl_json_set(json_t *object, const char *key, json_t *value)
{
	/* Our keys are constants and value is not NULL: only memory can be missing. */
	if (json_object_set_new(object, key, mailctl_json(value)) < 0)
		mailctl_oom();
}

int mailctl_size_parse(const char *text, uint64_t *bytes_r)
{
	static const char units[] = "kmgt";
	uint64_t value = 0, unit = 1;
	const char *p = text, *u;

	if (strcasecmp(text, "unlimited") == 0) {
		*bytes_r = 0;
		return 0;
	}
	if (*p < '0' || *p > '9')
		return -1;
	for (; *p >= '0' && *p <= '9'; p++) {
		uint64_t digit = (uint64_t)(*p - '0');

		if (value > (MAILCTL_SIZE_MAX - digit) / 10)
			return -1;
		value = value * 10 + digit;
	}
	if (*p != '\0') {
		u = strchr(units, *p | 0x20);
		if (u == NULL || p[1] != '\0')
			return -1;
		unit = (uint64_t)1 << (10 * (u - units + 1));
	}
	if (value > MAILCTL_SIZE_MAX / unit)
		return -1;
	*bytes_r = value * unit;
	return 0;
}

/* One target of TARGET[,TARGET...]: text[0..len) without the blanks around it. */
static int mailctl_list_append(json_t *list, const char *key, const char *text, size_t len,
                               const char *word, struct mailctl_status *st)
{
	json_t *item;

	while (len > 0 && (*text == ' ' || *text == '\t')) {
		text++;
		len--;
	}
	while (len > 0 && (text[len - 1] == ' ' || text[len - 1] == '\t'))
		len--;
	if (len == 0)
		return mailctl_fail(st, EX_DATAERR, "%s '%s': empty target", key, word);
	item = json_stringn(text, len);
	if (item == NULL)
		return mailctl_fail(st, EX_DATAERR, "%s '%s': not valid UTF-8", key, word);
	if (json_array_append_new(list, item) < 0)
		mailctl_oom();
	return 0;
}

/* TARGET[,TARGET...]. A ":fail: text" target is the whole word: its text may hold commas. */
static int mailctl_list_value(const char *key, const char *word, json_t **value_r,
                              struct mailctl_status *st)
{
	json_t *list = mailctl_json(json_array());
	bool whole = strncmp(word, ":fail:", 6) == 0;
	const char *s = word;
	int ret;

	for (;;) {
		size_t len = whole ? strlen(s) : strcspn(s, ",");

		ret = mailctl_list_append(list, key, s, len, word, st);
		if (ret != 0 || s[len] == '\0')
			break;
		s += len + 1;
	}
	if (ret != 0) {
		json_decref(list);
		return ret;
	}
	*value_r = list;
	return 0;
}

static int mailctl_arg_add(json_t *args, const struct mailctl_param *p, const char *word,
                           struct mailctl_status *st)
{
	json_t *value = NULL;
	uint64_t bytes;
	int ret;

	switch (p->kind) {
	case MAILCTL_SIZE:
		if (mailctl_size_parse(word, &bytes) < 0)
			return mailctl_fail(st, EX_DATAERR, "%s '%s': invalid size", p->key, word);
		value = json_integer((json_int_t)bytes);
		break;
	case MAILCTL_LIST:
		ret = mailctl_list_value(p->key, word, &value, st);
		if (ret != 0)
			return ret;
		break;
	case MAILCTL_TEXT:
		value = json_string(word);
		if (value == NULL)
			return mailctl_fail(st, EX_DATAERR, "%s: not valid UTF-8", p->key);
		break;
	}
	mailctl_json_set(args, p->key, value);
	return 0;
}

int mailctl_request_build(const struct mailctl_cmd *cmd, const struct mailctl_args *a,
                          json_t **request_r, struct mailctl_status *st)
{
	json_t *request = mailctl_json(json_object());
	json_t *args = mailctl_json(json_object());
	int ret = 0;

	mailctl_json_set(request, "cmd", json_string(cmd->wire));
	for (size_t i = 0; ret == 0 && mailctl_cmd_arg(cmd, a, i) != NULL; i++)
		ret = mailctl_arg_add(args, &cmd->params[i], mailctl_cmd_arg(cmd, a, i), st);
	for (size_t i = 0; ret == 0 && i < MAILCTL_OPTIONS_COUNT; i++) {
		const struct mailctl_option *o = &mailctl_options[i];

		if (o->param.key != NULL && a->opt[o->opt] != NULL)
			ret = mailctl_arg_add(args, &o->param, a->opt[o->opt], st);
	}
	if (ret != 0) {
		json_decref(args);
		json_decref(request);
		return ret;
	}
	/* "args ... may be omitted when a command takes none" */
	if (cmd->max_args > 0 || cmd->opts != 0)
		mailctl_json_set(request, "args", args);
	else
		json_decref(args);
	*request_r = request;
	return 0;
}

int mailctl_request_set_password(json_t *request, const char *password, const char *object,
                                 struct mailctl_status *st)
{
	json_t *value = json_string(password);

	if (value == NULL)
		return mailctl_fail(st, EX_DATAERR, "%s: password is not valid UTF-8", object);
	mailctl_json_set(json_object_get(request, "args"), "password", value);
	return 0;
}

void mailctl_request_wipe(json_t *request)
{
	json_t *password = json_object_get(json_object_get(request, "args"), "password");

	/* jansson holds its own malloc'ed copy of the text; clear it before json_decref(). */
	if (json_is_string(password))
		explicit_bzero((char *)json_string_value(password), json_string_length(password));
}

/*
 * Configuration.
 */

static bool mailctl_config_key_known(const char *key)
{
	for (size_t i = 0; i < config_keys_count; i++) {
		if (strcmp(config_keys[i].name, key) == 0)
			return true;
	}
	return false;
}

static int mailctl_cmd_config_check(const struct mailctl_cmd *cmd, const struct mailctl_args *a,
                                    struct mailctl_status *st)
{
	struct mailctl_config c = {0};
	int ret = mailctl_io_config_open(a->opt[MAILCTL_OPT_CONFIG], &c, st);

	(void)cmd;
	if (ret != 0)
		return ret;
	if (c.defaults)
		printf("%s: not found, the built-in defaults apply\n", c.path);
	else
		printf("%s: configuration is valid\n", c.path);
	config_free(&c.config);
	return 0;
}

static int mailctl_cmd_config_show(const struct mailctl_cmd *cmd, const struct mailctl_args *a,
                                   struct mailctl_status *st)
{
	const char *key = mailctl_cmd_arg(cmd, a, 0);
	struct mailctl_config c = {0};
	int ret;

	if (key != NULL && !mailctl_config_key_known(key))
		return mailctl_fail(st, EX_USAGE, "config key '%s': unknown", key);
	ret = mailctl_io_config_open(a->opt[MAILCTL_OPT_CONFIG], &c, st);
	if (ret != 0)
		return ret;
	mailctl_print_config(stdout, c.config, key, a->opt[MAILCTL_OPT_CHANGED] != NULL,
	                     a->opt[MAILCTL_OPT_JSON] != NULL);
	config_free(&c.config);
	return 0;
}

/*
 * Commands that run locally.
 */

static int mailctl_usage(FILE *out, int status)
{
	char synopsis[160];

	fputs("usage: mailctl [--config PATH] [--json] [--yes] COMMAND [ARGS]\n\ncommands:\n", out);
	for (size_t i = 0; i < MAILCTL_CMDS_COUNT; i++) {
		mailctl_cmd_synopsis(&mailctl_cmds[i], synopsis, sizeof(synopsis));
		fprintf(out, "  mailctl %s\n", synopsis);
	}
	fputs(
	    "\noptions (before or after the command):\n"
	    "  --config PATH  configuration file (else $MAILD_CONFIG, else " MAILCTL_DEFAULT_CONFIG
	    ")\n"
	    "  --json         one JSON object per line\n"
	    "  --yes          remove without asking\n"
	    "\nSIZE: bytes with an optional K, M, G or T suffix; 0 or 'unlimited' for no quota.\n"
	    "Passwords are asked twice on a terminal, else read as one line of standard input.\n",
	    out);
	return status;
}

static int mailctl_cmd_help(const struct mailctl_cmd *cmd, const struct mailctl_args *a,
                            struct mailctl_status *st)
{
	(void)cmd;
	(void)a;
	(void)st;
	return mailctl_usage(stdout, EX_OK);
}

static int mailctl_cmd_version(const struct mailctl_cmd *cmd, const struct mailctl_args *a,
                               struct mailctl_status *st)
{
	(void)cmd;
	(void)a;
	(void)st;
	printf("mailctl %s\n", MAILD_VERSION);
	return 0;
}

/*
 * Commands that go to maild.
 */

/* "user bob@example.org": what the command acts on, for questions and messages. */
static void mailctl_object(const struct mailctl_cmd *cmd, const struct mailctl_args *a, char *buf,
                           size_t size)
{
	if (str_printf(buf, size, "%s %s", cmd->noun, mailctl_cmd_arg(cmd, a, 0)) < 0)
		(void)str_copy(buf, size, cmd->noun);
}

static int mailctl_password(json_t *request, const char *object, struct mailctl_status *st)
{
	struct mailctl_password pw;
	int ret = mailctl_io_password(object, &pw, st);

	if (ret == 0)
		ret = mailctl_request_set_password(request, pw.text, object, st);
	explicit_bzero(&pw, sizeof(pw));
	return ret;
}

/* What needs the person at the keyboard, before maild is contacted: the 30 s for the reply
   are not spent typing. */
static int mailctl_prepare(const struct mailctl_cmd *cmd, const struct mailctl_args *a,
                           json_t *request, struct mailctl_status *st)
{
	char object[MAILCTL_MSG_MAX / 2];
	int ret = 0;

	mailctl_object(cmd, a, object, sizeof(object));
	if ((cmd->flags & CMD_CONFIRM) != 0 && a->opt[MAILCTL_OPT_YES] == NULL)
		ret = mailctl_io_confirm_remove(object, mailctl_cmd_arg(cmd, a, 1), st);
	if (ret == 0 && (cmd->flags & CMD_PASSWORD) != 0 && a->opt[MAILCTL_OPT_HASH] == NULL)
		ret = mailctl_password(request, object, st);
	return ret;
}

static int mailctl_remote(const struct mailctl_cmd *cmd, const struct mailctl_args *a,
                          struct mailctl_status *st)
{
	struct mailctl_config c = {0};
	struct mailctl_reply reply = {0};
	const char *socket = NULL;
	json_t *request = NULL;
	int ret = mailctl_request_build(cmd, a, &request, st);

	if (ret == 0)
		ret = mailctl_io_config_open(a->opt[MAILCTL_OPT_CONFIG], &c, st);
	if (ret == 0)
		ret = mailctl_prepare(cmd, a, request, st);
	if (ret == 0) {
		socket = config_str(c.config, "admin.socket");
		ret = mailctl_io_exchange(socket, request, MAILCTL_REPLY_TIMEOUT, &reply, st);
	}
	mailctl_request_wipe(request);
	if (ret == 0)
		ret = mailctl_print_reply(socket, request, &reply, a->opt[MAILCTL_OPT_JSON] != NULL,
		                          st);
	mailctl_reply_clear(&reply);
	json_decref(request);
	config_free(&c.config);
	return ret;
}

/* Prints the failure, if any, and makes a failed write to stdout one too. */
static int mailctl_finish(int ret, const struct mailctl_status *st)
{
	if (ret != 0 && st->msg[0] != '\0')
		fprintf(stderr, "mailctl: %s\n", st->msg);
	if (fflush(stdout) != 0 || ferror(stdout)) {
		fprintf(stderr, "mailctl: standard output: %s\n", strerror(errno));
		if (ret == 0)
			ret = EX_IOERR;
	}
	return ret;
}

int mailctl_main(int argc, char **argv)
{
	const struct mailctl_cmd *cmd = NULL;
	struct mailctl_status st = {0};
	struct mailctl_args a;
	int ret = mailctl_args_parse(argc, argv, &a, &st);

	if (ret == 0 && a.opt[MAILCTL_OPT_HELP] != NULL)
		return mailctl_usage(stdout, EX_OK);
	if (ret == 0 && a.npos == 0)
		return mailctl_usage(stderr, EX_USAGE);
	if (ret == 0)
		ret = mailctl_cmd_find(&a, &cmd, &st);
	if (ret == 0)
		ret = cmd->wire == NULL ? cmd->local(cmd, &a, &st) : mailctl_remote(cmd, &a, &st);
	return mailctl_finish(ret, &st);
}
