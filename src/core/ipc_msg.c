#include <limits.h>

#include "ipc_msg.h"

#define R(t) ((uint16_t)((t) | IPC_REPLY))

static const struct ipc_type_info ipc_type_list[] = {
	{ IPC_PING, 0, "ping" },
	{ R(IPC_PING), 0, "ping-reply" },
	{ IPC_PEER, 1, "peer" },
	{ IPC_PEER_MALFORMED, 1, "peer-malformed" },
	{ IPC_READY, 0, "ready" },
	{ IPC_STATUS, 0, "status" },
	{ R(IPC_STATUS), 4 + ROLE_COUNT * 128, "status-reply" },
	{ IPC_RELOAD, 0, "reload" },
	{ IPC_TLS_RELOAD, 0, "tls-reload" },
	{ R(IPC_RELOAD), 64 * 1024, "reload-reply" },
	{ IPC_ACCT_VERIFY, 4 * 1024 + 1024, "acct-verify" },
	{ R(IPC_ACCT_VERIFY), 1024, "acct-verify-reply" },
	{ IPC_ACCT_RESOLVE, 1024, "acct-resolve" },
	{ R(IPC_ACCT_RESOLVE), 128 * 1024, "acct-resolve-reply" },
	{ IPC_ACCT_QUOTA, 1024, "acct-quota" },
	{ R(IPC_ACCT_QUOTA), 2048, "acct-quota-reply" },
	{ IPC_ADMIN_REHASH, 2048, "admin-rehash" },
	{ R(IPC_ADMIN_REHASH), 1, "admin-rehash-reply" },
	{ IPC_DELIVER, IPC_DELIVER_MAX, "deliver" },
	{ R(IPC_DELIVER), IPC_DELIVER_REPLY_MAX, "deliver-reply" },
	{ IPC_QUOTA_CHECK, 4 + PATH_MAX + 8 + 8, "quota-check" },
	{ R(IPC_QUOTA_CHECK), 1 + 8, "quota-check-reply" },
	{ IPC_QUEUE_ADD, IPC_DELIVER_MAX, "queue-add" },
	{ R(IPC_QUEUE_ADD), 1 + 4 + IPC_DELIVER_TEXT_MAX, "queue-add-reply" },
	{ IPC_MAILBOX_CHANGED, 4 + PATH_MAX + 4 + IPC_DELIVER_FOLDER_MAX, "mailbox-changed" },
};

const struct ipc_types ipc_types_all = {
	ipc_type_list, sizeof(ipc_type_list) / sizeof(ipc_type_list[0])
};

const char *ipc_worker_state_name(uint8_t state)
{
	switch (state) {
	case IPC_WORKER_RUNNING:
		return "running";
	case IPC_WORKER_STARTING:
		return "starting";
	case IPC_WORKER_BACKOFF:
		return "restarting";
	case IPC_WORKER_STOPPED:
		return "stopped";
	}
	return "unknown";
}

void ipc_put_worker_status(struct ipc_wbuf *w, const struct ipc_worker_status *s)
{
	ipc_put_u8(w, s->role);
	ipc_put_u32(w, (uint32_t)s->pid);
	ipc_put_str(w, s->user);
	ipc_put_i64(w, s->started);
	ipc_put_u32(w, s->restarts);
	ipc_put_u8(w, s->state);
}

void ipc_get_worker_status(struct ipc_rbuf *r, struct ipc_worker_status *s)
{
	s->role = ipc_get_u8(r);
	s->pid = (int32_t)ipc_get_u32(r);
	ipc_get_str(r, s->user, sizeof(s->user));
	s->started = ipc_get_i64(r);
	s->restarts = ipc_get_u32(r);
	s->state = ipc_get_u8(r);
	if (s->role >= ROLE_COUNT || s->state > IPC_WORKER_STOPPED)
		r->failed = true;
}
