/*
 * The caller's orders: one per paid payment intent, made by the webhooks (or by a read
 * that found the intent succeeded), refunds applied as charge.refunded reports them.
 */
#ifndef PB_SERVICES_ORDERS_H
#define PB_SERVICES_ORDERS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "repo/payments.h"
#include "util/err.h"

struct app;
struct arena;

/* The caller's order id. PB_ENOTFOUND when it is nobody's or someone else's. */
enum pb_err orders_get(struct app *app, struct arena *a, uint64_t user_id, uint64_t id,
    struct order_view *out);

/*
 * One page of the caller's orders, newest first, after order starting_after (0: from
 * the newest; one not the caller's: PB_ENOTFOUND).
 */
enum pb_err orders_list(struct app *app, struct arena *a, uint64_t user_id,
    uint64_t starting_after, size_t limit, struct order_view **items, size_t *n, bool *more);

#endif
