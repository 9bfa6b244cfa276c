/*
 * Shared by services/payments.c, services/guest_payments.c, services/checkout.c and
 * services/subscriptions.c: the caller's customer, pricing a product for a quantity,
 * making an intent for a user or a guest, and what failures become.
 */
#ifndef PB_SERVICES_PAYMENTS_INTERNAL_H
#define PB_SERVICES_PAYMENTS_INTERNAL_H

#include <stdint.h>

#include "repo/products.h"
#include "services/payments.h"

/* Whom an intent is for: a user (user_id), or a guest (user_id 0, guest_email). */
struct intent_for {
	uint64_t user_id;
	const char *guest_email;	/* as the guest typed it; NULL for a user */
	const char *customer;		/* the Stripe customer */
	const char *receipt_email;
};

struct pi_view;

/* The view of a stored intent row (services/payments_view.c). */
void payments_view_from_row(const struct pi_view *row, struct payment_view *out);

/* Fills why and returns err. */
enum pb_err payments_refuse(struct payment_problem *why, enum pb_err err, const char *field,
    const char *code, const char *message);

/* What a failed Stripe call becomes (503 when Stripe is away or busy, else 502). */
enum pb_err payments_stripe_failed(struct app *app, enum pb_err err,
    struct payment_problem *why);

/*
 * The caller's Stripe customer into id[0..idlen), created now when missing (lazy creation,
 * exactly once); Stripe away is PB_ESTRIPE with why filled (stripe_down).
 */
enum pb_err payments_customer_of(struct app *app, uint64_t user_id, char *id, size_t idlen,
    struct payment_problem *why);

/*
 * Reads product_id into *p when it can be bought quantity times: active, one-time, and
 * the amount within Stripe's ceiling. PB_EFIELDS with why otherwise.
 */
enum pb_err payments_priced(struct app *app, struct arena *a, uint64_t product_id,
    int64_t quantity, struct product *p, struct payment_problem *why);

/* Creates the intent for f under Stripe key key and stores it before returning. */
enum pb_err payments_make_intent(struct app *app, struct arena *a, const struct intent_for *f,
    const struct product *product, int64_t quantity, const char *key,
    struct payment_view *out, struct payment_problem *why);

#endif
