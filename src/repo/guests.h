/*
 * Guest payments' storage (migration 0005): the Stripe customer of a guest address, and
 * fixed-window rate counters shared by every host. Addresses are compared trimmed and in
 * lower case, computed by MariaDB as users.c does.
 */
#ifndef PB_REPO_GUESTS_H
#define PB_REPO_GUESTS_H

#include <stdint.h>

#include "util/err.h"

struct arena;
struct db;

/* The customer recorded for email, in the arena. PB_ENOTFOUND when none. */
enum pb_err repo_guest_customer_get(struct db *db, struct arena *a, const char *email,
    const char **customer);

/* Records customer for email unless one is recorded already (the first stays). */
enum pb_err repo_guest_customer_put(struct db *db, const char *email, const char *customer);

/*
 * Counts one hit on bucket, whose window is window_s long from its first hit: *hits is
 * the count in the current window with this one, *retry_after_s how long until the
 * window ends (at least 1). One statement; concurrent hits are each counted.
 */
enum pb_err repo_rate_hit(struct db *db, struct arena *a, const char *bucket,
    int64_t window_s, uint32_t *hits, int64_t *retry_after_s);

/* Deletes up to limit buckets whose window ended before older_than_s ago. */
enum pb_err repo_rate_prune(struct db *db, int64_t older_than_s, uint64_t limit,
    uint64_t *deleted);

#endif
