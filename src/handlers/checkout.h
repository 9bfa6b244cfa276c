/*
 * POST /v1/checkout/sessions {productId, quantity, mode} → 201 {id, url}, under the
 * caller's Idempotency-Key; POST /v1/billing-portal/sessions → 201 {url}.
 */
#ifndef PB_HANDLERS_CHECKOUT_H
#define PB_HANDLERS_CHECKOUT_H

#include "http/router.h"

enum pb_err handle_checkout_create(struct app *app, struct request *req,
    struct response *resp);
enum pb_err handle_billing_portal_create(struct app *app, struct request *req,
    struct response *resp);

#endif
