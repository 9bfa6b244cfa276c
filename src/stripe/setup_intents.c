/*
 * /v1/setup_intents: create. A SetupIntent saves a payment method on a customer for later
 * payments; the customer's browser confirms it with the client secret, so the card
 * details go to Stripe and never through us.
 */
#include "config.h"

#include <string.h>

#include "stripe/internal.h"

enum pb_err
stripe_setup_intent_from_json(struct json_object *obj, struct stripe_setup_intent *out)
{
	struct json_object *lse;
	enum pb_err err;

	memset(out, 0, sizeof(*out));
	err = stripe_json_begin(obj, "setup_intent", &out->raw, &out->id);
	if (err != PB_OK)
		return err;
	out->status = stripe_json_str(obj, "status");
	out->customer = stripe_json_id(obj, "customer");
	out->payment_method = stripe_json_id(obj, "payment_method");
	out->client_secret = stripe_json_str(obj, "client_secret");
	out->usage = stripe_json_str(obj, "usage");
	out->next_action_type = stripe_json_str(stripe_json_obj(obj, "next_action"), "type");
	lse = stripe_json_obj(obj, "last_setup_error");
	out->last_error_code = stripe_json_str(lse, "code");
	out->last_error_decline_code = stripe_json_str(lse, "decline_code");
	out->last_error_message = stripe_json_str(lse, "message");
	out->metadata = stripe_json_obj(obj, "metadata");
	out->created = stripe_json_int(obj, "created");
	out->livemode = stripe_json_bool(obj, "livemode");
	/* Without a status nothing can be decided about the intent. */
	if (out->status == NULL) {
		stripe_setup_intent_free(out);
		return PB_ESTRIPE;
	}
	return PB_OK;
}

void
stripe_setup_intent_free(struct stripe_setup_intent *si)
{
	if (si == NULL)
		return;
	json_object_put(si->raw);
	memset(si, 0, sizeof(*si));
}

static enum pb_err
parse(struct json_object *obj, void *out)
{
	return stripe_setup_intent_from_json(obj, out);
}

enum pb_err
stripe_setup_intent_create(struct stripe *s, const struct stripe_setup_intent_params *p,
    const char *idempotency_key, struct stripe_setup_intent *out)
{
	struct stripe_form f;
	enum pb_err err;

	memset(out, 0, sizeof(*out));
	stripe_form_init(&f);
	if (p->customer != NULL)
		(void)stripe_form_add(&f, "customer", p->customer);
	if (p->usage != NULL)
		(void)stripe_form_add(&f, "usage", p->usage);
	if (p->payment_method != NULL)
		(void)stripe_form_add(&f, "payment_method", p->payment_method);
	if (p->automatic_payment_methods)
		(void)stripe_form_add_bool(&f, "automatic_payment_methods[enabled]", true);
	(void)stripe_form_add_kv(&f, "metadata", p->metadata, p->nmetadata);
	err = stripe_call(s, "POST", "/v1/setup_intents", NULL, NULL, &f, idempotency_key, parse,
	    out);
	stripe_form_free(&f);
	return err;
}
