/* /v1/checkout/sessions: create and retrieve a hosted Checkout page. */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "stripe/internal.h"

enum pb_err
stripe_checkout_session_from_json(struct json_object *obj, struct stripe_checkout_session *out)
{
	enum pb_err err;

	memset(out, 0, sizeof(*out));
	err = stripe_json_begin(obj, "checkout.session", &out->raw, &out->id);
	if (err != PB_OK)
		return err;
	out->url = stripe_json_str(obj, "url");
	out->mode = stripe_json_str(obj, "mode");
	out->status = stripe_json_str(obj, "status");
	out->payment_status = stripe_json_str(obj, "payment_status");
	out->customer = stripe_json_id(obj, "customer");
	out->payment_intent = stripe_json_id(obj, "payment_intent");
	out->subscription = stripe_json_id(obj, "subscription");
	out->client_reference_id = stripe_json_str(obj, "client_reference_id");
	out->currency = stripe_json_str(obj, "currency");
	out->amount_total = stripe_json_int(obj, "amount_total");
	out->metadata = stripe_json_obj(obj, "metadata");
	out->created = stripe_json_int(obj, "created");
	out->expires_at = stripe_json_int(obj, "expires_at");
	return PB_OK;
}

void
stripe_checkout_session_free(struct stripe_checkout_session *cs)
{
	if (cs == NULL)
		return;
	json_object_put(cs->raw);
	memset(cs, 0, sizeof(*cs));
}

static enum pb_err
parse(struct json_object *obj, void *out)
{
	return stripe_checkout_session_from_json(obj, out);
}

/* Adds line_items[i]<suffix>=value; keys are short, so they always fit. */
static void
add_li(struct stripe_form *f, size_t i, const char *suffix, const char *value)
{
	char key[96];
	int n = snprintf(key, sizeof(key), "line_items[%zu]%s", i, suffix);

	if (n < 0 || (size_t)n >= sizeof(key)) {
		if (f->err == PB_OK)
			f->err = PB_EINVAL;
		return;
	}
	(void)stripe_form_add(f, key, value);
}

static void
add_li_int(struct stripe_form *f, size_t i, const char *suffix, long long v)
{
	char num[32];

	(void)snprintf(num, sizeof(num), "%lld", v);
	add_li(f, i, suffix, num);
}

/* Adds line_items[i][...] for one item: a Price id, or the price described inline. */
static void
add_line_item(struct stripe_form *f, size_t i, const struct stripe_line_item *li)
{
	if (li->price != NULL) {
		add_li(f, i, "[price]", li->price);
	} else if (li->currency == NULL || li->product_name == NULL || li->unit_amount < 0) {
		if (f->err == PB_OK)
			f->err = PB_EINVAL;
		return;
	} else {
		add_li(f, i, "[price_data][currency]", li->currency);
		add_li(f, i, "[price_data][product_data][name]", li->product_name);
		add_li_int(f, i, "[price_data][unit_amount]", li->unit_amount);
		if (li->recurring_interval != NULL)
			add_li(f, i, "[price_data][recurring][interval]", li->recurring_interval);
	}
	add_li_int(f, i, "[quantity]", li->quantity > 0 ? li->quantity : 1);
}

enum pb_err
stripe_checkout_session_create(struct stripe *s, const struct stripe_checkout_params *p,
    const char *idempotency_key, struct stripe_checkout_session *out)
{
	struct stripe_form f;
	enum pb_err err;

	memset(out, 0, sizeof(*out));
	if (p->mode == NULL || p->success_url == NULL)
		return stripe_fail(s, PB_EINVAL, "a checkout session needs a mode and a success_url");
	stripe_form_init(&f);
	(void)stripe_form_add(&f, "mode", p->mode);
	if (p->customer != NULL)
		(void)stripe_form_add(&f, "customer", p->customer);
	if (p->client_reference_id != NULL)
		(void)stripe_form_add(&f, "client_reference_id", p->client_reference_id);
	(void)stripe_form_add(&f, "success_url", p->success_url);
	if (p->cancel_url != NULL)
		(void)stripe_form_add(&f, "cancel_url", p->cancel_url);
	for (size_t i = 0; i < p->nline_items; i++)
		add_line_item(&f, i, &p->line_items[i]);
	(void)stripe_form_add_kv(&f, "metadata", p->metadata, p->nmetadata);
	if (strcmp(p->mode, "payment") == 0)
		(void)stripe_form_add_kv(&f, "payment_intent_data[metadata]", p->metadata,
		    p->nmetadata);
	else if (strcmp(p->mode, "subscription") == 0)
		(void)stripe_form_add_kv(&f, "subscription_data[metadata]", p->metadata,
		    p->nmetadata);
	err = stripe_call(s, "POST", "/v1/checkout/sessions", NULL, NULL, &f, idempotency_key,
	    parse, out);
	stripe_form_free(&f);
	return err;
}

enum pb_err
stripe_checkout_session_retrieve(struct stripe *s, const char *id,
    struct stripe_checkout_session *out)
{
	memset(out, 0, sizeof(*out));
	return stripe_call(s, "GET", "/v1/checkout/sessions/", id, NULL, NULL, NULL, parse, out);
}
