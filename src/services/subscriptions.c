/*
 * The caller's subscriptions (services/subscriptions.h). A cancel applies Stripe's answer
 * at once, through webhook_apply_subscription's guard, so the answer already shows it;
 * the customer.subscription.* events that follow carry the same state and change nothing.
 * The guard's time is the latest the object itself carries (canceled_at is the time of
 * the request, ended_at that of a cancel now), on Stripe's clock as its events are: an
 * older event arriving later never undoes the cancel.
 */
#include "config.h"

#include <string.h>

#include "repo/db.h"
#include "repo/payments.h"
#include "services/app.h"
#include "services/payments_internal.h"
#include "services/subscriptions.h"
#include "services/webhooks_internal.h"
#include "stripe/client.h"
#include "util/arena.h"

enum pb_err
subscriptions_list(struct app *app, struct arena *a, uint64_t user_id,
    const char *starting_after, size_t limit, struct sub_view **items, size_t *n, bool *more)
{
	return repo_subs_list(app->db, a, user_id, starting_after, limit, items, n, more);
}

enum pb_err
subscriptions_current(struct app *app, struct arena *a, uint64_t user_id,
    struct sub_view *out)
{
	return repo_subs_current(app->db, a, user_id, out);
}

int64_t
subscriptions_guard_time(const struct stripe_subscription *sub)
{
	const int64_t t[] = { sub->created, sub->current_period_start, sub->canceled_at,
		sub->ended_at };
	int64_t max = 0;

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		if (t[i] > max)
			max = t[i];
	return max;
}

struct apply_ctx {
	struct arena *a;
	const struct wh_event *e;
};

static enum pb_err
apply_tx(struct db *db, void *arg)
{
	struct apply_ctx *c = arg;
	bool changed = false;

	return webhook_apply_subscription(db, c->a, c->e, &changed);
}

enum pb_err
subscriptions_cancel(struct app *app, struct arena *a, uint64_t user_id, const char *id,
    bool at_period_end, const char *op_key, struct sub_view *out,
    struct payment_problem *why)
{
	struct stripe_subscription sub = { 0 };
	struct wh_event e;
	struct apply_ctx c;
	const char *key = NULL;
	enum pb_err err;

	memset(why, 0, sizeof(*why));
	/* Only the caller's: anyone else's is unknown here, and Stripe is not asked. */
	err = repo_subs_get(app->db, a, id, user_id, out);
	if (err != PB_OK)
		return err;
	if (op_key != NULL) {
		key = arena_printf(a, "paybridge-sub-%s", op_key);
		if (key == NULL)
			return PB_ENOMEM;
	}
	err = at_period_end ?
	    stripe_subscription_set_cancel_at_period_end(app->stripe, id, true, key, &sub) :
	    stripe_subscription_cancel(app->stripe, id, key, &sub);
	if (err != PB_OK)
		return payments_stripe_failed(app, err, why);
	e = (struct wh_event){
		.type = "customer.subscription.retrieved",
		.created = subscriptions_guard_time(&sub),
		.root = sub.raw,
		.object = sub.raw,
		.object_id = sub.id,
		.fresh_read = true,
	};
	c = (struct apply_ctx){ a, &e };
	err = db_tx(app->db, apply_tx, &c);
	stripe_subscription_free(&sub);
	if (err == PB_OK)
		err = repo_subs_get(app->db, a, id, user_id, out);
	return err;
}
