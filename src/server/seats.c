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
 * Claim first, then count: of two workers racing for the last seat, the later count sees
 * both claims (sequentially consistent atomics), so at most one keeps it; both may
 * withdraw, and then both retry.
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
		if (now >= wait_until_us) {
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

static int64_t
oldest_seat(const void *ctx)
{
	const struct seats *s = ctx;
	size_t used = scoreboard_used();
	int64_t oldest = 0, now = time_mono_us();

	for (size_t i = 0; i < used; i++) {
		int64_t since = atomic_load(&scoreboard_slot(i)->db_since_us);

		if (i != s->slot && since != 0 && (oldest == 0 || since < oldest))
			oldest = since;
	}
	return oldest == 0 ? 0 : now - oldest;
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
