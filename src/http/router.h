/*
 * Routing by method and path against a static table of patterns with {param} segments
 * ("/v1/payments/intents/{id}/confirm"). A path that matches a pattern under another
 * method is 405 with the Allow list; HEAD is served wherever GET is.
 */
#ifndef PB_HTTP_ROUTER_H
#define PB_HTTP_ROUTER_H

#include <stddef.h>

#include "http/request.h"
#include "http/response.h"
#include "util/err.h"

struct app;

#define ROUTE_ALLOW_MAX 64	/* room for every method in router_match's allow */

/*
 * A handler fills resp and returns PB_OK, or returns an error and leaves resp alone, in
 * which case the dispatcher answers with the error envelope for that error.
 */
typedef enum pb_err (*route_handler)(struct app *app, struct request *req, struct response *resp);

enum route_flags {
	ROUTE_BODY = 1 << 0,	/* decode the body (JSON or form) into req->json first */
	ROUTE_RAW_BODY = 1 << 1,	/* read the body unparsed (webhooks) */
	ROUTE_AUTH = 1 << 2,	/* require a valid bearer token */
};

struct route {
	enum http_method method;
	const char *pattern;
	route_handler handler;
	unsigned flags;
	const char *name;	/* metrics label, e.g. "users_create" */
};

enum route_match {
	ROUTE_FOUND,
	ROUTE_NOT_FOUND,
	ROUTE_METHOD_NOT_ALLOWED,
};

/*
 * Finds the route for req->method and req->path in table[0..n). On ROUTE_FOUND stores it
 * in *out, and the decoded {param} values in req->params (a param that decodes to
 * something containing '/' or NUL does not match). On ROUTE_METHOD_NOT_ALLOWED writes the
 * allowed methods ("GET, HEAD, POST") into allow. Segments are compared exactly; a
 * trailing slash is a different path.
 */
enum route_match router_match(const struct route *table, size_t n, struct request *req,
    const struct route **out, char *allow, size_t allowlen);

/* Returns the index of route r in table, for metrics. */
size_t router_index(const struct route *table, const struct route *r);

#endif
