/*
 * The pure parts of the live status: the long-poll query's rules (services/live.c) and
 * the wake-up table (util/notify.c) across a fork, as the pool's processes use it.
 */
#include "config.h"

#include <sys/wait.h>
#include <unistd.h>

#include "services/live.h"
#include "util/notify.h"
#include "util/timeutil.h"
#include "unit.h"

static void
test_parse_wait(void)
{
	const char *field;
	int s;

	CU_ASSERT(live_parse_wait(NULL, NULL, &s, &field) && s == 0);
	CU_ASSERT(live_parse_wait("1", "succeeded", &s, &field) && s == 1);
	CU_ASSERT(live_parse_wait("25", NULL, &s, &field) && s == 25);
	/* Longer waits are capped, not refused. */
	CU_ASSERT(live_parse_wait("26", NULL, &s, &field) && s == LIVE_WAIT_MAX);
	CU_ASSERT(live_parse_wait("999999999", NULL, &s, &field) && s == LIVE_WAIT_MAX);
	CU_ASSERT(live_parse_wait(NULL, "requires_payment_method", &s, &field) && s == 0);
	static const char *const bad_waits[] = { "0", "-1", "", "abc", "1.5", " 1", "1 ", "+1",
		"99999999999999999999", "0x10" };
	for (size_t i = 0; i < sizeof(bad_waits) / sizeof(bad_waits[0]); i++) {
		CU_ASSERT(!live_parse_wait(bad_waits[i], NULL, &s, &field));
		CU_ASSERT_STRING_EQUAL(field != NULL ? field : "", "wait");
	}
	static const char *const bad_afters[] = { "", "SUCCEEDED", "paid", "succeeded ",
		"requires" };
	for (size_t i = 0; i < sizeof(bad_afters) / sizeof(bad_afters[0]); i++) {
		CU_ASSERT(!live_parse_wait("5", bad_afters[i], &s, &field));
		CU_ASSERT_STRING_EQUAL(field != NULL ? field : "", "after");
	}
	CU_ASSERT(live_status_known("requires_capture"));
	CU_ASSERT(live_status_known("canceled"));
	CU_ASSERT(!live_status_known("cancelled"));
	CU_ASSERT_STRING_EQUAL(live_wait_name(LIVE_WAIT_REFUSED), "refused");
	CU_ASSERT_STRING_EQUAL(live_wait_name(LIVE_WAIT__MAX), "none");
}

static void
test_bucket(void)
{
	/* FNV-1a 32 of "" is its offset basis; of "a" a known value. */
	CU_ASSERT_EQUAL(notify_bucket(""), 2166136261u % NOTIFY_BUCKETS);
	CU_ASSERT_EQUAL(notify_bucket("a"), 0xe40c292cu % NOTIFY_BUCKETS);
	CU_ASSERT(notify_bucket("pi_3Nabc") < NOTIFY_BUCKETS);
	CU_ASSERT_NOT_EQUAL(notify_bucket("pi_1"), notify_bucket("pi_2"));
}

static void
test_no_table(void)
{
	int64_t t0 = time_mono_us();

	/* Without the table bumps do nothing and a wait sleeps its whole time. */
	CU_ASSERT_EQUAL(notify_seq("pi_x"), 0);
	notify_bump("pi_x");
	CU_ASSERT_EQUAL(notify_seq("pi_x"), 0);
	CU_ASSERT(!notify_wait("pi_x", 0, t0 + 20000));
	CU_ASSERT(time_mono_us() - t0 >= 20000);
}

static void
test_wake_across_fork(void)
{
	uint32_t seq;
	int64_t t0;
	pid_t pid;
	int status;

	CU_ASSERT_FATAL(notify_init() == PB_OK);
	seq = notify_seq("pi_live");
	/* Times out while nobody bumps. */
	CU_ASSERT(!notify_wait("pi_live", seq, time_mono_us() + 10000));
	/* A bump already made is seen at once: no lost wake-up. */
	notify_bump("pi_live");
	CU_ASSERT(notify_wait("pi_live", seq, time_mono_us() + 5000000));
	seq = notify_seq("pi_live");
	pid = fork();
	CU_ASSERT_FATAL(pid >= 0);
	if (pid == 0) {
		time_sleep_us(50000);
		notify_bump("pi_live");
		_exit(0);
	}
	t0 = time_mono_us();
	/* Another process's bump wakes this one well before the 5 s bound. */
	CU_ASSERT(notify_wait("pi_live", seq, t0 + 5000000));
	CU_ASSERT(time_mono_us() - t0 < 4000000);
	CU_ASSERT_NOT_EQUAL(notify_seq("pi_live"), seq);
	CU_ASSERT(waitpid(pid, &status, 0) == pid && WIFEXITED(status));
	notify_cleanup();
}

static const struct unit_test tests[] = {
	UNIT_TEST(test_parse_wait),
	UNIT_TEST(test_bucket),
	UNIT_TEST(test_no_table),
	UNIT_TEST(test_wake_across_fork),
};

UNIT_MAIN("live", tests)
