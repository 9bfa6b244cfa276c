/*
 * The login_throttle table (see throttle.h), one row per (address, client). The lock is an upsert that changes nothing
 * on an existing row: InnoDB then holds that row's exclusive lock until the transaction
 * ends, whether the row was just made or already there, without the gap locks (and the
 * deadlocks between two first attempts) that SELECT ... FOR UPDATE on a missing row takes.
 */
#include "config.h"

#include <string.h>

#include "repo/db.h"
#include "repo/throttle.h"

/* As in users.c: the normalised address, as MariaDB lower-cases it for utf8mb4_bin. */
#define NORMALIZED "LOWER(TRIM(? COLLATE utf8mb4_bin))"

#define KEY "email_normalized = " NORMALIZED " AND client = ?"

static const char sql_lock[] =
    "INSERT INTO login_throttle (email_normalized, client, failures, first_failure_at) "
    "VALUES (" NORMALIZED ", ?, 0, CURRENT_TIMESTAMP(6)) "
    "ON DUPLICATE KEY UPDATE failures = failures";
static const char sql_read[] =
    "SELECT failures, "
    "GREATEST(0, COALESCE(TIMESTAMPDIFF(MICROSECOND, CURRENT_TIMESTAMP(6), blocked_until), 0)), "
    "GREATEST(0, TIMESTAMPDIFF(MICROSECOND, updated_at, CURRENT_TIMESTAMP(6))), "
    "GREATEST(0, TIMESTAMPDIFF(MICROSECOND, first_failure_at, CURRENT_TIMESTAMP(6))) "
    "FROM login_throttle WHERE " KEY;
static const char sql_record[] =
    "UPDATE login_throttle SET failures = ?, "
    "first_failure_at = IF(?, CURRENT_TIMESTAMP(6), first_failure_at), "
    "blocked_until = IF(? > 0, CURRENT_TIMESTAMP(6) + INTERVAL ? MICROSECOND, NULL), "
    "updated_at = CURRENT_TIMESTAMP(6) "
    "WHERE " KEY;
/* blocked_until first: MariaDB assigns left to right, and it must see the old count. */
static const char sql_forgive[] =
    "UPDATE login_throttle SET blocked_until = IF(failures <= ?, NULL, blocked_until), "
    "failures = IF(failures > 0, failures - 1, 0) "
    "WHERE " KEY;
static const char sql_clear[] =
    "DELETE FROM login_throttle WHERE " KEY;
static const char sql_purge[] =
    "DELETE FROM login_throttle "
    "WHERE updated_at < CURRENT_TIMESTAMP(6) - INTERVAL ? MICROSECOND LIMIT ?";

enum pb_err
repo_throttle_lock(struct db *db, struct arena *a, const char *email, const char *client,
    struct throttle *out)
{
	struct db_result r;
	enum pb_err err;

	memset(out, 0, sizeof(*out));
	err = db_exec(db, sql_lock, DB_ARGS(DB_STR(email), DB_STR(client)), NULL, NULL);
	if (err != PB_OK)
		return err;
	err = db_query_one(db, a, sql_read, DB_ARGS(DB_STR(email), DB_STR(client)), &r);
	if (err != PB_OK)
		return err == PB_ENOTFOUND ? PB_EDB : err;	/* we just made it */
	out->failures = (uint32_t)db_uint(&r, 0, 0);
	out->blocked_us = db_int(&r, 0, 1);
	out->idle_us = db_int(&r, 0, 2);
	out->age_us = db_int(&r, 0, 3);
	return PB_OK;
}

enum pb_err
repo_throttle_record(struct db *db, const char *email, const char *client, uint32_t failures,
    bool restart, int64_t block_us)
{
	if (block_us < 0)
		block_us = 0;
	return db_exec(db, sql_record,
	    DB_ARGS(DB_UINT(failures), DB_BOOL(restart), DB_INT(block_us), DB_INT(block_us),
		DB_STR(email), DB_STR(client)), NULL, NULL);
}

enum pb_err
repo_throttle_forgive(struct db *db, const char *email, const char *client,
    uint32_t block_at)
{
	return db_exec(db, sql_forgive,
	    DB_ARGS(DB_UINT(block_at), DB_STR(email), DB_STR(client)), NULL, NULL);
}

enum pb_err
repo_throttle_clear(struct db *db, const char *email, const char *client)
{
	return db_exec(db, sql_clear, DB_ARGS(DB_STR(email), DB_STR(client)), NULL, NULL);
}

enum pb_err
repo_throttle_purge(struct db *db, int64_t idle_us, size_t max, uint64_t *n)
{
	*n = 0;
	return db_exec(db, sql_purge, DB_ARGS(DB_INT(idle_us), DB_UINT(max)), n, NULL);
}
