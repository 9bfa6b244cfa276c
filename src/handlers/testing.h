/*
 * Routes that exist only in test builds (configure --enable-test-routes): they let the
 * integration tests hold a worker, echo the decoders' work, and reach services that have
 * no public route yet. Release builds do not compile them.
 */
#ifndef PB_HANDLERS_TESTING_H
#define PB_HANDLERS_TESTING_H

#ifdef PB_TEST_ROUTES
#include "http/router.h"

/* GET /v1/test/sleep?ms=N: holds the worker, to test request_timeout and graceful stop. */
enum pb_err handle_test_sleep(struct app *app, struct request *req, struct response *resp);

/* POST /v1/test/echo: returns the decoded body, to test the decoders end to end. */
enum pb_err handle_test_echo(struct app *app, struct request *req, struct response *resp);

/* POST /v1/test/users/{id}/customer: lazy customer creation, as payment paths will do it. */
enum pb_err handle_test_customer(struct app *app, struct request *req, struct response *resp);
#endif

#endif
