/*
 * Stripe's hosted pages for the caller: a Checkout Session that sells one catalog product
 * (once, or as a subscription), and a billing portal session. Prices come from the catalog
 * only; the buyer's customer is made on first use, as for intents. No HTTP here.
 */
#ifndef PB_SERVICES_CHECKOUT_H
#define PB_SERVICES_CHECKOUT_H

#include <stdbool.h>
#include <stdint.h>

#include "services/payments.h"
#include "util/err.h"

struct app;
struct arena;

/* A session just made. Strings in the arena. */
struct checkout_view {
	const char *id;
	const char *url;
	const char *mode;
	int64_t expires_at;	/* Unix seconds */
};

struct product;

/* Why mode cannot be asked for (a message for the field), NULL when it can. Pure. */
const char *checkout_mode_problem(const char *mode);

/* Why p cannot be sold in a session of that kind (a message for productId), or NULL. Pure. */
const char *checkout_product_problem(const struct product *p, bool subscription);

/*
 * Opens a Checkout Session for quantity of product_id in mode ("payment" or
 * "subscription"; "setup" is refused: setup intents do that) under Stripe key
 * paybridge-cs-<op_key>, and stores it (status open) before returning. A product that
 * does not fit the mode is PB_EFIELDS with why; Stripe failing is PB_ESTRIPE with why.
 */
enum pb_err checkout_create_session(struct app *app, struct arena *a, uint64_t user_id,
    uint64_t product_id, int64_t quantity, const char *mode, const char *op_key,
    struct checkout_view *out, struct payment_problem *why);

/* A billing portal link for the caller's customer, back to billing_portal_return_url. */
enum pb_err checkout_portal_session(struct app *app, struct arena *a, uint64_t user_id,
    const char **url, struct payment_problem *why);

#endif
