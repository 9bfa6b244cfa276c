/*
 * Wake-ups across the processes of one pool: a table of sequence counters in a shared
 * mapping, one per hash bucket of a key (a payment intent id). Whoever changed a key bumps
 * its counter after commit; a waiter reads the counter, checks the database, then sleeps
 * on the counter with a futex (FUTEX_WAIT works across processes on a MAP_SHARED mapping)
 * until it moves or the time is up. Two keys may share a bucket: a wake-up means "look
 * again", never "it changed". Without notify_init (paybridgectl, unit tests) bumps do
 * nothing and waits sleep to their end.
 */
#ifndef PB_UTIL_NOTIFY_H
#define PB_UTIL_NOTIFY_H

#include <stdbool.h>
#include <stdint.h>

#include "util/err.h"

#define NOTIFY_BUCKETS 4096

/* Maps the table (in the master, before fork). PB_ESYSTEM when mmap fails. */
enum pb_err notify_init(void);
void notify_cleanup(void);

/* The bucket of key: FNV-1a, modulo NOTIFY_BUCKETS. */
uint32_t notify_bucket(const char *key);

/* The current counter of key's bucket (0 without a table). */
uint32_t notify_seq(const char *key);

/* Moves key's counter on and wakes every process waiting on it. */
void notify_bump(const char *key);

/*
 * Sleeps until key's counter differs from seq or the monotonic clock passes until_us.
 * Returns true when the counter moved (or may have: a signal), false on time out.
 */
bool notify_wait(const char *key, uint32_t seq, int64_t until_us);

#endif
