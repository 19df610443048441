#ifndef MAILD_IPC_MSG_H
#define MAILD_IPC_MSG_H

#include <stdint.h>
#include <sys/types.h>

#include "ipc_buf.h"
#include "ipc_frame.h"
#include "ipc_link.h"
#include "roles.h"

/* Every message between maild's processes. Bump IPC_VERSION (ipc_frame.h) when a layout changes.
   Replies are the request type | IPC_REPLY. */
enum ipc_type {
	/* supervisor <-> every worker */
	IPC_PING = 1,		/* empty; reply empty */
	IPC_PEER = 2,		/* u8 role of the peer; fd: our end of a socketpair to it */
	IPC_PEER_MALFORMED = 3, /* u8 role: that peer sent a malformed frame; restart it */
	IPC_READY = 4,		/* empty: privileges dropped, role started, serving */
	/* admin -> supervisor */
	IPC_STATUS = 10, /* empty; reply: u32 n, n x worker_status */
	IPC_RELOAD = 11, /* empty; reply: bool ok, u32 n, n x str error line */
	/* smtp/imap/admin -> accounts */
	IPC_ACCT_VERIFY = 20,  /* str user, str password, str service, str remote ip;
				  reply: u8 verify result, str canonical address */
	IPC_ACCT_RESOLVE = 21, /* str address; reply: u8 enum resolve_status, str fail text,
				  u32 n, n x { bool local, i64 account id, str address,
				  u64 quota bytes, str maildir ("" for remote) } */
	IPC_ACCT_QUOTA = 22,   /* str address; reply: u8 found, u64 quota bytes, str maildir */
	IPC_DELIVER = 40, /* smtp/queue -> delivery; layout in the delivery worker's branch */
	/* accounts -> admin: replace a legacy hash after a successful login */
	IPC_ADMIN_REHASH = 30, /* str address, str new hash; reply: u8 ok */
};

enum ipc_verify_result { IPC_VERIFY_FAIL = 0, IPC_VERIFY_OK = 1, IPC_VERIFY_TEMPFAIL = 2 };

/* Limits and names for the frame decoder. */
extern const struct ipc_types ipc_types_all;

struct ipc_worker_status {
	uint8_t role;
	int32_t pid; /* 0 while waiting to restart */
	char user[64];
	int64_t started; /* unix time of the current process */
	uint32_t restarts;
	uint8_t state; /* enum ipc_worker_state */
};
enum ipc_worker_state { IPC_WORKER_RUNNING, IPC_WORKER_STARTING, IPC_WORKER_BACKOFF, IPC_WORKER_STOPPED };
const char *ipc_worker_state_name(uint8_t state);

void ipc_put_worker_status(struct ipc_wbuf *w, const struct ipc_worker_status *s);
void ipc_get_worker_status(struct ipc_rbuf *r, struct ipc_worker_status *s);

#endif
