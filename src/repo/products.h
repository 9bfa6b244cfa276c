/*
 * The catalog: what can be bought, at what price. Amounts live here and nowhere else:
 * a payment's amount is a product's unit amount times a quantity, decided on the server.
 * Archived products (active false) stay, because orders and intents point at them.
 *
 * Only SQL lives here; the rules (what a valid product is, when a Stripe price goes
 * stale) are services/catalog.h's. Lists walk by id (keyset pagination): a page is the
 * products with id > after, in id order, so a walk never skips or repeats a row whatever
 * is inserted meanwhile.
 */
#ifndef PB_REPO_PRODUCTS_H
#define PB_REPO_PRODUCTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/err.h"

struct arena;
struct db;

/* A products row. Strings in the arena (or borrowed, for an insert); NULL when SQL NULL. */
struct product {
	uint64_t id;
	const char *slug;
	const char *name;
	const char *description;
	int64_t amount;			/* unit amount, minor units */
	const char *currency;		/* ISO 4217, lower case */
	bool recurring;			/* kind: one_time or recurring */
	const char *interval;		/* day, week, month, year; NULL when one-time */
	uint32_t interval_count;	/* 0 when one-time */
	const char *stripe_product_id;
	const char *stripe_price_id;
	bool active;
	int64_t created_at;		/* microseconds since the epoch, UTC */
	int64_t updated_at;
};

/* The product with this id, archived or not. PB_ENOTFOUND when none. */
enum pb_err repo_products_get(struct db *db, struct arena *a, uint64_t id, struct product *out);

/* As repo_products_get, locking the row (FOR UPDATE) until the transaction ends. */
enum pb_err repo_products_lock(struct db *db, struct arena *a, uint64_t id, struct product *out);

/* The product with this slug, archived or not. PB_ENOTFOUND when none. */
enum pb_err repo_products_get_by_slug(struct db *db, struct arena *a, const char *slug,
    struct product *out);

/*
 * Inserts p (its id, active flag and times are ignored: a new product is active) and
 * stores the new id in *id. Borrows p. PB_ECONFLICT when the slug or a Stripe id is
 * another product's; a row the table's CHECKs refuse is PB_EDB (validate first).
 */
enum pb_err repo_products_insert(struct db *db, const struct product *p, uint64_t *id);

/*
 * A partial update: each member left NULL (or its set_ flag false) keeps the column as
 * it is. description "" clears the description; set_stripe_* with a NULL id clears it.
 * Borrowed.
 */
struct product_changes {
	const char *slug;
	const char *name;
	const char *description;
	const char *currency;
	bool set_amount;
	int64_t amount;
	bool set_kind;			/* recurring, interval and interval_count together */
	bool recurring;
	const char *interval;
	uint32_t interval_count;
	bool set_active;
	bool active;
	bool set_stripe_product;
	const char *stripe_product_id;
	bool set_stripe_price;
	const char *stripe_price_id;
};

/* Applies c to product id. PB_ENOTFOUND when none; PB_ECONFLICT as for an insert. */
enum pb_err repo_products_update(struct db *db, uint64_t id, const struct product_changes *c);

/* Archives product id (active false; a no-op when it is already). PB_ENOTFOUND when none. */
enum pb_err repo_products_archive(struct db *db, uint64_t id);

/*
 * Up to max products with id > after, in id order, active ones only when active_only:
 * *items (in the arena, NULL when none) and *n.
 */
enum pb_err repo_products_list(struct db *db, struct arena *a, bool active_only,
    uint64_t after, size_t max, struct product **items, size_t *n);

/*
 * Records stripe_product_id as product id's Stripe product only while it has none
 * (compare-and-set). *stored says whether this call stored it; PB_ECONFLICT when another
 * product has that Stripe product.
 */
enum pb_err repo_products_set_stripe_product(struct db *db, uint64_t id,
    const char *stripe_product_id, bool *stored);

/*
 * Records price_id as the Stripe price of product p->id only while the row still has the
 * price p->stripe_price_id (NULL: none) and still the terms the price was made for
 * (p->amount, currency, kind, interval and interval_count): a price made for terms that
 * changed meanwhile is never stored. *stored says whether it was. PB_ECONFLICT when
 * another product has that price.
 */
enum pb_err repo_products_set_stripe_price(struct db *db, const struct product *p,
    const char *price_id, bool *stored);

#endif
