#include "config.h"

#include <string.h>

#include "repo/db.h"
#include "repo/products.h"

#define PRODUCT_COLUMNS \
	"id, slug, name, description, amount, currency, kind = 'recurring', " \
	"recurring_interval, recurring_interval_count, stripe_product_id, stripe_price_id, " \
	"active, created_at, updated_at"

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

enum pb_err
repo_products_get(struct db *db, struct arena *a, uint64_t id, struct product *out)
{
	struct db_result r;
	enum pb_err err;

	memset(out, 0, sizeof(*out));
	err = db_query_one(db, a, "SELECT " PRODUCT_COLUMNS " FROM products WHERE id = ?",
	    DB_ARGS(DB_UINT(id)), &r);
	if (err == PB_OK)
		read_product(&r, 0, out);
	return err;
}
