#include "config.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "util/strnum.h"
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

/* Reads exactly n digits at *s into *out, advancing *s; false when they are not all digits. */
static bool
digits(const char **s, int n, int *out)
{
	int v = 0;

	for (int i = 0; i < n; i++) {
		if ((*s)[i] < '0' || (*s)[i] > '9')
			return false;
		v = v * 10 + ((*s)[i] - '0');
	}
	*s += n;
	*out = v;
	return true;
}

/* Skips c at *s; false when *s does not start with it. */
static bool
lit(const char **s, char c)
{
	if (**s != c)
		return false;
	(*s)++;
	return true;
}

/* Days from 1970-01-01 to y-m-d in the proleptic Gregorian calendar (H. Hinnant). */
static int64_t
days_from_civil(int64_t y, int m, int d)
{
	int64_t era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

static int
month_days(int y, int m)
{
	static const int days[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;

	return m == 2 && leap ? 29 : days[m - 1];
}

/* "HH:MM[:SS[.fraction]]" then a zone, into seconds of the day and the zone's offset. */
static bool
parse_clock(const char **s, int64_t *secs, int64_t *offset)
{
	int h, mi, sec = 0, oh, om;
	int64_t sign;

	*offset = 0;
	if (!digits(s, 2, &h) || !lit(s, ':') || !digits(s, 2, &mi))
		return false;
	if (lit(s, ':')) {
		if (!digits(s, 2, &sec))
			return false;
		if (lit(s, '.') || lit(s, ',')) {
			if (**s < '0' || **s > '9')
				return false;
			*s += strspn(*s, "0123456789");
		}
	}
	if (h > 23 || mi > 59 || sec > 59)
		return false;
	*secs = (int64_t)h * 3600 + mi * 60 + sec;
	if (lit(s, 'Z') || lit(s, 'z'))
		return true;
	if (**s != '+' && **s != '-')
		return true;	/* no zone: UTC */
	sign = **s == '-' ? -1 : 1;
	(*s)++;
	if (!digits(s, 2, &oh))
		return false;
	(void)lit(s, ':');
	if (!digits(s, 2, &om) || oh > 23 || om > 59)
		return false;
	*offset = sign * (oh * 3600 + om * 60);
	return true;
}

enum pb_err
time_parse(const char *s, int64_t *unix_s)
{
	int y, mo, d;
	int64_t secs = 0, offset = 0;
	long long v;
	size_t n = strspn(s, "0123456789");

	if (n > 0 && s[n] == '\0' && n != 8) {
		/* Digits only: a Unix time (up to 9999-12-31); "20250101" is not one. */
		if (strnum_parse(s, 10, 0, 253402300799LL, &v) != PB_OK)
			return PB_EINVAL;
		*unix_s = v;
		return PB_OK;
	}
	if (!digits(&s, 4, &y) || !lit(&s, '-') || !digits(&s, 2, &mo) || !lit(&s, '-') ||
	    !digits(&s, 2, &d))
		return PB_EINVAL;
	if (y < 1970 || mo < 1 || mo > 12 || d < 1 || d > month_days(y, mo))
		return PB_EINVAL;
	if ((lit(&s, 'T') || lit(&s, 't') || lit(&s, ' ')) &&
	    !parse_clock(&s, &secs, &offset))
		return PB_EINVAL;
	if (*s != '\0')
		return PB_EINVAL;
	/* 10:00+02:00 is 08:00 UTC. */
	*unix_s = days_from_civil(y, mo, d) * 86400 + secs - offset;
	return PB_OK;
}
