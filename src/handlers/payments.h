/*
 * /v1/payments/intents (ROUTE_AUTH): the caller's payment intents. An intent in JSON:
 * {"id":"pi_…","status":"requires_payment_method","amount":2000,"currency":"usd",
 * "clientSecret":"pi_…_secret_…","productId":1,"quantity":1,"createdAt":"…",
 * "lastPaymentError":null|{"code","declineCode","message"},
 * "nextAction":null|{"type","redirectUrl"}, "stale":false}. An id that is not the
 * caller's is 404, whoever it belongs to. Stripe unreachable: 503 payment_provider_unavailable
 * with Retry-After; Stripe refusing what we sent: 502 payment_provider_error.
 */
#ifndef PB_HANDLERS_PAYMENTS_H
#define PB_HANDLERS_PAYMENTS_H

#include "http/router.h"

/*
 * POST /v1/payments/intents {productId, quantity} (Idempotency-Key honoured): 201 with
 * the intent. amount or currency in the body: 422 (the server decides them).
 */
enum pb_err handle_payments_create(struct app *app, struct request *req,
    struct response *resp);

/*
 * POST /v1/payments/guest/intents {email, name?, productId, quantity} (no account; only
 * with guest_payments = on, else 404): 201 with the intent; 429 with Retry-After past the
 * rate limits. An Idempotency-Key makes repeats return the same intent.
 */
enum pb_err handle_payments_guest_create(struct app *app, struct request *req,
    struct response *resp);

/* GET /v1/payments/intents?limit&startingAfter: the caller's, newest first. */
enum pb_err handle_payments_list(struct app *app, struct request *req, struct response *resp);

/* GET /v1/payments/intents/{id}: refreshed from Stripe when stale ("stale": true if not). */
enum pb_err handle_payments_get(struct app *app, struct request *req, struct response *resp);
enum pb_err handle_payments_events(struct app *app, struct request *req, struct response *resp);

/*
 * POST /v1/payments/intents/{id}/confirm {paymentMethodId, returnUrl?}: 200 with the
 * intent (a declined card: requires_payment_method and lastPaymentError); 409
 * payment_intent_unexpected_state.
 */
enum pb_err handle_payments_confirm(struct app *app, struct request *req,
    struct response *resp);

/* POST /v1/payments/intents/{id}/cancel: 200 with the intent; 409 when too late. */
enum pb_err handle_payments_cancel(struct app *app, struct request *req,
    struct response *resp);

/*
 * POST /v1/payments/intents/{id}/refunds {amount?, reason?} (admins; Idempotency-Key
 * honoured): 201 {id, status, amount, currency, paymentIntentId}; 422 over what remains.
 */
enum pb_err handle_payments_refund(struct app *app, struct request *req,
    struct response *resp);

#endif
