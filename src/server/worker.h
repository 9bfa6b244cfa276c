/* A request worker: accepts FastCGI requests on the shared socket until told to stop. */
#ifndef PB_SERVER_WORKER_H
#define PB_SERVER_WORKER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct conf;

/*
 * Serves requests on listen_fd, and on connections the master hands over on hand (the
 * workers' end of the parking lot, park.h), until child_stop is set or conf->max_requests
 * were served, reporting through scoreboard slot `slot`. When the server stops it first
 * drains (worker.c), accepting from listen_fd too only if drain_queue (the master removes
 * the socket's file, so its queue is the last there will be). Returns the exit status.
 */
int worker_run(const struct conf *c, int listen_fd, int hand, bool drain_queue, size_t slot,
    int64_t started_us);

#endif
