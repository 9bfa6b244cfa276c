/* Liveness, readiness and metrics: what load balancers and monitoring ask. */
#ifndef PB_HANDLERS_HEALTH_H
#define PB_HANDLERS_HEALTH_H

#include "http/router.h"

/* GET /v1/healthz: no I/O; version, uptime and pid. */
enum pb_err handle_healthz(struct app *app, struct request *req, struct response *resp);

/* GET /v1/readyz: pings the database; 503 database_unavailable when it does not answer. */
enum pb_err handle_readyz(struct app *app, struct request *req, struct response *resp);

/* GET /metrics: Prometheus text. */
enum pb_err handle_metrics(struct app *app, struct request *req, struct response *resp);

#ifdef PB_TEST_ROUTES
/* GET /v1/test/sleep?ms=N: holds the worker, to test request_timeout and graceful stop. */
enum pb_err handle_test_sleep(struct app *app, struct request *req, struct response *resp);

/* POST /v1/test/echo: returns the decoded body, to test the decoders end to end. */
enum pb_err handle_test_echo(struct app *app, struct request *req, struct response *resp);
#endif

#endif
