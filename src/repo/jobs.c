#include "config.h"

#include <string.h>

#include "repo/db.h"
#include "repo/jobs.h"
#include "util/arena.h"

/* Every time is the database's NOW(6), so hosts with skewed clocks agree on leases. */
#define JOB_COLUMNS \
	"id, kind, user_id, idempotency_key, payload, status, attempts, max_attempts, " \
	"run_after, lease_until, leased_by, first_attempt_at, last_error, created_at"

static void
read_job(const struct db_result *r, size_t row, struct job *j)
{
	memset(j, 0, sizeof(*j));
	j->id = db_uint(r, row, 0);
	j->kind = db_str(r, row, 1);
	j->user_id = db_isnull(r, row, 2) ? 0 : db_uint(r, row, 2);
	j->idempotency_key = db_str(r, row, 3);
	j->payload = db_str(r, row, 4);
	j->status = db_str(r, row, 5);
	j->attempts = (uint32_t)db_uint(r, row, 6);
	j->max_attempts = (uint32_t)db_uint(r, row, 7);
	j->run_after = db_time(r, row, 8);
	j->lease_until = db_isnull(r, row, 9) ? 0 : db_time(r, row, 9);
	j->leased_by = db_str(r, row, 10);
	j->first_attempt_at = db_isnull(r, row, 11) ? 0 : db_time(r, row, 11);
	j->last_error = db_str(r, row, 12);
	j->created_at = db_time(r, row, 13);
}

enum pb_err
repo_jobs_insert(struct db *db, const char *kind, uint64_t user_id, const char *key,
    const char *payload, uint32_t max_attempts, const char *owner, int64_t lease_us,
    uint64_t *id)
{
	bool leased = lease_us > 0;

	return db_exec(db,
	    "INSERT INTO stripe_jobs (kind, user_id, idempotency_key, payload, status, attempts, "
	    "max_attempts, run_after, lease_until, leased_by, first_attempt_at) "
	    "VALUES (?, ?, ?, ?, IF(?, 'running', 'pending'), IF(?, 1, 0), ?, NOW(6), "
	    "IF(?, NOW(6) + INTERVAL ? MICROSECOND, NULL), IF(?, ?, NULL), IF(?, NOW(6), NULL))",
	    DB_ARGS(DB_STR(kind), user_id != 0 ? DB_UINT(user_id) : DB_NULL, DB_STR(key),
		DB_STR(payload), DB_BOOL(leased), DB_BOOL(leased), DB_UINT(max_attempts),
		DB_BOOL(leased), DB_INT(lease_us), DB_BOOL(leased), DB_STR(owner),
		DB_BOOL(leased)),
	    NULL, id);
}

enum pb_err
repo_jobs_insert_after(struct db *db, const char *kind, uint64_t user_id, const char *key,
    const char *payload, uint32_t max_attempts, int64_t delay_us, uint64_t *id)
{
	return db_exec(db,
	    "INSERT INTO stripe_jobs (kind, user_id, idempotency_key, payload, max_attempts, "
	    "run_after) VALUES (?, ?, ?, ?, ?, NOW(6) + INTERVAL ? MICROSECOND)",
	    DB_ARGS(DB_STR(kind), user_id != 0 ? DB_UINT(user_id) : DB_NULL, DB_STR(key),
		DB_STR(payload), DB_UINT(max_attempts), DB_INT(delay_us)),
	    NULL, id);
}

enum pb_err
repo_jobs_open_for(struct db *db, struct arena *a, uint64_t user_id, const char *kind,
    uint64_t *pending_id, bool *running)
{
	struct db_result r;
	enum pb_err err;

	*pending_id = 0;
	*running = false;
	/* stripe_jobs_user (user_id, kind, status) finds them without touching done jobs. */
	err = db_query(db, a,
	    "SELECT id, status = 'running' AND lease_until >= NOW(6) FROM stripe_jobs "
	    "WHERE user_id = ? AND kind = ? AND status IN ('pending', 'running') FOR UPDATE",
	    DB_ARGS(DB_UINT(user_id), DB_STR(kind)), &r);
	if (err != PB_OK)
		return err;
	for (size_t i = 0; i < r.nrows; i++) {
		if (db_bool(&r, i, 1))
			*running = true;
		else if (*pending_id == 0)
			*pending_id = db_uint(&r, i, 0);
	}
	return PB_OK;
}

enum pb_err
repo_jobs_get(struct db *db, struct arena *a, uint64_t id, struct job *out)
{
	struct db_result r;
	enum pb_err err;

	err = db_query_one(db, a, "SELECT " JOB_COLUMNS " FROM stripe_jobs WHERE id = ?",
	    DB_ARGS(DB_UINT(id)), &r);
	if (err == PB_OK)
		read_job(&r, 0, out);
	return err;
}

enum pb_err
repo_jobs_get_by_key(struct db *db, struct arena *a, const char *key, struct job *out)
{
	struct db_result r;
	enum pb_err err;

	err = db_query_one(db, a,
	    "SELECT " JOB_COLUMNS " FROM stripe_jobs WHERE idempotency_key = ?",
	    DB_ARGS(DB_STR(key)), &r);
	if (err == PB_OK)
		read_job(&r, 0, out);
	return err;
}

enum pb_err
repo_jobs_claim(struct db *db, uint64_t id, const char *owner, int64_t lease_us, bool *claimed)
{
	uint64_t affected = 0;
	enum pb_err err;

	err = db_exec(db,
	    "UPDATE stripe_jobs SET status = 'running', attempts = attempts + 1, "
	    "lease_until = NOW(6) + INTERVAL ? MICROSECOND, leased_by = ?, "
	    "first_attempt_at = COALESCE(first_attempt_at, NOW(6)) "
	    "WHERE id = ? AND (status = 'pending' OR (status = 'running' AND lease_until < NOW(6)))",
	    DB_ARGS(DB_INT(lease_us), DB_STR(owner), DB_UINT(id)), &affected, NULL);
	*claimed = err == PB_OK && affected == 1;
	return err;
}

struct claim_due {
	struct arena *a;
	const char *owner;
	int64_t lease_us;
	struct job *out;
};

static enum pb_err
claim_due_tx(struct db *db, void *arg)
{
	struct claim_due *c = arg;
	struct db_result r;
	enum pb_err err;
	bool claimed;

	/* SKIP LOCKED: jobs another worker is claiming right now are not ours to wait for. */
	err = db_query(db, c->a,
	    "SELECT id FROM stripe_jobs WHERE "
	    "(status = 'pending' AND run_after <= NOW(6)) OR "
	    "(status = 'running' AND lease_until < NOW(6)) "
	    "ORDER BY run_after LIMIT 1 FOR UPDATE SKIP LOCKED",
	    DB_NOARGS, &r);
	if (err != PB_OK)
		return err;
	if (r.nrows == 0)
		return PB_ENOTFOUND;
	err = repo_jobs_claim(db, db_uint(&r, 0, 0), c->owner, c->lease_us, &claimed);
	if (err != PB_OK)
		return err;
	if (!claimed)
		return PB_ENOTFOUND;
	return repo_jobs_get(db, c->a, db_uint(&r, 0, 0), c->out);
}

enum pb_err
repo_jobs_claim_due(struct db *db, struct arena *a, const char *owner, int64_t lease_us,
    struct job *out)
{
	struct claim_due c = { a, owner, lease_us, out };

	return db_tx(db, claim_due_tx, &c);
}

enum pb_err
repo_jobs_done(struct db *db, uint64_t id)
{
	return db_exec(db,
	    "UPDATE stripe_jobs SET status = 'done', done_at = NOW(6), lease_until = NULL, "
	    "leased_by = NULL, last_error = NULL WHERE id = ?",
	    DB_ARGS(DB_UINT(id)), NULL, NULL);
}

enum pb_err
repo_jobs_failed(struct db *db, uint64_t id, const char *error, int64_t delay_us, bool dead)
{
	return db_exec(db,
	    "UPDATE stripe_jobs SET status = IF(?, 'dead', 'pending'), "
	    "run_after = NOW(6) + INTERVAL ? MICROSECOND, lease_until = NULL, leased_by = NULL, "
	    "last_error = LEFT(?, 2000) WHERE id = ? AND status <> 'done'",
	    DB_ARGS(DB_BOOL(dead), DB_INT(delay_us), DB_STR(error), DB_UINT(id)), NULL, NULL);
}

enum pb_err
repo_jobs_list(struct db *db, struct arena *a, const char *status, size_t max,
    struct job **jobs, size_t *n)
{
	struct db_result r;
	enum pb_err err;

	err = db_query(db, a,
	    "SELECT " JOB_COLUMNS " FROM stripe_jobs WHERE (? IS NULL OR status = ?) "
	    "ORDER BY id DESC LIMIT ?",
	    DB_ARGS(DB_STR(status), DB_STR(status), DB_UINT(max)), &r);
	if (err != PB_OK)
		return err;
	*n = r.nrows;
	*jobs = arena_calloc(a, r.nrows > 0 ? r.nrows : 1, sizeof(**jobs));
	if (*jobs == NULL)
		return PB_ENOMEM;
	for (size_t i = 0; i < r.nrows; i++)
		read_job(&r, i, &(*jobs)[i]);
	return PB_OK;
}

enum pb_err
repo_jobs_retry(struct db *db, uint64_t id)
{
	uint64_t affected = 0;
	enum pb_err err;

	err = db_exec(db,
	    "UPDATE stripe_jobs SET status = 'pending', run_after = NOW(6), attempts = 0, "
	    "lease_until = NULL, leased_by = NULL WHERE id = ? AND status IN ('dead', 'pending')",
	    DB_ARGS(DB_UINT(id)), &affected, NULL);
	if (err == PB_OK && affected == 0)
		err = PB_ENOTFOUND;
	return err;
}

enum pb_err
repo_jobs_drop(struct db *db, uint64_t id)
{
	struct arena a;
	struct db_result r;
	uint64_t affected = 0;
	enum pb_err err;

	err = db_exec(db,
	    "DELETE FROM stripe_jobs WHERE id = ? AND "
	    "NOT (status = 'running' AND lease_until >= NOW(6))",
	    DB_ARGS(DB_UINT(id)), &affected, NULL);
	if (err != PB_OK || affected == 1)
		return err;
	/* Nothing deleted: either there is no such job, or it is leased right now. */
	arena_init(&a, 16 * 1024);
	err = db_query_one(db, &a, "SELECT 1 FROM stripe_jobs WHERE id = ?",
	    DB_ARGS(DB_UINT(id)), &r);
	arena_cleanup(&a);
	return err == PB_OK ? PB_ECONFLICT : err;
}

enum pb_err
repo_jobs_count(struct db *db, uint64_t *pending, uint64_t *dead)
{
	struct arena a;
	struct db_result r;
	enum pb_err err;

	arena_init(&a, 64 * 1024);
	err = db_query_one(db, &a,
	    "SELECT COALESCE(SUM(status = 'pending'), 0), COALESCE(SUM(status = 'dead'), 0) "
	    "FROM stripe_jobs", DB_NOARGS, &r);
	if (err == PB_OK) {
		*pending = (uint64_t)db_int(&r, 0, 0);
		*dead = (uint64_t)db_int(&r, 0, 1);
	}
	arena_cleanup(&a);
	return err;
}
