/*
 * nginx's nchan publisher location, as a client (live status: services/live.c): publish a
 * channel's message, read how many messages it holds. One kept-open connection per
 * process. Every call is bounded by the time given; none retries.
 */
#ifndef PB_NCHAN_CLIENT_H
#define PB_NCHAN_CLIENT_H

#include <stddef.h>
#include <stdint.h>

#include "util/err.h"

/*
 * POSTs the JSON body to base/id (base: nchan_publish_url). PB_OK when nchan took it
 * (200, 201, or 202: no subscriber yet), PB_ETIMEOUT past timeout_ms, PB_ESYSTEM
 * otherwise; *status is nchan's answer (0 when there was none).
 */
enum pb_err nchan_publish(const char *base, const char *id, const char *body, size_t len,
    int64_t timeout_ms, long *status);

/*
 * How many messages channel base/id holds: 0 for none or no channel (404). PB_OK, or the
 * error of a call that got no usable answer.
 */
enum pb_err nchan_messages(const char *base, const char *id, int64_t timeout_ms,
    int64_t *messages);

#endif
