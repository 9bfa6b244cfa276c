#include "config.h"

#include <string.h>
#include <time.h>

#include "util/pace.h"
#include "util/strnum.h"
#include "util/timeutil.h"

void
pace_init(struct pace *p, long long rate)
{
	p->interval_us = rate > 0 ? 1000000LL / rate : 0;
	p->due_us = time_mono_us();
}

bool
pace_wait(struct pace *p, const volatile sig_atomic_t *stop)
{
	struct timespec ts;
	int64_t left, now;

	/* Short sleeps that look at *stop: no SA_RESTART is assumed either way. */
	for (;;) {
		if (stop != NULL && *stop)
			return false;
		left = p->due_us - time_mono_us();
		if (left <= 0)
			break;
		ts.tv_sec = (time_t)(left / 1000000);
		ts.tv_nsec = (long)(left % 1000000) * 1000;
		(void)nanosleep(&ts, NULL);
	}
	now = time_mono_us();
	p->due_us = (now - p->due_us < p->interval_us ? p->due_us : now) + p->interval_us;
	return true;
}

enum pb_err
pace_parse_rate(const char *s, long long max, long long *rate)
{
	char num[32];
	size_t n = strlen(s);

	if (n > 2 && strcmp(s + n - 2, "/s") == 0)
		n -= 2;
	if (n >= sizeof(num))
		return PB_EINVAL;
	memcpy(num, s, n);
	num[n] = '\0';
	return strnum_parse(num, 10, 1, max, rate);
}
