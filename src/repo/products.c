/*
 * The products table (see products.h). kind is an ENUM written from the recurring flag;
 * the CHECK constraints of sql/0001_init.up.sql (amount, currency, kind and interval
 * together) stay the last guard behind services/catalog's rules.
 */
#include "config.h"

#include <string.h>

#include "repo/db.h"
#include "repo/products.h"
#include "util/arena.h"

#define PRODUCT_COLUMNS \
	"id, slug, name, description, amount, currency, kind = 'recurring', " \
	"recurring_interval, recurring_interval_count, stripe_product_id, stripe_price_id, " \
	"active, created_at, updated_at"

static const char sql_get[] = "SELECT " PRODUCT_COLUMNS " FROM products WHERE id = ?";
static const char sql_lock[] =
    "SELECT " PRODUCT_COLUMNS " FROM products WHERE id = ? FOR UPDATE";
static const char sql_get_by_slug[] =
    "SELECT " PRODUCT_COLUMNS " FROM products WHERE slug = ?";
static const char sql_insert[] =
    "INSERT INTO products (slug, name, description, amount, currency, kind, "
    "recurring_interval, recurring_interval_count, stripe_product_id, stripe_price_id) "
    "VALUES (?, ?, ?, ?, ?, IF(?, 'recurring', 'one_time'), ?, ?, ?, ?)";
/* Each column keeps its value unless its parameter (or its set_ flag) says otherwise. */
static const char sql_update[] =
    "UPDATE products SET slug = COALESCE(?, slug), name = COALESCE(?, name), "
    "description = IF(? IS NULL, description, NULLIF(?, '')), "
    "currency = COALESCE(?, currency), amount = IF(?, ?, amount), "
    "kind = IF(?, IF(?, 'recurring', 'one_time'), kind), "
    "recurring_interval = IF(?, ?, recurring_interval), "
    "recurring_interval_count = IF(?, ?, recurring_interval_count), "
    "active = IF(?, ?, active), "
    "stripe_product_id = IF(?, ?, stripe_product_id), "
    "stripe_price_id = IF(?, ?, stripe_price_id) WHERE id = ?";
static const char sql_archive[] = "UPDATE products SET active = FALSE WHERE id = ?";
static const char sql_list_all[] =
    "SELECT " PRODUCT_COLUMNS " FROM products WHERE id > ? ORDER BY id LIMIT ?";
static const char sql_list_active[] =
    "SELECT " PRODUCT_COLUMNS " FROM products WHERE id > ? AND active ORDER BY id LIMIT ?";
static const char sql_set_stripe_product[] =
    "UPDATE products SET stripe_product_id = ? WHERE id = ? AND stripe_product_id IS NULL";
static const char sql_set_stripe_price[] =
    "UPDATE products SET stripe_price_id = ? WHERE id = ? AND stripe_price_id <=> ? "
    "AND amount = ? AND currency = ? AND kind = IF(?, 'recurring', 'one_time') "
    "AND recurring_interval <=> ? AND COALESCE(recurring_interval_count, 0) = ?";

static void
read_product(const struct db_result *r, size_t row, struct product *p)
{
	p->id = db_uint(r, row, 0);
	p->slug = db_str(r, row, 1);
	p->name = db_str(r, row, 2);
	p->description = db_str(r, row, 3);
	p->amount = db_int(r, row, 4);
	p->currency = db_str(r, row, 5);
	p->recurring = db_bool(r, row, 6);
	p->interval = db_str(r, row, 7);
	p->interval_count = (uint32_t)db_uint(r, row, 8);
	p->stripe_product_id = db_str(r, row, 9);
	p->stripe_price_id = db_str(r, row, 10);
	p->active = db_bool(r, row, 11);
	p->created_at = db_time(r, row, 12);
	p->updated_at = db_time(r, row, 13);
}

static enum pb_err
get_one(struct db *db, struct arena *a, const char *sql, struct db_arg arg,
    struct product *out)
{
	struct db_result r;
	enum pb_err err;

	memset(out, 0, sizeof(*out));
	err = db_query_one(db, a, sql, &arg, 1, &r);
	if (err == PB_OK)
		read_product(&r, 0, out);
	return err;
}

enum pb_err
repo_products_get(struct db *db, struct arena *a, uint64_t id, struct product *out)
{
	return get_one(db, a, sql_get, DB_UINT(id), out);
}

enum pb_err
repo_products_lock(struct db *db, struct arena *a, uint64_t id, struct product *out)
{
	return get_one(db, a, sql_lock, DB_UINT(id), out);
}

enum pb_err
repo_products_get_by_slug(struct db *db, struct arena *a, const char *slug,
    struct product *out)
{
	return get_one(db, a, sql_get_by_slug, DB_STR(slug), out);
}

/* The interval count as stored: NULL for a one-time product. */
static struct db_arg
count_arg(bool recurring, uint32_t count)
{
	return recurring ? DB_UINT(count) : DB_NULL;
}

enum pb_err
repo_products_insert(struct db *db, const struct product *p, uint64_t *id)
{
	uint64_t last = 0;
	enum pb_err err;

	*id = 0;
	err = db_exec(db, sql_insert, DB_ARGS(DB_STR(p->slug), DB_STR(p->name),
	    DB_STR(p->description), DB_INT(p->amount), DB_STR(p->currency),
	    DB_BOOL(p->recurring), DB_STR(p->recurring ? p->interval : NULL),
	    count_arg(p->recurring, p->interval_count), DB_STR(p->stripe_product_id),
	    DB_STR(p->stripe_price_id)), NULL, &last);
	if (err == PB_OK)
		*id = last;
	return err;
}

enum pb_err
repo_products_update(struct db *db, uint64_t id, const struct product_changes *c)
{
	bool rec = c->set_kind && c->recurring;

	return db_exec_one(db, sql_update, DB_ARGS(DB_STR(c->slug), DB_STR(c->name),
	    DB_STR(c->description), DB_STR(c->description), DB_STR(c->currency),
	    DB_BOOL(c->set_amount), DB_INT(c->amount),
	    DB_BOOL(c->set_kind), DB_BOOL(c->recurring),
	    DB_BOOL(c->set_kind), DB_STR(rec ? c->interval : NULL),
	    DB_BOOL(c->set_kind), count_arg(rec, c->interval_count),
	    DB_BOOL(c->set_active), DB_BOOL(c->active),
	    DB_BOOL(c->set_stripe_product), DB_STR(c->stripe_product_id),
	    DB_BOOL(c->set_stripe_price), DB_STR(c->stripe_price_id), DB_UINT(id)));
}

enum pb_err
repo_products_archive(struct db *db, uint64_t id)
{
	return db_exec_one(db, sql_archive, DB_ARGS(DB_UINT(id)));
}

enum pb_err
repo_products_list(struct db *db, struct arena *a, bool active_only, uint64_t after,
    size_t max, struct product **items, size_t *n)
{
	struct db_result r;
	struct product *list;
	enum pb_err err;

	*items = NULL;
	*n = 0;
	if (max == 0)
		return PB_OK;
	err = db_query(db, a, active_only ? sql_list_active : sql_list_all,
	    DB_ARGS(DB_UINT(after), DB_UINT(max)), &r);
	if (err != PB_OK || r.nrows == 0)
		return err;
	list = arena_calloc(a, r.nrows, sizeof(*list));
	if (list == NULL)
		return PB_ENOMEM;
	for (size_t i = 0; i < r.nrows; i++)
		read_product(&r, i, &list[i]);
	*items = list;
	*n = r.nrows;
	return PB_OK;
}

/* A compare-and-set UPDATE: *stored says whether its WHERE still matched. */
static enum pb_err
set_if(struct db *db, const char *sql, const struct db_arg *args, size_t nargs, bool *stored)
{
	enum pb_err err = db_exec_one(db, sql, args, nargs);

	*stored = err == PB_OK;
	return err == PB_ENOTFOUND ? PB_OK : err;
}

enum pb_err
repo_products_set_stripe_product(struct db *db, uint64_t id, const char *stripe_product_id,
    bool *stored)
{
	return set_if(db, sql_set_stripe_product, DB_ARGS(DB_STR(stripe_product_id),
	    DB_UINT(id)), stored);
}

enum pb_err
repo_products_set_stripe_price(struct db *db, const struct product *p, const char *price_id,
    bool *stored)
{
	return set_if(db, sql_set_stripe_price, DB_ARGS(DB_STR(price_id), DB_UINT(p->id),
	    DB_STR(p->stripe_price_id), DB_INT(p->amount), DB_STR(p->currency),
	    DB_BOOL(p->recurring), DB_STR(p->recurring ? p->interval : NULL),
	    DB_UINT(p->recurring ? p->interval_count : 0)), stored);
}
