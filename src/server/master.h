/*
 * The master: opens the socket, forks and supervises the children, and never serves a
 * request itself. Signals: TERM/INT stop gracefully (in-flight requests finish, bounded by
 * shutdown_timeout), HUP re-reads the configuration and replaces the workers one by one.
 */
#ifndef PB_SERVER_MASTER_H
#define PB_SERVER_MASTER_H

#include <stdbool.h>

struct conf;

/*
 * Runs the pool until stopped. Takes ownership of *c (a loaded configuration); path is
 * re-read on SIGHUP. Returns the process exit status.
 */
int master_run(struct conf *c, const char *path, bool path_required);

#endif
