/*
 * Checkout, subscriptions and the billing portal (issue 11) through the real stack
 * (tests/integration/run.sh), through nginx and Apache: a Checkout Session for a catalog
 * product that the Stripe emulator completes and whose webhooks make the order or the
 * subscription, the caller's subscriptions listed, shown on /v1/users/me and cancelled,
 * isolation between users, the refused bodies, our Idempotency-Key under a burst, and the
 * portal link. Products are rows put straight into MariaDB, recurring ones with a price
 * the emulator knows, as `paybridgectl products sync-to-stripe` would leave them. Every
 * wait polls under a generous guard.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "itest.h"

#define MAX_URLS 4
#define CONCURRENT 16	/* more than the stack's 8 workers */
#define PRICE 1500

static const char *urls[MAX_URLS];
static size_t nurls;
static int serial;

/*
 * A new active product at PRICE usd: one-time, or recurring (monthly) with a Stripe price
 * the emulator knows when priced.
 */
static long long
product(bool recurring, bool priced)
{
	int n = __atomic_add_fetch(&serial, 1, __ATOMIC_RELAXED);
	char price[96], body[256];
	long long id;

	(void)snprintf(price, sizeof(price), "price_pbt%d_%lld_%d", (int)getpid(), itest_now_ms(),
	    n);
	if (recurring && priced) {
		(void)snprintf(body, sizeof(body), "{\"id\":\"%s\",\"unit_amount\":%d,"
		    "\"recurring\":{\"interval\":\"month\"},\"name\":\"Plan %d\"}", price, PRICE, n);
		itest_emulator_ok("POST", "/_emulator/prices", body);
	}
	id = itest_sql_num(
	    "INSERT INTO products (slug, name, amount, currency, kind, recurring_interval, "
	    "stripe_price_id, active) VALUES ('c-%d-%lld-%d', 'Plan %d', %d, 'usd', '%s', %s, "
	    "%s%s%s, 1); SELECT LAST_INSERT_ID()", (int)getpid(), itest_now_ms(), n, n, PRICE,
	    recurring ? "recurring" : "one_time", recurring ? "'month'" : "NULL",
	    recurring && priced ? "'" : "", recurring && priced ? price : "NULL",
	    recurring && priced ? "'" : "");
	CU_ASSERT_FATAL(id > 0);
	return id;
}

/* POST /v1/checkout/sessions with body and an optional Idempotency-Key. */
static void
create_session(const char *base, const struct itest_user *u, const char *key,
    const char *body, struct itest_response *r)
{
	itest_post_keyed(base, "/v1/checkout/sessions", u->token, key, body, r);
}

/* A new session for quantity of pid in mode; its id into id. */
static void
new_session(const char *base, const struct itest_user *u, long long pid, int quantity,
    const char *mode, char *id, size_t idlen)
{
	struct itest_response r;
	char body[160];

	(void)snprintf(body, sizeof(body), "{\"productId\":%lld,\"quantity\":%d,\"mode\":\"%s\"}",
	    pid, quantity, mode);
	create_session(base, u, NULL, body, &r);
	CU_ASSERT_EQUAL_FATAL(r.status, 201);
	itest_copy(id, idlen, itest_json_str(&r, "data.id"));
	CU_ASSERT(strstr(itest_s(itest_json_str(&r, "data.url")), "/_emulator/checkout/") != NULL);
	itest_response_free(&r);
	CU_ASSERT_FATAL(strncmp(id, "cs_", 3) == 0);
}

/* The emulator completes session id as a buyer paying with a test card would. */
static void
complete(const char *id)
{
	char path[256];

	(void)snprintf(path, sizeof(path), "/_emulator/checkout/sessions/%s/complete", id);
	itest_emulator_ok("POST", path, "{}");
}

/* The emulator's cancel_at_period_end of subscription id. */
static bool
emu_cancel_at_period_end(const char *id)
{
	struct itest_response r;
	char path[256];
	bool v;

	(void)snprintf(path, sizeof(path), "/_emulator/objects/subscriptions/%s", id);
	CU_ASSERT_FATAL(itest_emulator("GET", path, NULL, &r));
	v = itest_json_bool(&r, "cancel_at_period_end", false);
	itest_response_free(&r);
	return v;
}

/* ---- payment mode ---- */

static void
test_payment_session_makes_order(void)
{
	struct itest_response r;
	struct itest_user u;
	char cs[128], want[128];

	for (size_t i = 0; i < nurls; i++) {
		long long pid = product(false, false);

		itest_signup(urls[i], "cs-pay", &u);
		new_session(urls[i], &u, pid, 2, "payment", cs, sizeof(cs));
		/* Stored before the answer: open, the buyer's, the server's amount. */
		(void)snprintf(want, sizeof(want), "open|%lld|%lld|2|%d|payment", u.id, pid,
		    2 * PRICE);
		CU_ASSERT(itest_wait_sql(want, "SELECT CONCAT(status, '|', user_id, '|', product_id, "
		    "'|', quantity, '|', amount_total, '|', mode) FROM checkout_sessions "
		    "WHERE stripe_id = '%s' AND url IS NOT NULL AND expires_at IS NOT NULL", cs));
		complete(cs);
		CU_ASSERT(itest_wait_sql("complete|paid", "SELECT CONCAT(status, '|', payment_status) "
		    "FROM checkout_sessions WHERE stripe_id = '%s'", cs));
		(void)snprintf(want, sizeof(want), "%lld|%lld|2|%d|paid", u.id, pid, 2 * PRICE);
		CU_ASSERT(itest_wait_sql(want, "SELECT CONCAT(user_id, '|', product_id, '|', "
		    "quantity, '|', amount, '|', status) FROM orders "
		    "WHERE stripe_checkout_session_id = '%s'", cs));
		itest_api("GET", urls[i], "/v1/orders", u.token, NULL, &r);
		CU_ASSERT_EQUAL(r.status, 200);
		CU_ASSERT_EQUAL(itest_json_int(&r, "data.items.0.productId", 0), pid);
		itest_response_free(&r);
		/* A one-time purchase is no subscription. */
		itest_api("GET", urls[i], "/v1/users/me", u.token, NULL, &r);
		CU_ASSERT_EQUAL(r.status, 200);
		CU_ASSERT(itest_json_at(r.json, "data.subscription") == NULL);
		CU_ASSERT(json_object_object_get_ex(itest_json_at(r.json, "data"), "subscription",
		    NULL));
		itest_response_free(&r);
	}
}

/* ---- subscription mode ---- */

/* A subscription bought through Checkout and paid; its Stripe id into sub. */
static void
subscribe(const char *base, const struct itest_user *u, long long pid, char *sub, size_t len)
{
	char cs[128], want[128];

	new_session(base, u, pid, 1, "subscription", cs, sizeof(cs));
	complete(cs);
	(void)snprintf(want, sizeof(want), "active|%lld|paid|0", pid);
	CU_ASSERT_FATAL(itest_wait_sql(want, "SELECT CONCAT(status, '|', product_id, '|', "
	    "COALESCE(latest_invoice_status, ''), '|', cancel_at_period_end) FROM subscriptions "
	    "WHERE user_id = %lld", u->id));
	itest_sqlf(sub, len, "SELECT stripe_id FROM subscriptions WHERE user_id = %lld", u->id);
	CU_ASSERT_FATAL(strncmp(sub, "sub_", 4) == 0);
	CU_ASSERT(itest_wait_sql(sub, "SELECT COALESCE(stripe_subscription_id, '') FROM "
	    "checkout_sessions WHERE stripe_id = '%s' AND status = 'complete'", cs));
}

static long
cancel(const char *base, const char *token, const char *sub, const char *body,
    struct itest_response *r)
{
	char path[256];

	(void)snprintf(path, sizeof(path), "/v1/subscriptions/%s/cancel", sub);
	itest_api("POST", base, path, token, body, r);
	return r->status;
}

/*
 * Stripe's clock a little ahead, so that what a cancel answers is newer than the events
 * of the subscription's creation (within the webhook signature tolerance).
 */
static void
clock_ahead(void)
{
	itest_emulator_ok("POST", "/_emulator/clock", "{\"advance_seconds\":2}");
}

/*
 * Stripe's clock back to the second subscription id was created in: a cancel now ties
 * with the creation's events (same second, same status), which the cancel's answer must
 * still win.
 */
static void
clock_to_creation(const char *id)
{
	struct itest_response r;
	char path[256], body[64];
	long long created;

	(void)snprintf(path, sizeof(path), "/_emulator/objects/subscriptions/%s", id);
	CU_ASSERT_FATAL(itest_emulator("GET", path, NULL, &r));
	created = itest_json_int(&r, "created", 0);
	itest_response_free(&r);
	CU_ASSERT_FATAL(created > 0);
	(void)snprintf(body, sizeof(body), "{\"set\":%lld}", created);
	itest_emulator_ok("POST", "/_emulator/clock", body);
}

static void
test_subscription_lifecycle(void)
{
	struct itest_response r;
	struct itest_user u, other;
	char sub[128], path[256];

	for (size_t i = 0; i < nurls; i++) {
		long long pid = product(true, true);

		itest_signup(urls[i], "cs-sub", &u);
		itest_signup(urls[i], "cs-other", &other);
		subscribe(urls[i], &u, pid, sub, sizeof(sub));

		itest_api("GET", urls[i], "/v1/users/me", u.token, NULL, &r);
		CU_ASSERT_EQUAL(r.status, 200);
		ITEST_STR_EQ(itest_json_str(&r, "data.subscription.id"), sub);
		ITEST_STR_EQ(itest_json_str(&r, "data.subscription.status"), "active");
		CU_ASSERT_EQUAL(itest_json_int(&r, "data.subscription.product.id", 0), pid);
		CU_ASSERT(itest_json_str(&r, "data.subscription.currentPeriodEnd") != NULL);
		itest_response_free(&r);
		itest_api("GET", urls[i], "/v1/subscriptions", u.token, NULL, &r);
		CU_ASSERT_EQUAL(r.status, 200);
		ITEST_STR_EQ(itest_json_str(&r, "data.items.0.id"), sub);
		CU_ASSERT_EQUAL(itest_json_int(&r, "data.items.0.productId", 0), pid);
		CU_ASSERT_EQUAL(itest_json_int(&r, "data.items.0.quantity", 0), 1);
		ITEST_STR_EQ(itest_json_str(&r, "data.items.0.latestInvoiceStatus"), "paid");
		CU_ASSERT(itest_json_str(&r, "data.items.0.currentPeriodStart") != NULL);
		CU_ASSERT(itest_json_str(&r, "data.items.0.createdAt") != NULL);
		CU_ASSERT(itest_json_str(&r, "data.items.0.endedAt") == NULL);
		CU_ASSERT_FALSE(itest_json_bool(&r, "data.items.0.cancelAtPeriodEnd", true));
		CU_ASSERT(itest_json_at(r.json, "data.items.1") == NULL);
		itest_response_free(&r);

		/* Someone else's: unknown to them, and nothing changes anywhere. */
		CU_ASSERT_EQUAL(cancel(urls[i], other.token, sub, "{\"atPeriodEnd\":false}", &r), 404);
		itest_response_free(&r);
		CU_ASSERT_EQUAL(cancel(urls[i], other.token, sub, "{\"atPeriodEnd\":true}", &r), 404);
		itest_response_free(&r);
		itest_api("GET", urls[i], "/v1/subscriptions", other.token, NULL, &r);
		CU_ASSERT(itest_json_at(r.json, "data.items.0") == NULL);
		itest_response_free(&r);
		CU_ASSERT_EQUAL(itest_sql_num("SELECT COUNT(*) FROM subscriptions WHERE stripe_id = "
		    "'%s' AND status = 'active' AND NOT cancel_at_period_end", sub), 1);
		CU_ASSERT_FALSE(emu_cancel_at_period_end(sub));

		clock_to_creation(sub);
		CU_ASSERT_EQUAL(cancel(urls[i], u.token, sub, "{\"atPeriodEnd\":true}", &r), 200);
		CU_ASSERT(itest_json_bool(&r, "data.cancelAtPeriodEnd", false));
		ITEST_STR_EQ(itest_json_str(&r, "data.status"), "active");
		CU_ASSERT(itest_json_str(&r, "data.canceledAt") != NULL);
		itest_response_free(&r);
		CU_ASSERT(emu_cancel_at_period_end(sub));
		CU_ASSERT_EQUAL(itest_sql_num("SELECT cancel_at_period_end FROM subscriptions WHERE "
		    "stripe_id = '%s'", sub), 1);

		clock_ahead();
		if (i % 2 == 0) {
			/* Cancel now through the API: the answer already says so. */
			CU_ASSERT_EQUAL(cancel(urls[i], u.token, sub, "{\"atPeriodEnd\":false}", &r),
			    200);
			ITEST_STR_EQ(itest_json_str(&r, "data.status"), "canceled");
			CU_ASSERT(itest_json_str(&r, "data.endedAt") != NULL);
			itest_response_free(&r);
		} else {
			/* Cancelled in the dashboard: customer.subscription.deleted tells us. */
			(void)snprintf(path, sizeof(path), "/v1/subscriptions/%s", sub);
			itest_stripe("DELETE", path, NULL, &r);
			CU_ASSERT_EQUAL(r.status, 200);
			itest_response_free(&r);
		}
		CU_ASSERT(itest_wait_sql("canceled|1", "SELECT CONCAT(status, '|', ended_at IS NOT "
		    "NULL) FROM subscriptions WHERE stripe_id = '%s'", sub));
		/* The deleted event, arriving after, changes nothing; a second cancel is Stripe's no. */
		CU_ASSERT(itest_wait_sql("1", "SELECT COUNT(*) FROM stripe_events WHERE type = "
		    "'customer.subscription.deleted' AND object_id = '%s'", sub));
		CU_ASSERT(itest_wait_sql("canceled|1", "SELECT CONCAT(status, '|', ended_at IS NOT "
		    "NULL) FROM subscriptions WHERE stripe_id = '%s'", sub));
		itest_api("GET", urls[i], "/v1/users/me", u.token, NULL, &r);
		CU_ASSERT(itest_json_at(r.json, "data.subscription") == NULL);
		itest_response_free(&r);
	}
}

/* ---- refused input ---- */

static void
expect_422(const char *base, const struct itest_user *u, const char *body, const char *field,
    const char *needle)
{
	struct itest_response r;
	char path[64];
	const char *msg;

	create_session(base, u, NULL, body, &r);
	CU_ASSERT_EQUAL(r.status, 422);
	(void)snprintf(path, sizeof(path), "error.fields.%s", field);
	msg = itest_json_str(&r, path);
	CU_ASSERT(msg != NULL && (needle == NULL || strstr(msg, needle) != NULL));
	if (r.status != 422 || msg == NULL)
		fprintf(stderr, "body %s -> %ld %s\n", body, r.status, itest_s(r.body));
	itest_response_free(&r);
}

static void
test_bad_input_refused(void)
{
	struct itest_response r;
	struct itest_user u;
	long long once = product(false, false), plan = product(true, true);
	long long unpriced = product(true, false);
	char body[160];

	for (size_t i = 0; i < nurls; i++) {
		itest_signup(urls[i], "cs-bad", &u);
		(void)snprintf(body, sizeof(body), "{\"productId\":%lld,\"quantity\":0,"
		    "\"mode\":\"payment\"}", once);
		expect_422(urls[i], &u, body, "quantity", NULL);
		(void)snprintf(body, sizeof(body), "{\"productId\":%lld,\"quantity\":101,"
		    "\"mode\":\"subscription\"}", plan);
		expect_422(urls[i], &u, body, "quantity", NULL);
		(void)snprintf(body, sizeof(body), "{\"productId\":%lld,\"quantity\":\"2\","
		    "\"mode\":\"payment\"}", once);
		expect_422(urls[i], &u, body, "quantity", NULL);
		(void)snprintf(body, sizeof(body), "{\"productId\":%lld,\"quantity\":1}", once);
		expect_422(urls[i], &u, body, "mode", "required");
		(void)snprintf(body, sizeof(body), "{\"productId\":%lld,\"quantity\":1,"
		    "\"mode\":\"rent\"}", once);
		expect_422(urls[i], &u, body, "mode", NULL);
		(void)snprintf(body, sizeof(body), "{\"productId\":%lld,\"quantity\":1,"
		    "\"mode\":\"setup\"}", once);
		expect_422(urls[i], &u, body, "mode", "setup-intents");
		(void)snprintf(body, sizeof(body), "{\"productId\":%lld,\"quantity\":1,"
		    "\"mode\":\"payment\"}", plan);
		expect_422(urls[i], &u, body, "productId", "subscription");
		(void)snprintf(body, sizeof(body), "{\"productId\":%lld,\"quantity\":1,"
		    "\"mode\":\"subscription\"}", once);
		expect_422(urls[i], &u, body, "productId", "one-time");
		(void)snprintf(body, sizeof(body), "{\"productId\":%lld,\"quantity\":1,"
		    "\"mode\":\"subscription\"}", unpriced);
		expect_422(urls[i], &u, body, "productId", "Stripe price");
		(void)snprintf(body, sizeof(body), "{\"productId\":%lld,\"quantity\":1,"
		    "\"mode\":\"payment\",\"amount\":1}", once);
		expect_422(urls[i], &u, body, "amount", NULL);
		expect_422(urls[i], &u, "{\"quantity\":1,\"mode\":\"payment\"}", "productId", NULL);
		/* Nothing reached Stripe: no session, and no customer made for refused input. */
		CU_ASSERT_EQUAL(itest_sql_num("SELECT COUNT(*) FROM checkout_sessions WHERE "
		    "user_id = %lld", u.id), 0);
		/* The cancel body: required, boolean; checked before the subscription is. */
		CU_ASSERT_EQUAL(cancel(urls[i], u.token, "sub_nope", "{}", &r), 422);
		CU_ASSERT(itest_json_str(&r, "error.fields.atPeriodEnd") != NULL);
		itest_response_free(&r);
		CU_ASSERT_EQUAL(cancel(urls[i], u.token, "sub_nope", "{\"atPeriodEnd\":\"yes\"}", &r),
		    422);
		itest_response_free(&r);
		CU_ASSERT_EQUAL(cancel(urls[i], u.token, "sub_nope", "{\"atPeriodEnd\":1}", &r), 422);
		itest_response_free(&r);
		CU_ASSERT_EQUAL(cancel(urls[i], u.token, "sub_nope", "{\"atPeriodEnd\":true}", &r),
		    404);
		itest_response_free(&r);
		CU_ASSERT_EQUAL(itest_api_status("POST", urls[i], "/v1/checkout/sessions", NULL,
		    "{}"), 401);
		CU_ASSERT_EQUAL(itest_api_status("GET", urls[i], "/v1/subscriptions", NULL, NULL),
		    401);
	}
}

/* ---- Idempotency-Key ---- */

static void
test_idempotency_key(void)
{
	struct itest_response r1, r2;
	struct itest_user u;
	long long pid = product(false, false);
	char key[64], body[160], other[160], id[128], customer[64];
	size_t created = 0;

	itest_signup(urls[0], "cs-idem", &u);
	(void)snprintf(key, sizeof(key), "cs-%d-%lld", (int)getpid(), itest_now_ms());
	(void)snprintf(body, sizeof(body), "{\"productId\":%lld,\"quantity\":1,"
	    "\"mode\":\"payment\"}", pid);
	(void)snprintf(other, sizeof(other), "{\"productId\":%lld,\"quantity\":3,"
	    "\"mode\":\"payment\"}", pid);
	create_session(urls[0], &u, key, body, &r1);
	create_session(urls[nurls - 1], &u, key, body, &r2);
	CU_ASSERT_EQUAL(r1.status, 201);
	CU_ASSERT_EQUAL(r2.status, 201);
	ITEST_STR_EQ(r1.body, r2.body);
	CU_ASSERT(itest_header(&r2, "Idempotent-Replayed", id, sizeof(id)) &&
	    strcmp(id, "true") == 0);
	itest_response_free(&r1);
	itest_response_free(&r2);
	create_session(urls[0], &u, key, other, &r1);
	CU_ASSERT_EQUAL(r1.status, 409);
	itest_response_free(&r1);
	itest_stored_customer(u.id, customer, sizeof(customer));
	CU_ASSERT_FATAL(customer[0] != '\0');
	CU_ASSERT_EQUAL(itest_emulator_count_of("checkout_sessions", customer), 1);

	/* A burst of one fresh key, through both servers: exactly one Stripe session. */
	(void)snprintf(key, sizeof(key), "cs-burst-%d-%lld", (int)getpid(), itest_now_ms());
	created = itest_keyed_burst(urls, nurls, "/v1/checkout/sessions", u.token, key, other,
	    CONCURRENT, id, sizeof(id));
	CU_ASSERT(created >= 1);
	CU_ASSERT_EQUAL(itest_emulator_count_of("checkout_sessions", customer), 2);
	CU_ASSERT_EQUAL(itest_sql_num("SELECT COUNT(*) FROM checkout_sessions WHERE user_id = "
	    "%lld", u.id), 2);
	create_session(urls[0], &u, key, other, &r1);
	CU_ASSERT_EQUAL(r1.status, 201);
	ITEST_STR_EQ(itest_json_str(&r1, "data.id"), id);
	itest_response_free(&r1);
}

/* ---- billing portal ---- */

static void
test_billing_portal(void)
{
	struct itest_response r;
	struct itest_user u;
	char url[512], auth[1100];
	const char *h[] = { auth, NULL };

	for (size_t i = 0; i < nurls; i++) {
		itest_signup(urls[i], "cs-portal", &u);
		itest_api("POST", urls[i], "/v1/billing-portal/sessions", u.token, "{}", &r);
		CU_ASSERT_EQUAL(r.status, 201);
		CU_ASSERT(strstr(itest_s(itest_json_str(&r, "data.url")),
		    "/_emulator/billing_portal/bps_") != NULL);
		itest_response_free(&r);
		/* No body at all (no Content-Type either), as a plain form button sends. */
		(void)snprintf(url, sizeof(url), "%s/v1/billing-portal/sessions", urls[i]);
		(void)snprintf(auth, sizeof(auth), "Authorization: Bearer %s", u.token);
		CU_ASSERT_FATAL(itest_request("POST", url, h, NULL, 0, &r));
		CU_ASSERT_EQUAL(r.status, 201);
		itest_response_free(&r);
		itest_api("POST", urls[i], "/v1/billing-portal/sessions", u.token,
		    "{\"returnUrl\":\"https://evil.example\"}", &r);
		CU_ASSERT_EQUAL(r.status, 422);
		itest_response_free(&r);
	}
}

static const struct unit_test tests[] = {
	{ "payment_session_makes_order", test_payment_session_makes_order },
	{ "subscription_lifecycle", test_subscription_lifecycle },
	{ "bad_input_refused", test_bad_input_refused },
	{ "idempotency_key", test_idempotency_key },
	{ "billing_portal", test_billing_portal },
};

int
main(int argc, char *argv[])
{
	return itest_main("checkout", tests, sizeof(tests) / sizeof(tests[0]), urls, MAX_URLS,
	    &nurls, argc, argv);
}
