/*
 * Exponential backoff with jitter, the one copy: the Stripe client's retries within a
 * call (src/stripe/client.c) and the outbox's retries across attempts
 * (src/services/outbox.c) differ only in their first delay and their cap.
 */
#ifndef PB_UTIL_BACKOFF_H
#define PB_UTIL_BACKOFF_H

#include <stdint.h>

/*
 * The wait before retry n (1, 2, ...; 0 counts as 1) in microseconds: first_us doubled
 * n - 1 times, at most cap_us, then drawn uniformly from [d/2, d] so that callers that
 * failed together do not retry together. first_us and cap_us must be positive.
 */
int64_t backoff_us(int64_t first_us, int64_t cap_us, uint32_t n);

#endif
