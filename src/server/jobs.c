#include "config.h"

#include "server/child.h"
#include "server/jobs.h"
#include "server/scoreboard.h"
#include "services/outbox.h"
#include "util/conf.h"
#include "util/log.h"
#include "util/metrics.h"
#include "util/timeutil.h"

#define JOBS_PER_ROUND 16
#define GAUGES_EVERY_US 1000000

int
jobs_run(const struct conf *c, size_t slot, int64_t started_us)
{
	struct scoreboard_slot *sb = scoreboard_slot(slot);
	struct app app;
	int64_t gauges_at = 0;

	log_set_role("jobs");
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
		/* Sleep only when the outbox had nothing due. */
		if (outbox_run_due(&app, JOBS_PER_ROUND) == 0)
			time_sleep_us(c->jobs_poll_interval_ms * 1000);
	}
	atomic_store(&sb->exit_cause, METRICS_EXIT_STOPPED);
	child_app_free(&app);
	return 0;
}
