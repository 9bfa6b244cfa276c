/* /v1/orders: decode, call services/orders, encode (see orders.h). */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>

#include "handlers/handlers_private.h"
#include "handlers/orders.h"
#include "services/orders.h"

static struct json_object *
order_json(const struct order_view *o)
{
	struct json_object *j = json_object_new_object();

	if (j == NULL)
		return NULL;
	if (!handlers_json_add_int(j, "id", (int64_t)o->id) ||
	    !(o->product_id != 0 ? handlers_json_add_int(j, "productId", (int64_t)o->product_id) :
		handlers_json_add_str(j, "productId", NULL)) ||
	    !handlers_json_add_str(j, "productName", o->product_name) ||
	    !handlers_json_add_int(j, "quantity", o->quantity) ||
	    !handlers_json_add_int(j, "amount", o->amount) ||
	    !handlers_json_add_int(j, "amountRefunded", o->amount_refunded) ||
	    !handlers_json_add_str(j, "currency", o->currency) ||
	    !handlers_json_add_str(j, "status", o->status) ||
	    !handlers_json_add_str(j, "paymentIntentId", o->payment_intent) ||
	    !handlers_json_add_str(j, "checkoutSessionId", o->checkout_session) ||
	    !handlers_json_add_time(j, "createdAt", o->created_at)) {
		json_object_put(j);
		return NULL;
	}
	return j;
}

static struct json_object *
order_item(const void *item)
{
	return order_json(item);
}

enum pb_err
handle_orders_list(struct app *app, struct request *req, struct response *resp)
{
	struct json_object *fields = NULL;
	struct order_view *v;
	uint64_t after;
	char next[24] = "";
	size_t limit, n;
	bool more;
	enum pb_err err;

	err = handlers_page_id(req, &limit, &after, &fields);
	if (err == PB_EFIELDS)
		return handlers_answer_fields(resp, fields);
	if (err != PB_OK)
		return err;
	err = orders_list(app, req->arena, (uint64_t)req->user_id, after, limit, &v, &n, &more);
	if (err != PB_OK)
		return err;
	if (n > 0)
		(void)snprintf(next, sizeof(next), "%" PRIu64, v[n - 1].id);
	return handlers_answer_items(resp, v, n, sizeof(*v), order_item, more, next);
}

enum pb_err
handle_orders_get(struct app *app, struct request *req, struct response *resp)
{
	struct order_view o;
	struct json_object *j;
	enum pb_err err;

	err = orders_get(app, req->arena, (uint64_t)req->user_id, handlers_route_id(req), &o);
	if (err != PB_OK)
		return err;
	j = order_json(&o);
	if (j == NULL)
		return PB_ENOMEM;
	err = response_data(resp, 200, j);
	json_object_put(j);
	return err;
}
