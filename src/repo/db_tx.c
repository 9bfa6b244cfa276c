/*
 * The MariaDB wrapper's transactions (see db.h): BEGIN with one reconnect, COMMIT and
 * ROLLBACK that know when the connection died inside, and db_tx, which retries a
 * deadlocked transaction a few times. A transaction holds one database seat from BEGIN
 * until it ends.
 */
#include "config.h"

#include <mysql.h>

#include "repo/db.h"
#include "repo/db_private.h"
#include "util/log.h"
#include "util/rand.h"
#include "util/timeutil.h"

#define TX_ATTEMPTS 5
#define TX_BACKOFF_US 5000

enum pb_err
db_tx_begin(struct db *db)
{
	static const char begin[] = "START TRANSACTION";

	enum pb_err rc;

	if (db->in_tx) {
		log_error("db: nested transaction");
		return PB_EDB;
	}
	/* The seat is held until the transaction ends (commit or rollback). */
	rc = db_seat_take(db);
	if (rc != PB_OK)
		return rc;
	for (int attempt = 0; attempt < 2; attempt++) {
		if (db_connect(db) != PB_OK)
			break;
		if (db_run_text(db, begin) == PB_OK) {
			db->in_tx = true;
			db->tx_lost = false;
			return PB_OK;
		}
		db->last_errno = mysql_errno(db->my);
		if (!db_conn_lost(db->last_errno)) {
			rc = db_map_error(db, "begin", begin, db->last_errno, mysql_sqlstate(db->my),
			    mysql_error(db->my));
			db_seat_give(db);
			return rc;
		}
		db_drop_connection(db);
		if (attempt == 1)
			log_warnx("db: connection lost twice at BEGIN (error %u)",
			    db->last_errno);
	}
	db_seat_give(db);
	return PB_EDB;
}

static enum pb_err
commit(struct db *db)
{
	enum pb_err rc;
	unsigned e;
	my_bool failed;

	if (!db->in_tx) {
		log_error("db: commit outside a transaction");
		return PB_EDB;
	}
	if (db->tx_lost || db->my == NULL) {
		db->in_tx = false;
		db->tx_lost = false;
		return PB_EDB;
	}
	db->in_tx = false;
	db_in_statement(db, true);
	failed = mysql_commit(db->my);
	db_in_statement(db, false);
	if (failed == 0)
		return PB_OK;
	e = mysql_errno(db->my);
	db->last_errno = e;
	if (db_conn_lost(e)) {
		/* Whether the server committed is unknown; the caller sees a failure. */
		log_warnx("db: connection lost at COMMIT (error %u)", e);
		db_drop_connection(db);
		return PB_EDB;
	}
	rc = db_map_error(db, "commit", "COMMIT", e, mysql_sqlstate(db->my), mysql_error(db->my));
	(void)mysql_rollback(db->my);
	return rc;
}

enum pb_err
db_tx_commit(struct db *db)
{
	enum pb_err rc = commit(db);

	db_seat_give(db);
	return rc;
}

static enum pb_err
rollback(struct db *db)
{
	bool lost = db->tx_lost || db->my == NULL;
	my_bool failed;

	db->in_tx = false;
	db->tx_lost = false;
	if (lost)
		return PB_OK;	/* the server dropped the transaction with the connection */
	db_in_statement(db, true);
	failed = mysql_rollback(db->my);
	db_in_statement(db, false);
	if (failed == 0)
		return PB_OK;
	db->last_errno = mysql_errno(db->my);
	log_warnx("db: ROLLBACK failed: error %u: %s", db->last_errno, mysql_error(db->my));
	db_drop_connection(db);
	return PB_EDB;
}

enum pb_err
db_tx_rollback(struct db *db)
{
	enum pb_err rc = rollback(db);

	db_seat_give(db);
	return rc;
}

enum pb_err
db_tx(struct db *db, enum pb_err (*fn)(struct db *db, void *arg), void *arg)
{
	enum pb_err rc = PB_EDEADLOCK;
	int64_t backoff = TX_BACKOFF_US;

	if (db->in_tx)
		return fn(db, arg);
	for (int attempt = 1; attempt <= TX_ATTEMPTS; attempt++) {
		rc = db_tx_begin(db);
		if (rc != PB_OK)
			return rc;
		rc = fn(db, arg);
		if (rc == PB_OK)
			rc = db_tx_commit(db);
		if (db->in_tx)
			(void)db_tx_rollback(db);
		if (rc != PB_EDEADLOCK)
			return rc;
		if (attempt < TX_ATTEMPTS) {
			time_sleep_us(backoff + (int64_t)rand_below((uint64_t)backoff));
			backoff *= 2;
		}
	}
	log_warnx("db: transaction still deadlocked after %d attempts", TX_ATTEMPTS);
	return rc;
}
