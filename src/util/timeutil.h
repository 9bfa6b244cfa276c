/* Clocks: monotonic for durations and deadlines, real time for timestamps. */
#ifndef PB_UTIL_TIMEUTIL_H
#define PB_UTIL_TIMEUTIL_H

#include <stddef.h>
#include <stdint.h>

#define TIME_ISO8601_LEN 32

/* Microseconds on the monotonic clock. */
int64_t time_mono_us(void);

/* Microseconds since the epoch (UTC). */
int64_t time_real_us(void);

/* Writes "YYYY-MM-DDTHH:MM:SS.uuuuuuZ" for real_us into out (at least TIME_ISO8601_LEN). */
void time_iso8601(int64_t real_us, char *out, size_t outlen);

/* Sleeps for us microseconds, resuming after signals until the time is up. */
void time_sleep_us(int64_t us);

#endif
