/*
 * The users table (see users.h). Every email comparison goes through one SQL expression,
 * LOWER(TRIM(? COLLATE utf8mb4_bin)), so that the value inserted into email_normalized,
 * the CHECK constraint that guards it and every lookup lower-case with the same
 * collation's rules: MariaDB's case tables differ between collations beyond ASCII, and C
 * would differ again.
 */
#include "config.h"

#include <string.h>

#include "repo/db.h"
#include "repo/users.h"
#include "util/arena.h"

/* Column order read by fill(). */
#define USER_COLUMNS \
	"id, name, email, password_hash, role, is_email_verified, token_version, " \
	"stripe_customer_id, created_at, deleted_at IS NOT NULL"

/* The normalised form of a parameter, exactly as the CHECK constraint computes it. */
#define NORMALIZED "LOWER(TRIM(? COLLATE utf8mb4_bin))"

static const char sql_insert[] =
    "INSERT INTO users (name, email, email_normalized, password_hash) "
    "VALUES (?, ?, " NORMALIZED ", ?)";
static const char sql_get[] =
    "SELECT " USER_COLUMNS " FROM users WHERE id = ? AND deleted_at IS NULL";
static const char sql_get_any[] =
    "SELECT " USER_COLUMNS " FROM users WHERE id = ?";
static const char sql_get_by_email[] =
    "SELECT " USER_COLUMNS " FROM users WHERE email_normalized = " NORMALIZED;
static const char sql_set_customer[] =
    "UPDATE users SET stripe_customer_id = ?, stripe_customer_created_at = CURRENT_TIMESTAMP(6) "
    "WHERE id = ? AND stripe_customer_id IS NULL AND deleted_at IS NULL";
static const char sql_customer_of[] =
    "SELECT stripe_customer_id FROM users WHERE id = ?";
static const char sql_set_password[] =
    "UPDATE users SET password_hash = ? WHERE id = ? AND deleted_at IS NULL";
static const char sql_without_customer[] =
    "SELECT id FROM users WHERE id > ? AND stripe_customer_id IS NULL AND deleted_at IS NULL "
    "ORDER BY id LIMIT ?";
static const char sql_count_without_customer[] =
    "SELECT COUNT(*) FROM users WHERE stripe_customer_id IS NULL AND deleted_at IS NULL";

/* Copies row 0 of r into out; the strings stay in the arena r was read into. */
static void
fill(const struct db_result *r, struct user *out)
{
	memset(out, 0, sizeof(*out));
	out->id = db_uint(r, 0, 0);
	out->name = db_str(r, 0, 1);
	out->email = db_str(r, 0, 2);
	out->password_hash = db_str(r, 0, 3);
	out->role = db_str(r, 0, 4);
	out->is_email_verified = db_bool(r, 0, 5);
	out->token_version = (uint32_t)db_uint(r, 0, 6);
	out->stripe_customer_id = db_str(r, 0, 7);
	out->created_at = db_time(r, 0, 8);
	out->deleted = db_bool(r, 0, 9);
}

static enum pb_err
get_one(struct db *db, struct arena *a, const char *sql, struct db_arg arg, struct user *out)
{
	struct db_result r;
	enum pb_err err;

	memset(out, 0, sizeof(*out));
	err = db_query_one(db, a, sql, &arg, 1, &r);
	if (err != PB_OK)
		return err;
	fill(&r, out);
	return PB_OK;
}

enum pb_err
repo_users_insert(struct db *db, const char *name, const char *email,
    const char *password_hash, uint64_t *id)
{
	uint64_t last = 0;
	enum pb_err err;

	*id = 0;
	err = db_exec(db, sql_insert,
	    DB_ARGS(DB_STR(name), DB_STR(email), DB_STR(email), DB_STR(password_hash)), NULL,
	    &last);
	if (err != PB_OK)
		return err;
	*id = last;
	return PB_OK;
}

enum pb_err
repo_users_get(struct db *db, struct arena *a, uint64_t id, struct user *out)
{
	return get_one(db, a, sql_get, DB_UINT(id), out);
}

enum pb_err
repo_users_get_any(struct db *db, struct arena *a, uint64_t id, struct user *out)
{
	return get_one(db, a, sql_get_any, DB_UINT(id), out);
}

enum pb_err
repo_users_get_by_email(struct db *db, struct arena *a, const char *email, struct user *out)
{
	/* A tombstone's email_normalized is NULL, so it never matches. */
	return get_one(db, a, sql_get_by_email, DB_STR(email), out);
}

enum pb_err
repo_users_set_customer(struct db *db, struct arena *a, uint64_t id, const char *customer_id,
    bool *stored, const char **out_id)
{
	struct db_result r;
	uint64_t affected = 0;
	enum pb_err err;

	*stored = false;
	*out_id = NULL;
	err = db_exec(db, sql_set_customer, DB_ARGS(DB_STR(customer_id), DB_UINT(id)), &affected,
	    NULL);
	if (err != PB_OK)
		return err;
	if (affected == 1) {
		*stored = true;
		*out_id = customer_id;
		return PB_OK;
	}
	/* Lost the race, or the user is gone: report what the row holds, if anything. */
	err = db_query(db, a, sql_customer_of, DB_ARGS(DB_UINT(id)), &r);
	if (err != PB_OK)
		return err;
	*out_id = db_str(&r, 0, 0);
	return PB_OK;
}

enum pb_err
repo_users_set_password_hash(struct db *db, uint64_t id, const char *hash)
{
	uint64_t affected = 0;
	enum pb_err err;

	err = db_exec(db, sql_set_password, DB_ARGS(DB_STR(hash), DB_UINT(id)), &affected, NULL);
	if (err != PB_OK)
		return err;
	return affected == 1 ? PB_OK : PB_ENOTFOUND;
}

enum pb_err
repo_users_without_customer(struct db *db, struct arena *a, uint64_t after, size_t max,
    uint64_t **ids, size_t *n)
{
	struct db_result r;
	uint64_t *list;
	enum pb_err err;

	*ids = NULL;
	*n = 0;
	if (max == 0)
		return PB_OK;
	err = db_query(db, a, sql_without_customer, DB_ARGS(DB_UINT(after), DB_UINT(max)), &r);
	if (err != PB_OK)
		return err;
	if (r.nrows == 0)
		return PB_OK;
	list = arena_calloc(a, r.nrows, sizeof(*list));
	if (list == NULL)
		return PB_ENOMEM;
	for (size_t i = 0; i < r.nrows; i++)
		list[i] = db_uint(&r, i, 0);
	*ids = list;
	*n = r.nrows;
	return PB_OK;
}

enum pb_err
repo_users_count_without_customer(struct db *db, uint64_t *n)
{
	struct arena a;
	struct db_result r;
	enum pb_err err;

	*n = 0;
	/* One number: a small private arena keeps the signature free of one. */
	arena_init(&a, (size_t)64 * 1024);
	err = db_query_one(db, &a, sql_count_without_customer, DB_NOARGS, &r);
	if (err == PB_OK)
		*n = (uint64_t)db_int(&r, 0, 0);
	arena_cleanup(&a);
	return err;
}
