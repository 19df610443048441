#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "admin/mailctl.h"
#include "core/config.h"
#include "core/log.h"
#include "core/roles.h"
#include "core/supervisor.h"
#include "core/worker.h"
#include "version.h"

#define DEFAULT_CONFIG "/etc/maild/maild.conf"

struct maild_args {
	const char *config;
	const char *role;
	bool foreground;
	bool check_config;
	size_t listeners;
	long parent;
};

static int maild_usage(FILE *out, int status)
{
	fprintf(out, "usage: maild [--config PATH] [--foreground]\n"
		     "       maild --check-config [--config PATH]\n"
		     "       maild --version\n"
		     "Default config: " DEFAULT_CONFIG "\n");
	return status;
}

/* Returns -1 to go on, else an exit status. */
static int maild_parse_args(int argc, char **argv, struct maild_args *a)
{
	for (int i = 1; i < argc; i++) {
		const char *arg = argv[i];

		if (strcmp(arg, "--config") == 0 && i + 1 < argc)
			a->config = argv[++i];
		else if (strncmp(arg, "--config=", 9) == 0)
			a->config = arg + 9;
		else if (strcmp(arg, "--foreground") == 0 || strcmp(arg, "-f") == 0)
			a->foreground = true;
		else if (strcmp(arg, "--check-config") == 0)
			a->check_config = true;
		else if (strncmp(arg, "--role=", 7) == 0)
			a->role = arg + 7;
		else if (strncmp(arg, "--listeners=", 12) == 0)
			a->listeners = strtoul(arg + 12, NULL, 10);
		else if (strncmp(arg, "--parent=", 9) == 0)
			a->parent = strtol(arg + 9, NULL, 10);
		else if (strcmp(arg, "--version") == 0) {
			printf("maild %s\n", MAILD_VERSION);
			return 0;
		} else if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0)
			return maild_usage(stdout, 0);
		else {
			fprintf(stderr, "maild: unknown argument '%s'\n", arg);
			return maild_usage(stderr, 64);
		}
	}
	return -1;
}

static int maild_check_config(const char *path)
{
	struct config *config = NULL;
	struct config_errors errors = { 0 };

	if (config_load(path, &config, &errors) < 0) {
		for (size_t i = 0; i < errors.count; i++)
			fprintf(stderr, "%s\n", errors.lines[i]);
		config_errors_clear(&errors);
		return 78;
	}
	config_free(&config);
	printf("%s: configuration is valid\n", path);
	return 0;
}

int main(int argc, char **argv)
{
	const char *name = strrchr(argv[0], '/');
	struct maild_args a = { .config = DEFAULT_CONFIG };
	int ret;

	name = name != NULL ? name + 1 : argv[0];
	if (strcmp(name, "mailctl") == 0)
		return mailctl_main(argc, argv);
	ret = maild_parse_args(argc, argv, &a);
	if (ret >= 0)
		return ret;
	if (a.check_config)
		return maild_check_config(a.config);
	if (a.role != NULL) {
		int role = role_from_name(a.role);

		if (role < 0 || a.parent <= 0) {
			fprintf(stderr, "maild: --role is for the supervisor's own use\n");
			return 64;
		}
		return worker_main((enum role)role, a.config, a.listeners, a.foreground,
				   (pid_t)a.parent);
	}
	return supervisor_main(a.config, a.foreground);
}
