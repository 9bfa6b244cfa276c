/*
 * The jobs worker's loop body: claim due jobs, run them, retry failures with exponential
 * backoff and jitter, and move a job to dead after its last attempt (logged and counted).
 *
 * The outbox knows no service. Each job kind names the function that runs it in
 * outbox_kinds[] (outbox_kinds.c), the one file that includes the public header of every
 * service that queues jobs; a service adds its kinds there and to nothing else here.
 */
#ifndef PB_SERVICES_OUTBOX_H
#define PB_SERVICES_OUTBOX_H

#include <stddef.h>
#include <stdint.h>

#include "util/err.h"

struct app;
struct arena;
struct job;

/*
 * A kind of job: the stripe_jobs.kind text and the function that runs one claimed job of
 * it. run gets the job and an arena reset before each job; it returns PB_OK when the work
 * is done (or no longer wanted), PB_EINVAL or PB_EFIELDS when no later attempt can succeed
 * (the job goes dead at once), any other error to be retried after the backoff.
 */
struct outbox_kind {
	const char *name;
	enum pb_err (*run)(struct app *app, struct arena *a, const struct job *job);
};

/* Every kind the outbox runs, ended by an entry whose name is NULL (outbox_kinds.c). */
extern const struct outbox_kind outbox_kinds[];

/* How long a claim lasts; a process that dies mid-job loses its claim after this. */
#define OUTBOX_LEASE_US (60 * 1000000LL)

/* Claims and runs up to max due jobs; returns how many ran (0: nothing was due). */
size_t outbox_run_due(struct app *app, size_t max);

/*
 * Runs one claimed job through its kind's run function; PB_EINVAL (logged) for a kind
 * outbox_kinds[] does not list. Does not settle it: see outbox_settle.
 */
enum pb_err outbox_run(struct app *app, struct arena *a, const struct job *job);

/*
 * Runs job id, which this process has just claimed, now: within budget_ms (and the
 * request's deadline), then settles it. Returns what the run returned (PB_OK: done).
 */
enum pb_err outbox_run_claimed(struct app *app, struct arena *a, uint64_t job_id,
    int64_t budget_ms);

/*
 * Records the outcome of a claimed job: done on PB_OK, else pending again after the
 * backoff, or dead after its last attempt. error_text may be NULL.
 */
void outbox_settle(struct app *app, const struct job *job, enum pb_err result,
    const char *error_text);

/* Refreshes the pending and dead gauges of /metrics. */
void outbox_refresh_gauges(struct app *app);

/*
 * A name for this process in leased_by and the sync lease: "host:pid", host being
 * host_id as outbox_set_host named it, else the machine's host name. Static storage.
 */
const char *outbox_owner(void);

/* Sets the host part of outbox_owner (the host_id setting; NULL or "": the host name). */
void outbox_set_host(const char *host_id);

#endif
