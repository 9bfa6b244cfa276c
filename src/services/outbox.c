#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "repo/jobs.h"
#include "services/app.h"
#include "services/outbox.h"
#include "stripe/client.h"
#include "util/arena.h"
#include "util/backoff.h"
#include "util/log.h"
#include "util/metrics.h"
#include "util/proc.h"

#define ARENA_MAX (256 * 1024)
/* Attempt n+1 waits 1 s doubling per failed attempt, at most 1 h, jittered. */
#define BACKOFF_BASE_US 1000000LL
#define BACKOFF_MAX_US (3600LL * 1000000)

/* leased_by holds 64 characters: the host part keeps to 48, the pid after it fits. */
#define OWNER_HOST_MAX 48

static char owner_host[OWNER_HOST_MAX + 1];
static pid_t owner_pid;

void
outbox_set_host(const char *host_id)
{
	(void)snprintf(owner_host, sizeof(owner_host), "%s", host_id != NULL ? host_id : "");
	owner_pid = 0;
}

const char *
outbox_owner(void)
{
	static char owner[OWNER_HOST_MAX + 24];
	char host[OWNER_HOST_MAX + 1];

	/* Computed per process: a child must not inherit its parent's name. */
	if (owner_pid != proc_self()) {
		owner_pid = proc_self();
		if (owner_host[0] != '\0')
			(void)snprintf(host, sizeof(host), "%s", owner_host);
		else if (gethostname(host, sizeof(host)) != 0)
			(void)snprintf(host, sizeof(host), "localhost");
		host[sizeof(host) - 1] = '\0';
		(void)snprintf(owner, sizeof(owner), "%s:%ld", host, (long)owner_pid);
	}
	return owner;
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
	int64_t delay;
	bool dead;
	enum pb_err err;

	if (result == PB_OK) {
		err = repo_jobs_done(app->db, job->id);
	} else {
		dead = permanent(result) || job->attempts >= job->max_attempts;
		metrics_add(METRIC_JOB_FAILURES, 1);
		delay = backoff_us(BACKOFF_BASE_US, BACKOFF_MAX_US, job->attempts);
		err = repo_jobs_failed(app->db, job->id, error_text != NULL ? error_text :
		    pb_strerror(result), delay, dead);
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

enum pb_err
outbox_run(struct app *app, struct arena *a, const struct job *job)
{
	for (const struct outbox_kind *k = outbox_kinds; k->name != NULL; k++) {
		if (strcmp(job->kind, k->name) == 0)
			return k->run(app, a, job);
	}
	log_warnx("job %" PRIu64 " has unknown kind %s", job->id, job->kind);
	return PB_EINVAL;
}

enum pb_err
outbox_run_claimed(struct app *app, struct arena *a, uint64_t job_id, int64_t budget_ms)
{
	struct job job;
	enum pb_err err;

	err = repo_jobs_get(app->db, a, job_id, &job);
	if (err != PB_OK)
		return err;
	stripe_set_deadline(app->stripe, app_deadline(app, budget_ms));
	err = outbox_run(app, a, &job);
	stripe_set_deadline(app->stripe, app->deadline_us);
	metrics_add(METRIC_JOB_ATTEMPTS, 1);
	outbox_settle(app, &job, err, err != PB_OK ? pb_strerror(err) : NULL);
	return err;
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
		err = outbox_run(app, &a, &job);
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
