/*
 * What each Stripe event changes (docs/ARCHITECTURE.md, "Webhooks"). Every function here
 * runs inside the event's transaction (services/webhooks.c) and reads the state of
 * data.object as the event carries it, never the event type alone: an event is a
 * snapshot, so an older one must never overwrite a newer (webhook_rules.h decides).
 * Both the pinned 2023-08-16 shapes and the newer ones (2025-03-31.basil and later:
 * subscription periods on the items, an invoice's subscription under parent) are read.
 */
#include "config.h"

#include <string.h>

#include "repo/events.h"
#include "repo/payments.h"
#include "services/webhook_rules.h"
#include "services/live.h"
#include "services/webhooks_internal.h"
#include "util/arena.h"
#include "util/json.h"
#include "util/log.h"
#include "util/strnum.h"

/* An expandable field: the id string, or the id of the object when expanded. */
static const char *
expandable_id(struct json_object *o, const char *key)
{
	struct json_object *v;

	if (o == NULL || !json_object_object_get_ex(o, key, &v) || v == NULL)
		return NULL;
	if (json_object_is_type(v, json_type_string))
		return json_object_get_string(v);
	if (json_object_is_type(v, json_type_object))
		return json_get_str(v, "id");
	return NULL;
}

static int64_t
get_int(struct json_object *o, const char *key, int64_t def)
{
	int64_t v;

	return o != NULL && json_get_int64(o, key, &v) ? v : def;
}

static bool
get_bool(struct json_object *o, const char *key)
{
	bool v = false;

	return o != NULL && json_get_bool(o, key, &v) && v;
}

/* A positive integer in metadata[key] (Stripe metadata values are strings); 0 otherwise. */
static uint64_t
meta_uint(struct json_object *o, const char *key, long long max)
{
	struct json_object *m = json_get_path(o, "metadata");
	const char *s = m != NULL ? json_get_str(m, key) : NULL;
	long long v;

	if (s == NULL || strnum_parse(s, 10, 1, max, &v) != PB_OK)
		return 0;
	return (uint64_t)v;
}

static uint32_t
meta_quantity(struct json_object *o)
{
	uint64_t q = meta_uint(o, "quantity", 1000000);

	return q != 0 ? (uint32_t)q : 1;
}

/*
 * The user of the object: its customer's, else metadata[user_id], else (checkout) a
 * numeric client_reference_id. *found false when none is ours.
 */
static enum pb_err
resolve_user(struct db *db, struct arena *a, struct json_object *o, uint64_t *user_id,
    bool *found)
{
	uint64_t meta = meta_uint(o, "user_id", INT64_MAX);
	const char *ref = json_get_str(o, "client_reference_id");
	long long v;
	enum pb_err err;

	if (meta == 0 && ref != NULL && strnum_parse(ref, 10, 1, INT64_MAX, &v) == PB_OK)
		meta = (uint64_t)v;
	err = repo_pay_user_for(db, a, expandable_id(o, "customer"), meta, user_id);
	*found = err == PB_OK;
	return err == PB_ENOTFOUND ? PB_OK : err;
}

/*
 * A row another event inserted between our look and our insert: run the transaction
 * again (db_tx retries PB_EDEADLOCK), when the row will be found.
 */
static enum pb_err
raced(enum pb_err err)
{
	return err == PB_ECONFLICT ? PB_EDEADLOCK : err;
}

/* The order of a paid payment intent, once; a refund recorded before it applies at once. */
static enum pb_err
ensure_order(struct db *db, const struct order_row *o, bool *changed)
{
	enum pb_err err;

	err = repo_orders_insert(db, o);
	if (err == PB_ECONFLICT) {
		if (o->checkout_session != NULL)
			return repo_orders_set_session(db, o->payment_intent, o->checkout_session,
			    o->product_id);
		return PB_OK;
	}
	if (err == PB_OK)
		*changed = true;
	return err;
}

/* Where a stateful object's row is, and whether this event may write it. */
struct guard {
	bool fresh;		/* no row yet: insert one */
	bool apply;		/* write the event's state (a new row, or a newer state) */
	bool ours;		/* the row, or the object, belongs to a user of ours */
	uint64_t user_id;	/* 0 for a guest's row */
	const char *guest_email;	/* a guest's row: whose it is */
};

typedef enum pb_err (*row_lock_fn)(struct db *db, struct arena *a, const char *stripe_id,
    struct row_state *out);

/*
 * Locks the object's row (lock) and decides: an existing row takes the event's state only
 * when webhook_should_apply says it is newer; a new row only for an object of one of our
 * users (a payment made in the dashboard for a stranger creates nothing).
 */
static enum pb_err
guard_row(struct db *db, struct arena *a, const struct wh_event *e, enum webhook_object kind,
    row_lock_fn lock, const char *status, struct guard *g)
{
	struct row_state st;
	enum pb_err err;

	*g = (struct guard){ 0 };
	err = lock(db, a, e->object_id, &st);
	if (err != PB_OK)
		return err;
	if (st.found) {
		g->ours = true;
		g->user_id = st.user_id;
		g->guest_email = st.guest_email;
		g->apply = webhook_should_apply(kind, st.status, st.last_event_created, status,
		    e->created, e->fresh_read);
		return PB_OK;
	}
	err = resolve_user(db, a, e->object, &g->user_id, &g->ours);
	g->fresh = g->apply = g->ours;
	return err;
}

/*
 * The usual event of an intent we have: newer than its row, which is not terminal. One
 * UPDATE decides and writes; *done false when it did not apply and guard_row must look.
 */
static enum pb_err
pi_update_newer(struct db *db, const struct pi_row *p, bool *done)
{
	const char *terminal = webhook_terminal_set(WEBHOOK_OBJ_PAYMENT_INTENT);

	*done = false;
	return terminal != NULL ? repo_pi_update_newer(db, p, terminal, done) : PB_OK;
}

enum pb_err
webhook_apply_payment_intent(struct db *db, struct arena *a, const struct wh_event *e,
    bool *changed)
{
	struct json_object *o = e->object;
	struct pi_row p = { 0 };
	struct guard g;
	bool done;
	enum pb_err err;

	p.stripe_id = e->object_id;
	p.status = json_get_str(o, "status");
	p.amount = get_int(o, "amount", 0);
	p.currency = json_get_str(o, "currency");
	p.product_id = meta_uint(o, "product_id", INT64_MAX);
	p.quantity = meta_quantity(o);
	p.last_error_code = json_get_str(json_get_path(o, "last_payment_error"), "code");
	p.event_created = e->created;
	if (p.stripe_id == NULL || p.status == NULL || p.currency == NULL || p.amount < 0)
		return PB_OK;	/* nothing we could store: acknowledged, stored */
	err = pi_update_newer(db, &p, &done);
	if (err != PB_OK)
		return err;
	if (!done) {
		err = guard_row(db, a, e, WEBHOOK_OBJ_PAYMENT_INTENT, repo_pi_lock, p.status,
		    &g);
		if (err != PB_OK || !g.ours)
			return err;
		if (g.apply) {
			p.user_id = g.user_id;
			err = g.fresh ? raced(repo_pi_insert(db, &p)) : repo_pi_update(db, &p);
			if (err != PB_OK)
				return err;
		}
		done = g.apply;
	}
	if (done) {
		*changed = true;
		/* Told after the commit, by whoever ran this transaction (live_after). */
		live_note(p.stripe_id);
	}
	/* Here the intent has its row, whose owner the order takes. */
	if (strcmp(p.status, "succeeded") == 0) {
		struct order_row ord = {
			.owner_from_intent = true,
			.product_id = p.product_id,
			.quantity = p.quantity,
			.amount = get_int(o, "amount_received", 0) > 0 ?
			    get_int(o, "amount_received", 0) : p.amount,
			.currency = p.currency,
			.payment_intent = p.stripe_id,
			.event_created = e->created,
		};

		err = ensure_order(db, &ord, changed);
	}
	return err;
}

static enum pb_err
apply_checkout_session(struct db *db, struct arena *a, const struct wh_event *e,
    bool *changed)
{
	struct json_object *o = e->object;
	struct session_row s = { 0 };
	struct guard g;
	enum pb_err err;

	s.stripe_id = e->object_id;
	s.mode = json_get_str(o, "mode");
	s.status = json_get_str(o, "status");
	s.payment_status = json_get_str(o, "payment_status");
	s.has_amount = json_get_int64(o, "amount_total", &s.amount_total);
	s.currency = json_get_str(o, "currency");
	s.url = json_get_str(o, "url");
	s.payment_intent = expandable_id(o, "payment_intent");
	s.subscription = expandable_id(o, "subscription");
	s.expires_at = get_int(o, "expires_at", 0);
	s.product_id = meta_uint(o, "product_id", INT64_MAX);
	s.quantity = meta_quantity(o);
	s.event_created = e->created;
	if (s.stripe_id == NULL || s.mode == NULL || s.status == NULL || s.payment_status == NULL)
		return PB_OK;
	if (strcmp(s.mode, "payment") != 0 && strcmp(s.mode, "subscription") != 0 &&
	    strcmp(s.mode, "setup") != 0)
		return PB_OK;	/* a mode this schema has no place for: stored only */
	err = guard_row(db, a, e, WEBHOOK_OBJ_CHECKOUT_SESSION, repo_session_lock, s.status, &g);
	if (err != PB_OK || !g.ours)
		return err;
	if (g.apply) {
		s.user_id = g.user_id;
		err = g.fresh ? raced(repo_session_insert(db, &s)) : repo_session_update(db, &s);
		if (err != PB_OK)
			return err;
		*changed = true;
	}
	/* A paid payment-mode session makes the order, if payment_intent.succeeded did not. */
	if (strcmp(s.status, "complete") == 0 && strcmp(s.payment_status, "paid") == 0 &&
	    strcmp(s.mode, "payment") == 0 && s.payment_intent != NULL && s.currency != NULL &&
	    s.has_amount) {
		struct order_row ord = {
			.user_id = g.user_id,
			.product_id = s.product_id,
			.quantity = s.quantity,
			.amount = s.amount_total,
			.currency = s.currency,
			.payment_intent = s.payment_intent,
			.checkout_session = s.stripe_id,
			.event_created = e->created,
		};

		err = ensure_order(db, &ord, changed);
	}
	return err;
}

static enum pb_err
apply_charge_refunded(struct db *db, const struct wh_event *e, bool *changed)
{
	const char *pi = expandable_id(e->object, "payment_intent");
	int64_t refunded = get_int(e->object, "amount_refunded", -1);
	enum pb_err err;

	if (pi == NULL || refunded < 0)
		return PB_OK;
	/* Kept even without an order, so the order created later starts refunded. */
	err = repo_refunds_record(db, pi, e->object_id, refunded, e->created);
	if (err == PB_OK)
		err = repo_orders_refund(db, pi, refunded, e->created);
	*changed = err == PB_OK;
	return err;
}

/* The first subscription item, where newer API versions keep the periods. */
static struct json_object *
first_item(struct json_object *o)
{
	struct json_object *data = json_get_path(o, "items.data");

	if (data == NULL || !json_object_is_type(data, json_type_array) ||
	    json_object_array_length(data) == 0)
		return NULL;
	return json_object_array_get_idx(data, 0);
}

enum pb_err
webhook_apply_subscription(struct db *db, struct arena *a, const struct wh_event *e,
    bool *changed)
{
	struct json_object *o = e->object, *item = first_item(o);
	struct json_object *price = item != NULL ? json_get_path(item, "price") : NULL;
	struct subscription_row s = { 0 };
	struct guard g;
	enum pb_err err;

	s.stripe_id = e->object_id;
	s.status = json_get_str(o, "status");
	s.price = price != NULL && json_get_str(price, "id") != NULL ? json_get_str(price, "id") :
	    "";
	s.product = expandable_id(price, "product");
	s.quantity = (uint32_t)get_int(item, "quantity", get_int(o, "quantity", 1));
	if (s.quantity == 0)
		s.quantity = 1;
	s.period_start = get_int(o, "current_period_start", get_int(item, "current_period_start", 0));
	s.period_end = get_int(o, "current_period_end", get_int(item, "current_period_end", 0));
	s.cancel_at_period_end = get_bool(o, "cancel_at_period_end");
	s.canceled_at = get_int(o, "canceled_at", 0);
	s.ended_at = get_int(o, "ended_at", 0);
	s.product_id = meta_uint(o, "product_id", INT64_MAX);
	s.event_created = e->created;
	if (s.stripe_id == NULL || s.status == NULL)
		return PB_OK;
	err = guard_row(db, a, e, WEBHOOK_OBJ_SUBSCRIPTION, repo_subs_lock, s.status, &g);
	if (err != PB_OK || !g.apply)
		return err;
	s.user_id = g.user_id;
	err = g.fresh ? raced(repo_subs_insert(db, &s)) : repo_subs_update(db, &s);
	*changed = err == PB_OK;
	return err;
}

static enum pb_err
apply_invoice(struct db *db, const struct wh_event *e, const char *status, bool *changed)
{
	const char *sub = expandable_id(e->object, "subscription");

	if (sub == NULL)	/* 2025-03-31.basil and later */
		sub = expandable_id(json_get_path(e->object, "parent.subscription_details"),
		    "subscription");
	if (sub == NULL || e->object_id == NULL)
		return PB_OK;
	return repo_subs_invoice(db, sub, e->object_id, status, e->created, changed);
}

enum metrics_event_class
webhook_event_class(const char *type)
{
	static const struct {
		const char *prefix;
		enum metrics_event_class c;
	} classes[] = {
		{ "payment_intent.", METRICS_EVC_PAYMENT_INTENT },
		{ "checkout.session.", METRICS_EVC_CHECKOUT_SESSION },
		{ "charge.", METRICS_EVC_CHARGE },
		{ "customer.subscription.", METRICS_EVC_SUBSCRIPTION },
		{ "invoice.", METRICS_EVC_INVOICE },
		{ "payment_method.", METRICS_EVC_PAYMENT_METHOD },
		{ "customer.", METRICS_EVC_CUSTOMER },
	};

	for (size_t i = 0; type != NULL && i < sizeof(classes) / sizeof(classes[0]); i++) {
		if (strncmp(type, classes[i].prefix, strlen(classes[i].prefix)) == 0)
			return classes[i].c;
	}
	return METRICS_EVC_OTHER;
}

#ifdef PB_TEST_ROUTES
/*
 * The fault hook of test builds: an event whose object has
 * metadata[paybridge_test_fault] = "fail_once" fails until one failure is recorded, so
 * the integration test sees a 500 and then the retry applied once. The state is the
 * failures table, shared by every worker.
 */
static enum pb_err
test_fault(struct db *db, struct arena *a, const struct wh_event *e)
{
	struct json_object *m = json_get_path(e->object, "metadata");
	const char *f = m != NULL ? json_get_str(m, "paybridge_test_fault") : NULL;
	uint32_t attempts;
	enum pb_err err;

	if (f == NULL || strcmp(f, "fail_once") != 0)
		return PB_OK;
	err = repo_events_failure_attempts(db, a, e->id, &attempts);
	if (err != PB_OK)
		return err;
	return attempts == 0 ? PB_ESYSTEM : PB_OK;
}
#endif

enum pb_err
webhook_apply(struct db *db, struct arena *a, const struct wh_event *e, bool *changed)
{
	const char *t = e->type;

	*changed = false;
#ifdef PB_TEST_ROUTES
	{
		enum pb_err err = test_fault(db, a, e);

		if (err != PB_OK)
			return err;
	}
#endif
	if (e->object == NULL || !json_object_is_type(e->object, json_type_object))
		return PB_OK;
	if (strcmp(t, "payment_intent.succeeded") == 0 ||
	    strcmp(t, "payment_intent.payment_failed") == 0 ||
	    strcmp(t, "payment_intent.processing") == 0 ||
	    strcmp(t, "payment_intent.canceled") == 0 ||
	    strcmp(t, "payment_intent.requires_action") == 0)
		return webhook_apply_payment_intent(db, a, e, changed);
	if (strcmp(t, "checkout.session.completed") == 0 ||
	    strcmp(t, "checkout.session.expired") == 0)
		return apply_checkout_session(db, a, e, changed);
	if (strcmp(t, "charge.refunded") == 0)
		return apply_charge_refunded(db, e, changed);
	if (strcmp(t, "customer.subscription.created") == 0 ||
	    strcmp(t, "customer.subscription.updated") == 0 ||
	    strcmp(t, "customer.subscription.deleted") == 0)
		return webhook_apply_subscription(db, a, e, changed);
	if (strcmp(t, "invoice.paid") == 0)
		return apply_invoice(db, e, "paid", changed);
	if (strcmp(t, "invoice.payment_failed") == 0)
		return apply_invoice(db, e, "payment_failed", changed);
	if (strcmp(t, "customer.updated") == 0 || strcmp(t, "customer.deleted") == 0)
		return webhook_apply_customer(db, a, e, changed);
	/* payment_method.*, customer.created and unknown types: stored. */
	return PB_OK;
}

enum pb_err
webhook_event_parse(struct json_object *root, struct wh_event *e, const char **why)
{
	struct json_object *v;
	size_t n;

	memset(e, 0, sizeof(*e));
	*why = NULL;
	if (root == NULL || !json_object_is_type(root, json_type_object)) {
		*why = "the body is not a JSON object";
		return PB_EINVAL;
	}
	e->root = root;
	e->id = json_get_str(root, "id");
	e->type = json_get_str(root, "type");
	n = e->id != NULL ? strlen(e->id) : 0;
	if (n == 0 || n > 255 || e->type == NULL || e->type[0] == '\0' ||
	    strlen(e->type) > 100) {
		*why = "the event has no valid id or type";
		return PB_EINVAL;
	}
	if (!json_get_int64(root, "created", &e->created) || e->created < 0) {
		*why = "the event has no valid created time";
		return PB_EINVAL;
	}
	if (!json_get_bool(root, "livemode", &e->livemode)) {
		*why = "the event has no livemode";
		return PB_EINVAL;
	}
	if (json_object_object_get_ex(root, "api_version", &v) && v != NULL) {
		e->api_version = json_object_get_string(v);
		if (!json_object_is_type(v, json_type_string) || strlen(e->api_version) > 40) {
			*why = "the event's api_version is not a short string";
			return PB_EINVAL;
		}
	}
	e->object = json_get_path(root, "data.object");
	if (e->object == NULL || !json_object_is_type(e->object, json_type_object)) {
		*why = "the event has no data.object";
		return PB_EINVAL;
	}
	e->object_id = json_get_str(e->object, "id");
	if (e->object_id != NULL && strlen(e->object_id) > 255)
		e->object_id = NULL;
	return PB_OK;
}
