#ifndef MAILD_TEST_IMAP_ARGS_HARNESS_H
#define MAILD_TEST_IMAP_ARGS_HARNESS_H

struct imap_arg;

/* The arguments of "t SEARCH <args>", parsed by the real command parser (literals included);
   valid until the next call or ih_search_args_free(). Fails the test when they do not
   parse. */
const struct imap_arg *ih_search_args(const char *args);
void ih_search_args_free(void);

#endif
