/* /v1/payment_intents: create, retrieve, confirm, cancel. */
#include "config.h"

#include <string.h>

#include "stripe/internal.h"

enum pb_err
stripe_payment_intent_from_json(struct json_object *obj, struct stripe_payment_intent *out)
{
	struct json_object *lpe;
	enum pb_err err;

	memset(out, 0, sizeof(*out));
	err = stripe_json_begin(obj, "payment_intent", &out->raw, &out->id);
	if (err != PB_OK)
		return err;
	out->status = stripe_json_str(obj, "status");
	out->amount = stripe_json_int(obj, "amount");
	out->amount_received = stripe_json_int(obj, "amount_received");
	out->currency = stripe_json_str(obj, "currency");
	out->customer = stripe_json_id(obj, "customer");
	out->payment_method = stripe_json_id(obj, "payment_method");
	out->client_secret = stripe_json_str(obj, "client_secret");
	out->description = stripe_json_str(obj, "description");
	out->latest_charge = stripe_json_id(obj, "latest_charge");
	out->cancellation_reason = stripe_json_str(obj, "cancellation_reason");
	out->next_action_type = stripe_json_str(stripe_json_obj(obj, "next_action"), "type");
	lpe = stripe_json_obj(obj, "last_payment_error");
	out->last_error_code = stripe_json_str(lpe, "code");
	out->last_error_decline_code = stripe_json_str(lpe, "decline_code");
	out->last_error_message = stripe_json_str(lpe, "message");
	out->metadata = stripe_json_obj(obj, "metadata");
	out->created = stripe_json_int(obj, "created");
	out->canceled_at = stripe_json_int(obj, "canceled_at");
	out->livemode = stripe_json_bool(obj, "livemode");
	if (out->status == NULL) {
		stripe_payment_intent_free(out);
		return PB_ESTRIPE;
	}
	return PB_OK;
}

void
stripe_payment_intent_free(struct stripe_payment_intent *pi)
{
	if (pi == NULL)
		return;
	json_object_put(pi->raw);
	memset(pi, 0, sizeof(*pi));
}

static enum pb_err
parse(struct json_object *obj, void *out)
{
	return stripe_payment_intent_from_json(obj, out);
}

enum pb_err
stripe_payment_intent_create(struct stripe *s, const struct stripe_payment_intent_params *p,
    const char *idempotency_key, struct stripe_payment_intent *out)
{
	struct stripe_form f;
	enum pb_err err;

	memset(out, 0, sizeof(*out));
	if (p->amount <= 0 || p->currency == NULL)
		return stripe_fail(s, PB_EINVAL, "a payment intent needs an amount and a currency");
	stripe_form_init(&f);
	(void)stripe_form_add_int(&f, "amount", p->amount);
	(void)stripe_form_add(&f, "currency", p->currency);
	if (p->customer != NULL)
		(void)stripe_form_add(&f, "customer", p->customer);
	if (p->description != NULL)
		(void)stripe_form_add(&f, "description", p->description);
	if (p->payment_method != NULL)
		(void)stripe_form_add(&f, "payment_method", p->payment_method);
	if (p->receipt_email != NULL)
		(void)stripe_form_add(&f, "receipt_email", p->receipt_email);
	if (p->setup_future_usage != NULL)
		(void)stripe_form_add(&f, "setup_future_usage", p->setup_future_usage);
	if (p->automatic_payment_methods)
		(void)stripe_form_add_bool(&f, "automatic_payment_methods[enabled]", true);
	if (p->confirm)
		(void)stripe_form_add_bool(&f, "confirm", true);
	if (p->return_url != NULL)
		(void)stripe_form_add(&f, "return_url", p->return_url);
	(void)stripe_form_add_kv(&f, "metadata", p->metadata, p->nmetadata);
	err = stripe_call(s, "POST", "/v1/payment_intents", NULL, NULL, &f, idempotency_key,
	    parse, out);
	stripe_form_free(&f);
	return err;
}

enum pb_err
stripe_payment_intent_retrieve(struct stripe *s, const char *id,
    struct stripe_payment_intent *out)
{
	memset(out, 0, sizeof(*out));
	return stripe_call(s, "GET", "/v1/payment_intents/", id, NULL, NULL, NULL, parse, out);
}

enum pb_err
stripe_payment_intent_confirm(struct stripe *s, const char *id, const char *payment_method,
    const char *return_url, const char *idempotency_key, struct stripe_payment_intent *out)
{
	struct stripe_form f;
	enum pb_err err;

	memset(out, 0, sizeof(*out));
	stripe_form_init(&f);
	if (payment_method != NULL)
		(void)stripe_form_add(&f, "payment_method", payment_method);
	if (return_url != NULL)
		(void)stripe_form_add(&f, "return_url", return_url);
	err = stripe_call(s, "POST", "/v1/payment_intents/", id, "/confirm", &f,
	    idempotency_key, parse, out);
	stripe_form_free(&f);
	return err;
}

enum pb_err
stripe_payment_intent_cancel(struct stripe *s, const char *id, const char *reason,
    const char *idempotency_key, struct stripe_payment_intent *out)
{
	struct stripe_form f;
	enum pb_err err;

	memset(out, 0, sizeof(*out));
	stripe_form_init(&f);
	if (reason != NULL)
		(void)stripe_form_add(&f, "cancellation_reason", reason);
	err = stripe_call(s, "POST", "/v1/payment_intents/", id, "/cancel", &f, idempotency_key,
	    parse, out);
	stripe_form_free(&f);
	return err;
}
