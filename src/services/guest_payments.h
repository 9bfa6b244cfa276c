/*
 * Guest (intake) payments, behind guest_payments = on: someone without an account pays
 * for a catalog product with an email address. The address's Stripe customer is the one
 * Stripe has with exactly that email (found once, then remembered in guest_customers),
 * else one made for it with metadata[source]=guest. Attempts are rate-limited per address
 * and per client IP (guest_rate_per_email, guest_rate_per_ip per guest_rate_window
 * seconds). When someone registers with the address, the account adopts the customer
 * (services/customers.c) and the guest's intents and orders (services/accounts.c).
 */
#ifndef PB_SERVICES_GUEST_PAYMENTS_H
#define PB_SERVICES_GUEST_PAYMENTS_H

#include <stdint.h>

#include "services/payments.h"

struct app;
struct arena;

/*
 * Creates an intent for quantity of product_id for the guest at email (name may be
 * NULL) from client (the caller's IP address). PB_ENOTFOUND when guest payments are off;
 * PB_EFIELDS for a malformed email or name (why->field); PB_ERATE with *retry_after_s
 * when the address or the client has tried too often. key (NULL: none) is the caller's
 * Idempotency-Key: the Stripe key derives from it and the address, so a repeat gets the
 * same intent.
 */
enum pb_err guest_create_intent(struct app *app, struct arena *a, const char *email,
    const char *name, const char *client, uint64_t product_id, int64_t quantity,
    const char *key, const char *request_id, struct payment_view *out,
    struct payment_problem *why, int64_t *retry_after_s);

/* Deletes rate counters whose window ended a day ago, up to limit. */
enum pb_err guest_prune(struct app *app, uint64_t limit, uint64_t *deleted);

#endif
