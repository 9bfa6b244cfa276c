/*
 * The catalog's rules (issue 9): what a valid product is, the public view of it, and its
 * mirror in Stripe (a Product and a Price per product of ours).
 *
 * A product: slug [a-z0-9-]{1,100} (unique), name 1 to 200 characters, an optional
 * description, amount in minor units from 0 to CATALOG_AMOUNT_MAX, currency three
 * lower-case letters (ISO 4217), and either one-time (no interval) or recurring (interval
 * day, week, month or year, interval count from 1 up to three years' worth, Stripe's
 * limit). An amount of 0 is a valid catalog entry (a free plan), but Stripe refuses to
 * charge less than CATALOG_STRIPE_MIN_CHARGE (50 cents or the like): that rule belongs
 * to the payment paths, which know the quantity and the currency.
 *
 * Stripe prices are immutable, so a change of amount, currency or interval makes the
 * stored Stripe price stale: catalog_update clears stripe_price_id in the same statement
 * (no payment path can use a price for other terms), and catalog_sync_to_stripe makes a
 * new one. The sync also retrieves each stored price and replaces one whose terms differ
 * from ours or that was archived or deleted in Stripe. Old prices are left as they are in
 * Stripe (nothing refers to them here).
 *
 * Idempotency keys derive from our ids and the terms: "paybridge-product-<id>" and
 * "paybridge-price-<id>-<amount>-<currency>[-<interval>-<count>][-r-<old price>]", so a
 * sync interrupted between Stripe's answer and our write asks for the same objects when
 * run again (within Stripe's 24 h key window). Every write of a Stripe id is a
 * compare-and-set against what the sync read, so a product changed meanwhile never gets a
 * price made for its old terms.
 */
#ifndef PB_SERVICES_CATALOG_H
#define PB_SERVICES_CATALOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>

#include "repo/products.h"
#include "util/err.h"

struct app;
struct arena;

#define CATALOG_SLUG_MAX 100		/* bytes of [a-z0-9-] */
#define CATALOG_NAME_MAX 200		/* characters */
#define CATALOG_DESCRIPTION_MAX 4000	/* bytes */
#define CATALOG_AMOUNT_MAX 99999999LL	/* Stripe's largest unit amount (8 digits) */
#define CATALOG_STRIPE_MIN_CHARGE 50	/* minor units; checked when paying, not here */
#define CATALOG_STRIPE_ID_MAX 255	/* the columns' width */
#define CATALOG_PAGE_DEFAULT 20
#define CATALOG_PAGE_MAX 100

/* One message per invalid field (static strings), NULL for a valid one. */
struct catalog_problems {
	const char *slug;
	const char *name;
	const char *description;
	const char *amount;
	const char *currency;
	const char *interval;
	const char *interval_count;
	const char *stripe_product_id;
	const char *stripe_price_id;
};

/* The single-field rules: a message, or NULL when valid. s may be NULL (missing). */
const char *catalog_check_slug(const char *s);
const char *catalog_check_name(const char *s);
const char *catalog_check_description(const char *s);
const char *catalog_check_amount(int64_t amount);
const char *catalog_check_currency(const char *s);
/* prefix: "prod_" or "price_"; NULL s is valid (none). */
const char *catalog_check_stripe_id(const char *s, const char *prefix);

/*
 * Checks every field of p (id, active and times are not looked at) and writes a message
 * for each invalid one into *pr (zeroed first). Returns true when p is a valid product.
 * Pure: no I/O.
 */
bool catalog_check(const struct product *p, struct catalog_problems *pr);

/*
 * Adds p after catalog_check. PB_OK with *id; PB_EFIELDS with *pr filled; PB_ECONFLICT
 * with *conflict naming what is taken ("slug", or "Stripe id" for a Stripe product or
 * price that is another product's).
 */
enum pb_err catalog_create(struct app *app, const struct product *p,
    struct catalog_problems *pr, const char **conflict, uint64_t *id);

/*
 * Applies c to product id in one transaction (the row locked): the changes are merged
 * into the row, and the merged product must pass catalog_check. With c->set_kind, a NULL
 * c->interval keeps the current interval and a 0 c->interval_count keeps the current
 * count (1 for a product turning recurring); a one-time product drops both. A change of
 * amount, currency or interval clears stripe_price_id unless c sets one. *out receives
 * the product as stored (in a). Errors as catalog_create, and PB_ENOTFOUND.
 */
enum pb_err catalog_update(struct app *app, struct arena *a, uint64_t id,
    const struct product_changes *c, struct catalog_problems *pr, const char **conflict,
    struct product *out);

/* Archives product id (a no-op when archived already). PB_ENOTFOUND when none. */
enum pb_err catalog_archive(struct app *app, uint64_t id);

/*
 * The product that ref names: an id when ref is a number and such a product exists,
 * else a slug (a slug may be all digits). PB_ENOTFOUND when neither.
 */
enum pb_err catalog_find(struct app *app, struct arena *a, const char *ref,
    struct product *out);

/*
 * Up to limit (1 to CATALOG_PAGE_MAX) products with id > after, in id order, active ones
 * only when active_only; *has_more says whether more follow. Items in a.
 */
enum pb_err catalog_list(struct app *app, struct arena *a, bool active_only, uint64_t after,
    size_t limit, struct product **items, size_t *n, bool *has_more);

/* The active product id: PB_ENOTFOUND for an unknown or archived one. */
enum pb_err catalog_get_active(struct app *app, struct arena *a, uint64_t id,
    struct product *out);

/*
 * A new JSON object for p (the caller puts it), NULL when out of memory:
 * {id, slug, name, description, amount, currency, type: "one_time"|"recurring",
 * interval, intervalCount, active}, and with internal (operators only) also
 * stripeProductId, stripePriceId, createdAt and updatedAt.
 */
struct json_object *catalog_product_json_new(const struct product *p, bool internal);

/* ---- the Stripe mirror --------------------------------------------------------------- */

/* What the sync did with one product. Strings borrowed for the report call. */
struct catalog_sync_item {
	const struct product *product;	/* as read, before the sync */
	const char *stripe_product_id;	/* after the sync (NULL: still none) */
	const char *stripe_price_id;
	const char *replaced_price_id;	/* the stale price replaced, or NULL */
	bool product_created;
	bool price_created;
	enum pb_err err;		/* PB_OK, or why this product is not in sync */
	const char *step;		/* what failed: "create product", ... */
};

struct catalog_sync_stats {
	uint64_t seen;			/* active products looked at */
	uint64_t products_created;
	uint64_t prices_created;	/* for products that had none */
	uint64_t prices_replaced;	/* stale ones */
	uint64_t in_sync;		/* nothing to do */
	uint64_t failed;
	bool complete;			/* every active product was looked at */
};

struct catalog_sync_opts {
	uint64_t max;			/* products looked at in this run at most; 0: all */
	void (*report)(void *arg, const struct catalog_sync_item *item);	/* may be NULL */
	void *arg;
};

/* Stops a sync after this many failures in a row (Stripe or the database is down). */
#define CATALOG_SYNC_FAILURES_IN_A_ROW 5

/*
 * Makes every active product's Stripe Product and Price exist and match (see the top of
 * this file), walking products by id in pages, each product reported through o->report.
 * A product that fails is reported and counted and the walk goes on; it stops after
 * CATALOG_SYNC_FAILURES_IN_A_ROW in a row, or after o->max products. Returns PB_OK when
 * the walk ran (st->failed may still be non-zero), or the error that stopped it (st
 * filled as far as it got). Needs app->stripe.
 */
enum pb_err catalog_sync_to_stripe(struct app *app, const struct catalog_sync_opts *o,
    struct catalog_sync_stats *st);

#endif
