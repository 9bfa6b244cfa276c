/*
 * /v1/products: the public catalog (DESIGN §3). No authentication: what is for sale and
 * at what price is no secret, and amounts are always the server's (a client names a
 * product, never a price). Only active products are shown; an archived or unknown one is
 * 404 not_found. A product: {id, slug, name, description, amount, currency,
 * type: "one_time"|"recurring", interval, intervalCount, active} (services/catalog.h);
 * Stripe ids stay on the server.
 */
#ifndef PB_HANDLERS_PRODUCTS_H
#define PB_HANDLERS_PRODUCTS_H

#include "http/router.h"

/*
 * GET /v1/products[?limit=1..100][&startingAfter=ID]: 200 {items: [product...], hasMore,
 * nextCursor} in id order, 20 a page by default; nextCursor (null on the last page) is
 * the startingAfter of the next. 422 invalid_fields for a bad limit or cursor.
 */
enum pb_err handle_products_list(struct app *app, struct request *req, struct response *resp);

/* GET /v1/products/{id}: 200 {product}; 404 not_found when unknown, archived or not a number. */
enum pb_err handle_products_get(struct app *app, struct request *req, struct response *resp);

#endif
