/* Readiness: can this worker reach the database now, within a bound a load balancer waits. */
#ifndef PB_SERVICES_HEALTH_H
#define PB_SERVICES_HEALTH_H

#include "services/app.h"
#include "util/err.h"

/*
 * PB_OK when the database answers a ping within readyz_timeout_ms. PB_EDB at once, with
 * no I/O, when another worker's database call has been waiting longer than that (the
 * database is stalled: a ping would only wait too); PB_EDB when the ping fails or runs out
 * of time; PB_EBUSY when every database seat stayed taken.
 */
enum pb_err health_ready(struct app *app);

#endif
