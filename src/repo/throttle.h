/*
 * The login_throttle table: failed logins per email address (registered or not, so the
 * table never tells which addresses have accounts) and client, shared by every worker and
 * host. A record is keyed by LOWER(TRIM(email)) computed by MariaDB, as users.c does, and
 * by client: a client's key (services/accounts.c makes it from the IP address), or
 * THROTTLE_ALL_CLIENTS for the address's record across every client. This
 * file only stores and reads; when to block, and for how long, is the caller's policy
 * (services/accounts.c). All times are the database server's clock, so hosts with
 * drifting clocks still agree.
 */
#ifndef PB_REPO_THROTTLE_H
#define PB_REPO_THROTTLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/err.h"

struct arena;
struct db;

#define THROTTLE_ALL_CLIENTS ""	/* the client of an address's record for all clients */
#define THROTTLE_CLIENT_MAX 45	/* longest client key the table holds (ASCII) */

/* A record as repo_throttle_lock found it. */
struct throttle {
	uint32_t failures;	/* attempts counted in the current streak; 0 for a new record */
	int64_t blocked_us;	/* how much longer attempts are refused; 0 when they are not */
	int64_t idle_us;	/* time since the record last changed */
	int64_t age_us;		/* time since the streak started (first_failure_at) */
};

/*
 * Inside the caller's transaction: creates the record of (email, client) when there is
 * none, locks it until the transaction ends (so concurrent attempts queue here, and a
 * burst cannot slip past the count), and reads it into *out. email is as the client sent
 * it, at most 254 characters; client at most THROTTLE_CLIENT_MAX. Callers that lock two
 * records of one address lock THROTTLE_ALL_CLIENTS first, so two attempts never wait on
 * each other in opposite orders. PB_OK, or the errors of db_exec (PB_EDEADLOCK: retry
 * the transaction).
 */
enum pb_err repo_throttle_lock(struct db *db, struct arena *a, const char *email,
    const char *client, struct throttle *out);

/*
 * Inside the same transaction, after repo_throttle_lock: stores failures, starting a new
 * streak (first_failure_at now) when restart is set, and refuses attempts for block_us
 * from now (0: no block).
 */
enum pb_err repo_throttle_record(struct db *db, const char *email, const char *client,
    uint32_t failures, bool restart, int64_t block_us);

/*
 * Takes one counted attempt back from the record (one that turned out to be a successful
 * login), and lifts its block when that leaves fewer than block_at attempts. One
 * statement, no transaction needed. PB_OK whether or not there is a record.
 */
enum pb_err repo_throttle_forgive(struct db *db, const char *email, const char *client,
    uint32_t block_at);

/* Forgets the record (a successful login). PB_OK whether or not there is one. */
enum pb_err repo_throttle_clear(struct db *db, const char *email, const char *client);

/*
 * Deletes at most max records that have not changed for idle_us (a long-finished streak:
 * keeps sprayed addresses from piling up); *n receives how many went.
 */
enum pb_err repo_throttle_purge(struct db *db, int64_t idle_us, size_t max, uint64_t *n);

#endif
