/*
 * Payments (issue 9) through the real stack (tests/integration/run.sh): payment intents
 * for catalog products through nginx and Apache, confirmed against the Stripe emulator
 * with its test cards, the webhooks that turn them into orders, refunds, our own
 * Idempotency-Key, Stripe failing underneath, the check on read, and isolation between
 * users asserted on the emulator's own state. Products are rows put straight into
 * MariaDB, as `paybridgectl products add` would. Every wait polls under a generous guard.
 */
#include "config.h"

#include <ctype.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "itest.h"

#define MAX_URLS 4
#define CONCURRENT 24	/* more than the stack's 8 workers */
#define PRICE 1500

static const char *urls[MAX_URLS];
static size_t nurls;

/* POST /v1/payments/intents {productId, quantity} with an optional Idempotency-Key. */
static void
create_intent(const char *base, const struct itest_user *u, const char *key, const char *body,
    struct itest_response *r)
{
	itest_post_keyed(base, "/v1/payments/intents", u->token, key, body, r);
}

/* Waits until the order of pi reads want (status|amount_refunded). */
static bool
wait_order(const char *pi, const char *want)
{
	return itest_wait_sql(want,
	    "SELECT CONCAT(status, '|', amount_refunded) FROM orders "
	    "WHERE stripe_payment_intent_id = '%s'", pi);
}

/* ---- the happy path and the cards ---- */

static void
test_intent_confirm_order(void)
{
	for (size_t i = 0; i < nurls; i++) {
		struct itest_response r;
		struct itest_user u;
		long long pid = itest_product(PRICE, "one_time", 1);
		char pi[128], body[128], path[256], order_path[64];
		long long order;

		itest_signup(urls[i], "pay", &u);
		(void)snprintf(body, sizeof(body), "{\"productId\":%lld,\"quantity\":3}", pid);
		create_intent(urls[i], &u, NULL, body, &r);
		CU_ASSERT_EQUAL_FATAL(r.status, 201);
		CU_ASSERT_EQUAL(itest_json_int(&r, "data.amount", 0), 3 * PRICE);
		ITEST_STR_EQ(itest_json_str(&r, "data.currency"), "usd");
		ITEST_STR_EQ(itest_json_str(&r, "data.status"), "requires_payment_method");
		CU_ASSERT_PTR_NOT_NULL(strstr(itest_s(itest_json_str(&r, "data.clientSecret")), "_secret_"));
		itest_copy(pi, sizeof(pi), itest_json_str(&r, "data.id"));
		itest_response_free(&r);
		/* Stored before the answer, and what Stripe got is decided here. */
		CU_ASSERT_EQUAL(itest_sql_num("SELECT COUNT(*) FROM payment_intents WHERE "
		    "stripe_id = '%s' AND user_id = %lld AND product_id = %lld AND quantity = 3",
		    pi, u.id, pid), 1);
		itest_emulator_object("payment_intents", pi, &r);
		CU_ASSERT_EQUAL(itest_json_int(&r, "amount", 0), 3 * PRICE);
		ITEST_STR_EQ(itest_json_str(&r, "customer"), u.customer);
		ITEST_STR_EQ(itest_json_str(&r, "receipt_email"), u.email);
		CU_ASSERT_PTR_NOT_NULL(itest_json_str(&r, "metadata.user_id"));
		CU_ASSERT_EQUAL(atoll(itest_s(itest_json_str(&r, "metadata.user_id"))), u.id);
		CU_ASSERT_EQUAL(atoll(itest_s(itest_json_str(&r, "metadata.product_id"))), pid);
		ITEST_STR_EQ(itest_json_str(&r, "metadata.quantity"), "3");
		CU_ASSERT(itest_json_bool(&r, "automatic_payment_methods.enabled", false));
		itest_response_free(&r);

		itest_confirm(urls[i], &u, pi, "pm_card_visa", &r);
		CU_ASSERT_EQUAL(r.status, 200);
		ITEST_STR_EQ(itest_json_str(&r, "data.status"), "succeeded");
		itest_response_free(&r);
		/* payment_intent.succeeded comes back as a webhook: one order. */
		CU_ASSERT(wait_order(pi, "paid|0"));
		order = itest_sql_num("SELECT id FROM orders WHERE stripe_payment_intent_id = '%s'",
		    pi);
		(void)snprintf(order_path, sizeof(order_path), "/v1/orders/%lld", order);
		itest_api_with("GET", urls[i], order_path, u.token, NULL, NULL, &r);
		CU_ASSERT_EQUAL(r.status, 200);
		ITEST_STR_EQ(itest_json_str(&r, "data.paymentIntentId"), pi);
		CU_ASSERT_EQUAL(itest_json_int(&r, "data.amount", 0), 3 * PRICE);
		CU_ASSERT_EQUAL(itest_json_int(&r, "data.quantity", 0), 3);
		CU_ASSERT_EQUAL(itest_json_int(&r, "data.productId", 0), pid);
		ITEST_STR_EQ(itest_json_str(&r, "data.status"), "paid");
		itest_response_free(&r);
		itest_api_with("GET", urls[i], "/v1/orders", u.token, NULL, NULL, &r);
		CU_ASSERT_EQUAL(r.status, 200);
		CU_ASSERT_EQUAL(itest_json_int(&r, "data.items.0.id", 0), order);
		itest_response_free(&r);
		(void)snprintf(path, sizeof(path), "/v1/payments/intents/%s", pi);
		itest_api_with("GET", urls[i], path, u.token, NULL, NULL, &r);
		CU_ASSERT_EQUAL(r.status, 200);
		ITEST_STR_EQ(itest_json_str(&r, "data.status"), "succeeded");
		itest_response_free(&r);
	}
}

static void
test_declined_and_3ds_cards(void)
{
	for (size_t i = 0; i < nurls; i++) {
		struct itest_response r;
		struct itest_user u;
		long long pid = itest_product(PRICE, "one_time", 1);
		char pi[128];

		itest_signup(urls[i], "card", &u);
		itest_new_intent(urls[i], &u, pid, 1, pi, sizeof(pi));
		itest_confirm(urls[i], &u, pi, "pm_card_chargeDeclinedInsufficientFunds", &r);
		CU_ASSERT_EQUAL(r.status, 200);
		ITEST_STR_EQ(itest_json_str(&r, "data.status"), "requires_payment_method");
		ITEST_STR_EQ(itest_json_str(&r, "data.lastPaymentError.code"),
		    "card_declined");
		ITEST_STR_EQ(itest_json_str(&r, "data.lastPaymentError.declineCode"),
		    "insufficient_funds");
		CU_ASSERT_PTR_NOT_NULL(itest_json_str(&r, "data.lastPaymentError.message"));
		itest_response_free(&r);
		CU_ASSERT(itest_wait_sql("requires_payment_method|card_declined",
		    "SELECT CONCAT(status, '|', COALESCE(last_error_code, '')) FROM payment_intents "
		    "WHERE stripe_id = '%s'", pi));

		/* The same intent, another card: one asking for 3-D Secure. */
		itest_confirm(urls[i], &u, pi, "pm_card_threeDSecure2Required", &r);
		CU_ASSERT_EQUAL(r.status, 200);
		ITEST_STR_EQ(itest_json_str(&r, "data.status"), "requires_action");
		ITEST_STR_EQ(itest_json_str(&r, "data.nextAction.type"), "redirect_to_url");
		CU_ASSERT_PTR_NOT_NULL(itest_json_str(&r, "data.nextAction.redirectUrl"));
		itest_response_free(&r);
		CU_ASSERT_EQUAL(itest_sql_num("SELECT COUNT(*) FROM orders WHERE "
		    "stripe_payment_intent_id = '%s'", pi), 0);
	}
}

/* ---- refused input ---- */

static void
test_bad_input_refused(void)
{
	struct itest_user u;
	long long pid = itest_product(PRICE, "one_time", 1);
	long long archived = itest_product(PRICE, "one_time", 0);
	long long monthly = itest_product(PRICE, "recurring", 1);
	long long before;
	char customer[64];
	const struct {
		const char *rest;	/* after the productId member */
		const char *field;
	} cases[] = {
		{ ",\"quantity\":1,\"amount\":1", "amount" },
		{ ",\"quantity\":1,\"currency\":\"eur\"", "currency" },
		{ ",\"quantity\":0", "quantity" },
		{ ",\"quantity\":101", "quantity" },
		{ ",\"quantity\":\"2\"", "quantity" },
		{ ",\"quantity\":2.5", "quantity" },
		{ ",\"quantity\":null", "quantity" },
		{ "", "quantity" },
		{ ",\"quantity\":1,\"customer\":\"cus_x\"", "customer" },
	};

	itest_signup(urls[0], "bad", &u);
	itest_stored_customer(u.id, customer, sizeof(customer));
	before = itest_emulator_count_of("payment_intents", customer);
	for (size_t i = 0; i < nurls; i++) {
		for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
			struct itest_response r;
			char body[256], path[64];

			(void)snprintf(body, sizeof(body), "{\"productId\":%lld%s}", pid, cases[c].rest);
			create_intent(urls[i], &u, NULL, body, &r);
			CU_ASSERT_EQUAL(r.status, 422);
			ITEST_STR_EQ(itest_json_str(&r, "error.code"), "invalid_fields");
			(void)snprintf(path, sizeof(path), "error.fields.%s", cases[c].field);
			CU_ASSERT_PTR_NOT_NULL(itest_json_str(&r, path));
			if (r.status != 422 || itest_json_str(&r, path) == NULL)
				fprintf(stderr, "%s -> %ld %s\n", body, r.status, r.body);
			itest_response_free(&r);
		}
		for (int k = 0; k < 3; k++) {
			struct itest_response r;
			char body[128];
			long long id = k == 0 ? archived : k == 1 ? monthly : 999999999;

			(void)snprintf(body, sizeof(body), "{\"productId\":%lld,\"quantity\":1}", id);
			create_intent(urls[i], &u, NULL, body, &r);
			CU_ASSERT_EQUAL(r.status, 422);
			CU_ASSERT_PTR_NOT_NULL(itest_json_str(&r, "error.fields.productId"));
			itest_response_free(&r);
		}
		CU_ASSERT_EQUAL(itest_api_status("POST", urls[i], "/v1/payments/intents", NULL,
		    "{\"productId\":1,\"quantity\":1}"), 401);
		CU_ASSERT_EQUAL(itest_api_status("POST", urls[i], "/v1/payments/intents", u.token,
		    "{\"productId\":1,"), 400);
		CU_ASSERT_EQUAL(itest_api_status("GET", urls[i], "/v1/payments/intents?limit=0",
		    u.token, NULL), 422);
		CU_ASSERT_EQUAL(itest_api_status("GET", urls[i], "/v1/payments/intents?limit=x",
		    u.token, NULL), 422);
		CU_ASSERT_EQUAL(itest_api_status("GET", urls[i],
		    "/v1/payments/intents?startingAfter=pi-not-an-id", u.token, NULL), 422);
		CU_ASSERT_EQUAL(itest_api_status("GET", urls[i], "/v1/orders?startingAfter=x",
		    u.token, NULL), 422);
		CU_ASSERT_EQUAL(itest_api_status("GET", urls[i], "/v1/payments/intents/pi_nope",
		    u.token, NULL), 404);
		CU_ASSERT_EQUAL(itest_api_status("GET", urls[i], "/v1/orders/abc", u.token, NULL),
		    404);
	}
	/* Nothing refused reached Stripe. */
	CU_ASSERT_EQUAL(itest_emulator_count_of("payment_intents", customer), before);
}

/* ---- isolation ---- */

static void
test_other_users_objects_are_not_found(void)
{
	struct itest_response r;
	struct itest_user a, b;
	long long pid = itest_product(PRICE, "one_time", 1);
	char pi_paid[128], pi_open[128], pm[128], path[256], body[256], order[64];
	char before_open[64], before_pm[128];
	long long oid;

	itest_signup(urls[0], "iso-a", &a);
	itest_signup(urls[nurls - 1], "iso-b", &b);
	itest_new_intent(urls[0], &a, pid, 1, pi_paid, sizeof(pi_paid));
	itest_confirm(urls[0], &a, pi_paid, "pm_card_visa", &r);
	CU_ASSERT_EQUAL_FATAL(r.status, 200);
	itest_response_free(&r);
	CU_ASSERT_FATAL(wait_order(pi_paid, "paid|0"));
	oid = itest_sql_num("SELECT id FROM orders WHERE stripe_payment_intent_id = '%s'", pi_paid);
	itest_new_intent(urls[0], &a, pid, 1, pi_open, sizeof(pi_open));
	/* A's card, attached to A's customer (as Stripe.js and the attach route would). */
	(void)snprintf(body, sizeof(body), "customer=%s", a.customer);
	itest_stripe("POST", "/v1/payment_methods/pm_card_mastercard/attach", body, &r);
	CU_ASSERT_EQUAL_FATAL(r.status, 200);
	itest_copy(pm, sizeof(pm), itest_json_str(&r, "id"));
	itest_response_free(&r);
	itest_emulator_object("payment_intents", pi_open, &r);
	itest_copy(before_open, sizeof(before_open), itest_json_str(&r, "status"));
	itest_response_free(&r);

	for (size_t i = 0; i < nurls; i++) {
		const char *base = urls[i];

		(void)snprintf(path, sizeof(path), "/v1/payments/intents/%s", pi_open);
		CU_ASSERT_EQUAL(itest_api_status("GET", base, path, b.token, NULL), 404);
		(void)snprintf(path, sizeof(path), "/v1/payments/intents/%s/cancel", pi_open);
		CU_ASSERT_EQUAL(itest_api_status("POST", base, path, b.token, NULL), 404);
		itest_confirm(base, &b, pi_open, "pm_card_visa", &r);
		CU_ASSERT_EQUAL(r.status, 404);
		itest_response_free(&r);
		(void)snprintf(order, sizeof(order), "/v1/orders/%lld", oid);
		CU_ASSERT_EQUAL(itest_api_status("GET", base, order, b.token, NULL), 404);
		/* B's own intent, paid with A's card: the card is not B's. */
		{
			char mine[128];

			itest_new_intent(base, &b, pid, 1, mine, sizeof(mine));
			itest_confirm(base, &b, mine, pm, &r);
			CU_ASSERT_EQUAL(r.status, 404);
			itest_response_free(&r);
			itest_emulator_object("payment_intents", mine, &r);
			ITEST_STR_EQ(itest_json_str(&r, "status"), "requires_payment_method");
			itest_response_free(&r);
		}
		/* B's list shows none of A's. */
		itest_api_with("GET", base, "/v1/orders", b.token, NULL, NULL, &r);
		CU_ASSERT_EQUAL(r.status, 200);
		CU_ASSERT_EQUAL(itest_json_int(&r, "data.items.0.id", -1), -1);
		itest_response_free(&r);
		(void)snprintf(path, sizeof(path), "/v1/payments/intents?startingAfter=%s", pi_open);
		CU_ASSERT_EQUAL(itest_api_status("GET", base, path, b.token, NULL), 404);
	}
	/* Nothing of A's changed in Stripe. */
	itest_emulator_object("payment_intents", pi_open, &r);
	ITEST_STR_EQ(itest_json_str(&r, "status"), before_open);
	CU_ASSERT_PTR_NULL(itest_json_str(&r, "payment_method"));
	itest_response_free(&r);
	itest_emulator_object("payment_methods", pm, &r);
	itest_copy(before_pm, sizeof(before_pm), itest_json_str(&r, "customer"));
	ITEST_STR_EQ(before_pm, a.customer);
	itest_response_free(&r);
	itest_emulator_object("payment_intents", pi_paid, &r);
	CU_ASSERT_EQUAL(itest_json_int(&r, "amount_received", 0), PRICE);
	itest_response_free(&r);
	CU_ASSERT(wait_order(pi_paid, "paid|0"));
}

/* ---- our Idempotency-Key ---- */

static void
test_idempotency_key(void)
{
	struct itest_response r1, r2;
	struct itest_user u;
	long long pid = itest_product(PRICE, "one_time", 1);
	char key[64], body[128], other[128], id[128];
	size_t created = 0;

	itest_signup(urls[0], "idem", &u);
	(void)snprintf(key, sizeof(key), "order-%d-%lld", (int)getpid(), itest_now_ms());
	(void)snprintf(body, sizeof(body), "{\"productId\":%lld,\"quantity\":2}", pid);
	(void)snprintf(other, sizeof(other), "{\"productId\":%lld,\"quantity\":3}", pid);
	create_intent(urls[0], &u, key, body, &r1);
	create_intent(urls[nurls - 1], &u, key, body, &r2);
	CU_ASSERT_EQUAL(r1.status, 201);
	CU_ASSERT_EQUAL(r2.status, 201);
	/* The first answer again, byte for byte. */
	ITEST_STR_EQ(r1.body, r2.body);
	CU_ASSERT(itest_header(&r2, "Idempotent-Replayed", id, sizeof(id)) &&
	    strcmp(id, "true") == 0);
	itest_response_free(&r1);
	itest_response_free(&r2);
	create_intent(urls[0], &u, key, other, &r1);
	CU_ASSERT_EQUAL(r1.status, 409);
	ITEST_STR_EQ(itest_json_str(&r1, "error.code"), "idempotency_key_reused");
	itest_response_free(&r1);
	CU_ASSERT_EQUAL(itest_emulator_count_of("payment_intents", u.customer), 1);

	/* CONCURRENT repeats of a fresh key at once: one intent, every answer its own or 409. */
	(void)snprintf(key, sizeof(key), "burst-%d-%lld", (int)getpid(), itest_now_ms());
	created = itest_keyed_burst(urls, nurls, "/v1/payments/intents", u.token, key, other,
	    CONCURRENT, id, sizeof(id));
	CU_ASSERT(created >= 1);
	CU_ASSERT_EQUAL(itest_emulator_count_of("payment_intents", u.customer), 2);
	CU_ASSERT_EQUAL(itest_sql_num("SELECT COUNT(*) FROM payment_intents WHERE user_id = %lld",
	    u.id), 2);
	/* And once it is done, a repeat replays it. */
	create_intent(urls[0], &u, key, other, &r1);
	CU_ASSERT_EQUAL(r1.status, 201);
	ITEST_STR_EQ(itest_json_str(&r1, "data.id"), id);
	itest_response_free(&r1);
	/* A malformed key is refused before anything happens. */
	create_intent(urls[0], &u, "bad key with spaces", body, &r1);
	CU_ASSERT_EQUAL(r1.status, 400);
	ITEST_STR_EQ(itest_json_str(&r1, "error.code"), "invalid_idempotency_key");
	itest_response_free(&r1);
}

/* A key older than 24 h is a new key, and the jobs worker prunes it. */
static void
test_idempotency_key_expires(void)
{
	struct itest_response r;
	struct itest_user u;
	long long pid = itest_product(PRICE, "one_time", 1);
	char body[128], out[16];

	itest_signup(urls[0], "expire", &u);
	(void)snprintf(body, sizeof(body), "{\"productId\":%lld,\"quantity\":1}", pid);
	itest_sqlf(out, sizeof(out), "INSERT INTO api_idempotency (user_id, idempotency_key, "
	    "request_hash, response_status, response_body, created_at) VALUES (%lld, 'old-key', "
	    "REPEAT('0', 64), 201, '{}', NOW(6) - INTERVAL 25 HOUR), (%lld, 'older-key', "
	    "REPEAT('0', 64), 201, '{}', NOW(6) - INTERVAL 30 HOUR); SELECT 1", u.id, u.id);
	create_intent(urls[0], &u, "old-key", body, &r);
	CU_ASSERT_EQUAL(r.status, 201);
	CU_ASSERT_PTR_NOT_NULL(itest_json_str(&r, "data.id"));
	itest_response_free(&r);
	CU_ASSERT_EQUAL(itest_emulator_count_of("payment_intents", u.customer), 1);
	/* The jobs worker prunes when it starts, and every minute after. */
	CU_ASSERT_FATAL(itest_ctl("paybridge-stop") == 0);
	CU_ASSERT_FATAL(itest_ctl("paybridge-start") == 0);
	CU_ASSERT(itest_pool_settled(urls[0], ITEST_WAIT_MS));
	CU_ASSERT(itest_wait_sql("0", "SELECT COUNT(*) FROM api_idempotency WHERE "
	    "user_id = %lld AND idempotency_key = 'older-key'", u.id));
	CU_ASSERT_EQUAL(itest_sql_num("SELECT COUNT(*) FROM api_idempotency WHERE user_id = %lld "
	    "AND idempotency_key = 'old-key'", u.id), 1);
}

/* ---- Stripe failing underneath ---- */

static void
test_stripe_failing_during_creation(void)
{
	struct itest_response r;
	struct itest_user u;
	long long pid = itest_product(PRICE, "one_time", 1);
	char key[64], body[128], retry[16], id[128];
	long long t0;
	long status;
	const char *faults[] = {
		"{\"kind\":\"error\",\"status\":500,\"method\":\"POST\","
		"\"path\":\"/v1/payment_intents\",\"count\":10}",
		"{\"kind\":\"error\",\"status\":429,\"method\":\"POST\","
		"\"path\":\"/v1/payment_intents\",\"count\":10}",
	};

	itest_signup(urls[0], "fail", &u);
	(void)snprintf(body, sizeof(body), "{\"productId\":%lld,\"quantity\":1}", pid);
	for (size_t f = 0; f < 2; f++) {
		for (size_t i = 0; i < nurls; i++) {
			(void)snprintf(key, sizeof(key), "fail-%zu-%zu-%lld", f, i, itest_now_ms());
			itest_emulator_ok("POST", "/_emulator/faults", faults[f]);
			create_intent(urls[i], &u, key, body, &r);
			CU_ASSERT_EQUAL(r.status, 503);
			ITEST_STR_EQ(itest_json_str(&r, "error.code"), "payment_provider_unavailable");
			CU_ASSERT(itest_header(&r, "Retry-After", retry, sizeof(retry)));
			itest_response_free(&r);
			itest_emulator_ok("DELETE", "/_emulator/faults", NULL);
			/* The retry with the same key makes the intent, once. */
			create_intent(urls[i], &u, key, body, &r);
			CU_ASSERT_EQUAL(r.status, 201);
			itest_response_free(&r);
		}
	}
	CU_ASSERT_EQUAL(itest_emulator_count_of("payment_intents", u.customer), (long long)(2 * nurls));

	/* The intent made, the answer lost: the client still gets its intent, and only one. */
	(void)snprintf(key, sizeof(key), "lost-%lld", itest_now_ms());
	itest_emulator_ok("POST", "/_emulator/faults", "{\"kind\":\"drop_after_apply\",\"method\":\"POST\","
	    "\"path\":\"/v1/payment_intents\",\"count\":1}");
	create_intent(urls[0], &u, key, body, &r);
	CU_ASSERT_EQUAL(r.status, 201);
	itest_copy(id, sizeof(id), itest_json_str(&r, "data.id"));
	itest_response_free(&r);
	itest_emulator_ok("DELETE", "/_emulator/faults", NULL);
	create_intent(urls[nurls - 1], &u, key, body, &r);
	CU_ASSERT_EQUAL(r.status, 201);
	ITEST_STR_EQ(itest_json_str(&r, "data.id"), id);
	itest_response_free(&r);
	CU_ASSERT_EQUAL(itest_emulator_count_of("payment_intents", u.customer), (long long)(2 * nurls + 1));

	/*
	 * Stripe hanging: the answer comes within the request's time and says to retry;
	 * retries go on being told so while Stripe still runs the first, then get the intent.
	 */
	(void)snprintf(key, sizeof(key), "hang-%lld", itest_now_ms());
	itest_emulator_ok("POST", "/_emulator/faults", "{\"kind\":\"hang\",\"seconds\":12,\"method\":\"POST\","
	    "\"path\":\"/v1/payment_intents\",\"count\":1}");
	create_intent(urls[0], &u, key, body, &r);
	CU_ASSERT_EQUAL(r.status, 503);
	ITEST_STR_EQ(itest_json_str(&r, "error.code"), "payment_provider_unavailable");
	itest_response_free(&r);
	t0 = itest_now_ms();
	do {
		create_intent(urls[nurls - 1], &u, key, body, &r);
		status = r.status;
		itest_response_free(&r);
		CU_ASSERT(status == 201 || status == 503);
		if (status != 503)
			break;
		itest_sleep_ms(500);
	} while (itest_now_ms() - t0 < 2 * ITEST_WAIT_MS);
	CU_ASSERT_EQUAL(status, 201);
	CU_ASSERT_EQUAL(itest_emulator_count_of("payment_intents", u.customer), (long long)(2 * nurls + 2));
}

/* ---- reads that do not wait for webhooks ---- */

static void
test_check_on_read(void)
{
	struct itest_response r;
	struct itest_user u;
	long long pid = itest_product(PRICE, "one_time", 1);
	char pi[128], path[256], status[64] = "", created[32];
	long long t0;

	itest_signup(urls[0], "read", &u);
	itest_new_intent(urls[0], &u, pid, 1, pi, sizeof(pi));
	itest_confirm(urls[0], &u, pi, "pm_card_threeDSecure2Required", &r);
	CU_ASSERT_EQUAL_FATAL(r.status, 200);
	ITEST_STR_EQ(itest_json_str(&r, "data.status"), "requires_action");
	itest_response_free(&r);
	/* The customer passes 3-D Secure; Stripe's webhooks are held back. */
	itest_emulator_ok("POST", "/_emulator/delivery", "{\"mode\":\"hold\",\"types\":[\"payment_intent.succeeded\","
	    "\"charge.succeeded\"]}");
	(void)snprintf(path, sizeof(path), "/_emulator/payment_intents/%s/complete_action", pi);
	itest_emulator_ok("POST", path, "{\"result\":\"succeeded\"}");
	(void)snprintf(path, sizeof(path), "/v1/payments/intents/%s", pi);
	t0 = itest_now_ms();
	do {
		itest_api_with("GET", urls[(size_t)(itest_now_ms() / 100) % nurls], path, u.token, NULL,
		    NULL, &r);
		CU_ASSERT_EQUAL(r.status, 200);
		itest_copy(status, sizeof(status), itest_json_str(&r, "data.status"));
		itest_response_free(&r);
		if (strcmp(status, "succeeded") == 0)
			break;
		itest_sleep_ms(200);
	} while (itest_now_ms() - t0 < ITEST_WAIT_MS);
	ITEST_STR_EQ(status, "succeeded");
	/* The read made the order too, through the same path a webhook takes. */
	CU_ASSERT(wait_order(pi, "paid|0"));
	itest_sqlf(created, sizeof(created),
	    "SELECT last_event_created FROM payment_intents WHERE stripe_id = '%s'", pi);
	/* The late webhooks change nothing. */
	itest_emulator_ok("POST", "/_emulator/delivery", "{\"mode\":\"normal\"}");
	itest_emulator_ok("POST", "/_emulator/delivery/release", "{}");
	itest_emulator_ok("POST", "/_emulator/deliveries/drain", "{\"timeout_s\":20}");
	CU_ASSERT(itest_wait_sql("1", "SELECT COUNT(*) FROM stripe_events WHERE "
	    "type = 'payment_intent.succeeded' AND object_id = '%s'", pi));
	CU_ASSERT_EQUAL(itest_sql_num("SELECT COUNT(*) FROM orders WHERE "
	    "stripe_payment_intent_id = '%s'", pi), 1);
	CU_ASSERT(itest_wait_sql(created, "SELECT last_event_created FROM payment_intents "
	    "WHERE stripe_id = '%s'", pi));
}

static void
test_read_serves_stale_when_stripe_fails(void)
{
	struct itest_response r;
	struct itest_user u;
	long long pid = itest_product(PRICE, "one_time", 1);
	char pi[128], path[256], fault[512];

	itest_signup(urls[0], "stale", &u);
	itest_new_intent(urls[0], &u, pid, 1, pi, sizeof(pi));
	/* Old enough to be asked about again. */
	CU_ASSERT_EQUAL(itest_sql_num("UPDATE payment_intents SET refreshed_at = NOW(6) - "
	    "INTERVAL 1 HOUR WHERE stripe_id = '%s'; SELECT ROW_COUNT()", pi), 1);
	(void)snprintf(fault, sizeof(fault), "{\"kind\":\"error\",\"status\":500,\"method\":"
	    "\"GET\",\"path\":\"/v1/payment_intents/%s\",\"count\":100}", pi);
	itest_emulator_ok("POST", "/_emulator/faults", fault);
	(void)snprintf(path, sizeof(path), "/v1/payments/intents/%s", pi);
	for (size_t i = 0; i < nurls; i++) {
		itest_api_with("GET", urls[i], path, u.token, NULL, NULL, &r);
		CU_ASSERT_EQUAL(r.status, 200);
		ITEST_STR_EQ(itest_json_str(&r, "data.status"), "requires_payment_method");
		CU_ASSERT(itest_json_bool(&r, "data.stale", false));
		itest_response_free(&r);
	}
	itest_emulator_ok("DELETE", "/_emulator/faults", NULL);
	itest_api_with("GET", urls[0], path, u.token, NULL, NULL, &r);
	CU_ASSERT_EQUAL(r.status, 200);
	CU_ASSERT(!itest_json_bool(&r, "data.stale", true));
	itest_response_free(&r);
	/* Asked just now: the next read within status_refresh_after_ms does not ask again. */
	CU_ASSERT(itest_sql_num("SELECT TIMESTAMPDIFF(SECOND, refreshed_at, NOW(6)) FROM "
	    "payment_intents WHERE stripe_id = '%s'", pi) < 10);
}

/* ---- refunds ---- */

static void
refund(const char *base, const char *token, const char *pi, const char *key,
    const char *body, struct itest_response *r)
{
	char path[256], h[128];
	const char *extra[2] = { NULL, NULL };

	if (key != NULL) {
		(void)snprintf(h, sizeof(h), "Idempotency-Key: %s", key);
		extra[0] = h;
	}
	(void)snprintf(path, sizeof(path), "/v1/payments/intents/%s/refunds", pi);
	itest_api_with("POST", base, path, token, extra, body, r);
}

static void
test_refunds(void)
{
	struct itest_response r, r2;
	struct itest_user u, admin;
	long long pid = itest_product(PRICE, "one_time", 1);
	char pi[128], key[64], rid[128];

	itest_signup(urls[0], "refund", &u);
	itest_signup(urls[0], "admin", &admin);
	CU_ASSERT_EQUAL_FATAL(itest_sql_num("UPDATE users SET role = 'admin' WHERE id = %lld; "
	    "SELECT ROW_COUNT()", admin.id), 1);
	itest_new_intent(urls[0], &u, pid, 2, pi, sizeof(pi));
	itest_confirm(urls[0], &u, pi, "pm_card_visa", &r);
	CU_ASSERT_EQUAL_FATAL(r.status, 200);
	itest_response_free(&r);
	CU_ASSERT_FATAL(wait_order(pi, "paid|0"));

	/* Only admins refund; the owner is not one. */
	refund(urls[0], u.token, pi, NULL, "{\"amount\":100}", &r);
	CU_ASSERT_EQUAL(r.status, 403);
	itest_response_free(&r);
	refund(urls[0], admin.token, pi, NULL, "{\"amount\":-5}", &r);
	CU_ASSERT_EQUAL(r.status, 422);
	itest_response_free(&r);
	refund(urls[0], admin.token, pi, NULL, "{\"reason\":\"because\"}", &r);
	CU_ASSERT_EQUAL(r.status, 422);
	itest_response_free(&r);

	/* Partial, under a key: repeated, one refund. */
	(void)snprintf(key, sizeof(key), "refund-%lld", itest_now_ms());
	refund(urls[0], admin.token, pi, key, "{\"amount\":500,\"reason\":\"requested_by_customer\"}",
	    &r);
	refund(urls[nurls - 1], admin.token, pi, key,
	    "{\"amount\":500,\"reason\":\"requested_by_customer\"}", &r2);
	CU_ASSERT_EQUAL(r.status, 201);
	CU_ASSERT_EQUAL(r2.status, 201);
	CU_ASSERT_EQUAL(itest_json_int(&r, "data.amount", 0), 500);
	itest_copy(rid, sizeof(rid), itest_json_str(&r, "data.id"));
	ITEST_STR_EQ(itest_json_str(&r2, "data.id"), rid);
	itest_response_free(&r);
	itest_response_free(&r2);
	itest_emulator_object("refunds", rid, &r);
	CU_ASSERT_EQUAL(itest_json_int(&r, "amount", 0), 500);
	itest_response_free(&r);
	CU_ASSERT(wait_order(pi, "partially_refunded|500"));

	/* More than remains (2500 of 3000) is refused, and nothing is refunded. */
	refund(urls[nurls - 1], admin.token, pi, NULL, "{\"amount\":2501}", &r);
	CU_ASSERT_EQUAL(r.status, 422);
	CU_ASSERT_PTR_NOT_NULL(itest_json_str(&r, "error.fields.amount"));
	itest_response_free(&r);
	/* The rest. */
	refund(urls[nurls - 1], admin.token, pi, NULL, "{}", &r);
	CU_ASSERT_EQUAL(r.status, 201);
	CU_ASSERT_EQUAL(itest_json_int(&r, "data.amount", 0), 2 * PRICE - 500);
	itest_response_free(&r);
	CU_ASSERT(wait_order(pi, "refunded|3000"));
	refund(urls[0], admin.token, pi, NULL, "{}", &r);
	CU_ASSERT_EQUAL(r.status, 409);
	itest_response_free(&r);
}

/* ---- lazy customers ---- */

struct lazy {
	const char *base;
	const struct itest_user *u;
	const char *body;
	long status;
};

static void *
lazy_thread(void *arg)
{
	struct lazy *t = arg;
	struct itest_response r;

	create_intent(t->base, t->u, NULL, t->body, &r);
	t->status = r.status;
	itest_response_free(&r);
	return NULL;
}

static void
test_lazy_customer_created_once(void)
{
	struct itest_user u;
	struct lazy t[CONCURRENT];
	pthread_t th[CONCURRENT];
	long long pid = itest_product(PRICE, "one_time", 1);
	char body[128], customer[64];
	size_t ok = 0;

	/* A user whose customer was never made: an old account, or a dead job. */
	itest_signup(urls[0], "lazy", &u);
	CU_ASSERT_FATAL(itest_sql_num("UPDATE users SET stripe_customer_id = NULL, "
	    "customer_generation = customer_generation + 1 WHERE id = %lld; SELECT ROW_COUNT()",
	    u.id) == 1);
	CU_ASSERT_FATAL(itest_sql_num("DELETE FROM stripe_jobs WHERE user_id = %lld AND "
	    "kind = 'create_customer'; SELECT 1", u.id) == 1);
	(void)snprintf(body, sizeof(body), "{\"productId\":%lld,\"quantity\":1}", pid);
	for (size_t i = 0; i < CONCURRENT; i++) {
		t[i] = (struct lazy){ .base = urls[i % nurls], .u = &u, .body = body };
		CU_ASSERT_FATAL(pthread_create(&th[i], NULL, lazy_thread, &t[i]) == 0);
	}
	for (size_t i = 0; i < CONCURRENT; i++) {
		CU_ASSERT(pthread_join(th[i], NULL) == 0);
		ok += t[i].status == 201;
		CU_ASSERT(t[i].status == 201 || t[i].status == 503);
	}
	CU_ASSERT(ok >= 1);
	itest_stored_customer(u.id, customer, sizeof(customer));
	CU_ASSERT_FATAL(strncmp(customer, "cus_", 4) == 0);
	ITEST_STR_NE(customer, u.customer);
	/* The one from signup and the one made lazily, never more. */
	CU_ASSERT_EQUAL(itest_customers_for(u.id, NULL, 0), 2);
	CU_ASSERT_EQUAL(itest_emulator_count_of("payment_intents", customer), (long long)ok);
}

/* ---- lists ---- */

static void
test_lists_paginate(void)
{
	struct itest_response r;
	struct itest_user u, other;
	long long pid = itest_product(PRICE, "one_time", 1);
	char ids[3][128], path[256], next[128];

	itest_signup(urls[0], "list", &u);
	itest_signup(urls[0], "list-other", &other);
	for (int i = 0; i < 3; i++)
		itest_new_intent(urls[(size_t)i % nurls], &u, pid, i + 1, ids[i], sizeof(ids[i]));
	for (size_t i = 0; i < nurls; i++) {
		itest_api_with("GET", urls[i], "/v1/payments/intents?limit=2", u.token, NULL, NULL, &r);
		CU_ASSERT_EQUAL(r.status, 200);
		ITEST_STR_EQ(itest_json_str(&r, "data.items.0.id"), ids[2]);
		ITEST_STR_EQ(itest_json_str(&r, "data.items.1.id"), ids[1]);
		CU_ASSERT(itest_json_bool(&r, "data.hasMore", false));
		itest_copy(next, sizeof(next), itest_json_str(&r, "data.nextCursor"));
		ITEST_STR_EQ(next, ids[1]);
		itest_response_free(&r);
		(void)snprintf(path, sizeof(path), "/v1/payments/intents?limit=2&startingAfter=%s",
		    next);
		itest_api_with("GET", urls[i], path, u.token, NULL, NULL, &r);
		CU_ASSERT_EQUAL(r.status, 200);
		ITEST_STR_EQ(itest_json_str(&r, "data.items.0.id"), ids[0]);
		CU_ASSERT_PTR_NULL(itest_json_str(&r, "data.items.1.id"));
		CU_ASSERT(!itest_json_bool(&r, "data.hasMore", true));
		CU_ASSERT_PTR_NULL(itest_json_str(&r, "data.nextCursor"));
		itest_response_free(&r);
		itest_api_with("GET", urls[i], "/v1/payments/intents", other.token, NULL, NULL, &r);
		CU_ASSERT_EQUAL(r.status, 200);
		CU_ASSERT_PTR_NULL(itest_json_str(&r, "data.items.0.id"));
		itest_response_free(&r);
	}
}

/* ---- cancel ---- */

static void
test_cancel(void)
{
	struct itest_response r;
	struct itest_user u;
	long long pid = itest_product(PRICE, "one_time", 1);
	char pi[128], path[256];

	itest_signup(urls[0], "cancel", &u);
	itest_new_intent(urls[0], &u, pid, 1, pi, sizeof(pi));
	(void)snprintf(path, sizeof(path), "/v1/payments/intents/%s/cancel", pi);
	itest_api_with("POST", urls[nurls - 1], path, u.token, NULL, NULL, &r);
	CU_ASSERT_EQUAL(r.status, 200);
	ITEST_STR_EQ(itest_json_str(&r, "data.status"), "canceled");
	itest_response_free(&r);
	itest_emulator_object("payment_intents", pi, &r);
	ITEST_STR_EQ(itest_json_str(&r, "status"), "canceled");
	itest_response_free(&r);
	itest_api_with("POST", urls[0], path, u.token, NULL, NULL, &r);
	CU_ASSERT_EQUAL(r.status, 409);
	ITEST_STR_EQ(itest_json_str(&r, "error.code"), "payment_intent_unexpected_state");
	itest_response_free(&r);
	itest_confirm(urls[0], &u, pi, "pm_card_visa", &r);
	CU_ASSERT_EQUAL(r.status, 409);
	itest_response_free(&r);
}

/* ---- guests ---- */

#define GUEST_PER_EMAIL 4
#define GUEST_PER_IP 8

/* POST /v1/payments/guest/intents from source (a 127/8 address: another client). */
static void
guest_post(const char *base, const char *source, const char *key, const char *body,
    struct itest_response *r)
{
	char url[512], h[320];
	const char *headers[3] = { "Content-Type: application/json", NULL, NULL };

	if (key != NULL) {
		(void)snprintf(h, sizeof(h), "Idempotency-Key: %s", key);
		headers[1] = h;
	}
	(void)snprintf(url, sizeof(url), "%s/v1/payments/guest/intents", base);
	CU_ASSERT_FATAL(itest_request_from(source, "POST", url, headers, body, strlen(body), r));
}

/* A guest intent for email from source; its id and customer into id and customer. */
static void
guest_intent(const char *base, const char *source, const char *email, long long pid,
    char *id, size_t idlen, char *customer, size_t clen)
{
	struct itest_response r;
	char body[512];

	(void)snprintf(body, sizeof(body),
	    "{\"email\":\"%s\",\"name\":\"A Guest\",\"productId\":%lld,\"quantity\":1}", email,
	    pid);
	guest_post(base, source, NULL, body, &r);
	CU_ASSERT_EQUAL_FATAL(r.status, 201);
	itest_copy(id, idlen, itest_json_str(&r, "data.id"));
	itest_response_free(&r);
	itest_emulator_object("payment_intents", id, &r);
	itest_copy(customer, clen, itest_json_str(&r, "customer"));
	ITEST_STR_EQ(itest_json_str(&r, "receipt_email"), email);
	itest_response_free(&r);
}

/* Off by default: the route is not there. Then the stack is restarted with it on. */
static void
test_guest_payments_off_then_on(void)
{
	FILE *f;
	char path[512];

	for (size_t i = 0; i < nurls; i++) {
		struct itest_response r;

		guest_post(urls[i], NULL, NULL, "{\"email\":\"off@example.com\",\"productId\":1,"
		    "\"quantity\":1}", &r);
		CU_ASSERT_EQUAL(r.status, 404);
		itest_response_free(&r);
	}
	(void)snprintf(path, sizeof(path), "%s/paybridge.conf", itest_env("PB_RUN"));
	f = fopen(path, "a");
	CU_ASSERT_FATAL(f != NULL);
	fprintf(f, "guest_payments = on\nguest_rate_per_email = %d\nguest_rate_per_ip = %d\n",
	    GUEST_PER_EMAIL, GUEST_PER_IP);
	CU_ASSERT_FATAL(fclose(f) == 0);
	CU_ASSERT_FATAL(itest_ctl("paybridge-stop") == 0);
	CU_ASSERT_FATAL(itest_ctl("paybridge-start") == 0);
	CU_ASSERT_FATAL(itest_pool_settled(urls[0], ITEST_WAIT_MS));
}

static void
test_guest_known_email_reuses_customer(void)
{
	struct itest_response r;
	long long pid = itest_product(PRICE, "one_time", 1);
	char known[128], fresh[128], form[256], cus[64], pi[128], got[64], again[64];

	itest_unique_email(known, sizeof(known), "known");
	itest_unique_email(fresh, sizeof(fresh), "fresh");
	(void)snprintf(form, sizeof(form), "email=%s&name=Dashboard+Made", known);
	itest_stripe("POST", "/v1/customers", form, &r);
	CU_ASSERT_EQUAL_FATAL(r.status, 200);
	itest_copy(cus, sizeof(cus), itest_json_str(&r, "id"));
	itest_response_free(&r);

	guest_intent(urls[0], "127.0.0.11", known, pid, pi, sizeof(pi), got, sizeof(got));
	ITEST_STR_EQ(got, cus);
	guest_intent(urls[nurls - 1], "127.0.0.11", known, pid, pi, sizeof(pi), again,
	    sizeof(again));
	ITEST_STR_EQ(again, cus);
	CU_ASSERT_EQUAL(itest_sql_num("SELECT COUNT(*) FROM payment_intents WHERE "
	    "stripe_id = '%s' AND user_id IS NULL AND guest_email = LOWER('%s')", pi, known), 1);

	/* An address Stripe does not know gets a customer of its own, once. */
	guest_intent(urls[0], "127.0.0.11", fresh, pid, pi, sizeof(pi), got, sizeof(got));
	guest_intent(urls[nurls - 1], "127.0.0.11", fresh, pid, pi, sizeof(pi), again,
	    sizeof(again));
	ITEST_STR_EQ(again, got);
	ITEST_STR_NE(got, cus);
	itest_emulator_object("customers", got, &r);
	ITEST_STR_EQ(itest_json_str(&r, "email"), fresh);
	ITEST_STR_EQ(itest_json_str(&r, "metadata.source"), "guest");
	itest_response_free(&r);
}

static void
test_guest_registration_adopts(void)
{
	struct itest_response r;
	struct itest_user u;
	long long pid = itest_product(PRICE, "one_time", 1);
	char email[128], upper[128], pi[128], guest_cus[64], body[512], form[64], want[64];

	itest_unique_email(email, sizeof(email), "adopt");
	guest_intent(urls[0], "127.0.0.12", email, pid, pi, sizeof(pi), guest_cus,
	    sizeof(guest_cus));
	/* The guest pays in the browser (Stripe.js confirms with the client secret). */
	(void)snprintf(form, sizeof(form), "payment_method=pm_card_visa");
	(void)snprintf(body, sizeof(body), "/v1/payment_intents/%s/confirm", pi);
	itest_stripe("POST", body, form, &r);
	CU_ASSERT_EQUAL_FATAL(r.status, 200);
	itest_response_free(&r);
	CU_ASSERT(itest_wait_sql("paid|NULL", "SELECT CONCAT(status, '|', COALESCE(user_id, "
	    "'NULL')) FROM orders WHERE stripe_payment_intent_id = '%s'", pi));

	/* Registering with the address, in another case, adopts the customer and the order. */
	itest_copy(upper, sizeof(upper), email);
	upper[0] = (char)toupper((unsigned char)upper[0]);
	(void)snprintf(body, sizeof(body), "{\"name\":\"Adopter\",\"email\":\"%s\","
	    "\"password\":\"" ITEST_PASSWORD "\"}", upper);
	itest_api_with("POST", urls[nurls - 1], "/v1/users", NULL, NULL, body, &r);
	CU_ASSERT_EQUAL_FATAL(r.status, 201);
	u.id = itest_json_int(&r, "data.user.id", 0);
	itest_copy(u.token, sizeof(u.token), itest_json_str(&r, "data.access_token"));
	itest_response_free(&r);
	(void)snprintf(want, sizeof(want), "%s", guest_cus);
	CU_ASSERT(itest_wait_sql(want, "SELECT COALESCE(stripe_customer_id, '') FROM users "
	    "WHERE id = %lld", u.id));
	itest_emulator_object("customers", guest_cus, &r);
	CU_ASSERT_EQUAL(atoll(itest_s(itest_json_str(&r, "metadata.user_id"))), u.id);
	ITEST_STR_EQ(itest_json_str(&r, "name"), "Adopter");
	itest_response_free(&r);
	itest_api_with("GET", urls[0], "/v1/orders", u.token, NULL, NULL, &r);
	CU_ASSERT_EQUAL(r.status, 200);
	ITEST_STR_EQ(itest_json_str(&r, "data.items.0.paymentIntentId"), pi);
	itest_response_free(&r);
	(void)snprintf(body, sizeof(body), "/v1/payments/intents/%s", pi);
	CU_ASSERT_EQUAL(itest_api_status("GET", urls[0], body, u.token, NULL), 200);
}

static void
test_guest_rate_limits_and_input(void)
{
	struct itest_response r;
	long long pid = itest_product(PRICE, "one_time", 1);
	char email[128], body[512], source[32], retry[16], key[64], first[128];

	/* Per address, whatever the client. */
	itest_unique_email(email, sizeof(email), "rate");
	(void)snprintf(body, sizeof(body), "{\"email\":\"%s\",\"productId\":%lld,"
	    "\"quantity\":1}", email, pid);
	for (int i = 0; i <= GUEST_PER_EMAIL; i++) {
		(void)snprintf(source, sizeof(source), "127.0.1.%d", 10 + i);
		guest_post(urls[(size_t)i % nurls], source, NULL, body, &r);
		CU_ASSERT_EQUAL(r.status, i < GUEST_PER_EMAIL ? 201 : 429);
		if (i == GUEST_PER_EMAIL)
			CU_ASSERT(itest_header(&r, "Retry-After", retry, sizeof(retry)) &&
			    atoll(retry) >= 1);
		itest_response_free(&r);
	}
	/* Per client, whatever the address. */
	for (int i = 0; i <= GUEST_PER_IP; i++) {
		itest_unique_email(email, sizeof(email), "ip");
		(void)snprintf(body, sizeof(body), "{\"email\":\"%s\",\"productId\":%lld,"
		    "\"quantity\":1}", email, pid);
		guest_post(urls[(size_t)i % nurls], "127.0.2.1", NULL, body, &r);
		CU_ASSERT_EQUAL(r.status, i < GUEST_PER_IP ? 201 : 429);
		itest_response_free(&r);
	}
	/* Refused input, and a repeat under a key. */
	itest_unique_email(email, sizeof(email), "input");
	guest_post(urls[0], "127.0.3.1", NULL, "{\"email\":\"not an address\",\"productId\":1,"
	    "\"quantity\":1}", &r);
	CU_ASSERT_EQUAL(r.status, 422);
	CU_ASSERT_PTR_NOT_NULL(itest_json_str(&r, "error.fields.email"));
	itest_response_free(&r);
	(void)snprintf(body, sizeof(body), "{\"email\":\"%s\",\"productId\":%lld,"
	    "\"quantity\":1,\"amount\":1}", email, pid);
	guest_post(urls[0], "127.0.3.1", NULL, body, &r);
	CU_ASSERT_EQUAL(r.status, 422);
	CU_ASSERT_PTR_NOT_NULL(itest_json_str(&r, "error.fields.amount"));
	itest_response_free(&r);
	(void)snprintf(key, sizeof(key), "guest-%lld", itest_now_ms());
	(void)snprintf(body, sizeof(body), "{\"email\":\"%s\",\"productId\":%lld,"
	    "\"quantity\":2}", email, pid);
	guest_post(urls[0], "127.0.3.1", key, body, &r);
	CU_ASSERT_EQUAL(r.status, 201);
	itest_copy(first, sizeof(first), itest_json_str(&r, "data.id"));
	itest_response_free(&r);
	guest_post(urls[nurls - 1], "127.0.3.1", key, body, &r);
	CU_ASSERT_EQUAL(r.status, 201);
	ITEST_STR_EQ(itest_json_str(&r, "data.id"), first);
	itest_response_free(&r);
}

static const struct unit_test tests[] = {
	{ "intent_confirm_order", test_intent_confirm_order },
	{ "declined_and_3ds_cards", test_declined_and_3ds_cards },
	{ "bad_input_refused", test_bad_input_refused },
	{ "other_users_objects_are_not_found", test_other_users_objects_are_not_found },
	{ "idempotency_key", test_idempotency_key },
	{ "idempotency_key_expires", test_idempotency_key_expires },
	{ "stripe_failing_during_creation", test_stripe_failing_during_creation },
	{ "check_on_read", test_check_on_read },
	{ "read_serves_stale_when_stripe_fails", test_read_serves_stale_when_stripe_fails },
	{ "refunds", test_refunds },
	{ "lazy_customer_created_once", test_lazy_customer_created_once },
	{ "lists_paginate", test_lists_paginate },
	{ "cancel", test_cancel },
	{ "guest_payments_off_then_on", test_guest_payments_off_then_on },
	{ "guest_known_email_reuses_customer", test_guest_known_email_reuses_customer },
	{ "guest_registration_adopts", test_guest_registration_adopts },
	{ "guest_rate_limits_and_input", test_guest_rate_limits_and_input },
};

int
main(int argc, char *argv[])
{
	return itest_main("payments", tests, sizeof(tests) / sizeof(tests[0]), urls, MAX_URLS,
	    &nurls, argc, argv);
}
