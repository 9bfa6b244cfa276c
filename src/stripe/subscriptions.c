/*
 * /v1/subscriptions: retrieve, cancel at period end, cancel now. The billing period moved in 2025-03-31.basil from the
 * subscription to each of its items; both places are read, the top level first.
 */
#include "config.h"

#include <string.h>

#include "stripe/internal.h"

enum pb_err
stripe_subscription_from_json(struct json_object *obj, struct stripe_subscription *out)
{
	struct json_object *items, *data, *first = NULL;
	enum pb_err err;

	memset(out, 0, sizeof(*out));
	err = stripe_json_begin(obj, "subscription", &out->raw, &out->id);
	if (err != PB_OK)
		return err;
	out->status = stripe_json_str(obj, "status");
	out->customer = stripe_json_id(obj, "customer");
	out->latest_invoice = stripe_json_id(obj, "latest_invoice");
	items = stripe_json_obj(obj, "items");
	if (items != NULL && json_object_object_get_ex(items, "data", &data) &&
	    json_object_is_type(data, json_type_array) && json_object_array_length(data) > 0)
		first = json_object_array_get_idx(data, 0);
	if (first != NULL && !json_object_is_type(first, json_type_object))
		first = NULL;
	out->price = stripe_json_id(first, "price");
	out->quantity = stripe_json_int(first, "quantity");
	out->current_period_start = stripe_json_int(obj, "current_period_start");
	if (out->current_period_start == 0)
		out->current_period_start = stripe_json_int(first, "current_period_start");
	out->current_period_end = stripe_json_int(obj, "current_period_end");
	if (out->current_period_end == 0)
		out->current_period_end = stripe_json_int(first, "current_period_end");
	out->cancel_at_period_end = stripe_json_bool(obj, "cancel_at_period_end");
	out->cancel_at = stripe_json_int(obj, "cancel_at");
	out->canceled_at = stripe_json_int(obj, "canceled_at");
	out->ended_at = stripe_json_int(obj, "ended_at");
	out->metadata = stripe_json_obj(obj, "metadata");
	out->created = stripe_json_int(obj, "created");
	if (out->status == NULL) {
		stripe_subscription_free(out);
		return PB_ESTRIPE;
	}
	return PB_OK;
}

void
stripe_subscription_free(struct stripe_subscription *sub)
{
	if (sub == NULL)
		return;
	json_object_put(sub->raw);
	memset(sub, 0, sizeof(*sub));
}

static enum pb_err
parse(struct json_object *obj, void *out)
{
	return stripe_subscription_from_json(obj, out);
}

enum pb_err
stripe_subscription_retrieve(struct stripe *s, const char *id, struct stripe_subscription *out)
{
	memset(out, 0, sizeof(*out));
	return stripe_call(s, "GET", "/v1/subscriptions/", id, NULL, NULL, NULL, parse, out);
}

enum pb_err
stripe_subscription_set_cancel_at_period_end(struct stripe *s, const char *id,
    bool at_period_end, const char *idempotency_key, struct stripe_subscription *out)
{
	struct stripe_form f;
	enum pb_err err;

	memset(out, 0, sizeof(*out));
	stripe_form_init(&f);
	(void)stripe_form_add(&f, "cancel_at_period_end", at_period_end ? "true" : "false");
	err = stripe_call(s, "POST", "/v1/subscriptions/", id, NULL, &f, idempotency_key, parse,
	    out);
	stripe_form_free(&f);
	return err;
}

enum pb_err
stripe_subscription_cancel(struct stripe *s, const char *id, const char *idempotency_key,
    struct stripe_subscription *out)
{
	memset(out, 0, sizeof(*out));
	return stripe_call(s, "DELETE", "/v1/subscriptions/", id, NULL, NULL, idempotency_key,
	    parse, out);
}
