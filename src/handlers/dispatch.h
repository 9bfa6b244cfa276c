/*
 * The route table and the one place that turns a request into a response: route, read or
 * decode the body as the route asks, call the handler, and answer with the error envelope
 * when the handler returns an error.
 */
#ifndef PB_HANDLERS_DISPATCH_H
#define PB_HANDLERS_DISPATCH_H

#include <stddef.h>

#include "http/request.h"
#include "http/response.h"

struct app;

/* Answers req into resp. Returns the route's index, or dispatch_route_count() for none. */
size_t dispatch(struct app *app, struct request *req, struct response *resp);

/* Number of routes; also the index that stands for "no route". */
size_t dispatch_route_count(void);

/* Metrics label of route i; "unmatched" for dispatch_route_count(). */
const char *dispatch_route_name(size_t i);

/* Labels of every route, in index order (static). */
const char *const *dispatch_route_names(void);

#endif
