#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <time.h>

#include "util/timeutil.h"

static int64_t
clock_us(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int64_t
time_mono_us(void)
{
	return clock_us(CLOCK_MONOTONIC);
}

int64_t
time_real_us(void)
{
	return clock_us(CLOCK_REALTIME);
}

void
time_iso8601(int64_t real_us, char *out, size_t outlen)
{
	/* Floor division: before 1970 the fraction must still count forwards from a second. */
	int64_t frac = real_us % 1000000;
	time_t secs = (time_t)(real_us / 1000000 - (frac < 0));
	struct tm tm;

	if (frac < 0)
		frac += 1000000;
	if (gmtime_r(&secs, &tm) == NULL ||
	    snprintf(out, outlen, "%04d-%02d-%02dT%02d:%02d:%02d.%06dZ", tm.tm_year + 1900,
	    tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
	    (int)frac) >= (int)outlen) {
		if (outlen > 0)
			out[0] = '\0';
	}
}

void
time_sleep_us(int64_t us)
{
	struct timespec ts;

	if (us <= 0)
		return;
	ts.tv_sec = (time_t)(us / 1000000);
	ts.tv_nsec = (long)(us % 1000000) * 1000;
	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}
