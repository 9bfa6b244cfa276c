/*
 * An even pace for calls to Stripe from long-running operator work (the customer
 * backfill, the /v1/events sync): at most rate calls a second, spaced evenly on the
 * monotonic clock. While calls keep up the grid is kept; after a slow call puts us more
 * than one interval behind, a new grid starts instead of catching up in a burst.
 */
#ifndef PB_UTIL_PACE_H
#define PB_UTIL_PACE_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

#include "util/err.h"

struct pace {
	int64_t interval_us;	/* between two calls; 0: no limit */
	int64_t due_us;		/* monotonic: the earliest next call */
};

/* Starts a pace of rate calls a second (0: unlimited); the first call may go now. */
void pace_init(struct pace *p, long long rate);

/*
 * Sleeps until the next call is due and books the one after. Returns false without
 * booking when *stop (may be NULL) became non-zero while waiting.
 */
bool pace_wait(struct pace *p, const volatile sig_atomic_t *stop);

/* Parses "N" or "N/s" with N from 1 to max into *rate. PB_EINVAL otherwise. */
enum pb_err pace_parse_rate(const char *s, long long max, long long *rate);

#endif
