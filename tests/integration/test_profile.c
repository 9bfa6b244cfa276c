/*
 * Profile sync both ways (issue 8) through the real stack (tests/integration/run.sh):
 * PATCH, DELETE and password changes through nginx and Apache, their pushes to the Stripe
 * emulator, the emulator's customer.updated and customer.deleted events coming back
 * (echoes of our own pushes, and edits made "in the dashboard": straight against the
 * emulator's API), and the lazy creation after a customer is deleted in Stripe. The stack
 * runs profile_sync_window_ms = 1000 and jobs_poll_interval_ms = 100. Every wait polls
 * under a generous guard.
 */
#include "config.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "itest.h"
#include "itest_sign.h"

#define MAX_URLS 4
#define WAIT_MS 20000
#define PASSWORD ITEST_PASSWORD
/* Everything a refused change must leave as it was. */
#define ROW_STATE "SELECT CONCAT_WS('|', name, email, role, is_email_verified, " \
	"COALESCE(stripe_customer_id, ''), profile_version) FROM users WHERE id = %lld"

static const char *urls[MAX_URLS];
static size_t nurls;

static void
copy(char *out, size_t len, const char *s)
{
	(void)snprintf(out, len, "%s", s != NULL ? s : "");
}

/* Signs up through base; the customer is created inline (Stripe is well). */
static void
signup(const char *base, const char *tag, struct itest_user *u)
{
	itest_signup(base, tag, u);
	CU_ASSERT_FATAL(u->customer[0] != '\0');
}

/* The emulator's customer id: its name and email ("" when null), and whether deleted. */
static bool
emu_customer(const char *id, char *name, size_t nlen, char *email, size_t elen, bool *deleted)
{
	struct itest_response r;
	char path[256];
	bool ok;

	(void)snprintf(path, sizeof(path), "/_emulator/objects/customers/%s", id);
	CU_ASSERT_FATAL(itest_emulator("GET", path, NULL, &r));
	ok = r.status == 200;
	if (name != NULL)
		copy(name, nlen, itest_json_str(&r, "name"));
	if (email != NULL)
		copy(email, elen, itest_json_str(&r, "email"));
	if (deleted != NULL) {
		struct json_object *d;

		*deleted = r.json != NULL && json_object_object_get_ex(r.json, "deleted", &d) &&
		    json_object_get_boolean(d);
	}
	itest_response_free(&r);
	return ok;
}

/* Waits until the emulator's customer has name and email. */
static bool
wait_emu_profile(const char *id, const char *name, const char *email)
{
	char n[256], e[256];
	long long t0 = itest_now_ms();

	do {
		if (emu_customer(id, n, sizeof(n), e, sizeof(e), NULL) && strcmp(n, name) == 0 &&
		    strcmp(e, email) == 0)
			return true;
		itest_sleep_ms(100);
	} while (itest_now_ms() - t0 < WAIT_MS);
	fprintf(stderr, "customer %s: name '%s' email '%s', waited for '%s' '%s'\n", id, n, e,
	    name, email);
	return false;
}

/* Waits until a query's first cell is want. */
static bool
wait_sql(const char *want, const char *q)
{
	char out[512] = "";
	long long t0 = itest_now_ms();

	do {
		itest_sqlf(out, sizeof(out), "%s", q);
		if (strcmp(out, want) == 0)
			return true;
		itest_sleep_ms(100);
	} while (itest_now_ms() - t0 < WAIT_MS);
	fprintf(stderr, "'%s' gave '%s', waited for '%s'\n", q, out, want);
	return false;
}

/* POSTs to the customer's path in the emulator: how many were recorded so far. */
static long long
customer_posts(const char *customer)
{
	char path[256];

	(void)snprintf(path, sizeof(path), "/_emulator/requests?method=POST&path=/v1/customers/%s",
	    customer);
	return itest_emulator_count(path);
}

static void
clear_faults(void)
{
	struct itest_response r;

	CU_ASSERT(itest_emulator("DELETE", "/_emulator/faults", NULL, &r));
	itest_response_free(&r);
}

static long long
open_update_jobs(long long user_id)
{
	return itest_sql_num("SELECT COUNT(*) FROM stripe_jobs WHERE user_id = %lld AND "
	    "kind = 'update_customer' AND status IN ('pending', 'running')", user_id);
}

/* ---- our side to Stripe ---- */

/* A PATCH is pushed at once, through each web server; its echo changes nothing. */
static void
test_patch_pushes_and_echo_is_ignored(void)
{
	for (size_t i = 0; i < nurls; i++) {
		struct itest_response r;
		struct itest_user u;
		char body[512], email[128], name[64], out[256];
		long long version;

		signup(urls[i], "patch", &u);
		/* No push yet, so no window: the PATCH is sent inline. */
		itest_unique_email(email, sizeof(email), "patched");
		(void)snprintf(name, sizeof(name), "Patched Name %zu", i);
		(void)snprintf(body, sizeof(body), "{\"name\":\" %s \",\"email\":\"%s\"}", name,
		    email);
		itest_api("PATCH", urls[i], "/v1/users/me", u.token, body, &r);
		CU_ASSERT_EQUAL(r.status, 200);
		CU_ASSERT_STRING_EQUAL(itest_json_str(&r, "data.stripeSync"), "synced");
		CU_ASSERT_STRING_EQUAL(itest_json_str(&r, "data.user.name"), name);
		CU_ASSERT_STRING_EQUAL(itest_json_str(&r, "data.user.email"), email);
		itest_response_free(&r);
		CU_ASSERT(wait_emu_profile(u.customer, name, email));
		version = itest_sql_num("SELECT profile_version FROM users WHERE id = %lld", u.id);
		/* The push's customer.updated comes back through the webhook: recorded... */
		(void)snprintf(body, sizeof(body), "SELECT COUNT(*) >= 1 FROM stripe_events WHERE "
		    "object_id = '%s' AND type = 'customer.updated'", u.customer);
		CU_ASSERT(wait_sql("1", body));
		/* ...and nothing more: no change, no version, no job. */
		CU_ASSERT_EQUAL(itest_sql_num("SELECT profile_version FROM users WHERE id = %lld", u.id),
		    version);
		CU_ASSERT_STRING_EQUAL(itest_sqlf(out, sizeof(out),
		    "SELECT name FROM users WHERE id = %lld", u.id), name);
		CU_ASSERT_EQUAL(open_update_jobs(u.id), 0);
		CU_ASSERT(itest_metric(urls[i], "paybridge_profile_echoes_total") >= 1);

		/* /v1/users/{id} for the user itself works the same. */
		(void)snprintf(body, sizeof(body), "/v1/users/%lld", u.id);
		itest_api("PATCH", urls[i], body, u.token, "{\"name\":\"By Id\"}", &r);
		CU_ASSERT_EQUAL(r.status, 200);
		CU_ASSERT_STRING_EQUAL(itest_json_str(&r, "data.user.name"), "By Id");
		itest_response_free(&r);
		CU_ASSERT(wait_emu_profile(u.customer, "By Id", email));
	}
}

/*
 * The echo of an older push, delivered after a newer change here, must not undo it: held
 * until the newer change is in the row (and cannot reach Stripe yet), then released.
 */
static void
test_late_echo_does_not_undo(void)
{
	struct itest_response r;
	struct itest_user u;
	char fault[512], q[512];
	long long version;

	signup(urls[0], "late", &u);
	itest_emulator_ok("POST", "/_emulator/delivery", "{\"mode\":\"hold\",\"types\":[\"customer.updated\"]}");
	itest_api("PATCH", urls[0], "/v1/users/me", u.token, "{\"name\":\"First Push\"}", &r);
	CU_ASSERT_STRING_EQUAL(itest_json_str(&r, "data.stripeSync"), "synced");
	itest_response_free(&r);
	(void)snprintf(fault, sizeof(fault), "{\"method\":\"POST\",\"path\":\"/v1/customers/%s\","
	    "\"kind\":\"error\",\"status\":500,\"count\":1000}", u.customer);
	itest_emulator_ok("POST", "/_emulator/faults", fault);
	itest_api("PATCH", urls[nurls - 1], "/v1/users/me", u.token, "{\"name\":\"Second Change\"}", &r);
	CU_ASSERT_STRING_EQUAL(itest_json_str(&r, "data.stripeSync"), "pending");
	itest_response_free(&r);
	version = itest_sql_num("SELECT profile_version FROM users WHERE id = %lld", u.id);
	itest_emulator_ok("POST", "/_emulator/delivery", "{\"mode\":\"normal\"}");
	itest_emulator_ok("POST", "/_emulator/delivery/release", "{}");
	(void)snprintf(q, sizeof(q), "SELECT COUNT(*) >= 1 FROM stripe_events WHERE "
	    "object_id = '%s' AND type = 'customer.updated'", u.customer);
	CU_ASSERT(wait_sql("1", q));
	(void)snprintf(q, sizeof(q), "SELECT CONCAT(name, '|', profile_version) FROM users "
	    "WHERE id = %lld", u.id);
	{
		char want[128], out[256];

		(void)snprintf(want, sizeof(want), "Second Change|%lld", version);
		CU_ASSERT_STRING_EQUAL(itest_sqlf(out, sizeof(out), "%s", q), want);
	}
	clear_faults();
	CU_ASSERT(wait_emu_profile(u.customer, "Second Change", u.email));
}

/* With Stripe failing the PATCH still succeeds, and the job applies it later. */
static void
test_patch_while_stripe_fails(void)
{
	struct itest_response r;
	struct itest_user u;
	char fault[512];

	signup(urls[0], "down", &u);
	(void)snprintf(fault, sizeof(fault), "{\"method\":\"POST\",\"path\":\"/v1/customers/%s\","
	    "\"kind\":\"error\",\"status\":500,\"count\":1000}", u.customer);
	CU_ASSERT_FATAL(itest_emulator("POST", "/_emulator/faults", fault, &r));
	itest_response_free(&r);
	itest_api("PATCH", urls[nurls - 1], "/v1/users/me", u.token, "{\"name\":\"While Down\"}", &r);
	CU_ASSERT_EQUAL(r.status, 200);
	CU_ASSERT_STRING_EQUAL(itest_json_str(&r, "data.stripeSync"), "pending");
	CU_ASSERT_STRING_EQUAL(itest_json_str(&r, "data.user.name"), "While Down");
	itest_response_free(&r);
	CU_ASSERT_EQUAL(open_update_jobs(u.id), 1);
	clear_faults();
	CU_ASSERT(wait_emu_profile(u.customer, "While Down", u.email));
	CU_ASSERT(wait_sql("0", "SELECT COUNT(*) FROM stripe_jobs WHERE kind = 'update_customer' "
	    "AND status IN ('pending', 'running')"));
}

/* 100 PATCHes in quick succession: Stripe ends with the last values, in few calls. */
static void
test_burst_coalesces(void)
{
	struct itest_response r;
	struct itest_user u;
	char body[128], last[64];
	long long before, calls;
	int pending = 0;

	signup(urls[0], "burst", &u);
	before = customer_posts(u.customer);
	for (int i = 1; i <= 100; i++) {
		(void)snprintf(body, sizeof(body), "{\"name\":\"Burst %d\"}", i);
		itest_api("PATCH", urls[(size_t)i % nurls], "/v1/users/me", u.token, body, &r);
		CU_ASSERT_EQUAL(r.status, 200);
		if (r.status == 200 && strcmp(itest_json_str(&r, "data.stripeSync"), "pending") == 0)
			pending++;
		itest_response_free(&r);
	}
	(void)snprintf(last, sizeof(last), "Burst 100");
	CU_ASSERT(wait_emu_profile(u.customer, last, u.email));
	CU_ASSERT(wait_sql("0", "SELECT COUNT(*) FROM stripe_jobs WHERE kind = 'update_customer' "
	    "AND status IN ('pending', 'running')"));
	calls = customer_posts(u.customer) - before;
	/*
	 * One call per window (1 s) at most while the burst lasts, plus the last: the bound
	 * leaves room for a slow machine (the burst takes a few seconds under ASan).
	 */
	fprintf(stderr, "burst: 100 PATCHes, %lld Stripe calls, %d answered pending\n", calls,
	    pending);
	CU_ASSERT(calls >= 1 && calls <= 25);
	CU_ASSERT(pending >= 75);
}

/* Only name and email may be set; the row is untouched by anything refused. */
static void
test_refused_changes(void)
{
	static const char *const bodies[] = {
		"{\"role\":\"admin\"}",
		"{\"name\":\"Sneaky\",\"stripeCustomerId\":\"cus_other\"}",
		"{\"isEmailVerified\":true}",
		"{\"name\":null}",
		"{\"name\":42}",
		"{}",
		"{\"name\":\"   \"}",
		"{\"email\":\"not an address\"}",
	};
	struct itest_response r;
	struct itest_user u, other;
	char before[512], after[512], path[64], body[256];

	signup(urls[0], "refused", &u);
	signup(urls[0], "other", &other);
	itest_sqlf(before, sizeof(before), ROW_STATE, u.id);
	for (size_t i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
		itest_api("PATCH", urls[i % nurls], "/v1/users/me", u.token, bodies[i], &r);
		CU_ASSERT_EQUAL(r.status, 422);
		CU_ASSERT_STRING_EQUAL(itest_json_str(&r, "error.code"), "invalid_fields");
		itest_response_free(&r);
	}
	itest_api("PATCH", urls[0], "/v1/users/me", u.token, "{\"role\":\"admin\"}", &r);
	CU_ASSERT_PTR_NOT_NULL(itest_json_str(&r, "error.fields.role"));
	itest_response_free(&r);
	/* A taken email, in another case: 409. */
	(void)snprintf(body, sizeof(body), "{\"email\":\"O%.120s\"}", other.email + 1);
	itest_api("PATCH", urls[0], "/v1/users/me", u.token, body, &r);
	CU_ASSERT_EQUAL(r.status, 409);
	CU_ASSERT_STRING_EQUAL(itest_json_str(&r, "error.code"), "email_taken");
	itest_response_free(&r);
	/* Someone else's account: 403 whether or not it exists. */
	(void)snprintf(path, sizeof(path), "/v1/users/%lld", other.id);
	CU_ASSERT_EQUAL(itest_api_status("PATCH", urls[0], path, u.token, "{\"name\":\"Mine\"}"), 403);
	CU_ASSERT_EQUAL(itest_api_status("DELETE", urls[0], path, u.token, NULL), 403);
	CU_ASSERT_EQUAL(itest_api_status("PATCH", urls[0], "/v1/users/me", NULL, "{\"name\":\"X\"}"),
	    401);
	itest_sqlf(after, sizeof(after), ROW_STATE, u.id);
	CU_ASSERT_STRING_EQUAL(after, before);
	CU_ASSERT_EQUAL(itest_sql_num("SELECT COUNT(*) FROM users WHERE id = %lld AND name = 'Mine'",
	    other.id), 0);
}

/* An admin may change and close another account. */
static void
test_admin(void)
{
	struct itest_response r;
	struct itest_user admin, u;
	char path[64], login[512];

	signup(urls[0], "admin", &admin);
	(void)snprintf(login, sizeof(login), "UPDATE users SET role = 'admin' WHERE id = %lld",
	    admin.id);
	CU_ASSERT_EQUAL_FATAL(itest_sql(login, NULL, 0), 0);
	/* The role is read from the row: the token issued before still works. */
	signup(urls[0], "managed", &u);
	(void)snprintf(path, sizeof(path), "/v1/users/%lld", u.id);
	itest_api("PATCH", urls[nurls - 1], path, admin.token, "{\"name\":\"Set By Admin\"}", &r);
	CU_ASSERT_EQUAL(r.status, 200);
	CU_ASSERT_STRING_EQUAL(itest_json_str(&r, "data.user.name"), "Set By Admin");
	itest_response_free(&r);
	CU_ASSERT(wait_emu_profile(u.customer, "Set By Admin", u.email));
	CU_ASSERT_EQUAL(itest_api_status("DELETE", urls[nurls - 1], path, admin.token, NULL), 200);
	CU_ASSERT_EQUAL(itest_api_status("GET", urls[0], "/v1/users/me", u.token, NULL), 401);
	CU_ASSERT_EQUAL(itest_api_status("DELETE", urls[0], path, admin.token, NULL), 404);
	CU_ASSERT_EQUAL(itest_api_status("GET", urls[0], path, admin.token, NULL), 404);
}

/* Closing an account: customer gone, orders kept, tokens dead, the email free again. */
static void
test_delete_account(void)
{
	struct itest_response r;
	struct itest_user u, again;
	char q[512], out[256], body[512], pi[64], event[2048];
	bool deleted = false;
	long long t0;

	signup(urls[0], "closing", &u);
	(void)snprintf(pi, sizeof(pi), "pi_profile_%lld_%lld", u.id, itest_now_ms());
	(void)snprintf(q, sizeof(q), "INSERT INTO orders (user_id, amount, currency, "
	    "stripe_payment_intent_id) VALUES (%lld, 1099, 'usd', '%s')", u.id, pi);
	CU_ASSERT_EQUAL_FATAL(itest_sql(q, NULL, 0), 0);
	itest_api("DELETE", urls[nurls - 1], "/v1/users/me", u.token, NULL, &r);
	CU_ASSERT_EQUAL(r.status, 200);
	CU_ASSERT_STRING_EQUAL(itest_json_str(&r, "data.stripeSync"), "synced");
	itest_response_free(&r);
	t0 = itest_now_ms();
	while (emu_customer(u.customer, NULL, 0, NULL, 0, &deleted) && !deleted &&
	    itest_now_ms() - t0 < WAIT_MS)
		itest_sleep_ms(100);
	CU_ASSERT(deleted);
	/* The tombstone: no personal data, the order still there. */
	CU_ASSERT_STRING_EQUAL(itest_sqlf(out, sizeof(out), "SELECT CONCAT_WS('|', name, email, "
	    "COALESCE(email_normalized, 'NULL'), deleted_at IS NOT NULL) FROM users WHERE id = %lld",
	    u.id), "||NULL|1");
	CU_ASSERT_EQUAL(itest_sql_num("SELECT COUNT(*) FROM orders WHERE user_id = %lld", u.id), 1);
	for (size_t i = 0; i < nurls; i++)
		CU_ASSERT_EQUAL(itest_api_status("GET", urls[i], "/v1/users/me", u.token, NULL), 401);
	(void)snprintf(body, sizeof(body), "{\"email\":\"%s\",\"password\":\"" PASSWORD "\"}",
	    u.email);
	CU_ASSERT_EQUAL(itest_api_status("POST", urls[0], "/v1/auth/login", NULL, body), 401);
	/* The same email registers again, as a new account with a new customer. */
	(void)snprintf(body, sizeof(body), "{\"name\":\"Again\",\"email\":\"%s\",\"password\":\""
	    PASSWORD "\"}", u.email);
	itest_api("POST", urls[0], "/v1/users", NULL, body, &r);
	CU_ASSERT_EQUAL(r.status, 201);
	again.id = itest_json_int(&r, "data.user.id", 0);
	copy(again.customer, sizeof(again.customer),
	    itest_json_str(&r, "data.user.stripeCustomerId"));
	itest_response_free(&r);
	CU_ASSERT(again.id != u.id && again.id > 0);
	CU_ASSERT(again.customer[0] != '\0' && strcmp(again.customer, u.customer) != 0);
	/* A late customer.updated for the closed account does not bring it back. */
	(void)snprintf(event, sizeof(event),
	    "{\"id\":\"evt_late_%lld_%lld\",\"object\":\"event\",\"api_version\":\"2023-08-16\","
	    "\"created\":%lld,\"livemode\":false,\"type\":\"customer.updated\",\"data\":{"
	    "\"object\":{\"id\":\"%s\",\"object\":\"customer\",\"name\":\"Resurrected\","
	    "\"email\":\"resurrected@example.com\",\"metadata\":{\"user_id\":\"%lld\"}}},"
	    "\"request\":{\"id\":null,\"idempotency_key\":null}}", u.id, itest_now_ms(),
	    (long long)time(NULL) + 60, u.customer, u.id);
	itest_deliver_at(urls[0], event, strlen(event), (long long)time(NULL), &r);
	CU_ASSERT_EQUAL(r.status, 200);
	itest_response_free(&r);
	CU_ASSERT_STRING_EQUAL(itest_sqlf(out, sizeof(out), "SELECT CONCAT_WS('|', name, email, "
	    "deleted_at IS NOT NULL) FROM users WHERE id = %lld", u.id), "||1");
	CU_ASSERT_EQUAL(itest_api_status("DELETE", urls[0], "/v1/users/me", u.token, NULL), 401);
}

/* A password change revokes every other token and answers a fresh one. */
static void
test_password_change(void)
{
	for (size_t i = 0; i < nurls; i++) {
		struct itest_response r;
		struct itest_user u;
		char body[512], fresh[1024];

		signup(urls[i], "password", &u);
		itest_api("POST", urls[i], "/v1/users/me/password", u.token,
		    "{\"currentPassword\":\"not the password\",\"newPassword\":\"a brand new one!\"}",
		    &r);
		CU_ASSERT_EQUAL(r.status, 422);
		CU_ASSERT_STRING_EQUAL(itest_json_str(&r, "error.code"), "wrong_password");
		itest_response_free(&r);
		itest_api("POST", urls[i], "/v1/users/me/password", u.token,
		    "{\"currentPassword\":\"" PASSWORD "\",\"newPassword\":\"short\"}", &r);
		CU_ASSERT_EQUAL(r.status, 422);
		CU_ASSERT_PTR_NOT_NULL(itest_json_str(&r, "error.fields.newPassword"));
		itest_response_free(&r);
		CU_ASSERT_EQUAL(itest_api_status("POST", urls[i], "/v1/users/me/password", u.token,
		    "{\"currentPassword\":\"" PASSWORD "\"}"), 422);
		itest_api("POST", urls[i], "/v1/users/me/password", u.token,
		    "{\"currentPassword\":\"" PASSWORD "\",\"newPassword\":\"a brand new one!\"}", &r);
		CU_ASSERT_EQUAL(r.status, 200);
		copy(fresh, sizeof(fresh), itest_json_str(&r, "data.access_token"));
		itest_response_free(&r);
		CU_ASSERT(fresh[0] != '\0');
		CU_ASSERT_EQUAL(itest_api_status("GET", urls[i], "/v1/users/me", u.token, NULL), 401);
		CU_ASSERT_EQUAL(itest_api_status("GET", urls[i], "/v1/users/me", fresh, NULL), 200);
		(void)snprintf(body, sizeof(body), "{\"email\":\"%s\",\"password\":\"" PASSWORD
		    "\"}", u.email);
		CU_ASSERT_EQUAL(itest_api_status("POST", urls[i], "/v1/auth/login", NULL, body), 401);
		(void)snprintf(body, sizeof(body), "{\"email\":\"%s\",\"password\":\"a brand new "
		    "one!\"}", u.email);
		CU_ASSERT_EQUAL(itest_api_status("POST", urls[i], "/v1/auth/login", NULL, body), 200);
	}
}

/* ---- Stripe to our side ---- */

/* An address as a form value: ours hold only letters, digits, dots and one '@'. */
static void
form_escape(const char *email, char *out, size_t len)
{
	const char *at = strchr(email, '@');

	CU_ASSERT_PTR_NOT_NULL_FATAL(at);
	(void)snprintf(out, len, "%.*s%%40%s", (int)(at - email), email, at + 1);
}

static void
dashboard_edit(const char *customer, const char *form)
{
	struct itest_response r;
	char path[128];

	(void)snprintf(path, sizeof(path), "/v1/customers/%s", customer);
	itest_stripe("POST", path, form, &r);
	CU_ASSERT_EQUAL(r.status, 200);
	itest_response_free(&r);
}

/* An edit made in Stripe reaches the user row and is not pushed back. */
static void
test_dashboard_edit_reaches_user(void)
{
	struct itest_user u, other;
	char q[512], out[256], form[512], taken[160];
	long long posts, drift;

	signup(urls[0], "dash", &u);
	posts = customer_posts(u.customer);
	dashboard_edit(u.customer, "name=Dashboard+Name&email=dash.edit%40example.com");
	(void)snprintf(q, sizeof(q), "SELECT CONCAT_WS('|', name, email, last_pushed_name, "
	    "last_pushed_email) FROM users WHERE id = %lld", u.id);
	CU_ASSERT(wait_sql("Dashboard Name|dash.edit@example.com|Dashboard Name|"
	    "dash.edit@example.com", q));
	CU_ASSERT_EQUAL(open_update_jobs(u.id), 0);
	CU_ASSERT_EQUAL(itest_sql_num("SELECT COUNT(*) FROM stripe_jobs WHERE user_id = %lld AND "
	    "kind = 'update_customer'", u.id), 0);
	/* Only the dashboard's own call: nothing went back to Stripe. */
	CU_ASSERT_EQUAL(customer_posts(u.customer), posts + 1);

	/* An email another user has: ours is kept, the name still taken, drift counted. */
	signup(urls[0], "dashother", &other);
	drift = itest_metric(urls[0], "paybridge_profile_drift_total");
	form_escape(other.email, taken, sizeof(taken));
	(void)snprintf(form, sizeof(form), "name=Conflicted&email=%s", taken);
	dashboard_edit(u.customer, form);
	(void)snprintf(q, sizeof(q), "SELECT CONCAT_WS('|', name, email) FROM users WHERE id = %lld",
	    u.id);
	CU_ASSERT(wait_sql("Conflicted|dash.edit@example.com", q));
	CU_ASSERT(itest_metric(urls[0], "paybridge_profile_drift_total") >= drift + 1);
	CU_ASSERT_STRING_EQUAL(itest_sqlf(out, sizeof(out), "SELECT email FROM users WHERE id = %lld",
	    other.id), other.email);
}

/* customer.deleted clears the link; the next payment path creates a new customer. */
static void
test_customer_deleted_in_stripe(void)
{
	struct itest_response r;
	struct itest_user u;
	char path[128], q[256], fresh[64], name[256], email[256];

	signup(urls[0], "lost", &u);
	(void)snprintf(path, sizeof(path), "/v1/customers/%s", u.customer);
	itest_stripe("DELETE", path, NULL, &r);
	CU_ASSERT_EQUAL(r.status, 200);
	itest_response_free(&r);
	(void)snprintf(q, sizeof(q), "SELECT CONCAT(COALESCE(stripe_customer_id, 'none'), '|', "
	    "customer_generation) FROM users WHERE id = %lld", u.id);
	CU_ASSERT(wait_sql("none|1", q));
	itest_api("GET", urls[0], "/v1/users/me", u.token, NULL, &r);
	CU_ASSERT_EQUAL(r.status, 200);
	CU_ASSERT_PTR_NULL(itest_json_str(&r, "data.user.stripeCustomerId"));
	itest_response_free(&r);
	/* The lazy path every payment route takes (customers_get_or_create). */
	(void)snprintf(path, sizeof(path), "/v1/test/users/%lld/customer", u.id);
	itest_api("POST", urls[nurls - 1], path, NULL, NULL, &r);
	CU_ASSERT_EQUAL(r.status, 200);
	copy(fresh, sizeof(fresh), itest_json_str(&r, "data.stripeCustomerId"));
	itest_response_free(&r);
	CU_ASSERT(fresh[0] != '\0' && strcmp(fresh, u.customer) != 0);
	CU_ASSERT(emu_customer(fresh, name, sizeof(name), email, sizeof(email), NULL));
	CU_ASSERT_STRING_EQUAL(name, "Profile lost");
	CU_ASSERT_STRING_EQUAL(email, u.email);
	(void)snprintf(q, sizeof(q), "SELECT stripe_customer_id FROM users WHERE id = %lld", u.id);
	CU_ASSERT(wait_sql(fresh, q));
	/* PATCHes now reach the new customer. */
	CU_ASSERT_EQUAL(itest_api_status("PATCH", urls[0], "/v1/users/me", u.token,
	    "{\"name\":\"Found Again\"}"), 200);
	CU_ASSERT(wait_emu_profile(fresh, "Found Again", u.email));
}

/* Every customer event looks its user up by customer id: that lookup has an index. */
static void
test_customer_lookup_indexed(void)
{
	char out[128];

	CU_ASSERT_STRING_EQUAL(itest_sqlf(out, sizeof(out), "SELECT INDEX_NAME FROM "
	    "information_schema.STATISTICS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = "
	    "'users' AND COLUMN_NAME = 'stripe_customer_id' AND SEQ_IN_INDEX = 1 AND "
	    "NON_UNIQUE = 0"), "users_stripe_customer_id");
}

/* ---- many clients at once ---- */

#define CLIENTS 24

struct client {
	size_t n;
	struct itest_user u;
	bool ok;
};

static void *
client_run(void *arg)
{
	struct client *c = arg;
	const char *base = urls[c->n % nurls];
	struct itest_response r;
	char body[128];

	c->ok = true;
	for (int i = 1; i <= 5; i++) {
		(void)snprintf(body, sizeof(body), "{\"name\":\"Client %zu v%d\"}", c->n, i);
		itest_api("PATCH", base, "/v1/users/me", c->u.token, body, &r);
		if (r.status != 200)
			c->ok = false;
		itest_response_free(&r);
	}
	return NULL;
}

/* More clients than workers, through both web servers: every last value reaches Stripe. */
static void
test_concurrent_clients(void)
{
	static struct client clients[CLIENTS];
	pthread_t t[CLIENTS];
	char name[64];

	for (size_t i = 0; i < CLIENTS; i++) {
		clients[i].n = i;
		signup(urls[i % nurls], "many", &clients[i].u);
	}
	for (size_t i = 0; i < CLIENTS; i++)
		CU_ASSERT_FATAL(pthread_create(&t[i], NULL, client_run, &clients[i]) == 0);
	for (size_t i = 0; i < CLIENTS; i++)
		pthread_join(t[i], NULL);
	for (size_t i = 0; i < CLIENTS; i++) {
		CU_ASSERT(clients[i].ok);
		(void)snprintf(name, sizeof(name), "Client %zu v5", i);
		CU_ASSERT(wait_emu_profile(clients[i].u.customer, name, clients[i].u.email));
	}
}

static const struct unit_test tests[] = {
	{ "test_patch_pushes_and_echo_is_ignored", test_patch_pushes_and_echo_is_ignored },
	{ "test_late_echo_does_not_undo", test_late_echo_does_not_undo },
	{ "test_patch_while_stripe_fails", test_patch_while_stripe_fails },
	{ "test_burst_coalesces", test_burst_coalesces },
	{ "test_refused_changes", test_refused_changes },
	{ "test_admin", test_admin },
	{ "test_delete_account", test_delete_account },
	{ "test_password_change", test_password_change },
	{ "test_dashboard_edit_reaches_user", test_dashboard_edit_reaches_user },
	{ "test_customer_deleted_in_stripe", test_customer_deleted_in_stripe },
	{ "test_customer_lookup_indexed", test_customer_lookup_indexed },
	{ "test_concurrent_clients", test_concurrent_clients },
};

int
main(int argc, char *argv[])
{
	return itest_main("profile", tests, sizeof(tests) / sizeof(tests[0]), urls, MAX_URLS,
	    &nurls, argc, argv);
}
