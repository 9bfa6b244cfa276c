/*
 * Stripe webhooks through the real stack (tests/integration/run.sh): every web server in
 * PB_TEST_URLS delivers the body byte for byte to a verifying, exactly-once, order-proof
 * paybridge. Events are signed here with the stack's secret
 * (PAYBRIDGE_STRIPE_WEBHOOK_SECRETS), or by the Stripe emulator end to end. Waits for
 * anything asynchronous poll under a generous guard; none is a fixed sleep.
 */
#include "config.h"

#include <dirent.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "itest.h"
#include "itest_sign.h"

#define MAX_URLS 4
#define LIMIT 1048576	/* stripe_webhook_max_bytes default, and the web servers' */
#define CUSTOMER_FIXTURE "cus_QXg1o8vcGmoR32"

static const char *urls[MAX_URLS];
static size_t nurls;
static char run_tag[32];	/* makes ids unique per run and per server */
static unsigned seq;

static long
deliver(const char *base, const char *body)
{
	struct itest_response r;
	long status;

	itest_deliver_at(base, body, strlen(body), (long long)time(NULL), &r);
	status = r.status;
	if (status != 200)
		fprintf(stderr, "delivery answered %ld: %s\n", status, r.body);
	itest_response_free(&r);
	return status;
}

/* An event JSON for object (a JSON object text). */
static char *
event(const char *id, const char *type, long long created, const char *object)
{
	size_t n = strlen(object) + 512;
	char *s = malloc(n);

	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	(void)snprintf(s, n,
	    "{\"id\":\"%s\",\"object\":\"event\",\"api_version\":\"2023-08-16\","
	    "\"created\":%lld,\"livemode\":false,\"pending_webhooks\":1,"
	    "\"request\":{\"id\":null,\"idempotency_key\":null},\"type\":\"%s\","
	    "\"data\":{\"object\":%s}}", id, created, type, object);
	return s;
}

static void
uid(char *out, size_t n, const char *prefix)
{
	(void)snprintf(out, n, "%s_%s_%u", prefix, run_tag, ++seq);
}

/* A user whose Stripe customer is customer; returns its id. */
static long long
make_user(const char *customer)
{
	char q[1024], email[128];

	(void)snprintf(email, sizeof(email), "wh_%s_%u@example.com", run_tag, ++seq);
	(void)snprintf(q, sizeof(q),
	    "INSERT INTO users (name, email, email_normalized, password_hash, stripe_customer_id) "
	    "VALUES ('Webhook Test', '%s', '%s', 'x', '%s')", email, email, customer);
	CU_ASSERT_EQUAL_FATAL(itest_sql(q, NULL, 0), 0);
	return itest_sql_num("SELECT id FROM users WHERE email_normalized = '%s'", email);
}

static char *
pi_object(const char *pi, const char *customer, const char *status, const char *meta)
{
	char *s = malloc(1024);

	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	(void)snprintf(s, 1024,
	    "{\"id\":\"%s\",\"object\":\"payment_intent\",\"amount\":1099,"
	    "\"amount_received\":%d,\"currency\":\"usd\",\"customer\":\"%s\",\"status\":\"%s\","
	    "\"livemode\":false,\"last_payment_error\":null,\"metadata\":{%s}}",
	    pi, strcmp(status, "succeeded") == 0 ? 1099 : 0, customer, status,
	    meta != NULL ? meta : "");
	return s;
}

/* Delivers a payment intent event; returns the status. */
static long
deliver_pi(const char *base, const char *type, long long created, const char *pi,
    const char *customer, const char *status, const char *meta)
{
	char id[96], *o, *e;
	long st;

	uid(id, sizeof(id), "evt");
	o = pi_object(pi, customer, status, meta);
	e = event(id, type, created, o);
	st = deliver(base, e);
	free(o);
	free(e);
	return st;
}

static void
test_signature_refused(void)
{
#define BODY_FMT "{\"id\":\"%s\",\"object\":\"event\",\"type\":\"test.x\"," \
	"\"created\":1,\"livemode\":false,\"data\":{\"object\":{\"id\":\"x\"}}}"
	for (size_t u = 0; u < nurls; u++) {
		struct itest_response r;
		char id[96], body[512], hex[65], h[256];
		long long now = (long long)time(NULL);

		uid(id, sizeof(id), "evt");
		(void)snprintf(body, sizeof(body), BODY_FMT, id);
		/* Wrong secret, missing header, only v0, 301 s old, tampered body. */
		itest_sign("whsec_not_ours", now, body, strlen(body), hex);
		(void)snprintf(h, sizeof(h), "t=%lld,v1=%s", now, hex);
		itest_deliver_raw(urls[u], body, strlen(body), h, &r);
		CU_ASSERT_EQUAL(r.status, 400);
		CU_ASSERT_STRING_EQUAL(itest_json_str(&r, "error.code"), "signature_invalid");
		itest_response_free(&r);
		itest_deliver_raw(urls[u], body, strlen(body), NULL, &r);
		CU_ASSERT_EQUAL(r.status, 400);
		CU_ASSERT_STRING_EQUAL(itest_json_str(&r, "error.code"), "signature_invalid");
		itest_response_free(&r);
		itest_sign(itest_webhook_secret(), now, body, strlen(body), hex);
		(void)snprintf(h, sizeof(h), "t=%lld,v0=%s", now, hex);
		itest_deliver_raw(urls[u], body, strlen(body), h, &r);
		CU_ASSERT_EQUAL(r.status, 400);
		itest_response_free(&r);
		itest_deliver_at(urls[u], body, strlen(body), now - 301, &r);
		CU_ASSERT_EQUAL(r.status, 400);
		CU_ASSERT_STRING_EQUAL(itest_json_str(&r, "error.code"), "signature_invalid");
		itest_response_free(&r);
		(void)snprintf(h, sizeof(h), "t=%lld,v1=%s", now, hex);
		body[strlen(body) - 2] = ' ';
		itest_deliver_raw(urls[u], body, strlen(body), h, &r);
		CU_ASSERT_EQUAL(r.status, 400);
		itest_response_free(&r);
		CU_ASSERT_EQUAL(itest_sql_num("SELECT COUNT(*) FROM stripe_events WHERE "
		    "stripe_event_id = '%s'", id), 0);
		CU_ASSERT_EQUAL(itest_sql_num("SELECT COUNT(*) FROM stripe_event_failures WHERE "
		    "stripe_event_id = '%s'", id), 0);

		/* A valid signature over malformed JSON, and a live event for a test key. */
		itest_deliver_at(urls[u], "{\"id\":", 6, now, &r);
		CU_ASSERT_EQUAL(r.status, 400);
		CU_ASSERT_STRING_EQUAL(itest_json_str(&r, "error.code"), "invalid_event");
		itest_response_free(&r);
		(void)snprintf(body, sizeof(body), BODY_FMT, id);
		memcpy(strstr(body, "\"livemode\":false"), "\"livemode\":true ", 16);
		itest_deliver_at(urls[u], body, strlen(body), now, &r);
		CU_ASSERT_EQUAL(r.status, 400);
		CU_ASSERT_STRING_EQUAL(itest_json_str(&r, "error.code"), "livemode_mismatch");
		itest_response_free(&r);
		CU_ASSERT_EQUAL(itest_sql_num("SELECT COUNT(*) FROM stripe_events WHERE "
		    "stripe_event_id = '%s'", id), 0);
	}
}

/* An event of exactly n bytes (n >= 256), padded inside a metadata string. */
static char *
padded_event(const char *id, size_t n)
{
	char *s = malloc(n + 1);
	int head;

	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	head = snprintf(s, n + 1, "{\"id\":\"%s\",\"object\":\"event\",\"type\":\"test.padding\","
	    "\"created\":1,\"livemode\":false,\"data\":{\"object\":{\"id\":\"pad\",\"pad\":\"",
	    id);
	CU_ASSERT_FATAL(head > 0 && (size_t)head + 5 < n);
	memset(s + head, 'a', n - (size_t)head - 5);
	memcpy(s + n - 5, "\"}}}\n", 5);
	s[n] = '\0';
	return s;
}

static void
test_body_bytes(void)
{
	for (size_t u = 0; u < nurls; u++) {
		struct itest_response r;
		char id[96], body[1024];
		long long now = (long long)time(NULL);
		char *big;
		int n;

		/* CRLF, trailing spaces and tabs, multi-byte UTF-8: the signature covers them. */
		uid(id, sizeof(id), "evt");
		n = snprintf(body, sizeof(body),
		    "{\r\n  \"id\": \"%s\",  \r\n\t\"object\":\"event\",\"type\":\"test.bytes\",   "
		    "\r\n\"created\":1,\"livemode\":false,\"data\":{\"object\":{\"id\":\"b\","
		    "\"name\":\"J\xc3\xa9r\xc3\xb4me \xe2\x82\xac \xf0\x9f\x98\x80\"}}}  \r\n  ", id);
		itest_deliver_at(urls[u], body, (size_t)n, now, &r);
		CU_ASSERT_EQUAL(r.status, 200);
		itest_response_free(&r);
		CU_ASSERT_EQUAL(itest_sql_num("SELECT LENGTH(payload) FROM stripe_events WHERE "
		    "stripe_event_id = '%s'", id), n);
		CU_ASSERT_EQUAL(itest_sql_num("SELECT payload LIKE '%%J\xc3\xa9r\xc3\xb4me%%' FROM "
		    "stripe_events WHERE stripe_event_id = '%s'", id), 1);

		/* Exactly the limit passes; one byte more is 413, from whoever sees it first. */
		uid(id, sizeof(id), "evt");
		big = padded_event(id, LIMIT);
		itest_deliver_at(urls[u], big, LIMIT, now, &r);
		CU_ASSERT_EQUAL(r.status, 200);
		itest_response_free(&r);
		free(big);
		CU_ASSERT_EQUAL(itest_sql_num("SELECT LENGTH(payload) FROM stripe_events WHERE "
		    "stripe_event_id = '%s'", id), LIMIT);
		uid(id, sizeof(id), "evt");
		big = padded_event(id, LIMIT + 1);
		itest_deliver_at(urls[u], big, LIMIT + 1, now, &r);
		CU_ASSERT_EQUAL(r.status, 413);
		itest_response_free(&r);
		free(big);
		CU_ASSERT_EQUAL(itest_sql_num("SELECT COUNT(*) FROM stripe_events WHERE "
		    "stripe_event_id = '%s'", id), 0);
	}
}

struct racer {
	const char *base;
	const char *body;
	long status;
	bool duplicate;
};

static void *
race(void *arg)
{
	struct racer *x = arg;
	struct itest_response r;

	itest_deliver_at(x->base, x->body, strlen(x->body), (long long)time(NULL), &r);
	x->status = r.status;
	x->duplicate = itest_json_str(&r, "data.duplicate") != NULL ||
	    (r.json != NULL && json_object_get_boolean(json_object_object_get(
	    json_object_object_get(r.json, "data"), "duplicate")));
	itest_response_free(&r);
	return NULL;
}

/* The same event 50 times at once through nginx: all 2xx, one row, one order. */
static void
test_concurrent_duplicates(void)
{
	enum { N = 50 };
	pthread_t t[N];
	struct racer x[N];
	char id[96], pi[96], cus[96], *o, *e;
	int ok = 0, dups = 0;

	uid(cus, sizeof(cus), "cus");
	uid(pi, sizeof(pi), "pi");
	uid(id, sizeof(id), "evt");
	(void)make_user(cus);
	o = pi_object(pi, cus, "succeeded", NULL);
	e = event(id, "payment_intent.succeeded", (long long)time(NULL), o);
	for (int i = 0; i < N; i++) {
		x[i] = (struct racer){ .base = urls[0], .body = e };
		pthread_create(&t[i], NULL, race, &x[i]);
	}
	for (int i = 0; i < N; i++) {
		pthread_join(t[i], NULL);
		ok += x[i].status >= 200 && x[i].status < 300;
		dups += x[i].duplicate;
	}
	CU_ASSERT_EQUAL(ok, N);
	CU_ASSERT_EQUAL(dups, N - 1);
	CU_ASSERT_EQUAL(itest_sql_num("SELECT COUNT(*) FROM stripe_events WHERE stripe_event_id = "
	    "'%s'", id), 1);
	CU_ASSERT_EQUAL(itest_sql_num("SELECT COUNT(*) FROM orders WHERE stripe_payment_intent_id = "
	    "'%s'", pi), 1);
	CU_ASSERT_EQUAL(itest_sql_num("SELECT COUNT(*) FROM payment_intents WHERE stripe_id = '%s'",
	    pi), 1);
	free(o);
	free(e);
}

static void
test_out_of_order_payment_intent(void)
{
	for (size_t u = 0; u < nurls; u++) {
		char pi[96], cus[96], st[64];
		long long now = (long long)time(NULL);

		uid(cus, sizeof(cus), "cus");
		uid(pi, sizeof(pi), "pi");
		(void)make_user(cus);
		CU_ASSERT_EQUAL(deliver_pi(urls[u], "payment_intent.succeeded", now, pi, cus,
		    "succeeded", NULL), 200);
		CU_ASSERT_EQUAL(deliver_pi(urls[u], "payment_intent.processing", now - 5, pi, cus,
		    "processing", NULL), 200);
		/* Terminal: even a newer canceled does not move it back. */
		CU_ASSERT_EQUAL(deliver_pi(urls[u], "payment_intent.canceled", now + 5, pi, cus,
		    "canceled", NULL), 200);
		itest_sqlf(st, sizeof(st), "SELECT status FROM payment_intents WHERE stripe_id = '%s'",
		    pi);
		CU_ASSERT_STRING_EQUAL(st, "succeeded");
		CU_ASSERT_EQUAL(itest_sql_num("SELECT last_event_created FROM payment_intents WHERE "
		    "stripe_id = '%s'", pi), now);
		itest_sqlf(st, sizeof(st), "SELECT CONCAT(status, ' ', amount, ' ', currency) FROM "
		    "orders WHERE stripe_payment_intent_id = '%s'", pi);
		CU_ASSERT_STRING_EQUAL(st, "paid 1099 usd");
	}
}

/* Several events in one second: the tie goes to the later life-cycle step, in any order. */
static void
test_same_second_tie(void)
{
	char pi[96], cus[96], st[64];
	long long now = (long long)time(NULL);

	uid(cus, sizeof(cus), "cus");
	uid(pi, sizeof(pi), "pi");
	(void)make_user(cus);
	CU_ASSERT_EQUAL(deliver_pi(urls[0], "payment_intent.processing", now, pi, cus,
	    "processing", NULL), 200);
	CU_ASSERT_EQUAL(deliver_pi(urls[0], "payment_intent.requires_action", now, pi, cus,
	    "requires_action", NULL), 200);
	itest_sqlf(st, sizeof(st), "SELECT status FROM payment_intents WHERE stripe_id = '%s'", pi);
	CU_ASSERT_STRING_EQUAL(st, "processing");
	CU_ASSERT_EQUAL(deliver_pi(urls[0], "payment_intent.payment_failed", now + 1, pi, cus,
	    "requires_payment_method", NULL), 200);
	itest_sqlf(st, sizeof(st), "SELECT status FROM payment_intents WHERE stripe_id = '%s'", pi);
	CU_ASSERT_STRING_EQUAL(st, "requires_payment_method");
}

static char *
sub_object(const char *sub, const char *cus, const char *status, bool cancel_end)
{
	char *s = malloc(1024);

	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	/* The newer shape: periods on the item. */
	(void)snprintf(s, 1024,
	    "{\"id\":\"%s\",\"object\":\"subscription\",\"customer\":\"%s\",\"status\":\"%s\","
	    "\"cancel_at_period_end\":%s,\"canceled_at\":null,\"ended_at\":null,"
	    "\"metadata\":{},\"items\":{\"object\":\"list\",\"data\":[{\"id\":\"si_1\","
	    "\"quantity\":2,\"current_period_start\":1785403100,"
	    "\"current_period_end\":1788081500,\"price\":{\"id\":\"price_x\","
	    "\"product\":\"prod_x\"}}]}}", sub, cus, status, cancel_end ? "true" : "false");
	return s;
}

static void
test_out_of_order_subscription(void)
{
	for (size_t u = 0; u < nurls; u++) {
		char sub[96], cus[96], id[96], st[128], *o, *e;
		long long now = (long long)time(NULL);

		uid(cus, sizeof(cus), "cus");
		uid(sub, sizeof(sub), "sub");
		(void)make_user(cus);
		uid(id, sizeof(id), "evt");
		o = sub_object(sub, cus, "past_due", true);
		e = event(id, "customer.subscription.updated", now, o);
		CU_ASSERT_EQUAL(deliver(urls[u], e), 200);
		free(o);
		free(e);
		uid(id, sizeof(id), "evt");
		o = sub_object(sub, cus, "active", false);
		e = event(id, "customer.subscription.created", now - 60, o);
		CU_ASSERT_EQUAL(deliver(urls[u], e), 200);
		free(o);
		free(e);
		itest_sqlf(st, sizeof(st), "SELECT CONCAT(status, ' ', cancel_at_period_end, ' ', "
		    "quantity, ' ', stripe_price_id, ' ', UNIX_TIMESTAMP(current_period_end)) "
		    "FROM subscriptions WHERE stripe_id = '%s'", sub);
		CU_ASSERT_STRING_EQUAL(st, "past_due 1 2 price_x 1788081500.000000");
	}
}

static void
deliver_refund(const char *base, const char *pi, long long amount_refunded, long long created)
{
	char id[96], o[512], *e;

	uid(id, sizeof(id), "evt");
	(void)snprintf(o, sizeof(o),
	    "{\"id\":\"ch_%s\",\"object\":\"charge\",\"amount\":1099,\"amount_refunded\":%lld,"
	    "\"currency\":\"usd\",\"payment_intent\":\"%s\",\"refunded\":%s}", pi,
	    amount_refunded, pi, amount_refunded == 1099 ? "true" : "false");
	e = event(id, "charge.refunded", created, o);
	CU_ASSERT_EQUAL(deliver(base, e), 200);
	free(e);
}

static void
test_refund_before_order(void)
{
	for (size_t u = 0; u < nurls; u++) {
		char pi[96], cus[96], st[128];
		long long now = (long long)time(NULL);

		uid(cus, sizeof(cus), "cus");
		uid(pi, sizeof(pi), "pi");
		(void)make_user(cus);
		deliver_refund(urls[u], pi, 500, now + 10);
		CU_ASSERT_EQUAL(itest_sql_num("SELECT COUNT(*) FROM orders WHERE "
		    "stripe_payment_intent_id = '%s'", pi), 0);
		CU_ASSERT_EQUAL(deliver_pi(urls[u], "payment_intent.succeeded", now, pi, cus,
		    "succeeded", NULL), 200);
		itest_sqlf(st, sizeof(st), "SELECT CONCAT(status, ' ', amount_refunded) FROM orders "
		    "WHERE stripe_payment_intent_id = '%s'", pi);
		CU_ASSERT_STRING_EQUAL(st, "partially_refunded 500");
		/* The order is as new as the refund it took. */
		CU_ASSERT_EQUAL(itest_sql_num("SELECT last_event_created FROM orders WHERE "
		    "stripe_payment_intent_id = '%s'", pi), now + 10);
		/* The full refund, then a stale partial one: refunds only grow. */
		deliver_refund(urls[u], pi, 1099, now + 20);
		deliver_refund(urls[u], pi, 500, now + 10);
		itest_sqlf(st, sizeof(st), "SELECT CONCAT(status, ' ', amount_refunded) FROM orders "
		    "WHERE stripe_payment_intent_id = '%s'", pi);
		CU_ASSERT_STRING_EQUAL(st, "refunded 1099");

		/* A full refund before the order; an intent with no refund starts paid. */
		uid(pi, sizeof(pi), "pi");
		deliver_refund(urls[u], pi, 1099, now - 10);
		CU_ASSERT_EQUAL(deliver_pi(urls[u], "payment_intent.succeeded", now, pi, cus,
		    "succeeded", NULL), 200);
		itest_sqlf(st, sizeof(st), "SELECT CONCAT(status, ' ', amount_refunded, ' ', "
		    "last_event_created) FROM orders WHERE stripe_payment_intent_id = '%s'", pi);
		{
			char want[64];

			(void)snprintf(want, sizeof(want), "refunded 1099 %lld", now);
			CU_ASSERT_STRING_EQUAL(st, want);
		}
		uid(pi, sizeof(pi), "pi");
		CU_ASSERT_EQUAL(deliver_pi(urls[u], "payment_intent.succeeded", now, pi, cus,
		    "succeeded", NULL), 200);
		itest_sqlf(st, sizeof(st), "SELECT CONCAT(status, ' ', amount_refunded) FROM orders "
		    "WHERE stripe_payment_intent_id = '%s'", pi);
		CU_ASSERT_STRING_EQUAL(st, "paid 0");
	}
}

/* A handler failing once: 500, the failure recorded, then the retry applies once. */
static void
test_fail_once_then_retry(void)
{
	for (size_t u = 0; u < nurls; u++) {
		struct itest_response r;
		char id[96], pi[96], cus[96], *o, *e;
		long long now = (long long)time(NULL);

		uid(cus, sizeof(cus), "cus");
		uid(pi, sizeof(pi), "pi");
		uid(id, sizeof(id), "evt");
		(void)make_user(cus);
		o = pi_object(pi, cus, "succeeded", "\"paybridge_test_fault\":\"fail_once\"");
		e = event(id, "payment_intent.succeeded", now, o);
		itest_deliver_at(urls[u], e, strlen(e), now, &r);
		CU_ASSERT_EQUAL(r.status, 500);
		CU_ASSERT_STRING_EQUAL(itest_json_str(&r, "error.code"), "event_failed");
		itest_response_free(&r);
		CU_ASSERT_EQUAL(itest_sql_num("SELECT COUNT(*) FROM stripe_events WHERE "
		    "stripe_event_id = '%s'", id), 0);
		CU_ASSERT_EQUAL(itest_sql_num("SELECT COUNT(*) FROM orders WHERE "
		    "stripe_payment_intent_id = '%s'", pi), 0);
		CU_ASSERT_EQUAL(itest_sql_num("SELECT attempts FROM stripe_event_failures WHERE "
		    "stripe_event_id = '%s'", id), 1);
		/* Stripe's retry. */
		CU_ASSERT_EQUAL(deliver(urls[u], e), 200);
		CU_ASSERT_EQUAL(itest_sql_num("SELECT COUNT(*) FROM orders WHERE "
		    "stripe_payment_intent_id = '%s'", pi), 1);
		/* Resolved by the event row (paybridgectl events list --failed: events-test.sh). */
		CU_ASSERT_EQUAL(itest_sql_num("SELECT COUNT(*) FROM stripe_event_failures f JOIN "
		    "stripe_events e USING (stripe_event_id) WHERE f.stripe_event_id = '%s' AND "
		    "f.attempts = 1", id), 1);
		/* And once more: a duplicate, nothing changes. */
		itest_deliver_at(urls[u], e, strlen(e), now, &r);
		CU_ASSERT_EQUAL(r.status, 200);
		CU_ASSERT_PTR_NOT_NULL(strstr(r.body, "\"duplicate\":true"));
		itest_response_free(&r);
		CU_ASSERT_EQUAL(itest_sql_num("SELECT COUNT(*) FROM orders WHERE "
		    "stripe_payment_intent_id = '%s'", pi), 1);
		free(o);
		free(e);
	}
}

static void
test_unknown_type_and_unknown_object(void)
{
	char id[96], pi[96], *o, *e;

	uid(id, sizeof(id), "evt");
	e = event(id, "radar.early_fraud_warning.created", 1700000000,
	    "{\"id\":\"issfr_1\",\"object\":\"radar.early_fraud_warning\"}");
	CU_ASSERT_EQUAL(deliver(urls[0], e), 200);
	free(e);
	CU_ASSERT_EQUAL(itest_sql_num("SELECT COUNT(*) FROM stripe_events WHERE stripe_event_id = "
	    "'%s' AND source = 'webhook' AND object_id = 'issfr_1'", id), 1);
	/* A payment of a customer we do not know: stored, nothing derived. */
	uid(pi, sizeof(pi), "pi");
	uid(id, sizeof(id), "evt");
	o = pi_object(pi, "cus_nobody_we_know", "succeeded", NULL);
	e = event(id, "payment_intent.succeeded", 1700000000, o);
	CU_ASSERT_EQUAL(deliver(urls[0], e), 200);
	CU_ASSERT_EQUAL(itest_sql_num("SELECT COUNT(*) FROM stripe_events WHERE stripe_event_id = "
	    "'%s'", id), 1);
	CU_ASSERT_EQUAL(itest_sql_num("SELECT COUNT(*) FROM payment_intents WHERE stripe_id = '%s'",
	    pi), 0);
	CU_ASSERT_EQUAL(itest_sql_num("SELECT COUNT(*) FROM orders WHERE stripe_payment_intent_id = "
	    "'%s'", pi), 0);
	free(o);
	free(e);
}

static char *
read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *s;
	long n;

	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	s = malloc((size_t)n + 1);
	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	*len = fread(s, 1, (size_t)n, f);
	s[*len] = '\0';
	fclose(f);
	return s;
}

/* Delivers one sample event through each server: the second is a duplicate. */
static void
deliver_fixture(const char *name)
{
	struct itest_response r;
	char path[1024];
	size_t len;
	char *body;

	(void)snprintf(path, sizeof(path), "%s/%s", PB_FIXTURES_DIR, name);
	body = read_file(path, &len);
	itest_deliver_at(urls[0], body, len, (long long)time(NULL), &r);
	if (r.status != 200)
		fprintf(stderr, "%s: %ld %s\n", name, r.status, r.body);
	CU_ASSERT_EQUAL(r.status, 200);
	itest_response_free(&r);
	if (nurls > 1) {
		itest_deliver_at(urls[1], body, len, (long long)time(NULL), &r);
		CU_ASSERT_EQUAL(r.status, 200);
		CU_ASSERT_PTR_NOT_NULL(strstr(r.body, "\"duplicate\":true"));
		itest_response_free(&r);
	}
	free(body);
}

/*
 * Every sample event (the newer API shapes), in name order, which is not time order;
 * customer.deleted last, since it unlinks the customer every other sample belongs to.
 */
static void
test_fixtures(void)
{
	static const char deleted[] = "customer.deleted.json";
	struct dirent **names;
	char st[256];
	long long user;
	int n, sent = 0;

	user = make_user(CUSTOMER_FIXTURE);
	CU_ASSERT_FATAL(user > 0);
	n = scandir(PB_FIXTURES_DIR, &names, NULL, alphasort);
	CU_ASSERT_FATAL(n > 0);
	for (int i = 0; i < n; i++) {
		if (strstr(names[i]->d_name, ".json") != NULL &&
		    strcmp(names[i]->d_name, deleted) != 0) {
			deliver_fixture(names[i]->d_name);
			sent++;
		}
		free(names[i]);
	}
	free(names);
	CU_ASSERT_EQUAL(sent, 15);
	CU_ASSERT_EQUAL(itest_sql_num("SELECT COUNT(*) FROM users WHERE id = %lld AND "
	    "stripe_customer_id = '" CUSTOMER_FIXTURE "'", user), 1);
	deliver_fixture(deleted);
	CU_ASSERT_EQUAL(itest_sql_num("SELECT COUNT(*) FROM users WHERE id = %lld AND "
	    "stripe_customer_id IS NULL AND customer_generation = 1", user), 1);
	CU_ASSERT_EQUAL(itest_sql_num("SELECT COUNT(*) FROM stripe_events WHERE api_version = "
	    "'2026-06-24.dahlia'"), 16);
	/*
	 * Name order delivers payment_intent.canceled (the newest sample, from another story
	 * of the same intent) first: terminal, so the older succeeded cannot move it.
	 */
	itest_sqlf(st, sizeof(st), "SELECT CONCAT(status, ' ', user_id, ' ', amount) FROM "
	    "payment_intents WHERE stripe_id = 'pi_1PgafyB7WZ01zgkWSjxsAJo3'");
	{
		char want[64];

		(void)snprintf(want, sizeof(want), "canceled %lld 1099", user);
		CU_ASSERT_STRING_EQUAL(st, want);
	}
	/* One order, from the session or the intent, refunded in full by charge.refunded. */
	itest_sqlf(st, sizeof(st), "SELECT CONCAT(COUNT(*), ' ', MIN(status), ' ', "
	    "MIN(amount_refunded), ' ', MIN(currency), ' ', "
	    "COALESCE(MIN(stripe_checkout_session_id), 'none')) FROM orders WHERE "
	    "stripe_payment_intent_id = 'pi_1PgafyB7WZ01zgkWSjxsAJo3'");
	CU_ASSERT_STRING_EQUAL(st, "1 refunded 1099 usd "
	    "cs_test_a1YS1URlnyQCN5fUUduORoQ7Pw41PJqDWkIVQCpJPqkfIhd6tVY8XB1OLY");
	itest_sqlf(st, sizeof(st), "SELECT CONCAT(status, ' ', payment_status, ' ', mode) FROM "
	    "checkout_sessions WHERE stripe_id = "
	    "'cs_test_a1YS1URlnyQCN5fUUduORoQ7Pw41PJqDWkIVQCpJPqkfIhd6tVY8XB1OLY'");
	CU_ASSERT_STRING_EQUAL(st, "complete paid payment");
	/* deleted is the newest; the newest invoice failed. */
	itest_sqlf(st, sizeof(st), "SELECT CONCAT(status, ' ', stripe_price_id, ' ', "
	    "latest_invoice_id, ' ', latest_invoice_status, ' ', "
	    "UNIX_TIMESTAMP(current_period_start)) FROM subscriptions WHERE stripe_id = "
	    "'sub_1Pgc6rB7WZ01zgkWNy0Cn5nw'");
	CU_ASSERT_STRING_EQUAL(st, "canceled price_1PgafmB7WZ01zgkW6dKueIc5 "
	    "in_1PgdA3B7WZ01zgkW4ZkYc2Tn payment_failed 1785403100.000000");
}

/* A POST to the emulator's Stripe API with the stack's key. */
static void
stripe_post(const char *path, const char *form, struct itest_response *r)
{
	char url[512], auth[256];
	const char *h[3] = { "Content-Type: application/x-www-form-urlencoded", auth, NULL };

	(void)snprintf(url, sizeof(url), "%s%s", itest_env("PB_EMULATOR_URL"), path);
	(void)snprintf(auth, sizeof(auth), "Authorization: Bearer %s",
	    itest_env("PAYBRIDGE_STRIPE_SECRET_KEY"));
	CU_ASSERT_FATAL(itest_request("POST", url, h, form, strlen(form), r));
}

/* Polls a SQL number until it equals want, for up to timeout_ms. */
static bool
wait_sql(long long want, long timeout_ms, const char *q)
{
	long long end = itest_now_ms() + timeout_ms;

	for (;;) {
		if (itest_sql_num("%s", q) == want)
			return true;
		if (itest_now_ms() > end)
			return false;
		itest_sleep_ms(100);
	}
}

static void
test_emulator_end_to_end(void)
{
	struct itest_response r;
	char cus[128], pi[128], form[512], q[512];

	stripe_post("/v1/customers", "email=wh-e2e%40example.com&name=E2E", &r);
	CU_ASSERT_EQUAL_FATAL(r.status, 200);
	(void)snprintf(cus, sizeof(cus), "%s", itest_json_str(&r, "id"));
	itest_response_free(&r);
	(void)make_user(cus);
	(void)snprintf(form, sizeof(form), "amount=2500&currency=usd&customer=%s&"
	    "payment_method=pm_card_visa&confirm=true&metadata[quantity]=2", cus);
	stripe_post("/v1/payment_intents", form, &r);
	CU_ASSERT_EQUAL_FATAL(r.status, 200);
	CU_ASSERT_STRING_EQUAL(itest_json_str(&r, "status"), "succeeded");
	(void)snprintf(pi, sizeof(pi), "%s", itest_json_str(&r, "id"));
	itest_response_free(&r);
	(void)snprintf(q, sizeof(q), "SELECT COUNT(*) FROM orders WHERE stripe_payment_intent_id "
	    "= '%s' AND status = 'paid' AND amount = 2500 AND quantity = 2", pi);
	CU_ASSERT(wait_sql(1, 20000, q));
	(void)snprintf(form, sizeof(form), "payment_intent=%s", pi);
	stripe_post("/v1/refunds", form, &r);
	CU_ASSERT_EQUAL(r.status, 200);
	itest_response_free(&r);
	(void)snprintf(q, sizeof(q), "SELECT COUNT(*) FROM orders WHERE stripe_payment_intent_id "
	    "= '%s' AND status = 'refunded' AND amount_refunded = 2500", pi);
	CU_ASSERT(wait_sql(1, 20000, q));
	/* The emulator's deliveries were verified with the stack's secret. */
	CU_ASSERT(itest_metric(urls[0],
	    "paybridge_webhook_secret_matches_total{secret=\"secret1\"}") > 0);
	CU_ASSERT(itest_metric(urls[0],
	    "paybridge_webhook_events_total{class=\"payment_intent\",outcome=\"applied\"}") > 0);
	CU_ASSERT(itest_metric(urls[0],
	    "paybridge_webhook_signature_failures_total{reason=\"no_match\"}") >= 0);
}

static const struct unit_test tests[] = {
	UNIT_TEST(test_signature_refused),
	UNIT_TEST(test_body_bytes),
	UNIT_TEST(test_concurrent_duplicates),
	UNIT_TEST(test_out_of_order_payment_intent),
	UNIT_TEST(test_same_second_tie),
	UNIT_TEST(test_out_of_order_subscription),
	UNIT_TEST(test_refund_before_order),
	UNIT_TEST(test_fail_once_then_retry),
	UNIT_TEST(test_unknown_type_and_unknown_object),
	UNIT_TEST(test_fixtures),
	UNIT_TEST(test_emulator_end_to_end),
};

int
main(int argc, char *argv[])
{
	(void)snprintf(run_tag, sizeof(run_tag), "%ld%d", (long)time(NULL) % 100000,
	    (int)getpid());
	return itest_main("webhooks", tests, sizeof(tests) / sizeof(tests[0]), urls, MAX_URLS,
	    &nurls, argc, argv);
}
