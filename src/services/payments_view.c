/*
 * An intent's view: from its stored row, and as JSON, as GET /v1/payments/intents/{id}
 * renders its data. Here, apart from services/payments.c, because the live status
 * (services/live.c) publishes the same object and payments.c notes its changes there.
 */
#include "config.h"

#include <string.h>

#include "repo/payments.h"
#include "services/app.h"
#include "services/payments.h"
#include "services/payments_internal.h"
#include "util/json.h"

struct json_object *
payments_view_json(const struct payment_view *v)
{
	struct json_object *o = json_object_new_object(), *err = NULL, *next = NULL;
	bool ok;

	if (o == NULL)
		return NULL;
	if (v->error_code != NULL || v->decline_code != NULL) {
		err = json_object_new_object();
		if (err == NULL || !json_add_str(err, "code", v->error_code) ||
		    !json_add_str(err, "declineCode", v->decline_code) ||
		    !json_add_str(err, "message", v->error_message)) {
			json_object_put(err);
			json_object_put(o);
			return NULL;
		}
	}
	if (v->next_action != NULL) {
		next = json_object_new_object();
		if (next == NULL || !json_add_str(next, "type", v->next_action) ||
		    !json_add_str(next, "redirectUrl", v->next_action_url)) {
			json_object_put(next);
			json_object_put(err);
			json_object_put(o);
			return NULL;
		}
	}
	ok = json_add_str(o, "id", v->id) &&
	    json_add_str(o, "status", v->status) &&
	    json_add_int(o, "amount", v->amount) &&
	    json_add_str(o, "currency", v->currency) &&
	    json_add_str(o, "clientSecret", v->client_secret) &&
	    (v->product_id != 0 ? json_add_int(o, "productId", (int64_t)v->product_id) :
		json_add_str(o, "productId", NULL)) &&
	    json_add_int(o, "quantity", v->quantity) &&
	    json_add_time(o, "createdAt", v->created_at) &&
	    (err != NULL ? json_add(o, "lastPaymentError", err) :
		json_add_str(o, "lastPaymentError", NULL)) &&
	    (next != NULL ? json_add(o, "nextAction", next) :
		json_add_str(o, "nextAction", NULL)) &&
	    json_add(o, "stale", json_object_new_boolean(v->stale));
	if (!ok) {
		json_object_put(o);
		return NULL;
	}
	return o;
}

void
payments_view_from_row(const struct pi_view *row, struct payment_view *out)
{
	memset(out, 0, sizeof(*out));
	out->id = row->stripe_id;
	out->status = row->status;
	out->amount = row->amount;
	out->currency = row->currency;
	out->client_secret = row->client_secret;
	out->product_id = row->product_id;
	out->quantity = row->quantity;
	out->created_at = row->created_at;
	out->error_code = row->last_error_code;
}

enum pb_err
payments_stored_intent(struct app *app, struct arena *a, uint64_t user_id, const char *id,
    struct payment_view *out)
{
	struct pi_view row;
	enum pb_err err;

	err = repo_pi_get(app->db, a, id, user_id, &row);
	if (err == PB_OK)
		payments_view_from_row(&row, out);
	return err;
}
