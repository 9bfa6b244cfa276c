/*
 * The per-process context: what a handler needs to reach the rest of the program. Made by
 * the worker after fork (each process has its own database connection and Stripe client)
 * and handed to every handler.
 */
#ifndef PB_SERVICES_APP_H
#define PB_SERVICES_APP_H

#include <stdbool.h>
#include <stdint.h>

#include "util/timeutil.h"

struct conf;
struct db;
struct stripe;

/*
 * The pool's long-poll waiter slots (services/live.h): take claims one for this process
 * and returns false when long_poll_max_waiters are taken; give returns it. The server
 * installs them; NULL in processes that do not serve requests.
 */
struct app_waiters {
	bool (*take)(void *ctx);
	void (*give)(void *ctx);
	void *ctx;
};

struct app {
	const struct conf *conf;	/* borrowed from the master's copy */
	struct db *db;			/* this process's connection */
	struct stripe *stripe;		/* this process's Stripe client; NULL until configured */
	int64_t started_us;		/* real time the master started, for uptime */
	/*
	 * When the current request's calls to Stripe must have ended (monotonic; 0: no
	 * request): its deadline less APP_ANSWER_RESERVE_MS, so that what Stripe said can
	 * still be written down (an Idempotency-Key settled, a row stored) and answered
	 * before the master replaces a worker busy past request_timeout. The database is
	 * bounded by the request's full deadline.
	 */
	int64_t deadline_us;
	const struct app_waiters *waiters;	/* borrowed; NULL: no waits */
};

#define APP_ANSWER_RESERVE_MS 1000

/* The earlier of the request's deadline and budget_ms from now, on the monotonic clock. */
static inline int64_t
app_deadline(const struct app *app, int64_t budget_ms)
{
	int64_t d = time_mono_us() + budget_ms * 1000;

	return app->deadline_us != 0 && app->deadline_us < d ? app->deadline_us : d;
}

#endif
