/* The TCP listeners each role serves, bound by the supervisor (root may bind ports < 1024) and
   passed to the role's worker from fd 4 on, key by key in the order of role_listen_keys, each
   key's addresses in their configured order. */
#include <string.h>
#include <unistd.h>

#include "listen.h"
#include "log.h"
#include "supervisor_int.h"

/* A role listed here must serve these keys; listen_keys_fds() in worker.c walks the same
   table so both sides agree which fd is which. */
const char *const role_listen_keys[ROLE_COUNT][4] = {
	[ROLE_SMTP] = { "smtp.listen", "submission.listen", "smtps.listen", NULL },
	[ROLE_IMAP] = { "imap.listen", "imaps.listen", NULL },
};

static void supervisor_close_listeners(struct supervised *w)
{
	for (size_t i = 0; i < w->listen_count; i++)
		close(w->listen_fds[i]);
	w->listen_count = 0;
}

static int supervisor_bind_key(struct supervised *w, const struct config *config, const char *key)
{
	struct config_listen addrs[WORKER_LISTEN_MAX];
	size_t n = config_listen(config, key, addrs, WORKER_LISTEN_MAX);
	const char *error;

	for (size_t i = 0; i < n; i++) {
		int fd;

		if (w->listen_count == WORKER_LISTEN_MAX) {
			log_error("%s: more than %d listening addresses", key, WORKER_LISTEN_MAX);
			return -1;
		}
		fd = listen_tcp(addrs[i].host, addrs[i].port, &error);
		if (fd < 0) {
			log_error("%s: cannot listen on %s:%u: %s", key,
				  addrs[i].host[0] != '\0' ? addrs[i].host : "*", addrs[i].port,
				  error);
			return -1;
		}
		w->listen_fds[w->listen_count++] = fd;
	}
	return 0;
}

int supervisor_open_listeners(struct supervised *w, const struct config *config)
{
	supervisor_close_listeners(w);
	for (size_t k = 0; k < 4 && role_listen_keys[w->role][k] != NULL; k++) {
		if (supervisor_bind_key(w, config, role_listen_keys[w->role][k]) < 0) {
			supervisor_close_listeners(w);
			return -1;
		}
	}
	return 0;
}

bool supervisor_listeners_changed(enum role role, const struct config *old_c,
				  const struct config *new_c)
{
	for (size_t k = 0; k < 4 && role_listen_keys[role][k] != NULL; k++) {
		const char *key = role_listen_keys[role][k];

		if (strcmp(config_value_text(old_c, key), config_value_text(new_c, key)) != 0)
			return true;
	}
	return false;
}
