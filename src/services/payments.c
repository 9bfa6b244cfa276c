#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "repo/db.h"
#include "repo/payments.h"
#include "repo/products.h"
#include "repo/users.h"
#include "services/app.h"
#include "services/catalog.h"
#include "services/customers.h"
#include "services/live.h"
#include "services/payment_methods.h"
#include "services/payments.h"
#include "services/payments_internal.h"
#include "services/webhook_rules.h"
#include "services/webhooks_internal.h"
#include "stripe/client.h"
#include "util/arena.h"
#include "util/conf.h"
#include "util/json.h"
#include "util/log.h"
#include "util/timeutil.h"

/* A read asks Stripe within this, then serves what it has. */
#define REFRESH_BUDGET_MS 2000
/* A payment path waits this long for a customer it must create first. */
#define CUSTOMER_BUDGET_MS 5000

enum pb_err
payments_refuse(struct payment_problem *why, enum pb_err err, const char *field, const char *code,
    const char *message)
{
	why->field = field;
	why->code = code;
	why->message = message;
	return err;
}

/*
 * What a failed Stripe call becomes. Stripe down, slow, busy or throttling is stripe_down
 * (503 with Retry-After); a refusal of what we sent is PB_ESTRIPE (502), except the
 * mapped errors a caller can act on, which pass through.
 */
enum pb_err
payments_stripe_failed(struct app *app, enum pb_err err, struct payment_problem *why)
{
	const struct stripe_error *e = stripe_last_error(app->stripe);

	/* 409: the object or our key is busy on Stripe's side (a request still running). */
	if (err == PB_ETIMEOUT || e->status == 0 || e->status == 409 || e->status == 429 ||
	    e->status >= 500) {
		why->stripe_down = true;
		return payments_refuse(why, PB_ESTRIPE, NULL, "payment_provider_unavailable",
		    "Stripe could not be reached; try again shortly");
	}
	if (err == PB_ECONFIG)
		return err;
	return payments_refuse(why, PB_ESTRIPE, NULL, "payment_provider_error", "Stripe refused the request");
}

enum pb_err
payments_customer_of(struct app *app, uint64_t user_id, char *id, size_t idlen,
    struct payment_problem *why)
{
	enum pb_err err;

	err = customers_get_or_create(app, user_id, CUSTOMER_SOURCE_LAZY, CUSTOMER_BUDGET_MS, id,
	    idlen);
	if (err == PB_ESTRIPE || err == PB_ETIMEOUT) {
		why->stripe_down = true;
		return payments_refuse(why, PB_ESTRIPE, NULL, "payment_provider_unavailable",
		    "the Stripe customer could not be created yet; try again shortly");
	}
	return err;
}

/* A copy of an optional string: NULL stays NULL. */
static const char *
copy_opt(struct arena *a, const char *s)
{
	return s != NULL ? arena_strdup(a, s) : NULL;
}

/* Adds what only Stripe's object says (why a card failed, what to do next) to out. */
static void
overlay(struct arena *a, const struct stripe_payment_intent *pi, struct payment_view *out)
{
	const char *url;

	out->decline_code = copy_opt(a, pi->last_error_decline_code);
	out->error_message = copy_opt(a, pi->last_error_message);
	out->next_action = copy_opt(a, pi->next_action_type);
	url = json_get_str(json_get_path(pi->raw, "next_action.redirect_to_url"), "url");
	out->next_action_url = copy_opt(a, url);
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
	enum pb_err err;

	err = webhook_apply_payment_intent(db, c->a, c->e, &changed);
	if (err == PB_OK && !changed)
		err = repo_pi_touch(db, c->e->object_id);
	return err;
}

/*
 * Applies pi, as Stripe showed it just now, through the webhooks' guard (an event seen
 * since that says more wins), then reads the row back into out.
 */
static enum pb_err
apply_and_read(struct app *app, struct arena *a, const struct stripe_payment_intent *pi,
    uint64_t user_id, struct payment_view *out)
{
	const struct wh_event e = {
		.type = "payment_intent.retrieved",
		.created = time_real_us() / 1000000,
		.root = pi->raw,
		.object = pi->raw,
		.object_id = pi->id,
		.fresh_read = true,
	};
	struct apply_ctx c = { a, &e };
	struct pi_view row;
	enum pb_err err;

	err = db_tx(app->db, apply_tx, &c);
	live_after(app, a, err);
	if (err == PB_OK)
		err = repo_pi_get(app->db, a, pi->id, user_id, &row);
	if (err != PB_OK)
		return err;
	payments_view_from_row(&row, out);
	overlay(a, pi, out);
	return PB_OK;
}

bool
payments_id_valid(const char *id)
{
	return stripe_id_valid(id);
}

/* ---- creation ---- */

enum pb_err
payments_priced(struct app *app, struct arena *a, uint64_t product_id, int64_t quantity,
    struct product *p, struct payment_problem *why)
{
	enum pb_err err;

	if (quantity < 1 || quantity > PAYMENTS_QUANTITY_MAX)
		return payments_refuse(why, PB_EFIELDS, "quantity", NULL, "must be an integer from 1 to 100");
	err = repo_products_get(app->db, a, product_id, p);
	if (err == PB_ENOTFOUND)
		return payments_refuse(why, PB_EFIELDS, "productId", NULL, "names no product");
	if (err != PB_OK)
		return err;
	if (!p->active)
		return payments_refuse(why, PB_EFIELDS, "productId", NULL, "is no longer sold");
	if (p->recurring)
		return payments_refuse(why, PB_EFIELDS, "productId",
		    NULL, "is a subscription: start it with a Checkout session");
	if (p->amount > CATALOG_AMOUNT_MAX / quantity)
		return payments_refuse(why, PB_EFIELDS, "quantity", NULL,
		    "makes an amount larger than Stripe accepts");
	if (p->amount * quantity < CATALOG_STRIPE_MIN_CHARGE)
		return payments_refuse(why, PB_EFIELDS, "quantity", NULL,
		    "makes an amount smaller than Stripe's minimum charge");
	return PB_OK;
}

enum pb_err
payments_make_intent(struct app *app, struct arena *a, const struct intent_for *f,
    const struct product *product, int64_t quantity, const char *key,
    struct payment_view *out, struct payment_problem *why)
{
	char uid[24], pid[24], qty[24];
	struct stripe_payment_intent pi = { 0 };
	struct stripe_payment_intent_params params;
	struct stripe_kv meta[3];
	struct pi_row row;
	const char *description;
	struct pi_view v;
	enum pb_err err;

	/* A guest's intent says whose it is by its customer and receipt_email. */
	(void)snprintf(uid, sizeof(uid), "%" PRIu64, f->user_id);
	(void)snprintf(pid, sizeof(pid), "%" PRIu64, product->id);
	(void)snprintf(qty, sizeof(qty), "%" PRId64, quantity);
	meta[0] = (struct stripe_kv){ "product_id", pid };
	meta[1] = (struct stripe_kv){ "quantity", qty };
	meta[2] = (struct stripe_kv){ "user_id", uid };
	description = quantity == 1 ? product->name :
	    arena_printf(a, "%s (x%" PRId64 ")", product->name, quantity);
	if (description == NULL)
		return PB_ENOMEM;
	params = (struct stripe_payment_intent_params){
		.amount = product->amount * quantity,
		.currency = product->currency,
		.customer = f->customer,
		.description = description,
		.receipt_email = f->receipt_email,
		.automatic_payment_methods = true,
		.metadata = meta,
		.nmetadata = f->user_id != 0 ? 3 : 2,
	};
	err = stripe_payment_intent_create(app->stripe, &params, key, &pi);
	if (err != PB_OK)
		return payments_stripe_failed(app, err, why);
	row = (struct pi_row){
		.stripe_id = pi.id,
		.user_id = f->user_id,
		.guest_email = f->guest_email,
		.product_id = product->id,
		.quantity = (uint32_t)quantity,
		.amount = pi.amount,
		.currency = pi.currency,
		.status = pi.status,
	};
	/* Stored before answering: the webhook, the list and a repeat all find it. */
	err = repo_pi_record(app->db, &row, pi.client_secret);
	if (err == PB_OK)
		live_note(pi.id);	/* a channel always has a current message */
	live_after(app, a, err);
	if (err == PB_OK)
		err = repo_pi_get(app->db, a, pi.id, 0, &v);
	if (err == PB_OK)
		payments_view_from_row(&v, out);
	stripe_payment_intent_free(&pi);
	return err;
}

enum pb_err
payments_create_intent(struct app *app, struct arena *a, uint64_t user_id,
    uint64_t product_id, int64_t quantity, const char *op_key, struct payment_view *out,
    struct payment_problem *why)
{
	char customer[CUSTOMER_ID_MAX + 1];
	struct product p;
	struct user u;
	const char *key;
	enum pb_err err;

	memset(why, 0, sizeof(*why));
	/* Refused input costs no customer creation: the product is checked first. */
	err = payments_priced(app, a, product_id, quantity, &p, why);
	if (err != PB_OK)
		return err;
	err = repo_users_get(app->db, a, user_id, &u);
	if (err != PB_OK)
		return err;
	err = payments_customer_of(app, user_id, customer, sizeof(customer), why);
	if (err != PB_OK)
		return err;
	key = arena_printf(a, "paybridge-pi-%s", op_key);
	if (key == NULL)
		return PB_ENOMEM;
	return payments_make_intent(app, a,
	    &(struct intent_for){ .user_id = user_id, .customer = customer,
		.receipt_email = u.email }, &p, quantity, key, out, why);
}

/* ---- reads ---- */

/* Whether a stored intent should be asked for again before it is shown. */
static bool
needs_refresh(const struct app *app, const struct pi_view *row)
{
	int64_t age_us = time_real_us() - row->refreshed_at;

	if (webhook_terminal(WEBHOOK_OBJ_PAYMENT_INTENT, row->status))
		return false;
	return row->refreshed_at == 0 || age_us >= app->conf->status_refresh_after_ms * 1000;
}

enum pb_err
payments_get_intent(struct app *app, struct arena *a, uint64_t user_id, const char *id,
    struct payment_view *out)
{
	struct stripe_payment_intent pi = { 0 };
	struct pi_view row;
	enum pb_err err;

	err = repo_pi_get(app->db, a, id, user_id, &row);
	if (err != PB_OK)
		return err;
	payments_view_from_row(&row, out);
	if (!needs_refresh(app, &row))
		return PB_OK;
	stripe_set_deadline(app->stripe, app_deadline(app, REFRESH_BUDGET_MS));
	err = stripe_payment_intent_retrieve(app->stripe, id, &pi);
	stripe_set_deadline(app->stripe, app->deadline_us);
	if (err == PB_OK)
		err = apply_and_read(app, a, &pi, user_id, out);
	stripe_payment_intent_free(&pi);
	if (err != PB_OK) {
		/* The stored state, said to be so: a read never fails on Stripe's account. */
		log_event(LOGL_WARN, "payment intent served stale", (const struct log_kv[]){
		    LOG_STR("payment_intent", id), LOG_STR("error", pb_strerror(err)) }, 2);
		payments_view_from_row(&row, out);
		out->stale = true;
	}
	return PB_OK;
}

/* Subscriptions publish at most this many times before giving up on a moving target. */
#define SUBSCRIBE_ROUNDS 3

/*
 * The first message a subscriber gets is the channel's buffered one (one message, the
 * newest): every committed change publishes after its commit, so a channel that holds a
 * message holds the current state. One that holds none (nothing published since
 * publishing was turned on, the message expired, nchan restarted) gets the stored state
 * now, before nchan accepts the subscription. A change that commits meanwhile publishes
 * after its commit; if that came before ours, ours would bury it under an older state, so
 * the row is read again after publishing and published again when it moved: whichever
 * publish comes last then carries the newest state (a commit after our last read
 * publishes after it). A channel that already holds a message is left alone, so that
 * subscribers joining do not send every subscriber a copy of the same state.
 */
enum pb_err
payments_subscribe(struct app *app, struct arena *a, uint64_t user_id, const char *id,
    struct payment_view *out)
{
	struct json_object *was = NULL, *now = NULL;
	bool same = false;
	enum pb_err err;

	err = payments_stored_intent(app, a, user_id, id, out);
	if (err != PB_OK || !live_channel_empty(app, id))
		return err;
	for (int round = 0; round < SUBSCRIBE_ROUNDS && !same; round++) {
		/* Best effort: the subscriber still gets every later change. */
		(void)live_publish(app, out);
		was = payments_view_json(out);
		err = payments_stored_intent(app, a, user_id, id, out);
		now = err == PB_OK ? payments_view_json(out) : NULL;
		same = was == NULL || now == NULL || json_object_equal(was, now);
		json_object_put(was);
		json_object_put(now);
		if (err != PB_OK)
			break;
	}
	return PB_OK;
}

enum pb_err
payments_list_intents(struct app *app, struct arena *a, uint64_t user_id,
    const char *starting_after, size_t limit, struct payment_view **items, size_t *n,
    bool *more)
{
	struct pi_view *rows;
	enum pb_err err;

	err = repo_pi_list(app->db, a, user_id, starting_after, limit, &rows, n, more);
	if (err != PB_OK)
		return err;
	*items = NULL;
	if (*n == 0)
		return PB_OK;
	*items = arena_calloc(a, *n, sizeof(**items));
	if (*items == NULL)
		return PB_ENOMEM;
	for (size_t i = 0; i < *n; i++)
		payments_view_from_row(&rows[i], &(*items)[i]);
	return PB_OK;
}

/* ---- confirm and cancel ---- */

/*
 * The caller's payment method payment_method (services/payment_methods.h decides what
 * that is); one attached to nobody, as Stripe.js just made it, is attached to the
 * caller's customer first. Another customer's, or none, is PB_ENOTFOUND.
 */
static enum pb_err
own_payment_method(struct app *app, struct arena *a, uint64_t user_id,
    const char *payment_method, const char **pm_id, struct payment_problem *why)
{
	struct payment_method pm = { 0 };
	const char *card_problem = NULL;
	bool attached;
	enum pb_err err;

	err = payment_methods_owned(app, user_id, payment_method, NULL, 0);
	if (err == PB_OK) {
		*pm_id = payment_method;
		return PB_OK;
	}
	if (err == PB_ENOTFOUND)
		err = payment_methods_attach(app, a, user_id, payment_method, &pm, &attached,
		    &card_problem);
	if (err == PB_OK)
		*pm_id = pm.id;
	else if (err == PB_ENOTFOUND || err == PB_ECONFLICT)
		err = payments_refuse(why, PB_ENOTFOUND, "paymentMethodId", "not_found",
		    "no such payment method");
	else if (err == PB_EFIELDS)
		err = payments_refuse(why, PB_EFIELDS, "paymentMethodId", NULL, card_problem);
	else if (err == PB_ESTRIPE || err == PB_ETIMEOUT)
		err = payments_stripe_failed(app, err, why);
	return err;
}

/* A conflict Stripe reports on an intent: it is in a state that does not allow this. */
static enum pb_err
unexpected_state(struct payment_problem *why, const char *message)
{
	return payments_refuse(why, PB_ECONFLICT, NULL, "payment_intent_unexpected_state", message);
}

enum pb_err
payments_confirm(struct app *app, struct arena *a, uint64_t user_id, const char *id,
    const char *payment_method, const char *return_url, struct payment_view *out,
    struct payment_problem *why)
{
	struct stripe_payment_intent pi = { 0 };
	const struct stripe_error *se;
	struct pi_view row;
	const char *pm_id = NULL, *decline = NULL, *message = NULL;
	enum pb_err err;

	memset(why, 0, sizeof(*why));
	err = repo_pi_get(app->db, a, id, user_id, &row);
	if (err != PB_OK)
		return err;
	err = own_payment_method(app, a, user_id, payment_method, &pm_id, why);
	if (err != PB_OK)
		return err;
	err = stripe_payment_intent_confirm(app->stripe, id, pm_id, return_url, NULL, &pi);
	if (err == PB_EFIELDS &&
	    strcmp(stripe_last_error(app->stripe)->type, "card_error") == 0) {
		/* Declined: the intent lives on, waiting for another card. Say why. */
		se = stripe_last_error(app->stripe);
		decline = arena_strdup(a, se->decline_code[0] != '\0' ? se->decline_code : se->code);
		message = arena_strdup(a, stripe_error_public_message(se));
		err = stripe_payment_intent_retrieve(app->stripe, id, &pi);
	} else if (err == PB_ECONFLICT) {
		return unexpected_state(why, "this payment can no longer be confirmed");
	}
	if (err != PB_OK)
		return payments_stripe_failed(app, err, why);
	err = apply_and_read(app, a, &pi, user_id, out);
	stripe_payment_intent_free(&pi);
	if (err == PB_OK && decline != NULL) {
		out->decline_code = decline;
		if (out->error_message == NULL)
			out->error_message = message;
	}
	return err;
}

enum pb_err
payments_cancel(struct app *app, struct arena *a, uint64_t user_id, const char *id,
    struct payment_view *out, struct payment_problem *why)
{
	struct stripe_payment_intent pi = { 0 };
	struct pi_view row;
	enum pb_err err;

	memset(why, 0, sizeof(*why));
	err = repo_pi_get(app->db, a, id, user_id, &row);
	if (err != PB_OK)
		return err;
	if (webhook_terminal(WEBHOOK_OBJ_PAYMENT_INTENT, row.status))
		return unexpected_state(why, "this payment can no longer be canceled");
	err = stripe_payment_intent_cancel(app->stripe, id, NULL, NULL, &pi);
	if (err == PB_ECONFLICT)
		return unexpected_state(why, "this payment can no longer be canceled");
	if (err != PB_OK)
		return payments_stripe_failed(app, err, why);
	err = apply_and_read(app, a, &pi, user_id, out);
	stripe_payment_intent_free(&pi);
	return err;
}

/* ---- refunds ---- */

/* What remains to refund of a succeeded intent: its order's, else the recorded refunds'. */
static enum pb_err
refundable(struct app *app, struct arena *a, const struct pi_view *row, int64_t *left,
    int64_t *refunded)
{
	struct order_view o;
	int64_t created;
	enum pb_err err;

	err = repo_orders_for_intent(app->db, a, row->stripe_id, &o);
	if (err == PB_OK) {
		*refunded = o.amount_refunded;
		*left = o.amount - o.amount_refunded;
		return PB_OK;
	}
	if (err != PB_ENOTFOUND)
		return err;
	err = repo_refunds_get(app->db, a, row->stripe_id, refunded, &created);
	if (err == PB_ENOTFOUND) {
		*refunded = 0;
		err = PB_OK;
	}
	*left = row->amount - *refunded;
	return err;
}

enum pb_err
payments_refund(struct app *app, struct arena *a, const char *role, const char *id,
    int64_t amount, const char *reason, const char *op_key, struct payment_refund *out,
    struct payment_problem *why)
{
	struct stripe_refund r = { 0 };
	struct stripe_refund_params params;
	struct pi_view row;
	int64_t left, refunded;
	const char *key;
	enum pb_err err;

	memset(why, 0, sizeof(*why));
	memset(out, 0, sizeof(*out));
	if (role == NULL || strcmp(role, "admin") != 0)
		return PB_EFORBIDDEN;
	err = repo_pi_get(app->db, a, id, 0, &row);
	if (err != PB_OK)
		return err;
	if (strcmp(row.status, "succeeded") != 0)
		return unexpected_state(why, "only a succeeded payment can be refunded");
	err = refundable(app, a, &row, &left, &refunded);
	if (err != PB_OK)
		return err;
	if (left <= 0)
		return payments_refuse(why, PB_ECONFLICT, NULL, "already_refunded",
		    "this payment is refunded in full");
	if (amount < 0 || amount > left)
		return payments_refuse(why, PB_EFIELDS, "amount", NULL,
		    arena_printf(a, "must be from 1 to the %" PRId64 " that remains", left));
	if (amount == 0)
		amount = left;
	key = op_key != NULL ? arena_printf(a, "paybridge-refund-%s", op_key) :
	    arena_printf(a, "paybridge-refund-%s-%" PRId64 "-%" PRId64, id, refunded, amount);
	if (key == NULL)
		return PB_ENOMEM;
	params = (struct stripe_refund_params){
		.payment_intent = id,
		.amount = amount,
		.reason = reason,
	};
	err = stripe_refund_create(app->stripe, &params, key, &r);
	if (err == PB_EFIELDS || err == PB_ECONFLICT || err == PB_EINVAL)
		return payments_refuse(why, PB_ECONFLICT, NULL, "refund_refused",
		    arena_strdup(a, stripe_last_error(app->stripe)->message));
	if (err != PB_OK)
		return payments_stripe_failed(app, err, why);
	out->id = arena_strdup(a, r.id);
	out->status = copy_opt(a, r.status);
	out->amount = r.amount;
	out->currency = copy_opt(a, r.currency);
	out->payment_intent = arena_strdup(a, r.payment_intent != NULL ? r.payment_intent : id);
	stripe_refund_free(&r);
	if (out->id == NULL || out->payment_intent == NULL)
		return PB_ENOMEM;
	return PB_OK;
}
