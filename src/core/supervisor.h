#ifndef MAILD_SUPERVISOR_H
#define MAILD_SUPERVISOR_H

#include <stdbool.h>

/* Run maild: validate the config, prepare directories and the accounts database, open the
   listening sockets, start every worker role and keep them running until SIGTERM/SIGINT.
   Returns the process exit status. */
int supervisor_main(const char *config_path, bool foreground);

#endif
