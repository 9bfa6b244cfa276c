/* /v1/checkout/sessions and /v1/billing-portal/sessions: decode, services/checkout, encode. */
#include "config.h"

#include <string.h>

#include "handlers/checkout.h"
#include "handlers/handlers_private.h"
#include "handlers/idempotent.h"
#include "http/request.h"
#include "services/app.h"
#include "services/checkout.h"
#include "services/idempotency.h"
#include "services/payments.h"

static const char *const create_fields[] = { "mode", "productId", "quantity" };

static enum pb_err
create(struct app *app, struct request *req, struct response *resp, const struct idem *idem)
{
	struct json_object *fields = NULL, *data, *m;
	struct payment_problem why;
	struct checkout_view v;
	int64_t product = 0, quantity = 0;
	const char *mode = NULL;
	enum pb_err err;

	(void)handlers_int_member(req->json, "productId", true, 1, INT64_MAX, &product, &fields);
	(void)handlers_int_member(req->json, "quantity", true, 1, PAYMENTS_QUANTITY_MAX, &quantity,
	    &fields);
	if (!json_object_object_get_ex(req->json, "mode", &m))
		(void)handlers_field_error(&fields, "mode", "is required");
	else if (m == NULL || !json_object_is_type(m, json_type_string))
		(void)handlers_field_error(&fields, "mode", "must be payment or subscription");
	else
		mode = json_object_get_string(m);
	handlers_only_members(req->json, create_fields, 3, &fields);
	if (fields != NULL)
		return handlers_answer_fields(resp, fields);
	err = checkout_create_session(app, req->arena, (uint64_t)req->user_id, (uint64_t)product,
	    quantity, mode, idem->op_key, &v, &why);
	if (err != PB_OK)
		return handlers_answer_problem(resp, err, &why);
	data = json_object_new_object();
	if (data == NULL || !handlers_json_add_str(data, "id", v.id) ||
	    !handlers_json_add_str(data, "url", v.url) ||
	    !handlers_json_add_str(data, "mode", v.mode) ||
	    !handlers_json_add_time(data, "expiresAt", v.expires_at * 1000000)) {
		json_object_put(data);
		return PB_ENOMEM;
	}
	err = response_data(resp, 201, data);
	json_object_put(data);
	return err;
}

enum pb_err
handle_checkout_create(struct app *app, struct request *req, struct response *resp)
{
	return handlers_idempotent(app, req, resp, create);
}

enum pb_err
handle_billing_portal_create(struct app *app, struct request *req, struct response *resp)
{
	struct json_object *fields = NULL, *data;
	struct payment_problem why;
	const char *url;
	enum pb_err err;

	/* No body, or {}: nothing the caller says changes where the portal leads. */
	handlers_only_members(req->json, NULL, 0, &fields);
	if (fields != NULL)
		return handlers_answer_fields(resp, fields);
	err = checkout_portal_session(app, req->arena, (uint64_t)req->user_id, &url, &why);
	if (err != PB_OK)
		return handlers_answer_problem(resp, err, &why);
	data = json_object_new_object();
	if (data == NULL || !handlers_json_add_str(data, "url", url)) {
		json_object_put(data);
		return PB_ENOMEM;
	}
	err = response_data(resp, 201, data);
	json_object_put(data);
	return err;
}
