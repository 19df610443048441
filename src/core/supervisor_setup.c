#include <errno.h>
#include <grp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../accounts/accounts_db.h"
#include "listen.h"
#include "log.h"
#include "paths.h"
#include "privdrop.h"
#include "strutil.h"
#include "supervisor_int.h"

/* Thousands of IDLE clients are thousands of sockets in one imap worker: the default soft
   limit (1024) would refuse them long before imap.max_connections. Root raises the limit for
   itself and every worker it starts. */
#define SUPERVISOR_NOFILE_WANTED 65536

void supervisor_raise_fd_limit(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		return;
	if (rl.rlim_max != RLIM_INFINITY && rl.rlim_max < SUPERVISOR_NOFILE_WANTED) {
		struct rlimit want = { SUPERVISOR_NOFILE_WANTED, SUPERVISOR_NOFILE_WANTED };

		if (setrlimit(RLIMIT_NOFILE, &want) == 0)
			return;
	}
	if (rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
			log_warning("cannot raise the open files limit to %llu: %s",
				    (unsigned long long)rl.rlim_max, strerror(errno));
	}
}

struct dir_spec {
	char path[PATH_MAX];
	mode_t mode;
	uid_t uid;
	gid_t gid;
};

/* mkdir -p with the last component given owner and mode; parents get 0755 root. Existing
   directories are brought to the wanted owner and mode: the supervisor is their authority. */
static int supervisor_make_dir(const struct dir_spec *d)
{
	char tmp[PATH_MAX];
	bool root = geteuid() == 0;

	if (str_copy(tmp, sizeof(tmp), d->path) < 0) {
		errno = ENAMETOOLONG;
		goto fail;
	}
	for (char *p = tmp + 1; *p != '\0'; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(tmp, 0755) < 0 && errno != EEXIST)
			goto fail;
		*p = '/';
	}
	if (mkdir(d->path, d->mode) < 0 && errno != EEXIST)
		goto fail;
	if (root && chown(d->path, d->uid, d->gid) < 0)
		goto fail;
	if (chmod(d->path, d->mode) < 0)
		goto fail;
	return 0;
fail:
	log_error("cannot create directory %s: %s", d->path, strerror(errno));
	return -1;
}

int supervisor_prepare_dirs(const struct config *config)
{
	struct run_identity service = { 0 }, mailbox = { 0 };
	const char *error;
	struct dir_spec dirs[8];
	size_t n = 0;

	if (geteuid() == 0 &&
	    (privdrop_lookup(config_str(config, "run_as.service"), &service, &error) < 0 ||
	     privdrop_lookup(config_str(config, "run_as.mailbox"), &mailbox, &error) < 0)) {
		log_error("run_as user: %s", error);
		return -1;
	}
	dirs[n++] = (struct dir_spec){ .mode = 0755 };
	(void)str_copy(dirs[n - 1].path, PATH_MAX, config_str(config, "run_dir"));
	dirs[n++] = (struct dir_spec){ .mode = 0755 };
	(void)str_copy(dirs[n - 1].path, PATH_MAX, config_str(config, "state_dir"));
	/* accounts.db is written by admin (mailbox user) and read by accounts (service user):
	   the directory's group is the service user's, setgid so the WAL files inherit it. */
	dirs[n++] = (struct dir_spec){ .mode = 02770, .uid = mailbox.uid, .gid = service.gid };
	paths_db_dir(config, dirs[n - 1].path, PATH_MAX);
	dirs[n++] = (struct dir_spec){ .mode = 0700, .uid = mailbox.uid, .gid = mailbox.gid };
	paths_removed_dir(config, dirs[n - 1].path, PATH_MAX);
	dirs[n++] = (struct dir_spec){ .mode = 0700, .uid = mailbox.uid, .gid = mailbox.gid };
	(void)str_copy(dirs[n - 1].path, PATH_MAX, config_str(config, "mail_root"));
	/* smtp's unlinked spool files (O_TMPFILE) live here. */
	dirs[n++] = (struct dir_spec){ .mode = 0700, .uid = service.uid, .gid = service.gid };
	if (str_printf(dirs[n - 1].path, PATH_MAX, "%s/spool", config_str(config, "state_dir")) < 0)
		dirs[n - 1].path[0] = '\0';
	/* The outbound queue (queue_store.h), the queue role's alone. */
	dirs[n++] = (struct dir_spec){ .mode = 0700, .uid = service.uid, .gid = service.gid };
	if (str_printf(dirs[n - 1].path, PATH_MAX, "%s/queue", config_str(config, "state_dir")) < 0)
		dirs[n - 1].path[0] = '\0';
	for (size_t i = 0; i < n; i++) {
		if (dirs[i].path[0] == '\0') {
			log_error("a directory path in the configuration is too long");
			return -1;
		}
		if (supervisor_make_dir(&dirs[i]) < 0)
			return -1;
	}
	return 0;
}

/* In a child with the admin role's identity: create or migrate accounts.db and check it, so
   the file and its WAL companions belong to the users that use them, never to root. */
static int supervisor_db_child(const struct config *config)
{
	struct accounts_db *db = NULL;
	char path[PATH_MAX];
	char *error = NULL;

	if (geteuid() == 0) {
		struct run_identity id;
		const char *perr;

		if (privdrop_lookup(config_str(config, "run_as.mailbox"), &id, &perr) < 0)
			return 1;
		id.extra_gid = worker_accounts_db_gid(config);
		privdrop_become(&id);
	}
	umask(007);
	paths_accounts_db(config, path, sizeof(path));
	if (accounts_db_open(path, ACCOUNTS_DB_READWRITE, &db, &error) < 0 ||
	    accounts_db_check(db, &error) < 0) {
		log_error("%s: %s", path, error != NULL ? error : "cannot open");
		free(error);
		accounts_db_close(&db);
		return 1;
	}
	accounts_db_close(&db);
	if (chmod(path, 0660) < 0) {
		log_error("%s: chmod: %s", path, strerror(errno));
		return 1;
	}
	return 0;
}

int supervisor_prepare_db(const struct config *config)
{
	int status;
	pid_t pid = fork();

	if (pid < 0) {
		log_error("fork: %s", strerror(errno));
		return -1;
	}
	if (pid == 0)
		_exit(supervisor_db_child(config));
	while (waitpid(pid, &status, 0) < 0) {
		if (errno != EINTR)
			return -1;
	}
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		log_error("the accounts database cannot be used; refusing to start (nothing was "
			  "changed: repair or restore it, see docs/admin.md)");
		return -1;
	}
	return 0;
}

int supervisor_open_admin(struct supervisor *s)
{
	const char *group = config_str(s->config, "admin.group");
	gid_t gid = (gid_t)-1;
	const char *error;

	if (geteuid() == 0) {
		struct group gr, *res = NULL;
		char buf[4096];

		if (getgrnam_r(group, &gr, buf, sizeof(buf), &res) != 0 || res == NULL) {
			log_error("admin.group %s: no such group", group);
			return -1;
		}
		gid = gr.gr_gid;
	}
	if (str_copy(s->admin_path, sizeof(s->admin_path), config_str(s->config, "admin.socket")) <
	    0) {
		log_error("admin.socket: path too long");
		return -1;
	}
	s->admin_fd = listen_unix(s->admin_path, 0660, gid, &error);
	if (s->admin_fd < 0) {
		log_error("admin socket %s: %s", s->admin_path, error);
		return -1;
	}
	s->workers[ROLE_ADMIN].listen_fds[0] = s->admin_fd;
	s->workers[ROLE_ADMIN].listen_count = 1;
	return 0;
}
