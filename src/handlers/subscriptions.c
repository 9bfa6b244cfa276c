/* /v1/subscriptions: decode, call services/subscriptions, encode (subscriptions.h). */
#include "config.h"

#include "handlers/handlers_private.h"
#include "handlers/idempotent.h"
#include "handlers/subscriptions.h"
#include "http/request.h"
#include "services/app.h"
#include "services/idempotency.h"
#include "services/payments.h"
#include "services/subscriptions.h"

static struct json_object *
subscription_json(const struct sub_view *v)
{
	struct json_object *o = json_object_new_object();

	if (o == NULL)
		return NULL;
	if (!handlers_json_add_str(o, "id", v->stripe_id) ||
	    !handlers_json_add_str(o, "status", v->status) ||
	    !(v->product_id != 0 ? handlers_json_add_int(o, "productId", (int64_t)v->product_id) :
		handlers_json_add_str(o, "productId", NULL)) ||
	    !handlers_json_add_int(o, "quantity", v->quantity) ||
	    !handlers_json_add_time(o, "currentPeriodStart", v->period_start) ||
	    !handlers_json_add_time(o, "currentPeriodEnd", v->period_end) ||
	    !handlers_json_add(o, "cancelAtPeriodEnd",
		json_object_new_boolean(v->cancel_at_period_end)) ||
	    !handlers_json_add_time(o, "canceledAt", v->canceled_at) ||
	    !handlers_json_add_time(o, "endedAt", v->ended_at) ||
	    !handlers_json_add_str(o, "latestInvoiceStatus", v->latest_invoice_status) ||
	    !handlers_json_add_time(o, "createdAt", v->created_at)) {
		json_object_put(o);
		return NULL;
	}
	return o;
}

static struct json_object *
subscription_item(const void *item)
{
	return subscription_json(item);
}

struct json_object *
handlers_subscription_summary_json(const struct sub_view *v)
{
	struct json_object *o, *product;

	o = json_object_new_object();
	product = json_object_new_object();
	if (o == NULL || product == NULL ||
	    !(v->product_id != 0 ? handlers_json_add_int(product, "id", (int64_t)v->product_id) :
		handlers_json_add_str(product, "id", NULL)) ||
	    !handlers_json_add_str(product, "name", v->product_name) ||
	    !handlers_json_add_str(o, "id", v->stripe_id) ||
	    !handlers_json_add_str(o, "status", v->status)) {
		json_object_put(product);
		json_object_put(o);
		return NULL;
	}
	if (!handlers_json_add(o, "product", product) ||
	    !handlers_json_add_time(o, "currentPeriodEnd", v->period_end)) {
		json_object_put(o);
		return NULL;
	}
	return o;
}

enum pb_err
handle_subscriptions_list(struct app *app, struct request *req, struct response *resp)
{
	struct json_object *fields = NULL;
	struct sub_view *v;
	const char *after;
	size_t limit, n;
	bool more;
	enum pb_err err;

	err = handlers_page_stripe(req, &limit, &after, &fields);
	if (err == PB_EFIELDS)
		return handlers_answer_fields(resp, fields);
	if (err != PB_OK)
		return err;
	err = subscriptions_list(app, req->arena, (uint64_t)req->user_id, after, limit, &v, &n,
	    &more);
	if (err != PB_OK)
		return err;
	return handlers_answer_items(resp, v, n, sizeof(*v), subscription_item, more,
	    n > 0 ? v[n - 1].stripe_id : NULL);
}

static const char *const cancel_fields[] = { "atPeriodEnd" };

static enum pb_err
cancel(struct app *app, struct request *req, struct response *resp, const struct idem *idem)
{
	const char *id = request_route_param(req, "id");
	struct json_object *fields = NULL, *b = NULL, *o;
	struct payment_problem why;
	struct sub_view v;
	enum pb_err err;

	if (!payments_id_valid(id))
		return PB_ENOTFOUND;
	if (!json_object_object_get_ex(req->json, "atPeriodEnd", &b))
		(void)handlers_field_error(&fields, "atPeriodEnd", "is required");
	else if (b == NULL || !json_object_is_type(b, json_type_boolean))
		(void)handlers_field_error(&fields, "atPeriodEnd", "must be true or false");
	handlers_only_members(req->json, cancel_fields, 1, &fields);
	if (fields != NULL)
		return handlers_answer_fields(resp, fields);
	err = subscriptions_cancel(app, req->arena, (uint64_t)req->user_id, id,
	    json_object_get_boolean(b), idem->row_id != 0 ? idem->op_key : NULL, &v, &why);
	if (err != PB_OK)
		return handlers_answer_problem(resp, err, &why);
	o = subscription_json(&v);
	if (o == NULL)
		return PB_ENOMEM;
	err = response_data(resp, 200, o);
	json_object_put(o);
	return err;
}

enum pb_err
handle_subscriptions_cancel(struct app *app, struct request *req, struct response *resp)
{
	return handlers_idempotent(app, req, resp, cancel);
}
