/* Exponential backoff with jitter (see backoff.h). */
#include "config.h"

#include "util/backoff.h"
#include "util/rand.h"

int64_t
backoff_us(int64_t first_us, int64_t cap_us, uint32_t n)
{
	int64_t d = first_us;

	/* Stops doubling at the cap, so a large n can neither loop long nor overflow. */
	for (uint32_t i = 1; i < n && d < cap_us; i++)
		d *= 2;
	if (d > cap_us)
		d = cap_us;
	/* Jitter over the upper half: never less than half the schedule, never more. */
	return d / 2 + (int64_t)rand_below((uint64_t)(d / 2) + 1);
}
