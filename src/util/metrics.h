/*
 * Counters shared by every process: one anonymous shared mapping made by the master before
 * it forks, updated with atomic adds by whoever counts, rendered in Prometheus text format
 * by whichever worker serves /metrics. It lives in util/ rather than server/ because every
 * layer counts (requests in server/, customers and jobs in services/).
 */
#ifndef PB_UTIL_METRICS_H
#define PB_UTIL_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "util/buf.h"
#include "util/err.h"

#define METRICS_ROUTES_MAX 64

enum metrics_role {
	METRICS_ROLE_WORKER,
	METRICS_ROLE_JOBS,
	METRICS_ROLE__MAX
};

enum metrics_exit {
	METRICS_EXIT_STOPPED,	/* asked to stop (shutdown or rolling restart) */
	METRICS_EXIT_RECYCLED,	/* served max_requests */
	METRICS_EXIT_CRASHED,	/* died by a signal or a non-zero exit */
	METRICS_EXIT_TIMEOUT,	/* killed for exceeding request_timeout */
	METRICS_EXIT__MAX
};

/* Plain counters; each row of the table in metrics.c names it and its labels. */
enum metrics_counter {
	METRIC_CUSTOMERS_CREATED_REGISTRATION,
	METRIC_CUSTOMERS_CREATED_LAZY,
	METRIC_CUSTOMERS_CREATED_BACKFILL,
	METRIC_CUSTOMERS_ADOPTED,
	METRIC_JOB_ATTEMPTS,
	METRIC_JOB_FAILURES,
	METRIC_JOBS_DEAD,
	METRIC_STRIPE_REQUESTS,
	METRIC_STRIPE_ERRORS,
	METRIC_LOGIN_THROTTLED,
	METRIC_CONN_PARKED,		/* idle connections a worker gave to the master */
	METRIC_CONN_HANDED_OFF,		/* parked connections handed back with a request */
	METRIC_CONN_PARK_DROPPED,	/* idle connections closed: the lot was full */
	METRIC_REQUESTS_SHED,		/* requests refused for waiting too long in the queue */
	METRIC_DB_SEAT_REFUSED,		/* requests refused: every database seat stayed taken */
	METRIC__MAX
};

/* Values set by one process and read by all (the jobs worker refreshes them). */
enum metrics_gauge {
	METRIC_JOBS_PENDING,
	METRIC_JOBS_DEAD_TOTAL,
	METRIC_CONN_PARKED_NOW,		/* set by the master */
	METRIC_WORKERS_WANTED,		/* the configured pool size */
	METRIC_WORKERS_READY,		/* current-generation workers accepting work */
	METRIC_WORKERS_STALE,		/* older-generation workers a reload still replaces */
	METRIC_GAUGE__MAX
};

/*
 * Maps the shared page and records the route labels (static strings, borrowed for the life
 * of the program). Call once in the master, before fork. PB_ESYSTEM when mmap fails,
 * PB_EINVAL with more than METRICS_ROUTES_MAX routes.
 */
enum pb_err metrics_init(const char *const *route_names, size_t nroutes);

/* Unmaps the page (the master, at exit). */
void metrics_cleanup(void);

/* Counts one answered request; route is an index from metrics_init, or nroutes for none. */
void metrics_request(size_t route, int status, int64_t duration_us);

void metrics_worker_start(enum metrics_role role);
void metrics_worker_exit(enum metrics_role role, enum metrics_exit cause);
void metrics_add(enum metrics_counter c, uint64_t n);
void metrics_gauge_set(enum metrics_gauge g, int64_t value);

/* Appends the whole exposition in Prometheus text format 0.0.4. */
enum pb_err metrics_render(struct buf *out);

#endif
