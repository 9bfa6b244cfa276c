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
	METRIC_EVENTS_SYNCED_APPLIED,	/* /v1/events sync: recorded by the sync */
	METRIC_EVENTS_SYNCED_DUPLICATE,	/* listed, recorded before */
	METRIC_EVENTS_SYNCED_FAILED,	/* listed, failed: the sync stopped there */
	METRIC_PROFILE_PUSHED,		/* name and email sent to a customer */
	METRIC_PROFILE_PULLED,		/* a change made in Stripe applied to a user */
	METRIC_PROFILE_ECHOES,		/* customer.updated events that echoed our own push */
	METRIC_PROFILE_DRIFT,		/* a change made in Stripe we could not take */
	METRIC_CUSTOMERS_DELETED,	/* customers deleted for closed accounts */
	METRIC_CUSTOMERS_LOST,		/* customers deleted in Stripe, forgotten here */
	METRIC_LIVE_PUBLISHED,		/* intent states published to nchan */
	METRIC_LIVE_PUBLISH_FAILED,	/* publishes that failed or ran out of time */
	METRIC_LONG_POLL_WAITS,		/* long-poll calls that waited */
	METRIC_LONG_POLL_REFUSED,	/* long-poll calls answered at once: waiters at the cap */
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

/* Stripe webhook events: the class of an event type, and what became of it. */
enum metrics_event_class {
	METRICS_EVC_PAYMENT_INTENT,
	METRICS_EVC_CHECKOUT_SESSION,
	METRICS_EVC_CHARGE,
	METRICS_EVC_SUBSCRIPTION,
	METRICS_EVC_INVOICE,
	METRICS_EVC_PAYMENT_METHOD,
	METRICS_EVC_CUSTOMER,
	METRICS_EVC_OTHER,
	METRICS_EVC__MAX
};

enum metrics_event_outcome {
	METRICS_EVO_APPLIED,	/* recorded with its effects */
	METRICS_EVO_DUPLICATE,	/* recorded before: nothing changed */
	METRICS_EVO_IGNORED,	/* recorded, nothing to change (unknown type or object) */
	METRICS_EVO_FAILED,	/* rolled back, answered 500 */
	METRICS_EVO_REFUSED,	/* verified but refused (malformed JSON, livemode) */
	METRICS_EVO_DEFERRED,	/* the database could not take it: nothing written, 503 */
	METRICS_EVO__MAX
};

/* Why a webhook signature was refused (stripe_webhook_reason names, plus "missing"). */
enum metrics_sig_reason {
	METRICS_SIG_MISSING,
	METRICS_SIG_MALFORMED,
	METRICS_SIG_NO_MATCH,
	METRICS_SIG_EXPIRED,
	METRICS_SIG_NO_SECRET,
	METRICS_SIG_ERROR,
	METRICS_SIG__MAX
};

#define METRICS_SECRET_SLOTS 16	/* distinct secret labels counted */
#define METRICS_SECRET_LABEL_MAX 32

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

/* Counts one webhook event and how long it took to process. */
void metrics_webhook_event(enum metrics_event_class c, enum metrics_event_outcome o,
    int64_t duration_us);

/* Counts one refused signature. */
void metrics_webhook_sig_failure(enum metrics_sig_reason r);

/*
 * Makes label (a configured secret's, copied) appear in the matches counter, adding n
 * matches: 0 just shows it, so an operator sees a secret nobody uses any more. Labels
 * beyond METRICS_SECRET_SLOTS are not counted.
 */
void metrics_webhook_secret(const char *label, uint64_t n);

/* Appends the whole exposition in Prometheus text format 0.0.4. */
enum pb_err metrics_render(struct buf *out);

#endif
