/*
 * /v1/products and /v1/prices: what the catalog sync (services/catalog.h) creates and
 * checks. Prices are immutable in Stripe, so there is no price update here: a changed
 * amount is a new price.
 */
#include "config.h"

#include <string.h>

#include "stripe/internal.h"

enum pb_err
stripe_product_from_json(struct json_object *obj, struct stripe_product *out)
{
	enum pb_err err;

	memset(out, 0, sizeof(*out));
	err = stripe_json_begin(obj, "product", &out->raw, &out->id);
	if (err != PB_OK)
		return err;
	out->name = stripe_json_str(obj, "name");
	out->description = stripe_json_str(obj, "description");
	out->active = stripe_json_bool(obj, "active");
	out->metadata = stripe_json_obj(obj, "metadata");
	out->created = stripe_json_int(obj, "created");
	return PB_OK;
}

enum pb_err
stripe_price_from_json(struct json_object *obj, struct stripe_price *out)
{
	struct json_object *recurring;
	enum pb_err err;

	memset(out, 0, sizeof(*out));
	err = stripe_json_begin(obj, "price", &out->raw, &out->id);
	if (err != PB_OK)
		return err;
	out->product = stripe_json_id(obj, "product");
	out->currency = stripe_json_str(obj, "currency");
	out->unit_amount = stripe_json_int(obj, "unit_amount");
	out->type = stripe_json_str(obj, "type");
	recurring = stripe_json_obj(obj, "recurring");
	out->interval = stripe_json_str(recurring, "interval");
	out->interval_count = stripe_json_int(recurring, "interval_count");
	out->active = stripe_json_bool(obj, "active");
	out->metadata = stripe_json_obj(obj, "metadata");
	out->created = stripe_json_int(obj, "created");
	return PB_OK;
}

void
stripe_product_free(struct stripe_product *p)
{
	if (p == NULL)
		return;
	json_object_put(p->raw);
	memset(p, 0, sizeof(*p));
}

void
stripe_price_free(struct stripe_price *p)
{
	if (p == NULL)
		return;
	json_object_put(p->raw);
	memset(p, 0, sizeof(*p));
}

static enum pb_err
parse_product(struct json_object *obj, void *out)
{
	return stripe_product_from_json(obj, out);
}

static enum pb_err
parse_price(struct json_object *obj, void *out)
{
	return stripe_price_from_json(obj, out);
}

enum pb_err
stripe_product_create(struct stripe *s, const struct stripe_product_params *p,
    const char *idempotency_key, struct stripe_product *out)
{
	struct stripe_form f;
	enum pb_err err;

	memset(out, 0, sizeof(*out));
	if (p->name == NULL || p->name[0] == '\0')
		return stripe_fail(s, PB_EINVAL, "a product needs a name");
	stripe_form_init(&f);
	(void)stripe_form_add(&f, "name", p->name);
	if (p->description != NULL)
		(void)stripe_form_add(&f, "description", p->description);
	(void)stripe_form_add_kv(&f, "metadata", p->metadata, p->nmetadata);
	err = stripe_call(s, "POST", "/v1/products", NULL, NULL, &f, idempotency_key,
	    parse_product, out);
	stripe_form_free(&f);
	return err;
}

enum pb_err
stripe_product_retrieve(struct stripe *s, const char *id, struct stripe_product *out)
{
	memset(out, 0, sizeof(*out));
	return stripe_call(s, "GET", "/v1/products/", id, NULL, NULL, NULL, parse_product, out);
}

enum pb_err
stripe_price_create(struct stripe *s, const struct stripe_price_params *p,
    const char *idempotency_key, struct stripe_price *out)
{
	struct stripe_form f;
	enum pb_err err;

	memset(out, 0, sizeof(*out));
	if (p->product == NULL || p->currency == NULL || p->unit_amount < 0 ||
	    (p->interval != NULL && p->interval_count < 1))
		return stripe_fail(s, PB_EINVAL, "a price needs a product, a currency and an amount");
	stripe_form_init(&f);
	(void)stripe_form_add(&f, "product", p->product);
	(void)stripe_form_add_int(&f, "unit_amount", p->unit_amount);
	(void)stripe_form_add(&f, "currency", p->currency);
	if (p->interval != NULL) {
		(void)stripe_form_add(&f, "recurring[interval]", p->interval);
		(void)stripe_form_add_int(&f, "recurring[interval_count]", p->interval_count);
	}
	(void)stripe_form_add_kv(&f, "metadata", p->metadata, p->nmetadata);
	err = stripe_call(s, "POST", "/v1/prices", NULL, NULL, &f, idempotency_key, parse_price,
	    out);
	stripe_form_free(&f);
	return err;
}

enum pb_err
stripe_price_retrieve(struct stripe *s, const char *id, struct stripe_price *out)
{
	memset(out, 0, sizeof(*out));
	return stripe_call(s, "GET", "/v1/prices/", id, NULL, NULL, NULL, parse_price, out);
}
