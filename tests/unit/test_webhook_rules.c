/*
 * The order-proof rule of webhook effects: newer wins, terminal states stay, and a tie
 * within one second goes to the higher rank whichever event arrives first.
 */
#include "config.h"

#include "services/webhook_rules.h"
#include "unit.h"

#define PI WEBHOOK_OBJ_PAYMENT_INTENT
#define SUB WEBHOOK_OBJ_SUBSCRIPTION
#define CS WEBHOOK_OBJ_CHECKOUT_SESSION

static void
test_newer_wins_older_ignored(void)
{
	CU_ASSERT(webhook_should_apply(PI, "processing", 100, "requires_payment_method", 101, false));
	CU_ASSERT(!webhook_should_apply(PI, "requires_payment_method", 101, "processing", 100, false));
	CU_ASSERT(webhook_should_apply(SUB, "past_due", 100, "active", 200, false));
	CU_ASSERT(!webhook_should_apply(SUB, "active", 200, "past_due", 100, false));
}

static void
test_terminal_never_moves(void)
{
	CU_ASSERT(!webhook_should_apply(PI, "succeeded", 100, "canceled", 200, false));
	CU_ASSERT(!webhook_should_apply(PI, "canceled", 100, "succeeded", 200, false));
	CU_ASSERT(!webhook_should_apply(PI, "succeeded", 100, "processing", 100, false));
	CU_ASSERT(!webhook_should_apply(SUB, "canceled", 100, "active", 300, false));
	CU_ASSERT(!webhook_should_apply(CS, "complete", 100, "expired", 300, false));
	CU_ASSERT(webhook_terminal(PI, "succeeded"));
	CU_ASSERT(!webhook_terminal(PI, "processing"));
	CU_ASSERT(!webhook_terminal(PI, NULL));
}

/* The set SQL's FIND_IN_SET sees is exactly the terminal statuses, every time asked. */
static void
test_terminal_set(void)
{
	CU_ASSERT_STRING_EQUAL(webhook_terminal_set(PI), "canceled,succeeded");
	CU_ASSERT_STRING_EQUAL(webhook_terminal_set(PI), "canceled,succeeded");
	CU_ASSERT_STRING_EQUAL(webhook_terminal_set(CS), "expired,complete");
	CU_ASSERT_STRING_EQUAL(webhook_terminal_set(SUB), "incomplete_expired,canceled");
	CU_ASSERT_PTR_NULL(webhook_terminal_set(WEBHOOK_OBJ__MAX));
}

static void
test_tie_by_rank(void)
{
	/* Both orders of arrival end in the same state. */
	CU_ASSERT(webhook_should_apply(PI, "processing", 100, "succeeded", 100, false));
	CU_ASSERT(!webhook_should_apply(PI, "succeeded", 100, "processing", 100, false));
	CU_ASSERT(webhook_should_apply(PI, "requires_action", 100, "processing", 100, false));
	CU_ASSERT(!webhook_should_apply(PI, "processing", 100, "requires_action", 100, false));
	/* The same status again at the same second changes nothing. */
	CU_ASSERT(!webhook_should_apply(SUB, "active", 100, "active", 100, false));
	CU_ASSERT(webhook_should_apply(SUB, "active", 100, "canceled", 100, false));
	/* A row never changed by an event (created 0) takes any event. */
	CU_ASSERT(webhook_should_apply(CS, "open", 0, "open", 5, false));
	CU_ASSERT(webhook_rank(PI, "nonsense") == 0);
	CU_ASSERT(webhook_rank(PI, "succeeded") > webhook_rank(PI, "canceled"));
}

static void
test_fresh_read_wins_a_tie(void)
{
	/* Our own read at the same stage, in the same second: Stripe's answer is newest. */
	CU_ASSERT(webhook_should_apply(SUB, "active", 100, "active", 100, true));
	CU_ASSERT(webhook_should_apply(PI, "requires_action", 100, "requires_action", 100, true));
	/* It still never goes back a stage, nor back in time, nor out of a terminal state. */
	CU_ASSERT(!webhook_should_apply(PI, "succeeded", 100, "processing", 100, true));
	CU_ASSERT(!webhook_should_apply(PI, "processing", 100, "requires_action", 100, true));
	CU_ASSERT(!webhook_should_apply(SUB, "active", 101, "active", 100, true));
	CU_ASSERT(!webhook_should_apply(SUB, "canceled", 100, "canceled", 100, true));
}

static const struct unit_test tests[] = {
	UNIT_TEST(test_newer_wins_older_ignored),
	UNIT_TEST(test_terminal_never_moves),
	UNIT_TEST(test_terminal_set),
	UNIT_TEST(test_tie_by_rank),
	UNIT_TEST(test_fresh_read_wins_a_tie),
};

UNIT_MAIN("webhook_rules", tests)
