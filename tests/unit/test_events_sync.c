/*
 * The pure parts of the /v1/events sync: the order a page is applied in, how far the
 * cursor may move after a failure, the cursor's text, the --since parser (time_parse)
 * and the --rate parser (pace_parse_rate) it shares with the backfill.
 */
#include "config.h"

#include <stdint.h>

#include "services/events_sync.h"
#include "util/pace.h"
#include "util/timeutil.h"
#include "unit.h"

static void
test_order_oldest_first(void)
{
	/* As Stripe lists them: newest first, two events sharing second 20. */
	const int64_t created[] = { 30, 20, 20, 10 };
	size_t order[4];

	events_sync_order(created, 4, order);
	CU_ASSERT_EQUAL(order[0], 3);
	/* Within one second, Stripe's own order: the one listed later is older. */
	CU_ASSERT_EQUAL(order[1], 2);
	CU_ASSERT_EQUAL(order[2], 1);
	CU_ASSERT_EQUAL(order[3], 0);
	events_sync_order(created, 0, order);	/* an empty page: nothing to do, no crash */
}

static void
test_order_sorts_by_created(void)
{
	/* A page not in created order still applies by created, ties kept stable. */
	const int64_t created[] = { 5, 9, 5, 1, 7 };
	size_t order[5];

	events_sync_order(created, 5, order);
	CU_ASSERT_EQUAL(order[0], 3);	/* 1 */
	CU_ASSERT_EQUAL(order[1], 2);	/* 5, listed later: older */
	CU_ASSERT_EQUAL(order[2], 0);	/* 5 */
	CU_ASSERT_EQUAL(order[3], 4);	/* 7 */
	CU_ASSERT_EQUAL(order[4], 1);	/* 9 */
}

static void
test_done_upto(void)
{
	const int64_t in_order[] = { 40, 30, 20, 10 };
	const int64_t shuffled[] = { 5, 9, 5, 1, 7 };
	size_t order[5];

	events_sync_order(in_order, 4, order);
	CU_ASSERT_EQUAL(events_sync_done_upto(order, 4, 0), 4);	/* none: no move */
	CU_ASSERT_EQUAL(events_sync_done_upto(order, 4, 1), 3);	/* the oldest */
	CU_ASSERT_EQUAL(events_sync_done_upto(order, 4, 3), 1);
	CU_ASSERT_EQUAL(events_sync_done_upto(order, 4, 4), 0);	/* all: the newest */
	/*
	 * Applied by created but listed otherwise: the cursor stops below any listed event
	 * still undone, or the next page (ending_before) would skip it.
	 */
	events_sync_order(shuffled, 5, order);	/* 3, 2, 0, 4, 1 */
	CU_ASSERT_EQUAL(order[3], 4);
	/* 4, listed oldest, is applied fourth: until then the cursor may not move. */
	CU_ASSERT_EQUAL(events_sync_done_upto(order, 5, 1), 5);
	CU_ASSERT_EQUAL(events_sync_done_upto(order, 5, 3), 5);
	CU_ASSERT_EQUAL(events_sync_done_upto(order, 5, 4), 2);	/* 1 is not done yet */
	CU_ASSERT_EQUAL(events_sync_done_upto(order, 5, 5), 0);
	CU_ASSERT_EQUAL(events_sync_done_upto(order, 0, 0), 0);
}

static void
test_cursor_text(void)
{
	char buf[EVENTS_SYNC_CURSOR_MAX], id[EVENTS_SYNC_ID_MAX + 1], tiny[8];
	int64_t created = 0;

	CU_ASSERT_EQUAL(events_sync_cursor_format(1700000000, "evt_1abc", buf, sizeof(buf)),
	    PB_OK);
	CU_ASSERT_STRING_EQUAL(buf, "1700000000 evt_1abc");
	CU_ASSERT_EQUAL(events_sync_cursor_parse(buf, &created, id, sizeof(id)), PB_OK);
	CU_ASSERT_EQUAL(created, 1700000000);
	CU_ASSERT_STRING_EQUAL(id, "evt_1abc");
	CU_ASSERT_EQUAL(events_sync_cursor_format(1700000000, "evt_1abc", tiny, sizeof(tiny)),
	    PB_ETOOBIG);
	CU_ASSERT_STRING_EQUAL(tiny, "");
	CU_ASSERT_EQUAL(events_sync_cursor_parse("evt_1abc", &created, id, sizeof(id)),
	    PB_EINVAL);
	CU_ASSERT_EQUAL(events_sync_cursor_parse("x evt_1", &created, id, sizeof(id)),
	    PB_EINVAL);
	CU_ASSERT_EQUAL(events_sync_cursor_parse("-5 evt_1", &created, id, sizeof(id)),
	    PB_EINVAL);
	CU_ASSERT_EQUAL(events_sync_cursor_parse("5 ", &created, id, sizeof(id)), PB_EINVAL);
	CU_ASSERT_EQUAL(events_sync_cursor_parse("5 a b", &created, id, sizeof(id)), PB_EINVAL);
	CU_ASSERT_EQUAL(events_sync_cursor_parse("5 evt_toolong", &created, id, 8), PB_EINVAL);
	CU_ASSERT_EQUAL(events_sync_cursor_parse("", &created, id, sizeof(id)), PB_EINVAL);
}

static int64_t
parsed(const char *s)
{
	int64_t t = -1;

	return time_parse(s, &t) == PB_OK ? t : -1;
}

static void
test_since_parser(void)
{
	CU_ASSERT_EQUAL(parsed("0"), 0);
	CU_ASSERT_EQUAL(parsed("1700000000"), 1700000000);
	CU_ASSERT_EQUAL(parsed("2023-11-14T22:13:20Z"), 1700000000);
	CU_ASSERT_EQUAL(parsed("2023-11-14 22:13:20Z"), 1700000000);
	CU_ASSERT_EQUAL(parsed("2023-11-14T22:13:20"), 1700000000);	/* no zone: UTC */
	CU_ASSERT_EQUAL(parsed("2023-11-14T22:13:20.999999Z"), 1700000000);
	CU_ASSERT_EQUAL(parsed("2023-11-15T00:13:20+02:00"), 1700000000);
	CU_ASSERT_EQUAL(parsed("2023-11-14T17:13:20-0500"), 1700000000);
	CU_ASSERT_EQUAL(parsed("2023-11-14T22:13Z"), 1699999980);
	CU_ASSERT_EQUAL(parsed("2023-11-14"), 1699920000);
	CU_ASSERT_EQUAL(parsed("1970-01-01"), 0);
	CU_ASSERT_EQUAL(parsed("2024-02-29"), 1709164800);	/* a leap day */
	CU_ASSERT_EQUAL(parsed("2000-03-01T00:00:00Z"), 951868800);
	/* Refused: impossible dates and times, junk, partial forms, signs, spaces. */
	CU_ASSERT_EQUAL(parsed("2023-02-29"), -1);
	CU_ASSERT_EQUAL(parsed("1900-02-29"), -1);
	CU_ASSERT_EQUAL(parsed("2023-13-01"), -1);
	CU_ASSERT_EQUAL(parsed("2023-00-10"), -1);
	CU_ASSERT_EQUAL(parsed("2023-04-31"), -1);
	CU_ASSERT_EQUAL(parsed("2023-11-14T24:00:00Z"), -1);
	CU_ASSERT_EQUAL(parsed("2023-11-14T22:60Z"), -1);
	CU_ASSERT_EQUAL(parsed("2023-11-14T22:13:61Z"), -1);
	CU_ASSERT_EQUAL(parsed("2023-11-14T22:13:20+2"), -1);
	CU_ASSERT_EQUAL(parsed("2023-11-14T22:13:20.Z"), -1);
	CU_ASSERT_EQUAL(parsed("2023-11-14T22"), -1);
	CU_ASSERT_EQUAL(parsed("2023-11-14T"), -1);
	CU_ASSERT_EQUAL(parsed("2023-11-14Z"), -1);
	CU_ASSERT_EQUAL(parsed("20231114"), -1);	/* 8 digits: a date, not a time */
	CU_ASSERT_EQUAL(parsed("1969-12-31"), -1);
	CU_ASSERT_EQUAL(parsed("-5"), -1);
	CU_ASSERT_EQUAL(parsed(" 5"), -1);
	CU_ASSERT_EQUAL(parsed("5 "), -1);
	CU_ASSERT_EQUAL(parsed("yesterday"), -1);
	CU_ASSERT_EQUAL(parsed(""), -1);
	CU_ASSERT_EQUAL(parsed("99999999999999999999"), -1);
}

static void
test_rate_parser(void)
{
	long long r = 0;

	CU_ASSERT_EQUAL(pace_parse_rate("10", 1000, &r), PB_OK);
	CU_ASSERT_EQUAL(r, 10);
	CU_ASSERT_EQUAL(pace_parse_rate("25/s", 1000, &r), PB_OK);
	CU_ASSERT_EQUAL(r, 25);
	CU_ASSERT_EQUAL(pace_parse_rate("0", 1000, &r), PB_EINVAL);
	CU_ASSERT_EQUAL(pace_parse_rate("1001", 1000, &r), PB_EINVAL);
	CU_ASSERT_EQUAL(pace_parse_rate("5/m", 1000, &r), PB_EINVAL);
	CU_ASSERT_EQUAL(pace_parse_rate("/s", 1000, &r), PB_EINVAL);
	CU_ASSERT_EQUAL(pace_parse_rate("", 1000, &r), PB_EINVAL);
}

static void
test_pace_spacing(void)
{
	struct pace p;
	int64_t t0;

	pace_init(&p, 100);	/* 10 ms apart */
	t0 = time_mono_us();
	for (int i = 0; i < 6; i++)
		CU_ASSERT(pace_wait(&p, NULL));
	/* The first goes at once, five more 10 ms apart: 50 ms at least. */
	CU_ASSERT(time_mono_us() - t0 >= 49000);
}

static void
test_pace_stop(void)
{
	static volatile sig_atomic_t stop = 1;
	struct pace p;

	pace_init(&p, 1);
	CU_ASSERT(!pace_wait(&p, &stop));
}

static const struct unit_test tests[] = {
	UNIT_TEST(test_order_oldest_first),
	UNIT_TEST(test_order_sorts_by_created),
	UNIT_TEST(test_done_upto),
	UNIT_TEST(test_cursor_text),
	UNIT_TEST(test_since_parser),
	UNIT_TEST(test_rate_parser),
	UNIT_TEST(test_pace_spacing),
	UNIT_TEST(test_pace_stop),
};

UNIT_MAIN("events_sync", tests)
