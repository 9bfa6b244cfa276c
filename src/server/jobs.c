#include "config.h"

#include "server/child.h"
#include "server/jobs.h"
#include "server/scoreboard.h"
#include "util/conf.h"
#include "util/log.h"
#include "util/metrics.h"
#include "util/timeutil.h"

int
jobs_run(const struct conf *c, size_t slot, int64_t started_us)
{
	struct scoreboard_slot *sb = scoreboard_slot(slot);
	struct app app;

	log_set_role("jobs");
	child_signals();
	if (child_app_init(c, started_us, &app) != PB_OK)
		return 1;
	metrics_worker_start(METRICS_ROLE_JOBS);
	atomic_store(&sb->ready_us, time_mono_us());
	while (!child_stop) {
		atomic_store(&sb->heartbeat_us, time_mono_us());
		time_sleep_us(c->jobs_poll_interval_ms * 1000);
	}
	atomic_store(&sb->exit_cause, METRICS_EXIT_STOPPED);
	child_app_free(&app);
	return 0;
}
