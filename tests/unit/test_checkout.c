/*
 * The pure rules of checkout and subscriptions: which modes are offered, which products
 * fit which mode, and the time a cancel's answer counts as for the stale guard.
 */
#include "config.h"

#include <string.h>

#include "repo/products.h"
#include "services/checkout.h"
#include "services/subscriptions.h"
#include "stripe/client.h"
#include "unit.h"

static void
test_modes(void)
{
	CU_ASSERT_PTR_NULL(checkout_mode_problem("payment"));
	CU_ASSERT_PTR_NULL(checkout_mode_problem("subscription"));
	CU_ASSERT_PTR_NOT_NULL(strstr(checkout_mode_problem("setup"), "setup-intents"));
	CU_ASSERT_PTR_NOT_NULL(checkout_mode_problem("rent"));
	CU_ASSERT_PTR_NOT_NULL(checkout_mode_problem("Payment"));
	CU_ASSERT_PTR_NOT_NULL(checkout_mode_problem(""));
	CU_ASSERT_PTR_NOT_NULL(checkout_mode_problem(NULL));
}

static void
test_products_fit_modes(void)
{
	struct product once = { .active = true, .recurring = false };
	struct product plan = { .active = true, .recurring = true,
		.stripe_price_id = "price_1" };
	struct product unpriced = { .active = true, .recurring = true };
	struct product archived = { .active = false, .recurring = false };

	CU_ASSERT_PTR_NULL(checkout_product_problem(&once, false));
	CU_ASSERT_PTR_NOT_NULL(strstr(checkout_product_problem(&once, true), "one-time"));
	CU_ASSERT_PTR_NULL(checkout_product_problem(&plan, true));
	CU_ASSERT_PTR_NOT_NULL(strstr(checkout_product_problem(&plan, false), "subscription"));
	CU_ASSERT_PTR_NOT_NULL(strstr(checkout_product_problem(&unpriced, true), "Stripe price"));
	CU_ASSERT_PTR_NOT_NULL(checkout_product_problem(&archived, false));
	CU_ASSERT_PTR_NOT_NULL(checkout_product_problem(&archived, true));
}

static void
test_guard_time(void)
{
	struct stripe_subscription s = { .created = 100, .current_period_start = 100 };

	CU_ASSERT_EQUAL(subscriptions_guard_time(&s), 100);
	/* Cancel at period end: canceled_at is the request's time. */
	s.canceled_at = 160;
	CU_ASSERT_EQUAL(subscriptions_guard_time(&s), 160);
	/* Cancel now: ended_at too. */
	s.ended_at = 170;
	CU_ASSERT_EQUAL(subscriptions_guard_time(&s), 170);
	/* A renewal moves the period on past an old cancel request. */
	s = (struct stripe_subscription){ .created = 100, .current_period_start = 2700000,
		.canceled_at = 200 };
	CU_ASSERT_EQUAL(subscriptions_guard_time(&s), 2700000);
	s = (struct stripe_subscription){ 0 };
	CU_ASSERT_EQUAL(subscriptions_guard_time(&s), 0);
}

static const struct unit_test tests[] = {
	UNIT_TEST(test_modes),
	UNIT_TEST(test_products_fit_modes),
	UNIT_TEST(test_guard_time),
};

UNIT_MAIN("checkout", tests)
