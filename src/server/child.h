/*
 * What every child process does after fork: its own signal dispositions, its own
 * database connection and Stripe client (libraries are initialised here, never in the
 * master, because their state does not survive fork), and the stop flag it polls.
 */
#ifndef PB_SERVER_CHILD_H
#define PB_SERVER_CHILD_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>

#include "services/app.h"
#include "util/err.h"

struct conf;

/* Set by SIGTERM/SIGINT in a child; the child finishes what it is doing and exits. */
extern volatile sig_atomic_t child_stop;

/*
 * Installs the child's handlers: TERM and INT set child_stop (without SA_RESTART, so a
 * wait for work returns), HUP is ignored (the master handles reloads), PIPE is ignored
 * (a client that hangs up costs one failed write, not a worker). Unblocks the signals
 * the master kept blocked.
 */
void child_signals(void);

/*
 * Names the process for ps, top and /proc/PID/comm ("pb-worker", "pb-jobs"): operators
 * and tests tell the roles apart without reading logs.
 */
void child_set_name(const char *name);

/* Blocks or unblocks TERM and INT, so a request in flight is never interrupted. */
void child_hold_stop(bool hold);

/*
 * Closes every descriptor the child inherited from the master except 0-2 and the ones
 * named in keep (n of them, -1 entries ignored): the master's parked connections, its
 * signalfd and epoll set must not stay open in a worker, or a connection the master closes
 * would stay open for the web server.
 */
void child_close_inherited(const int *keep, size_t n);

/* Builds the per-process context: database handle and Stripe client. */
enum pb_err child_app_init(const struct conf *c, int64_t started_us, struct app *app);

/* Releases what child_app_init made. */
void child_app_free(struct app *app);

#endif
