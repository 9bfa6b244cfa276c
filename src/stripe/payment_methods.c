/*
 * Payment methods: a customer's list (/v1/customers/{id}/payment_methods), retrieve,
 * attach, detach. Card details are never sent from here: the customer's browser gives
 * them to Stripe, we only ever see the pm_ id, brand and last four digits.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "stripe/internal.h"

enum pb_err
stripe_payment_method_from_json(struct json_object *obj, struct stripe_payment_method *out)
{
	struct json_object *card;
	enum pb_err err;

	memset(out, 0, sizeof(*out));
	err = stripe_json_begin(obj, "payment_method", &out->raw, &out->id);
	if (err != PB_OK)
		return err;
	out->type = stripe_json_str(obj, "type");
	out->customer = stripe_json_id(obj, "customer");
	card = stripe_json_obj(obj, "card");
	out->card_brand = stripe_json_str(card, "brand");
	out->card_last4 = stripe_json_str(card, "last4");
	out->card_funding = stripe_json_str(card, "funding");
	out->card_exp_month = stripe_json_int(card, "exp_month");
	out->card_exp_year = stripe_json_int(card, "exp_year");
	out->metadata = stripe_json_obj(obj, "metadata");
	out->created = stripe_json_int(obj, "created");
	return PB_OK;
}

void
stripe_payment_method_free(struct stripe_payment_method *pm)
{
	if (pm == NULL)
		return;
	json_object_put(pm->raw);
	memset(pm, 0, sizeof(*pm));
}

void
stripe_payment_method_list_free(struct stripe_payment_method_list *l)
{
	if (l == NULL)
		return;
	for (size_t i = 0; i < l->n; i++)
		stripe_payment_method_free(&l->items[i]);
	free(l->items);
	memset(l, 0, sizeof(*l));
}

static enum pb_err
parse(struct json_object *obj, void *out)
{
	return stripe_payment_method_from_json(obj, out);
}

enum pb_err
stripe_payment_method_list(struct stripe *s, const char *customer, const char *type,
    size_t max, struct stripe_payment_method_list *out)
{
	char path[STRIPE_PATH_MAX];
	struct stripe_form f;
	void *items;
	enum pb_err err;

	memset(out, 0, sizeof(*out));
	if (stripe_path(path, sizeof(path), "/v1/customers/", customer, "/payment_methods") !=
	    PB_OK)
		return stripe_fail(s, PB_EINVAL, "invalid customer id");
	stripe_form_init(&f);
	if (type != NULL)
		(void)stripe_form_add(&f, "type", type);
	err = stripe_list(s, path, &f, NULL, max, false, parse,
	    sizeof(struct stripe_payment_method), &items, &out->n, &out->has_more);
	out->items = items;
	stripe_form_free(&f);
	if (err != PB_OK)
		stripe_payment_method_list_free(out);
	return err;
}

enum pb_err
stripe_payment_method_retrieve(struct stripe *s, const char *id,
    struct stripe_payment_method *out)
{
	memset(out, 0, sizeof(*out));
	return stripe_call(s, "GET", "/v1/payment_methods/", id, NULL, NULL, NULL, parse, out);
}

enum pb_err
stripe_payment_method_attach(struct stripe *s, const char *id, const char *customer,
    const char *idempotency_key, struct stripe_payment_method *out)
{
	struct stripe_form f;
	enum pb_err err;

	memset(out, 0, sizeof(*out));
	if (customer == NULL || customer[0] == '\0')
		return stripe_fail(s, PB_EINVAL, "attaching needs a customer");
	stripe_form_init(&f);
	(void)stripe_form_add(&f, "customer", customer);
	err = stripe_call(s, "POST", "/v1/payment_methods/", id, "/attach", &f,
	    idempotency_key, parse, out);
	stripe_form_free(&f);
	return err;
}

enum pb_err
stripe_payment_method_detach(struct stripe *s, const char *id, const char *idempotency_key,
    struct stripe_payment_method *out)
{
	memset(out, 0, sizeof(*out));
	return stripe_call(s, "POST", "/v1/payment_methods/", id, "/detach", NULL,
	    idempotency_key, parse, out);
}
