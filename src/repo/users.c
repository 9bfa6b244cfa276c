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
	"stripe_customer_id, created_at, deleted_at IS NOT NULL, profile_version, " \
	"customer_generation, last_pushed_name, last_pushed_email, last_pushed_at, " \
	"stripe_customer_event_created"

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
static const char sql_lock[] =
    "SELECT " USER_COLUMNS " FROM users WHERE id = ? FOR UPDATE";
static const char sql_get_by_customer[] =
    "SELECT " USER_COLUMNS " FROM users WHERE stripe_customer_id = ?";
static const char sql_lock_by_customer[] =
    "SELECT " USER_COLUMNS " FROM users WHERE stripe_customer_id = ? FOR UPDATE";
/* A NULL parameter leaves its column as it is; a new email is no longer verified. */
/*
 * Sets name and email, each unless its parameter is NULL (parameters: email, email, name,
 * email, email), the verification first since it compares with the old email.
 */
#define SET_PROFILE \
    "UPDATE users SET is_email_verified = IF(? IS NULL OR email = ?, is_email_verified, " \
    "FALSE), name = COALESCE(?, name), email = COALESCE(?, email), " \
    "email_normalized = COALESCE(" NORMALIZED ", email_normalized), "
#define SET_PROFILE_ARGS(name, email) \
    DB_STR(email), DB_STR(email), DB_STR(name), DB_STR(email), DB_STR(email)
static const char sql_set_profile[] = SET_PROFILE
    "profile_version = profile_version + 1 WHERE id = ? AND deleted_at IS NULL";
static const char sql_apply_stripe[] = SET_PROFILE
    "last_pushed_name = COALESCE(?, name), last_pushed_email = COALESCE(?, email), "
    "last_pushed_at = NOW(6), "
    "stripe_customer_event_created = GREATEST(stripe_customer_event_created, ?) "
    "WHERE id = ? AND deleted_at IS NULL";
static const char sql_saw_event[] =
    "UPDATE users SET stripe_customer_event_created = "
    "GREATEST(stripe_customer_event_created, ?) WHERE id = ?";
static const char sql_set_pushed[] =
    "UPDATE users SET last_pushed_name = ?, last_pushed_email = ?, "
    "last_pushed_at = IF(? IS NULL, NULL, NOW(6)) WHERE id = ? AND deleted_at IS NULL";
static const char sql_forget_customer[] =
    "UPDATE users SET stripe_customer_id = NULL, stripe_customer_created_at = NULL, "
    "customer_generation = customer_generation + 1, last_pushed_name = NULL, "
    "last_pushed_email = NULL, last_pushed_at = NULL "
    "WHERE id = ? AND stripe_customer_id = ? AND deleted_at IS NULL";
/* No PHC string is empty-salted "!": no password verifies against it. */
static const char sql_close[] =
    "UPDATE users SET name = '', email = '', email_normalized = NULL, password_hash = '!', "
    "is_email_verified = FALSE, token_version = token_version + 1, "
    "last_pushed_name = NULL, last_pushed_email = NULL, deleted_at = CURRENT_TIMESTAMP(6) "
    "WHERE id = ? AND deleted_at IS NULL";
static const char sql_set_password_versioned[] =
    "UPDATE users SET password_hash = ?, token_version = token_version + 1 "
    "WHERE id = ? AND token_version = ? AND deleted_at IS NULL";
static const char sql_list[] =
    "SELECT " USER_COLUMNS " FROM users WHERE id > ? AND deleted_at IS NULL "
    "ORDER BY id LIMIT ?";
static const char sql_set_customer[] =
    "UPDATE users SET stripe_customer_id = ?, stripe_customer_created_at = CURRENT_TIMESTAMP(6), "
    "last_pushed_name = ?, last_pushed_email = ? "
    "WHERE id = ? AND stripe_customer_id IS NULL AND deleted_at IS NULL";
static const char sql_customer_of[] =
    "SELECT stripe_customer_id FROM users WHERE id = ?";
static const char sql_set_password[] =
    "UPDATE users SET password_hash = ? WHERE id = ? AND deleted_at IS NULL";
static const char sql_without_customer[] =
    "SELECT id FROM users WHERE id > ? AND stripe_customer_id IS NULL AND deleted_at IS NULL "
    "ORDER BY id LIMIT ?";
static const char sql_count_live[] =
    "SELECT COUNT(*) FROM users WHERE deleted_at IS NULL";
static const char sql_count_without_customer[] =
    "SELECT COUNT(*) FROM users WHERE stripe_customer_id IS NULL AND deleted_at IS NULL";

/* Copies row i of r into out; the strings stay in the arena r was read into. */
static void
fill(const struct db_result *r, size_t i, struct user *out)
{
	memset(out, 0, sizeof(*out));
	out->id = db_uint(r, i, 0);
	out->name = db_str(r, i, 1);
	out->email = db_str(r, i, 2);
	out->password_hash = db_str(r, i, 3);
	out->role = db_str(r, i, 4);
	out->is_email_verified = db_bool(r, i, 5);
	out->token_version = (uint32_t)db_uint(r, i, 6);
	out->stripe_customer_id = db_str(r, i, 7);
	out->created_at = db_time(r, i, 8);
	out->deleted = db_bool(r, i, 9);
	out->profile_version = (uint32_t)db_uint(r, i, 10);
	out->customer_generation = (uint32_t)db_uint(r, i, 11);
	out->last_pushed_name = db_str(r, i, 12);
	out->last_pushed_email = db_str(r, i, 13);
	out->last_pushed_at = db_isnull(r, i, 14) ? 0 : db_time(r, i, 14);
	out->customer_event_created = db_int(r, i, 15);
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
	fill(&r, 0, out);
	return PB_OK;
}

/* An UPDATE of one row by id: PB_ENOTFOUND when its WHERE matched none. */
static enum pb_err
update_one(struct db *db, const char *sql, const struct db_arg *args, size_t nargs)
{
	return db_exec_one(db, sql, args, nargs);
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
    const char *name, const char *email, bool *stored, const char **out_id)
{
	struct db_result r;
	uint64_t affected = 0;
	enum pb_err err;

	*stored = false;
	*out_id = NULL;
	err = db_exec(db, sql_set_customer, DB_ARGS(DB_STR(customer_id), DB_STR(name),
	    DB_STR(email), DB_UINT(id)), &affected, NULL);
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
	return update_one(db, sql_set_password, DB_ARGS(DB_STR(hash), DB_UINT(id)));
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

/* One number: a small private arena keeps the callers' signatures free of one. */
static enum pb_err
count(struct db *db, const char *sql, uint64_t *n)
{
	struct arena a;
	struct db_result r;
	enum pb_err err;

	*n = 0;
	arena_init(&a, (size_t)64 * 1024);
	err = db_query_one(db, &a, sql, DB_NOARGS, &r);
	if (err == PB_OK)
		*n = (uint64_t)db_int(&r, 0, 0);
	arena_cleanup(&a);
	return err;
}

enum pb_err
repo_users_count_without_customer(struct db *db, uint64_t *n)
{
	return count(db, sql_count_without_customer, n);
}

enum pb_err
repo_users_count_live(struct db *db, uint64_t *n)
{
	return count(db, sql_count_live, n);
}

enum pb_err
repo_users_lock(struct db *db, struct arena *a, uint64_t id, struct user *out)
{
	return get_one(db, a, sql_lock, DB_UINT(id), out);
}

enum pb_err
repo_users_get_by_customer(struct db *db, struct arena *a, const char *customer_id,
    struct user *out)
{
	return get_one(db, a, sql_get_by_customer, DB_STR(customer_id), out);
}

enum pb_err
repo_users_lock_by_customer(struct db *db, struct arena *a, const char *customer_id,
    struct user *out)
{
	return get_one(db, a, sql_lock_by_customer, DB_STR(customer_id), out);
}

enum pb_err
repo_users_set_profile(struct db *db, uint64_t id, const char *name, const char *email)
{
	return update_one(db, sql_set_profile, DB_ARGS(SET_PROFILE_ARGS(name, email),
	    DB_UINT(id)));
}

enum pb_err
repo_users_apply_stripe_profile(struct db *db, uint64_t id, const char *name,
    const char *email, int64_t event_created)
{
	return update_one(db, sql_apply_stripe, DB_ARGS(SET_PROFILE_ARGS(name, email),
	    DB_STR(name), DB_STR(email), DB_INT(event_created), DB_UINT(id)));
}

enum pb_err
repo_users_saw_customer_event(struct db *db, uint64_t id, int64_t event_created)
{
	return db_exec(db, sql_saw_event, DB_ARGS(DB_INT(event_created), DB_UINT(id)), NULL,
	    NULL);
}

enum pb_err
repo_users_set_pushed(struct db *db, uint64_t id, const char *name, const char *email)
{
	return update_one(db, sql_set_pushed, DB_ARGS(DB_STR(name), DB_STR(email),
	    DB_STR(name), DB_UINT(id)));
}

enum pb_err
repo_users_forget_customer(struct db *db, uint64_t id, const char *customer_id,
    bool *forgotten)
{
	enum pb_err err;

	*forgotten = false;
	err = update_one(db, sql_forget_customer, DB_ARGS(DB_UINT(id), DB_STR(customer_id)));
	if (err == PB_ENOTFOUND)
		return PB_OK;
	*forgotten = err == PB_OK;
	return err;
}

enum pb_err
repo_users_close(struct db *db, uint64_t id)
{
	return update_one(db, sql_close, DB_ARGS(DB_UINT(id)));
}

enum pb_err
repo_users_set_password(struct db *db, uint64_t id, const char *hash, uint32_t expect_version)
{
	enum pb_err err;

	err = update_one(db, sql_set_password_versioned, DB_ARGS(DB_STR(hash), DB_UINT(id),
	    DB_UINT(expect_version)));
	return err == PB_ENOTFOUND ? PB_ECONFLICT : err;
}

enum pb_err
repo_users_list(struct db *db, struct arena *a, uint64_t after, size_t max,
    struct user **users, size_t *n)
{
	struct db_result r;
	struct user *list;
	enum pb_err err;

	*users = NULL;
	*n = 0;
	if (max == 0)
		return PB_OK;
	err = db_query(db, a, sql_list, DB_ARGS(DB_UINT(after), DB_UINT(max)), &r);
	if (err != PB_OK || r.nrows == 0)
		return err;
	list = arena_calloc(a, r.nrows, sizeof(*list));
	if (list == NULL)
		return PB_ENOMEM;
	for (size_t i = 0; i < r.nrows; i++)
		fill(&r, i, &list[i]);
	*users = list;
	*n = r.nrows;
	return PB_OK;
}
