#include "config.h"

#include <string.h>

#include "handlers/auth.h"
#include "handlers/dispatch.h"
#include "handlers/handlers_private.h"
#include "handlers/health.h"
#include "handlers/checkout.h"
#include "handlers/orders.h"
#include "handlers/payments.h"
#include "handlers/subscriptions.h"
#include "handlers/products.h"
#include "handlers/payment_methods.h"
#include "handlers/testing.h"
#include "handlers/users.h"
#include "handlers/webhooks.h"
#include "http/auth.h"
#include "http/router.h"
#include "services/accounts.h"
#include "services/app.h"
#include "util/conf.h"

static const struct route routes[] = {
	{ HTTP_GET, "/v1/healthz", handle_healthz, 0, "healthz" },
	{ HTTP_GET, "/v1/readyz", handle_readyz, 0, "readyz" },
	{ HTTP_GET, "/metrics", handle_metrics, 0, "metrics" },
	{ HTTP_POST, "/v1/users", handle_users_create, ROUTE_BODY, "users_create" },
	{ HTTP_GET, "/v1/users/me", handle_users_me, ROUTE_AUTH, "users_me" },
	{ HTTP_PATCH, "/v1/users/me", handle_users_update_me, ROUTE_AUTH | ROUTE_BODY,
	    "users_update_me" },
	{ HTTP_DELETE, "/v1/users/me", handle_users_delete_me, ROUTE_AUTH, "users_delete_me" },
	{ HTTP_POST, "/v1/users/me/password", handle_users_password, ROUTE_AUTH | ROUTE_BODY,
	    "users_password" },
	{ HTTP_GET, "/v1/users/{id}", handle_users_get, ROUTE_AUTH, "users_get" },
	{ HTTP_PATCH, "/v1/users/{id}", handle_users_update, ROUTE_AUTH | ROUTE_BODY,
	    "users_update" },
	{ HTTP_DELETE, "/v1/users/{id}", handle_users_delete, ROUTE_AUTH, "users_delete" },
	{ HTTP_POST, "/v1/auth/login", handle_auth_login, ROUTE_BODY, "auth_login" },
	{ HTTP_POST, "/v1/payments/intents", handle_payments_create, ROUTE_AUTH | ROUTE_BODY,
	    "payments_create" },
	{ HTTP_GET, "/v1/payments/intents", handle_payments_list, ROUTE_AUTH, "payments_list" },
	{ HTTP_GET, "/v1/payments/intents/{id}", handle_payments_get, ROUTE_AUTH,
	    "payments_get" },
	{ HTTP_GET, "/v1/payments/intents/{id}/events", handle_payments_events, ROUTE_AUTH,
	    "payments_events" },
	{ HTTP_POST, "/v1/payments/intents/{id}/confirm", handle_payments_confirm,
	    ROUTE_AUTH | ROUTE_BODY, "payments_confirm" },
	{ HTTP_POST, "/v1/payments/intents/{id}/cancel", handle_payments_cancel, ROUTE_AUTH,
	    "payments_cancel" },
	{ HTTP_POST, "/v1/payments/intents/{id}/refunds", handle_payments_refund,
	    ROUTE_AUTH | ROUTE_BODY, "payments_refund" },
	{ HTTP_POST, "/v1/payments/guest/intents", handle_payments_guest_create, ROUTE_BODY,
	    "payments_guest_create" },
	{ HTTP_POST, "/v1/checkout/sessions", handle_checkout_create, ROUTE_AUTH | ROUTE_BODY,
	    "checkout_create" },
	{ HTTP_POST, "/v1/billing-portal/sessions", handle_billing_portal_create,
	    ROUTE_AUTH | ROUTE_BODY, "billing_portal_create" },
	{ HTTP_GET, "/v1/subscriptions", handle_subscriptions_list, ROUTE_AUTH,
	    "subscriptions_list" },
	{ HTTP_POST, "/v1/subscriptions/{id}/cancel", handle_subscriptions_cancel,
	    ROUTE_AUTH | ROUTE_BODY, "subscriptions_cancel" },
	{ HTTP_GET, "/v1/orders", handle_orders_list, ROUTE_AUTH, "orders_list" },
	{ HTTP_GET, "/v1/orders/{id}", handle_orders_get, ROUTE_AUTH, "orders_get" },
	{ HTTP_POST, "/v1/webhooks/stripe", handle_webhooks_stripe, ROUTE_RAW_BODY,
	    "webhooks_stripe" },
	{ HTTP_GET, "/v1/products", handle_products_list, 0, "products_list" },
	{ HTTP_GET, "/v1/products/{id}", handle_products_get, 0, "products_get" },
	{ HTTP_GET, "/v1/payments/customer/payment-methods", handle_payment_methods_list,
	    ROUTE_AUTH, "payment_methods_list" },
	{ HTTP_POST, "/v1/payments/customer/payment-methods", handle_payment_methods_attach,
	    ROUTE_AUTH | ROUTE_BODY, "payment_methods_attach" },
	{ HTTP_DELETE, "/v1/payments/customer/payment-methods/{id}",
	    handle_payment_methods_detach, ROUTE_AUTH, "payment_methods_detach" },
	{ HTTP_PATCH, "/v1/payments/customer/default-payment-method",
	    handle_payment_methods_set_default, ROUTE_AUTH | ROUTE_BODY,
	    "payment_methods_set_default" },
	{ HTTP_POST, "/v1/payments/customer/setup-intents", handle_setup_intents_create,
	    ROUTE_AUTH | ROUTE_BODY, "setup_intents_create" },
#ifdef PB_TEST_ROUTES
	{ HTTP_GET, "/v1/test/sleep", handle_test_sleep, 0, "test_sleep" },
	{ HTTP_POST, "/v1/test/echo", handle_test_echo, ROUTE_BODY, "test_echo" },
	{ HTTP_POST, "/v1/test/users/{id}/customer", handle_test_customer, 0, "test_customer" },
#endif
};

#define NROUTES (sizeof(routes) / sizeof(routes[0]))

static const char *route_names[NROUTES];

size_t
dispatch_route_count(void)
{
	return NROUTES;
}

const char *
dispatch_route_name(size_t i)
{
	return i < NROUTES ? routes[i].name : "unmatched";
}

const char *const *
dispatch_route_names(void)
{
	for (size_t i = 0; i < NROUTES; i++)
		route_names[i] = routes[i].name;
	return route_names;
}

/* Reads or decodes the body as the route asks. */
static enum pb_err
prepare_body(const struct app *app, const struct route *r, struct request *req)
{
	size_t max = (size_t)app->conf->max_body_bytes;

	/* Raw bodies are Stripe's deliveries, with their own limit. */
	if (r->flags & ROUTE_RAW_BODY)
		return request_read_body(req, (size_t)app->conf->stripe_webhook_max_bytes);
	if (r->flags & ROUTE_BODY)
		return request_decode_body(req, max, (int)app->conf->json_max_depth);
	return PB_OK;
}

/*
 * ROUTE_AUTH: a bearer token we signed, whose user still exists with the same
 * token_version. Sets req->user_id and req->user_role (the row's role, in the arena).
 */
static enum pb_err
authenticate(struct app *app, struct request *req)
{
	const char *token;
	struct account user;
	enum pb_err err;

	err = auth_bearer(req, &token);
	if (err != PB_OK)
		return err;
	err = accounts_authenticate(app, req->arena, token, &user);
	if (err != PB_OK)
		return err;
	req->user_id = (int64_t)user.id;
	req->user_role = user.role;
	return PB_OK;
}

/* Answers a failed authentication; RFC 6750 §3 asks for the challenge on 401. */
static void
refuse(struct response *resp, enum pb_err err)
{
	if (err == PB_ECONFIG) {
		(void)handlers_accounts_unavailable(resp);
	} else if (err == PB_EAUTH) {
		(void)response_error(resp, PB_EAUTH, "unauthorized",
		    "a valid bearer token is required", NULL);
		(void)response_header(resp, "WWW-Authenticate", "Bearer realm=\"paybridge\"");
	} else {
		(void)response_error(resp, err, NULL, NULL, NULL);
	}
}

static const char *
message_for(enum pb_err err)
{
	switch (err) {
	case PB_EINVAL:
		return "the request body or query is malformed";
	case PB_ETOOBIG:
		return "the request body is larger than this server accepts";
	case PB_EMEDIA:
		return "send application/json or application/x-www-form-urlencoded";
	default:
		return NULL;
	}
}

size_t
dispatch(struct app *app, struct request *req, struct response *resp)
{
	const struct route *r = NULL;
	char allow[128];
	enum pb_err err;

	switch (router_match(routes, NROUTES, req, &r, allow, sizeof(allow))) {
	case ROUTE_NOT_FOUND:
		(void)response_error(resp, PB_ENOTFOUND, NULL, "no such resource", NULL);
		return NROUTES;
	case ROUTE_METHOD_NOT_ALLOWED:
		(void)response_error(resp, PB_EMETHOD, NULL, NULL, NULL);
		(void)response_header(resp, "Allow", allow);
		return NROUTES;
	case ROUTE_FOUND:
		break;
	}
	/* Before the body: a caller who may not call the route does not get it parsed. */
	if (r->flags & ROUTE_AUTH) {
		err = authenticate(app, req);
		if (err != PB_OK) {
			refuse(resp, err);
			return router_index(routes, r);
		}
	}
	err = prepare_body(app, r, req);
	if (err == PB_OK)
		err = r->handler(app, req, resp);
	if (err != PB_OK) {
		response_reset(resp);
		(void)response_error(resp, err, NULL,
		    err == PB_EINVAL && req->body_problem != NULL ? req->body_problem :
		    message_for(err), NULL);
	}
	return router_index(routes, r);
}
