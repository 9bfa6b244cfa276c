/*
 * The catalog's mirror in Stripe (catalog.h, "the Stripe mirror"): a walk over the active
 * products by id, a page at a time, that makes each one's Stripe Product and Price exist
 * and match. Memory is one page; every Stripe id is stored as soon as Stripe gave it, so
 * an interrupted walk loses nothing and the next run picks up where the state says.
 */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "repo/db.h"
#include "services/app.h"
#include "services/catalog.h"
#include "stripe/client.h"
#include "util/arena.h"
#include "util/log.h"

#define PAGE 50
#define ARENA_MAX ((size_t)4 * 1024 * 1024)
#define KEY_MAX 256			/* Stripe's longest idempotency key is 255 */

/* "paybridge-price-<id>-<amount>-<currency>[-<interval>-<count>][-r-<old price>]" */
static enum pb_err
price_key(const struct product *p, const char *replaced, char key[KEY_MAX])
{
	char terms[48] = "";
	int n;

	if (p->recurring)
		(void)snprintf(terms, sizeof(terms), "-%s-%" PRIu32, p->interval, p->interval_count);
	n = snprintf(key, KEY_MAX, "paybridge-price-%" PRIu64 "-%" PRId64 "-%s%s%s%s", p->id,
	    p->amount, p->currency, terms, replaced != NULL ? "-r-" : "",
	    replaced != NULL ? replaced : "");
	return n < 0 || n >= KEY_MAX ? PB_ETOOBIG : PB_OK;
}

/* Whether Stripe's price sells p's terms, for p's Stripe product, and is still for sale. */
static bool
price_matches(const struct product *p, const struct stripe_price *sp)
{
	if (!sp->active || sp->unit_amount != p->amount || sp->currency == NULL ||
	    strcmp(sp->currency, p->currency) != 0 || sp->product == NULL ||
	    strcmp(sp->product, p->stripe_product_id) != 0)
		return false;
	if (!p->recurring)
		return sp->interval == NULL;
	return sp->interval != NULL && strcmp(sp->interval, p->interval) == 0 &&
	    sp->interval_count == (int64_t)p->interval_count;
}

/* Makes the Stripe product of p and stores it; p->stripe_product_id is then set. */
static enum pb_err
ensure_product(struct app *app, struct arena *a, struct product *p,
    struct catalog_sync_item *it)
{
	char key[64], id[24];
	struct stripe_kv md[2] = { { "product_id", id }, { "slug", p->slug } };
	struct stripe_product_params params = { p->name, p->description, md, 2 };
	struct stripe_product sp;
	struct product now;
	bool stored = false;
	enum pb_err err;

	(void)snprintf(id, sizeof(id), "%" PRIu64, p->id);
	(void)snprintf(key, sizeof(key), "paybridge-product-%" PRIu64, p->id);
	it->step = "create product";
	err = stripe_product_create(app->stripe, &params, key, &sp);
	if (err != PB_OK)
		return err;
	it->step = "store product";
	err = repo_products_set_stripe_product(app->db, p->id, sp.id, &stored);
	if (err == PB_OK && stored) {
		p->stripe_product_id = arena_strdup(a, sp.id);
		err = p->stripe_product_id != NULL ? PB_OK : PB_ENOMEM;
		it->product_created = true;
	} else if (err == PB_OK) {
		/* Another sync stored one first (the same, by the key): use what the row has. */
		err = repo_products_get(app->db, a, p->id, &now);
		if (err == PB_OK && now.stripe_product_id == NULL)
			err = PB_ECONFLICT;
		if (err == PB_OK)
			p->stripe_product_id = now.stripe_product_id;
	}
	stripe_product_free(&sp);
	return err;
}

/* Makes a price for p's terms, replacing p->stripe_price_id (NULL: none), and stores it. */
static enum pb_err
make_price(struct app *app, struct arena *a, const struct product *p,
    struct catalog_sync_item *it)
{
	char key[KEY_MAX], id[24];
	struct stripe_kv md[1] = { { "product_id", id } };
	struct stripe_price_params params = {
		p->stripe_product_id, p->amount, p->currency,
		p->recurring ? p->interval : NULL, p->recurring ? p->interval_count : 0, md, 1,
	};
	struct stripe_price sp;
	bool stored = false;
	enum pb_err err;

	(void)snprintf(id, sizeof(id), "%" PRIu64, p->id);
	err = price_key(p, p->stripe_price_id, key);
	if (err != PB_OK)
		return err;
	it->step = "create price";
	err = stripe_price_create(app->stripe, &params, key, &sp);
	if (err != PB_OK)
		return err;
	it->step = "store price";
	err = repo_products_set_stripe_price(app->db, p, sp.id, &stored);
	/* Changed meanwhile (new terms, or another run's price): the next run sees to it. */
	if (err == PB_OK && !stored)
		err = PB_ECONFLICT;
	if (err == PB_OK) {
		it->stripe_price_id = arena_strdup(a, sp.id);
		it->price_created = true;
		if (it->stripe_price_id == NULL)
			err = PB_ENOMEM;
	}
	stripe_price_free(&sp);
	return err;
}

static enum pb_err
sync_one(struct app *app, struct arena *a, struct product *p, struct catalog_sync_item *it)
{
	struct stripe_price sp;
	bool matches;
	enum pb_err err;

	if (p->stripe_product_id == NULL) {
		err = ensure_product(app, a, p, it);
		if (err != PB_OK)
			return err;
	}
	it->stripe_product_id = p->stripe_product_id;
	it->stripe_price_id = p->stripe_price_id;
	if (p->stripe_price_id != NULL) {
		/* Stored prices are checked: one made by hand or edited in Stripe may differ. */
		it->step = "retrieve price";
		err = stripe_price_retrieve(app->stripe, p->stripe_price_id, &sp);
		if (err != PB_OK && err != PB_ENOTFOUND)
			return err;
		matches = err == PB_OK && price_matches(p, &sp);
		stripe_price_free(&sp);
		if (matches) {
			it->step = NULL;
			return PB_OK;
		}
		it->replaced_price_id = p->stripe_price_id;
	}
	err = make_price(app, a, p, it);
	if (err == PB_OK)
		it->step = NULL;
	return err;
}

enum pb_err
catalog_sync_to_stripe(struct app *app, const struct catalog_sync_opts *o,
    struct catalog_sync_stats *st)
{
	struct catalog_sync_item it;
	struct product *items, p;
	struct arena a;
	uint64_t after = 0;
	size_t n = 0, want;
	int in_a_row = 0;
	bool end = false;
	enum pb_err err = PB_OK;

	memset(st, 0, sizeof(*st));
	if (app->stripe == NULL)
		return PB_ECONFIG;
	arena_init(&a, ARENA_MAX);
	for (;;) {
		arena_reset(&a);
		want = o->max != 0 && o->max - st->seen < PAGE ? (size_t)(o->max - st->seen) : PAGE;
		if (want == 0)
			break;
		err = repo_products_list(app->db, &a, true, after, want, &items, &n);
		if (err != PB_OK)
			break;
		end = n < want;
		if (n == 0)
			break;
		for (size_t i = 0; i < n; i++) {
			/* A copy: the report shows the product as it was read. */
			p = items[i];
			memset(&it, 0, sizeof(it));
			it.product = &items[i];
			it.err = sync_one(app, &a, &p, &it);
			st->seen++;
			st->products_created += it.product_created;
			if (it.price_created && it.replaced_price_id != NULL)
				st->prices_replaced++;
			else if (it.price_created)
				st->prices_created++;
			if (it.err == PB_OK && !it.product_created && !it.price_created)
				st->in_sync++;
			if (it.err != PB_OK) {
				st->failed++;
				log_warnx("catalog sync: product %" PRIu64 ": %s failed: %s", p.id,
				    it.step != NULL ? it.step : "sync", pb_strerror(it.err));
			}
			if (o->report != NULL)
				o->report(o->arg, &it);
			in_a_row = it.err == PB_OK ? 0 : in_a_row + 1;
			if (in_a_row >= CATALOG_SYNC_FAILURES_IN_A_ROW) {
				err = it.err;
				goto out;
			}
		}
		after = items[n - 1].id;
		if (end)
			break;
	}
	/* Complete when the walk reached the end of the active products. */
	st->complete = err == PB_OK && end;
out:
	arena_cleanup(&a);
	return err;
}
