#include "config.h"

#include <string.h>

#include "handlers/dispatch.h"
#include "handlers/health.h"
#include "http/router.h"
#include "services/app.h"
#include "util/conf.h"

static const struct route routes[] = {
	{ HTTP_GET, "/v1/healthz", handle_healthz, 0, "healthz" },
	{ HTTP_GET, "/v1/readyz", handle_readyz, 0, "readyz" },
	{ HTTP_GET, "/metrics", handle_metrics, 0, "metrics" },
#ifdef PB_TEST_ROUTES
	{ HTTP_GET, "/v1/test/sleep", handle_test_sleep, 0, "test_sleep" },
	{ HTTP_POST, "/v1/test/echo", handle_test_echo, ROUTE_BODY, "test_echo" },
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

	if (r->flags & ROUTE_RAW_BODY)
		return request_read_body(req, max);
	if (r->flags & ROUTE_BODY)
		return request_decode_body(req, max, (int)app->conf->json_max_depth);
	return PB_OK;
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
	err = prepare_body(app, r, req);
	if (err == PB_OK)
		err = r->handler(app, req, resp);
	if (err != PB_OK) {
		response_reset(resp);
		(void)response_error(resp, err, NULL, message_for(err), NULL);
	}
	return router_index(routes, r);
}
