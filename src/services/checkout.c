/*
 * Checkout Sessions and billing portal sessions (services/checkout.h). A payment-mode
 * session describes its price inline (price_data) from the catalog, so the amount is
 * ours even when the product's Stripe price is stale or missing; a subscription needs
 * the product's synced recurring Stripe price, since Stripe bills it every period. The
 * metadata (user, product, quantity) goes on the session and on what it creates, so the
 * webhooks tie the session, its payment intent and its subscription back to the buyer.
 */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "repo/payments.h"
#include "repo/products.h"
#include "services/app.h"
#include "services/catalog.h"
#include "services/checkout.h"
#include "services/customers.h"
#include "services/payments_internal.h"
#include "stripe/client.h"
#include "util/arena.h"
#include "util/conf.h"

const char *
checkout_mode_problem(const char *mode)
{
	if (mode == NULL || (strcmp(mode, "payment") != 0 && strcmp(mode, "subscription") != 0 &&
	    strcmp(mode, "setup") != 0))
		return "must be payment or subscription";
	if (strcmp(mode, "setup") == 0)
		return "setup is not offered: save a card with POST "
		    "/v1/payments/customer/setup-intents";
	return NULL;
}

const char *
checkout_product_problem(const struct product *p, bool subscription)
{
	if (!p->active)
		return "is no longer sold";
	if (!subscription && p->recurring)
		return "is a subscription: use mode subscription";
	if (subscription && !p->recurring)
		return "is a one-time product: use mode payment";
	if (subscription && p->stripe_price_id == NULL)
		return "has no Stripe price yet: an operator must sync the catalog to Stripe";
	return NULL;
}

/* Whether product_id can be sold quantity times in the mode; PB_EFIELDS with why if not. */
static enum pb_err
product_for_mode(struct app *app, struct arena *a, uint64_t product_id, int64_t quantity,
    bool subscription, struct product *p, struct payment_problem *why)
{
	const char *problem;
	enum pb_err err;

	if (quantity < 1 || quantity > PAYMENTS_QUANTITY_MAX)
		return payments_refuse(why, PB_EFIELDS, "quantity", NULL,
		    "must be an integer from 1 to 100");
	err = repo_products_get(app->db, a, product_id, p);
	if (err == PB_ENOTFOUND)
		return payments_refuse(why, PB_EFIELDS, "productId", NULL, "names no product");
	if (err != PB_OK)
		return err;
	problem = checkout_product_problem(p, subscription);
	if (problem != NULL)
		return payments_refuse(why, PB_EFIELDS, "productId", NULL, problem);
	/* A one-time amount within Stripe's bounds, as for an intent. */
	return subscription ? PB_OK : payments_priced(app, a, product_id, quantity, p, why);
}

enum pb_err
checkout_create_session(struct app *app, struct arena *a, uint64_t user_id,
    uint64_t product_id, int64_t quantity, const char *mode, const char *op_key,
    struct checkout_view *out, struct payment_problem *why)
{
	char customer[CUSTOMER_ID_MAX + 1], uid[24], pid[24], qty[24];
	struct stripe_checkout_session cs = { 0 };
	struct stripe_line_item li;
	struct stripe_kv meta[3];
	struct session_row row;
	struct product p = { 0 };
	const char *key;
	bool subscription;
	enum pb_err err;

	memset(why, 0, sizeof(*why));
	memset(out, 0, sizeof(*out));
	if (checkout_mode_problem(mode) != NULL)
		return payments_refuse(why, PB_EFIELDS, "mode", NULL, checkout_mode_problem(mode));
	subscription = strcmp(mode, "subscription") == 0;
	/* Refused input costs no customer creation: the product is checked first. */
	err = product_for_mode(app, a, product_id, quantity, subscription, &p, why);
	if (err != PB_OK)
		return err;
	err = payments_customer_of(app, user_id, customer, sizeof(customer), why);
	if (err != PB_OK)
		return err;
	key = arena_printf(a, "paybridge-cs-%s", op_key);
	if (key == NULL)
		return PB_ENOMEM;
	(void)snprintf(uid, sizeof(uid), "%" PRIu64, user_id);
	(void)snprintf(pid, sizeof(pid), "%" PRIu64, p.id);
	(void)snprintf(qty, sizeof(qty), "%" PRId64, quantity);
	meta[0] = (struct stripe_kv){ "product_id", pid };
	meta[1] = (struct stripe_kv){ "quantity", qty };
	meta[2] = (struct stripe_kv){ "user_id", uid };
	li = subscription ?
	    (struct stripe_line_item){ .price = p.stripe_price_id, .quantity = quantity } :
	    (struct stripe_line_item){ .currency = p.currency, .unit_amount = p.amount,
		.product_name = p.name, .quantity = quantity };
	err = stripe_checkout_session_create(app->stripe, &(struct stripe_checkout_params){
		.mode = mode,
		.customer = customer,
		.client_reference_id = uid,
		.success_url = app->conf->checkout_success_url,
		.cancel_url = app->conf->checkout_cancel_url,
		.line_items = &li,
		.nline_items = 1,
		.metadata = meta,
		.nmetadata = 3,
	    }, key, &cs);
	if (err != PB_OK)
		return payments_stripe_failed(app, err, why);
	row = (struct session_row){
		.stripe_id = cs.id,
		.user_id = user_id,
		.product_id = p.id,
		.quantity = (uint32_t)quantity,
		.mode = mode,
		.status = cs.status != NULL ? cs.status : "open",
		.payment_status = cs.payment_status != NULL ? cs.payment_status : "unpaid",
		.has_amount = true,
		.amount_total = cs.amount_total,
		.currency = cs.currency,
		.url = cs.url,
		.expires_at = cs.expires_at,
		.event_created = 0,	/* any event about it says more */
	};
	/*
	 * Stored before answering. A conflict is the same session stored already (Stripe
	 * replayed our key for a retried first attempt, or its webhook came first).
	 */
	err = repo_session_insert(app->db, &row);
	if (err == PB_ECONFLICT)
		err = PB_OK;
	if (err == PB_OK) {
		out->id = arena_strdup(a, cs.id);
		out->url = cs.url != NULL ? arena_strdup(a, cs.url) : NULL;
		out->mode = mode;
		out->expires_at = cs.expires_at;
		if (out->id == NULL || (cs.url != NULL && out->url == NULL))
			err = PB_ENOMEM;
	}
	stripe_checkout_session_free(&cs);
	return err;
}

enum pb_err
checkout_portal_session(struct app *app, struct arena *a, uint64_t user_id, const char **url,
    struct payment_problem *why)
{
	char customer[CUSTOMER_ID_MAX + 1];
	struct stripe_portal_session ps = { 0 };
	enum pb_err err;

	memset(why, 0, sizeof(*why));
	*url = NULL;
	err = payments_customer_of(app, user_id, customer, sizeof(customer), why);
	if (err != PB_OK)
		return err;
	/* No key: each call is a new, short-lived link, and a repeat costs nothing. */
	err = stripe_portal_session_create(app->stripe, customer,
	    app->conf->billing_portal_return_url, NULL, &ps);
	if (err != PB_OK)
		return payments_stripe_failed(app, err, why);
	*url = arena_strdup(a, ps.url);
	stripe_portal_session_free(&ps);
	return *url != NULL ? PB_OK : PB_ENOMEM;
}
