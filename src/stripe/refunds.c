/* /v1/refunds: create a refund of a payment intent, in full or in part. */
#include "config.h"

#include <string.h>

#include "stripe/internal.h"

enum pb_err
stripe_refund_from_json(struct json_object *obj, struct stripe_refund *out)
{
	enum pb_err err;

	memset(out, 0, sizeof(*out));
	err = stripe_json_begin(obj, "refund", &out->raw, &out->id);
	if (err != PB_OK)
		return err;
	out->status = stripe_json_str(obj, "status");
	out->amount = stripe_json_int(obj, "amount");
	out->currency = stripe_json_str(obj, "currency");
	out->payment_intent = stripe_json_id(obj, "payment_intent");
	out->charge = stripe_json_id(obj, "charge");
	out->reason = stripe_json_str(obj, "reason");
	out->metadata = stripe_json_obj(obj, "metadata");
	out->created = stripe_json_int(obj, "created");
	return PB_OK;
}

void
stripe_refund_free(struct stripe_refund *r)
{
	if (r == NULL)
		return;
	json_object_put(r->raw);
	memset(r, 0, sizeof(*r));
}

static enum pb_err
parse(struct json_object *obj, void *out)
{
	return stripe_refund_from_json(obj, out);
}

enum pb_err
stripe_refund_create(struct stripe *s, const struct stripe_refund_params *p,
    const char *idempotency_key, struct stripe_refund *out)
{
	struct stripe_form f;
	enum pb_err err;

	memset(out, 0, sizeof(*out));
	if (p->payment_intent == NULL || p->amount < 0)
		return stripe_fail(s, PB_EINVAL, "a refund needs a payment intent");
	stripe_form_init(&f);
	(void)stripe_form_add(&f, "payment_intent", p->payment_intent);
	if (p->amount > 0)
		(void)stripe_form_add_int(&f, "amount", p->amount);
	if (p->reason != NULL)
		(void)stripe_form_add(&f, "reason", p->reason);
	(void)stripe_form_add_kv(&f, "metadata", p->metadata, p->nmetadata);
	err = stripe_call(s, "POST", "/v1/refunds", NULL, NULL, &f, idempotency_key, parse, out);
	stripe_form_free(&f);
	return err;
}
