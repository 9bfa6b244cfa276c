/* The jobs worker: one per host, drains the Stripe outbox in the background. */
#ifndef PB_SERVER_JOBS_H
#define PB_SERVER_JOBS_H

#include <stddef.h>
#include <stdint.h>

struct conf;

/* Runs until child_stop is set; reports liveness through scoreboard slot `slot`. */
int jobs_run(const struct conf *c, size_t slot, int64_t started_us);

#endif
