/*
 * MariaDB access: one opaque connection per process (made after fork), server-side
 * prepared statements cached per connection, typed parameters and results, and
 * transactions retried on deadlock. The only module that uses libmariadb; the SQL itself
 * lives in the other repo/ files.
 *
 *	struct db_result r;
 *	rc = db_query_one(db, a, "SELECT name, deleted_at FROM users WHERE id = ?",
 *	    DB_ARGS(DB_UINT(id)), &r);
 *	if (rc != PB_OK)
 *		return rc;			// PB_ENOTFOUND, PB_EDB, ...
 *	name = db_str(&r, 0, 0);		// in the arena; NULL for SQL NULL
 *	deleted = !db_isnull(&r, 0, 1);
 *
 * Every connection runs with utf8mb4, a strict sql_mode and time_zone '+00:00', so
 * CURRENT_TIMESTAMP(6) is UTC and DATETIME(6) values cross this API as microseconds since
 * the epoch, UTC.
 *
 * Errors: a duplicate key is PB_ECONFLICT; a deadlock, a Galera certification failure or
 * a lock wait timeout is PB_EDEADLOCK; an unreachable server or any other failure is
 * PB_EDB (logged once here with the MariaDB error number; parameter values are never
 * logged, nor messages that quote them).
 *
 * Connection loss: a statement outside a transaction that finds the connection gone
 * reconnects, re-prepares and runs once more (a statement cut off while the server ran it
 * may so run twice: writes are keyed, so a rerun shows as PB_ECONFLICT, not a duplicate).
 * Inside a transaction it fails with PB_EDB and every later statement of that transaction
 * fails too, without reconnecting, until the caller commits (PB_EDB) or rolls back; the
 * next statement after that reconnects.
 *
 * A struct db is used by one thread at a time. Make handles (db_new) from one thread.
 */
#ifndef PB_REPO_DB_H
#define PB_REPO_DB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "util/err.h"

struct arena;
struct conf;
struct db;

enum db_type {
	DB_TNULL,	/* SQL NULL */
	DB_TINT,	/* i: signed integer, or a DECIMAL without fraction such as SUM() */
	DB_TUINT,	/* u: unsigned integer (BIGINT UNSIGNED ids) */
	DB_TSTR,	/* s, len: text, blobs, ENUM, JSON, DECIMAL with a fraction */
	DB_TTIME,	/* i: DATETIME(6), TIMESTAMP, DATE as microseconds since the epoch */
	DB_T__MAX
};

/* A statement parameter; build them with the DB_* macros below. Borrows s. */
struct db_arg {
	enum db_type type;
	union {
		int64_t i;
		uint64_t u;
	};
	const char *s;
	size_t len;
};

/* A NUL-terminated string parameter; a NULL pointer binds SQL NULL. */
static inline struct db_arg
db_arg_str(const char *s)
{
	struct db_arg a = { .type = s != NULL ? DB_TSTR : DB_TNULL, .s = s };

	a.len = s != NULL ? strlen(s) : 0;
	return a;
}

#define DB_NULL ((struct db_arg){ .type = DB_TNULL })
#define DB_INT(x) ((struct db_arg){ .type = DB_TINT, .i = (int64_t)(x) })
#define DB_UINT(x) ((struct db_arg){ .type = DB_TUINT, .u = (uint64_t)(x) })
#define DB_BOOL(x) DB_INT((x) ? 1 : 0)
#define DB_STR(s) db_arg_str(s)
#define DB_STRN(p, n) ((struct db_arg){ .type = DB_TSTR, .s = (p), .len = (n) })
#define DB_TIME(us) ((struct db_arg){ .type = DB_TTIME, .i = (int64_t)(us) })

/* Expands to the "args, nargs" pair of db_exec and db_query: DB_ARGS(DB_INT(1), DB_STR(s)). */
#define DB_ARGS(...)                                   \
	(const struct db_arg[]){ __VA_ARGS__ },        \
	(sizeof((const struct db_arg[]){ __VA_ARGS__ }) / sizeof(struct db_arg))
#define DB_NOARGS NULL, 0

/* One result cell. s is NUL-terminated (len excludes the NUL) and lives in the arena. */
struct db_value {
	enum db_type type;	/* DB_TNULL for SQL NULL, else the column's kind */
	union {
		int64_t i;
		uint64_t u;
	};
	const char *s;
	size_t len;
};

/* A whole result set, row-major, owned by the arena passed to db_query. */
struct db_result {
	size_t nrows;
	size_t ncols;
	struct db_value *v;	/* nrows * ncols cells; NULL when nrows is 0 */
	uint64_t affected;	/* rows affected, for statements without a result set */
};

/*
 * Makes a handle from c (copying what it needs) without connecting: the first statement
 * or db_ping connects, so a process starts while the database is down. Returns PB_OK, or
 * PB_ENOMEM. Free with db_free.
 */
enum pb_err db_new(const struct conf *c, struct db **out);

/* Closes the connection and statements, wipes the password copy, frees db. NULL is fine. */
void db_free(struct db *db);

/*
 * Connects if needed and checks the server answers within timeout_ms (readiness): the
 * ping runs through libmariadb's non-blocking API so that bound holds whatever the
 * connection's read timeout. A ping that runs out of time drops the connection (the next
 * statement reconnects). PB_OK, PB_EDB, or the seat and deadline errors below.
 */
enum pb_err db_ping(struct db *db, int64_t timeout_ms);

/*
 * Database seats: the pool keeps some workers out of the database at all times, so that
 * a stalled database cannot hold every worker (healthz and fast 503s stay possible). A
 * worker takes a seat for each statement outside a transaction, and for a whole
 * transaction from db_tx_begin to its commit or rollback. take waits until wait_until_us
 * (monotonic) at most and returns PB_OK, or PB_EBUSY when no seat came free; give is
 * called once for each seat taken. in_statement (which may be NULL) is told when a
 * statement is sent and when its answer is in, so that take can tell a database that
 * answers nobody from seat holders that are merely slow (busy, or short of CPU) between
 * their statements. The server installs these; without them every call proceeds.
 * Borrowed: g must outlive db.
 */
struct db_seats {
	enum pb_err (*take)(void *ctx, int64_t wait_until_us);
	void (*give)(void *ctx);
	void (*in_statement)(void *ctx, bool inside);
	int64_t (*oldest_us)(const void *ctx);	/* age of the oldest seat others hold */
	void *ctx;
	int64_t wait_us;	/* how long to wait for a seat (db_seat_wait_ms) */
};

void db_set_seats(struct db *db, const struct db_seats *seats);

/*
 * While waived, statements run without taking a seat (the deadline still holds): for the
 * one short write that settles what a request began, which must not be refused because
 * the request itself was.
 */
void db_waive_seats(struct db *db, bool waive);

/*
 * How long (microseconds) the oldest seat held by another worker has been held, 0 when
 * none is (or no seats are installed): a database that answers nobody shows here before
 * a call of ours would time out.
 */
int64_t db_seat_oldest_us(const struct db *db);

/*
 * Bounds what follows by deadline_us on the monotonic clock (the request's deadline): no
 * statement or transaction starts after it (PB_ETIMEOUT), and no seat is waited for past
 * it. 0 removes the bound. Each statement is bounded on its own by the connection's
 * db_read_timeout and db_write_timeout, a few seconds.
 */
void db_set_deadline(struct db *db, int64_t deadline_us);

/*
 * Runs sql, which must be a string that lives as long as db (a literal: statements are
 * cached by pointer, then by text), with nargs parameters for its '?' markers. Any result
 * set is discarded. When not NULL, *affected receives the rows matched (an UPDATE counts
 * rows its WHERE found even when unchanged) and *last_id the AUTO_INCREMENT value of an
 * INSERT. Returns PB_OK, PB_ECONFLICT, PB_EDEADLOCK, PB_EDB (or PB_ENOMEM).
 */
enum pb_err db_exec(struct db *db, const char *sql, const struct db_arg *args, size_t nargs,
    uint64_t *affected, uint64_t *last_id);

/*
 * db_exec for a statement that changes one row found by its key (UPDATE ... WHERE id =
 * ?): PB_ENOTFOUND when its WHERE matched no row, else db_exec's result.
 */
enum pb_err db_exec_one(struct db *db, const char *sql, const struct db_arg *args,
    size_t nargs);

/*
 * Runs sql as db_exec does and copies its whole result set into the arena a: out and
 * everything it points to live until the arena is reset. Returns PB_OK (out->nrows may
 * be 0), PB_ENOMEM past the arena's ceiling, or the errors of db_exec.
 */
enum pb_err db_query(struct db *db, struct arena *a, const char *sql,
    const struct db_arg *args, size_t nargs, struct db_result *out);

/*
 * Same as db_query for a statement that finds at most one row: PB_ENOTFOUND when it finds
 * none; more than one is a bug in the SQL and returns PB_EDB.
 */
enum pb_err db_query_one(struct db *db, struct arena *a, const char *sql,
    const struct db_arg *args, size_t nargs, struct db_result *out);

/*
 * Reading cells. Out-of-range rows or columns read as SQL NULL. db_int and db_uint give 0
 * for NULL and the other integer view of an integer cell; a DB_TTIME cell reads with
 * db_time (or db_int). db_str gives NULL for SQL NULL and for non-text cells.
 */
const struct db_value *db_cell(const struct db_result *r, size_t row, size_t col);
bool db_isnull(const struct db_result *r, size_t row, size_t col);
int64_t db_int(const struct db_result *r, size_t row, size_t col);
uint64_t db_uint(const struct db_result *r, size_t row, size_t col);
bool db_bool(const struct db_result *r, size_t row, size_t col);
int64_t db_time(const struct db_result *r, size_t row, size_t col);
const char *db_str(const struct db_result *r, size_t row, size_t col);
size_t db_len(const struct db_result *r, size_t row, size_t col);

/*
 * Copies a text cell into buf (NUL-terminated); SQL NULL copies "". Returns PB_OK, or
 * PB_ETOOBIG (buf holds "") when it does not fit, PB_EINVAL for a non-text cell.
 */
enum pb_err db_copy_str(const struct db_result *r, size_t row, size_t col, char *buf,
    size_t size);

/*
 * Runs BEGIN, fn(db, arg), COMMIT. Rolls back when fn or COMMIT fails; runs the whole
 * transaction again (up to 5 attempts, backing off from about 5 ms with jitter) when that
 * failure is PB_EDEADLOCK, so fn must do nothing outside the database that cannot be
 * repeated. Returns what fn returned (PB_ECONFLICT is never retried), the COMMIT's error,
 * or PB_EDEADLOCK after the last attempt. Called inside a transaction it only runs fn:
 * the outermost one commits and retries.
 */
enum pb_err db_tx(struct db *db, enum pb_err (*fn)(struct db *db, void *arg), void *arg);

/* The parts of db_tx, without retries. Nested begin is PB_EDB (a bug). */
enum pb_err db_tx_begin(struct db *db);
enum pb_err db_tx_commit(struct db *db);
/* Always ends the transaction on our side; PB_EDB if the server did not confirm. */
enum pb_err db_tx_rollback(struct db *db);
bool db_in_tx(const struct db *db);

/*
 * Runs one trusted, parameter-free statement of len bytes (a migration's DDL: never text
 * built from input) through the text protocol, outside the statement cache, discarding
 * any result. Not inside a transaction, and never retried after a connection loss. On
 * failure writes the server's error number and message into err. PB_OK or PB_EDB.
 */
enum pb_err db_exec_trusted(struct db *db, const char *sql, size_t len, char *err,
    size_t errlen);

/* The MariaDB error number of the last failure on db (0 if none), for diagnostics. */
unsigned db_errno_last(const struct db *db);

#endif
