/*
 * Router: literal and {param} segments, decoding of params, 404, 405 with Allow, HEAD,
 * trailing slashes, dot segments, length limits, literal-over-param precedence.
 */
#include "config.h"

#include <string.h>

#include "http/router.h"
#include "unit.h"

static enum pb_err
handler(struct app *app, struct request *req, struct response *resp)
{
	(void)app;
	(void)req;
	(void)resp;
	return PB_OK;
}

/* The {id} route comes before the literal "me" on purpose: order must not matter. */
static const struct route table[] = {
	{ HTTP_GET, "/v1/healthz", handler, 0, "healthz" },			/* 0 */
	{ HTTP_POST, "/v1/users", handler, ROUTE_BODY, "users_create" },	/* 1 */
	{ HTTP_OPTIONS, "/v1/users", handler, 0, "users_options" },		/* 2 */
	{ HTTP_GET, "/v1/users/{id}", handler, ROUTE_AUTH, "users_get" },	/* 3 */
	{ HTTP_PATCH, "/v1/users/{id}", handler, ROUTE_AUTH, "users_update" },	/* 4 */
	{ HTTP_DELETE, "/v1/users/{id}", handler, ROUTE_AUTH, "users_delete" },	/* 5 */
	{ HTTP_PUT, "/v1/users/{id}", handler, ROUTE_AUTH, "users_put" },	/* 6 */
	{ HTTP_GET, "/v1/users/me", handler, ROUTE_AUTH, "users_me" },		/* 7 */
	{ HTTP_POST, "/v1/payments/intents/{id}/confirm", handler, 0, "confirm" },	/* 8 */
	{ HTTP_DELETE, "/v1/payments/customer/payment-methods/{pm}", handler, 0, "pm" },	/* 9 */
	{ HTTP_GET, "/v1/a/{x}/{y}", handler, 0, "two" },			/* 10 */
	{ HTTP_GET, "/v1/head", handler, 0, "head_get" },			/* 11 */
	{ HTTP_HEAD, "/v1/head", handler, 0, "head_head" },			/* 12 */
	{ HTTP_GET, "/", handler, 0, "root" },					/* 13 */
	{ HTTP_GET, "/v1/slash/", handler, 0, "slash" },			/* 14 */
	{ HTTP_GET, "/v1/many/{a}/{b}/{c}/{d}/{e}", handler, 0, "too_many" },	/* 15 */
	{ HTTP_GET, "/v1/x/{id}/literal", handler, 0, "x_lit" },		/* 16 */
	{ HTTP_GET, "/v1/x/lit/{id}", handler, 0, "x_param" },			/* 17 */
};

#define NROUTES (sizeof(table) / sizeof(table[0]))

static struct arena arena;
static struct request req;
static char allow[ROUTE_ALLOW_MAX];

/* Matches method and path; returns the result, with the route index or -1 in *idx. */
static enum route_match
route(enum http_method m, const char *path, int *idx)
{
	const struct route *r = &table[1];	/* must be overwritten */
	enum route_match rm;

	memset(&req, 0, sizeof(req));
	req.arena = &arena;
	req.method = m;
	req.path = path;
	req.nparams = 99;
	memset(allow, 'Z', sizeof(allow));
	rm = router_match(table, NROUTES, &req, &r, allow, sizeof(allow));
	*idx = r != NULL ? (int)router_index(table, r) : -1;
	if (rm != ROUTE_FOUND) {
		CU_ASSERT_PTR_NULL(r);
		CU_ASSERT_EQUAL(req.nparams, 0);
	}
	if (rm != ROUTE_METHOD_NOT_ALLOWED)
		CU_ASSERT_STRING_EQUAL(allow, "");
	return rm;
}

static void
found(enum http_method m, const char *path, int want)
{
	int idx;

	CU_ASSERT_EQUAL(route(m, path, &idx), ROUTE_FOUND);
	CU_ASSERT_EQUAL(idx, want);
}

static void
not_found(enum http_method m, const char *path)
{
	int idx;

	CU_ASSERT_EQUAL(route(m, path, &idx), ROUTE_NOT_FOUND);
}

static void
not_allowed(enum http_method m, const char *path, const char *want_allow)
{
	int idx;

	CU_ASSERT_EQUAL(route(m, path, &idx), ROUTE_METHOD_NOT_ALLOWED);
	CU_ASSERT_STRING_EQUAL(allow, want_allow);
}

static void
test_literal(void)
{
	arena_init(&arena, 1 << 20);
	found(HTTP_GET, "/v1/healthz", 0);
	CU_ASSERT_EQUAL(req.nparams, 0);
	found(HTTP_POST, "/v1/users", 1);
	CU_ASSERT_STRING_EQUAL(table[1].name, "users_create");
	found(HTTP_OPTIONS, "/v1/users", 2);
	found(HTTP_GET, "/", 13);
	arena_cleanup(&arena);
}

static void
test_params(void)
{
	arena_init(&arena, 1 << 20);
	found(HTTP_GET, "/v1/users/42", 3);
	CU_ASSERT_EQUAL(req.nparams, 1);
	CU_ASSERT_STRING_EQUAL(req.params[0].name, "id");
	CU_ASSERT_STRING_EQUAL(request_route_param(&req, "id"), "42");
	found(HTTP_POST, "/v1/payments/intents/pi_123/confirm", 8);
	CU_ASSERT_STRING_EQUAL(request_route_param(&req, "id"), "pi_123");
	found(HTTP_DELETE, "/v1/payments/customer/payment-methods/pm_9", 9);
	CU_ASSERT_STRING_EQUAL(request_route_param(&req, "pm"), "pm_9");
	CU_ASSERT_PTR_NULL(request_route_param(&req, "id"));
	found(HTTP_GET, "/v1/a/1/two", 10);
	CU_ASSERT_EQUAL(req.nparams, 2);
	CU_ASSERT_STRING_EQUAL(request_route_param(&req, "x"), "1");
	CU_ASSERT_STRING_EQUAL(request_route_param(&req, "y"), "two");
	found(HTTP_GET, "/v1/users/...", 3);	/* three dots is a name, not a dot segment */
	CU_ASSERT_STRING_EQUAL(request_route_param(&req, "id"), "...");
	arena_cleanup(&arena);
}

static void
test_encoded_params(void)
{
	arena_init(&arena, 1 << 20);
	found(HTTP_GET, "/v1/users/a%20b", 3);
	CU_ASSERT_STRING_EQUAL(request_route_param(&req, "id"), "a b");
	found(HTTP_GET, "/v1/users/a+b", 3);	/* '+' is a space only in forms */
	CU_ASSERT_STRING_EQUAL(request_route_param(&req, "id"), "a+b");
	found(HTTP_GET, "/v1/users/%C3%A9%3f", 3);
	CU_ASSERT_STRING_EQUAL(request_route_param(&req, "id"), "\xc3\xa9?");
	not_found(HTTP_GET, "/v1/users/%2e");
	not_found(HTTP_GET, "/v1/users/a%2Fb");
	not_found(HTTP_GET, "/v1/users/a%2fb");
	not_found(HTTP_GET, "/v1/users/a%00b");
	not_found(HTTP_GET, "/v1/users/%zz");
	not_found(HTTP_GET, "/v1/users/%4");
	not_found(HTTP_GET, "/v1/users/%");
	not_found(HTTP_GET, "/v1/users/%2e%2e");
	not_found(HTTP_GET, "/v1/users/%FF");
	/* Literal segments are compared as sent, never decoded. */
	not_found(HTTP_GET, "/v1/%75sers/42");
	not_found(HTTP_GET, "/v1/healthz%20");
	arena_cleanup(&arena);
}

static void
test_not_found(void)
{
	arena_init(&arena, 1 << 20);
	not_found(HTTP_GET, "/v1/nope");
	not_found(HTTP_GET, "/v1");
	not_found(HTTP_GET, "/v2/healthz");
	not_found(HTTP_GET, "/v1/users/42/extra");
	not_found(HTTP_GET, "/v1/users/");	/* {id} never matches an empty segment */
	not_found(HTTP_GET, "");
	not_found(HTTP_GET, "v1/healthz");
	not_found(HTTP_GET, "/V1/HEALTHZ");
	not_found(HTTP_POST, "/v1/payments/intents//confirm");
	/* A route with more params than a request holds never matches. */
	not_found(HTTP_GET, "/v1/many/1/2/3/4/5");
	arena_cleanup(&arena);
}

static void
test_trailing_slash(void)
{
	arena_init(&arena, 1 << 20);
	not_found(HTTP_GET, "/v1/healthz/");
	not_found(HTTP_POST, "/v1/users/");
	found(HTTP_GET, "/v1/slash/", 14);
	not_found(HTTP_GET, "/v1/slash");
	arena_cleanup(&arena);
}

static void
test_method_not_allowed(void)
{
	arena_init(&arena, 1 << 20);
	not_allowed(HTTP_DELETE, "/v1/healthz", "GET, HEAD");
	not_allowed(HTTP_POST, "/v1/healthz", "GET, HEAD");
	not_allowed(HTTP_PATCH, "/v1/users", "POST, OPTIONS");
	/* Every route that matches the path counts, in the fixed order, once each. */
	not_allowed(HTTP_POST, "/v1/users/42", "GET, HEAD, PUT, PATCH, DELETE");
	not_allowed(HTTP_POST, "/v1/users/me", "GET, HEAD, PUT, PATCH, DELETE");
	not_allowed(HTTP_GET, "/v1/payments/intents/pi_1/confirm", "POST");
	not_allowed(HTTP_HEAD, "/v1/users", "POST, OPTIONS");
	not_allowed(HTTP_OTHER, "/v1/healthz", "GET, HEAD");
	/* HEAD and GET both listed once when a path has both routes. */
	not_allowed(HTTP_POST, "/v1/head", "GET, HEAD");
	arena_cleanup(&arena);
}

static void
test_allow_buffer(void)
{
	const struct route *r;
	char small[5];

	arena_init(&arena, 1 << 20);
	memset(&req, 0, sizeof(req));
	req.arena = &arena;
	req.method = HTTP_POST;
	req.path = "/v1/users/42";
	/* Too small: empty rather than a cut list, and still 405. */
	CU_ASSERT_EQUAL(router_match(table, NROUTES, &req, &r, small, sizeof(small)),
	    ROUTE_METHOD_NOT_ALLOWED);
	CU_ASSERT_STRING_EQUAL(small, "");
	CU_ASSERT_EQUAL(router_match(table, NROUTES, &req, &r, NULL, 0),
	    ROUTE_METHOD_NOT_ALLOWED);
	arena_cleanup(&arena);
}

static void
test_head(void)
{
	arena_init(&arena, 1 << 20);
	found(HTTP_HEAD, "/v1/healthz", 0);
	found(HTTP_HEAD, "/v1/users/42", 3);
	CU_ASSERT_STRING_EQUAL(request_route_param(&req, "id"), "42");
	found(HTTP_HEAD, "/v1/users/me", 7);
	/* A HEAD route of its own wins over the GET one listed before it. */
	found(HTTP_HEAD, "/v1/head", 12);
	found(HTTP_GET, "/v1/head", 11);
	arena_cleanup(&arena);
}

static void
test_precedence(void)
{
	arena_init(&arena, 1 << 20);
	/* The literal wins though {id} comes first in the table. */
	found(HTTP_GET, "/v1/users/me", 7);
	CU_ASSERT_EQUAL(req.nparams, 0);
	/* Where only {id} has the method, "me" is an id. */
	found(HTTP_PATCH, "/v1/users/me", 4);
	CU_ASSERT_STRING_EQUAL(request_route_param(&req, "id"), "me");
	/* Leftmost literal wins: /v1/x/lit/literal matches both 16 and 17. */
	found(HTTP_GET, "/v1/x/lit/literal", 17);
	CU_ASSERT_STRING_EQUAL(request_route_param(&req, "id"), "literal");
	found(HTTP_GET, "/v1/x/other/literal", 16);
	CU_ASSERT_STRING_EQUAL(request_route_param(&req, "id"), "other");
	arena_cleanup(&arena);
}

static void
test_dot_segments(void)
{
	arena_init(&arena, 1 << 20);
	not_found(HTTP_GET, "/v1/./healthz");
	not_found(HTTP_GET, "/v1/../v1/healthz");
	not_found(HTTP_GET, "/v1//healthz");
	not_found(HTTP_GET, "//v1/healthz");
	not_found(HTTP_GET, "/v1/healthz/.");
	not_found(HTTP_GET, "/v1/users/..");
	not_found(HTTP_GET, "/v1/users/.");
	not_found(HTTP_GET, "/./");
	arena_cleanup(&arena);
}

static void
test_length_limit(void)
{
	char path[2100];
	size_t prefix = strlen("/v1/users/");

	arena_init(&arena, 1 << 20);
	memcpy(path, "/v1/users/", prefix);
	memset(path + prefix, 'a', 2048 - prefix);
	path[2048] = '\0';
	found(HTTP_GET, path, 3);
	CU_ASSERT_EQUAL(strlen(request_route_param(&req, "id")), 2048 - prefix);
	path[2048] = 'a';
	path[2049] = '\0';
	not_found(HTTP_GET, path);
	arena_cleanup(&arena);
}

static void
test_params_reset(void)
{
	const struct route *r = NULL;

	arena_init(&arena, 1 << 20);
	found(HTTP_GET, "/v1/a/1/2", 10);
	CU_ASSERT_EQUAL(req.nparams, 2);
	/* A later miss on the same request clears what the earlier match stored. */
	req.path = "/v1/nope";
	CU_ASSERT_EQUAL(router_match(table, NROUTES, &req, &r, allow, sizeof(allow)),
	    ROUTE_NOT_FOUND);
	CU_ASSERT_EQUAL(req.nparams, 0);
	arena_cleanup(&arena);
}

static void
test_arena_exhausted(void)
{
	const struct route *r = NULL;

	/* No room for the param copies: reported as not found, with nothing half-stored. */
	arena_init(&arena, 16);
	memset(&req, 0, sizeof(req));
	req.arena = &arena;
	req.method = HTTP_GET;
	req.path = "/v1/users/42";
	CU_ASSERT_EQUAL(router_match(table, NROUTES, &req, &r, allow, sizeof(allow)),
	    ROUTE_NOT_FOUND);
	CU_ASSERT_PTR_NULL(r);
	CU_ASSERT_EQUAL(req.nparams, 0);
	arena_cleanup(&arena);
}

static const struct unit_test tests[] = {
	UNIT_TEST(test_literal),
	UNIT_TEST(test_params),
	UNIT_TEST(test_encoded_params),
	UNIT_TEST(test_not_found),
	UNIT_TEST(test_trailing_slash),
	UNIT_TEST(test_method_not_allowed),
	UNIT_TEST(test_allow_buffer),
	UNIT_TEST(test_head),
	UNIT_TEST(test_precedence),
	UNIT_TEST(test_dot_segments),
	UNIT_TEST(test_length_limit),
	UNIT_TEST(test_params_reset),
	UNIT_TEST(test_arena_exhausted),
};

UNIT_MAIN("router", tests)
