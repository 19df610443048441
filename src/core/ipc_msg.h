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
	/* supervisor -> smtp, imap at every reload: fd a sealed memfd holding the certificate
	   chain then the private key (PEM), read by root from tls.cert_file and tls.key_file and
	   checked; new connections use it, running ones keep theirs. No reply. */
	IPC_TLS_RELOAD = 12,
	/* smtp/imap/admin -> accounts */
	IPC_ACCT_VERIFY = 20,  /* str user, str password, str service, str remote ip ("" and
				  service "admin" are never penalised); reply: u8 enum
				  ipc_verify_result, str canonical address, u32 ms to wait
				  before telling the client it failed */
	IPC_ACCT_RESOLVE = 21, /* str address; reply: u8 enum resolve_status, str fail text,
				  u32 n, n x { bool local, i64 account id, str address,
				  u64 quota bytes, str maildir ("" for remote) } */
	IPC_ACCT_QUOTA = 22,   /* str address; reply: u8 found, u64 quota bytes, str maildir */
	/* accounts -> admin: replace a legacy hash after a successful login */
	IPC_ADMIN_REHASH = 30, /* str address, str new hash; reply: u8 ok */
	/* smtp/queue -> delivery: store a message in local Maildirs.
	   fd: the message file (read with pread from offset 0, CRLF bytes exactly as received,
	   without Return-Path/Delivered-To). Payload: str queue id (< IPC_DELIVER_QUEUE_ID_MAX),
	   str sender (MAIL FROM, "" for <>), i64 arrival time in ms since the epoch (for delay=),
	   u32 n (1 .. IPC_DELIVER_RCPT_MAX), n x { str address (final mailbox local@domain),
	   str orig_to (the RCPT address as given), str maildir (absolute path of the account's
	   Maildir root), u64 quota bytes (0 unlimited), str folder ("" INBOX, else a Maildir++
	   name such as "Junk") }; addresses < IPC_DELIVER_ADDRESS_MAX bytes, maildir < PATH_MAX,
	   folder < IPC_DELIVER_FOLDER_MAX. A request that does not fit IPC_DELIVER_MAX is split
	   by the sender into several, each with its own fd.
	   Reply: u32 n, n x { u8 status (enum ipc_deliver_status), str dsn ("2.0.0", "4.2.2",
	   ...), str text ("delivered to maildir INBOX", "mailbox full", ...) }, in request order.
	   A malformed request or one without fd is answered with every recipient it names
	   tempfailed (4.3.0); n is 0 when even the count could not be read, so a reply whose n
	   differs from the request's means: every recipient failed temporarily. */
	IPC_DELIVER = 40,
	/* smtp -> delivery, at RCPT: str maildir, u64 quota bytes, u64 message size (0 unknown);
	   reply: u8 verdict (enum ipc_quota_verdict), u64 usage bytes (0 when unlimited). */
	IPC_QUOTA_CHECK = 41,
	/* delivery -> imap, no reply: str maildir (account root), str folder ("" INBOX): a
	   message was delivered there (for IDLE). */
	IPC_MAILBOX_CHANGED = 50,
	/* smtp -> queue: keep a message for remote recipients, durably, before smtp says 250.
	   fd: the message file as for IPC_DELIVER. Payload: str queue id, str sender ("" for <>),
	   i64 arrival ms, u8 RET (enum smtp_ret), str ENVID, str authenticated user ("" none),
	   u32 n (1 .. IPC_DELIVER_RCPT_MAX), n x { str address, str orig_to, u8 NOTIFY bits,
	   str ORCPT }. Reply: u8 status (enum ipc_deliver_status), str text. */
	IPC_QUEUE_ADD = 60,
};

/* IPC_DELIVER limits; the reply's size limit follows from them. Buffer sizes, NUL included. */
#define IPC_DELIVER_RCPT_MAX 1000
#define IPC_DELIVER_QUEUE_ID_MAX 64
#define IPC_DELIVER_ADDRESS_MAX 512
#define IPC_DELIVER_FOLDER_MAX 256
#define IPC_DELIVER_DSN_MAX 16
#define IPC_DELIVER_TEXT_MAX 160
/* The whole payload budget: about 260 bytes per recipient at the full count, far above a
   typical recipient (address, orig_to, /var/vmail/<domain>/<h>/<local>: ~120 bytes). */
#define IPC_DELIVER_MAX IPC_PAYLOAD_MAX
#define IPC_DELIVER_REPLY_MAX                                                                     \
	(4 + IPC_DELIVER_RCPT_MAX * (1 + 4 + IPC_DELIVER_DSN_MAX + 4 + IPC_DELIVER_TEXT_MAX))

enum ipc_deliver_status { IPC_DELIVER_OK = 0, IPC_DELIVER_TEMPFAIL = 1, IPC_DELIVER_PERMFAIL = 2 };
enum ipc_quota_verdict { IPC_QUOTA_ACCEPT = 0, IPC_QUOTA_OVER = 1, IPC_QUOTA_TEMPFAIL = 2 };

enum ipc_verify_result {
	IPC_VERIFY_FAIL = 0,
	IPC_VERIFY_OK = 1,
	IPC_VERIFY_TEMPFAIL = 2,
	IPC_VERIFY_LOCKED = 3 /* too many failures from that address: not checked */
};

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
