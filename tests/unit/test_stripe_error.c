/*
 * What Stripe answers with: error bodies of each type parsed into struct stripe_error and
 * mapped onto pb_err and a public message; and objects parsed in both the shape of the
 * pinned version (2023-08-16) and the newer one (2026-06-24.dahlia) where they differ.
 */
#include "config.h"

#include <string.h>

#include "stripe/client.h"
#include "unit.h"
#include "util/json.h"

static enum pb_err
parse(int status, const char *body, const char *rid, struct stripe_error *e)
{
	memset(e, 0x5a, sizeof(*e));	/* nothing from before may survive */
	return stripe_error_parse(status, body, strlen(body), rid, e);
}

static void
test_api_error(void)
{
	struct stripe_error e;

	CU_ASSERT_EQUAL(parse(500, "{\"error\":{\"type\":\"api_error\",\"message\":"
	    "\"Something went wrong on Stripe's end.\"}}", "req_abc123", &e), PB_ESTRIPE);
	CU_ASSERT_EQUAL(e.status, 500);
	CU_ASSERT_EQUAL(e.err, PB_ESTRIPE);
	CU_ASSERT_STRING_EQUAL(e.type, "api_error");
	CU_ASSERT_STRING_EQUAL(e.code, "");
	CU_ASSERT_STRING_EQUAL(e.decline_code, "");
	CU_ASSERT_STRING_EQUAL(e.param, "");
	CU_ASSERT_STRING_EQUAL(e.message, "Something went wrong on Stripe's end.");
	CU_ASSERT_STRING_EQUAL(e.request_id, "req_abc123");
	CU_ASSERT_FALSE(e.timed_out);
	CU_ASSERT_STRING_EQUAL(stripe_error_public_message(&e), pb_strerror(PB_ESTRIPE));
}

static void
test_card_error(void)
{
	struct stripe_error e;

	/* As Stripe sends it: pretty-printed, with doc_url, charge and the payment intent. */
	CU_ASSERT_EQUAL(parse(402,
	    "{\n  \"error\": {\n    \"charge\": \"ch_1\",\n    \"code\": \"card_declined\",\n"
	    "    \"decline_code\": \"insufficient_funds\",\n"
	    "    \"doc_url\": \"https://stripe.com/docs/error-codes/card-declined\",\n"
	    "    \"message\": \"Your card has insufficient funds.\",\n"
	    "    \"payment_intent\": {\"id\": \"pi_1\", \"object\": \"payment_intent\","
	    " \"metadata\": {}},\n"
	    "    \"request_log_url\": \"https://dashboard.stripe.com/test/logs/req_1\",\n"
	    "    \"type\": \"card_error\"\n  }\n}\n", "req_1", &e), PB_EFIELDS);
	CU_ASSERT_STRING_EQUAL(e.type, "card_error");
	CU_ASSERT_STRING_EQUAL(e.code, "card_declined");
	CU_ASSERT_STRING_EQUAL(e.decline_code, "insufficient_funds");
	CU_ASSERT_STRING_EQUAL(e.message, "Your card has insufficient funds.");
	CU_ASSERT_STRING_EQUAL(e.request_id, "req_1");
	/* Card messages are written for the customer and reach them unchanged. */
	CU_ASSERT_STRING_EQUAL(stripe_error_public_message(&e),
	    "Your card has insufficient funds.");
}

static void
test_idempotency_error(void)
{
	struct stripe_error e;

	CU_ASSERT_EQUAL(parse(400, "{\"error\":{\"type\":\"idempotency_error\",\"message\":"
	    "\"Keys for idempotent requests can only be used with the same parameters they "
	    "were first used with.\"}}", "req_2", &e), PB_ECONFLICT);
	CU_ASSERT_STRING_EQUAL(e.type, "idempotency_error");
	CU_ASSERT_STRING_EQUAL(stripe_error_public_message(&e), pb_strerror(PB_ECONFLICT));
	/* A key still in use by a concurrent request, once retries are spent. */
	CU_ASSERT_EQUAL(parse(409, "{\"error\":{\"type\":\"invalid_request_error\","
	    "\"code\":\"idempotency_key_in_use\",\"message\":\"busy\"}}", NULL, &e),
	    PB_ECONFLICT);
}

static void
test_invalid_request_error(void)
{
	struct stripe_error e;

	CU_ASSERT_EQUAL(parse(400, "{\"error\":{\"type\":\"invalid_request_error\","
	    "\"code\":\"parameter_invalid_integer\",\"param\":\"metadata[user_id]\","
	    "\"message\":\"Invalid integer: abc\"}}", "req_3", &e), PB_EFIELDS);
	CU_ASSERT_STRING_EQUAL(e.param, "metadata[user_id]");
	CU_ASSERT_STRING_EQUAL(e.code, "parameter_invalid_integer");
	/* Not a card error: Stripe's text (which may echo input) stays internal. */
	CU_ASSERT_STRING_EQUAL(stripe_error_public_message(&e), pb_strerror(PB_EFIELDS));

	CU_ASSERT_EQUAL(parse(400, "{\"error\":{\"type\":\"invalid_request_error\","
	    "\"message\":\"Invalid request\"}}", "req_4", &e), PB_EINVAL);
	CU_ASSERT_STRING_EQUAL(e.param, "");

	CU_ASSERT_EQUAL(parse(404, "{\"error\":{\"type\":\"invalid_request_error\","
	    "\"code\":\"resource_missing\",\"param\":\"id\","
	    "\"message\":\"No such customer: 'cus_x'\"}}", "req_5", &e), PB_ENOTFOUND);
	CU_ASSERT_EQUAL(parse(400, "{\"error\":{\"type\":\"invalid_request_error\","
	    "\"code\":\"resource_missing\",\"param\":\"payment_method\","
	    "\"message\":\"No such PaymentMethod: 'pm_x'\"}}", "req_6", &e), PB_ENOTFOUND);
	CU_ASSERT_EQUAL(parse(400, "{\"error\":{\"type\":\"invalid_request_error\","
	    "\"code\":\"payment_intent_unexpected_state\",\"message\":\"cannot cancel\"}}",
	    "req_7", &e), PB_ECONFLICT);
}

static void
test_rate_limit_and_auth(void)
{
	struct stripe_error e;

	CU_ASSERT_EQUAL(parse(429, "{\"error\":{\"type\":\"invalid_request_error\","
	    "\"code\":\"rate_limit\",\"message\":\"Too many requests\"}}", "req_8", &e),
	    PB_ESTRIPE);
	CU_ASSERT_STRING_EQUAL(e.code, "rate_limit");
	CU_ASSERT_EQUAL(parse(429, "{\"error\":{\"type\":\"rate_limit_error\","
	    "\"message\":\"Too many requests\"}}", "req_9", &e), PB_ESTRIPE);
	CU_ASSERT_STRING_EQUAL(e.type, "rate_limit_error");
	CU_ASSERT_EQUAL(parse(401, "{\"error\":{\"type\":\"authentication_error\","
	    "\"message\":\"Invalid API Key provided: sk_test_****\"}}", "req_10", &e),
	    PB_ESTRIPE);
	CU_ASSERT_EQUAL(parse(403, "{\"error\":{\"type\":\"permission_error\","
	    "\"message\":\"no\"}}", NULL, &e), PB_ESTRIPE);
	CU_ASSERT_EQUAL(parse(400, "{\"error\":{\"type\":\"some_future_error\","
	    "\"message\":\"?\"}}", NULL, &e), PB_ESTRIPE);
}

static void
test_without_request_id(void)
{
	struct stripe_error e;

	CU_ASSERT_EQUAL(parse(402, "{\"error\":{\"type\":\"card_error\",\"code\":"
	    "\"expired_card\",\"message\":\"Your card has expired.\"}}", NULL, &e), PB_EFIELDS);
	CU_ASSERT_STRING_EQUAL(e.request_id, "");
	CU_ASSERT_STRING_EQUAL(e.code, "expired_card");
	CU_ASSERT_STRING_EQUAL(e.decline_code, "");
}

static void
test_not_a_stripe_error(void)
{
	struct stripe_error e;

	/* A proxy's page, a truncated body, an empty body, odd types. */
	CU_ASSERT_EQUAL(parse(502, "<html><body>Bad Gateway</body></html>", NULL, &e),
	    PB_ESTRIPE);
	CU_ASSERT_STRING_EQUAL(e.type, "");
	CU_ASSERT_STRING_EQUAL(e.message, "unexpected answer from Stripe");
	CU_ASSERT_EQUAL(parse(404, "{\"error\":{\"type\":\"invalid_req", "req_11", &e),
	    PB_ESTRIPE);
	CU_ASSERT_STRING_EQUAL(e.request_id, "req_11");
	CU_ASSERT_EQUAL(parse(500, "", NULL, &e), PB_ESTRIPE);
	CU_ASSERT_EQUAL(parse(400, "{\"error\":\"nope\"}", NULL, &e), PB_ESTRIPE);
	CU_ASSERT_EQUAL(parse(402, "{\"error\":{\"type\":\"card_error\",\"message\":7}}", NULL,
	    &e), PB_EFIELDS);
	CU_ASSERT_STRING_EQUAL(e.message, "");
	CU_ASSERT_STRING_EQUAL(stripe_error_public_message(&e), pb_strerror(PB_EFIELDS));
}

static void
test_long_fields_truncated_on_utf8(void)
{
	struct stripe_error e;
	char body[4096], msg[2048];
	size_t n = 0;

	/* 700 two-byte characters: 1400 bytes, more than message[] holds. */
	while (n + 2 < 1400 + 1) {
		msg[n++] = '\xc3';
		msg[n++] = '\xa9';
	}
	msg[n] = '\0';
	(void)snprintf(body, sizeof(body), "{\"error\":{\"type\":\"card_error\",\"message\":"
	    "\"x%s\"}}", msg);
	(void)parse(402, body, NULL, &e);
	CU_ASSERT_TRUE(strlen(e.message) < sizeof(e.message));
	CU_ASSERT_TRUE(strlen(e.message) >= sizeof(e.message) - 2);
	CU_ASSERT_TRUE(utf8_valid(e.message, strlen(e.message)));
}

static void
test_map_without_answer(void)
{
	struct stripe_error e;

	memset(&e, 0, sizeof(e));
	CU_ASSERT_EQUAL(stripe_error_map(&e), PB_ESTRIPE);
	e.timed_out = true;
	CU_ASSERT_EQUAL(stripe_error_map(&e), PB_ETIMEOUT);
	CU_ASSERT_STRING_EQUAL(stripe_error_public_message(&e), pb_strerror(PB_ETIMEOUT));
}

/* ---- objects in both API versions' shapes ---- */

static struct json_object *
obj(const char *text)
{
	struct json_object *o = NULL;

	CU_ASSERT_EQUAL_FATAL(json_parse(text, strlen(text), 64, &o), PB_OK);
	return o;
}

static void
test_parse_customer(void)
{
	struct json_object *o = obj("{\"id\":\"cus_1\",\"object\":\"customer\",\"name\":\"Jenny\","
	    "\"email\":\"j@example.com\",\"description\":null,\"created\":1785402900,"
	    "\"invoice_settings\":{\"default_payment_method\":{\"id\":\"pm_9\","
	    "\"object\":\"payment_method\"}},\"metadata\":{\"user_id\":\"42\"},"
	    "\"livemode\":false}");
	struct stripe_customer c;

	CU_ASSERT_EQUAL(stripe_customer_from_json(o, &c), PB_OK);
	json_object_put(o);	/* c holds its own reference */
	CU_ASSERT_STRING_EQUAL(c.id, "cus_1");
	CU_ASSERT_STRING_EQUAL(c.name, "Jenny");
	CU_ASSERT_STRING_EQUAL(c.email, "j@example.com");
	CU_ASSERT_PTR_NULL(c.description);
	CU_ASSERT_STRING_EQUAL(c.default_payment_method, "pm_9");	/* expanded */
	CU_ASSERT_STRING_EQUAL(json_get_str(c.metadata, "user_id"), "42");
	CU_ASSERT_EQUAL(c.created, 1785402900);
	CU_ASSERT_FALSE(c.deleted);
	stripe_customer_free(&c);
	stripe_customer_free(&c);

	o = obj("{\"id\":\"cus_1\",\"object\":\"customer\",\"deleted\":true}");
	CU_ASSERT_EQUAL(stripe_customer_from_json(o, &c), PB_OK);
	CU_ASSERT_TRUE(c.deleted);
	stripe_customer_free(&c);
	json_object_put(o);

	o = obj("{\"id\":\"pi_1\",\"object\":\"payment_intent\",\"status\":\"succeeded\"}");
	CU_ASSERT_EQUAL(stripe_customer_from_json(o, &c), PB_ESTRIPE);
	CU_ASSERT_PTR_NULL(c.raw);
	json_object_put(o);
	o = obj("{\"object\":\"customer\"}");
	CU_ASSERT_EQUAL(stripe_customer_from_json(o, &c), PB_ESTRIPE);
	json_object_put(o);
	CU_ASSERT_EQUAL(stripe_customer_from_json(NULL, &c), PB_ESTRIPE);
}

static void
test_parse_subscription_both_shapes(void)
{
	/* 2023-08-16: the period on the subscription. */
	struct json_object *old = obj("{\"id\":\"sub_1\",\"object\":\"subscription\","
	    "\"status\":\"active\",\"customer\":\"cus_1\",\"current_period_start\":1000,"
	    "\"current_period_end\":2000,\"cancel_at_period_end\":false,"
	    "\"latest_invoice\":\"in_1\",\"items\":{\"object\":\"list\",\"data\":[{\"id\":\"si_1\","
	    "\"price\":{\"id\":\"price_1\",\"object\":\"price\"},\"quantity\":1}]}}");
	/* 2025-03-31.basil and later: on each item, gone from the top. */
	struct json_object *new = obj("{\"id\":\"sub_1\",\"object\":\"subscription\","
	    "\"status\":\"active\",\"customer\":{\"id\":\"cus_1\",\"object\":\"customer\"},"
	    "\"cancel_at_period_end\":true,\"latest_invoice\":null,"
	    "\"items\":{\"object\":\"list\",\"data\":[{\"id\":\"si_1\",\"price\":"
	    "{\"id\":\"price_1\",\"object\":\"price\"},\"quantity\":3,"
	    "\"current_period_start\":1000,\"current_period_end\":2000}]}}");
	struct stripe_subscription a, b;

	CU_ASSERT_EQUAL_FATAL(stripe_subscription_from_json(old, &a), PB_OK);
	CU_ASSERT_EQUAL_FATAL(stripe_subscription_from_json(new, &b), PB_OK);
	CU_ASSERT_EQUAL(a.current_period_start, 1000);
	CU_ASSERT_EQUAL(a.current_period_end, 2000);
	CU_ASSERT_EQUAL(b.current_period_start, 1000);
	CU_ASSERT_EQUAL(b.current_period_end, 2000);
	CU_ASSERT_STRING_EQUAL(a.customer, "cus_1");
	CU_ASSERT_STRING_EQUAL(b.customer, "cus_1");
	CU_ASSERT_STRING_EQUAL(a.price, "price_1");
	CU_ASSERT_EQUAL(b.quantity, 3);
	CU_ASSERT_STRING_EQUAL(a.latest_invoice, "in_1");
	CU_ASSERT_PTR_NULL(b.latest_invoice);
	CU_ASSERT_TRUE(b.cancel_at_period_end);
	stripe_subscription_free(&a);
	stripe_subscription_free(&b);
	json_object_put(old);
	json_object_put(new);
}

static void
test_parse_payment_intent(void)
{
	struct json_object *o = obj("{\"id\":\"pi_1\",\"object\":\"payment_intent\","
	    "\"amount\":1099,\"amount_received\":0,\"currency\":\"usd\",\"status\":"
	    "\"requires_payment_method\",\"customer\":\"cus_1\",\"client_secret\":\"pi_1_secret_x\","
	    "\"latest_charge\":{\"id\":\"ch_1\",\"object\":\"charge\"},\"last_payment_error\":"
	    "{\"type\":\"card_error\",\"code\":\"card_declined\",\"decline_code\":"
	    "\"generic_decline\",\"message\":\"Your card was declined.\"},\"next_action\":null,"
	    "\"metadata\":{},\"created\":5,\"canceled_at\":null}");
	struct stripe_payment_intent pi;

	CU_ASSERT_EQUAL_FATAL(stripe_payment_intent_from_json(o, &pi), PB_OK);
	CU_ASSERT_EQUAL(pi.amount, 1099);
	CU_ASSERT_STRING_EQUAL(pi.currency, "usd");
	CU_ASSERT_STRING_EQUAL(pi.latest_charge, "ch_1");
	CU_ASSERT_STRING_EQUAL(pi.last_error_decline_code, "generic_decline");
	CU_ASSERT_PTR_NULL(pi.next_action_type);
	CU_ASSERT_EQUAL(pi.canceled_at, 0);
	stripe_payment_intent_free(&pi);
	json_object_put(o);
}

static void
test_parse_event_request_shapes(void)
{
	struct json_object *o = obj("{\"id\":\"evt_1\",\"object\":\"event\",\"api_version\":"
	    "\"2026-06-24.dahlia\",\"created\":7,\"type\":\"customer.updated\",\"data\":"
	    "{\"object\":{\"id\":\"cus_1\",\"object\":\"customer\"},\"previous_attributes\":"
	    "{\"email\":\"old@example.com\"}},\"request\":{\"id\":\"req_1\","
	    "\"idempotency_key\":\"k1\"},\"livemode\":false,\"pending_webhooks\":1}");
	struct json_object *old = obj("{\"id\":\"evt_2\",\"object\":\"event\",\"created\":7,"
	    "\"type\":\"customer.created\",\"data\":{\"object\":{\"id\":\"cus_1\","
	    "\"object\":\"customer\"}},\"request\":\"req_2\"}");
	struct stripe_event a, b;
	struct stripe_customer c;

	CU_ASSERT_EQUAL_FATAL(stripe_event_from_json(o, &a), PB_OK);
	CU_ASSERT_EQUAL_FATAL(stripe_event_from_json(old, &b), PB_OK);
	CU_ASSERT_STRING_EQUAL(a.type, "customer.updated");
	CU_ASSERT_STRING_EQUAL(a.request_id, "req_1");
	CU_ASSERT_STRING_EQUAL(a.idempotency_key, "k1");
	CU_ASSERT_STRING_EQUAL(json_get_str(a.previous_attributes, "email"), "old@example.com");
	CU_ASSERT_STRING_EQUAL(b.request_id, "req_2");
	CU_ASSERT_PTR_NULL(b.idempotency_key);
	CU_ASSERT_PTR_NULL(b.previous_attributes);
	CU_ASSERT_EQUAL(stripe_customer_from_json(a.object, &c), PB_OK);
	CU_ASSERT_STRING_EQUAL(c.id, "cus_1");
	stripe_customer_free(&c);
	stripe_event_free(&a);
	stripe_event_free(&b);
	json_object_put(o);
	json_object_put(old);
}

static const struct unit_test tests[] = {
	UNIT_TEST(test_api_error),
	UNIT_TEST(test_card_error),
	UNIT_TEST(test_idempotency_error),
	UNIT_TEST(test_invalid_request_error),
	UNIT_TEST(test_rate_limit_and_auth),
	UNIT_TEST(test_without_request_id),
	UNIT_TEST(test_not_a_stripe_error),
	UNIT_TEST(test_long_fields_truncated_on_utf8),
	UNIT_TEST(test_map_without_answer),
	UNIT_TEST(test_parse_customer),
	UNIT_TEST(test_parse_subscription_both_shapes),
	UNIT_TEST(test_parse_payment_intent),
	UNIT_TEST(test_parse_event_request_shapes),
};

UNIT_MAIN("stripe_error", tests)
