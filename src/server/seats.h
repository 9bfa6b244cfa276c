/*
 * Database seats for the request workers (db.h, struct db_seats): at most
 * workers - db_reserve_workers of them are inside the database at once, so however long
 * the database stalls, the reserve stays free to answer healthz at once and everything
 * else with a fast 503. Each worker's seat is its scoreboard slot's db_since_us; a taker
 * counts the seats in use and withdraws when there is none, so a worker killed mid-call
 * frees its seat when the master clears its slot, and no counter can leak.
 */
#ifndef PB_SERVER_SEATS_H
#define PB_SERVER_SEATS_H

#include <stddef.h>
#include <stdint.h>

#include "repo/db.h"

struct conf;

struct seats {
	struct db_seats db;	/* what db_set_seats borrows; ctx points back here */
	size_t slot;		/* this worker's scoreboard slot */
	size_t cap;		/* seats in all */
};

/* Fills s for the worker in slot and installs it on db. s must outlive db's use. */
void seats_install(struct seats *s, const struct conf *c, size_t slot, struct db *db);

#endif
