/*
 * Nothing missed (DESIGN §5, docs/ARCHITECTURE.md "Webhooks"): deliveries Stripe gave up
 * on are found by listing /v1/events from a cursor saved in sync_state and running every
 * event not yet recorded through webhooks_process (source sync), the path of every
 * event; replay runs one event on demand (source replay). paybridgectl events sync and
 * the jobs worker (events_sync_interval) call events_sync_run; a lease in sync_state
 * makes one run at a time across every host.
 *
 * Order and bounds. Stripe lists events newest first. A run asks for the page of at most
 * EVENTS_SYNC_PAGE events just newer than the cursor (ending_before), applies it oldest
 * first, moves the cursor to the newest event of the page that is done along with every
 * older one, and asks again until Stripe has nothing newer: memory is one page, each
 * page is one paced Stripe call, and a failure stops the run with the cursor just before
 * the failed event, so the next run starts with it. Without a cursor (the first run, or
 * --since), the run first walks back from the newest event to the oldest one created at
 * or after the start time, keeping only the last page, then goes forward as above.
 */
#ifndef PB_SERVICES_EVENTS_SYNC_H
#define PB_SERVICES_EVENTS_SYNC_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "services/webhooks.h"
#include "util/err.h"

struct app;
struct arena;

#define EVENTS_SYNC_PAGE 100		/* events per Stripe list call (Stripe's most) */
#define EVENTS_SYNC_CURSOR "events_cursor"	/* sync_state: "<created> <evt_id>" */
#define EVENTS_SYNC_LEASE "events_sync_lease"	/* sync_state: "<expiry> <owner>" */
#define EVENTS_SYNC_LEASE_S 120		/* lease length; renewed every third of it */
#define EVENTS_SYNC_ID_MAX 255		/* an event id's bytes (the column's size) */
#define EVENTS_SYNC_CURSOR_MAX (24 + EVENTS_SYNC_ID_MAX)

struct events_sync_stats {
	uint64_t fetched;		/* events looked at */
	uint64_t applied;		/* recorded by this run (with effects, or stored only) */
	uint64_t duplicate;		/* recorded before: nothing changed */
	uint64_t failed;		/* 0 or 1: a failed event ends the run */
	uint64_t pages;			/* Stripe list calls */
	bool caught_up;			/* Stripe had nothing newer than the cursor */
	bool stopped;			/* *stop ended the run early */
	char failed_id[EVENTS_SYNC_ID_MAX + 1];	/* the failed event, "" when none */
	const char *failed_error;	/* static: why it failed */
	char cursor[EVENTS_SYNC_CURSOR_MAX];	/* at the end, "" when none */
	char holder[128];		/* PB_EBUSY: who holds the lease */
	int64_t holder_until;		/* and until when (Unix seconds) */
};

struct events_sync_opts {
	bool has_since;			/* start at since instead of the saved cursor */
	int64_t since;			/* Unix seconds */
	long long rate;			/* Stripe calls a second at most; 0: no limit */
	size_t max_pages;		/* pages applied in this run at most; 0: no limit */
	const char *owner;		/* who takes the lease (host:pid) */
	const volatile sig_atomic_t *stop;	/* NULL, or ends the run between events */
	/* NULL, or called after each event and each page walked, for a progress line. */
	void (*progress)(void *arg, const struct events_sync_stats *st);
	void *progress_arg;
};

/*
 * One sync run, as described above; fills *st (also on errors). PB_OK when the run
 * ended normally (caught up, max_pages, *stop, or one failed event: st->failed);
 * PB_EBUSY when another owner holds the lease (st->holder), also when it was lost
 * mid-run; PB_ESTRIPE, PB_ETIMEOUT, PB_EDB... when listing or saving failed (the cursor
 * saved so far stays). Borrows app and o.
 */
enum pb_err events_sync_run(struct app *app, const struct events_sync_opts *o,
    struct events_sync_stats *st);

/*
 * Retrieves event id from Stripe and processes it (source replay): out as
 * webhooks_process fills it (DUPLICATE when it was recorded before). PB_ENOTFOUND when
 * Stripe has no such event; PB_EINVAL when it was refused (out->code).
 */
enum pb_err events_replay(struct app *app, struct arena *a, const char *id,
    struct webhook_result *out);

/* ---- pure helpers, exposed for the unit tests ------------------------------------ */

/*
 * The order to apply a page in: page[] is created[0..n) newest first as Stripe lists
 * it; order[] gets the indexes oldest first, by created, Stripe's order within a second.
 */
void events_sync_order(const int64_t *created, size_t n, size_t *order);

/*
 * After order[0..done) applied: the index of the newest event that is done together with
 * every event listed before it (older, at higher indexes), which the cursor may move to;
 * n when none is.
 */
size_t events_sync_done_upto(const size_t *order, size_t n, size_t done);

/* "<created> <id>" into buf; PB_ETOOBIG when it does not fit. */
enum pb_err events_sync_cursor_format(int64_t created, const char *id, char *buf,
    size_t size);

/* Reads a cursor of events_sync_cursor_format; PB_EINVAL when it is not one. */
enum pb_err events_sync_cursor_parse(const char *s, int64_t *created, char *id,
    size_t idsize);

#endif
