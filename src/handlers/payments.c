/* /v1/payments/intents: decode, call services/payments, encode (see payments.h). */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "handlers/handlers_private.h"
#include "handlers/idempotent.h"
#include "handlers/payments.h"
#include "http/form.h"
#include "http/request.h"
#include "services/app.h"
#include "services/catalog.h"
#include "services/guest_payments.h"
#include "services/idempotency.h"
#include "services/live.h"
#include "services/payments.h"
#include "util/conf.h"

#define URL_MAX 2048

/* The {id} of the route when it could be an intent's; NULL (a 404) otherwise. */
static const char *
intent_id(const struct request *req)
{
	const char *id = request_route_param(req, "id");

	return payments_id_valid(id) ? id : NULL;
}

static enum pb_err
answer_intent(struct response *resp, int status, const struct payment_view *v)
{
	struct json_object *o = payments_view_json(v);
	enum pb_err err;

	if (o == NULL)
		return PB_ENOMEM;
	err = response_data(resp, status, o);
	json_object_put(o);
	return err;
}

/* ---- create ---- */

static const char *const create_fields[] = { "productId", "quantity" };

static enum pb_err
create(struct app *app, struct request *req, struct response *resp, const struct idem *idem)
{
	struct json_object *fields = NULL;
	struct payment_problem why;
	struct payment_view v;
	int64_t product = 0, quantity = 0;
	enum pb_err err;

	(void)handlers_int_member(req->json, "productId", true, 1, INT64_MAX, &product, &fields);
	(void)handlers_int_member(req->json, "quantity", true, 1, PAYMENTS_QUANTITY_MAX, &quantity,
	    &fields);
	handlers_only_members(req->json, create_fields, 2, &fields);
	if (fields != NULL)
		return handlers_answer_fields(resp, fields);
	err = payments_create_intent(app, req->arena, (uint64_t)req->user_id, (uint64_t)product,
	    quantity, idem->op_key, &v, &why);
	if (err != PB_OK)
		return handlers_answer_problem(resp, err, &why);
	return answer_intent(resp, 201, &v);
}

enum pb_err
handle_payments_create(struct app *app, struct request *req, struct response *resp)
{
	return handlers_idempotent(app, req, resp, create);
}

/* ---- guests ---- */

static const char *const guest_fields[] = { "email", "name", "productId", "quantity" };

/* A string member: required or not; NULL when absent, with a message when not a string. */
static const char *
string_member(struct json_object *body, const char *name, bool required,
    struct json_object **fields)
{
	struct json_object *v;

	if (body == NULL || !json_object_object_get_ex(body, name, &v)) {
		if (required)
			(void)handlers_field_error(fields, name, "is required");
		return NULL;
	}
	if (v == NULL || !json_object_is_type(v, json_type_string)) {
		(void)handlers_field_error(fields, name, "must be a string");
		return NULL;
	}
	return json_object_get_string(v);
}

enum pb_err
handle_payments_guest_create(struct app *app, struct request *req, struct response *resp)
{
	const char *key = request_header(req, "Idempotency-Key"), *email, *name;
	struct json_object *fields = NULL;
	struct payment_problem why;
	struct payment_view v;
	int64_t product = 0, quantity = 0, retry = 0;
	char seconds[24];
	enum pb_err err;

	if (!app->conf->guest_payments)
		return PB_ENOTFOUND;
	if (key != NULL && !idem_key_ok(key))
		return response_error(resp, PB_EINVAL, "invalid_idempotency_key",
		    "Idempotency-Key must be 1 to 255 printable ASCII characters", NULL);
	email = string_member(req->json, "email", true, &fields);
	name = string_member(req->json, "name", false, &fields);
	(void)handlers_int_member(req->json, "productId", true, 1, INT64_MAX, &product, &fields);
	(void)handlers_int_member(req->json, "quantity", true, 1, PAYMENTS_QUANTITY_MAX, &quantity,
	    &fields);
	handlers_only_members(req->json, guest_fields, 4, &fields);
	if (fields != NULL)
		return handlers_answer_fields(resp, fields);
	err = guest_create_intent(app, req->arena, email, name, req->remote_addr,
	    (uint64_t)product, quantity, key, req->request_id, &v, &why, &retry);
	if (err == PB_ERATE) {
		(void)snprintf(seconds, sizeof(seconds), "%lld", (long long)retry);
		err = response_error(resp, PB_ERATE, "too_many_requests",
		    "too many guest payments from this address or client; try again later", NULL);
		return err == PB_OK ? response_header(resp, "Retry-After", seconds) : err;
	}
	if (err != PB_OK)
		return handlers_answer_problem(resp, err, &why);
	return answer_intent(resp, 201, &v);
}

/* ---- reads ---- */

static struct json_object *
intent_item(const void *item)
{
	return payments_view_json(item);
}

enum pb_err
handle_payments_list(struct app *app, struct request *req, struct response *resp)
{
	struct json_object *fields = NULL;
	struct payment_view *v;
	const char *after;
	size_t limit, n;
	bool more;
	enum pb_err err;

	err = handlers_page_stripe(req, &limit, &after, &fields);
	if (err == PB_EFIELDS)
		return handlers_answer_fields(resp, fields);
	if (err != PB_OK)
		return err;
	err = payments_list_intents(app, req->arena, (uint64_t)req->user_id, after, limit, &v, &n,
	    &more);
	if (err != PB_OK)
		return err;
	return handlers_answer_items(resp, v, n, sizeof(*v), intent_item, more,
	    n > 0 ? v[n - 1].id : NULL);
}

/*
 * ?wait=N&after=STATUS: the long-poll (services/live.h). The answer is the intent as
 * always, with Paybridge-Wait saying what the wait did (none, changed, timeout or
 * refused; refused comes with Retry-After: 1).
 */
enum pb_err
handle_payments_get(struct app *app, struct request *req, struct response *resp)
{
	const char *id = intent_id(req), *wait, *after, *field = NULL;
	struct json_object *fields = NULL;
	struct payment_view v;
	enum live_wait how = LIVE_WAIT_NONE;
	struct form q;
	int seconds = 0;
	enum pb_err err;

	if (id == NULL)
		return PB_ENOTFOUND;
	err = request_query(req, &q);
	if (err != PB_OK)
		return err;
	wait = form_get(&q, "wait");
	after = form_get(&q, "after");
	/* A parameter sent twice is refused, as handlers_page does. */
	if (form_count(&q, "wait") > 1)
		field = "wait";
	else if (form_count(&q, "after") > 1)
		field = "after";
	if (field != NULL || !live_parse_wait(wait, after, &seconds, &field)) {
		(void)handlers_field_error(&fields, field, strcmp(field, "wait") == 0 ?
		    "must be a whole number of seconds from 1" :
		    "must be a payment intent status");
		return handlers_answer_fields(resp, fields);
	}
	err = live_wait_intent(app, req->arena, (uint64_t)req->user_id, id, seconds, after, &v,
	    &how);
	if (err != PB_OK)
		return err;
	err = answer_intent(resp, 200, &v);
	if (err == PB_OK && (wait != NULL || after != NULL))
		err = response_header(resp, "Paybridge-Wait", live_wait_name(how));
	if (err == PB_OK && how == LIVE_WAIT_REFUSED)
		err = response_header(resp, "Retry-After", "1");
	return err;
}

/*
 * GET /v1/payments/intents/{id}/events reaches here only as nginx's nchan authorization
 * subrequest (the subscriber itself is nchan's): 200 to the owner, after publishing the
 * current state (services/payments.h, payments_subscribe). Without nchan (Apache) a
 * client calling it gets the current state once.
 */
enum pb_err
handle_payments_events(struct app *app, struct request *req, struct response *resp)
{
	const char *id = intent_id(req);
	struct payment_view v;
	enum pb_err err;

	if (id == NULL)
		return PB_ENOTFOUND;
	err = payments_subscribe(app, req->arena, (uint64_t)req->user_id, id, &v);
	if (err != PB_OK)
		return err;
	return answer_intent(resp, 200, &v);
}

/* ---- confirm and cancel ---- */

static const char *const confirm_fields[] = { "paymentMethodId", "returnUrl" };
#define NCONFIRM (sizeof(confirm_fields) / sizeof(confirm_fields[0]))

static bool
url_ok(const char *u, size_t len)
{
	return len <= URL_MAX &&
	    (strncmp(u, "https://", 8) == 0 || strncmp(u, "http://", 7) == 0);
}

enum pb_err
handle_payments_confirm(struct app *app, struct request *req, struct response *resp)
{
	const char *id = intent_id(req), *v[NCONFIRM];
	struct json_object *fields = NULL;
	struct payment_problem why;
	struct payment_view out;
	size_t lens[NCONFIRM];
	enum pb_err err;

	if (id == NULL)
		return PB_ENOTFOUND;
	if (handlers_body_fields(req->json, confirm_fields, NCONFIRM, 1, v, lens, &fields) == 0) {
		if (!payments_id_valid(v[0]))
			(void)handlers_field_error(&fields, "paymentMethodId",
			    "must be a payment method id");
		if (v[1] != NULL && !url_ok(v[1], lens[1]))
			(void)handlers_field_error(&fields, "returnUrl", "must be an http(s) URL");
	}
	if (fields != NULL)
		return handlers_answer_fields(resp, fields);
	err = payments_confirm(app, req->arena, (uint64_t)req->user_id, id, v[0], v[1], &out,
	    &why);
	if (err != PB_OK)
		return handlers_answer_problem(resp, err, &why);
	return answer_intent(resp, 200, &out);
}

enum pb_err
handle_payments_cancel(struct app *app, struct request *req, struct response *resp)
{
	const char *id = intent_id(req);
	struct payment_problem why;
	struct payment_view out;
	enum pb_err err;

	if (id == NULL)
		return PB_ENOTFOUND;
	err = payments_cancel(app, req->arena, (uint64_t)req->user_id, id, &out, &why);
	if (err != PB_OK)
		return handlers_answer_problem(resp, err, &why);
	return answer_intent(resp, 200, &out);
}

/* ---- refunds ---- */

static const char *const refund_fields[] = { "amount", "reason" };
static const char *const refund_reasons[] = { "duplicate", "fraudulent",
	"requested_by_customer" };

static enum pb_err
refund(struct app *app, struct request *req, struct response *resp, const struct idem *idem)
{
	const char *id = intent_id(req), *reason = NULL;
	struct json_object *fields = NULL, *data, *r;
	struct payment_problem why;
	struct payment_refund out;
	int64_t amount = 0;
	size_t i;
	enum pb_err err;

	if (id == NULL)
		return PB_ENOTFOUND;
	if (req->user_role == NULL || strcmp(req->user_role, "admin") != 0)
		return PB_EFORBIDDEN;
	(void)handlers_int_member(req->json, "amount", false, 1, CATALOG_AMOUNT_MAX, &amount,
	    &fields);
	if (json_object_object_get_ex(req->json, "reason", &r)) {
		reason = json_object_is_type(r, json_type_string) ? json_object_get_string(r) : "";
		for (i = 0; i < 3 && strcmp(reason, refund_reasons[i]) != 0; i++)
			;
		if (i == 3)
			(void)handlers_field_error(&fields, "reason",
			    "must be duplicate, fraudulent or requested_by_customer");
	}
	handlers_only_members(req->json, refund_fields, 2, &fields);
	if (fields != NULL)
		return handlers_answer_fields(resp, fields);
	err = payments_refund(app, req->arena, req->user_role, id, amount, reason,
	    idem->row_id != 0 ? idem->op_key : NULL, &out, &why);
	if (err != PB_OK)
		return handlers_answer_problem(resp, err, &why);
	data = json_object_new_object();
	if (data == NULL || !handlers_json_add_str(data, "id", out.id) ||
	    !handlers_json_add_str(data, "status", out.status) ||
	    !handlers_json_add_int(data, "amount", out.amount) ||
	    !handlers_json_add_str(data, "currency", out.currency) ||
	    !handlers_json_add_str(data, "paymentIntentId", out.payment_intent)) {
		json_object_put(data);
		return PB_ENOMEM;
	}
	err = response_data(resp, 201, data);
	json_object_put(data);
	return err;
}

enum pb_err
handle_payments_refund(struct app *app, struct request *req, struct response *resp)
{
	return handlers_idempotent(app, req, resp, refund);
}
