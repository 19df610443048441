#ifndef MAILD_LISTEN_H
#define MAILD_LISTEN_H

#include <stdint.h>
#include <sys/types.h>

/* A listening unix stream socket at path with mode and group (gid -1: unchanged). A stale
   socket file left by a dead maild is replaced; a live one is an error. */
int listen_unix(const char *path, mode_t mode, gid_t gid, const char **error_r);
/* A listening TCP socket; host "" or "*" means every address. SO_REUSEADDR so a restart
   re-binds at once. */
int listen_tcp(const char *host, uint16_t port, const char **error_r);

#endif
