/*
 * The pure rules of services/catalog: slug, name, description, amount, currency, the
 * recurring terms and Stripe ids, and the product JSON (public and internal). Products
 * against a real database and the Stripe emulator are in tests/integration/
 * (test_products.c, products-test.sh).
 */
#include "config.h"

#include <string.h>

#include "../unit/unit.h"
#include "services/catalog.h"

/* A valid one-time product to vary. */
static struct product
good(void)
{
	struct product p;

	memset(&p, 0, sizeof(p));
	p.id = 7;
	p.slug = "pro-plan-2";
	p.name = "Pro plan";
	p.description = "Everything.\nAnd more.";
	p.amount = 1999;
	p.currency = "usd";
	p.active = true;
	return p;
}

static void
test_slug(void)
{
	char longest[CATALOG_SLUG_MAX + 1], too_long[CATALOG_SLUG_MAX + 2];
	static const char *const bad[] = {
		"", "Pro", "pro plan", "pro_plan", "pro.plan", "pro/plan", "caf\xc3\xa9", "a\n",
	};

	CU_ASSERT_PTR_NULL(catalog_check_slug("pro"));
	CU_ASSERT_PTR_NULL(catalog_check_slug("a"));
	CU_ASSERT_PTR_NULL(catalog_check_slug("2024"));
	CU_ASSERT_PTR_NULL(catalog_check_slug("-a-0-"));
	CU_ASSERT_PTR_NOT_NULL(catalog_check_slug(NULL));
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		CU_ASSERT_PTR_NOT_NULL(catalog_check_slug(bad[i]));
	memset(longest, 'a', sizeof(longest) - 1);
	longest[sizeof(longest) - 1] = '\0';
	CU_ASSERT_PTR_NULL(catalog_check_slug(longest));
	memset(too_long, 'a', sizeof(too_long) - 1);
	too_long[sizeof(too_long) - 1] = '\0';
	CU_ASSERT_PTR_NOT_NULL(catalog_check_slug(too_long));
}

static void
test_name_and_description(void)
{
	char name[CATALOG_NAME_MAX * 2 + 1], desc[CATALOG_DESCRIPTION_MAX + 2];

	CU_ASSERT_PTR_NULL(catalog_check_name("Pro"));
	CU_ASSERT_PTR_NOT_NULL(catalog_check_name(NULL));
	CU_ASSERT_PTR_NOT_NULL(catalog_check_name(""));
	CU_ASSERT_PTR_NOT_NULL(catalog_check_name("two\nlines"));
	CU_ASSERT_PTR_NOT_NULL(catalog_check_name("bad\xff"));
	/* 200 characters of two bytes each are fine; one more is not. */
	for (size_t i = 0; i < CATALOG_NAME_MAX; i++)
		memcpy(name + 2 * i, "\xc3\xa9", 2);
	name[CATALOG_NAME_MAX * 2] = '\0';
	CU_ASSERT_PTR_NULL(catalog_check_name(name));
	name[CATALOG_NAME_MAX * 2 - 1] = '\0';
	memcpy(name + CATALOG_NAME_MAX * 2 - 2, "xy", 3);
	CU_ASSERT_PTR_NOT_NULL(catalog_check_name(name));

	CU_ASSERT_PTR_NULL(catalog_check_description(NULL));
	CU_ASSERT_PTR_NULL(catalog_check_description("line one\n\tline two"));
	CU_ASSERT_PTR_NOT_NULL(catalog_check_description("bell\a"));
	CU_ASSERT_PTR_NOT_NULL(catalog_check_description("del\x7f"));
	CU_ASSERT_PTR_NOT_NULL(catalog_check_description("\xc0\xaf"));
	memset(desc, 'd', sizeof(desc) - 1);
	desc[sizeof(desc) - 1] = '\0';
	CU_ASSERT_PTR_NOT_NULL(catalog_check_description(desc));
	desc[CATALOG_DESCRIPTION_MAX] = '\0';
	CU_ASSERT_PTR_NULL(catalog_check_description(desc));
}

static void
test_amount_and_currency(void)
{
	static const char *const bad[] = { "", "us", "usdd", "USD", "Usd", "u1d", "us ", "\xc3\xa9u" };

	CU_ASSERT_PTR_NULL(catalog_check_amount(0));
	CU_ASSERT_PTR_NULL(catalog_check_amount(CATALOG_STRIPE_MIN_CHARGE - 1));
	CU_ASSERT_PTR_NULL(catalog_check_amount(CATALOG_AMOUNT_MAX));
	CU_ASSERT_PTR_NOT_NULL(catalog_check_amount(-1));
	CU_ASSERT_PTR_NOT_NULL(catalog_check_amount(CATALOG_AMOUNT_MAX + 1));
	CU_ASSERT_PTR_NOT_NULL(catalog_check_amount(INT64_MIN));
	CU_ASSERT_PTR_NULL(catalog_check_currency("usd"));
	CU_ASSERT_PTR_NULL(catalog_check_currency("eur"));
	CU_ASSERT_PTR_NOT_NULL(catalog_check_currency(NULL));
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		CU_ASSERT_PTR_NOT_NULL(catalog_check_currency(bad[i]));
}

static void
test_terms(void)
{
	static const struct {
		const char *interval;
		uint32_t ok, too_many;
	} limits[] = { { "day", 1095, 1096 }, { "week", 156, 157 }, { "month", 36, 37 },
		{ "year", 3, 4 } };
	struct catalog_problems pr;
	struct product p = good();

	CU_ASSERT_TRUE(catalog_check(&p, &pr));
	/* One-time: neither an interval nor a count. */
	p.interval = "month";
	CU_ASSERT_FALSE(catalog_check(&p, &pr));
	CU_ASSERT_PTR_NOT_NULL(pr.interval);
	CU_ASSERT_PTR_NULL(pr.interval_count);
	p = good();
	p.interval_count = 1;
	CU_ASSERT_FALSE(catalog_check(&p, &pr));
	CU_ASSERT_PTR_NOT_NULL(pr.interval_count);
	/* Recurring: an interval is required, then a count from 1. */
	p = good();
	p.recurring = true;
	p.interval_count = 1;
	CU_ASSERT_FALSE(catalog_check(&p, &pr));
	CU_ASSERT_PTR_NOT_NULL(pr.interval);
	p.interval = "fortnight";
	CU_ASSERT_FALSE(catalog_check(&p, &pr));
	CU_ASSERT_PTR_NOT_NULL(pr.interval);
	p.interval = "Month";
	CU_ASSERT_FALSE(catalog_check(&p, &pr));
	p.interval = "month";
	p.interval_count = 0;
	CU_ASSERT_FALSE(catalog_check(&p, &pr));
	CU_ASSERT_PTR_NULL(pr.interval);
	CU_ASSERT_PTR_NOT_NULL(pr.interval_count);
	for (size_t i = 0; i < sizeof(limits) / sizeof(limits[0]); i++) {
		p.interval = limits[i].interval;
		p.interval_count = 1;
		CU_ASSERT_TRUE(catalog_check(&p, &pr));
		p.interval_count = limits[i].ok;
		CU_ASSERT_TRUE(catalog_check(&p, &pr));
		p.interval_count = limits[i].too_many;
		CU_ASSERT_FALSE(catalog_check(&p, &pr));
		CU_ASSERT_PTR_NOT_NULL(pr.interval_count);
	}
}

static void
test_every_problem_at_once(void)
{
	struct catalog_problems pr;
	struct product p;

	memset(&p, 0, sizeof(p));
	p.amount = -5;
	p.currency = "USD";
	p.description = "ok";
	p.stripe_product_id = "price_1";
	p.stripe_price_id = "price_1;DROP";
	CU_ASSERT_FALSE(catalog_check(&p, &pr));
	CU_ASSERT_PTR_NOT_NULL(pr.slug);
	CU_ASSERT_PTR_NOT_NULL(pr.name);
	CU_ASSERT_PTR_NULL(pr.description);
	CU_ASSERT_PTR_NOT_NULL(pr.amount);
	CU_ASSERT_PTR_NOT_NULL(pr.currency);
	CU_ASSERT_PTR_NULL(pr.interval);
	CU_ASSERT_PTR_NOT_NULL(pr.stripe_product_id);
	CU_ASSERT_PTR_NOT_NULL(pr.stripe_price_id);
	/* A problem found once does not linger into the next check. */
	p = good();
	CU_ASSERT_TRUE(catalog_check(&p, &pr));
	CU_ASSERT_PTR_NULL(pr.slug);
	CU_ASSERT_PTR_NULL(pr.amount);
}

static void
test_stripe_ids(void)
{
	CU_ASSERT_PTR_NULL(catalog_check_stripe_id(NULL, "prod_"));
	CU_ASSERT_PTR_NULL(catalog_check_stripe_id("prod_QXg1hqf4jFNsqG", "prod_"));
	CU_ASSERT_PTR_NULL(catalog_check_stripe_id("price_1PgafmB7WZ01zgkW6dKueIc5", "price_"));
	CU_ASSERT_PTR_NOT_NULL(catalog_check_stripe_id("prod_", "prod_"));
	CU_ASSERT_PTR_NOT_NULL(catalog_check_stripe_id("", "prod_"));
	CU_ASSERT_PTR_NOT_NULL(catalog_check_stripe_id("price_1", "prod_"));
	CU_ASSERT_PTR_NOT_NULL(catalog_check_stripe_id("prod_a b", "prod_"));
	CU_ASSERT_PTR_NOT_NULL(catalog_check_stripe_id("prod_a&x=1", "prod_"));
}

static void
test_json(void)
{
	struct product p = good();
	struct json_object *o, *v;

	p.stripe_product_id = "prod_secretish";
	p.stripe_price_id = "price_x";
	o = catalog_product_json_new(&p, false);
	CU_ASSERT_PTR_NOT_NULL_FATAL(o);
	CU_ASSERT_EQUAL(json_object_object_length(o), 10);
	CU_ASSERT_STRING_EQUAL(json_object_get_string(json_object_object_get(o, "type")),
	    "one_time");
	CU_ASSERT_TRUE(json_object_object_get_ex(o, "interval", &v));
	CU_ASSERT_PTR_NULL(v);
	CU_ASSERT_TRUE(json_object_object_get_ex(o, "intervalCount", &v));
	CU_ASSERT_PTR_NULL(v);
	CU_ASSERT_EQUAL(json_object_get_int64(json_object_object_get(o, "amount")), 1999);
	CU_ASSERT_FALSE(json_object_object_get_ex(o, "stripeProductId", NULL));
	CU_ASSERT_FALSE(json_object_object_get_ex(o, "stripePriceId", NULL));
	json_object_put(o);

	p.recurring = true;
	p.interval = "year";
	p.interval_count = 2;
	p.description = NULL;
	o = catalog_product_json_new(&p, true);
	CU_ASSERT_PTR_NOT_NULL_FATAL(o);
	CU_ASSERT_EQUAL(json_object_object_length(o), 14);
	CU_ASSERT_STRING_EQUAL(json_object_get_string(json_object_object_get(o, "type")),
	    "recurring");
	CU_ASSERT_STRING_EQUAL(json_object_get_string(json_object_object_get(o, "interval")),
	    "year");
	CU_ASSERT_EQUAL(json_object_get_int64(json_object_object_get(o, "intervalCount")), 2);
	CU_ASSERT_TRUE(json_object_object_get_ex(o, "description", &v));
	CU_ASSERT_PTR_NULL(v);
	CU_ASSERT_STRING_EQUAL(json_object_get_string(json_object_object_get(o,
	    "stripePriceId")), "price_x");
	json_object_put(o);
}

static const struct unit_test tests[] = {
	UNIT_TEST(test_slug),
	UNIT_TEST(test_name_and_description),
	UNIT_TEST(test_amount_and_currency),
	UNIT_TEST(test_terms),
	UNIT_TEST(test_every_problem_at_once),
	UNIT_TEST(test_stripe_ids),
	UNIT_TEST(test_json),
};

UNIT_MAIN("catalog", tests)
