#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "repo/jobs.h"
#include "services/app.h"
#include "services/customers.h"
#include "services/outbox.h"
#include "util/arena.h"
#include "util/log.h"
#include "util/metrics.h"
#include "util/rand.h"

#define ARENA_MAX (256 * 1024)
#define BACKOFF_BASE_US 1000000LL
#define BACKOFF_MAX_US (3600LL * 1000000)

const char *
outbox_owner(void)
{
	static char owner[96];
	static pid_t pid;
	char host[64];

	/* Computed per process: a child must not inherit its parent's name. */
	if (pid != getpid()) {
		pid = getpid();
		if (gethostname(host, sizeof(host)) != 0)
			(void)snprintf(host, sizeof(host), "localhost");
		host[sizeof(host) - 1] = '\0';
		(void)snprintf(owner, sizeof(owner), "%s:%ld", host, (long)pid);
	}
	return owner;
}

int64_t
outbox_backoff_us(uint32_t attempts)
{
	int64_t d = BACKOFF_BASE_US;

	for (uint32_t i = 1; i < attempts && d < BACKOFF_MAX_US; i++)
		d *= 2;
	if (d > BACKOFF_MAX_US)
		d = BACKOFF_MAX_US;
	/* Jitter over the upper half spreads out jobs that failed together. */
	return d / 2 + (int64_t)rand_below((uint64_t)(d / 2) + 1);
}

/* Errors that another attempt cannot fix: Stripe refused what we sent. */
static bool
permanent(enum pb_err err)
{
	return err == PB_EINVAL || err == PB_EFIELDS;
}

void
outbox_settle(struct app *app, const struct job *job, enum pb_err result, const char *error_text)
{
	bool dead;
	enum pb_err err;

	if (result == PB_OK) {
		err = repo_jobs_done(app->db, job->id);
	} else {
		dead = permanent(result) || job->attempts >= job->max_attempts;
		metrics_add(METRIC_JOB_FAILURES, 1);
		err = repo_jobs_failed(app->db, job->id, error_text != NULL ? error_text :
		    pb_strerror(result), outbox_backoff_us(job->attempts), dead);
		log_event(dead ? LOGL_WARN : LOGL_INFO, dead ? "job is dead" : "job attempt failed",
		    (const struct log_kv[]){
			LOG_NUM("job_id", job->id), LOG_STR("kind", job->kind),
			LOG_NUM("user_id", job->user_id), LOG_NUM("attempt", job->attempts),
			LOG_NUM("max_attempts", job->max_attempts),
			LOG_STR("error", pb_strerror(result)) }, 6);
		if (dead)
			metrics_add(METRIC_JOBS_DEAD, 1);
	}
	/* The lease runs out by itself if this fails, and the job is tried again then. */
	if (err != PB_OK)
		log_warnx("job %" PRIu64 ": could not record the outcome: %s", job->id,
		    pb_strerror(err));
}

size_t
outbox_run_due(struct app *app, size_t max)
{
	struct arena a;
	struct job job = { 0 };
	enum pb_err err;
	size_t ran = 0;

	arena_init(&a, ARENA_MAX);
	for (; ran < max; ran++) {
		arena_reset(&a);
		err = repo_jobs_claim_due(app->db, &a, outbox_owner(), OUTBOX_LEASE_US, &job);
		if (err != PB_OK)
			break;
		metrics_add(METRIC_JOB_ATTEMPTS, 1);
		if (strcmp(job.kind, "create_customer") == 0) {
			err = customers_run_job(app, &a, &job);
		} else {
			log_warnx("job %" PRIu64 " has unknown kind %s", job.id, job.kind);
			err = PB_EINVAL;
		}
		outbox_settle(app, &job, err, NULL);
	}
	arena_cleanup(&a);
	return ran;
}

void
outbox_refresh_gauges(struct app *app)
{
	uint64_t pending, dead;

	if (repo_jobs_count(app->db, &pending, &dead) != PB_OK)
		return;
	metrics_gauge_set(METRIC_JOBS_PENDING, (int64_t)pending);
	metrics_gauge_set(METRIC_JOBS_DEAD_TOTAL, (int64_t)dead);
}
