#include <time.h>
#include <unistd.h>

#include "../core/ipc_msg.h"
#include "../version.h"
#include "admin_int.h"

/* The client of an asynchronous call may hang up meanwhile: the call lives on until the
   supervisor answers, then admin_reply_* notices conn == NULL. */
static void admin_status_done(const struct ipc_frame *frame, int fd, void *ctx)
{
	struct admin_call *call = ctx;
	json_t *workers = json_array();
	struct ipc_rbuf r;
	uint32_t n;
	time_t now = time(NULL);

	if (fd >= 0)
		close(fd);
	if (frame == NULL) {
		json_decref(workers);
		admin_reply_error(call, ADMIN_EX_TEMPFAIL, "status: the supervisor did not answer");
		return;
	}
	ipc_rbuf_init(&r, frame->payload, frame->len);
	n = ipc_get_u32(&r);
	for (uint32_t i = 0; i < n && i < ROLE_COUNT && !r.failed; i++) {
		struct ipc_worker_status s;

		ipc_get_worker_status(&r, &s);
		if (r.failed)
			break;
		json_array_append_new(
			workers, json_pack("{s:s, s:i, s:s, s:I, s:I, s:i, s:s}", "role",
					   role_name(s.role), "pid", s.pid, "user", s.user,
					   "started", (json_int_t)s.started, "uptime",
					   (json_int_t)(s.pid > 0 ? now - s.started : 0), "restarts",
					   (int)s.restarts, "state", ipc_worker_state_name(s.state)));
	}
	if (ipc_rbuf_end(&r) < 0) {
		json_decref(workers);
		admin_reply_error(call, ADMIN_EX_SOFTWARE, "status: malformed answer");
		return;
	}
	admin_reply_ok(call, json_pack("{s:s, s:o}", "version", MAILD_VERSION, "workers", workers));
}

void admin_status(struct admin_call *call)
{
	if (ipc_link_request(call->st->w->supervisor, IPC_STATUS, NULL, -1, admin_status_done,
			     call) < 0)
		admin_reply_error(call, ADMIN_EX_TEMPFAIL, "status: supervisor unreachable");
}

static void admin_reload_done(const struct ipc_frame *frame, int fd, void *ctx)
{
	struct admin_call *call = ctx;
	json_t *details = json_array();
	struct ipc_rbuf r;
	bool ok;
	uint32_t n;

	if (fd >= 0)
		close(fd);
	if (frame == NULL) {
		json_decref(details);
		/* Reload restarts admin when admin settings changed: the link closes first. */
		admin_reply_error(call, ADMIN_EX_TEMPFAIL, "reload: no answer from the supervisor");
		return;
	}
	ipc_rbuf_init(&r, frame->payload, frame->len);
	ok = ipc_get_bool(&r);
	n = ipc_get_u32(&r);
	for (uint32_t i = 0; i < n && i < 100 && !r.failed; i++) {
		char line[1024];

		ipc_get_str(&r, line, sizeof(line));
		if (!r.failed)
			json_array_append_new(details, json_string(line));
	}
	if (ok && ipc_rbuf_end(&r) == 0) {
		json_decref(details);
		admin_reply_ok(call, json_pack("{s:b}", "reloaded", 1));
	} else {
		admin_reply_error_details(call, ADMIN_EX_CONFIG, details,
					  "reload: the configuration has errors; the running "
					  "configuration stays in force");
	}
}

void admin_reload(struct admin_call *call)
{
	if (ipc_link_request(call->st->w->supervisor, IPC_RELOAD, NULL, -1, admin_reload_done,
			     call) < 0)
		admin_reply_error(call, ADMIN_EX_TEMPFAIL, "reload: supervisor unreachable");
}
