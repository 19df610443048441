#include <errno.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "ipc_sock.h"
#include "log.h"
#include "supervisor_int.h"

/* Who talks to whom (DESIGN.md); the supervisor hands each pair a socketpair and hands a new
   one whenever either side restarts. */
static const enum role peer_edges[][2] = {
	{ ROLE_ACCOUNTS, ROLE_SMTP },  { ROLE_ACCOUNTS, ROLE_IMAP },  { ROLE_ACCOUNTS, ROLE_ADMIN },
	{ ROLE_SMTP, ROLE_FILTER },    { ROLE_SMTP, ROLE_DELIVERY },  { ROLE_SMTP, ROLE_QUEUE },
	{ ROLE_QUEUE, ROLE_DELIVERY }, { ROLE_DELIVERY, ROLE_IMAP },
};

/* A worker that lived this long before dying starts its back-off from the beginning. */
#define SUPERVISOR_STABLE_MS 30000
#define SUPERVISOR_FIRST_DELAY_MS 100
/* A worker that has not said READY by then is killed (and restarted with back-off). */
#define SUPERVISOR_START_TIMEOUT_MS 60000

static void supervisor_on_exit(uv_process_t *process, int64_t status, int term_signal);

static void supervisor_on_link_msg(struct ipc_link *link, const struct ipc_frame *frame, int fd,
				   void *ctx)
{
	(void)link;
	supervisor_on_worker_msg(ctx, frame, fd);
}

static void supervisor_on_link_close(struct ipc_link *link, bool malformed, const char *reason,
				     void *ctx)
{
	struct supervised *w = ctx;

	(void)link;
	if (malformed) {
		log_error("malformed message from worker %s: %s", role_name(w->role), reason);
		supervisor_kill_worker(w, "sent a malformed message");
	}
}

static void supervisor_link_pair(struct supervised *a, struct supervised *b)
{
	struct ipc_wbuf msg;
	int sv[2];

	if (ipc_sock_pair(sv) < 0) {
		log_error("socketpair for %s-%s: %s", role_name(a->role), role_name(b->role),
			  strerror(errno));
		return;
	}
	ipc_wbuf_init(&msg);
	ipc_put_u8(&msg, (uint8_t)b->role);
	ipc_link_send(a->link, IPC_PEER, 0, &msg, sv[0]);
	ipc_wbuf_free(&msg);
	ipc_wbuf_init(&msg);
	ipc_put_u8(&msg, (uint8_t)a->role);
	ipc_link_send(b->link, IPC_PEER, 0, &msg, sv[1]);
	ipc_wbuf_free(&msg);
	close(sv[0]);
	close(sv[1]);
}

static void supervisor_link_peers(struct supervised *w)
{
	struct supervisor *s = w->sup;

	for (size_t i = 0; i < sizeof(peer_edges) / sizeof(peer_edges[0]); i++) {
		enum role other;

		if (peer_edges[i][0] == w->role)
			other = peer_edges[i][1];
		else if (peer_edges[i][1] == w->role)
			other = peer_edges[i][0];
		else
			continue;
		if (ipc_link_is_open(s->workers[other].link))
			supervisor_link_pair(w, &s->workers[other]);
	}
}

static void supervisor_worker_user(struct supervised *w)
{
	const char *user = config_str(w->sup->config, worker_user_key(w->role));

	if (geteuid() != 0) {
		struct passwd pw, *res = NULL;
		char buf[1024];

		if (getpwuid_r(geteuid(), &pw, buf, sizeof(buf), &res) == 0 && res != NULL)
			snprintf(w->user, sizeof(w->user), "%s", pw.pw_name);
		else
			snprintf(w->user, sizeof(w->user), "%ld", (long)geteuid());
	} else {
		snprintf(w->user, sizeof(w->user), "%s", user);
	}
}

static int supervisor_spawn(struct supervised *w, int child_sock)
{
	struct supervisor *s = w->sup;
	uv_stdio_container_t stdio[3 + 1 + WORKER_LISTEN_MAX];
	char role_arg[64], fds_arg[32], parent_arg[32];
	char *args[10];
	int n = 0;
	uv_process_options_t opts = { 0 };

	snprintf(role_arg, sizeof(role_arg), "--role=%s", role_name(w->role));
	snprintf(fds_arg, sizeof(fds_arg), "--listeners=%zu", w->listen_count);
	snprintf(parent_arg, sizeof(parent_arg), "--parent=%ld", (long)getpid());
	args[n++] = "maild";
	args[n++] = role_arg;
	args[n++] = "--config";
	args[n++] = s->config_path;
	args[n++] = fds_arg;
	args[n++] = parent_arg;
	if (s->foreground)
		args[n++] = "--foreground";
	args[n] = NULL;
	for (int i = 0; i < 3; i++) {
		stdio[i].flags = UV_INHERIT_FD;
		stdio[i].data.fd = i;
	}
	stdio[3].flags = UV_INHERIT_FD;
	stdio[3].data.fd = child_sock;
	for (size_t i = 0; i < w->listen_count; i++) {
		stdio[4 + i].flags = UV_INHERIT_FD;
		stdio[4 + i].data.fd = w->listen_fds[i];
	}
	opts.file = s->exe_path;
	opts.args = args;
	opts.exit_cb = supervisor_on_exit;
	opts.stdio = stdio;
	opts.stdio_count = (int)(4 + w->listen_count);
	w->process = calloc(1, sizeof(*w->process));
	if (w->process == NULL)
		fatal("out of memory");
	w->process->data = w;
	int ret = uv_spawn(s->loop, w->process, &opts);
	if (ret != 0) {
		log_error("cannot start worker %s: %s", role_name(w->role), uv_strerror(ret));
		uv_close((uv_handle_t *)w->process, (uv_close_cb)free);
		w->process = NULL;
		return -1;
	}
	w->pid = w->process->pid;
	return 0;
}

static void supervisor_schedule_restart(struct supervised *w, uint64_t delay_ms);

void supervisor_start_worker(struct supervised *w)
{
	struct supervisor *s = w->sup;
	int sv[2];

	if (s->stopping || w->process != NULL)
		return;
	if (ipc_sock_pair(sv) < 0) {
		log_error("socketpair: %s", strerror(errno));
		supervisor_schedule_restart(w, 1000);
		return;
	}
	supervisor_worker_user(w);
	if (supervisor_spawn(w, sv[1]) < 0) {
		close(sv[0]);
		close(sv[1]);
		supervisor_schedule_restart(w, 1000);
		return;
	}
	close(sv[1]);
	w->started = time(NULL);
	w->started_ms = uv_now(s->loop);
	w->stop_requested = false;
	w->ping_outstanding = false;
	w->kill_sent = false;
	w->state = IPC_WORKER_STARTING;
	ipc_link_free(&w->link);
	w->link = ipc_link_new(s->loop, sv[0], &ipc_types_all, role_name(w->role),
			       supervisor_on_link_msg, supervisor_on_link_close, w);
	log_info("started worker %s (pid %ld, user %s)", role_name(w->role), (long)w->pid, w->user);
	supervisor_link_peers(w);
}

static void supervisor_on_restart_timer(uv_timer_t *timer)
{
	supervisor_start_worker(timer->data);
}

static void supervisor_schedule_restart(struct supervised *w, uint64_t delay_ms)
{
	w->state = IPC_WORKER_BACKOFF;
	uv_timer_start(&w->restart_timer, supervisor_on_restart_timer, delay_ms, 0);
}

static uint64_t supervisor_backoff(struct supervised *w)
{
	uint64_t max = config_uint(w->sup->config, "supervisor.restart_delay_max");
	uint64_t delay = SUPERVISOR_FIRST_DELAY_MS;

	if (uv_now(w->sup->loop) - w->started_ms >= SUPERVISOR_STABLE_MS)
		w->streak = 0;
	for (unsigned i = 0; i < w->streak && delay < max; i++)
		delay *= 2;
	if (w->streak < 32)
		w->streak++;
	return delay < max ? delay : max;
}

static void supervisor_log_exit(struct supervised *w, int64_t status, int term_signal,
				uint64_t delay)
{
	char how[64];

	if (term_signal != 0)
		snprintf(how, sizeof(how), "killed by signal %d", term_signal);
	else
		snprintf(how, sizeof(how), "exited with status %lld", (long long)status);
	if (w->sup->stopping || (w->stop_requested && !w->restart_after_stop))
		log_info("worker %s (pid %ld) %s", role_name(w->role), (long)w->pid, how);
	else if (w->stop_requested)
		log_info("worker %s (pid %ld) %s; starting it again", role_name(w->role),
			 (long)w->pid, how);
	else
		log_warning("worker %s (pid %ld) %s; restart %u in %llu ms", role_name(w->role),
			    (long)w->pid, how, w->restarts, (unsigned long long)delay);
}

static void supervisor_on_exit(uv_process_t *process, int64_t status, int term_signal)
{
	struct supervised *w = process->data;
	struct supervisor *s = w->sup;
	uint64_t delay = 0;

	uv_close((uv_handle_t *)process, (uv_close_cb)free);
	w->process = NULL;
	ipc_link_free(&w->link);
	if (!s->stopping && !w->stop_requested) {
		w->restarts++;
		delay = supervisor_backoff(w);
	}
	supervisor_log_exit(w, status, term_signal, delay);
	w->pid = 0;
	if (s->stopping) {
		w->state = IPC_WORKER_STOPPED;
		if (supervisor_workers_gone(s))
			supervisor_all_exited(s);
		return;
	}
	if (w->stop_requested && !w->restart_after_stop) {
		w->state = IPC_WORKER_STOPPED;
		return;
	}
	w->restart_after_stop = false;
	supervisor_schedule_restart(w, delay);
}

void supervisor_kill_worker(struct supervised *w, const char *why)
{
	if (w->process == NULL || w->kill_sent)
		return;
	log_error("worker %s (pid %ld) %s; restarting it", role_name(w->role), (long)w->pid, why);
	w->kill_sent = true;
	kill(w->pid, SIGKILL);
}

void supervisor_restart_worker(struct supervised *w)
{
	if (w->process == NULL) {
		if (w->state != IPC_WORKER_BACKOFF)
			supervisor_start_worker(w);
		return;
	}
	w->stop_requested = true;
	w->restart_after_stop = true;
	kill(w->pid, SIGTERM);
}

void supervisor_stop_workers(struct supervisor *s, int signum)
{
	for (int r = 0; r < ROLE_COUNT; r++) {
		struct supervised *w = &s->workers[r];

		uv_timer_stop(&w->restart_timer);
		if (w->process != NULL) {
			w->stop_requested = true;
			kill(w->pid, signum);
		} else {
			w->state = IPC_WORKER_STOPPED;
		}
	}
}

bool supervisor_workers_gone(const struct supervisor *s)
{
	for (int r = 0; r < ROLE_COUNT; r++) {
		if (s->workers[r].process != NULL)
			return false;
	}
	return true;
}

static void supervisor_on_pong(const struct ipc_frame *frame, int fd, void *ctx)
{
	struct supervised *w = ctx;

	(void)frame;
	if (fd >= 0)
		close(fd);
	w->ping_outstanding = false;
}

void supervisor_health_check(struct supervisor *s)
{
	for (int r = 0; r < ROLE_COUNT; r++) {
		struct supervised *w = &s->workers[r];

		if (w->process == NULL || !ipc_link_is_open(w->link))
			continue;
		/* Start-up (loading, privilege drop) is not pinged, only bounded. */
		if (w->state == IPC_WORKER_STARTING) {
			if (uv_now(s->loop) - w->started_ms > SUPERVISOR_START_TIMEOUT_MS)
				supervisor_kill_worker(w, "did not finish starting");
			continue;
		}
		if (w->ping_outstanding) {
			supervisor_kill_worker(w, "did not answer its health ping");
			continue;
		}
		if (ipc_link_request(w->link, IPC_PING, NULL, -1, supervisor_on_pong, w) == 0)
			w->ping_outstanding = true;
	}
}

void supervisor_workers_init(struct supervisor *s)
{
	for (int r = 0; r < ROLE_COUNT; r++) {
		struct supervised *w = &s->workers[r];

		w->sup = s;
		w->role = (enum role)r;
		w->state = IPC_WORKER_STOPPED;
		uv_timer_init(s->loop, &w->restart_timer);
		w->restart_timer.data = w;
	}
}
