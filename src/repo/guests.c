#include "config.h"

#include "repo/db.h"
#include "repo/guests.h"

enum pb_err
repo_guest_customer_get(struct db *db, struct arena *a, const char *email,
    const char **customer)
{
	struct db_result r;
	enum pb_err err;

	*customer = NULL;
	err = db_query_one(db, a,
	    "SELECT stripe_customer_id FROM guest_customers WHERE email_normalized = LOWER(TRIM(?))",
	    DB_ARGS(DB_STR(email)), &r);
	if (err == PB_OK)
		*customer = db_str(&r, 0, 0);
	return err;
}

enum pb_err
repo_guest_customer_put(struct db *db, const char *email, const char *customer)
{
	enum pb_err err;

	err = db_exec(db,
	    "INSERT INTO guest_customers (email_normalized, stripe_customer_id) "
	    "VALUES (LOWER(TRIM(?)), ?)", DB_ARGS(DB_STR(email), DB_STR(customer)), NULL, NULL);
	return err == PB_ECONFLICT ? PB_OK : err;
}

enum pb_err
repo_rate_hit(struct db *db, struct arena *a, const char *bucket, int64_t window_s,
    uint32_t *hits, int64_t *retry_after_s)
{
	struct db_result r;
	enum pb_err err;

	/* Assignments run left to right: hits sees the old window_start, so it goes first. */
	err = db_exec(db,
	    "INSERT INTO rate_limits (bucket, window_start, hits) VALUES (?, NOW(6), 1) "
	    "ON DUPLICATE KEY UPDATE "
	    "hits = IF(window_start <= NOW(6) - INTERVAL ? SECOND, 1, hits + 1), "
	    "window_start = IF(window_start <= NOW(6) - INTERVAL ? SECOND, NOW(6), window_start)",
	    DB_ARGS(DB_STR(bucket), DB_INT(window_s), DB_INT(window_s)), NULL, NULL);
	if (err != PB_OK)
		return err;
	err = db_query_one(db, a,
	    "SELECT hits, GREATEST(1, CEIL(TIMESTAMPDIFF(MICROSECOND, NOW(6), "
	    "window_start + INTERVAL ? SECOND) / 1000000)) FROM rate_limits WHERE bucket = ?",
	    DB_ARGS(DB_INT(window_s), DB_STR(bucket)), &r);
	if (err != PB_OK)
		return err;
	*hits = (uint32_t)db_uint(&r, 0, 0);
	*retry_after_s = db_int(&r, 0, 1);
	return PB_OK;
}

enum pb_err
repo_rate_prune(struct db *db, int64_t older_than_s, uint64_t limit, uint64_t *deleted)
{
	return db_exec(db,
	    "DELETE FROM rate_limits WHERE window_start < NOW(6) - INTERVAL ? SECOND LIMIT ?",
	    DB_ARGS(DB_INT(older_than_s), DB_UINT(limit)), deleted, NULL);
}
