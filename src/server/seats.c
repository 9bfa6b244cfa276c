#include "config.h"

#include <stdatomic.h>

#include "server/scoreboard.h"
#include "server/seats.h"
#include "util/conf.h"
#include "util/metrics.h"
#include "util/timeutil.h"

#define RETRY_US 1000

/* Seats in use, ours included when we hold one. */
static size_t
in_use(void)
{
	size_t n = 0, used = scoreboard_used();

	for (size_t i = 0; i < used; i++)
		n += atomic_load(&scoreboard_slot(i)->db_since_us) != 0;
	return n;
}

/*
 * The ages (microseconds) of the oldest and of the youngest seat other workers hold; 0
 * for both when they hold none.
 */
static void
ages(const struct seats *s, int64_t *oldest, int64_t *youngest)
{
	size_t used = scoreboard_used();
	int64_t first = 0, last = 0, now = time_mono_us();

	for (size_t i = 0; i < used; i++) {
		int64_t since = atomic_load(&scoreboard_slot(i)->db_since_us);

		if (i == s->slot || since == 0)
			continue;
		if (first == 0 || since < first)
			first = since;
		if (since > last)
			last = since;
	}
	*oldest = first == 0 ? 0 : now - first;
	*youngest = last == 0 ? 0 : now - last;
}

static int64_t
oldest_seat(const void *ctx)
{
	int64_t oldest, youngest;

	ages(ctx, &oldest, &youngest);
	return oldest;
}

/*
 * Claim first, then count: of two workers racing for the last seat, the later count sees
 * both claims (sequentially consistent atomics), so at most one keeps it; both may
 * withdraw, and then both retry. A worker waits for a seat while the database keeps up;
 * when even the youngest seat has been held longer than a whole wait, it is not keeping
 * up, and waiting would only hold this worker (and the healthz behind it) for nothing.
 */
static enum pb_err
take(void *ctx, int64_t wait_until_us)
{
	struct seats *s = ctx;
	atomic_int_least64_t *mine = &scoreboard_slot(s->slot)->db_since_us;

	for (;;) {
		int64_t now = time_mono_us(), oldest, youngest;

		atomic_store(mine, now);
		if (in_use() <= s->cap)
			return PB_OK;
		atomic_store(mine, 0);
		ages(s, &oldest, &youngest);
		if (now >= wait_until_us || youngest > s->db.wait_us) {
			metrics_add(METRIC_DB_SEAT_REFUSED, 1);
			return PB_EBUSY;
		}
		time_sleep_us(now + RETRY_US < wait_until_us ? RETRY_US : wait_until_us - now);
	}
}

static void
give(void *ctx)
{
	struct seats *s = ctx;

	atomic_store(&scoreboard_slot(s->slot)->db_since_us, 0);
}

void
seats_install(struct seats *s, const struct conf *c, size_t slot, struct db *db)
{
	long long cap = c->workers - c->db_reserve_workers;

	s->slot = slot;
	s->cap = cap < 1 ? 1 : (size_t)cap;
	s->db.take = take;
	s->db.give = give;
	s->db.oldest_us = oldest_seat;
	s->db.ctx = s;
	s->db.wait_us = c->db_seat_wait_ms * 1000;
	db_set_seats(db, &s->db);
}

/* Claim first, then count, as take does for seats. */
static bool
waiter_take(void *ctx)
{
	struct waiters *w = ctx;
	atomic_int *mine = &scoreboard_slot(w->slot)->long_polling;
	size_t n = 0, used = scoreboard_used();

	atomic_store(mine, 1);
	for (size_t i = 0; i < used; i++)
		n += atomic_load(&scoreboard_slot(i)->long_polling) != 0;
	if (n <= w->cap)
		return true;
	atomic_store(mine, 0);
	return false;
}

static void
waiter_give(void *ctx)
{
	struct waiters *w = ctx;

	atomic_store(&scoreboard_slot(w->slot)->long_polling, 0);
}

void
waiters_install(struct waiters *w, const struct conf *c, size_t slot, struct app *app)
{
	w->slot = slot;
	w->cap = c->long_poll_max_waiters >= 0 ? (size_t)c->long_poll_max_waiters :
	    (size_t)(c->workers / 2);
	w->app.take = waiter_take;
	w->app.give = waiter_give;
	w->app.ctx = w;
	app->waiters = &w->app;
}
