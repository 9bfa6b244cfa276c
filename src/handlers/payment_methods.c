/*
 * /v1/payments/customer/…: the caller's payment methods and setup intents (see
 * payment_methods.h for the shapes). The rules, ownership included, are in
 * services/payment_methods.c; here only the JSON and the statuses.
 */
#include "config.h"

#include <string.h>

#include "handlers/handlers_private.h"
#include "handlers/payment_methods.h"
#include "services/payment_methods.h"

static const char *const pm_fields[] = { "paymentMethodId" };
#define NPM (sizeof(pm_fields) / sizeof(pm_fields[0]))
static const char *const setup_fields[] = { "usage" };
#define NSETUP (sizeof(setup_fields) / sizeof(setup_fields[0]))

/* Returns a new JSON object for pm (the caller puts it), or NULL when out of memory. */
static struct json_object *
pm_json_new(const struct payment_method *pm)
{
	struct json_object *o = json_object_new_object();

	if (o == NULL)
		return NULL;
	if (!handlers_json_add_str(o, "id", pm->id) ||
	    !handlers_json_add_str(o, "type", pm->type) ||
	    !handlers_json_add_str(o, "brand", pm->brand) ||
	    !handlers_json_add_str(o, "last4", pm->last4) ||
	    !handlers_json_add(o, "expMonth", json_object_new_int64(pm->exp_month)) ||
	    !handlers_json_add(o, "expYear", json_object_new_int64(pm->exp_year)) ||
	    !handlers_json_add_str(o, "funding", pm->funding) ||
	    !handlers_json_add(o, "isDefault", json_object_new_boolean(pm->is_default))) {
		json_object_put(o);
		return NULL;
	}
	return o;
}

/* Answers status with data (taken). */
static enum pb_err
answer(struct response *resp, int status, struct json_object *data)
{
	enum pb_err err;

	if (data == NULL)
		return PB_ENOMEM;
	err = response_data(resp, status, data);
	json_object_put(data);
	return err;
}

/* Answers 422 invalid_fields with fields (taken). */
static enum pb_err
answer_fields(struct response *resp, struct json_object *fields)
{
	enum pb_err err;

	err = response_error(resp, PB_EFIELDS, "invalid_fields", "some fields are invalid",
	    fields);
	json_object_put(fields);
	return err;
}

/* Answers 422 with one field's message. */
static enum pb_err
answer_field(struct response *resp, const char *name, const char *message)
{
	struct json_object *fields = NULL;

	if (!handlers_field_error(&fields, name, message)) {
		json_object_put(fields);
		return PB_ENOMEM;
	}
	return answer_fields(resp, fields);
}

/*
 * The answers every route shares: Stripe away (with Retry-After: our keys make a retry
 * safe) and ids that are not the caller's. Anything else goes to the dispatcher.
 */
static enum pb_err
answer_error(struct response *resp, enum pb_err err)
{
	enum pb_err rc;

	switch (err) {
	case PB_ENOTFOUND:
		return response_error(resp, PB_ENOTFOUND, "not_found", "no such payment method",
		    NULL);
	case PB_ESTRIPE:
		rc = response_error(resp, PB_ESTRIPE, "payment_provider_error",
		    "the payment provider failed; try again shortly", NULL);
		if (rc == PB_OK)
			rc = response_header(resp, "Retry-After", "1");
		return rc;
	case PB_ETIMEOUT:
		/* 503 carries Retry-After by itself (response_error_status). */
		return response_error_status(resp, 503, "payment_provider_unavailable",
		    "the payment provider did not answer in time; try again shortly", NULL);
	default:
		return err;
	}
}

/*
 * Reads {paymentMethodId} into *id: false when the answer (422) is made already, with
 * *err its outcome.
 */
static bool
body_pm_id(struct request *req, struct response *resp, const char **id, enum pb_err *err)
{
	struct json_object *fields = NULL;
	size_t lens[NPM];

	if (handlers_body_fields(req->json, pm_fields, NPM, NPM, id, lens, &fields) > 0) {
		*err = answer_fields(resp, fields);
		return false;
	}
	if (!payment_methods_id_valid(*id)) {
		*err = answer_field(resp, "paymentMethodId",
		    "must be a payment method id (pm_...)");
		return false;
	}
	return true;
}

enum pb_err
handle_payment_methods_list(struct app *app, struct request *req, struct response *resp)
{
	struct payment_method_list l;
	struct json_object *data;
	enum pb_err err;

	err = payment_methods_list(app, req->arena, (uint64_t)req->user_id, &l);
	if (err != PB_OK)
		return answer_error(resp, err);
	data = json_object_new_array_ext((int)l.n);
	for (size_t i = 0; data != NULL && i < l.n; i++) {
		struct json_object *o = pm_json_new(&l.items[i]);

		if (o == NULL || json_object_array_add(data, o) != 0) {
			json_object_put(o);
			json_object_put(data);
			data = NULL;
		}
	}
	return answer(resp, 200, data);
}

enum pb_err
handle_payment_methods_attach(struct app *app, struct request *req, struct response *resp)
{
	struct payment_method pm;
	const char *id, *why;
	bool attached;
	enum pb_err err;

	if (!body_pm_id(req, resp, &id, &err))
		return err;
	err = payment_methods_attach(app, req->arena, (uint64_t)req->user_id, id, &pm, &attached,
	    &why);
	switch (err) {
	case PB_OK:
		return answer(resp, attached ? 201 : 200, pm_json_new(&pm));
	case PB_ECONFLICT:
		return response_error(resp, PB_ECONFLICT, "payment_method_in_use",
		    "this payment method belongs to another customer or can no longer be attached",
		    NULL);
	case PB_EFIELDS:
		/* Stripe refused the card: its message is written for the customer. */
		return answer_field(resp, "paymentMethodId", why != NULL ? why : "was refused");
	default:
		return answer_error(resp, err);
	}
}

enum pb_err
handle_payment_methods_detach(struct app *app, struct request *req, struct response *resp)
{
	struct payment_method pm;
	enum pb_err err;

	/* A malformed id is nobody's: payment_methods_detach says not found without asking. */
	err = payment_methods_detach(app, req->arena, (uint64_t)req->user_id,
	    request_route_param(req, "id"), &pm);
	if (err != PB_OK)
		return answer_error(resp, err);
	return answer(resp, 200, pm_json_new(&pm));
}

enum pb_err
handle_payment_methods_set_default(struct app *app, struct request *req,
    struct response *resp)
{
	struct payment_method pm;
	const char *id;
	enum pb_err err;

	if (!body_pm_id(req, resp, &id, &err))
		return err;
	err = payment_methods_set_default(app, req->arena, (uint64_t)req->user_id, id, &pm);
	if (err != PB_OK)
		return answer_error(resp, err);
	return answer(resp, 200, pm_json_new(&pm));
}

enum pb_err
handle_setup_intents_create(struct app *app, struct request *req, struct response *resp)
{
	struct json_object *fields = NULL, *data;
	struct setup_intent si;
	const char *usage;
	size_t len;
	enum pb_err err;

	if (handlers_body_fields(req->json, setup_fields, NSETUP, 0, &usage, &len, &fields) > 0)
		return answer_fields(resp, fields);
	err = payment_methods_setup_intent(app, req->arena, (uint64_t)req->user_id, usage,
	    request_header(req, "Idempotency-Key"), &si);
	switch (err) {
	case PB_OK:
		break;
	case PB_EFIELDS:
		return answer_field(resp, "usage", "must be off_session or on_session");
	case PB_EINVAL:
		return response_error(resp, PB_EINVAL, "invalid_idempotency_key",
		    "Idempotency-Key must be 1 to 200 printable characters without spaces", NULL);
	case PB_ECONFLICT:
		return response_error(resp, PB_ECONFLICT, "idempotency_key_reused",
		    "this Idempotency-Key was used with another request", NULL);
	default:
		return answer_error(resp, err);
	}
	data = json_object_new_object();
	if (data != NULL && (!handlers_json_add_str(data, "id", si.id) ||
	    !handlers_json_add_str(data, "clientSecret", si.client_secret) ||
	    !handlers_json_add_str(data, "status", si.status) ||
	    !handlers_json_add_str(data, "usage", si.usage))) {
		json_object_put(data);
		data = NULL;
	}
	return answer(resp, 201, data);
}
