/*
 * /v1/customers: create, retrieve, update (including the default payment method),
 * delete, search by metadata user_id, list by email, list every customer a page at a time.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "stripe/internal.h"
#include "util/buf.h"

enum pb_err
stripe_customer_from_json(struct json_object *obj, struct stripe_customer *out)
{
	struct json_object *settings;
	enum pb_err err;

	memset(out, 0, sizeof(*out));
	err = stripe_json_begin(obj, "customer", &out->raw, &out->id);
	if (err != PB_OK)
		return err;
	out->deleted = stripe_json_bool(obj, "deleted");
	out->name = stripe_json_str(obj, "name");
	out->email = stripe_json_str(obj, "email");
	out->description = stripe_json_str(obj, "description");
	settings = stripe_json_obj(obj, "invoice_settings");
	out->default_payment_method = stripe_json_id(settings, "default_payment_method");
	out->metadata = stripe_json_obj(obj, "metadata");
	out->created = stripe_json_int(obj, "created");
	out->livemode = stripe_json_bool(obj, "livemode");
	return PB_OK;
}

void
stripe_customer_free(struct stripe_customer *c)
{
	if (c == NULL)
		return;
	json_object_put(c->raw);
	memset(c, 0, sizeof(*c));
}

void
stripe_customer_list_free(struct stripe_customer_list *l)
{
	if (l == NULL)
		return;
	for (size_t i = 0; i < l->n; i++)
		stripe_customer_free(&l->items[i]);
	free(l->items);
	memset(l, 0, sizeof(*l));
}

static enum pb_err
parse(struct json_object *obj, void *out)
{
	return stripe_customer_from_json(obj, out);
}

static void
add_params(struct stripe_form *f, const struct stripe_customer_params *p)
{
	if (p->name != NULL)
		(void)stripe_form_add(f, "name", p->name);
	if (p->email != NULL)
		(void)stripe_form_add(f, "email", p->email);
	if (p->description != NULL)
		(void)stripe_form_add(f, "description", p->description);
	(void)stripe_form_add_kv(f, "metadata", p->metadata, p->nmetadata);
}

enum pb_err
stripe_customer_create(struct stripe *s, const struct stripe_customer_params *p,
    const char *idempotency_key, struct stripe_customer *out)
{
	struct stripe_form f;
	enum pb_err err;

	memset(out, 0, sizeof(*out));
	stripe_form_init(&f);
	add_params(&f, p);
	err = stripe_call(s, "POST", "/v1/customers", NULL, NULL, &f, idempotency_key, parse,
	    out);
	stripe_form_free(&f);
	return err;
}

enum pb_err
stripe_customer_retrieve(struct stripe *s, const char *id, struct stripe_customer *out)
{
	memset(out, 0, sizeof(*out));
	return stripe_call(s, "GET", "/v1/customers/", id, NULL, NULL, NULL, parse, out);
}

enum pb_err
stripe_customer_update(struct stripe *s, const char *id, const struct stripe_customer_params *p,
    const char *idempotency_key, struct stripe_customer *out)
{
	struct stripe_form f;
	enum pb_err err;

	memset(out, 0, sizeof(*out));
	stripe_form_init(&f);
	add_params(&f, p);
	err = stripe_call(s, "POST", "/v1/customers/", id, NULL, &f, idempotency_key, parse,
	    out);
	stripe_form_free(&f);
	return err;
}

enum pb_err
stripe_customer_set_default_payment_method(struct stripe *s, const char *id,
    const char *payment_method, const char *idempotency_key, struct stripe_customer *out)
{
	struct stripe_form f;
	enum pb_err err;

	memset(out, 0, sizeof(*out));
	stripe_form_init(&f);
	(void)stripe_form_add(&f, "invoice_settings[default_payment_method]",
	    payment_method != NULL ? payment_method : "");
	err = stripe_call(s, "POST", "/v1/customers/", id, NULL, &f, idempotency_key, parse,
	    out);
	stripe_form_free(&f);
	return err;
}

enum pb_err
stripe_customer_delete(struct stripe *s, const char *id, const char *idempotency_key,
    struct stripe_customer *out)
{
	struct stripe_customer tmp;
	enum pb_err err;

	memset(&tmp, 0, sizeof(tmp));
	if (out != NULL)
		memset(out, 0, sizeof(*out));
	err = stripe_call(s, "DELETE", "/v1/customers/", id, NULL, NULL, idempotency_key, parse,
	    &tmp);
	if (err == PB_OK && out != NULL)
		*out = tmp;
	else
		stripe_customer_free(&tmp);
	return err;
}

static enum pb_err
list(struct stripe *s, const char *path, const struct stripe_form *q, const char *start,
    size_t max, bool search, struct stripe_customer_list *out)
{
	void *items;
	enum pb_err err;

	err = stripe_list(s, path, q, start, max, search, parse, sizeof(struct stripe_customer),
	    &items, &out->n, &out->has_more);
	out->items = items;
	if (err != PB_OK)
		stripe_customer_list_free(out);
	return err;
}

/* Appends v as a search query string literal: quotes and backslashes escaped. */
static enum pb_err
search_literal(struct buf *b, const char *v)
{
	enum pb_err err = buf_appendc(b, '\'');

	for (const char *p = v; err == PB_OK && *p != '\0'; p++) {
		if (*p == '\'' || *p == '\\')
			err = buf_appendc(b, '\\');
		if (err == PB_OK)
			err = buf_appendc(b, *p);
	}
	if (err == PB_OK)
		err = buf_appendc(b, '\'');
	return err;
}

enum pb_err
stripe_customer_search_user_id(struct stripe *s, const char *user_id, size_t max,
    struct stripe_customer_list *out)
{
	struct stripe_form f;
	struct buf query;
	enum pb_err err;

	memset(out, 0, sizeof(*out));
	if (user_id == NULL || user_id[0] == '\0')
		return stripe_fail(s, PB_EINVAL, "empty user id");
	buf_init(&query, 1024);
	err = buf_appends(&query, "metadata['user_id']:");
	if (err == PB_OK)
		err = search_literal(&query, user_id);
	if (err != PB_OK) {
		buf_free(&query);
		return stripe_fail(s, err, "user id too long");
	}
	stripe_form_init(&f);
	(void)stripe_form_add(&f, "query", buf_cstr(&query));
	err = list(s, "/v1/customers/search", &f, NULL, max, true, out);
	stripe_form_free(&f);
	buf_free(&query);
	return err;
}

enum pb_err
stripe_customer_list_by_email(struct stripe *s, const char *email, size_t max,
    struct stripe_customer_list *out)
{
	struct stripe_form f;
	enum pb_err err;

	memset(out, 0, sizeof(*out));
	if (email == NULL || email[0] == '\0')
		return stripe_fail(s, PB_EINVAL, "empty email");
	stripe_form_init(&f);
	(void)stripe_form_add(&f, "email", email);
	err = list(s, "/v1/customers", &f, NULL, max, false, out);
	stripe_form_free(&f);
	return err;
}

enum pb_err
stripe_customer_list_page(struct stripe *s, const char *starting_after, size_t limit,
    struct stripe_customer_list *out)
{
	memset(out, 0, sizeof(*out));
	if (limit == 0 || limit > STRIPE_LIST_DEFAULT)
		return stripe_fail(s, PB_EINVAL, "a page is 1 to 100 customers");
	/*
	 * max = limit makes stripe_list stop after one full page (has_more is then Stripe's);
	 * only a short page that still says has_more costs a second request.
	 */
	return list(s, "/v1/customers", NULL, starting_after, limit, false, out);
}
