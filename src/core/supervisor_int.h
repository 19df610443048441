#ifndef MAILD_SUPERVISOR_INT_H
#define MAILD_SUPERVISOR_INT_H

#include <limits.h>
#include <stdint.h>
#include <time.h>
#include <uv.h>

#include "config.h"
#include "ipc_link.h"
#include "ipc_msg.h"
#include "worker.h"

struct supervisor;

struct supervised {
	struct supervisor *sup;
	enum role role;
	uv_process_t *process; /* NULL while not running */
	pid_t pid;
	struct ipc_link *link;
	char user[64];
	time_t started;
	uint64_t started_ms; /* uv_now: monotonic */
	unsigned restarts;   /* exits we did not ask for */
	unsigned streak;     /* quick crashes in a row, for the back-off */
	bool stop_requested; /* we sent SIGTERM: the exit is expected */
	bool restart_after_stop;
	bool ping_outstanding;
	bool kill_sent;      /* SIGKILL sent to this pid: further reports change nothing */
	enum ipc_worker_state state;
	uv_timer_t restart_timer;
	int listen_fds[WORKER_LISTEN_MAX];
	size_t listen_count;
};

struct supervisor {
	uv_loop_t *loop;
	struct config *config;
	char config_path[PATH_MAX];
	char exe_path[PATH_MAX]; /* what workers are started from */
	bool foreground;
	bool stopping;
	struct supervised workers[ROLE_COUNT];
	uv_signal_t sig_hup, sig_term, sig_int;
	uv_timer_t health_timer, shutdown_timer;
	int pid_fd;
	char pid_path[PATH_MAX];
	char admin_path[PATH_MAX];
	int admin_fd;
};

/* supervisor_workers.c */
void supervisor_workers_init(struct supervisor *s);
void supervisor_start_worker(struct supervised *w);
void supervisor_restart_worker(struct supervised *w);
void supervisor_stop_workers(struct supervisor *s, int signum);
bool supervisor_workers_gone(const struct supervisor *s);
void supervisor_health_check(struct supervisor *s);
/* SIGKILL the current process of w once, whoever asks how often; logs why. */
void supervisor_kill_worker(struct supervised *w, const char *why);
/* supervisor.c */
/* supervisor_tls.c: hand the TLS files to the running smtp and imap workers (not to those in
   restarting, a set of ROLE_BIT()s). */
void supervisor_push_tls(struct supervisor *s, uint32_t restarting);
void supervisor_on_worker_msg(struct supervised *w, const struct ipc_frame *frame, int fd);
void supervisor_all_exited(struct supervisor *s);
/* supervisor_listen.c */
extern const char *const role_listen_keys[ROLE_COUNT][4];
int supervisor_open_listeners(struct supervised *w, const struct config *config);
bool supervisor_listeners_changed(enum role role, const struct config *old_c,
				  const struct config *new_c);
/* supervisor_setup.c */
int supervisor_prepare_dirs(const struct config *config);
/* The open files limit up to 65536 (or the hard limit), for the supervisor and its workers. */
void supervisor_raise_fd_limit(void);
int supervisor_prepare_db(const struct config *config);
int supervisor_open_admin(struct supervisor *s);

#endif
