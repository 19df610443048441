#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "listen.h"
#include "strutil.h"

static int listen_unix_is_live(const struct sockaddr_un *sun)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	int live;

	if (fd < 0)
		return 0;
	live = connect(fd, (const struct sockaddr *)sun, sizeof(*sun)) == 0;
	close(fd);
	return live;
}

int listen_unix(const char *path, mode_t mode, gid_t gid, const char **error_r)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int fd;

	if (str_copy(sun.sun_path, sizeof(sun.sun_path), path) < 0) {
		*error_r = "socket path too long";
		return -1;
	}
	if (listen_unix_is_live(&sun)) {
		*error_r = "another process is listening on it";
		return -1;
	}
	unlink(path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0 ||
	    chmod(path, mode) < 0 || (gid != (gid_t)-1 && chown(path, (uid_t)-1, gid) < 0) ||
	    listen(fd, 64) < 0) {
		*error_r = strerror(errno);
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

int listen_tcp(const char *host, uint16_t port, const char **error_r)
{
	struct addrinfo hints = { .ai_flags = AI_PASSIVE | AI_NUMERICHOST | AI_NUMERICSERV,
				  .ai_socktype = SOCK_STREAM };
	struct addrinfo *res = NULL;
	char service[8];
	int fd = -1, one = 1;

	snprintf(service, sizeof(service), "%u", port);
	if (getaddrinfo(*host == '\0' || strcmp(host, "*") == 0 ? NULL : host, service, &hints,
			&res) != 0) {
		*error_r = "not a numeric address";
		return -1;
	}
	fd = socket(res->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    bind(fd, res->ai_addr, res->ai_addrlen) < 0 || listen(fd, 511) < 0) {
		*error_r = strerror(errno);
		if (fd >= 0)
			close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	return fd;
}
