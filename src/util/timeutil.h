/* Clocks: monotonic for durations and deadlines, real time for timestamps. */
#ifndef PB_UTIL_TIMEUTIL_H
#define PB_UTIL_TIMEUTIL_H

#include <stddef.h>
#include <stdint.h>

#include "util/err.h"

#define TIME_ISO8601_LEN 32

/* Microseconds on the monotonic clock. */
int64_t time_mono_us(void);

/* Microseconds since the epoch (UTC). */
int64_t time_real_us(void);

/* Writes "YYYY-MM-DDTHH:MM:SS.uuuuuuZ" for real_us into out (at least TIME_ISO8601_LEN). */
void time_iso8601(int64_t real_us, char *out, size_t outlen);

/*
 * Parses a point in time given by an operator into Unix seconds: a Unix time (digits
 * only), or ISO 8601 "YYYY-MM-DD", "YYYY-MM-DDTHH:MM[:SS[.fraction]]" ('T' or a space)
 * followed by "Z", "+HH:MM", "-HH:MM", "+HHMM" or nothing (UTC). A fraction is cut to
 * the second. PB_EINVAL for anything else or an impossible date (2025-02-29).
 */
enum pb_err time_parse(const char *s, int64_t *unix_s);

/* Sleeps for us microseconds, resuming after signals until the time is up. */
void time_sleep_us(int64_t us);

#endif
