#include "config.h"

#include <string.h>

#include "repo/db.h"
#include "repo/events.h"
#include "util/arena.h"

#define ERROR_MAX 500

enum pb_err
repo_events_insert(struct db *db, const struct event_row *e)
{
	/* A plain INSERT, never INSERT IGNORE: only 1062 means "already done". */
	return db_exec(db,
	    "INSERT INTO stripe_events (stripe_event_id, type, api_version, event_created, "
	    "livemode, object_id, payload, source, processed_at) "
	    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, NOW(6))",
	    DB_ARGS(DB_STR(e->id), DB_STR(e->type), DB_STR(e->api_version), DB_INT(e->created),
		DB_BOOL(e->livemode), DB_STR(e->object_id), DB_STRN(e->payload, e->payload_len),
		DB_STR(e->source)),
	    NULL, NULL);
}

enum pb_err
repo_events_exists(struct db *db, struct arena *a, const char *id, bool *exists)
{
	struct db_result r;
	enum pb_err err;

	err = db_query(db, a, "SELECT 1 FROM stripe_events WHERE stripe_event_id = ?",
	    DB_ARGS(DB_STR(id)), &r);
	*exists = err == PB_OK && r.nrows > 0;
	return err;
}

enum pb_err
repo_events_failed(struct db *db, const char *id, const char *type, const char *source,
    const char *error)
{
	size_t n = error != NULL ? strnlen(error, ERROR_MAX) : 0;

	return db_exec(db,
	    "INSERT INTO stripe_event_failures (stripe_event_id, type, source, attempts, "
	    "last_error) VALUES (?, ?, ?, 1, ?) "
	    "ON DUPLICATE KEY UPDATE attempts = attempts + 1, last_error = VALUES(last_error), "
	    "source = VALUES(source), last_failed_at = NOW(6)",
	    DB_ARGS(DB_STR(id), DB_STR(type), DB_STR(source),
		error != NULL ? DB_STRN(error, n) : DB_NULL),
	    NULL, NULL);
}

enum pb_err
repo_events_failure_attempts(struct db *db, struct arena *a, const char *id,
    uint32_t *attempts)
{
	struct db_result r;
	enum pb_err err;

	*attempts = 0;
	err = db_query(db, a,
	    "SELECT attempts FROM stripe_event_failures WHERE stripe_event_id = ?",
	    DB_ARGS(DB_STR(id)), &r);
	if (err == PB_OK && r.nrows > 0)
		*attempts = (uint32_t)db_uint(&r, 0, 0);
	return err;
}

enum pb_err
repo_events_list(struct db *db, struct arena *a, bool failed_only, size_t max,
    struct event_summary **out, size_t *n)
{
	struct db_result r;
	struct event_summary *v;
	enum pb_err err;

	*out = NULL;
	*n = 0;
	/*
	 * Open is "no event row": a write to the failure in the applying transaction would
	 * cost every event a round trip, and would miss a failure recorded after a
	 * concurrent delivery of the same event committed.
	 */
	if (failed_only)
		err = db_query(db, a,
		    "SELECT f.stripe_event_id, f.type, 0, f.source, NULL, f.attempts, "
		    "f.last_error, 0 FROM stripe_event_failures f WHERE NOT EXISTS "
		    "(SELECT 1 FROM stripe_events e WHERE e.stripe_event_id = f.stripe_event_id) "
		    "ORDER BY f.last_failed_at DESC LIMIT ?",
		    DB_ARGS(DB_UINT(max)), &r);
	else
		err = db_query(db, a,
		    "SELECT e.stripe_event_id, e.type, e.event_created, e.source, e.object_id, "
		    "COALESCE(f.attempts, 0), f.last_error, 1 "
		    "FROM stripe_events e LEFT JOIN stripe_event_failures f "
		    "ON f.stripe_event_id = e.stripe_event_id "
		    "ORDER BY e.event_created DESC, e.id DESC LIMIT ?",
		    DB_ARGS(DB_UINT(max)), &r);
	if (err != PB_OK || r.nrows == 0)
		return err;
	v = arena_alloc(a, r.nrows * sizeof(*v));
	if (v == NULL)
		return PB_ENOMEM;
	for (size_t i = 0; i < r.nrows; i++) {
		v[i].id = db_str(&r, i, 0);
		v[i].type = db_str(&r, i, 1);
		v[i].created = db_int(&r, i, 2);
		v[i].source = db_str(&r, i, 3);
		v[i].object_id = db_str(&r, i, 4);
		v[i].attempts = (uint32_t)db_uint(&r, i, 5);
		v[i].last_error = db_str(&r, i, 6);
		v[i].applied = db_int(&r, i, 7) != 0;
	}
	*out = v;
	*n = r.nrows;
	return PB_OK;
}

enum pb_err
repo_sync_get(struct db *db, struct arena *a, const char *name, char *buf, size_t size)
{
	struct db_result r;
	enum pb_err err;

	if (size > 0)
		buf[0] = '\0';
	err = db_query_one(db, a, "SELECT value FROM sync_state WHERE name = ?",
	    DB_ARGS(DB_STR(name)), &r);
	if (err != PB_OK)
		return err;
	return db_copy_str(&r, 0, 0, buf, size);
}

enum pb_err
repo_sync_set(struct db *db, const char *name, const char *value)
{
	return db_exec(db,
	    "INSERT INTO sync_state (name, value) VALUES (?, ?) "
	    "ON DUPLICATE KEY UPDATE value = VALUES(value)",
	    DB_ARGS(DB_STR(name), DB_STR(value)), NULL, NULL);
}

/* The owner part of a lease value: what follows the first space. */
#define LEASE_OWNER "SUBSTRING(value, LOCATE(' ', value) + 1)"

struct lease_take {
	struct arena *a;
	const char *name, *owner;
	int64_t ttl_s;
	bool *held;
	char *holder;
	size_t holder_size;
	int64_t *until;
};

static enum pb_err
lease_take_tx(struct db *db, void *arg)
{
	struct lease_take *t = arg;
	struct db_result r;
	enum pb_err err;

	/*
	 * One statement decides: the row's old value is read under its lock, so of two
	 * takers the second sees the first's unexpired lease and keeps it. The database's
	 * clock is the only one every host shares.
	 */
	err = db_exec(db,
	    "INSERT INTO sync_state (name, value) VALUES (?, CONCAT(UNIX_TIMESTAMP() + ?, ' ', ?)) "
	    "ON DUPLICATE KEY UPDATE value = IF("
	    "CAST(SUBSTRING_INDEX(value, ' ', 1) AS UNSIGNED) <= UNIX_TIMESTAMP() "
	    "OR " LEASE_OWNER " = ?, VALUES(value), value)",
	    DB_ARGS(DB_STR(t->name), DB_INT(t->ttl_s), DB_STR(t->owner), DB_STR(t->owner)),
	    NULL, NULL);
	if (err != PB_OK)
		return err;
	err = db_query_one(db, t->a,
	    "SELECT " LEASE_OWNER ", CAST(SUBSTRING_INDEX(value, ' ', 1) AS UNSIGNED), "
	    "UNIX_TIMESTAMP() FROM sync_state WHERE name = ?",
	    DB_ARGS(DB_STR(t->name)), &r);
	if (err != PB_OK)
		return err;
	*t->until = db_int(&r, 0, 1);
	*t->held = db_str(&r, 0, 0) != NULL && strcmp(db_str(&r, 0, 0), t->owner) == 0 &&
	    *t->until > db_int(&r, 0, 2);
	return db_copy_str(&r, 0, 0, t->holder, t->holder_size);
}

enum pb_err
repo_sync_lease_take(struct db *db, struct arena *a, const char *name, const char *owner,
    int64_t ttl_s, bool *held, char *holder, size_t holder_size, int64_t *until)
{
	struct lease_take t = { .a = a, .name = name, .owner = owner, .ttl_s = ttl_s,
	    .held = held, .holder = holder, .holder_size = holder_size, .until = until };

	*held = false;
	*until = 0;
	if (holder_size > 0)
		holder[0] = '\0';
	/*
	 * A transaction, so that losing to another taker is retried and then read as "held":
	 * on Galera two hosts taking it at once through different nodes both succeed locally,
	 * and the later commit fails certification (1213), which only db_tx runs again.
	 */
	return db_tx(db, lease_take_tx, &t);
}

struct lease_release {
	const char *name, *owner;
};

static enum pb_err
lease_release_tx(struct db *db, void *arg)
{
	const struct lease_release *l = arg;

	return db_exec(db,
	    "UPDATE sync_state SET value = CONCAT('0 ', " LEASE_OWNER ") "
	    "WHERE name = ? AND " LEASE_OWNER " = ?",
	    DB_ARGS(DB_STR(l->name), DB_STR(l->owner)), NULL, NULL);
}

enum pb_err
repo_sync_lease_release(struct db *db, const char *name, const char *owner)
{
	struct lease_release l = { .name = name, .owner = owner };

	/* In db_tx for the same reason as the take: a certification conflict is retried. */
	return db_tx(db, lease_release_tx, &l);
}
