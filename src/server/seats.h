/*
 * Database seats for the request workers (db.h, struct db_seats): at most
 * workers - db_reserve_workers of them are inside the database at once, so however long
 * the database stalls, the reserve stays free to answer healthz at once and everything
 * else with a fast 503 (at once when every seat holder has been inside one statement
 * longer than db_seat_wait_ms: db_wait_us). Each worker's seat is its scoreboard slot's
 * db_since_us; a taker counts the seats in use and withdraws when there is none, so a
 * worker killed mid-call frees its seat when the master clears its slot, and no counter
 * can leak.
 */
#ifndef PB_SERVER_SEATS_H
#define PB_SERVER_SEATS_H

#include <stddef.h>
#include <stdint.h>

#include "repo/db.h"
#include "services/app.h"

struct conf;

struct seats {
	struct db_seats db;	/* what db_set_seats borrows; ctx points back here */
	size_t slot;		/* this worker's scoreboard slot */
	size_t cap;		/* seats in all */
};

/* Fills s for the worker in slot and installs it on db. s must outlive db's use. */
void seats_install(struct seats *s, const struct conf *c, size_t slot, struct db *db);

/*
 * Long-poll waiter slots (services/app.h, struct app_waiters), kept the same way: a
 * waiter is a scoreboard slot whose long_polling is 1, claimed then counted, so a worker
 * killed while waiting frees its slot when the master clears it. At most
 * long_poll_max_waiters (-1: workers / 2) wait at once.
 */
struct waiters {
	struct app_waiters app;	/* what app->waiters borrows; ctx points back here */
	size_t slot;
	size_t cap;
};

/* Fills w for the worker in slot and installs it on app. w must outlive app's use. */
void waiters_install(struct waiters *w, const struct conf *c, size_t slot, struct app *app);

#endif
