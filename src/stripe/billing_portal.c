/* /v1/billing_portal/sessions: a link to Stripe's customer portal. */
#include "config.h"

#include <string.h>

#include "stripe/internal.h"

enum pb_err
stripe_portal_session_from_json(struct json_object *obj, struct stripe_portal_session *out)
{
	enum pb_err err;

	memset(out, 0, sizeof(*out));
	err = stripe_json_begin(obj, "billing_portal.session", &out->raw, &out->id);
	if (err != PB_OK)
		return err;
	out->url = stripe_json_str(obj, "url");
	out->customer = stripe_json_id(obj, "customer");
	out->return_url = stripe_json_str(obj, "return_url");
	out->created = stripe_json_int(obj, "created");
	if (out->url == NULL) {
		stripe_portal_session_free(out);
		return PB_ESTRIPE;
	}
	return PB_OK;
}

void
stripe_portal_session_free(struct stripe_portal_session *ps)
{
	if (ps == NULL)
		return;
	json_object_put(ps->raw);
	memset(ps, 0, sizeof(*ps));
}

static enum pb_err
parse(struct json_object *obj, void *out)
{
	return stripe_portal_session_from_json(obj, out);
}

enum pb_err
stripe_portal_session_create(struct stripe *s, const char *customer, const char *return_url,
    const char *idempotency_key, struct stripe_portal_session *out)
{
	struct stripe_form f;
	enum pb_err err;

	memset(out, 0, sizeof(*out));
	if (customer == NULL || customer[0] == '\0')
		return stripe_fail(s, PB_EINVAL, "a portal session needs a customer");
	stripe_form_init(&f);
	(void)stripe_form_add(&f, "customer", customer);
	if (return_url != NULL)
		(void)stripe_form_add(&f, "return_url", return_url);
	err = stripe_call(s, "POST", "/v1/billing_portal/sessions", NULL, NULL, &f,
	    idempotency_key, parse, out);
	stripe_form_free(&f);
	return err;
}
