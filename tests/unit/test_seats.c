/*
 * server/seats: a worker waits for a database seat while the seat holders are merely slow,
 * and is refused at once only when every holder is stuck inside a statement.
 */
#include "config.h"

#include <stdatomic.h>
#include <sys/wait.h>
#include <unistd.h>

#include "repo/db.h"
#include "server/scoreboard.h"
#include "server/seats.h"
#include "unit.h"
#include "util/conf.h"
#include "util/timeutil.h"

#define WAIT_MS 100

static struct conf conf;
static struct db *db;
static struct seats seats;

/* Slots 1 and 2 are the two other workers; with one in reserve, they hold every seat. */
static void
hold(size_t slot, int64_t since_us, int64_t inside_us)
{
	atomic_store(&scoreboard_slot(slot)->db_since_us, since_us);
	atomic_store(&scoreboard_slot(slot)->db_wait_us, inside_us);
}

static enum pb_err
take_within(int64_t budget_us, int64_t *took_us)
{
	int64_t t0 = time_mono_us();
	enum pb_err rc = seats.db.take(seats.db.ctx, t0 + budget_us);

	*took_us = time_mono_us() - t0;
	if (rc == PB_OK)
		seats.db.give(seats.db.ctx);
	return rc;
}

static int
setup(void)
{
	if (conf_defaults(&conf) != PB_OK || scoreboard_init() != PB_OK)
		return 1;
	conf.workers = 3;
	conf.db_reserve_workers = 1;
	conf.db_seat_wait_ms = WAIT_MS;
	for (size_t i = 0; i < 3; i++)
		scoreboard_reset(i);
	if (db_new(&conf, &db) != PB_OK)
		return 1;
	seats_install(&seats, &conf, 0, db);
	return 0;
}

static void
test_a_free_seat_is_taken(void)
{
	int64_t took;

	hold(1, time_mono_us(), time_mono_us());
	hold(2, 0, 0);
	CU_ASSERT_EQUAL(take_within(5000000, &took), PB_OK);
	CU_ASSERT(took < 1000000);
}

static void
test_a_stalled_database_is_refused_at_once(void)
{
	int64_t now = time_mono_us(), took;

	/* Both holders have waited three whole waits for one statement's answer. */
	hold(1, now - 3 * WAIT_MS * 1000, now - 3 * WAIT_MS * 1000);
	hold(2, now - 3 * WAIT_MS * 1000, now - 3 * WAIT_MS * 1000);
	CU_ASSERT_EQUAL(take_within(10000000, &took), PB_EBUSY);
	CU_ASSERT(took < 5000000);	/* not the 10 s it could have waited */
	hold(1, 0, 0);
	hold(2, 0, 0);
}

static void
test_slow_holders_are_waited_for(void)
{
	int64_t now = time_mono_us(), took;

	/* Seats held for 10 s, but between statements (busy, or short of CPU): no stall. */
	hold(1, now - 10000000, 0);
	hold(2, now - 10000000, now - 3 * WAIT_MS * 1000);
	CU_ASSERT_EQUAL(take_within(300000, &took), PB_EBUSY);
	CU_ASSERT(took >= 300000);
	hold(1, 0, 0);
	hold(2, 0, 0);
}

static void
test_a_seat_given_back_meanwhile_is_taken(void)
{
	int64_t now = time_mono_us(), took;
	int status = 0;
	pid_t child;

	hold(1, now - 10000000, 0);
	hold(2, now - 10000000, 0);
	/*
	 * Timed from before the fork: the seat is free only after the child's 50 ms, however
	 * late this process gets to run after it.
	 */
	child = fork();
	CU_ASSERT_FATAL(child >= 0);
	if (child == 0) {
		time_sleep_us(50000);
		atomic_store(&scoreboard_slot(1)->db_since_us, 0);	/* shared memory */
		_exit(0);
	}
	CU_ASSERT_EQUAL(take_within(30000000, &took), PB_OK);
	CU_ASSERT(time_mono_us() - now >= 50000);
	CU_ASSERT(took < 30000000);
	CU_ASSERT_EQUAL(waitpid(child, &status, 0), child);
	hold(2, 0, 0);
}

static void
test_a_statement_is_stamped(void)
{
	CU_ASSERT_PTR_NOT_NULL_FATAL(seats.db.in_statement);
	seats.db.in_statement(seats.db.ctx, true);
	CU_ASSERT(atomic_load(&scoreboard_slot(0)->db_wait_us) > 0);
	seats.db.in_statement(seats.db.ctx, false);
	CU_ASSERT_EQUAL(atomic_load(&scoreboard_slot(0)->db_wait_us), 0);
}

static const struct unit_test tests[] = {
	UNIT_TEST(test_a_free_seat_is_taken),
	UNIT_TEST(test_a_stalled_database_is_refused_at_once),
	UNIT_TEST(test_slow_holders_are_waited_for),
	UNIT_TEST(test_a_seat_given_back_meanwhile_is_taken),
	UNIT_TEST(test_a_statement_is_stamped),
};

int
main(int argc, char **argv)
{
	int rc;

	if (setup() != 0) {
		fprintf(stderr, "test_seats: setup failed\n");
		return 1;
	}
	rc = unit_main_only("seats", tests, sizeof(tests) / sizeof(tests[0]), argv + 1,
	    (size_t)(argc - 1));
	db_free(db);
	scoreboard_cleanup();
	conf_free(&conf);
	return rc;
}
