/* Stripe's deliveries: POST /v1/webhooks/stripe. */
#ifndef PB_HANDLERS_WEBHOOKS_H
#define PB_HANDLERS_WEBHOOKS_H

#include "http/router.h"

/*
 * POST /v1/webhooks/stripe, a ROUTE_RAW_BODY route (the signature covers the exact bytes;
 * the limit is stripe_webhook_max_bytes). 200 {"received":true} for an event applied or
 * stored, with "duplicate":true for one seen before; 400 signature_invalid,
 * invalid_event or livemode_mismatch, having written nothing; 500 event_failed when the
 * effects failed and were rolled back, so that Stripe delivers it again.
 */
enum pb_err handle_webhooks_stripe(struct app *app, struct request *req,
    struct response *resp);

#endif
