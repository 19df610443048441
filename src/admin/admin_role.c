/* The admin role: the admin socket, one JSON request per line (docs/admin-protocol.md). */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../core/ipc_msg.h"
#include "../core/log.h"
#include "../core/paths.h"
#include "admin_int.h"

/* Beyond this many clients at once, new ones are closed at once. */
#define ADMIN_CONNECTIONS_MAX 32

struct admin_conn {
	uv_pipe_t pipe;
	struct admin_state *st;
	uid_t uid;
	char *buf;
	size_t len;
	struct admin_call *call; /* in flight */
	bool closing;
	bool close_after_write;
	bool reading;
};

struct admin_write {
	uv_write_t req;
	struct admin_conn *conn;
	char data[];
};

static admin_handler *const admin_handlers[ADMIN_CMD_COUNT] = {
	[ADMIN_DOMAIN_ADD] = admin_domain_add,	   [ADMIN_DOMAIN_LIST] = admin_domain_list,
	[ADMIN_DOMAIN_SHOW] = admin_domain_show,   [ADMIN_DOMAIN_REMOVE] = admin_domain_remove,
	[ADMIN_USER_ADD] = admin_user_add,	   [ADMIN_USER_LIST] = admin_user_list,
	[ADMIN_USER_SHOW] = admin_user_show,	   [ADMIN_USER_PASSWD] = admin_user_passwd,
	[ADMIN_USER_QUOTA] = admin_user_quota,	   [ADMIN_USER_DISABLE] = admin_user_disable,
	[ADMIN_USER_ENABLE] = admin_user_enable,   [ADMIN_USER_REMOVE] = admin_user_remove,
	[ADMIN_ALIAS_ADD] = admin_alias_add,	   [ADMIN_ALIAS_LIST] = admin_alias_list,
	[ADMIN_ALIAS_REMOVE] = admin_alias_remove, [ADMIN_STATUS] = admin_status,
	[ADMIN_AUTH_TEST] = admin_auth_test,	   [ADMIN_ADDRESS_RESOLVE] = admin_address_resolve,
	[ADMIN_RELOAD] = admin_reload,
};

static void admin_conn_process(struct admin_conn *conn);
static void admin_on_alloc(uv_handle_t *handle, size_t suggested, uv_buf_t *buf);
static void admin_on_read(uv_stream_t *stream, ssize_t nread, const uv_buf_t *buf);

static void admin_conn_read(struct admin_conn *conn, bool on)
{
	if (on && !conn->reading)
		uv_read_start((uv_stream_t *)&conn->pipe, admin_on_alloc, admin_on_read);
	else if (!on && conn->reading)
		uv_read_stop((uv_stream_t *)&conn->pipe);
	conn->reading = on;
}

static void admin_conn_on_closed(uv_handle_t *handle)
{
	struct admin_conn *conn = handle->data;

	conn->st->connections--;
	free(conn->buf);
	free(conn);
}

static void admin_conn_close(struct admin_conn *conn)
{
	if (conn->closing)
		return;
	conn->closing = true;
	if (conn->call != NULL)
		conn->call->conn = NULL;
	uv_close((uv_handle_t *)&conn->pipe, admin_conn_on_closed);
}

/* After SIGTERM: exit once every answer in flight has been written. */
static void admin_exit_if_idle(struct admin_state *st)
{
	if (st->stopping && st->calls_in_flight == 0 && st->writes_in_flight == 0)
		exit(0);
}

static void admin_on_written(uv_write_t *req, int status)
{
	struct admin_write *wr = (struct admin_write *)req;
	struct admin_conn *conn = wr->conn;
	struct admin_state *st = conn->st;

	free(wr);
	st->writes_in_flight--;
	if (status < 0 || conn->close_after_write)
		admin_conn_close(conn);
	admin_exit_if_idle(st);
}

static void admin_conn_send(struct admin_conn *conn, json_t *reply)
{
	char *text = json_dumps(reply, JSON_COMPACT);
	size_t len;
	struct admin_write *wr;
	uv_buf_t buf;

	if (text == NULL)
		fatal("out of memory");
	len = strlen(text);
	wr = malloc(sizeof(*wr) + len + 1);
	if (wr == NULL)
		fatal("out of memory");
	memcpy(wr->data, text, len);
	wr->data[len] = '\n';
	free(text);
	wr->conn = conn;
	buf = uv_buf_init(wr->data, (unsigned)len + 1);
	if (uv_write(&wr->req, (uv_stream_t *)&conn->pipe, &buf, 1, admin_on_written) < 0) {
		free(wr);
		admin_conn_close(conn);
		return;
	}
	conn->st->writes_in_flight++;
}

static void admin_log_call(const struct admin_call *call, int code)
{
	const struct admin_cmd_spec *spec = &admin_cmd_specs[call->req.cmd];
	const char *arg = spec->log_arg != NULL ? admin_arg_str(&call->req, spec->log_arg) : NULL;
	char cmd[64];

	if (!spec->changes)
		return;
	snprintf(cmd, sizeof(cmd), "%s", spec->name);
	for (char *p = cmd; *p != '\0'; p++)
		*p = *p == '.' ? ' ' : *p;
	if (code == 0)
		log_info("uid=%ld cmd=\"%s%s%s\" result=ok", (long)call->uid, cmd,
			 arg != NULL ? " " : "", arg != NULL ? log_esc(arg) : "");
	else
		log_info("uid=%ld cmd=\"%s%s%s\" result=error code=%d", (long)call->uid, cmd,
			 arg != NULL ? " " : "", arg != NULL ? log_esc(arg) : "", code);
}

static void admin_call_finish(struct admin_call *call, json_t *reply, int code)
{
	struct admin_conn *conn = call->conn;
	struct admin_state *st = call->st;

	admin_log_call(call, code);
	if (conn != NULL) {
		conn->call = NULL;
		admin_conn_send(conn, reply);
	}
	json_decref(reply);
	admin_request_clear(&call->req);
	free(call);
	st->calls_in_flight--;
	if (st->stopping) {
		if (conn != NULL)
			conn->close_after_write = true;
		admin_exit_if_idle(st);
		return;
	}
	if (conn != NULL && !conn->closing && !conn->close_after_write) {
		admin_conn_process(conn);
		if (!conn->closing && !conn->close_after_write && conn->len <= ADMIN_REQUEST_MAX &&
		    !conn->reading)
			admin_conn_read(conn, true);
	}
}

void admin_reply_ok(struct admin_call *call, json_t *result)
{
	json_t *reply = json_pack("{s:b, s:o}", "ok", 1, "result",
				  result != NULL ? result : json_object());

	admin_call_finish(call, reply, 0);
}

static json_t *admin_error_json(int code, const char *fmt, va_list ap)
{
	char text[1024];

	vsnprintf(text, sizeof(text), fmt, ap);
	return json_pack("{s:b, s:i, s:s}", "ok", 0, "code", code, "error", text);
}

void admin_reply_error(struct admin_call *call, int code, const char *fmt, ...)
{
	va_list ap;
	json_t *reply;

	va_start(ap, fmt);
	reply = admin_error_json(code, fmt, ap);
	va_end(ap);
	admin_call_finish(call, reply, code);
}

void admin_reply_error_details(struct admin_call *call, int code, json_t *details,
			       const char *fmt, ...)
{
	va_list ap;
	json_t *reply;

	va_start(ap, fmt);
	reply = admin_error_json(code, fmt, ap);
	va_end(ap);
	json_object_set_new(reply, "details", details);
	admin_call_finish(call, reply, code);
}

int admin_db_code(int adb_result)
{
	switch (adb_result) {
	case ADB_NOT_FOUND:
		return ADMIN_EX_NOUSER;
	case ADB_EXISTS:
		return ADMIN_EX_CANTCREAT;
	case ADB_BUSY:
		return ADMIN_EX_TEMPFAIL;
	case ADB_IN_USE:
	case ADB_INVALID:
		return ADMIN_EX_DATAERR;
	default:
		return ADMIN_EX_SOFTWARE;
	}
}

/* A request the decoder refused: answer, then hang up (docs/admin-protocol.md). */
static void admin_conn_refuse(struct admin_conn *conn, const char *error)
{
	json_t *reply = json_pack("{s:b, s:i, s:s}", "ok", 0, "code", ADMIN_EX_USAGE, "error",
				  error);

	log_warning("uid=%ld bad request: %s", (long)conn->uid, error);
	admin_conn_read(conn, false);
	conn->close_after_write = true;
	admin_conn_send(conn, reply);
	json_decref(reply);
}

static void admin_conn_dispatch(struct admin_conn *conn, const char *line, size_t len)
{
	struct admin_call *call = calloc(1, sizeof(*call));
	char error[256];

	if (call == NULL)
		fatal("out of memory");
	if (admin_request_parse(line, len, &call->req, error, sizeof(error)) < 0) {
		free(call);
		admin_conn_refuse(conn, error);
		return;
	}
	call->st = conn->st;
	call->conn = conn;
	call->uid = conn->uid;
	conn->call = call;
	conn->st->calls_in_flight++;
	admin_handlers[call->req.cmd](call);
}

/* Handle every complete line, one request at a time. */
static void admin_conn_process(struct admin_conn *conn)
{
	while (!conn->closing && !conn->close_after_write && conn->call == NULL) {
		char *nl = memchr(conn->buf, '\n', conn->len);
		size_t line_len;

		if (nl == NULL) {
			if (conn->len > ADMIN_REQUEST_MAX)
				admin_conn_refuse(conn, "request: too large");
			return;
		}
		line_len = (size_t)(nl - conn->buf);
		/* Take the line out of the buffer first: the handler may answer at once. */
		char *line = malloc(line_len + 1);
		if (line == NULL)
			fatal("out of memory");
		memcpy(line, conn->buf, line_len);
		conn->len -= line_len + 1;
		memmove(conn->buf, nl + 1, conn->len);
		if (line_len > 0 && line[line_len - 1] == '\r')
			line_len--;
		admin_conn_dispatch(conn, line, line_len);
		free(line);
	}
}

static void admin_on_alloc(uv_handle_t *handle, size_t suggested, uv_buf_t *buf)
{
	struct admin_conn *conn = handle->data;
	size_t room = ADMIN_REQUEST_MAX + 2 - conn->len;

	(void)suggested;
	*buf = uv_buf_init(conn->buf + conn->len, (unsigned)room);
}

static void admin_on_read(uv_stream_t *stream, ssize_t nread, const uv_buf_t *buf)
{
	struct admin_conn *conn = stream->data;

	(void)buf;
	if (nread < 0) {
		admin_conn_close(conn);
		return;
	}
	conn->len += (size_t)nread;
	admin_conn_process(conn);
	/* Full buffer with a request in flight: stop reading until it is answered. */
	if (!conn->closing && conn->len > ADMIN_REQUEST_MAX)
		admin_conn_read(conn, false);
}

static void admin_conn_peer(struct admin_conn *conn)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);
	uv_os_fd_t fd;

	conn->uid = (uid_t)-1;
	if (uv_fileno((uv_handle_t *)&conn->pipe, &fd) == 0 &&
	    getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) == 0)
		conn->uid = cred.uid;
}

static void admin_on_connection(uv_stream_t *server, int status)
{
	struct admin_state *st = server->data;
	struct admin_conn *conn;

	if (status < 0)
		return;
	conn = calloc(1, sizeof(*conn));
	if (conn == NULL || (conn->buf = malloc(ADMIN_REQUEST_MAX + 2)) == NULL)
		fatal("out of memory");
	conn->st = st;
	st->connections++;
	uv_pipe_init(server->loop, &conn->pipe, 0);
	conn->pipe.data = conn;
	if (uv_accept(server, (uv_stream_t *)&conn->pipe) < 0) {
		admin_conn_close(conn);
		return;
	}
	if (st->connections > ADMIN_CONNECTIONS_MAX) {
		log_warning("too many admin connections; closing a new one");
		admin_conn_close(conn);
		return;
	}
	admin_conn_peer(conn);
	admin_conn_read(conn, true);
}

static void admin_on_message(struct worker *w, int from, struct ipc_link *link,
			     const struct ipc_frame *frame, int fd)
{
	if (fd >= 0)
		close(fd);
	if (from == ROLE_ACCOUNTS && frame->type == IPC_ADMIN_REHASH)
		admin_on_rehash(w->state, link, frame);
}

static void admin_stop(struct worker *w)
{
	struct admin_state *st = w->state;

	st->stopping = true;
	uv_close((uv_handle_t *)&st->server, NULL);
	admin_exit_if_idle(st);
}

static int admin_start(struct worker *w, const char **error_r)
{
	static struct admin_state st;
	uv_pipe_t *server = &st.server;
	char path[PATH_MAX];
	char *error = NULL;

	st.w = w;
	st.mail_root = config_str(w->config, "mail_root");
	if (paths_accounts_db(w->config, path, sizeof(path)) < 0 ||
	    paths_removed_dir(w->config, st.removed_dir, sizeof(st.removed_dir)) < 0) {
		*error_r = "state_dir too long";
		return -1;
	}
	if (accounts_db_open(path, ACCOUNTS_DB_READWRITE, &st.db, &error) < 0) {
		log_error("%s", error != NULL ? error : "cannot open accounts.db");
		free(error);
		*error_r = "cannot open the accounts database";
		return -1;
	}
	if (w->listen_count < 1) {
		*error_r = "no admin socket was passed";
		return -1;
	}
	w->state = &st;
	uv_pipe_init(w->loop, server, 0);
	server->data = &st;
	if (uv_pipe_open(server, w->listen_fds[0]) < 0 ||
	    uv_listen((uv_stream_t *)server, 64, admin_on_connection) < 0) {
		*error_r = "cannot listen on the admin socket";
		return -1;
	}
	return 0;
}

const struct role_ops admin_role_ops = {
	.start = admin_start,
	.on_message = admin_on_message,
	.stop = admin_stop,
};
