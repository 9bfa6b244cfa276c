/*
 * paybridgectl jobs: look into the Stripe outbox (the stripe_jobs table) and unstick it.
 *
 *   jobs list [--status pending|running|done|dead] [--limit N]
 *                       newest first: id, kind, user, status, attempts/max, run_after
 *                       (UTC), the last error shortened
 *   jobs retry ID       a dead or pending job becomes due now with its attempts reset
 *   jobs drop ID        deletes a job that is not running; a leased one is refused
 *
 * Exit 0 done, 1 failed (no such job, wrong state, database), 64 usage.
 */
#include "config.h"

#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "ctl/ctl.h"
#include "repo/jobs.h"
#include "util/arena.h"
#include "util/buf.h"
#include "util/strnum.h"
#include "util/timeutil.h"

#define LIST_DEFAULT 50
#define LIST_MAX 10000
#define ERROR_SHOWN 48			/* bytes of last_error in the table */
#define ARENA_ROW 4096			/* arena bytes allowed per listed job */

static const char *const statuses[] = { "pending", "running", "done", "dead" };

/* "2026-11-23T10:00:01Z": the table's times to the second. */
static void
format_time(int64_t us, char out[TIME_ISO8601_LEN])
{
	if (us == 0) {
		(void)snprintf(out, TIME_ISO8601_LEN, "-");
		return;
	}
	time_iso8601(us, out, TIME_ISO8601_LEN);
	/* Cut the microseconds: "YYYY-MM-DDTHH:MM:SS" is 19 bytes. */
	if (strlen(out) > 19) {
		out[19] = 'Z';
		out[20] = '\0';
	}
}

static int
parse_id(const struct ctl *ctl, const char *s, uint64_t *out)
{
	long long v;

	if (strnum_parse(s, 10, 1, LLONG_MAX, &v) != PB_OK) {
		ctl_errx(ctl, "ID must be a job id (a positive number): '%s'", s);
		return -1;
	}
	*out = (uint64_t)v;
	return 0;
}

static int
list_cmd(struct ctl *ctl, struct db *db, const char *status, size_t max)
{
	char run_after[TIME_ISO8601_LEN], user[24], attempts[32];
	struct arena a;
	struct job *jobs;
	struct buf line;
	size_t n;
	enum pb_err err;
	int rc = CTL_EX_OK;

	arena_init(&a, (max + 1) * ARENA_ROW + 64 * 1024);
	err = repo_jobs_list(db, &a, status, max, &jobs, &n);
	if (err != PB_OK) {
		ctl_errx(ctl, "cannot list jobs: %s", pb_strerror(err));
		arena_cleanup(&a);
		return CTL_EX_FAIL;
	}
	printf("%-8s %-16s %-8s %-8s %-9s %-20s %s\n", "ID", "KIND", "USER", "STATUS",
	    "ATTEMPTS", "RUN_AFTER", "LAST_ERROR");
	buf_init(&line, 1024);
	for (size_t i = 0; i < n; i++) {
		const struct job *j = &jobs[i];

		if (j->user_id != 0)
			(void)snprintf(user, sizeof(user), "%" PRIu64, j->user_id);
		else
			(void)snprintf(user, sizeof(user), "-");
		(void)snprintf(attempts, sizeof(attempts), "%" PRIu32 "/%" PRIu32, j->attempts,
		    j->max_attempts);
		format_time(j->run_after, run_after);
		buf_reset(&line);
		err = buf_appendf(&line, "%-8" PRIu64 " %-16s %-8s %-8s %-9s %-20s ", j->id,
		    j->kind != NULL ? j->kind : "?", user, j->status != NULL ? j->status : "?",
		    attempts, run_after);
		if (err == PB_OK)
			err = ctl_append_shown(&line, j->last_error != NULL && j->last_error[0] != '\0' ?
			    j->last_error : "-", ERROR_SHOWN);
		if (err != PB_OK) {
			ctl_errx(ctl, "cannot format job %" PRIu64 ": %s", j->id, pb_strerror(err));
			rc = CTL_EX_FAIL;
			break;
		}
		printf("%s\n", buf_cstr(&line));
	}
	buf_free(&line);
	if (rc == CTL_EX_OK && n == max)
		fprintf(stderr, "(the newest %zu shown; --limit shows more)\n", n);
	arena_cleanup(&a);
	return rc;
}

/* Why a retry or drop of job id did nothing: absent, or in which state. */
static void
explain(struct ctl *ctl, struct db *db, uint64_t id, const char *action)
{
	char until[TIME_ISO8601_LEN];
	struct arena a;
	struct job j;
	enum pb_err err;

	arena_init(&a, 64 * 1024);
	err = repo_jobs_get(db, &a, id, &j);
	if (err == PB_ENOTFOUND) {
		ctl_errx(ctl, "no job %" PRIu64, id);
	} else if (err != PB_OK) {
		ctl_errx(ctl, "cannot %s job %" PRIu64 ": %s", action, id, pb_strerror(err));
	} else if (strcmp(action, "drop") == 0) {
		format_time(j.lease_until, until);
		ctl_errx(ctl, "job %" PRIu64 " is running (leased by %s until %s): wait for it to "
		    "finish or for its lease to run out", id,
		    j.leased_by != NULL ? j.leased_by : "?", until);
	} else {
		ctl_errx(ctl, "job %" PRIu64 " is %s: only dead or pending jobs can be retried",
		    id, j.status);
	}
	arena_cleanup(&a);
}

static int
retry_cmd(struct ctl *ctl, struct db *db, uint64_t id)
{
	enum pb_err err = repo_jobs_retry(db, id);

	if (err == PB_ENOTFOUND) {
		explain(ctl, db, id, "retry");
		return CTL_EX_FAIL;
	}
	if (err != PB_OK) {
		ctl_errx(ctl, "cannot retry job %" PRIu64 ": %s", id, pb_strerror(err));
		return CTL_EX_FAIL;
	}
	printf("job %" PRIu64 " is pending and due now, its attempts reset\n", id);
	return CTL_EX_OK;
}

static int
drop_cmd(struct ctl *ctl, struct db *db, uint64_t id)
{
	enum pb_err err = repo_jobs_drop(db, id);

	if (err == PB_ENOTFOUND || err == PB_ECONFLICT) {
		explain(ctl, db, id, "drop");
		return CTL_EX_FAIL;
	}
	if (err != PB_OK) {
		ctl_errx(ctl, "cannot drop job %" PRIu64 ": %s", id, pb_strerror(err));
		return CTL_EX_FAIL;
	}
	printf("job %" PRIu64 " dropped\n", id);
	return CTL_EX_OK;
}

/* list's options; -1 on a usage error (already said). */
static int
list_args(struct ctl *ctl, int argc, char **argv, const char **status, size_t *max)
{
	static const struct option opts[] = {
		{ "status", required_argument, NULL, 's' },
		{ "limit", required_argument, NULL, 'l' },
		{ NULL, 0, NULL, 0 },
	};
	long long v;
	int ch;

	*status = NULL;
	*max = LIST_DEFAULT;
	optind = 0;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, "+", opts, NULL)) != -1) {
		switch (ch) {
		case 's':
			*status = NULL;
			for (size_t i = 0; i < sizeof(statuses) / sizeof(statuses[0]); i++) {
				if (strcmp(optarg, statuses[i]) == 0)
					*status = statuses[i];
			}
			if (*status == NULL) {
				ctl_errx(ctl, "--status must be pending, running, done or dead: '%s'",
				    optarg);
				return -1;
			}
			break;
		case 'l':
			if (strnum_parse(optarg, 10, 1, LIST_MAX, &v) != PB_OK) {
				ctl_errx(ctl, "--limit must be a number from 1 to %d: '%s'", LIST_MAX,
				    optarg);
				return -1;
			}
			*max = (size_t)v;
			break;
		default:
			return -1;
		}
	}
	return optind == argc ? 0 : -1;
}

int
ctl_jobs(struct ctl *ctl, int argc, char **argv)
{
	const char *status = NULL;
	struct db *db;
	uint64_t id = 0;
	size_t max = LIST_DEFAULT;

	if (argc < 2)
		return ctl_usage(ctl);
	if (strcmp(argv[1], "list") == 0) {
		/* argv[1] plays the command's name for getopt_long. */
		if (list_args(ctl, argc - 1, argv + 1, &status, &max) != 0)
			return ctl_usage(ctl);
	} else if (strcmp(argv[1], "retry") == 0 || strcmp(argv[1], "drop") == 0) {
		if (argc != 3)
			return ctl_usage(ctl);
		if (parse_id(ctl, argv[2], &id) != 0)
			return ctl_usage(ctl);
	} else {
		return ctl_usage(ctl);
	}
	if (ctl_db(ctl, &db) != PB_OK)
		return CTL_EX_FAIL;
	if (strcmp(argv[1], "list") == 0)
		return list_cmd(ctl, db, status, max);
	if (strcmp(argv[1], "retry") == 0)
		return retry_cmd(ctl, db, id);
	return drop_cmd(ctl, db, id);
}
