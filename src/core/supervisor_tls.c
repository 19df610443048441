/* TLS certificate reload without restarts: at every reload the supervisor (root, so it can
   read the key) checks tls.cert_file and tls.key_file and hands both, in one sealed memfd, to
   the workers that serve TLS. They build a new context for new connections; connections
   already running keep theirs, so a renewed certificate never drops a session. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "ipc_msg.h"
#include "log.h"
#include "supervisor_int.h"
#include "tls_ctx.h"

static int append_file(int out, const char *path)
{
	char buf[16384];
	int in = open(path, O_RDONLY | O_CLOEXEC);
	int rc = 0;

	if (in < 0)
		return -1;
	for (;;) {
		ssize_t n = read(in, buf, sizeof(buf));

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			rc = (int)n;
			break;
		}
		if (write(out, buf, (size_t)n) != n) {
			rc = -1;
			break;
		}
	}
	explicit_bzero(buf, sizeof(buf));
	close(in);
	return rc;
}

/* Certificate chain, a line break, then the key: PEM readers skip blocks of other types. */
static int tls_bundle(const char *cert, const char *key)
{
	int fd = memfd_create("maild-tls", MFD_CLOEXEC | MFD_ALLOW_SEALING);

	if (fd < 0)
		return -1;
	if (append_file(fd, cert) < 0 || write(fd, "\n", 1) != 1 || append_file(fd, key) < 0 ||
	    fcntl(fd, F_ADD_SEALS, F_SEAL_WRITE | F_SEAL_GROW | F_SEAL_SHRINK | F_SEAL_SEAL) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

void supervisor_push_tls(struct supervisor *s, uint32_t restarting)
{
	const char *cert = config_str(s->config, "tls.cert_file");
	const char *key = config_str(s->config, "tls.key_file");
	static const enum role served[] = { ROLE_SMTP, ROLE_IMAP };
	struct tls_ctx *check = NULL;
	char error[512];
	int fd;

	if (tls_ctx_load(cert, key, &check, error, sizeof(error)) < 0) {
		log_error("reload: TLS certificate not reloaded: %s; the current one stays in use",
			  error);
		return;
	}
	tls_ctx_free(&check);
	fd = tls_bundle(cert, key);
	if (fd < 0) {
		log_error("reload: TLS certificate not reloaded: %s", strerror(errno));
		return;
	}
	for (size_t i = 0; i < sizeof(served) / sizeof(served[0]); i++) {
		struct supervised *w = &s->workers[served[i]];

		/* A worker being restarted loads the files itself as it starts. */
		if ((restarting & ROLE_BIT(served[i])) != 0 || w->link == NULL ||
		    !ipc_link_is_open(w->link))
			continue;
		if (ipc_link_send(w->link, IPC_TLS_RELOAD, 0, NULL, fd) < 0)
			log_warning("reload: cannot hand the TLS certificate to %s",
				    role_name(served[i]));
	}
	close(fd);
	log_info("TLS certificate %s reloaded", cert);
}
