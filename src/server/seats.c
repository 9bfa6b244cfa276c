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

/* How long (microseconds) the oldest seat other workers hold has been held; 0 for none. */
static int64_t
oldest_seat(const void *ctx)
{
	const struct seats *s = ctx;
	size_t used = scoreboard_used();
	int64_t first = 0;

	for (size_t i = 0; i < used; i++) {
		int64_t since = atomic_load(&scoreboard_slot(i)->db_since_us);

		if (i != s->slot && since != 0 && (first == 0 || since < first))
			first = since;
	}
	return first == 0 ? 0 : time_mono_us() - first;
}

/*
 * Whether the database answers nobody: every seat another worker holds has been waiting
 * inside one statement for longer than a whole wait. A seat held long by a worker between
 * its statements (serving, or short of CPU on a loaded machine) says nothing about the
 * database, and does not count.
 */
static bool
stalled(const struct seats *s, int64_t now)
{
	size_t used = scoreboard_used();
	bool any = false;

	for (size_t i = 0; i < used; i++) {
		const struct scoreboard_slot *o = scoreboard_slot(i);
		int64_t inside;

		if (i == s->slot || atomic_load(&o->db_since_us) == 0)
			continue;
		inside = atomic_load(&o->db_wait_us);
		if (inside == 0 || now - inside <= s->db.wait_us)
			return false;
		any = true;
	}
	return any;
}

/*
 * Claim first, then count: of two workers racing for the last seat, the later count sees
 * both claims (sequentially consistent atomics), so at most one keeps it; both may
 * withdraw, and then both retry. A worker waits for a seat while the database keeps up;
 * when it answers nobody (stalled), waiting would only hold this worker (and the healthz
 * behind it) for nothing.
 */
static enum pb_err
take(void *ctx, int64_t wait_until_us)
{
	struct seats *s = ctx;
	atomic_int_least64_t *mine = &scoreboard_slot(s->slot)->db_since_us;

	for (;;) {
		int64_t now = time_mono_us();

		atomic_store(mine, now);
		if (in_use() <= s->cap)
			return PB_OK;
		atomic_store(mine, 0);
		if (now >= wait_until_us || stalled(s, now)) {
			metrics_add(METRIC_DB_SEAT_REFUSED, 1);
			return PB_EBUSY;
		}
		time_sleep_us(now + RETRY_US < wait_until_us ? RETRY_US : wait_until_us - now);
	}
}

static void
in_statement(void *ctx, bool inside)
{
	const struct seats *s = ctx;

	atomic_store(&scoreboard_slot(s->slot)->db_wait_us, inside ? time_mono_us() : 0);
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
	s->db.in_statement = in_statement;
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
