/* util/backoff: the doubling schedule, its cap, and jitter within [d/2, d]. */
#include "config.h"

#include <stdbool.h>
#include <stdint.h>

#include "util/backoff.h"
#include "unit.h"

#define DRAWS 200

/* Every draw for retry n lies in [d/2, d]. */
static void
check_range(int64_t first, int64_t cap, uint32_t n, int64_t d)
{
	for (int i = 0; i < DRAWS; i++) {
		int64_t w = backoff_us(first, cap, n);

		CU_ASSERT(w >= d / 2);
		CU_ASSERT(w <= d);
	}
}

static void
test_schedule(void)
{
	/* The outbox's: 1 s doubling, at most 1 h. */
	check_range(1000000, 3600000000LL, 0, 1000000);
	check_range(1000000, 3600000000LL, 1, 1000000);
	check_range(1000000, 3600000000LL, 2, 2000000);
	check_range(1000000, 3600000000LL, 3, 4000000);
	check_range(1000000, 3600000000LL, 12, 2048000000);
	check_range(1000000, 3600000000LL, 13, 3600000000LL);
	/* The Stripe client's: 0.5 s doubling, at most 5 s. */
	check_range(500000, 5000000, 1, 500000);
	check_range(500000, 5000000, 4, 4000000);
	check_range(500000, 5000000, 5, 5000000);
}

static void
test_cap(void)
{
	/* Any n, however large, stays at the cap (no overflow, no long loop). */
	check_range(1000000, 3600000000LL, 64, 3600000000LL);
	check_range(1000000, 3600000000LL, UINT32_MAX, 3600000000LL);
	/* A first delay above the cap is cut to it. */
	check_range(10000000, 5000000, 1, 5000000);
}

static void
test_jitter(void)
{
	int64_t w;
	bool differ = false, low = false, high = false;

	/* 200 draws from half a million values: all equal would mean no jitter at all. */
	for (int i = 0; i < DRAWS; i++) {
		w = backoff_us(1000000, 3600000000LL, 1);
		differ = differ || w != backoff_us(1000000, 3600000000LL, 1);
		low = low || w < 750000;
		high = high || w >= 750000;
	}
	CU_ASSERT_TRUE(differ);
	CU_ASSERT_TRUE(low);
	CU_ASSERT_TRUE(high);
}

static const struct unit_test tests[] = {
	UNIT_TEST(test_schedule),
	UNIT_TEST(test_cap),
	UNIT_TEST(test_jitter),
};

UNIT_MAIN("backoff", tests)
