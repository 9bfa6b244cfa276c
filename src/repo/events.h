/*
 * The stripe_events table (every Stripe event seen, inserted in the same transaction as
 * its effects, so a duplicate key means "already done"), the failures of events whose
 * effects were rolled back (stripe_event_failures, written outside that transaction),
 * and sync_state, the small named values that must survive restarts (the events cursor).
 * A failure is open while its event has no stripe_events row: the transaction that
 * finally applies the event resolves it by inserting that row, with no write of its own.
 */
#ifndef PB_REPO_EVENTS_H
#define PB_REPO_EVENTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/err.h"

struct arena;
struct db;

/* One event as stored; every pointer is borrowed for the call. */
struct event_row {
	const char *id;			/* evt_... */
	const char *type;
	const char *api_version;	/* NULL when the event has none */
	int64_t created;		/* Unix seconds */
	bool livemode;
	const char *object_id;		/* data.object.id, NULL when absent */
	const char *payload;		/* the event JSON as received */
	size_t payload_len;
	const char *source;		/* "webhook", "sync" or "replay" */
};

/*
 * Inserts the event with a plain INSERT, marked processed now (its effects commit with
 * it). PB_ECONFLICT when the event id is recorded already.
 */
enum pb_err repo_events_insert(struct db *db, const struct event_row *e);

/* Whether event id is recorded. */
enum pb_err repo_events_exists(struct db *db, struct arena *a, const char *id, bool *exists);

/*
 * Records one failed attempt of event id (a new failure, or attempts + 1 and the newest
 * error). error is cut to 500 bytes. Runs on its own, outside any transaction of the
 * event.
 */
enum pb_err repo_events_failed(struct db *db, const char *id, const char *type,
    const char *source, const char *error);

/* Failed attempts recorded for event id so far (0 when none). */
enum pb_err repo_events_failure_attempts(struct db *db, struct arena *a, const char *id,
    uint32_t *attempts);

/* One row of repo_events_list. Strings live in the arena. */
struct event_summary {
	const char *id;
	const char *type;
	int64_t created;
	const char *source;		/* the failure's for one never applied */
	const char *object_id;
	uint32_t attempts;		/* failed attempts, 0 when none */
	const char *last_error;		/* NULL when none */
	bool applied;
};

/*
 * Lists events newest first (by created): with failed_only, the open failures (events
 * with a failure and no stripe_events row) instead, most recently failed first. At most
 * max rows.
 */
enum pb_err repo_events_list(struct db *db, struct arena *a, bool failed_only, size_t max,
    struct event_summary **out, size_t *n);

/* Reads sync_state name into buf ("" and PB_ENOTFOUND when absent). */
enum pb_err repo_sync_get(struct db *db, struct arena *a, const char *name, char *buf,
    size_t size);

/* Sets sync_state name to value. */
enum pb_err repo_sync_set(struct db *db, const char *name, const char *value);

/*
 * A lease in sync_state name, so that one process at a time does some work across hosts:
 * the value is "<expiry, Unix seconds on the database's clock> <owner>". Takes it for
 * ttl_s seconds when it is free, expired or owner's already (then it is renewed), in one
 * conditional INSERT ... ON DUPLICATE KEY UPDATE, so two takers never both win. Then
 * *held says whether owner holds it; holder (the current owner, copied into a buffer of
 * holder_size) and *until (its expiry) say who has it either way.
 */
enum pb_err repo_sync_lease_take(struct db *db, struct arena *a, const char *name,
    const char *owner, int64_t ttl_s, bool *held, char *holder, size_t holder_size,
    int64_t *until);

/* Frees the lease if owner holds it (no-op otherwise). */
enum pb_err repo_sync_lease_release(struct db *db, const char *name, const char *owner);

#endif
