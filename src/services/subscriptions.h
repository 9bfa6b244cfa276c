/*
 * The caller's subscriptions: listing them, the current one (GET /v1/users/me), and
 * cancelling one at period end or now. Rows are written by the webhooks and, for a
 * cancel, from Stripe's answer through the same stale-guarded path. No HTTP here.
 */
#ifndef PB_SERVICES_SUBSCRIPTIONS_H
#define PB_SERVICES_SUBSCRIPTIONS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "repo/payments.h"
#include "services/payments.h"
#include "util/err.h"

struct app;
struct arena;

/* One page of user_id's subscriptions, newest first (repo_subs_list). */
enum pb_err subscriptions_list(struct app *app, struct arena *a, uint64_t user_id,
    const char *starting_after, size_t limit, struct sub_view **items, size_t *n,
    bool *more);

/* user_id's current subscription (repo_subs_current); PB_ENOTFOUND when none. */
enum pb_err subscriptions_current(struct app *app, struct arena *a, uint64_t user_id,
    struct sub_view *out);

struct stripe_subscription;

/*
 * The time a subscription Stripe just answered counts as, for the webhooks' stale guard:
 * the newest of its created, current_period_start, canceled_at and ended_at (Unix
 * seconds, Stripe's clock). Pure.
 */
int64_t subscriptions_guard_time(const struct stripe_subscription *sub);

/*
 * Cancels user_id's subscription id: at the end of the period (at_period_end) or now.
 * op_key (NULL: none) keys the Stripe call. Another user's or an unknown subscription is
 * PB_ENOTFOUND and nothing is asked of Stripe. *out is the row after Stripe's answer.
 */
enum pb_err subscriptions_cancel(struct app *app, struct arena *a, uint64_t user_id,
    const char *id, bool at_period_end, const char *op_key, struct sub_view *out,
    struct payment_problem *why);

#endif
