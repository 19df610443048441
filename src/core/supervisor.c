#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "pidfile.h"
#include "supervisor.h"
#include "supervisor_int.h"

static void supervisor_log_errors(const struct config_errors *errors)
{
	for (size_t i = 0; i < errors->count; i++)
		log_error("%s", errors->lines[i]);
}

static void supervisor_apply_log_level(const struct config *config)
{
	log_set_level((enum log_level)log_level_from_name(config_str(config, "log.level")));
}

static void supervisor_restart_roles(struct supervisor *s, uint32_t roles)
{
	for (int r = 0; r < ROLE_COUNT; r++) {
		if ((roles & ROLE_BIT(r)) != 0)
			supervisor_restart_worker(&s->workers[r]);
	}
}

/* Reload the config; fills errors_r and keeps the old one when the new one is invalid.
   *restart_r: the roles whose settings changed, for the caller to restart once it has
   answered whoever asked (the admin worker may be one of them). */
static int supervisor_reload(struct supervisor *s, struct config_errors *errors_r,
			     uint32_t *restart_r)
{
	struct config *next = NULL;
	bool own_changed = false;
	uint32_t roles;
	char restarted[128] = "";

	log_info("reloading configuration from %s", s->config_path);
	if (config_load(s->config_path, &next, errors_r) < 0) {
		supervisor_log_errors(errors_r);
		log_error("reload failed: %zu error(s); the running configuration stays in force",
			  errors_r->count);
		return -1;
	}
	roles = config_changed_roles(s->config, next, &own_changed);
	if (own_changed)
		log_warning("run_dir, pid_file or supervisor settings changed: they take effect "
			    "when maild is restarted");
	if (strcmp(config_str(s->config, "admin.socket"), config_str(next, "admin.socket")) != 0 ||
	    strcmp(config_str(s->config, "admin.group"), config_str(next, "admin.group")) != 0)
		log_warning("admin.socket and admin.group take effect when maild is restarted");
	for (int r = 0; r < ROLE_COUNT; r++) {
		if (r == ROLE_ADMIN || !supervisor_listeners_changed(r, s->config, next))
			continue;
		if (supervisor_open_listeners(&s->workers[r], next) < 0) {
			log_error("reload: cannot open the new listeners of %s; it keeps none until "
				  "they can be opened", role_name(r));
		}
	}
	config_free(&s->config);
	s->config = next;
	supervisor_apply_log_level(s->config);
	for (int r = 0; r < ROLE_COUNT; r++) {
		if ((roles & ROLE_BIT(r)) != 0)
			snprintf(restarted + strlen(restarted), sizeof(restarted) - strlen(restarted),
				 " %s", role_name(r));
	}
	log_info("configuration reloaded; restarting workers:%s", roles != 0 ? restarted : " none");
	*restart_r = roles;
	return 0;
}

static void supervisor_reply_status(struct supervisor *s, struct ipc_link *link,
				    const struct ipc_frame *frame)
{
	struct ipc_wbuf b;

	ipc_wbuf_init(&b);
	ipc_put_u32(&b, ROLE_COUNT);
	for (int r = 0; r < ROLE_COUNT; r++) {
		const struct supervised *w = &s->workers[r];
		struct ipc_worker_status st = { .role = (uint8_t)r, .pid = w->pid,
						.started = w->started, .restarts = w->restarts,
						.state = (uint8_t)w->state };

		snprintf(st.user, sizeof(st.user), "%s", w->user);
		ipc_put_worker_status(&b, &st);
	}
	worker_reply(link, frame, &b, -1);
	ipc_wbuf_free(&b);
}

static void supervisor_reply_reload(struct supervisor *s, struct ipc_link *link,
				    const struct ipc_frame *frame)
{
	struct config_errors errors = { 0 };
	uint32_t restart = 0;
	struct ipc_wbuf b;
	int ret = supervisor_reload(s, &errors, &restart);
	size_t n = errors.count < 100 ? errors.count : 100;

	ipc_wbuf_init(&b);
	ipc_put_bool(&b, ret == 0);
	ipc_put_u32(&b, (uint32_t)n);
	for (size_t i = 0; i < n; i++)
		ipc_put_str(&b, errors.lines[i]);
	worker_reply(link, frame, &b, -1);
	ipc_wbuf_free(&b);
	config_errors_clear(&errors);
	if (ret == 0)
		supervisor_push_tls(s, restart);
	supervisor_restart_roles(s, restart);
}

void supervisor_on_worker_msg(struct supervised *w, const struct ipc_frame *frame, int fd)
{
	struct supervisor *s = w->sup;
	struct ipc_rbuf r;

	if (fd >= 0)
		close(fd);
	ipc_rbuf_init(&r, frame->payload, frame->len);
	switch (frame->type) {
	case IPC_READY:
		if (w->state == IPC_WORKER_STARTING)
			w->state = IPC_WORKER_RUNNING;
		return;
	case IPC_STATUS:
		if (w->role == ROLE_ADMIN)
			supervisor_reply_status(s, w->link, frame);
		return;
	case IPC_RELOAD:
		if (w->role == ROLE_ADMIN)
			supervisor_reply_reload(s, w->link, frame);
		return;
	case IPC_PEER_MALFORMED: {
		uint8_t role = ipc_get_u8(&r);

		if (ipc_rbuf_end(&r) == 0 && role < ROLE_COUNT) {
			log_error("worker %s reports a malformed message from %s",
				  role_name(w->role), role_name(role));
			supervisor_kill_worker(&s->workers[role], "sent a malformed message");
		}
		return;
	}
	default:
		log_warning("unexpected message type %u from worker %s", frame->type,
			    role_name(w->role));
	}
}

void supervisor_all_exited(struct supervisor *s)
{
	uv_timer_stop(&s->shutdown_timer);
	uv_stop(s->loop);
}

static void supervisor_on_shutdown_timeout(uv_timer_t *timer)
{
	struct supervisor *s = timer->data;

	log_warning("workers still running after supervisor.shutdown_timeout; killing them");
	supervisor_stop_workers(s, SIGKILL);
}

static void supervisor_begin_shutdown(struct supervisor *s, const char *why)
{
	if (s->stopping)
		return;
	s->stopping = true;
	log_info("%s: stopping", why);
	/* Stop accepting first: no new admin client can connect while workers finish. */
	if (s->admin_fd >= 0) {
		close(s->admin_fd);
		s->admin_fd = -1;
		unlink(s->admin_path);
	}
	uv_timer_stop(&s->health_timer);
	supervisor_stop_workers(s, SIGTERM);
	if (supervisor_workers_gone(s)) {
		uv_stop(s->loop);
		return;
	}
	uv_timer_start(&s->shutdown_timer, supervisor_on_shutdown_timeout,
		       config_uint(s->config, "supervisor.shutdown_timeout"), 0);
}

static void supervisor_on_signal(uv_signal_t *handle, int signum)
{
	struct supervisor *s = handle->data;
	struct config_errors errors = { 0 };

	if (signum == SIGHUP) {
		uint32_t restart = 0;

		if (!s->stopping && supervisor_reload(s, &errors, &restart) == 0) {
			supervisor_push_tls(s, restart);
			supervisor_restart_roles(s, restart);
		}
		config_errors_clear(&errors);
		return;
	}
	supervisor_begin_shutdown(s, signum == SIGTERM ? "SIGTERM" : "SIGINT");
}

static void supervisor_on_health(uv_timer_t *timer)
{
	supervisor_health_check(timer->data);
}

static void supervisor_watch_signal(struct supervisor *s, uv_signal_t *h, int signum)
{
	uv_signal_init(s->loop, h);
	h->data = s;
	uv_signal_start(h, supervisor_on_signal, signum);
}

/* Detach from the terminal; the pid file lock (flock) stays with the child. */
static int supervisor_daemonize(int pid_fd)
{
	pid_t pid = fork();
	int null_fd;

	if (pid < 0)
		return -1;
	if (pid > 0)
		_exit(0);
	if (setsid() < 0)
		return -1;
	null_fd = open("/dev/null", O_RDWR);
	if (null_fd < 0)
		return -1;
	dup2(null_fd, 0);
	dup2(null_fd, 1);
	dup2(null_fd, 2);
	if (null_fd > 2)
		close(null_fd);
	return pidfile_write(pid_fd);
}

/* Workers run the same executable, by its resolved path: /proc/self/exe itself would name
   the tool when maild runs under valgrind, and a path is what an operator sees in ps. */
static int supervisor_find_exe(struct supervisor *s)
{
	ssize_t n = readlink("/proc/self/exe", s->exe_path, sizeof(s->exe_path) - 1);

	if (n <= 0) {
		log_error("cannot find my own executable: %s", strerror(errno));
		return -1;
	}
	s->exe_path[n] = '\0';
	return 0;
}

static int supervisor_setup(struct supervisor *s)
{
	pid_t other;

	if (supervisor_find_exe(s) < 0)
		return 71;
	supervisor_raise_fd_limit();
	if (supervisor_prepare_dirs(s->config) < 0)
		return 71;
	snprintf(s->pid_path, sizeof(s->pid_path), "%s", config_str(s->config, "pid_file"));
	s->pid_fd = pidfile_acquire(s->pid_path, &other);
	if (s->pid_fd < 0) {
		if (other > 0)
			log_error("another maild (pid %ld) is running with pid file %s; not starting",
				  (long)other, s->pid_path);
		else
			log_error("pid file %s: %s", s->pid_path, strerror(errno));
		return 75;
	}
	if (supervisor_prepare_db(s->config) < 0 || supervisor_open_admin(s) < 0)
		return 71;
	for (int r = 0; r < ROLE_COUNT; r++) {
		if (r != ROLE_ADMIN && supervisor_open_listeners(&s->workers[r], s->config) < 0)
			return 71;
	}
	if (!s->foreground && supervisor_daemonize(s->pid_fd) < 0) {
		log_error("cannot detach: %s", strerror(errno));
		return 71;
	}
	return 0;
}

int supervisor_main(const char *config_path, bool foreground)
{
	static struct supervisor s;
	struct config_errors errors = { 0 };
	int ret;

	s.foreground = foreground;
	s.admin_fd = -1;
	s.pid_fd = -1;
	for (int r = 0; r < ROLE_COUNT; r++) {
		s.workers[r].role = (enum role)r;
		s.workers[r].sup = &s;
	}
	log_init("master", foreground);
	snprintf(s.config_path, sizeof(s.config_path), "%s", config_path);
	if (config_load(config_path, &s.config, &errors) < 0) {
		supervisor_log_errors(&errors);
		config_errors_clear(&errors);
		return 78;
	}
	supervisor_apply_log_level(s.config);
	if (geteuid() != 0)
		log_notice("started as uid %ld, not root: every worker runs as this user "
			   "(development mode)", (long)geteuid());
	ret = supervisor_setup(&s);
	if (ret != 0) {
		pidfile_release(s.pid_fd, s.pid_path);
		config_free(&s.config);
		return ret;
	}
	signal(SIGPIPE, SIG_IGN);
	s.loop = uv_default_loop();
	supervisor_workers_init(&s);
	supervisor_watch_signal(&s, &s.sig_hup, SIGHUP);
	supervisor_watch_signal(&s, &s.sig_term, SIGTERM);
	supervisor_watch_signal(&s, &s.sig_int, SIGINT);
	uv_timer_init(s.loop, &s.shutdown_timer);
	s.shutdown_timer.data = &s;
	uv_timer_init(s.loop, &s.health_timer);
	s.health_timer.data = &s;
	uint64_t interval = config_uint(s.config, "supervisor.health_interval");
	uv_timer_start(&s.health_timer, supervisor_on_health, interval, interval);
	log_info("maild starting (config %s)", s.config_path);
	for (int r = 0; r < ROLE_COUNT; r++)
		supervisor_start_worker(&s.workers[r]);
	uv_run(s.loop, UV_RUN_DEFAULT);
	pidfile_release(s.pid_fd, s.pid_path);
	log_info("maild stopped");
	config_free(&s.config);
	return 0;
}
