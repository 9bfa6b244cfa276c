/*
 * GET /v1/subscriptions (the caller's, newest first, paged like the other lists) and
 * POST /v1/subscriptions/{id}/cancel {atPeriodEnd: true|false}.
 *
 * A subscription in JSON: {"id":"sub_…","status":"active","productId":3,"quantity":1,
 * "currentPeriodStart":"…Z","currentPeriodEnd":"…Z","cancelAtPeriodEnd":false,
 * "canceledAt":null,"endedAt":null,"latestInvoiceStatus":"paid","createdAt":"…Z"}.
 */
#ifndef PB_HANDLERS_SUBSCRIPTIONS_H
#define PB_HANDLERS_SUBSCRIPTIONS_H

#include "http/router.h"

enum pb_err handle_subscriptions_list(struct app *app, struct request *req,
    struct response *resp);
enum pb_err handle_subscriptions_cancel(struct app *app, struct request *req,
    struct response *resp);

#endif
