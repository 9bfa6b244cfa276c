/*
 * The caller's payment methods and setup intents (issue 9) through the real stack
 * (tests/integration/run.sh), through every web server in PB_TEST_URLS: list, attach,
 * default, detach, setup intents confirmed "in the browser" (straight against the
 * emulator's API), isolation between two users, bad bodies, and Stripe failing. Every
 * claim about Stripe is checked in the emulator's own state (its control API), not only
 * in our answers. The stack runs 8 workers and customer_inline_budget_ms = 2000.
 */
#include "config.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "itest.h"

#define MAX_URLS 4
#define PMS "/v1/payments/customer/payment-methods"
#define DEFAULT_PM "/v1/payments/customer/default-payment-method"
#define SETUP "/v1/payments/customer/setup-intents"
/* More concurrent first calls than the stack has workers (8). */
#define NCONCURRENT 12
/* A Stripe call that hangs is cut a second before request_timeout (10 s). */
#define HANG_GUARD_MS 10000

static const char *urls[MAX_URLS];
static size_t nurls;

/* Copies the string at path of r (or "") into out. */
static void
json_copy(const struct itest_response *r, const char *path, char *out, size_t len)
{
	const char *v = itest_json_str(r, path);

	(void)snprintf(out, len, "%s", v != NULL ? v : "");
}

/* Whether the string at path of r is want (a missing one never is: no NULL reaches strcmp). */
static bool
json_is(const struct itest_response *r, const char *path, const char *want)
{
	const char *v = itest_json_str(r, path);

	if (v != NULL && strcmp(v, want) == 0)
		return true;
	fprintf(stderr, "%s is %s, wanted %s\n", path, v != NULL ? v : "(absent)", want);
	return false;
}

/* A string member of the emulator's object kind/id, copied into out ("" when null). */
static void
emu_field(const char *kind, const char *id, const char *field, char *out, size_t len)
{
	struct itest_response r;

	itest_emulator_object(kind, id, &r);
	CU_ASSERT_EQUAL(r.status, 200);
	json_copy(&r, field, out, len);
	itest_response_free(&r);
}

/* Makes a payment method from a test token (pm_card_visa) as Stripe.js would: its id. */
static void
make_pm(const char *token, char *id, size_t len)
{
	struct itest_response r;
	char path[128];

	(void)snprintf(path, sizeof(path), "/v1/payment_methods/%s", token);
	itest_stripe("GET", path, NULL, &r);
	CU_ASSERT_EQUAL_FATAL(r.status, 200);
	json_copy(&r, "id", id, len);
	itest_response_free(&r);
	CU_ASSERT_FATAL(strncmp(id, "pm_", 3) == 0 && strcmp(id, token) != 0);
}

/* {"paymentMethodId": id} */
static const char *
pm_body(char *out, size_t len, const char *id)
{
	(void)snprintf(out, len, "{\"paymentMethodId\":\"%s\"}", id);
	return out;
}

/* Recorded Stripe requests: method on exactly path. */
static long long
stripe_requests(const char *method, const char *path)
{
	char q[512];

	(void)snprintf(q, sizeof(q), "/_emulator/requests?method=%s&path=%s", method, path);
	return itest_emulator_count(q);
}

/* POSTs of pm's /action (attach, detach) that reached Stripe. */
static long long
pm_action_requests(const char *pm, const char *action)
{
	char path[256];

	(void)snprintf(path, sizeof(path), "/v1/payment_methods/%s/%s", pm, action);
	return stripe_requests("POST", path);
}

/* The list answer's items (borrowed from r), or NULL when data is not an array. */
static struct json_object *
items(const struct itest_response *r)
{
	struct json_object *data;

	if (r->json == NULL || !json_object_object_get_ex(r->json, "data", &data) ||
	    !json_object_is_type(data, json_type_array))
		return NULL;
	return data;
}

static const char *
member(struct json_object *o, const char *k)
{
	struct json_object *v;

	return json_object_object_get_ex(o, k, &v) && json_object_is_type(v, json_type_string) ?
	    json_object_get_string(v) : NULL;
}

static bool
flag(struct json_object *o, const char *k)
{
	struct json_object *v;

	return json_object_object_get_ex(o, k, &v) && json_object_is_type(v, json_type_boolean) &&
	    json_object_get_boolean(v);
}

/* Lists u's payment methods through base: how many, and whether id is there and default. */
static size_t
list_has(const char *base, const struct itest_user *u, const char *id, bool *found,
    bool *is_default)
{
	struct itest_response r;
	struct json_object *a;
	size_t n = 0;

	*found = *is_default = false;
	itest_api("GET", base, PMS, u->token, NULL, &r);
	CU_ASSERT_EQUAL(r.status, 200);
	a = items(&r);
	CU_ASSERT_PTR_NOT_NULL(a);
	for (size_t i = 0; a != NULL && i < json_object_array_length(a); i++) {
		struct json_object *o = json_object_array_get_idx(a, i);
		const char *oid = member(o, "id");

		n++;
		if (id != NULL && oid != NULL && strcmp(oid, id) == 0) {
			*found = true;
			*is_default = flag(o, "isDefault");
		}
	}
	itest_response_free(&r);
	return n;
}

/* Checks an error answer: status, code and the envelope. */
static void
assert_error(const struct itest_response *r, long status, const char *code)
{
	const char *got = itest_json_str(r, "error.code");

	CU_ASSERT_EQUAL(r->status, status);
	CU_ASSERT_PTR_NOT_NULL(got);
	if (got != NULL)
		CU_ASSERT_STRING_EQUAL(got, code);
	CU_ASSERT_PTR_NOT_NULL(itest_json_str(r, "error.message"));
	if (r->status != status || got == NULL || strcmp(got, code) != 0)
		fprintf(stderr, "wanted %ld %s, got %ld: %.300s\n", status, code, r->status, r->body);
}

static void
call_error(const char *method, const char *base, const char *path, const char *token,
    const char *json, long status, const char *code)
{
	struct itest_response r;

	itest_api(method, base, path, token, json, &r);
	assert_error(&r, status, code);
	itest_response_free(&r);
}

/* Attaches id for u through base and expects status (201 new, 200 already). */
static void
attach(const char *base, const struct itest_user *u, const char *id, long status)
{
	struct itest_response r;
	char body[256];

	itest_api("POST", base, PMS, u->token, pm_body(body, sizeof(body), id), &r);
	CU_ASSERT_EQUAL(r.status, status);
	if (r.status != status)
		fprintf(stderr, "attach answered %ld: %.300s\n", r.status, r.body);
	if (r.status == status) {
		CU_ASSERT(json_is(&r, "data.id", id));
		CU_ASSERT(json_is(&r, "data.type", "card"));
	}
	itest_response_free(&r);
}

/* ---- the list, and lazy creation ---- */

/* A new user's list is empty, and listing made nothing but the signup's one customer. */
static void
test_list_empty(void)
{
	for (size_t i = 0; i < nurls; i++) {
		struct itest_response r;
		struct itest_user u;
		struct json_object *a;

		itest_signup(urls[i], "pmempty", &u);
		itest_api("GET", urls[i], PMS, u.token, NULL, &r);
		CU_ASSERT_EQUAL(r.status, 200);
		CU_ASSERT(strstr(r.body, "\"success\":true") != NULL);
		a = items(&r);
		CU_ASSERT_PTR_NOT_NULL(a);
		CU_ASSERT_EQUAL(a != NULL ? json_object_array_length(a) : 99, 0);
		itest_response_free(&r);
		CU_ASSERT_EQUAL(itest_customers_for(u.id, NULL, 0), 1);
	}
}

struct first_call {
	const char *url;
	const char *token;
	long status;
	size_t nitems;
};

/* One client's first list call; no CUnit in threads, the main thread checks. */
static void *
first_list(void *arg)
{
	struct first_call *c = arg;
	char auth[1200];
	const char *h[2] = { auth, NULL };
	struct itest_response r;
	struct json_object *a;

	(void)snprintf(auth, sizeof(auth), "Authorization: Bearer %s", c->token);
	c->status = -1;
	if (itest_request("GET", c->url, h, NULL, 0, &r)) {
		c->status = r.status;
		a = items(&r);
		c->nitems = a != NULL ? json_object_array_length(a) : 99;
	}
	itest_response_free(&r);
	return NULL;
}

/*
 * A user whose signup could not make a customer (Stripe failing) gets exactly one, made
 * lazily, however many first calls race for it: more than there are workers, half of them
 * through each web server.
 */
static void
test_lazy_customer_once(void)
{
	struct first_call calls[NCONCURRENT];
	pthread_t t[NCONCURRENT];
	struct itest_user u;
	char url[MAX_URLS][256], cus[64], stored[64];

	/* Exactly the signup's three attempts (stripe_max_retries = 2) fail. */
	itest_emulator_ok("POST", "/_emulator/faults",
	    "{\"method\":\"POST\",\"path\":\"/v1/customers\",\"status\":500,\"count\":3}");
	itest_signup(urls[0], "pmlazy", &u);
	itest_emulator_ok("DELETE", "/_emulator/faults", NULL);
	CU_ASSERT_STRING_EQUAL(u.customer, "");
	/* Out of the jobs worker's way: the customer is made by a first call, lazily. */
	CU_ASSERT_EQUAL(itest_sql_num("UPDATE stripe_jobs SET run_after = NOW(6) + INTERVAL 1 HOUR "
	    "WHERE user_id = %lld AND kind = 'create_customer' AND status = 'pending'", u.id), -1);
	CU_ASSERT_EQUAL(itest_sql_num("SELECT COUNT(*) FROM stripe_jobs WHERE user_id = %lld AND "
	    "kind = 'create_customer' AND status = 'pending' AND run_after > NOW(6)", u.id), 1);
	CU_ASSERT_EQUAL(itest_customers_for(u.id, NULL, 0), 0);
	for (size_t i = 0; i < nurls; i++)
		(void)snprintf(url[i], sizeof(url[i]), "%s" PMS, urls[i]);
	for (size_t i = 0; i < NCONCURRENT; i++) {
		calls[i] = (struct first_call){ url[i % nurls], u.token, 0, 0 };
		CU_ASSERT_FATAL(pthread_create(&t[i], NULL, first_list, &calls[i]) == 0);
	}
	for (size_t i = 0; i < NCONCURRENT; i++) {
		pthread_join(t[i], NULL);
		CU_ASSERT_EQUAL(calls[i].status, 200);
		CU_ASSERT_EQUAL(calls[i].nitems, 0);
	}
	CU_ASSERT_EQUAL(itest_customers_for(u.id, NULL, 0), 1);
	CU_ASSERT_EQUAL(itest_sql_num("SELECT COUNT(*) FROM stripe_jobs WHERE user_id = %lld AND "
	    "kind = 'create_customer' AND status = 'done'", u.id), 1);
	itest_sqlf(stored, sizeof(stored),
	    "SELECT COALESCE(stripe_customer_id, '') FROM users WHERE id = %lld", u.id);
	CU_ASSERT(strncmp(stored, "cus_", 4) == 0);
	emu_field("customers", stored, "metadata.user_id", cus, sizeof(cus));
	CU_ASSERT_EQUAL(strtoll(cus, NULL, 10), u.id);
}

/* ---- attach, default, detach ---- */

static void
test_attach_default_detach(void)
{
	for (size_t i = 0; i < nurls; i++) {
		struct itest_response r;
		struct itest_user u;
		char visa[64], mc[64], got[64], body[256], path[256];
		bool found, dflt;

		itest_signup(urls[i], "pmflow", &u);
		CU_ASSERT_FATAL(u.customer[0] != '\0');
		make_pm("pm_card_visa", visa, sizeof(visa));
		itest_api("POST", urls[i], PMS, u.token, pm_body(body, sizeof(body), visa), &r);
		CU_ASSERT_EQUAL(r.status, 201);
		CU_ASSERT(json_is(&r, "data.id", visa));
		CU_ASSERT(json_is(&r, "data.brand", "visa"));
		CU_ASSERT(json_is(&r, "data.last4", "4242"));
		CU_ASSERT(json_is(&r, "data.funding", "credit"));
		CU_ASSERT_EQUAL(itest_json_int(&r, "data.expMonth", 0), 12);
		CU_ASSERT(itest_json_int(&r, "data.expYear", 0) >= 2025);
		CU_ASSERT(strstr(r.body, "\"isDefault\":false") != NULL);
		itest_response_free(&r);
		emu_field("payment_methods", visa, "customer", got, sizeof(got));
		CU_ASSERT_STRING_EQUAL(got, u.customer);
		/* Again: the caller's already, 200, and Stripe is not asked to attach twice. */
		attach(urls[i], &u, visa, 200);
		CU_ASSERT_EQUAL(pm_action_requests(visa, "attach"), 1);

		make_pm("pm_card_mastercard", mc, sizeof(mc));
		attach(urls[i], &u, mc, 201);
		CU_ASSERT_EQUAL(list_has(urls[i], &u, visa, &found, &dflt), 2);
		CU_ASSERT(found && !dflt);

		/* Default: in the answer, in the list, and in Stripe. */
		itest_api("PATCH", urls[i], DEFAULT_PM, u.token, pm_body(body, sizeof(body), visa), &r);
		CU_ASSERT_EQUAL(r.status, 200);
		CU_ASSERT(json_is(&r, "data.id", visa));
		CU_ASSERT(strstr(r.body, "\"isDefault\":true") != NULL);
		itest_response_free(&r);
		emu_field("customers", u.customer, "invoice_settings.default_payment_method", got,
		    sizeof(got));
		CU_ASSERT_STRING_EQUAL(got, visa);
		(void)list_has(urls[i], &u, visa, &found, &dflt);
		CU_ASSERT(found && dflt);
		(void)list_has(urls[i], &u, mc, &found, &dflt);
		CU_ASSERT(found && !dflt);

		/* Detach: answered with it, gone from the list and from the customer in Stripe. */
		(void)snprintf(path, sizeof(path), PMS "/%s", visa);
		itest_api("DELETE", urls[i], path, u.token, NULL, &r);
		CU_ASSERT_EQUAL(r.status, 200);
		CU_ASSERT(json_is(&r, "data.id", visa));
		CU_ASSERT(json_is(&r, "data.last4", "4242"));
		itest_response_free(&r);
		emu_field("payment_methods", visa, "customer", got, sizeof(got));
		CU_ASSERT_STRING_EQUAL(got, "");
		emu_field("customers", u.customer, "invoice_settings.default_payment_method", got,
		    sizeof(got));
		CU_ASSERT_STRING_EQUAL(got, "");
		CU_ASSERT_EQUAL(list_has(urls[i], &u, visa, &found, &dflt), 1);
		CU_ASSERT(!found);
		/* Detached is nobody's: a second detach is 404 and never reaches Stripe. */
		call_error("DELETE", urls[i], path, u.token, NULL, 404, "not_found");
		CU_ASSERT_EQUAL(pm_action_requests(visa, "detach"), 1);
		/*
		 * Stripe never attaches a detached card again. Our attach key for it is the
		 * first one's, so Stripe replays that success: it must not be believed.
		 */
		call_error("POST", urls[i], PMS, u.token, pm_body(body, sizeof(body), visa), 409,
		    "payment_method_in_use");
		emu_field("payment_methods", visa, "customer", got, sizeof(got));
		CU_ASSERT_STRING_EQUAL(got, "");
		CU_ASSERT_EQUAL(list_has(urls[i], &u, NULL, &found, &dflt), 1);
	}
}

/* ---- isolation ---- */

static void
test_isolation(void)
{
	for (size_t i = 0; i < nurls; i++) {
		struct itest_user a, b;
		char pm[64], loose[64], got[64], body[256], path[256];
		bool found, dflt;

		itest_signup(urls[i], "pmowner", &a);
		itest_signup(urls[i], "pmother", &b);
		CU_ASSERT_FATAL(a.customer[0] != '\0' && b.customer[0] != '\0');
		make_pm("pm_card_visa", pm, sizeof(pm));
		attach(urls[i], &a, pm, 201);
		CU_ASSERT_EQUAL(itest_api_status("PATCH", urls[i], DEFAULT_PM, a.token,
		    pm_body(body, sizeof(body), pm)), 200);

		/* B cannot see, detach, default or take A's card... */
		CU_ASSERT_EQUAL(list_has(urls[i], &b, pm, &found, &dflt), 0);
		(void)snprintf(path, sizeof(path), PMS "/%s", pm);
		call_error("DELETE", urls[i], path, b.token, NULL, 404, "not_found");
		call_error("PATCH", urls[i], DEFAULT_PM, b.token, pm_body(body, sizeof(body), pm), 404,
		    "not_found");
		call_error("POST", urls[i], PMS, b.token, pm_body(body, sizeof(body), pm), 409,
		    "payment_method_in_use");
		/* ...and in Stripe nothing moved: still A's, still A's default, B has none. */
		emu_field("payment_methods", pm, "customer", got, sizeof(got));
		CU_ASSERT_STRING_EQUAL(got, a.customer);
		emu_field("customers", a.customer, "invoice_settings.default_payment_method", got,
		    sizeof(got));
		CU_ASSERT_STRING_EQUAL(got, pm);
		emu_field("customers", b.customer, "invoice_settings.default_payment_method", got,
		    sizeof(got));
		CU_ASSERT_STRING_EQUAL(got, "");
		CU_ASSERT_EQUAL(pm_action_requests(pm, "detach"), 0);
		CU_ASSERT_EQUAL(pm_action_requests(pm, "attach"), 1);
		(void)snprintf(path, sizeof(path), "/v1/customers/%s", b.customer);
		CU_ASSERT_EQUAL(stripe_requests("POST", path), 0);
		CU_ASSERT(list_has(urls[i], &a, pm, &found, &dflt) == 1 && found && dflt);

		/* An unattached card is nobody's either; unknown and malformed ids are 404. */
		make_pm("pm_card_mastercard", loose, sizeof(loose));
		call_error("PATCH", urls[i], DEFAULT_PM, b.token, pm_body(body, sizeof(body), loose),
		    404, "not_found");
		(void)snprintf(path, sizeof(path), PMS "/%s", loose);
		call_error("DELETE", urls[i], path, b.token, NULL, 404, "not_found");
		CU_ASSERT_EQUAL(pm_action_requests(loose, "detach"), 0);
		call_error("DELETE", urls[i], PMS "/pm_nosuchthing000", b.token, NULL, 404,
		    "not_found");
		call_error("DELETE", urls[i], PMS "/pm_bad-id", b.token, NULL, 404, "not_found");
		CU_ASSERT_EQUAL(stripe_requests("GET", "/v1/payment_methods/pm_bad-id"), 0);
		call_error("POST", urls[i], PMS, b.token, pm_body(body, sizeof(body),
		    "pm_nosuchthing000"), 404, "not_found");
	}
}

/* ---- refusals ---- */

static void
test_bad_bodies_and_auth(void)
{
	static const char *const bad_pm_bodies[] = {
		"{}", "{\"paymentMethodId\":5}", "{\"paymentMethodId\":null}",
		"{\"paymentMethodId\":\"\"}", "{\"paymentMethodId\":\"pm x\"}",
		"{\"paymentMethodId\":\"pm_card_visa\",\"customer\":\"cus_x\"}",
	};
	static const char *const bad_setup_bodies[] = {
		"{\"usage\":\"sometimes\"}", "{\"usage\":1}", "{\"customer\":\"cus_x\"}",
	};
	static const struct {
		const char *method, *path, *body;
	} routes[] = {
		{ "GET", PMS, NULL },
		{ "POST", PMS, "{\"paymentMethodId\":\"pm_card_visa\"}" },
		{ "DELETE", PMS "/pm_card_visa", NULL },
		{ "PATCH", DEFAULT_PM, "{\"paymentMethodId\":\"pm_card_visa\"}" },
		{ "POST", SETUP, NULL },
	};

	for (size_t i = 0; i < nurls; i++) {
		struct itest_response r;
		struct itest_user u;
		long long before;

		itest_signup(urls[i], "pmbad", &u);
		before = itest_emulator_count("/_emulator/requests");
		for (size_t k = 0; k < sizeof(bad_pm_bodies) / sizeof(bad_pm_bodies[0]); k++) {
			itest_api("POST", urls[i], PMS, u.token, bad_pm_bodies[k], &r);
			assert_error(&r, 422, "invalid_fields");
			CU_ASSERT(strstr(r.body, "\"fields\":{") != NULL);
			itest_response_free(&r);
			call_error("PATCH", urls[i], DEFAULT_PM, u.token, bad_pm_bodies[k], 422,
			    "invalid_fields");
		}
		itest_api("POST", urls[i], PMS, u.token, "{}", &r);
		CU_ASSERT(json_is(&r, "error.fields.paymentMethodId", "is required"));
		itest_response_free(&r);
		itest_api("POST", urls[i], PMS, u.token, bad_pm_bodies[5], &r);
		CU_ASSERT(json_is(&r, "error.fields.customer", "is not an accepted field"));
		itest_response_free(&r);
		for (size_t k = 0; k < sizeof(bad_setup_bodies) / sizeof(bad_setup_bodies[0]); k++)
			call_error("POST", urls[i], SETUP, u.token, bad_setup_bodies[k], 422,
			    "invalid_fields");
		call_error("POST", urls[i], PMS, u.token, "{\"paymentMethodId\":", 400, "bad_request");
		call_error("POST", urls[i], PMS, u.token, "[1]", 400, "bad_request");
		/* None of it reached Stripe. */
		CU_ASSERT_EQUAL(itest_emulator_count("/_emulator/requests"), before);

		for (size_t k = 0; k < sizeof(routes) / sizeof(routes[0]); k++) {
			call_error(routes[k].method, urls[i], routes[k].path, NULL, routes[k].body, 401,
			    "unauthorized");
			call_error(routes[k].method, urls[i], routes[k].path, "not.a.token",
			    routes[k].body, 401, "unauthorized");
		}
		CU_ASSERT_EQUAL(itest_emulator_count("/_emulator/requests"), before);
	}
}

/* ---- setup intents ---- */

/* POST SETUP with an Idempotency-Key (NULL: none) and body; the intent id into id. */
static long
setup_intent(const char *base, const struct itest_user *u, const char *key, const char *body,
    char *id, size_t idlen, struct itest_response *r)
{
	char url[512], auth[1200], idem[256];
	const char *h[4] = { auth, NULL, NULL, NULL };
	size_t n = 1;

	(void)snprintf(url, sizeof(url), "%s" SETUP, base);
	(void)snprintf(auth, sizeof(auth), "Authorization: Bearer %s", u->token);
	/* No body, no Content-Type: an empty "JSON" body is malformed. */
	if (body != NULL)
		h[n++] = "Content-Type: application/json";
	if (key != NULL) {
		(void)snprintf(idem, sizeof(idem), "Idempotency-Key: %s", key);
		h[n++] = idem;
	}
	CU_ASSERT_FATAL(itest_request("POST", url, h, body, body != NULL ? strlen(body) : 0, r));
	json_copy(r, "data.id", id, idlen);
	return r->status;
}

static void
test_setup_intent(void)
{
	for (size_t i = 0; i < nurls; i++) {
		struct itest_response r;
		struct itest_user u;
		char id[128], again[128], secret[256], got[128], key[64], path[256], pm[64];
		bool found, dflt;

		itest_signup(urls[i], "pmsetup", &u);
		CU_ASSERT_EQUAL(setup_intent(urls[i], &u, NULL, NULL, id, sizeof(id), &r), 201);
		CU_ASSERT(strncmp(id, "seti_", 5) == 0);
		json_copy(&r, "data.clientSecret", secret, sizeof(secret));
		CU_ASSERT(strncmp(secret, id, strlen(id)) == 0 && strstr(secret, "_secret_") != NULL);
		CU_ASSERT(json_is(&r, "data.status", "requires_payment_method"));
		CU_ASSERT(json_is(&r, "data.usage", "off_session"));
		itest_response_free(&r);
		/* In Stripe: for the caller's customer, with what we promised to send. */
		emu_field("setup_intents", id, "customer", got, sizeof(got));
		CU_ASSERT_STRING_EQUAL(got, u.customer);
		emu_field("setup_intents", id, "metadata.user_id", got, sizeof(got));
		CU_ASSERT_EQUAL(strtoll(got, NULL, 10), u.id);
		itest_emulator_object("setup_intents", id, &r);
		CU_ASSERT(strstr(r.body, "\"enabled\": true") != NULL);
		itest_response_free(&r);

		/* The browser confirms with a card: it is then in the caller's list. */
		(void)snprintf(path, sizeof(path), "/v1/setup_intents/%s/confirm", id);
		itest_stripe("POST", path, "payment_method=pm_card_visa", &r);
		CU_ASSERT_EQUAL(r.status, 200);
		CU_ASSERT(json_is(&r, "status", "succeeded"));
		json_copy(&r, "payment_method", pm, sizeof(pm));
		itest_response_free(&r);
		CU_ASSERT_EQUAL(list_has(urls[i], &u, pm, &found, &dflt), 1);
		CU_ASSERT(found && !dflt);

		/* The same Idempotency-Key answers the same intent; another body is refused. */
		(void)snprintf(key, sizeof(key), "setup-%zu-%lld", i, itest_now_ms());
		CU_ASSERT_EQUAL(setup_intent(urls[i], &u, key, "{\"usage\":\"on_session\"}", id,
		    sizeof(id), &r), 201);
		CU_ASSERT(json_is(&r, "data.usage", "on_session"));
		itest_response_free(&r);
		CU_ASSERT_EQUAL(setup_intent(urls[i], &u, key, "{\"usage\":\"on_session\"}", again,
		    sizeof(again), &r), 201);
		itest_response_free(&r);
		CU_ASSERT_STRING_EQUAL(again, id);
		CU_ASSERT_EQUAL(setup_intent(urls[i], &u, key, NULL, again, sizeof(again), &r), 409);
		assert_error(&r, 409, "idempotency_key_reused");
		itest_response_free(&r);
		CU_ASSERT_EQUAL(setup_intent(urls[i], &u, "has space", NULL, again, sizeof(again), &r),
		    400);
		assert_error(&r, 400, "invalid_idempotency_key");
		itest_response_free(&r);
		/* Without a key each call is a new intent. */
		CU_ASSERT_EQUAL(setup_intent(urls[i], &u, NULL, "{}", again, sizeof(again), &r), 201);
		itest_response_free(&r);
		CU_ASSERT(again[0] != '\0' && strcmp(again, id) != 0);
	}
}

/* ---- Stripe failing ---- */

/* Adds one fault, described by a printf-style JSON object. */
static void add_fault(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void
add_fault(const char *fmt, ...)
{
	char json[512];
	va_list ap;

	va_start(ap, fmt);
	(void)vsnprintf(json, sizeof(json), fmt, ap);
	va_end(ap);
	itest_emulator_ok("POST", "/_emulator/faults", json);
}

/* method path through base must answer status with code and a Retry-After. */
static void
assert_unavailable(const char *method, const char *base, const char *path,
    const struct itest_user *u, const char *body, long status, const char *code)
{
	struct itest_response r;
	char retry[32];

	itest_api(method, base, path, u->token, body, &r);
	assert_error(&r, status, code);
	CU_ASSERT(itest_header(&r, "Retry-After", retry, sizeof(retry)) && retry[0] != '\0');
	itest_response_free(&r);
}

static void
test_stripe_failing(void)
{
	for (size_t i = 0; i < nurls; i++) {
		struct itest_user u;
		char list[256], pm[64], body[256], got[64];
		long long t0;

		itest_signup(urls[i], "pmfail", &u);
		CU_ASSERT_FATAL(u.customer[0] != '\0');
		make_pm("pm_card_visa", pm, sizeof(pm));
		(void)snprintf(list, sizeof(list), "/v1/customers/%s/payment_methods", u.customer);

		/* 500s past our retries: 502, then all is well again. */
		add_fault("{\"path\":\"%s\",\"status\":500,\"count\":20}", list);
		assert_unavailable("GET", urls[i], PMS, &u, NULL, 502, "payment_provider_error");
		itest_emulator_ok("DELETE", "/_emulator/faults", NULL);
		CU_ASSERT_EQUAL(itest_api_status("GET", urls[i], PMS, u.token, NULL), 200);

		add_fault("{\"path\":\"/v1/payment_methods/%s\",\"status\":503,\"count\":20}", pm);
		assert_unavailable("POST", urls[i], PMS, &u, pm_body(body, sizeof(body), pm), 502,
		    "payment_provider_error");
		itest_emulator_ok("DELETE", "/_emulator/faults", NULL);
		emu_field("payment_methods", pm, "customer", got, sizeof(got));
		CU_ASSERT_STRING_EQUAL(got, "");
		/* The retry the answer invited works. */
		attach(urls[i], &u, pm, 201);

		/* No answer at all: cut before the request's own deadline, 503. */
		add_fault("{\"path\":\"%s\",\"kind\":\"hang\",\"seconds\":15,\"count\":5}", list);
		t0 = itest_now_ms();
		assert_unavailable("GET", urls[i], PMS, &u, NULL, 503, "payment_provider_unavailable");
		CU_ASSERT(itest_now_ms() - t0 < HANG_GUARD_MS);
		itest_emulator_ok("DELETE", "/_emulator/faults", NULL);
		CU_ASSERT_EQUAL(itest_api_status("GET", urls[i], PMS, u.token, NULL), 200);
	}
}

static const struct unit_test tests[] = {
	UNIT_TEST(test_list_empty),
	UNIT_TEST(test_lazy_customer_once),
	UNIT_TEST(test_attach_default_detach),
	UNIT_TEST(test_isolation),
	UNIT_TEST(test_bad_bodies_and_auth),
	UNIT_TEST(test_setup_intent),
	UNIT_TEST(test_stripe_failing),
};

int
main(int argc, char *argv[])
{
	return itest_main("payment_methods", tests, sizeof(tests) / sizeof(tests[0]), urls,
	    MAX_URLS, &nurls, argc, argv);
}
