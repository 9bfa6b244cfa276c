/*
 * Live payment status (docs/ARCHITECTURE.md, "Live status"). Every change of an intent's
 * state is told after its transaction commits, never inside it: the code that applies
 * a change inside a transaction notes the intent (live_note), and the code that ran the
 * transaction calls live_after with its outcome. A committed change then (1) bumps the
 * intent's wake-up counter (util/notify.h), which wakes long-poll waiters in every
 * process of this pool, and (2) publishes the intent's JSON to nchan when
 * nchan_publish_url is set: best effort, within 500 ms and the request's deadline; a
 * failure is logged and counted, never returned.
 *
 * The notes are per process (a process runs one transaction at a time).
 */
#ifndef PB_SERVICES_LIVE_H
#define PB_SERVICES_LIVE_H

#include <stdbool.h>
#include <stdint.h>

#include "util/err.h"

struct app;
struct arena;
struct payment_view;

/* Long-poll bounds: ?wait= is 1..LIVE_WAIT_MAX seconds. */
#define LIVE_WAIT_MAX 25
/* A wait leaves this much of the request's Stripe deadline for the answer. */
#define LIVE_WAIT_RESERVE_MS 1000
/* Waiters look at the database at least this often (changes made on another host). */
#define LIVE_RECHECK_MS 1500

/* Notes, inside a transaction, that intent id changed. Copies id. */
void live_note(const char *id);

/* After the transaction: tells every noted change when err is PB_OK, then forgets them. */
void live_after(struct app *app, struct arena *a, enum pb_err err);

/*
 * Publishes v to its channel now (the subscriber's first message, services/payments.c).
 * PB_OK, or why not (PB_ECONFIG when publishing is off); logged and counted.
 */
enum pb_err live_publish(struct app *app, const struct payment_view *v);

/*
 * Whether id's channel holds no message (never published, expired, or deleted): then a
 * subscriber would get nothing first. true too when nchan could not say (publishing is
 * cheap); false when publishing is off.
 */
bool live_channel_empty(struct app *app, const char *id);

/*
 * Parses the long-poll query: wait ("1".."N", capped at LIVE_WAIT_MAX; NULL for none)
 * into *seconds (0 without wait), and after (NULL, or one of Stripe's intent statuses).
 * false when either is invalid, with *field naming which.
 */
bool live_parse_wait(const char *wait, const char *after, int *seconds, const char **field);

/* Whether s is one of Stripe's payment intent statuses. */
bool live_status_known(const char *s);

/* What a long-poll did, for the answer's Paybridge-Wait header. */
enum live_wait {
	LIVE_WAIT_NONE,		/* not asked to wait, or the status already differed */
	LIVE_WAIT_CHANGED,	/* waited, and the status changed */
	LIVE_WAIT_TIMEOUT,	/* waited the whole time: the status is still `after` */
	LIVE_WAIT_REFUSED,	/* long_poll_max_waiters were waiting: answered at once */
	LIVE_WAIT__MAX
};

const char *live_wait_name(enum live_wait w);

/*
 * The long-poll read: the caller's intent (checked on read as GET is), and when its
 * status is still after, the wait: up to seconds, never past the request's deadline less
 * LIVE_WAIT_RESERVE_MS, in a waiter slot (app->waiters; none free: LIVE_WAIT_REFUSED at
 * once), holding no database connection busy nor a seat while asleep. It wakes on the
 * intent's counter (a change committed by this pool) and looks at the stored row every
 * LIVE_RECHECK_MS (a change committed elsewhere). after NULL or seconds 0: no wait.
 */
enum pb_err live_wait_intent(struct app *app, struct arena *a, uint64_t user_id,
    const char *id, int seconds, const char *after, struct payment_view *out,
    enum live_wait *how);

#endif
