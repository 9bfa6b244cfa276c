/*
 * /v1/orders (ROUTE_AUTH): the caller's purchase history. An order in JSON:
 * {"id":1,"productId":1,"productName":"…","quantity":1,"amount":2000,
 * "amountRefunded":0,"currency":"usd","status":"paid"|"partially_refunded"|"refunded",
 * "paymentIntentId":"pi_…","checkoutSessionId":null,"createdAt":"…"}.
 */
#ifndef PB_HANDLERS_ORDERS_H
#define PB_HANDLERS_ORDERS_H

#include "http/router.h"

/* GET /v1/orders?limit&startingAfter: newest first. */
enum pb_err handle_orders_list(struct app *app, struct request *req, struct response *resp);

/* GET /v1/orders/{id}: 404 unless the caller's. */
enum pb_err handle_orders_get(struct app *app, struct request *req, struct response *resp);

#endif
