/*
 * Hostile input through the whole stack (issue 14), every case through every web server the
 * runner started (nginx and Apache): forged tokens, other users' ids, mass assignment,
 * hostile names, malformed text, log injection, oversized requests, login guessing and the
 * guest payments' limit behind forged X-Forwarded-For, headers a client may forge into
 * FastCGI parameters, spellings of /metrics, and the socket's mode. Each refusal is checked for its status, its JSON error code and that the
 * database rows it aimed at did not change. docs/SECURITY.md lists which test shows what.
 *
 *   tests/integration/run.sh BUILDDIR tests/integration/test_hostile [test names]
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "../unit/unit.h"
#include "itest.h"
#include "itest_sign.h"
#include "util/base64url.h"
#include "util/conf.h"
#include "util/jwt.h"

#define MAX_URLS 4
#define PMS "/v1/payments/customer/payment-methods"

static const char *urls[MAX_URLS];
static size_t nurls;

/* ---- helpers ---- */

/* Expects status and error.code in r, and says what came instead. */
static void
expect(const struct itest_response *r, long status, const char *code, const char *what)
{
	const char *got = itest_json_str(r, "error.code");

	if (r->status != status || got == NULL || strcmp(got, code) != 0)
		fprintf(stderr, "%s: wanted %ld %s, got %ld %.300s\n", what, status, code,
		    r->status, r->body != NULL ? r->body : "");
	CU_ASSERT_EQUAL(r->status, status);
	ITEST_STR_EQ(got, code);
}

/* One call, its answer checked, freed. */
static void
call_expect(const char *method, const char *base, const char *path, const char *token,
    const char *json, long status, const char *code)
{
	struct itest_response r;
	char what[300];

	(void)snprintf(what, sizeof(what), "%s %s%s", method, base, path);
	itest_api(method, base, path, token, json, &r);
	expect(&r, status, code, what);
	itest_response_free(&r);
}

/* Whether base is served by Apache (its Server header says so; nginx's says nginx). */
static bool
is_apache(const char *base)
{
	struct itest_response r;
	char server[128] = "";

	CU_ASSERT_FATAL(itest_get(base, "/v1/healthz", &r));
	(void)itest_header(&r, "Server", server, sizeof(server));
	itest_response_free(&r);
	CU_ASSERT_FATAL(strstr(server, "Apache") != NULL || strstr(server, "nginx") != NULL);
	return strstr(server, "Apache") != NULL;
}

/*
 * What a user owns, as one string: the account's own columns and every intent, order,
 * subscription and idempotency record of the user. Equal before and after a refused call
 * means the call changed nothing of theirs.
 */
static void
owned_rows(long long user_id, char *out, size_t len)
{
	itest_sqlf(out, len, "SELECT MD5(CONCAT_WS('#', "
	    "(SELECT CONCAT_WS('|', name, email, COALESCE(email_normalized, ''), password_hash, "
	    "role, is_email_verified, token_version, COALESCE(stripe_customer_id, ''), "
	    "COALESCE(deleted_at, '')) FROM users WHERE id = %lld), "
	    "(SELECT COALESCE(GROUP_CONCAT(CONCAT_WS('|', stripe_id, user_id, product_id, "
	    "quantity, amount, currency, status) ORDER BY id), '') FROM payment_intents "
	    "WHERE user_id = %lld), "
	    "(SELECT COALESCE(GROUP_CONCAT(CONCAT_WS('|', id, user_id, amount, status, "
	    "amount_refunded) ORDER BY id), '') FROM orders WHERE user_id = %lld), "
	    "(SELECT COALESCE(GROUP_CONCAT(CONCAT_WS('|', stripe_id, status, "
	    "cancel_at_period_end, COALESCE(canceled_at, '')) ORDER BY id), '') "
	    "FROM subscriptions WHERE user_id = %lld), "
	    "(SELECT COUNT(*) FROM api_idempotency WHERE user_id = %lld)))",
	    user_id, user_id, user_id, user_id, user_id);
	CU_ASSERT(strlen(out) == 32);
}

#define ROWS_LEN 64

/* ---- forged tokens ---- */

static void
b64(const void *p, size_t n, char *out, size_t outlen)
{
	CU_ASSERT_EQUAL_FATAL(base64url_encode(p, n, out, outlen), PB_OK);
}

/* header.claims.sig, the signature an HMAC by md with the stack's secret (NULL: "sig"). */
static void
forge(const char *header, const char *claims, const EVP_MD *md, const char *sig, char *out,
    size_t outlen)
{
	const char *key = itest_env("PAYBRIDGE_JWT_SECRET");
	char h[256], c[512], s[256];

	b64(header, strlen(header), h, sizeof(h));
	b64(claims, strlen(claims), c, sizeof(c));
	(void)snprintf(out, outlen, "%s.%s", h, c);
	if (md != NULL) {
		unsigned char mac[EVP_MAX_MD_SIZE];
		unsigned int maclen = 0;

		CU_ASSERT_PTR_NOT_NULL_FATAL(HMAC(md, key, (int)strlen(key),
		    (const unsigned char *)out, strlen(out), mac, &maclen));
		b64(mac, maclen, s, sizeof(s));
		sig = s;
	}
	(void)snprintf(out + strlen(out), outlen - strlen(out), ".%s", sig);
}

/* GET /v1/users/me and PATCH it with token: both 401 unauthorized, the row untouched. */
static void
refused_token(const char *base, const struct itest_user *u, const char *token, const char *what)
{
	struct itest_response r;
	char before[ROWS_LEN], after[ROWS_LEN];

	owned_rows(u->id, before, sizeof(before));
	itest_api("GET", base, "/v1/users/me", token, NULL, &r);
	expect(&r, 401, "unauthorized", what);
	CU_ASSERT_TRUE(itest_header(&r, "WWW-Authenticate", after, sizeof(after)));
	itest_response_free(&r);
	itest_api("PATCH", base, "/v1/users/me", token, "{\"name\":\"Forged\"}", &r);
	expect(&r, 401, "unauthorized", what);
	itest_response_free(&r);
	owned_rows(u->id, after, sizeof(after));
	ITEST_STR_EQ(after, before);
}

static void
test_forged_tokens(void)
{
	for (size_t i = 0; i < nurls; i++) {
		const char *b = urls[i];
		struct itest_user u;
		struct jwt_claims c;
		char claims[256], tok[JWT_TOKEN_MAX + 64];
		long long now = (long long)time(NULL);

		itest_signup(b, "jwt", &u);
		(void)snprintf(claims, sizeof(claims), "{\"sub\":\"%lld\",\"iat\":%lld,\"exp\":%lld,"
		    "\"token_version\":0,\"role\":\"user\"}", u.id, now, now + 600);
		/* The control: these claims, signed as paybridge signs, are good. */
		forge("{\"alg\":\"HS256\",\"typ\":\"JWT\"}", claims, EVP_sha256(), NULL, tok,
		    sizeof(tok));
		CU_ASSERT_EQUAL(itest_api_status("GET", b, "/v1/users/me", tok, NULL), 200);

		forge("{\"alg\":\"none\",\"typ\":\"JWT\"}", claims, NULL, "", tok, sizeof(tok));
		refused_token(b, &u, tok, "alg none, unsigned");
		forge("{\"alg\":\"none\",\"typ\":\"JWT\"}", claims, EVP_sha256(), NULL, tok,
		    sizeof(tok));
		refused_token(b, &u, tok, "alg none, signed anyway");
		forge("{\"alg\":\"NONE\",\"typ\":\"JWT\"}", claims, NULL, "", tok, sizeof(tok));
		refused_token(b, &u, tok, "alg NONE");
		/* Key confusion: RS256 "verified" with the HMAC secret as if it were a public key. */
		forge("{\"alg\":\"RS256\",\"typ\":\"JWT\"}", claims, EVP_sha256(), NULL, tok,
		    sizeof(tok));
		refused_token(b, &u, tok, "RS256 header, HMAC signature");
		forge("{\"alg\":\"RS256\",\"typ\":\"JWT\"}", claims, NULL, "c2ln", tok, sizeof(tok));
		refused_token(b, &u, tok, "RS256 header, junk signature");
		forge("{\"alg\":\"HS512\",\"typ\":\"JWT\"}", claims, EVP_sha512(), NULL, tok,
		    sizeof(tok));
		refused_token(b, &u, tok, "HS512 with the right key");
		forge("{\"alg\":\"HS256\",\"typ\":\"JWT\",\"crit\":[\"exp\"]}", claims, EVP_sha256(),
		    NULL, tok, sizeof(tok));
		refused_token(b, &u, tok, "crit header");

		/* No exp at all, correctly signed. */
		(void)snprintf(claims, sizeof(claims), "{\"sub\":\"%lld\",\"iat\":%lld,"
		    "\"token_version\":0,\"role\":\"user\"}", u.id, now);
		forge("{\"alg\":\"HS256\",\"typ\":\"JWT\"}", claims, EVP_sha256(), NULL, tok,
		    sizeof(tok));
		refused_token(b, &u, tok, "no exp");
		/* exp passed a second ago, signed by paybridge's own code. */
		memset(&c, 0, sizeof(c));
		c.sub = u.id;
		c.iat = now - 600;
		c.exp = now - 1;
		(void)snprintf(c.role, sizeof(c.role), "user");
		CU_ASSERT_EQUAL_FATAL(jwt_sign(itest_env("PAYBRIDGE_JWT_SECRET"),
		    strlen(itest_env("PAYBRIDGE_JWT_SECRET")), &c, tok, sizeof(tok)), PB_OK);
		refused_token(b, &u, tok, "exp in the past");
		/* The real token with its signature's last character changed. */
		(void)snprintf(tok, sizeof(tok), "%s", u.token);
		tok[strlen(tok) - 1] = tok[strlen(tok) - 1] == 'A' ? 'Q' : 'A';
		refused_token(b, &u, tok, "bad signature");
		/* A token signed with another key. */
		(void)snprintf(claims, sizeof(claims), "{\"sub\":\"%lld\",\"iat\":%lld,\"exp\":%lld,"
		    "\"token_version\":0,\"role\":\"admin\"}", u.id, now, now + 600);
		forge("{\"alg\":\"HS256\",\"typ\":\"JWT\"}", claims, NULL,
		    "dGhpcyBpcyBub3QgdGhlIHNpZ25hdHVyZSBvZiBhbnkga2V5", tok, sizeof(tok));
		refused_token(b, &u, tok, "admin claims, foreign signature");

		/* Deleted: the user's own still-unexpired token stops working. */
		CU_ASSERT_EQUAL(itest_api_status("DELETE", b, "/v1/users/me", u.token, NULL), 200);
		refused_token(b, &u, u.token, "a deleted user's token");
		/* And one freshly signed for the deleted account's current token_version. */
		memset(&c, 0, sizeof(c));
		c.sub = u.id;
		c.iat = now;
		c.exp = now + 600;
		c.token_version = itest_sql_num("SELECT token_version FROM users WHERE id = %lld",
		    u.id);
		(void)snprintf(c.role, sizeof(c.role), "user");
		CU_ASSERT_EQUAL_FATAL(jwt_sign(itest_env("PAYBRIDGE_JWT_SECRET"),
		    strlen(itest_env("PAYBRIDGE_JWT_SECRET")), &c, tok, sizeof(tok)), PB_OK);
		refused_token(b, &u, tok, "a deleted user, current version");
	}
}

/* ---- other users' ids ---- */

/* A payment method made from a test token, as Stripe.js would, attached to u: its id. */
static void
attached_pm(const char *base, const struct itest_user *u, char *id, size_t len)
{
	struct itest_response r;
	char body[256];

	itest_stripe("GET", "/v1/payment_methods/pm_card_visa", NULL, &r);
	CU_ASSERT_EQUAL_FATAL(r.status, 200);
	itest_copy(id, len, itest_json_str(&r, "id"));
	itest_response_free(&r);
	(void)snprintf(body, sizeof(body), "{\"paymentMethodId\":\"%s\"}", id);
	itest_api("POST", base, PMS, u->token, body, &r);
	CU_ASSERT_EQUAL_FATAL(r.status, 201);
	itest_response_free(&r);
}

/* A subscription row of u's, as the Checkout webhook would leave it: its Stripe id. */
static void
subscription_row(const struct itest_user *u, long long pid, char *id, size_t len)
{
	char out[16];

	(void)snprintf(id, len, "sub_hostile_%lld_%lld", u->id, itest_now_ms());
	itest_sqlf(out, sizeof(out), "INSERT INTO subscriptions (stripe_id, user_id, product_id, "
	    "stripe_price_id, status, current_period_start, current_period_end) VALUES ('%s', "
	    "%lld, %lld, 'price_hostile', 'active', NOW(6), NOW(6) + INTERVAL 30 DAY)", id, u->id,
	    pid);
}

/* What one user owns for the ownership and mass-assignment tests. */
struct holdings {
	char open_pi[128];	/* an intent not yet confirmed */
	char paid_pi[128];	/* one paid, with its order */
	long long order;
	char pm[128];		/* an attached payment method */
	char sub[128];		/* an active subscription */
};

static void
hold(const char *base, const struct itest_user *u, long long pid, struct holdings *h)
{
	struct itest_response r;

	itest_new_intent(base, u, pid, 1, h->open_pi, sizeof(h->open_pi));
	itest_new_intent(base, u, pid, 2, h->paid_pi, sizeof(h->paid_pi));
	itest_confirm(base, u, h->paid_pi, "pm_card_visa", &r);
	CU_ASSERT_EQUAL_FATAL(r.status, 200);
	itest_response_free(&r);
	/* payment_intent.succeeded comes back as a webhook: the order follows. */
	CU_ASSERT_FATAL(itest_wait_sql("1", "SELECT COUNT(*) FROM orders WHERE "
	    "stripe_payment_intent_id = '%s'", h->paid_pi));
	h->order = itest_sql_num("SELECT id FROM orders WHERE stripe_payment_intent_id = '%s'",
	    h->paid_pi);
	attached_pm(base, u, h->pm, sizeof(h->pm));
	subscription_row(u, pid, h->sub, sizeof(h->sub));
}

struct id_call {
	const char *method, *prefix, *id, *suffix, *json;	/* id NULL: the owner's user id */
};

static void
test_other_users_ids(void)
{
	long long pid = itest_product(1500, "one_time", 1);

	for (size_t i = 0; i < nurls; i++) {
		const char *b = urls[i];
		struct itest_user owner, other;
		struct itest_response r;
		struct holdings h;
		char path[256], body[256], want[64], own_pi[128];
		char before[ROWS_LEN], after[ROWS_LEN];
		struct id_call calls[16];
		size_t n = 0;

		itest_signup(b, "owner", &owner);
		itest_signup(b, "other", &other);
		hold(b, &owner, pid, &h);
		itest_new_intent(b, &other, pid, 1, own_pi, sizeof(own_pi));
		(void)snprintf(want, sizeof(want), "%lld", h.order);
		(void)snprintf(body, sizeof(body), "{\"paymentMethodId\":\"%s\"}", h.pm);

#define CALL(m, pre, i_, post, j) calls[n++] = (struct id_call){ m, pre, i_, post, j }
		CALL("GET", "/v1/users/", NULL, "", NULL);
		CALL("PATCH", "/v1/users/", NULL, "", "{\"name\":\"Taken Over\"}");
		CALL("DELETE", "/v1/users/", NULL, "", NULL);
		CALL("GET", "/v1/payments/intents/", h.open_pi, "", NULL);
		CALL("GET", "/v1/payments/intents/", h.open_pi, "/events", NULL);
		CALL("POST", "/v1/payments/intents/", h.open_pi, "/confirm",
		    "{\"paymentMethodId\":\"pm_card_visa\"}");
		CALL("POST", "/v1/payments/intents/", h.open_pi, "/cancel", NULL);
		CALL("POST", "/v1/payments/intents/", h.paid_pi, "/refunds", "{}");
		CALL("GET", "/v1/orders/", want, "", NULL);
		CALL("POST", "/v1/subscriptions/", h.sub, "/cancel", "{\"atPeriodEnd\":false}");
		CALL("DELETE", PMS "/", h.pm, "", NULL);
		CALL("PATCH", "/v1/payments/customer/default-payment-method", "", "", body);
		/* The owner's saved card, on the other's own intent, or attached to them. */
		CALL("POST", "/v1/payments/intents/", own_pi, "/confirm", body);
		CALL("POST", PMS, "", "", body);
#undef CALL
		owned_rows(owner.id, before, sizeof(before));
		for (size_t k = 0; k < n; k++) {
			char uid[32];
			bool admin_only = calls[k].id == NULL || strcmp(calls[k].suffix, "/refunds") == 0;
			/* Attaching says the card is taken (README, "Payment methods"): 409. */
			bool attach = strcmp(calls[k].method, "POST") == 0 &&
			    strcmp(calls[k].prefix, PMS) == 0;

			(void)snprintf(uid, sizeof(uid), "%lld", owner.id);
			(void)snprintf(path, sizeof(path), "%s%s%s", calls[k].prefix,
			    calls[k].id != NULL ? calls[k].id : uid, calls[k].suffix);
			/*
			 * /v1/users/{id} and refunds are for admins (or oneself): 403 before any
			 * lookup, so the answer is the same for an id that does not exist.
			 */
			call_expect(calls[k].method, b, path, other.token, calls[k].json,
			    admin_only ? 403 : attach ? 409 : 404,
			    admin_only ? "forbidden" : attach ? "payment_method_in_use" : "not_found");
			if (admin_only) {
				(void)snprintf(path, sizeof(path), "%s%s%s", calls[k].prefix,
				    calls[k].id != NULL ? "pi_doesnotexist0000000000" : "999999999",
				    calls[k].suffix);
				call_expect(calls[k].method, b, path, other.token, calls[k].json, 403,
				    "forbidden");
			}
		}
		/* A list's cursor of the owner's answers as one that exists nowhere. */
		{
			const char *cursors[][3] = {	/* list, the owner's row, no one's */
				{ "/v1/payments/intents", h.open_pi, "pi_doesnotexist0000000000" },
				{ "/v1/orders", want, "999999999" },
			};

			for (size_t k = 0; k < 2; k++) {
				char answers[2][64];

				for (size_t j = 0; j < 2; j++) {
					(void)snprintf(path, sizeof(path), "%s?startingAfter=%s",
					    cursors[k][0], cursors[k][1 + j]);
					itest_api("GET", b, path, other.token, NULL, &r);
					(void)snprintf(answers[j], sizeof(answers[j]), "%ld %s", r.status,
					    itest_s(itest_json_str(&r, "error.code")));
					itest_response_free(&r);
				}
				ITEST_STR_EQ(answers[0], answers[1]);
				CU_ASSERT(strncmp(answers[0], "200", 3) != 0);
			}
		}
		owned_rows(owner.id, after, sizeof(after));
		ITEST_STR_EQ(after, before);
		/* Stripe was not asked either: the method is still the owner's, the intent open. */
		itest_emulator_object("payment_methods", h.pm, &r);
		ITEST_STR_EQ(itest_json_str(&r, "customer"), owner.customer);
		itest_response_free(&r);
		itest_emulator_object("payment_intents", h.open_pi, &r);
		ITEST_STR_EQ(itest_json_str(&r, "status"), "requires_payment_method");
		itest_response_free(&r);
		itest_emulator_object("payment_intents", own_pi, &r);
		ITEST_STR_EQ(itest_json_str(&r, "status"), "requires_payment_method");
		CU_ASSERT_PTR_NULL(itest_json_str(&r, "payment_method"));
		itest_response_free(&r);
		/*
		 * Idempotency keys are the caller's own: another user sending the owner's key
		 * with the same body gets an intent of their own, never the owner's answer.
		 */
		{
			char key[64], json[128], mine[128], theirs[128];

			(void)snprintf(key, sizeof(key), "hostile-%lld-%zu", itest_now_ms(), i);
			(void)snprintf(json, sizeof(json), "{\"productId\":%lld,\"quantity\":1}", pid);
			itest_post_keyed(b, "/v1/payments/intents", owner.token, key, json, &r);
			CU_ASSERT_EQUAL(r.status, 201);
			itest_copy(mine, sizeof(mine), itest_json_str(&r, "data.id"));
			itest_response_free(&r);
			itest_post_keyed(b, "/v1/payments/intents", other.token, key, json, &r);
			CU_ASSERT_EQUAL(r.status, 201);
			itest_copy(theirs, sizeof(theirs), itest_json_str(&r, "data.id"));
			itest_response_free(&r);
			ITEST_STR_NE(theirs, mine);
			CU_ASSERT_EQUAL(itest_sql_num("SELECT user_id FROM payment_intents WHERE "
			    "stripe_id = '%s'", mine), owner.id);
			CU_ASSERT_EQUAL(itest_sql_num("SELECT user_id FROM payment_intents WHERE "
			    "stripe_id = '%s'", theirs), other.id);
		}
		/* The owner still reaches all of it. */
		(void)snprintf(path, sizeof(path), "/v1/payments/intents/%s", h.open_pi);
		CU_ASSERT_EQUAL(itest_api_status("GET", b, path, owner.token, NULL), 200);
		(void)snprintf(path, sizeof(path), "/v1/orders/%lld", h.order);
		CU_ASSERT_EQUAL(itest_api_status("GET", b, path, owner.token, NULL), 200);
	}
}

/* ---- mass assignment ---- */

/* Members nobody may set, added to an otherwise valid body. */
#define EXTRA "\"id\":1,\"email_verified\":true,\"isEmailVerified\":true,\"role\":\"admin\"," \
	"\"stripe_customer_id\":\"cus_evil\",\"amount\":1,\"status\":\"paid\",\"user_id\":1"

struct body_call {
	const char *method, *path, *json;
};

static void
test_mass_assignment(void)
{
	long long pid = itest_product(2500, "one_time", 1);

	for (size_t i = 0; i < nurls; i++) {
		const char *b = urls[i];
		struct itest_user u, admin;
		struct itest_response r;
		struct holdings h;
		char email[128], uid[32];
		char before[ROWS_LEN], after[ROWS_LEN];
		struct body_call calls[20];
		char bodies[20][512], paths[20][256], tmp[256];
		size_t n = 0;

		itest_signup(b, "mass", &u);
		itest_signup(b, "massadmin", &admin);
		itest_sqlf(uid, sizeof(uid), "UPDATE users SET role = 'admin' WHERE id = %lld",
		    admin.id);
		hold(b, &u, pid, &h);
		itest_unique_email(email, sizeof(email), "massnew");
		(void)snprintf(uid, sizeof(uid), "%lld", u.id);

#define CALL(m, p, ...) do { \
		(void)snprintf(paths[n], sizeof(paths[n]), "%s", p); \
		(void)snprintf(bodies[n], sizeof(bodies[n]), __VA_ARGS__); \
		calls[n] = (struct body_call){ m, paths[n], bodies[n] }; \
		n++; \
	} while (0)
		CALL("POST", "/v1/users", "{\"name\":\"Mass\",\"email\":\"%s\",\"password\":\""
		    ITEST_PASSWORD "\"," EXTRA "}", email);
		CALL("POST", "/v1/auth/login", "{\"email\":\"%s\",\"password\":\"" ITEST_PASSWORD
		    "\"," EXTRA "}", u.email);
		CALL("PATCH", "/v1/users/me", "{\"name\":\"Renamed\"," EXTRA "}");
		(void)snprintf(tmp, sizeof(tmp), "/v1/users/%s", uid);
		CALL("PATCH", tmp, "{\"name\":\"Renamed\"," EXTRA "}");
		CALL("POST", "/v1/users/me/password", "{\"currentPassword\":\"" ITEST_PASSWORD
		    "\",\"newPassword\":\"another horse battery\"," EXTRA "}");
		CALL("POST", "/v1/payments/intents", "{\"productId\":%lld,\"quantity\":1," EXTRA "}",
		    pid);
		(void)snprintf(tmp, sizeof(tmp), "/v1/payments/intents/%s/confirm", h.open_pi);
		CALL("POST", tmp, "{\"paymentMethodId\":\"pm_card_visa\"," EXTRA "}");
		(void)snprintf(tmp, sizeof(tmp), "/v1/payments/intents/%s/refunds", h.paid_pi);
		CALL("POST", tmp, "{\"reason\":\"requested_by_customer\"," EXTRA "}");
		CALL("POST", "/v1/checkout/sessions", "{\"productId\":%lld,\"quantity\":1,"
		    "\"mode\":\"payment\"," EXTRA "}", pid);
		CALL("POST", "/v1/billing-portal/sessions", "{" EXTRA "}");
		(void)snprintf(tmp, sizeof(tmp), "/v1/subscriptions/%s/cancel", h.sub);
		CALL("POST", tmp, "{\"atPeriodEnd\":true," EXTRA "}");
		CALL("POST", PMS, "{\"paymentMethodId\":\"%s\"," EXTRA "}", h.pm);
		CALL("PATCH", "/v1/payments/customer/default-payment-method",
		    "{\"paymentMethodId\":\"%s\"," EXTRA "}", h.pm);
		CALL("POST", "/v1/payments/customer/setup-intents", "{\"usage\":\"off_session\","
		    EXTRA "}");
#undef CALL
		owned_rows(u.id, before, sizeof(before));
		for (size_t k = 0; k < n; k++) {
			char what[300];
			/* Refunds are for admins: an admin's extra fields are refused as well. */
			const char *token = strstr(calls[k].path, "/refunds") != NULL ? admin.token :
			    u.token;

			(void)snprintf(what, sizeof(what), "%s %s%s", calls[k].method, b,
			    calls[k].path);
			itest_api(calls[k].method, b, calls[k].path, token, calls[k].json, &r);
			expect(&r, 422, "invalid_fields", what);
			/* The answer names the members refused. */
			CU_ASSERT_PTR_NOT_NULL(itest_json_str(&r, "error.fields.user_id"));
			CU_ASSERT_PTR_NOT_NULL(itest_json_str(&r, "error.fields.stripe_customer_id"));
			itest_response_free(&r);
		}
		owned_rows(u.id, after, sizeof(after));
		ITEST_STR_EQ(after, before);
		CU_ASSERT_EQUAL(itest_sql_num("SELECT COUNT(*) FROM users WHERE email = '%s'",
		    email), 0);
		/* As a form too: the signup a browser posts. */
		{
			const char *fh[] = { "Content-Type: application/x-www-form-urlencoded", NULL };
			char url[512], form[512];

			(void)snprintf(url, sizeof(url), "%s/v1/users", b);
			(void)snprintf(form, sizeof(form), "name=Mass&email=%s&password=correct+horse"
			    "+battery&role=admin&user_id=1&stripe_customer_id=cus_evil", email);
			CU_ASSERT_FATAL(itest_request("POST", url, fh, form, strlen(form), &r));
			expect(&r, 422, "invalid_fields", "form signup with extra fields");
			CU_ASSERT_PTR_NOT_NULL(itest_json_str(&r, "error.fields.role"));
			itest_response_free(&r);
			CU_ASSERT_EQUAL(itest_sql_num("SELECT COUNT(*) FROM users WHERE email = '%s'",
			    email), 0);
		}
	}
}

/* ---- hostile names ---- */

static const char *const names[] = {
	"Robert'); DROP TABLE users;-- \\\" % _ ` ; /* */ OR 1=1 #",
	"Zo\xc3\xab \xf0\x9f\x98\x80\xf0\x9f\x8e\x89 \xf0\x9d\x84\x9e \xf0\x9f\x91\xa9\xe2\x80\x8d"
	    "\xf0\x9f\x92\xbb",
	"\xe2\x80\xae" "evil" "\xe2\x80\xac \xd7\xa9\xd7\x9c\xd7\x95\xd7\x9d \xe2\x80\x8f" "abc"
	    "\xe2\x80\x8e \xe2\x81\xa6x\xe2\x81\xa9",
};

/* Writes s into out as a JSON string (names hold quotes and backslashes). */
static void
json_string(const char *s, char *out, size_t len)
{
	struct json_object *o = json_object_new_string(s);

	(void)snprintf(out, len, "%s", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
	json_object_put(o);
}

/* users.name of id, exactly, compared byte for byte through HEX(). */
static void
stored_name_is(long long id, const char *want)
{
	char hex[1024], got[1024];
	size_t k;

	for (k = 0; want[k] != '\0' && 2 * k + 2 < sizeof(hex); k++)
		(void)snprintf(hex + 2 * k, 3, "%02X", (unsigned char)want[k]);
	hex[2 * k] = '\0';
	itest_sqlf(got, sizeof(got), "SELECT HEX(name) FROM users WHERE id = %lld", id);
	ITEST_STR_EQ(got, hex);
}

static void
test_names_round_trip(void)
{
	for (size_t i = 0; i < nurls; i++) {
		const char *b = urls[i];

		for (size_t k = 0; k < sizeof(names) / sizeof(names[0]); k++) {
			const char *next = names[(k + 1) % (sizeof(names) / sizeof(names[0]))];
			struct itest_response r;
			char email[128], qn[512], body[1024], token[1024];
			long long id;

			itest_unique_email(email, sizeof(email), "names");
			json_string(names[k], qn, sizeof(qn));
			(void)snprintf(body, sizeof(body), "{\"name\":%s,\"email\":\"%s\","
			    "\"password\":\"" ITEST_PASSWORD "\"}", qn, email);
			itest_api("POST", b, "/v1/users", NULL, body, &r);
			CU_ASSERT_EQUAL_FATAL(r.status, 201);
			ITEST_STR_EQ(itest_json_str(&r, "data.user.name"), names[k]);
			id = itest_json_int(&r, "data.user.id", 0);
			itest_copy(token, sizeof(token), itest_json_str(&r, "data.access_token"));
			itest_response_free(&r);
			stored_name_is(id, names[k]);
			itest_api("GET", b, "/v1/users/me", token, NULL, &r);
			ITEST_STR_EQ(itest_json_str(&r, "data.user.name"), names[k]);
			itest_response_free(&r);
			/* The users table is still there, and the name changes to the next one. */
			json_string(next, qn, sizeof(qn));
			(void)snprintf(body, sizeof(body), "{\"name\":%s}", qn);
			itest_api("PATCH", b, "/v1/users/me", token, body, &r);
			CU_ASSERT_EQUAL(r.status, 200);
			ITEST_STR_EQ(itest_json_str(&r, "data.user.name"), next);
			itest_response_free(&r);
			stored_name_is(id, next);
			itest_api("GET", b, "/v1/users/me", token, NULL, &r);
			ITEST_STR_EQ(itest_json_str(&r, "data.user.name"), next);
			itest_response_free(&r);
		}
	}
}

/* ---- malformed text ---- */

static void
test_bad_utf8_and_nul(void)
{
	/* Raw bodies: invalid sequences, overlong '/', a surrogate, NUL raw and escaped. */
	static const struct {
		const char *body;
		size_t len;
	} bad[] = {
#define B(s) { s, sizeof(s) - 1 }
		B("{\"name\":\"bad \xc3\x28\",\"email\":\"%s\",\"password\":\"" ITEST_PASSWORD "\"}"),
		B("{\"name\":\"over \xc0\xaf\",\"email\":\"%s\",\"password\":\"" ITEST_PASSWORD "\"}"),
		B("{\"name\":\"sur \xed\xa0\x80\",\"email\":\"%s\",\"password\":\"" ITEST_PASSWORD
		    "\"}"),
		B("{\"name\":\"cut \xf0\x9f\x98\",\"email\":\"%s\",\"password\":\"" ITEST_PASSWORD
		    "\"}"),
		B("{\"name\":\"nul \\u0000 here\",\"email\":\"%s\",\"password\":\"" ITEST_PASSWORD
		    "\"}"),
		B("{\"name\":\"raw \0 nul\",\"email\":\"%s\",\"password\":\"" ITEST_PASSWORD "\"}"),
		B("{\"name\":\"lone \\ud800\",\"email\":\"%s\",\"password\":\"" ITEST_PASSWORD "\"}"),
#undef B
	};
	/* Forms: what comes before the email, and after it. */
	static const char *const forms[][2] = {
		{ "name=bad%C3%28&email=", "&password=correct+horse+battery" },
		{ "name=nul%00x&email=", "&password=correct+horse+battery" },
		{ "name=ok&email=", "%00&password=correct+horse+battery" },
	};

	for (size_t i = 0; i < nurls; i++) {
		const char *b = urls[i];
		const char *jh[] = { "Content-Type: application/json", NULL };
		const char *fh[] = { "Content-Type: application/x-www-form-urlencoded", NULL };
		struct itest_user u;
		struct itest_response r;
		char url[512], email[128], body[512], before[ROWS_LEN], after[ROWS_LEN];

		(void)snprintf(url, sizeof(url), "%s/v1/users", b);
		for (size_t k = 0; k < sizeof(bad) / sizeof(bad[0]); k++) {
			const char *hole = NULL;
			size_t len;

			/* The email goes in by hand: snprintf would stop at the raw NUL. */
			itest_unique_email(email, sizeof(email), "utf8");
			for (size_t j = 0; j + 1 < bad[k].len; j++) {
				if (bad[k].body[j] == '%' && bad[k].body[j + 1] == 's') {
					hole = bad[k].body + j;
					break;
				}
			}
			CU_ASSERT_PTR_NOT_NULL_FATAL(hole);
			len = (size_t)(hole - bad[k].body);
			memcpy(body, bad[k].body, len);
			memcpy(body + len, email, strlen(email));
			memcpy(body + len + strlen(email), hole + 2, bad[k].len - len - 2);
			len = bad[k].len - 2 + strlen(email);
			CU_ASSERT_FATAL(itest_request("POST", url, jh, body, len, &r));
			expect(&r, 400, "bad_request", "malformed JSON text");
			itest_response_free(&r);
			CU_ASSERT_EQUAL(itest_sql_num("SELECT COUNT(*) FROM users WHERE email = '%s'",
			    email), 0);
		}
		for (size_t k = 0; k < sizeof(forms) / sizeof(forms[0]); k++) {
			itest_unique_email(email, sizeof(email), "utf8f");
			(void)snprintf(body, sizeof(body), "%s%s%s", forms[k][0], email, forms[k][1]);
			CU_ASSERT_FATAL(itest_request("POST", url, fh, body, strlen(body), &r));
			expect(&r, 400, "bad_request", "malformed form text");
			itest_response_free(&r);
			CU_ASSERT_EQUAL(itest_sql_num("SELECT COUNT(*) FROM users WHERE email LIKE "
			    "'%s%%'", email), 0);
		}
		/* And on a PATCH: the name stays what it was. */
		itest_signup(b, "utf8p", &u);
		owned_rows(u.id, before, sizeof(before));
		(void)snprintf(url, sizeof(url), "%s/v1/users/me", b);
		{
			char auth[1200];
			const char *h[] = { "Content-Type: application/json", auth, NULL };
			static const char patch[] = "{\"name\":\"a\0b\"}";
			static const char patch2[] = "{\"name\":\"\xff\xfe\"}";

			(void)snprintf(auth, sizeof(auth), "Authorization: Bearer %s", u.token);
			CU_ASSERT_FATAL(itest_request("PATCH", url, h, patch, sizeof(patch) - 1, &r));
			expect(&r, 400, "bad_request", "PATCH with a raw NUL");
			itest_response_free(&r);
			CU_ASSERT_FATAL(itest_request("PATCH", url, h, patch2, sizeof(patch2) - 1, &r));
			expect(&r, 400, "bad_request", "PATCH with invalid UTF-8");
			itest_response_free(&r);
		}
		owned_rows(u.id, after, sizeof(after));
		ITEST_STR_EQ(after, before);
		/* In a query: 422 naming the parameter. */
		{
			static const char *const queries[] = {
				"/v1/orders?startingAfter=%00", "/v1/orders?startingAfter=%C3%28",
				"/v1/products?startingAfter=%FF", "/v1/payments/intents?startingAfter=%00x",
				"/v1/subscriptions?startingAfter=%ED%A0%80",
			};

			for (size_t k = 0; k < sizeof(queries) / sizeof(queries[0]); k++) {
				itest_api("GET", b, queries[k], u.token, NULL, &r);
				expect(&r, 422, "invalid_fields", queries[k]);
				CU_ASSERT_PTR_NOT_NULL(itest_json_str(&r, "error.fields.startingAfter"));
				itest_response_free(&r);
			}
		}
		/*
		 * In a path: nginx refuses an encoded NUL itself (400, in paybridge's JSON shape);
		 * Apache too, but with its own HTML 404 (etc/apache maps no 404 to JSON). Neither
		 * hands it to paybridge.
		 */
		itest_api("GET", b, "/v1/orders/1%00", u.token, NULL, &r);
		if (is_apache(b)) {
			CU_ASSERT_EQUAL(r.status, 404);
		} else {
			expect(&r, 400, "bad_request", "NUL in a path");
		}
		itest_response_free(&r);
	}
}

/* ---- log injection ---- */

/* Reads the stack's paybridge log into a new string (the caller frees it). */
static char *
server_log(void)
{
	char path[1024];
	FILE *f;
	char *p = NULL;
	size_t n = 0, cap = 0, k;

	(void)snprintf(path, sizeof(path), "%s/paybridge.log", itest_env("PB_RUN"));
	f = fopen(path, "r");
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	do {
		if (n + 4096 + 1 > cap) {
			char *q = realloc(p, cap = cap * 2 + 65536);

			CU_ASSERT_PTR_NOT_NULL_FATAL(q);
			p = q;
		}
		k = fread(p + n, 1, cap - n - 1, f);
		n += k;
	} while (k > 0);
	(void)fclose(f);
	p[n] = '\0';
	return p;
}

/*
 * Counts the log's lines holding mark. Each of them, and each line holding the injected
 * text (which a split line would start with, without the mark), must be one whole JSON
 * object with no raw CR.
 */
static size_t
marked_lines(const char *mark)
{
	char *log = server_log(), *line = log, *end;
	size_t n = 0;

	for (; line != NULL && *line != '\0'; line = end != NULL ? end + 1 : NULL) {
		struct json_object *o;
		bool ok;

		end = strchr(line, '\n');
		if (end != NULL)
			*end = '\0';
		if (strstr(line, mark) != NULL)
			n++;
		else if (strstr(line, "INJECTED") == NULL)
			continue;
		o = json_tokener_parse(line);
		ok = line[0] == '{' && strchr(line, '\r') == NULL && o != NULL &&
		    json_object_is_type(o, json_type_object) &&
		    json_object_object_get_ex(o, "msg", NULL);
		if (!ok)
			fprintf(stderr, "log line is not one JSON object: %.300s\n", line);
		CU_ASSERT(ok);
		json_object_put(o);
	}
	free(log);
	return n;
}

static void
test_log_injection(void)
{
	for (size_t i = 0; i < nurls; i++) {
		const char *b = urls[i];
		struct itest_response r;
		char mark[64], path[512], body[1024], email[128];
		long long t = (long long)time(NULL);

		(void)snprintf(mark, sizeof(mark), "logmark%d_%lld_%zu", (int)getpid(),
		    itest_now_ms(), i);
		/* A path (logged as sent) with CR, LF and a forged line, percent-encoded. */
		(void)snprintf(path, sizeof(path), "/v1/users/%s%%0D%%0AINJECTED%%7B%%22level"
		    "%%22%%3A%%22error%%22%%7D%%0A", mark);
		itest_api("GET", b, path, NULL, NULL, &r);
		CU_ASSERT_EQUAL(r.status, 401);
		itest_response_free(&r);
		(void)snprintf(path, sizeof(path), "/v1/nothing/%s%%0d%%0aINJECTED", mark);
		itest_api("GET", b, path, NULL, NULL, &r);
		expect(&r, 404, "not_found", "injected path");
		itest_response_free(&r);
		/* A signed Stripe event whose id and type (both logged) carry CR/LF. */
		(void)snprintf(body, sizeof(body), "{\"id\":\"evt_%s\\r\\nINJECTED {\\\"level\\\":1}\","
		    "\"object\":\"event\",\"type\":\"%s.thing\\r\\nINJECTED\",\"created\":%lld,"
		    "\"livemode\":false,\"data\":{\"object\":{\"id\":\"x_1\",\"object\":\"thing\"}}}",
		    mark, mark, t);
		itest_deliver_at(b, body, strlen(body), t, &r);
		CU_ASSERT(r.status >= 200 && r.status < 500);
		itest_response_free(&r);
		/* An email with CR/LF in a login (the login log names a tag, not the address). */
		(void)snprintf(email, sizeof(email), "%s\\r\\nINJECTED@example.com", mark);
		(void)snprintf(body, sizeof(body), "{\"email\":\"%s\",\"password\":\"x\"}", email);
		itest_api("POST", b, "/v1/auth/login", NULL, body, &r);
		CU_ASSERT_EQUAL(r.status, 401);
		itest_response_free(&r);
		/* The path and the event were logged: polled, as workers write their own lines. */
		{
			long long give_up = itest_now_ms() + ITEST_WAIT_MS;
			size_t n;

			while ((n = marked_lines(mark)) < 3 && itest_now_ms() < give_up)
				itest_sleep_ms(100);
			CU_ASSERT(n >= 3);
		}
	}
}

/* ---- oversized requests ---- */

#ifdef __SANITIZE_ADDRESS__
#define RSS_SLACK 3
#else
#define RSS_SLACK 1
#endif

/* Resident set sizes, in KiB, of the pool's processes, summed and the largest one. */
static void
pool_rss(long long *sum, long long *max)
{
	int pids[64];
	size_t n = itest_children(itest_master_pid(), pids, 64);

	*sum = *max = 0;
	for (size_t k = 0; k < n; k++) {
		char path[64], line[256];
		FILE *f;

		(void)snprintf(path, sizeof(path), "/proc/%d/status", pids[k]);
		f = fopen(path, "r");
		if (f == NULL)
			continue;
		while (fgets(line, sizeof(line), f) != NULL) {
			if (strncmp(line, "VmRSS:", 6) == 0) {
				long long kb = strtoll(line + 6, NULL, 10);

				*sum += kb;
				if (kb > *max)
					*max = kb;
			}
		}
		(void)fclose(f);
	}
	CU_ASSERT(n > 0 && *sum > 0);
}

/* A buffer of n bytes: head, then fill repeated, then tail (the caller frees it). */
static char *
big(const char *head, const char *fill, size_t n, const char *tail, size_t *len)
{
	size_t hl = strlen(head), fl = strlen(fill), tl = strlen(tail), k;
	char *p = malloc(hl + n * fl + tl + 1);

	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	memcpy(p, head, hl);
	for (k = 0; k < n; k++)
		memcpy(p + hl + k * fl, fill, fl);
	memcpy(p + hl + n * fl, tail, tl);
	*len = hl + n * fl + tl;
	p[*len] = '\0';
	return p;
}

/* POSTs body to base+path with content type ct; expects status and code. */
static void
post_expect(const char *base, const char *path, const char *ct, const char *const *more,
    const char *body, size_t len, long status, const char *code, const char *what)
{
	const char *h[8] = { ct };
	struct itest_response r;
	char url[512];
	size_t n = 1;

	for (size_t k = 0; more != NULL && more[k] != NULL && n < 7; k++)
		h[n++] = more[k];
	h[n] = NULL;
	(void)snprintf(url, sizeof(url), "%s%s", base, path);
	CU_ASSERT_FATAL(itest_request("POST", url, h, body, len, &r));
	expect(&r, status, code, what);
	itest_response_free(&r);
}

static void
test_oversized(void)
{
	long long sum0, max0, sum1, max1;

	pool_rss(&sum0, &max0);
	for (size_t i = 0; i < nurls; i++) {
		const char *b = urls[i];
		const char *json = "Content-Type: application/json";
		const char *form = "Content-Type: application/x-www-form-urlencoded";
		bool apache = is_apache(b);
		char email[128], head[256];
		char *p;
		const char *more[2] = { NULL, NULL };
		size_t len;

		itest_unique_email(email, sizeof(email), "big");
		/* 1 MB of password: under the web servers' 1 MiB, over paybridge's max_body_bytes. */
		(void)snprintf(head, sizeof(head), "{\"name\":\"Big\",\"email\":\"%s\",\"password\":\"",
		    email);
		p = big(head, "p", 1000000, "\"}", &len);
		post_expect(b, "/v1/users", json, NULL, p, len, 413, "payload_too_large",
		    "1 MB password");
		free(p);
		/* A long password that fits the body is refused before any hashing: 422. */
		p = big(head, "p", 60000, "\"}", &len);
		post_expect(b, "/v1/users", json, NULL, p, len, 422, "invalid_fields",
		    "60 kB password");
		free(p);
		p = big("{\"email\":\"x@example.com\",\"password\":\"", "p", 60000, "\"}", &len);
		post_expect(b, "/v1/auth/login", json, NULL, p, len, 401, "invalid_credentials",
		    "60 kB password at login");
		free(p);
		/* 10 MB: the web server refuses it before paybridge reads a byte. */
		p = big("{\"a\":\"", "0123456789", 1000000, "\"}", &len);
		post_expect(b, "/v1/users", json, NULL, p, len, 413, "payload_too_large", "10 MB body");
		free(p);
		/* A 64 KiB header: nginx says 431, Apache 400 (it tells no header from another). */
		p = big("X-Padding: ", "h", 65536, "", &len);
		more[0] = p;
		post_expect(b, "/v1/users", json, more, "{}", 2, apache ? 400 : 431,
		    apache ? "bad_request" : "request_header_too_large", "64 KiB header");
		free(p);
		/* 10,000 form fields: more than FORM_FIELDS_MAX (256), malformed, 400. */
		p = big("", "a=1&", 10000, "z=1", &len);
		post_expect(b, "/v1/users", form, NULL, p, len, 400, "bad_request",
		    "10,000 form fields");
		free(p);
		/* JSON 10,000 deep: past json_max_depth (32), 400; arrays and objects alike. */
		{
			size_t n = 10000, k;
			char *q = malloc(6 * n + 2);

			CU_ASSERT_PTR_NOT_NULL_FATAL(q);
			for (k = 0; k < n; k++)
				memcpy(q + 5 * k, "{\"a\":", 5);
			q[5 * n] = '1';
			memset(q + 5 * n + 1, '}', n);
			post_expect(b, "/v1/users", json, NULL, q, 6 * n + 1, 400, "bad_request",
			    "objects 10,000 deep");
			memset(q, '[', n);
			memset(q + n, ']', n);
			post_expect(b, "/v1/users", json, NULL, q, 2 * n, 400, "bad_request",
			    "arrays 10,000 deep");
			free(q);
		}
		/* A form key with 10,000 brackets: as deep, as refused. */
		p = big("a", "[b]", 10000, "=1", &len);
		post_expect(b, "/v1/users", form, NULL, p, len, 400, "bad_request",
		    "form key 10,000 deep");
		free(p);
		CU_ASSERT_EQUAL(itest_sql_num("SELECT COUNT(*) FROM users WHERE email = '%s'",
		    email), 0);
	}
	pool_rss(&sum1, &max1);
	fprintf(stderr, "pool RSS: %lld KiB before, %lld KiB after (largest process %lld -> "
	    "%lld KiB)\n", sum0, sum1, max0, max1);
	/*
	 * Generous: a worker that read a 10 MB body, or built a 10,000-deep tree, shows.
	 * Under ASan freed memory waits in its quarantine, so the pool grows by tens of
	 * MiB for nothing: thrice the bounds there.
	 */
	CU_ASSERT(max1 - max0 < RSS_SLACK * 16 * 1024);
	CU_ASSERT(sum1 - sum0 < RSS_SLACK * 64 * 1024);
}

/* ---- login guessing behind forged client addresses ---- */

#define ATTACKER "127.0.0.2"
#define OWNER "127.0.0.1"

/* POST /v1/auth/login from source with the extra headers; the answer into r. */
static void
login_from(const char *source, const char *base, const char *email, const char *password,
    const char *const *more, struct itest_response *r)
{
	const char *h[8] = { "Content-Type: application/json" };
	char url[512], body[512];
	size_t n = 1;

	for (size_t k = 0; more != NULL && more[k] != NULL && n < 7; k++)
		h[n++] = more[k];
	h[n] = NULL;
	(void)snprintf(url, sizeof(url), "%s/v1/auth/login", base);
	(void)snprintf(body, sizeof(body), "{\"email\":\"%s\",\"password\":\"%s\"}", email,
	    password);
	CU_ASSERT_FATAL(itest_request_from(source, "POST", url, h, body, strlen(body), r));
}

/* True once the log has a line holding both a and b. */
static bool
log_has_line(const char *a, const char *b)
{
	long long give_up = itest_now_ms() + ITEST_WAIT_MS;

	do {
		char *log = server_log(), *line, *end;
		bool found = false;

		for (line = log; !found && line != NULL && *line != '\0';
		    line = end != NULL ? end + 1 : NULL) {
			end = strchr(line, '\n');
			if (end != NULL)
				*end = '\0';
			found = strstr(line, a) != NULL && strstr(line, b) != NULL;
		}
		free(log);
		if (found)
			return true;
		itest_sleep_ms(100);
	} while (itest_now_ms() < give_up);
	return false;
}

static void
test_login_guessing_spoofed(void)
{
	for (size_t i = 0; i < nurls; i++) {
		const char *b = urls[i];
		struct itest_user u;
		struct itest_response r;
		char xff[64], real[64], fwd[96], ra[64], retry[32] = "";
		const char *spoof[] = { xff, real, fwd, ra, NULL };
		long long give_up;
		int k;

		itest_signup(b, "guess", &u);
		/* Five failures pass, each claiming another client; the sixth try is throttled. */
		for (k = 0; k < 6; k++) {
			(void)snprintf(xff, sizeof(xff), "X-Forwarded-For: 10.9.%d.%d", k, (int)i);
			(void)snprintf(real, sizeof(real), "X-Real-IP: 10.8.%d.%d", k, (int)i);
			(void)snprintf(fwd, sizeof(fwd), "Forwarded: for=10.7.%d.%d", k, (int)i);
			(void)snprintf(ra, sizeof(ra), "Remote-Addr: 10.6.%d.%d", k, (int)i);
			login_from(ATTACKER, b, u.email, k < 5 ? "guess one" : ITEST_PASSWORD, spoof,
			    &r);
			if (k < 5)
				expect(&r, 401, "invalid_credentials", "guess");
			else
				expect(&r, 429, "too_many_requests", "guess past the throttle");
			if (k == 5) {
				CU_ASSERT_TRUE(itest_header(&r, "Retry-After", retry, sizeof(retry)));
				CU_ASSERT(strtol(retry, NULL, 10) >= 1);
			}
			itest_response_free(&r);
		}
		/* Counted against the address the web server saw, never a forged one. */
		CU_ASSERT_EQUAL(itest_sql_num("SELECT failures FROM login_throttle WHERE "
		    "email_normalized = LOWER('%s') AND client = '" ATTACKER "'", u.email), 5);
		CU_ASSERT_EQUAL(itest_sql_num("SELECT COUNT(*) FROM login_throttle WHERE "
		    "email_normalized = LOWER('%s') AND client NOT IN ('', '" ATTACKER "')",
		    u.email), 0);
		CU_ASSERT_TRUE(log_has_line("\"login throttled\"", "\"client\":\"" ATTACKER "\""));
		/* The owner, elsewhere, is not locked out meanwhile. */
		login_from(OWNER, b, u.email, ITEST_PASSWORD, NULL, &r);
		CU_ASSERT_EQUAL(r.status, 200);
		itest_response_free(&r);
		/* And from the throttled address, once the block lapses (polled). */
		give_up = itest_now_ms() + ITEST_WAIT_MS;
		do {
			login_from(ATTACKER, b, u.email, ITEST_PASSWORD, spoof, &r);
			if (r.status != 429)
				break;
			itest_response_free(&r);
			itest_sleep_ms(200);
		} while (itest_now_ms() < give_up);
		CU_ASSERT_EQUAL(r.status, 200);
		CU_ASSERT_PTR_NOT_NULL(itest_json_str(&r, "data.access_token"));
		itest_response_free(&r);
	}
}

/* ---- headers a client may forge into FastCGI parameters ---- */

/* itest_api with every line of extra (any number; itest_api_with takes eight) sent too. */
static void
api_with_all(const char *method, const char *base, const char *path, const char *token,
    const char *const *extra, const char *json, struct itest_response *r)
{
	const char *h[24] = { "Content-Type: application/json" };
	char url[512], auth[1200];
	size_t n = 1;

	if (token != NULL) {
		(void)snprintf(auth, sizeof(auth), "Authorization: Bearer %s", token);
		h[n++] = auth;
	}
	for (size_t k = 0; extra[k] != NULL; k++) {
		CU_ASSERT_FATAL(n + 1 < sizeof(h) / sizeof(h[0]));
		h[n++] = extra[k];
	}
	h[n] = NULL;
	(void)snprintf(url, sizeof(url), "%s%s", base, path);
	CU_ASSERT_FATAL(itest_request(method, url, h, json, json != NULL ? strlen(json) : 0, r));
}

static void
test_forged_params(void)
{
	for (size_t i = 0; i < nurls; i++) {
		const char *b = urls[i];
		struct itest_user a, other;
		struct itest_response r;
		char id[128], path[64], uid[64], role[64];
		const char *forged[] = {
			/* httpoxy: HTTP_PROXY must not become the Stripe client's proxy. */
			"Proxy: http://127.0.0.1:9/",
			"X-Request-Id: forged-request-id",
			/* The same names with '_': neither server passes such a header on. */
			"X_Request_Id: forged-underscored-id",
			"X-Request-Start: t=1",
			"X_Request_Start: t=1",
			uid, role,
			"Remote-User: admin",
			/* Method and URL overrides some frameworks honour. */
			"X-HTTP-Method-Override: DELETE",
			"X-Original-URL: /v1/users/me",
			NULL,
		};

		itest_signup(b, "forger", &other);
		(void)snprintf(uid, sizeof(uid), "Paybridge-User-Id: %lld", other.id);
		(void)snprintf(role, sizeof(role), "X-Paybridge-Role: admin");
		/* A signup through all of them still reaches Stripe directly: a customer made. */
		{
			char body[512], email[128];

			itest_unique_email(email, sizeof(email), "httpoxy");
			(void)snprintf(body, sizeof(body), "{\"name\":\"Proxy\",\"email\":\"%s\","
			    "\"password\":\"" ITEST_PASSWORD "\"}", email);
			api_with_all("POST", b, "/v1/users", NULL, forged, body, &r);
			CU_ASSERT_EQUAL_FATAL(r.status, 201);
			CU_ASSERT_TRUE(itest_header(&r, "X-Request-Id", id, sizeof(id)));
			ITEST_STR_NE(id, "forged-request-id");
			ITEST_STR_NE(id, "forged-underscored-id");
			CU_ASSERT_PTR_NOT_NULL(itest_json_str(&r, "data.user.stripeCustomerId"));
			ITEST_STR_EQ(itest_json_str(&r, "data.user.role"), "user");
			a.id = itest_json_int(&r, "data.user.id", 0);
			itest_copy(a.token, sizeof(a.token), itest_json_str(&r, "data.access_token"));
			itest_response_free(&r);
		}
		/* Not queued since 1970: served, not shed as too old. */
		api_with_all("GET", b, "/v1/users/me", a.token, forged, NULL, &r);
		CU_ASSERT_EQUAL(r.status, 200);
		ITEST_STR_EQ(itest_json_str(&r, "data.user.role"), "user");
		CU_ASSERT_EQUAL(itest_json_int(&r, "data.user.id", 0), a.id);
		itest_response_free(&r);
		/* No header makes anyone someone else, or an admin. */
		(void)snprintf(path, sizeof(path), "/v1/users/%lld", other.id);
		api_with_all("GET", b, path, a.token, forged, NULL, &r);
		expect(&r, 403, "forbidden", "another user with forged identity headers");
		itest_response_free(&r);
		api_with_all("GET", b, "/v1/users/me", NULL, forged, NULL, &r);
		expect(&r, 401, "unauthorized", "identity headers without a token");
		itest_response_free(&r);
		/* The GETs above carried a DELETE override: the account is still there. */
		CU_ASSERT_EQUAL(itest_sql_num("SELECT deleted_at IS NULL FROM users WHERE id = %lld",
		    a.id), 1);
		CU_ASSERT_EQUAL(itest_api_status("GET", b, "/v1/users/me", a.token, NULL), 200);
		/*
		 * /metrics is for this host: nginx allows 127.0.0.1, Apache `Require local`
		 * (all of 127/8). Whatever it answers another address, claiming to be
		 * 127.0.0.1 in X-Forwarded-For changes nothing.
		 */
		{
			const char *h[] = { "X-Forwarded-For: 127.0.0.1", "X-Real-IP: 127.0.0.1",
				"Forwarded: for=127.0.0.1", NULL };
			char url[512];
			long plain;

			(void)snprintf(url, sizeof(url), "%s/metrics", b);
			CU_ASSERT_FATAL(itest_request_from(ATTACKER, "GET", url, NULL, NULL, 0, &r));
			plain = r.status;
			itest_response_free(&r);
			CU_ASSERT_FATAL(itest_request_from(ATTACKER, "GET", url, h, NULL, 0, &r));
			CU_ASSERT_EQUAL(r.status, plain);
			itest_response_free(&r);
			if (!is_apache(b)) {
				CU_ASSERT_EQUAL(plain, 403);
			}
		}
	}
}

/* GETs url from source exactly as written (no dot-segment clean-up): status, body into r. */
static void
get_as_is(const char *source, const char *url, struct itest_response *r)
{
	struct itest_response tmp;
	CURL *c = curl_easy_init();
	char local[64];
	FILE *body;
	char *p = NULL;
	size_t n = 0;

	memset(r, 0, sizeof(*r));
	memset(&tmp, 0, sizeof(tmp));
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	body = open_memstream(&p, &n);
	CU_ASSERT_PTR_NOT_NULL_FATAL(body);
	(void)snprintf(local, sizeof(local), "host!%s", source);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_PATH_AS_IS, 1L);
	curl_easy_setopt(c, CURLOPT_INTERFACE, local);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, body);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 60L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	r->curl_code = (int)curl_easy_perform(c);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
	curl_easy_cleanup(c);
	(void)fclose(body);
	r->body = p;
	r->body_len = n;
	r->headers = strdup("");
	CU_ASSERT_EQUAL(r->curl_code, 0);
}

/*
 * The web servers keep /metrics for this host by its path; paybridge routes on the raw
 * REQUEST_URI. No spelling of the path reaches the metrics from elsewhere: either the web
 * server normalises it to /metrics and refuses it, or paybridge does not take it for
 * /metrics. (Apache's `Require local` admits all of 127/8, so from 127.0.0.2 only the
 * other spellings are tried there.)
 */
static void
test_metrics_path_confusion(void)
{
	static const char *const exact[] = { "/metrics", "/metrics?x=1" };
	static const char *const other[] = {
		"//metrics", "/v1/../metrics", "/v1/%2e%2e/metrics", "/v1/%2E%2E/metrics",
		"/./metrics", "/metrics/", "/metrics%2f", "/METRICS", "/metrics;x",
		"/v1/..%2fmetrics", "/%6detrics", "/v1/..;/metrics", "/v1/users/..%2f..%2fmetrics",
		"/metrics%00", "/metrics%20", "/v1/healthz/../../metrics",
	};

	for (size_t i = 0; i < nurls; i++) {
		bool apache = is_apache(urls[i]);

		for (size_t k = 0; k < sizeof(other) / sizeof(other[0]) + 2; k++) {
			bool is_exact = k >= sizeof(other) / sizeof(other[0]);
			const char *p = is_exact ? exact[k - sizeof(other) / sizeof(other[0])] :
			    other[k];
			struct itest_response r;
			char url[512];

			if (is_exact && apache)
				continue;
			(void)snprintf(url, sizeof(url), "%s%s", urls[i], p);
			get_as_is(ATTACKER, url, &r);
			if (r.body != NULL && strstr(r.body, "paybridge_http_requests_total") != NULL)
				fprintf(stderr, "%s from " ATTACKER ": metrics (%ld)\n", url, r.status);
			CU_ASSERT(r.status != 200 && (r.body == NULL ||
			    strstr(r.body, "paybridge_http_requests_total") == NULL));
			itest_response_free(&r);
		}
	}
}

/* ---- guest payments' per-address limit behind forged addresses ---- */

#define GUEST_PER_IP 3

/*
 * Runs last: it restarts paybridge with guest payments on. From one address, each call
 * claiming another client in every forwarding header, a fresh email each time: the
 * address's limit still applies after GUEST_PER_IP, and it is the web server's address
 * that is counted.
 */
static void
test_guest_limit_spoofed(void)
{
	long long pid = itest_product(900, "one_time", 1);
	char conf[1024];
	FILE *f;

	(void)snprintf(conf, sizeof(conf), "%s/paybridge.conf", itest_env("PB_RUN"));
	f = fopen(conf, "a");
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	fprintf(f, "guest_payments = on\nguest_rate_per_ip = %d\n", GUEST_PER_IP);
	CU_ASSERT_FATAL(fclose(f) == 0);
	CU_ASSERT_FATAL(itest_ctl("paybridge-stop") == 0);
	CU_ASSERT_FATAL(itest_ctl("paybridge-start") == 0);
	CU_ASSERT_FATAL(itest_pool_settled(urls[0], ITEST_WAIT_MS));
	for (size_t i = 0; i < nurls; i++) {
		char source[32];

		/* Each server from an address of its own, so each starts with a full allowance. */
		(void)snprintf(source, sizeof(source), "127.0.4.%zu", 10 + i);
		for (int k = 0; k <= GUEST_PER_IP; k++) {
			struct itest_response r;
			char xff[64], real[64], fwd[64], email[128], body[256], url[512];
			const char *h[] = { "Content-Type: application/json", xff, real, fwd, NULL };

			(void)snprintf(xff, sizeof(xff), "X-Forwarded-For: 10.5.%zu.%d", i, k);
			(void)snprintf(real, sizeof(real), "X-Real-IP: 10.4.%zu.%d", i, k);
			(void)snprintf(fwd, sizeof(fwd), "Forwarded: for=10.3.%zu.%d", i, k);
			itest_unique_email(email, sizeof(email), "guestxff");
			(void)snprintf(body, sizeof(body), "{\"email\":\"%s\",\"productId\":%lld,"
			    "\"quantity\":1}", email, pid);
			(void)snprintf(url, sizeof(url), "%s/v1/payments/guest/intents", urls[i]);
			CU_ASSERT_FATAL(itest_request_from(source, "POST", url, h, body, strlen(body),
			    &r));
			if (k < GUEST_PER_IP) {
				CU_ASSERT_EQUAL(r.status, 201);
			} else {
				expect(&r, 429, "too_many_requests", "guest intent past the limit");
			}
			itest_response_free(&r);
		}
		CU_ASSERT_EQUAL(itest_sql_num("SELECT COUNT(*) FROM rate_limits WHERE bucket "
		    "LIKE 'guest-ip:10.%%'"), 0);
		CU_ASSERT(itest_sql_num("SELECT COUNT(*) FROM rate_limits WHERE bucket = "
		    "'guest-ip:%s'", source) >= 1);
	}
}

/* ---- the socket ---- */

/* The value of "key = value" in the stack's paybridge.conf, or "" when absent. */
static void
conf_value(const char *key, char *out, size_t len)
{
	char path[1024], line[1024];
	FILE *f;

	out[0] = '\0';
	(void)snprintf(path, sizeof(path), "%s/paybridge.conf", itest_env("PB_RUN"));
	f = fopen(path, "r");
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	while (fgets(line, sizeof(line), f) != NULL) {
		size_t k = strlen(key);

		if (strncmp(line, key, k) == 0 && strncmp(line + k, " = ", 3) == 0) {
			line[strcspn(line, "\n")] = '\0';
			(void)snprintf(out, len, "%s", line + k + 3);
		}
	}
	(void)fclose(f);
}

static void
test_socket_mode(void)
{
	struct conf c;
	struct stat st;
	char listen[1024], mode[16], unit[4096], path[1100];
	FILE *f;
	size_t n;

	/* The stack's socket has exactly the mode its configuration asks for. */
	conf_value("listen", listen, sizeof(listen));
	conf_value("listen_mode", mode, sizeof(mode));
	CU_ASSERT_FATAL(strncmp(listen, "unix:", 5) == 0 && mode[0] != '\0');
	CU_ASSERT_EQUAL_FATAL(stat(listen + 5, &st), 0);
	CU_ASSERT_TRUE(S_ISSOCK(st.st_mode));
	CU_ASSERT_EQUAL(st.st_mode & 07777, strtol(mode, NULL, 8));
	CU_ASSERT_EQUAL(st.st_uid, getuid());
	/* Left unset, paybridge's own socket is owner and group only. */
	CU_ASSERT_EQUAL_FATAL(conf_defaults(&c), PB_OK);
	CU_ASSERT_EQUAL(c.listen_mode, 0660);
	conf_free(&c);
	/* And so is systemd's, for the web servers' group only. */
	(void)snprintf(path, sizeof(path), "%s/systemd/paybridge.socket", PB_SRCDIR);
	f = fopen(path, "r");
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	n = fread(unit, 1, sizeof(unit) - 1, f);
	unit[n] = '\0';
	(void)fclose(f);
	CU_ASSERT_PTR_NOT_NULL(strstr(unit, "\nSocketMode=0660\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(unit, "\nSocketGroup=www-data\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(unit, "\nDirectoryMode=0755\n"));
}

static const struct unit_test tests[] = {
	UNIT_TEST(test_forged_tokens),
	UNIT_TEST(test_other_users_ids),
	UNIT_TEST(test_mass_assignment),
	UNIT_TEST(test_names_round_trip),
	UNIT_TEST(test_bad_utf8_and_nul),
	UNIT_TEST(test_log_injection),
	UNIT_TEST(test_oversized),
	UNIT_TEST(test_login_guessing_spoofed),
	UNIT_TEST(test_forged_params),
	UNIT_TEST(test_metrics_path_confusion),
	UNIT_TEST(test_socket_mode),
	/* Last: it restarts paybridge with another configuration. */
	UNIT_TEST(test_guest_limit_spoofed),
};

int
main(int argc, char *argv[])
{
	return itest_main("hostile", tests, sizeof(tests) / sizeof(tests[0]), urls, MAX_URLS,
	    &nurls, argc, argv);
}
