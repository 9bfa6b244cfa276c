/*
 * Internals shared by src/repo/db_conn.c (connection, errors, seats, ping), db_stmt.c
 * (statement cache, binding, results) and db_tx.c (transactions): struct db itself and
 * the helpers more than one of them calls. Not part of any contract: callers use db.h.
 */
#ifndef PB_REPO_DB_PRIVATE_H
#define PB_REPO_DB_PRIVATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <mysql.h>

#include "repo/db.h"

#define DB_MAX_ENDPOINTS 8	/* servers in db_host */
#define INLINE_STR 256		/* text read without a second fetch up to this size */

struct stmt {
	const char *sql;	/* the text; owned by the caller (a literal) */
	MYSQL_STMT *h;
};

struct ptr_slot {
	const char *ptr;	/* NULL: empty slot */
	size_t idx;		/* into db->stmts */
};

/* Where one result column lands before it is copied into the arena. */
struct col {
	enum db_type type;
	my_bool is_null;
	my_bool error;
	unsigned long length;
	union {
		long long ll;
		MYSQL_TIME tm;
		char str[INLINE_STR];
	};
};

struct db_endpoint {
	char host[256];
	unsigned port;
};

struct db {
	MYSQL *my;		/* NULL while disconnected */
	bool in_tx;
	bool tx_lost;		/* the connection died inside the current transaction */
	unsigned last_errno;
	int64_t connect_logged_us;

	char *socket, *name, *user, *password;
	unsigned connect_timeout, read_timeout, write_timeout, lock_wait;
	/* db_host's servers (none: the socket); a lost connection moves on to the next. */
	struct db_endpoint endpoints[DB_MAX_ENDPOINTS];
	size_t nendpoints, current;

	const struct db_seats *seats;	/* NULL: no seat limit */
	bool seated;			/* holding a seat (a statement, or the transaction) */
	unsigned inside;		/* db_in_statement depth: a connect within a statement */
	bool seats_waived;		/* db_waive_seats: statements take no seat */
	int64_t deadline_us;		/* db_set_deadline(), 0: none */
	int64_t ping_until_us;		/* inside db_ping: its bound, 0 otherwise */

	struct stmt *stmts;	/* distinct texts */
	size_t nstmts, capstmts;
	struct ptr_slot *ptrs;	/* address -> stmts index, open addressing */
	size_t nptrs, capptrs;

	MYSQL_BIND *pbind;	/* parameter scratch, grown on demand */
	MYSQL_TIME *ptime;
	long long *pint;
	size_t pcap;
	MYSQL_BIND *rbind;	/* result scratch */
	struct col *cols;
	size_t rcap;
};

/* ---- db_conn.c ---- */

/* Whether MariaDB error e means the connection is gone. */
bool db_conn_lost(unsigned e);

/* Logs a failure with the first words of the statement (static SQL, no values). */
void db_log_failure(const char *what, const char *sql, unsigned e, const char *state,
    const char *msg);

/* Maps an error that is not a connection loss (and records it as the last one). */
enum pb_err db_map_error(struct db *db, const char *what, const char *sql, unsigned e,
    const char *state, const char *msg);

/* Closes the connection and its statements; inside a transaction, marks it lost. */
void db_drop_connection(struct db *db);

/*
 * Parses db_host: servers separated by commas or spaces, each "host", "host:port" or
 * "[v6 address]:port", default_port where none is given. "" and "localhost" alone give
 * none (the socket). PB_EINVAL on a malformed or too long list.
 */
enum pb_err db_endpoints_parse(const char *list, unsigned default_port,
    struct db_endpoint *out, size_t max, size_t *n);

/* Runs text without parameters on the open connection; the error stays on db->my. */
enum pb_err db_run_text(struct db *db, const char *sql);

/* Opens the connection if there is none, bounded by a ping's bound or the deadline. */
enum pb_err db_connect(struct db *db);

/* db_connect, but refuses inside a transaction whose connection died. */
enum pb_err db_ensure_connected(struct db *db);

/* Takes a seat unless one is held: PB_ETIMEOUT past the deadline, PB_EBUSY when none. */
enum pb_err db_seat_take(struct db *db);

/* Gives the seat back, unless a transaction still holds it. */
void db_seat_give(struct db *db);

/*
 * Tells the seats a statement (or a connect, or a ping) was sent (inside) or answered
 * (db.h, in_statement). Calls nest; the outermost pair counts.
 */
void db_in_statement(struct db *db, bool inside);

/* ---- db_stmt.c ---- */

/* Closes every cached statement and forgets them. */
void db_cache_clear(struct db *db);

#endif
