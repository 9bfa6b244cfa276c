/*
 * What the master needs to see inside its children: one slot per child in a shared
 * mapping, written by the child, read by the master. The master uses it to tell when a
 * new worker is ready (rolling restart), which request has run too long (request_timeout)
 * and why a child exited on its own (recycled or stopped). Workers read each other's
 * database seats here (seats.h).
 */
#ifndef PB_SERVER_SCOREBOARD_H
#define PB_SERVER_SCOREBOARD_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/err.h"
#include "util/metrics.h"

#define SCOREBOARD_SLOTS 1040	/* workers at most 1024, the jobs worker, and spares */

struct scoreboard_slot {
	atomic_int_least64_t ready_us;		/* monotonic; 0 until the child accepts work */
	atomic_int_least64_t busy_since_us;	/* monotonic; 0 while idle */
	atomic_int_least64_t heartbeat_us;	/* monotonic; refreshed by the jobs worker */
	atomic_uint_least64_t served;
	atomic_int_least64_t db_since_us;	/* monotonic; 0 unless holding a database seat */
	atomic_int_least64_t db_wait_us;	/* monotonic; 0 unless inside a statement */
	atomic_int exit_cause;			/* enum metrics_exit, set before a clean exit */
	atomic_int long_polling;		/* 1 while in a long-poll wait (seats.h) */
};

/* Maps the slots (before fork). */
enum pb_err scoreboard_init(void);
void scoreboard_cleanup(void);

/* Returns slot i (i < SCOREBOARD_SLOTS). */
struct scoreboard_slot *scoreboard_slot(size_t i);

/* Clears slot i for a new child. */
void scoreboard_reset(size_t i);

/* One past the highest slot ever given to a child: scans stop there. */
size_t scoreboard_used(void);

/*
 * The master, before it tells its children to stop because the server stops: a worker
 * told to stop then drains (worker.c) instead of leaving its connections to the master,
 * which a reload's retired worker does.
 */
void scoreboard_set_stopping(void);

/* Whether the server is stopping. */
bool scoreboard_stopping(void);

#endif
