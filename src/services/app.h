/*
 * The per-process context: what a handler needs to reach the rest of the program. Made by
 * the worker after fork (each process has its own database connection and Stripe client)
 * and handed to every handler.
 */
#ifndef PB_SERVICES_APP_H
#define PB_SERVICES_APP_H

#include <stdint.h>

struct conf;
struct db;
struct stripe;

struct app {
	const struct conf *conf;	/* borrowed from the master's copy */
	struct db *db;			/* this process's connection */
	struct stripe *stripe;		/* this process's Stripe client; NULL until configured */
	int64_t started_us;		/* real time the master started, for uptime */
};

#endif
