#include "config.h"

#include "server/child.h"
#include "server/jobs.h"
#include "server/scoreboard.h"
#include "services/events_sync.h"
#include "services/guest_payments.h"
#include "services/idempotency.h"
#include "services/outbox.h"
#include "util/conf.h"
#include "util/log.h"
#include "util/metrics.h"
#include "util/timeutil.h"

#define JOBS_PER_ROUND 16
#define GAUGES_EVERY_US 1000000
/*
 * The periodic /v1/events sync runs in bounded slices, so the outbox gets a round
 * between them while a long backlog is worked through; the lease keeps it to one host.
 */
#define SYNC_PAGES_PER_SLICE 10
#define SYNC_RATE 5			/* Stripe list calls a second */
/*
 * Expired Idempotency-Keys and rate counters go in small batches, so no delete holds
 * locks for long.
 */
#define PRUNE_EVERY_US (60 * 1000000LL)
#define PRUNE_BATCH 500

/* Keeps the heartbeat fresh while a sync slice runs. */
static void
sync_progress(void *arg, const struct events_sync_stats *st)
{
	struct scoreboard_slot *sb = arg;

	(void)st;
	atomic_store(&sb->heartbeat_us, time_mono_us());
}

/* One slice of the sync; returns when the next one is due (monotonic). */
static int64_t
sync_slice(struct app *app, struct scoreboard_slot *sb, int64_t interval_us)
{
	struct events_sync_opts o = { .rate = SYNC_RATE, .max_pages = SYNC_PAGES_PER_SLICE,
	    .owner = outbox_owner(), .stop = &child_stop, .progress = sync_progress,
	    .progress_arg = sb };
	struct events_sync_stats st;
	enum pb_err err;

	err = events_sync_run(app, &o, &st);
	/* Not caught up after a full slice: go on after one outbox round. */
	if (err == PB_OK && st.failed == 0 && !st.caught_up && !st.stopped)
		return time_mono_us();
	return time_mono_us() + interval_us;
}

/* Deletes what fn finds expired, batch after batch while they come back full. */
static void
prune(struct app *app, struct scoreboard_slot *sb,
    enum pb_err (*fn)(struct app *app, uint64_t limit, uint64_t *deleted))
{
	uint64_t n = PRUNE_BATCH;

	while (n == PRUNE_BATCH && !child_stop && fn(app, PRUNE_BATCH, &n) == PB_OK)
		atomic_store(&sb->heartbeat_us, time_mono_us());
}

int
jobs_run(const struct conf *c, size_t slot, int64_t started_us)
{
	struct scoreboard_slot *sb = scoreboard_slot(slot);
	struct app app;
	int64_t gauges_at = 0, pruned_at = 0, interval_us = c->events_sync_interval * 1000000LL;
	/* The first sync one interval after start: a restart is no reason to sync. */
	int64_t sync_at = time_mono_us() + interval_us;

	log_set_role("jobs");
	child_set_name("pb-jobs");
	child_signals();
	if (child_app_init(c, started_us, &app) != PB_OK)
		return 1;
	metrics_worker_start(METRICS_ROLE_JOBS);
	atomic_store(&sb->ready_us, time_mono_us());
	while (!child_stop) {
		int64_t now = time_mono_us();

		atomic_store(&sb->heartbeat_us, now);
		if (now - gauges_at >= GAUGES_EVERY_US) {
			outbox_refresh_gauges(&app);
			gauges_at = now;
		}
		if (now - pruned_at >= PRUNE_EVERY_US) {
			prune(&app, sb, idem_prune);
			prune(&app, sb, guest_prune);
			pruned_at = now;
		}
		if (interval_us > 0 && app.stripe != NULL && now >= sync_at && !child_stop)
			sync_at = sync_slice(&app, sb, interval_us);
		/* Sleep only when the outbox had nothing due. */
		if (outbox_run_due(&app, JOBS_PER_ROUND) == 0)
			time_sleep_us(c->jobs_poll_interval_ms * 1000);
	}
	atomic_store(&sb->exit_cause, METRICS_EXIT_STOPPED);
	child_app_free(&app);
	return 0;
}
