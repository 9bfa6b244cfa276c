/*
 * The catalog: what can be bought, at what price. Amounts live here and nowhere else:
 * a payment's amount is a product's unit amount times a quantity, decided on the server.
 * Archived products (active false) stay, because orders and intents point at them.
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

#endif
