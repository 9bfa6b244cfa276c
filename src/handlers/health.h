/* Liveness, readiness and metrics: what load balancers and monitoring ask. */
#ifndef PB_HANDLERS_HEALTH_H
#define PB_HANDLERS_HEALTH_H

#include "http/router.h"

/* GET /v1/healthz: no I/O; version, uptime and pid. */
enum pb_err handle_healthz(struct app *app, struct request *req, struct response *resp);

/*
 * GET /v1/readyz: pings the database within readyz_timeout_ms; 503 database_unavailable
 * (with Retry-After) when it does not answer in time.
 */
enum pb_err handle_readyz(struct app *app, struct request *req, struct response *resp);

/* GET /metrics: Prometheus text. */
enum pb_err handle_metrics(struct app *app, struct request *req, struct response *resp);


#endif
