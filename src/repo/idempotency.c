#include "config.h"

#include <string.h>

#include "repo/db.h"
#include "repo/idempotency.h"

enum pb_err
repo_idem_insert(struct db *db, uint64_t user_id, const char *key, const char *request_hash,
    uint64_t *id)
{
	return db_exec(db,
	    "INSERT INTO api_idempotency (user_id, idempotency_key, request_hash) VALUES (?, ?, ?)",
	    DB_ARGS(DB_UINT(user_id), DB_STR(key), DB_STR(request_hash)), NULL, id);
}

enum pb_err
repo_idem_get(struct db *db, struct arena *a, uint64_t user_id, const char *key,
    struct idem_row *out)
{
	struct db_result r;
	enum pb_err err;

	memset(out, 0, sizeof(*out));
	err = db_query_one(db, a,
	    "SELECT id, request_hash, response_status, response_body, created_at "
	    "FROM api_idempotency WHERE user_id = ? AND idempotency_key = ?",
	    DB_ARGS(DB_UINT(user_id), DB_STR(key)), &r);
	if (err != PB_OK)
		return err;
	out->id = db_uint(&r, 0, 0);
	out->request_hash = db_str(&r, 0, 1);
	out->status = (int)db_int(&r, 0, 2);
	out->body = db_str(&r, 0, 3);
	out->body_len = db_len(&r, 0, 3);
	out->created_at = db_time(&r, 0, 4);
	return PB_OK;
}

enum pb_err
repo_idem_restart(struct db *db, uint64_t id, int64_t created_at, const char *request_hash,
    bool *taken)
{
	uint64_t affected = 0;
	enum pb_err err;

	err = db_exec(db,
	    "UPDATE api_idempotency SET request_hash = ?, response_status = NULL, "
	    "response_body = NULL, completed_at = NULL, created_at = NOW(6) "
	    "WHERE id = ? AND created_at = ?",
	    DB_ARGS(DB_STR(request_hash), DB_UINT(id), DB_TIME(created_at)), &affected, NULL);
	*taken = err == PB_OK && affected == 1;
	return err;
}

enum pb_err
repo_idem_complete(struct db *db, uint64_t id, int status, const char *body, size_t len)
{
	return db_exec(db,
	    "UPDATE api_idempotency SET response_status = ?, response_body = ?, "
	    "completed_at = NOW(6) WHERE id = ?",
	    DB_ARGS(DB_INT(status), DB_STRN(body, len), DB_UINT(id)), NULL, NULL);
}

enum pb_err
repo_idem_delete(struct db *db, uint64_t id)
{
	return db_exec(db, "DELETE FROM api_idempotency WHERE id = ?", DB_ARGS(DB_UINT(id)), NULL,
	    NULL);
}

enum pb_err
repo_idem_prune(struct db *db, int64_t before_us, uint64_t limit, uint64_t *deleted)
{
	return db_exec(db, "DELETE FROM api_idempotency WHERE created_at < ? LIMIT ?",
	    DB_ARGS(DB_TIME(before_us), DB_UINT(limit)), deleted, NULL);
}
