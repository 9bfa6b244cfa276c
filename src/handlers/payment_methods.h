/*
 * The caller's payment methods and setup intents (ROUTE_AUTH; DESIGN §3). Thin: decode,
 * call services/payment_methods, encode. A payment method in JSON:
 * {"id":"pm_…","type":"card","brand":"visa","last4":"4242","expMonth":12,"expYear":2030,
 * "funding":"credit","isDefault":false}.
 *
 * Errors besides the usual ones: 404 not_found for any id that is not the caller's
 * (nothing is sent to Stripe then); 502 payment_provider_error when Stripe failed or
 * refused us, 503 payment_provider_unavailable when it did not answer in time, both with
 * Retry-After (retrying is safe: each change carries a key derived from what it does).
 */
#ifndef PB_HANDLERS_PAYMENT_METHODS_H
#define PB_HANDLERS_PAYMENT_METHODS_H

#include "http/router.h"

/* GET /v1/payments/customer/payment-methods: 200 [payment method, ...], newest first. */
enum pb_err handle_payment_methods_list(struct app *app, struct request *req,
    struct response *resp);

/*
 * POST /v1/payments/customer/payment-methods {paymentMethodId}: 201 with it attached
 * now, 200 when it was the caller's already; 404 unknown; 409 payment_method_in_use when
 * another customer has it (or Stripe will not attach it again); 422 invalid_fields.
 */
enum pb_err handle_payment_methods_attach(struct app *app, struct request *req,
    struct response *resp);

/* DELETE /v1/payments/customer/payment-methods/{id}: 200 with the detached one. */
enum pb_err handle_payment_methods_detach(struct app *app, struct request *req,
    struct response *resp);

/*
 * PATCH /v1/payments/customer/default-payment-method {paymentMethodId}: 200 with it,
 * isDefault true; 404 unless it is the caller's; 422 invalid_fields.
 */
enum pb_err handle_payment_methods_set_default(struct app *app, struct request *req,
    struct response *resp);

/*
 * POST /v1/payments/customer/setup-intents {usage?: "off_session"|"on_session"} (no body
 * is fine): 201 {id, clientSecret, status, usage}. An Idempotency-Key header makes a
 * repeat answer the same intent (409 idempotency_key_reused with another usage; 400
 * invalid_idempotency_key unless 1 to 200 printable characters without spaces).
 */
enum pb_err handle_setup_intents_create(struct app *app, struct request *req,
    struct response *resp);

#endif
