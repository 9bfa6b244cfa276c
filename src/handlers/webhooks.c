#include "config.h"

#include <json-c/json.h>

#include "handlers/webhooks.h"
#include "services/webhooks.h"

enum pb_err
handle_webhooks_stripe(struct app *app, struct request *req, struct response *resp)
{
	struct webhook_result r;
	struct json_object *data;
	enum pb_err err;

	err = webhooks_receive(app, req->arena, request_param(req, "HTTP_STRIPE_SIGNATURE"),
	    req->body, req->body_len, &r);
	if (err == PB_EINVAL)
		return response_error(resp, PB_EINVAL, r.code, r.message, NULL);
	if (err != PB_OK)
		return err;
	if (r.outcome == METRICS_EVO_FAILED)
		return response_error_status(resp, 500, "event_failed",
		    "the event could not be processed; it will be retried", NULL);
	data = json_object_new_object();
	if (data == NULL)
		return PB_ENOMEM;
	json_object_object_add(data, "received", json_object_new_boolean(1));
	if (r.outcome == METRICS_EVO_DUPLICATE)
		json_object_object_add(data, "duplicate", json_object_new_boolean(1));
	err = response_data(resp, 200, data);
	json_object_put(data);
	return err;
}
