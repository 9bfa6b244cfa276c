/*
 * The jobs worker's loop body: claim due jobs, run them, retry failures with exponential
 * backoff and jitter, and move a job to dead after its last attempt (logged and counted).
 */
#ifndef PB_SERVICES_OUTBOX_H
#define PB_SERVICES_OUTBOX_H

#include <stddef.h>
#include <stdint.h>

#include "util/err.h"

struct app;
struct arena;
struct job;

/* How long a claim lasts; a process that dies mid-job loses its claim after this. */
#define OUTBOX_LEASE_US (60 * 1000000LL)

/* Claims and runs up to max due jobs; returns how many ran (0: nothing was due). */
size_t outbox_run_due(struct app *app, size_t max);

/*
 * Records the outcome of a claimed job: done on PB_OK, else pending again after the
 * backoff, or dead after its last attempt. error_text may be NULL.
 */
void outbox_settle(struct app *app, const struct job *job, enum pb_err result,
    const char *error_text);

/* Refreshes the pending and dead gauges of /metrics. */
void outbox_refresh_gauges(struct app *app);

/* A name for this process in leased_by: "host:pid". Static storage. */
const char *outbox_owner(void);

#endif
