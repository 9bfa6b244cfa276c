/*
 * Accounts end to end (issue 4): signup as JSON, as a form and as a browser form post,
 * field validation, unique emails without regard to case (also under 20 concurrent
 * signups), the Stripe customer each signup makes, login, the login throttle, and bearer
 * tokens (forged, expired, revoked). Runs against the real stack through every web server
 * the runner started: tests/integration/run.sh BUILDDIR tests/integration/test_accounts.
 *
 * Two tests run services/accounts in this process against the stack's MariaDB (never a
 * mock): that a login for an unknown email runs exactly one Argon2id verification
 * (counted by util/password, not timed), and that an account without jwt_secret refuses
 * to work. They read the database settings and the JWT secret from the environment the
 * runner sets.
 */
#include "config.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "../unit/unit.h"
#include "itest.h"
#include "repo/db.h"
#include "repo/users.h"
#include "services/accounts.h"
#include "services/app.h"
#include "util/arena.h"
#include "util/base64url.h"
#include "util/conf.h"
#include "util/jwt.h"
#include "util/log.h"
#include "util/password.h"

#define MAX_URLS 4
#define PASSWORD "correct horse battery"
#define CONCURRENT 20

static const char *urls[MAX_URLS];
static size_t nurls;
static int serial;

/* ---- helpers ---- */

static void
unique_email(const char *prefix, char *out, size_t len)
{
	(void)snprintf(out, len, "%s.%d.%lld.%d@example.com", prefix, (int)getpid(),
	    itest_now_ms(), __atomic_add_fetch(&serial, 1, __ATOMIC_RELAXED));
}

static void
post(const char *base, const char *path, const char *const *hdrs, const char *body,
    struct itest_response *r)
{
	char url[512];

	(void)snprintf(url, sizeof(url), "%s%s", base, path);
	(void)itest_request("POST", url, hdrs, body, strlen(body), r);
}

static void
post_json(const char *base, const char *path, const char *body, struct itest_response *r)
{
	const char *hdrs[] = { "Content-Type: application/json", NULL };

	post(base, path, hdrs, body, r);
}

/* A JSON body from up to three string members (a NULL name ends the list). */
static char *
json3(const char *k1, const char *v1, const char *k2, const char *v2, const char *k3,
    const char *v3)
{
	struct json_object *o = json_object_new_object();
	char *s;

	if (k1 != NULL)
		json_object_object_add(o, k1, json_object_new_string(v1));
	if (k2 != NULL)
		json_object_object_add(o, k2, json_object_new_string(v2));
	if (k3 != NULL)
		json_object_object_add(o, k3, json_object_new_string(v3));
	s = strdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
	json_object_put(o);
	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	return s;
}

/* name=...&email=...&password=..., each value percent-encoded. */
static char *
form3(const char *name, const char *email, const char *password)
{
	char *n = curl_easy_escape(NULL, name, 0), *e = curl_easy_escape(NULL, email, 0);
	char *p = curl_easy_escape(NULL, password, 0), *s = NULL;

	if (n != NULL && e != NULL && p != NULL) {
		size_t len = strlen(n) + strlen(e) + strlen(p) + 32;
		s = malloc(len);
		if (s != NULL)
			(void)snprintf(s, len, "name=%s&email=%s&password=%s", n, e, p);
	}
	curl_free(n);
	curl_free(e);
	curl_free(p);
	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	return s;
}

struct signup {
	long status;
	long long id;
	char customer[128];
	char token[JWT_TOKEN_MAX + 1];
};

static void
signup(const char *base, const char *name, const char *email, struct signup *s)
{
	struct itest_response r;
	char *body = json3("name", name, "email", email, "password", PASSWORD);
	const char *v;

	memset(s, 0, sizeof(*s));
	post_json(base, "/v1/users", body, &r);
	free(body);
	s->status = r.status;
	s->id = itest_json_int(&r, "data.user.id", 0);
	v = itest_json_str(&r, "data.user.stripeCustomerId");
	(void)snprintf(s->customer, sizeof(s->customer), "%s", v != NULL ? v : "");
	v = itest_json_str(&r, "data.access_token");
	(void)snprintf(s->token, sizeof(s->token), "%s", v != NULL ? v : "");
	if (r.status != 201)
		fprintf(stderr, "signup of %s answered %ld: %.300s\n", email, r.status, r.body);
	itest_response_free(&r);
}

static void
get_with(const char *base, const char *path, const char *authorization,
    struct itest_response *r)
{
	char url[512], hdr[JWT_TOKEN_MAX + 128];
	const char *hdrs[] = { hdr, NULL };

	(void)snprintf(url, sizeof(url), "%s%s", base, path);
	if (authorization != NULL)
		(void)snprintf(hdr, sizeof(hdr), "Authorization: %s", authorization);
	(void)itest_request("GET", url, authorization != NULL ? hdrs : NULL, NULL, 0, r);
}

/* GET path with "Authorization: Bearer token"; returns the status. */
static long
get_bearer(const char *base, const char *path, const char *token)
{
	struct itest_response r;
	char auth[JWT_TOKEN_MAX + 80];
	long status;

	(void)snprintf(auth, sizeof(auth), "Bearer %s", token);
	get_with(base, path, auth, &r);
	status = r.status;
	if (status == 401) {
		CU_ASSERT_STRING_EQUAL(itest_json_str(&r, "error.code"), "unauthorized");
	}
	itest_response_free(&r);
	return status;
}

static void
assert_code(const struct itest_response *r, long status, const char *code)
{
	const char *got = itest_json_str(r, "error.code");

	if (r->status != status || got == NULL || strcmp(got, code) != 0)
		fprintf(stderr, "expected %ld %s, got %ld: %.400s\n", status, code, r->status,
		    r->body);
	CU_ASSERT_EQUAL(r->status, status);
	CU_ASSERT(got != NULL && strcmp(got, code) == 0);
}

static void
sql_value(const char *sql, char *out, size_t len)
{
	CU_ASSERT_EQUAL(itest_sql(sql, out, len), 0);
}

/* The emulator's live customers whose metadata user_id is user_id; *last receives one. */
static int
emulator_customers(long long user_id, struct json_object **last)
{
	struct itest_response r;
	struct json_object *data;
	char want[32];
	int n = 0;

	*last = NULL;
	(void)snprintf(want, sizeof(want), "%lld", user_id);
	(void)itest_emulator("GET", "/_emulator/objects/customers", NULL, &r);
	if (r.json == NULL || !json_object_object_get_ex(r.json, "data", &data)) {
		itest_response_free(&r);
		CU_FAIL_FATAL("the emulator did not list its customers");
		return 0;
	}
	for (size_t i = 0; i < json_object_array_length(data); i++) {
		struct json_object *c = json_object_array_get_idx(data, i), *meta, *uid, *del;

		if (json_object_object_get_ex(c, "deleted", &del) && json_object_get_boolean(del))
			continue;
		if (!json_object_object_get_ex(c, "metadata", &meta) ||
		    !json_object_object_get_ex(meta, "user_id", &uid) ||
		    strcmp(json_object_get_string(uid), want) != 0)
			continue;
		n++;
		if (*last != NULL)
			json_object_put(*last);
		*last = json_object_get(c);
	}
	itest_response_free(&r);
	return n;
}

static const char *
member(struct json_object *o, const char *path)
{
	char key[64];
	const char *dot;

	while ((dot = strchr(path, '.')) != NULL) {
		(void)snprintf(key, sizeof(key), "%.*s", (int)(dot - path), path);
		if (!json_object_object_get_ex(o, key, &o))
			return NULL;
		path = dot + 1;
	}
	if (!json_object_object_get_ex(o, path, &o) || !json_object_is_type(o, json_type_string))
		return NULL;
	return json_object_get_string(o);
}

/*
 * The one Stripe customer of user id: exactly name and email, the description and the
 * metadata of DESIGN §5, and the same id in the response and in the database.
 */
static void
assert_customer(long long id, const char *name, const char *email, const char *in_response)
{
	struct json_object *c = NULL;
	char want[64], in_db[128], sql[128];

	CU_ASSERT_EQUAL(emulator_customers(id, &c), 1);
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	(void)snprintf(want, sizeof(want), "Customer for user ID: %lld", id);
	CU_ASSERT_STRING_EQUAL(member(c, "name"), name);
	CU_ASSERT_STRING_EQUAL(member(c, "email"), email);
	CU_ASSERT_STRING_EQUAL(member(c, "description"), want);
	(void)snprintf(want, sizeof(want), "%lld", id);
	CU_ASSERT_STRING_EQUAL(member(c, "metadata.user_id"), want);
	CU_ASSERT_STRING_EQUAL(member(c, "metadata.source"), "user_registration");
	CU_ASSERT_STRING_EQUAL(member(c, "id"), in_response);
	(void)snprintf(sql, sizeof(sql),
	    "SELECT COALESCE(stripe_customer_id, '') FROM users WHERE id = %lld", id);
	sql_value(sql, in_db, sizeof(in_db));
	CU_ASSERT_STRING_EQUAL(in_db, in_response);
	json_object_put(c);
}

/* "2025-01-02T03:04:05.123456Z": ISO 8601 in UTC. */
static bool
iso8601_utc(const char *s)
{
	static const char shape[] = "dddd-dd-ddTdd:dd:dd";
	size_t i;

	if (s == NULL || strlen(s) < sizeof(shape))
		return false;
	for (i = 0; i < sizeof(shape) - 1; i++) {
		if (shape[i] == 'd' ? (s[i] < '0' || s[i] > '9') : s[i] != shape[i])
			return false;
	}
	if (s[i] == '.') {
		for (i++; s[i] >= '0' && s[i] <= '9'; i++)
			;
	}
	return s[i] == 'Z' && s[i + 1] == '\0';
}

/* The user object of DESIGN §3 at prefix ("data.user"). */
static void
assert_user_shape(const struct itest_response *r, const char *name, const char *email)
{
	struct json_object *u = NULL, *v;

	CU_ASSERT_FATAL(r->json != NULL);
	CU_ASSERT_FATAL(json_object_object_get_ex(r->json, "data", &u) &&
	    json_object_object_get_ex(u, "user", &u));
	CU_ASSERT(itest_json_int(r, "data.user.id", 0) > 0);
	CU_ASSERT_STRING_EQUAL(itest_json_str(r, "data.user.name"), name);
	CU_ASSERT_STRING_EQUAL(itest_json_str(r, "data.user.email"), email);
	CU_ASSERT_STRING_EQUAL(itest_json_str(r, "data.user.role"), "user");
	CU_ASSERT(json_object_object_get_ex(u, "stripeCustomerId", &v));
	CU_ASSERT(json_object_object_get_ex(u, "isEmailVerified", &v) &&
	    json_object_is_type(v, json_type_boolean) && !json_object_get_boolean(v));
	CU_ASSERT(iso8601_utc(itest_json_str(r, "data.user.createdAt")));
	CU_ASSERT_FALSE(json_object_object_get_ex(u, "password", &v));
	CU_ASSERT_FALSE(json_object_object_get_ex(u, "passwordHash", &v));
	CU_ASSERT_EQUAL(json_object_object_length(u), 7);
}

/* ---- signup ---- */

static void
test_signup_json(void)
{
	for (size_t i = 0; i < nurls; i++) {
		struct itest_response r;
		char email[128], padded[160];
		const char *cus;
		char *body;
		long long id;

		unique_email("Json", email, sizeof(email));
		/* Surrounding white space goes; the address is kept as typed otherwise. */
		(void)snprintf(padded, sizeof(padded), "  %s \t", email);
		body = json3("name", "  Ada Lovelace ", "email", padded, "password", PASSWORD);
		post_json(urls[i], "/v1/users", body, &r);
		free(body);
		CU_ASSERT_EQUAL(r.status, 201);
		assert_user_shape(&r, "Ada Lovelace", email);
		CU_ASSERT_PTR_NOT_NULL(strstr(r.body, "\"success\":true"));
		CU_ASSERT(itest_json_str(&r, "data.access_token") != NULL &&
		    strlen(itest_json_str(&r, "data.access_token")) > 20);
		CU_ASSERT_STRING_EQUAL(itest_json_str(&r, "data.token_type"), "Bearer");
		CU_ASSERT_EQUAL(itest_json_int(&r, "data.expires_in", 0), 900);
		id = itest_json_int(&r, "data.user.id", 0);
		cus = itest_json_str(&r, "data.user.stripeCustomerId");
		CU_ASSERT(cus != NULL && strncmp(cus, "cus_", 4) == 0);
		if (cus != NULL)
			assert_customer(id, "Ada Lovelace", email, cus);

		/* The token it came with works at once. */
		{
			char auth[JWT_TOKEN_MAX + 80];
			struct itest_response me;

			(void)snprintf(auth, sizeof(auth), "Bearer %s",
			    itest_json_str(&r, "data.access_token"));
			get_with(urls[i], "/v1/users/me", auth, &me);
			CU_ASSERT_EQUAL(me.status, 200);
			assert_user_shape(&me, "Ada Lovelace", email);
			CU_ASSERT_EQUAL(itest_json_int(&me, "data.user.id", 0), id);
			if (cus != NULL)
				CU_ASSERT_STRING_EQUAL(itest_json_str(&me,
				    "data.user.stripeCustomerId"), cus);
			itest_response_free(&me);
		}
		itest_response_free(&r);
	}
}

static void
test_signup_form(void)
{
	const char *hdrs[] = { "Content-Type: application/x-www-form-urlencoded", NULL };

	for (size_t i = 0; i < nurls; i++) {
		static const char name[] = "Zo\xc3\xab O'Brien + co & sons";
		struct itest_response r;
		char email[128], *body;
		const char *cus;

		unique_email("form", email, sizeof(email));
		body = form3(name, email, PASSWORD);
		post(urls[i], "/v1/users", hdrs, body, &r);
		free(body);
		CU_ASSERT_EQUAL(r.status, 201);
		assert_user_shape(&r, name, email);
		CU_ASSERT_PTR_NOT_NULL(itest_json_str(&r, "data.access_token"));
		cus = itest_json_str(&r, "data.user.stripeCustomerId");
		CU_ASSERT(cus != NULL && strncmp(cus, "cus_", 4) == 0);
		if (cus != NULL)
			assert_customer(itest_json_int(&r, "data.user.id", 0), name, email, cus);
		itest_response_free(&r);
	}
}

/* POSTs body (JSON, or a form when form is set) and expects 422 naming field. */
static void
expect_422(const char *base, const char *body, bool form, const char *field,
    const char *message)
{
	struct itest_response r;
	char path[96];
	const char *got;

	if (form) {
		const char *fhdrs[] = { "Content-Type: application/x-www-form-urlencoded", NULL };

		post(base, "/v1/users", fhdrs, body, &r);
	} else {
		post_json(base, "/v1/users", body, &r);
	}
	assert_code(&r, 422, "invalid_fields");
	(void)snprintf(path, sizeof(path), "error.fields.%s", field);
	got = itest_json_str(&r, path);
	if (got == NULL)
		fprintf(stderr, "no message for %s in %.400s\n", field, r.body);
	CU_ASSERT_PTR_NOT_NULL(got);
	if (got != NULL && message != NULL)
		CU_ASSERT_STRING_EQUAL(got, message);
	itest_response_free(&r);
}

static void
test_signup_invalid_fields(void)
{
	char long_name[256], long_email[300], long_pw[160], *b;

	memset(long_name, 'n', 201);
	long_name[201] = '\0';
	/* x@eee...eee.com, 255 bytes */
	(void)snprintf(long_email, sizeof(long_email), "x@%0*d.com", 249, 0);
	memset(long_email + 2, 'e', 249);
	memset(long_pw, 'p', 129);
	long_pw[129] = '\0';
	for (size_t i = 0; i < nurls; i++) {
		const char *u = urls[i];
		struct itest_response r;
		char email[128], jb[512];

		unique_email("bad", email, sizeof(email));
#define BAD(k1, v1, k2, v2, k3, v3, field, msg)                          \
	do {                                                                 \
		b = json3(k1, v1, k2, v2, k3, v3);                               \
		expect_422(u, b, false, field, msg);                             \
		free(b);                                                         \
	} while (0)
		/* Missing, empty, too long, control characters. */
		BAD("email", email, "password", PASSWORD, NULL, NULL, "name", "is required");
		BAD("name", "", "email", email, "password", PASSWORD, "name", NULL);
		BAD("name", "   ", "email", email, "password", PASSWORD, "name", NULL);
		BAD("name", long_name, "email", email, "password", PASSWORD, "name",
		    "must be at most 200 characters");
		BAD("name", "bell\a", "email", email, "password", PASSWORD, "name",
		    "must not contain control characters");
		BAD("name", "A", "password", PASSWORD, NULL, NULL, "email", "is required");
		BAD("name", "A", "email", "no-at-sign", "password", PASSWORD, "email", NULL);
		BAD("name", "A", "email", "two@@example.com", "password", PASSWORD, "email", NULL);
		BAD("name", "A", "email", "a@localhost", "password", PASSWORD, "email", NULL);
		BAD("name", "A", "email", "a b@example.com", "password", PASSWORD, "email", NULL);
		BAD("name", "A", "email", "@example.com", "password", PASSWORD, "email", NULL);
		BAD("name", "A", "email", long_email, "password", PASSWORD, "email",
		    "must be at most 254 bytes");
		BAD("name", "A", "email", email, NULL, NULL, "password", "is required");
		BAD("name", "A", "email", email, "password", "short pass!", "password",
		    "must be at least 12 characters");
		BAD("name", "A", "email", email, "password", long_pw, "password",
		    "must be at most 128 bytes");
#undef BAD

		/* Fields outside the allow-list, and values that are not strings. */
		(void)snprintf(jb, sizeof(jb),
		    "{\"name\":\"A\",\"email\":\"%s\",\"password\":\"%s\",\"role\":\"admin\"}",
		    email, PASSWORD);
		expect_422(u, jb, false, "role", "is not an accepted field");
		(void)snprintf(jb, sizeof(jb),
		    "{\"name\":5,\"email\":\"%s\",\"password\":\"%s\"}", email, PASSWORD);
		expect_422(u, jb, false, "name", "must be a string");
		(void)snprintf(jb, sizeof(jb),
		    "{\"name\":\"A\",\"email\":[\"%s\"],\"password\":\"%s\"}", email, PASSWORD);
		expect_422(u, jb, false, "email", "must be a string");
		(void)snprintf(jb, sizeof(jb),
		    "{\"name\":\"A\",\"email\":\"%s\",\"password\":null}", email);
		expect_422(u, jb, false, "password", NULL);
		/* In a form: a repeated key is a list, brackets make an object. */
		expect_422(u, "name=A&email=a%40x.com&email=b%40x.com&password=correct+horse+b",
		    true,
		    "email", "must be a string");
		expect_422(u, "name[first]=A&email=a%40x.com&password=correct+horse+b", true,
		    "name", "must be a string");
		expect_422(u, "name=A&email=a%40x.com&password=correct+horse+b&is_admin=1", true,
		    "is_admin", "is not an accepted field");

		/* Every problem at once, in one answer. */
		b = json3("name", "", "email", "nope", "password", "short");
		post_json(u, "/v1/users", b, &r);
		free(b);
		assert_code(&r, 422, "invalid_fields");
		CU_ASSERT_PTR_NOT_NULL(itest_json_str(&r, "error.fields.name"));
		CU_ASSERT_PTR_NOT_NULL(itest_json_str(&r, "error.fields.email"));
		CU_ASSERT_PTR_NOT_NULL(itest_json_str(&r, "error.fields.password"));
		itest_response_free(&r);

		/* Nothing was created by any of that. */
		{
			char sql[256], n[32];

			(void)snprintf(sql, sizeof(sql), "SELECT COUNT(*) FROM users "
			    "WHERE email_normalized = LOWER('%s')", email);
			sql_value(sql, n, sizeof(n));
			CU_ASSERT_STRING_EQUAL(n, "0");
		}
	}
}

static void
test_email_taken_any_case(void)
{
	for (size_t i = 0; i < nurls; i++) {
		struct itest_response r;
		struct signup s;
		char upper[128], lower[128], spaced[160], stamp[64], *b;

		(void)snprintf(stamp, sizeof(stamp), "%d.%lld.%zu", (int)getpid(), itest_now_ms(),
		    i);
		(void)snprintf(upper, sizeof(upper), "A.%s@x.com", stamp);
		(void)snprintf(lower, sizeof(lower), "a.%s@X.com", stamp);
		(void)snprintf(spaced, sizeof(spaced), " a.%s@x.COM ", stamp);
		signup(urls[i], "First", upper, &s);
		CU_ASSERT_EQUAL_FATAL(s.status, 201);
		b = json3("name", "Second", "email", lower, "password", PASSWORD);
		post_json(urls[i], "/v1/users", b, &r);
		free(b);
		assert_code(&r, 409, "email_taken");
		itest_response_free(&r);
		b = json3("name", "Third", "email", spaced, "password", PASSWORD);
		post_json(urls[i], "/v1/users", b, &r);
		free(b);
		assert_code(&r, 409, "email_taken");
		itest_response_free(&r);
	}
}

struct racer {
	const char *base;
	const char *body;
	pthread_barrier_t *start;
	long status;
	long long id;
};

static void *
race(void *arg)
{
	struct racer *x = arg;
	struct itest_response r;

	pthread_barrier_wait(x->start);
	post_json(x->base, "/v1/users", x->body, &r);
	x->status = r.status;
	x->id = itest_json_int(&r, "data.user.id", 0);
	itest_response_free(&r);
	return NULL;
}

static void
test_concurrent_signups_one_email(void)
{
	struct racer racers[CONCURRENT];
	pthread_t threads[CONCURRENT];
	pthread_barrier_t start;
	struct json_object *c = NULL;
	char email[128], sql[256], n[32];
	int created = 0, taken = 0;
	long long id = 0;
	char *body;

	unique_email("Race", email, sizeof(email));
	body = json3("name", "Racer", "email", email, "password", PASSWORD);
	CU_ASSERT_EQUAL_FATAL(pthread_barrier_init(&start, NULL, CONCURRENT), 0);
	for (int i = 0; i < CONCURRENT; i++) {
		/* Half through each server, so two front ends race as well. */
		racers[i] = (struct racer){ urls[(size_t)i % nurls], body, &start, 0, 0 };
		CU_ASSERT_EQUAL_FATAL(pthread_create(&threads[i], NULL, race, &racers[i]), 0);
	}
	for (int i = 0; i < CONCURRENT; i++) {
		pthread_join(threads[i], NULL);
		if (racers[i].status == 201) {
			created++;
			id = racers[i].id;
		} else if (racers[i].status == 409) {
			taken++;
		} else {
			fprintf(stderr, "racer %d answered %ld\n", i, racers[i].status);
		}
	}
	pthread_barrier_destroy(&start);
	free(body);
	CU_ASSERT_EQUAL(created, 1);
	CU_ASSERT_EQUAL(taken, CONCURRENT - 1);
	(void)snprintf(sql, sizeof(sql),
	    "SELECT COUNT(*) FROM users WHERE email_normalized = LOWER('%s')", email);
	sql_value(sql, n, sizeof(n));
	CU_ASSERT_STRING_EQUAL(n, "1");
	CU_ASSERT_EQUAL(emulator_customers(id, &c), 1);
	json_object_put(c);
}

static void
test_hostile_name_reaches_stripe_verbatim(void)
{
	static const char name[] = "x&metadata[user_id]=999";

	for (size_t i = 0; i < nurls; i++) {
		struct signup s;
		char email[128];

		unique_email("hostile", email, sizeof(email));
		signup(urls[i], name, email, &s);
		CU_ASSERT_EQUAL_FATAL(s.status, 201);
		CU_ASSERT_FATAL(s.customer[0] != '\0');
		/* Exactly that name, and metadata[user_id] the real id, not 999. */
		assert_customer(s.id, name, email, s.customer);
	}
}

static void
test_browser_form_post_redirects(void)
{
	const char *hdrs[] = { "Content-Type: application/x-www-form-urlencoded",
		"Accept: text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8", NULL };

	for (size_t i = 0; i < nurls; i++) {
		struct itest_response r;
		char email[128], loc[512], want[128], *body;
		long long id;

		unique_email("browser", email, sizeof(email));
		body = form3("Browser User", email, PASSWORD);
		post(urls[i], "/v1/users", hdrs, body, &r);
		CU_ASSERT_EQUAL(r.status, 303);
		CU_ASSERT_TRUE(itest_header(&r, "Location", loc, sizeof(loc)));
		CU_ASSERT_PTR_NULL(strstr(r.body, "access_token"));
		itest_response_free(&r);
		/* The outcome is in the query; no token ever goes into a URL. */
		CU_ASSERT_EQUAL(strncmp(loc, "/account.html?signup=ok&user=", 29), 0);
		CU_ASSERT_PTR_NULL(strstr(loc, "token"));
		CU_ASSERT_PTR_NULL(strstr(loc, "eyJ"));
		id = strtoll(loc + 29, NULL, 10);
		CU_ASSERT(id > 0);
		(void)snprintf(want, sizeof(want), "/account.html?signup=ok&user=%lld", id);
		CU_ASSERT_STRING_EQUAL(loc, want);

		/* The same form again: the error comes back the same way. */
		post(urls[i], "/v1/users", hdrs, body, &r);
		free(body);
		CU_ASSERT_EQUAL(r.status, 303);
		CU_ASSERT_TRUE(itest_header(&r, "Location", loc, sizeof(loc)));
		CU_ASSERT_STRING_EQUAL(loc, "/account.html?error=email_taken");
		itest_response_free(&r);

		post(urls[i], "/v1/users", hdrs, "name=B&email=nope&password=short&evil=1", &r);
		CU_ASSERT_EQUAL(r.status, 303);
		CU_ASSERT_TRUE(itest_header(&r, "Location", loc, sizeof(loc)));
		CU_ASSERT_STRING_EQUAL(loc,
		    "/account.html?error=invalid_fields&fields=email,password");
		itest_response_free(&r);
	}
}

/* ---- login ---- */

static void
login(const char *base, const char *email, const char *password, struct itest_response *r)
{
	char *b = json3("email", email, "password", password, NULL, NULL);

	post_json(base, "/v1/auth/login", b, r);
	free(b);
}

/* The error member of r as text, without the envelope's timestamp. */
static void
error_text(const struct itest_response *r, char *out, size_t len)
{
	struct json_object *e = NULL;

	out[0] = '\0';
	if (r->json != NULL && json_object_object_get_ex(r->json, "error", &e))
		(void)snprintf(out, len, "%s", json_object_to_json_string_ext(e,
		    JSON_C_TO_STRING_PLAIN));
}

static void
test_login(void)
{
	const char *fhdrs[] = { "Content-Type: application/x-www-form-urlencoded", NULL };

	for (size_t i = 0; i < nurls; i++) {
		struct itest_response r;
		struct signup s;
		char email[128], shouted[128], wrong_pw[512], no_user[512], ghost[128];
		char form[512], *esc;

		unique_email("login", email, sizeof(email));
		signup(urls[i], "Login User", email, &s);
		CU_ASSERT_EQUAL_FATAL(s.status, 201);

		login(urls[i], email, PASSWORD, &r);
		CU_ASSERT_EQUAL(r.status, 200);
		CU_ASSERT_PTR_NOT_NULL(itest_json_str(&r, "data.access_token"));
		CU_ASSERT_STRING_EQUAL(itest_json_str(&r, "data.token_type"), "Bearer");
		CU_ASSERT_EQUAL(itest_json_int(&r, "data.expires_in", 0), 900);
		CU_ASSERT_EQUAL(itest_json_int(&r, "data.user.id", 0), s.id);
		assert_user_shape(&r, "Login User", email);
		if (itest_json_str(&r, "data.access_token") != NULL)
			CU_ASSERT_EQUAL(get_bearer(urls[i], "/v1/users/me",
			    itest_json_str(&r, "data.access_token")), 200);
		itest_response_free(&r);

		/* Any case, and as a form. */
		for (size_t k = 0; k < sizeof(shouted) && email[k] != '\0'; k++)
			shouted[k] = (char)(email[k] >= 'a' && email[k] <= 'z' ? email[k] - 32
										: email[k]);
		shouted[strlen(email)] = '\0';
		login(urls[i], shouted, PASSWORD, &r);
		CU_ASSERT_EQUAL(r.status, 200);
		itest_response_free(&r);
		esc = curl_easy_escape(NULL, email, 0);
		(void)snprintf(form, sizeof(form), "email=%s&password=correct+horse+battery", esc);
		curl_free(esc);
		post(urls[i], "/v1/auth/login", fhdrs, form, &r);
		CU_ASSERT_EQUAL(r.status, 200);
		itest_response_free(&r);

		/* A wrong password and an unknown email: the very same answer. */
		login(urls[i], email, "not the password at all", &r);
		assert_code(&r, 401, "invalid_credentials");
		error_text(&r, wrong_pw, sizeof(wrong_pw));
		itest_response_free(&r);
		unique_email("ghost", ghost, sizeof(ghost));
		login(urls[i], ghost, "not the password at all", &r);
		assert_code(&r, 401, "invalid_credentials");
		error_text(&r, no_user, sizeof(no_user));
		itest_response_free(&r);
		CU_ASSERT_STRING_EQUAL(wrong_pw, no_user);

		/* Malformed requests are refused before any account is looked at. */
		post_json(urls[i], "/v1/auth/login", "{\"email\":\"a@x.com\"}", &r);
		assert_code(&r, 422, "invalid_fields");
		CU_ASSERT_PTR_NOT_NULL(itest_json_str(&r, "error.fields.password"));
		itest_response_free(&r);
		post_json(urls[i], "/v1/auth/login",
		    "{\"email\":\"a@x.com\",\"password\":1234567890123}", &r);
		assert_code(&r, 422, "invalid_fields");
		itest_response_free(&r);
	}
}

/* Fails a login n times for email, expecting 401 each time. */
static void
fail_logins(const char *base, const char *email, int n)
{
	for (int k = 0; k < n; k++) {
		struct itest_response r;

		login(base, email, "wrong password, again", &r);
		assert_code(&r, 401, "invalid_credentials");
		itest_response_free(&r);
	}
}

/* Expects 429 with Retry-After; returns its seconds. */
static long
expect_throttled(const char *base, const char *email, const char *password)
{
	struct itest_response r;
	char v[32] = "";
	long secs;

	login(base, email, password, &r);
	assert_code(&r, 429, "too_many_requests");
	CU_ASSERT_TRUE(itest_header(&r, "Retry-After", v, sizeof(v)));
	itest_response_free(&r);
	secs = strtol(v, NULL, 10);
	CU_ASSERT(secs >= 1);
	return secs;
}

static void
test_login_throttle(void)
{
	for (size_t i = 0; i < nurls; i++) {
		struct itest_response r;
		struct signup s;
		char email[128], ghost[128], sql[256], n[32], metrics[512];
		long secs;

		unique_email("throttle", email, sizeof(email));
		signup(urls[i], "Throttled", email, &s);
		CU_ASSERT_EQUAL_FATAL(s.status, 201);

		/* Four failures pass; the fifth blocks the address for 1 s. */
		fail_logins(urls[i], email, 5);
		/* Blocked: even the right password is not looked at, and says so. */
		secs = expect_throttled(urls[i], email, PASSWORD);
		CU_ASSERT_EQUAL(secs, 1);
		/* Attempts while blocked do not lengthen the block. */
		CU_ASSERT_EQUAL(expect_throttled(urls[i], email, "guess"), 1);

		/*
		 * The next failure after the block doubles it. The waits follow the policy,
		 * not the header, so a front end that mangles Retry-After fails one check only.
		 */
		itest_sleep_ms(1000 + 150);
		fail_logins(urls[i], email, 1);
		secs = expect_throttled(urls[i], email, PASSWORD);
		if (secs != 2)
			fprintf(stderr, "%s: Retry-After %ld for a 2 s block\n", urls[i], secs);
		CU_ASSERT_EQUAL(secs, 2);

		/* Once it lapses the owner gets in, and the slate is clean. */
		itest_sleep_ms(2000 + 150);
		login(urls[i], email, PASSWORD, &r);
		CU_ASSERT_EQUAL(r.status, 200);
		itest_response_free(&r);
		(void)snprintf(sql, sizeof(sql),
		    "SELECT COUNT(*) FROM login_throttle WHERE email_normalized = LOWER('%s') "
		    "AND client <> ''", email);
		sql_value(sql, n, sizeof(n));
		CU_ASSERT_STRING_EQUAL(n, "0");
		/* The address's ceiling keeps the 6 failures, not the login that succeeded. */
		(void)snprintf(sql, sizeof(sql),
		    "SELECT failures FROM login_throttle WHERE email_normalized = LOWER('%s') "
		    "AND client = ''", email);
		sql_value(sql, n, sizeof(n));
		CU_ASSERT_STRING_EQUAL(n, "6");
		fail_logins(urls[i], email, 1);
		login(urls[i], email, PASSWORD, &r);
		CU_ASSERT_EQUAL(r.status, 200);
		itest_response_free(&r);

		/* Unregistered addresses are throttled alike: a 429 tells nothing. */
		unique_email("ghost", ghost, sizeof(ghost));
		fail_logins(urls[i], ghost, 5);
		CU_ASSERT_EQUAL(expect_throttled(urls[i], ghost, PASSWORD), 1);

		/* Counted for /metrics. */
		get_with(urls[i], "/metrics", NULL, &r);
		CU_ASSERT_EQUAL(r.status, 200);
		(void)snprintf(metrics, sizeof(metrics), "%s",
		    "\npaybridge_login_throttled_total ");
		CU_ASSERT(strstr(r.body, metrics) != NULL &&
		    strtol(strstr(r.body, metrics) + strlen(metrics), NULL, 10) >= 3);
		itest_response_free(&r);
	}
}

/* login() from the local address source. */
static void
login_from(const char *source, const char *base, const char *email, const char *password,
    struct itest_response *r)
{
	const char *hdrs[] = { "Content-Type: application/json", NULL };
	char *b = json3("email", email, "password", password, NULL, NULL);
	char url[512];

	(void)snprintf(url, sizeof(url), "%s/v1/auth/login", base);
	(void)itest_request_from(source, "POST", url, hdrs, b, strlen(b), r);
	free(b);
}

/*
 * From source, fails one login that is counted: polls (refused attempts are not counted)
 * until the block that source is under lapses, then expects the 401.
 */
static void
fail_counted_from(const char *source, const char *base, const char *email)
{
	long long give_up = itest_now_ms() + 30000;
	struct itest_response r;

	for (;;) {
		login_from(source, base, email, "wrong password, again", &r);
		if (r.status != 429 || itest_now_ms() > give_up)
			break;
		itest_response_free(&r);
		itest_sleep_ms(100);
	}
	assert_code(&r, 401, "invalid_credentials");
	itest_response_free(&r);
}

/* The tag paybridge logs for email (same function, same secret as the server). */
static void
email_tag(const char *email, char *out)
{
	CU_ASSERT_EQUAL_FATAL(accounts_email_tag(itest_env("PAYBRIDGE_JWT_SECRET"), email,
	    strlen(email), out), PB_OK);
}

/* Reads the server's log (PB_RUN/paybridge.log) into a new string; NULL when unreadable. */
static char *
server_log(void)
{
	char path[1024];
	FILE *f;
	char *p = NULL;
	size_t n = 0, cap = 0;

	(void)snprintf(path, sizeof(path), "%s/paybridge.log", itest_env("PB_RUN"));
	f = fopen(path, "r");
	if (f == NULL)
		return NULL;
	for (;;) {
		if (n + 4096 + 1 > cap) {
			char *q = realloc(p, cap = cap * 2 + 8192);

			if (q == NULL)
				break;
			p = q;
		}
		size_t k = fread(p + n, 1, cap - n - 1, f);
		n += k;
		if (k == 0)
			break;
	}
	(void)fclose(f);
	if (p != NULL)
		p[n] = '\0';
	return p;
}

/* True once the log has a line holding both a and b (polled: lines are written by workers). */
static bool
log_has_line(const char *a, const char *b)
{
	long long give_up = itest_now_ms() + 10000;

	do {
		char *log = server_log(), *line = log;
		bool found = false;

		while (line != NULL && *line != '\0' && !found) {
			char *end = strchr(line, '\n');

			if (end != NULL)
				*end = '\0';
			found = strstr(line, a) != NULL && strstr(line, b) != NULL;
			line = end != NULL ? end + 1 : NULL;
		}
		free(log);
		if (found)
			return true;
		itest_sleep_ms(100);
	} while (itest_now_ms() < give_up);
	return false;
}

#define ATTACKER "127.0.0.2"
#define OWNER "127.0.0.1"
#define BYSTANDER "127.0.0.3"

/*
 * A guesser at one address is throttled while the owner, at another, signs in; the
 * guesser's record outlives the owner's login; a third address is not throttled at all.
 */
static void
test_login_throttle_per_client(void)
{
	for (size_t i = 0; i < nurls; i++) {
		struct itest_response r;
		struct signup s;
		char email[128], sql[384], n[32], v[32] = "", tag[ACCOUNTS_EMAIL_TAG_LEN + 1];
		char *log;
		long secs;

		unique_email("victim", email, sizeof(email));
		signup(urls[i], "Victim", email, &s);
		CU_ASSERT_EQUAL_FATAL(s.status, 201);

		/* Five failures block the attacker for 1 s; two more, after each block, 4 s. */
		for (int k = 0; k < 5; k++)
			fail_counted_from(ATTACKER, urls[i], email);
		fail_counted_from(ATTACKER, urls[i], email);
		fail_counted_from(ATTACKER, urls[i], email);

		/* The attacker, even with the right password, is refused. */
		login_from(ATTACKER, urls[i], email, PASSWORD, &r);
		assert_code(&r, 429, "too_many_requests");
		CU_ASSERT_TRUE(itest_header(&r, "Retry-After", v, sizeof(v)));
		secs = strtol(v, NULL, 10);
		CU_ASSERT(secs >= 1 && secs <= 4);
		itest_response_free(&r);

		/* The owner, from another address, signs in at once, and twice. */
		for (int k = 0; k < 2; k++) {
			login_from(OWNER, urls[i], email, PASSWORD, &r);
			if (r.status != 200)
				fprintf(stderr, "%s: owner refused: %ld %.300s\n", urls[i], r.status,
				    r.body);
			CU_ASSERT_EQUAL(r.status, 200);
			CU_ASSERT_PTR_NOT_NULL(itest_json_str(&r, "data.access_token"));
			itest_response_free(&r);
		}
		/* That did not lift the attacker's block. */
		login_from(ATTACKER, urls[i], email, PASSWORD, &r);
		assert_code(&r, 429, "too_many_requests");
		itest_response_free(&r);
		/* A third address fails like anyone's first attempt: 401, not 429. */
		login_from(BYSTANDER, urls[i], email, "not it either", &r);
		assert_code(&r, 401, "invalid_credentials");
		itest_response_free(&r);

		/* The records: the attacker's 7, no owner's, the ceiling 8 (7 + the bystander). */
		(void)snprintf(sql, sizeof(sql),
		    "SELECT CONCAT(client, '=', failures) FROM login_throttle "
		    "WHERE email_normalized = LOWER('%s') AND client = '" ATTACKER "'", email);
		sql_value(sql, n, sizeof(n));
		CU_ASSERT_STRING_EQUAL(n, ATTACKER "=7");
		(void)snprintf(sql, sizeof(sql),
		    "SELECT COUNT(*) FROM login_throttle "
		    "WHERE email_normalized = LOWER('%s') AND client = '" OWNER "'", email);
		sql_value(sql, n, sizeof(n));
		CU_ASSERT_STRING_EQUAL(n, "0");
		(void)snprintf(sql, sizeof(sql),
		    "SELECT failures FROM login_throttle "
		    "WHERE email_normalized = LOWER('%s') AND client = ''", email);
		sql_value(sql, n, sizeof(n));
		CU_ASSERT_STRING_EQUAL(n, "8");

		/* The log names the attempts by tag and client; the address is nowhere in it. */
		email_tag(email, tag);
		CU_ASSERT_TRUE(log_has_line("\"login failed\"", tag));
		CU_ASSERT_TRUE(log_has_line("\"login throttled\"", tag));
		CU_ASSERT_TRUE(log_has_line("\"repeated failed logins: blocked\"", tag));
		CU_ASSERT_TRUE(log_has_line(tag, "\"client\":\"" ATTACKER "\""));
		log = server_log();
		CU_ASSERT_PTR_NOT_NULL_FATAL(log);
		CU_ASSERT_PTR_NULL(strstr(log, email));
		*strchr(email, '@') = '\0';	/* nor its local part, which is unique here */
		CU_ASSERT_PTR_NULL(strstr(log, email));
		free(log);
	}
}

/* A JSON body that repeats a key: 400 naming it, and nothing is looked up. */
static void
test_duplicate_key_refused(void)
{
	for (size_t i = 0; i < nurls; i++) {
		struct itest_response r;
		const char *msg;

		post_json(urls[i], "/v1/auth/login",
		    "{\"email\":\"a@example.com\",\"password\":\"x\",\"email\":\"b@example.com\"}",
		    &r);
		assert_code(&r, 400, "bad_request");
		msg = itest_json_str(&r, "error.message");
		CU_ASSERT(msg != NULL && strcmp(msg, "duplicate key \"email\" in the JSON body") == 0);
		itest_response_free(&r);
		post_json(urls[i], "/v1/users",
		    "{\"name\":\"A\",\"email\":\"a@example.com\",\"password\":\"x\","
		    "\"\\u006eame\":\"B\"}", &r);
		assert_code(&r, 400, "bad_request");
		msg = itest_json_str(&r, "error.message");
		CU_ASSERT(msg != NULL && strcmp(msg, "duplicate key \"name\" in the JSON body") == 0);
		itest_response_free(&r);
	}
}

/* ---- tokens ---- */

#define ALG_NONE "{\"alg\":\"none\",\"typ\":\"JWT\"}"
#define ALG_HS256 "{\"alg\":\"HS256\",\"typ\":\"JWT\"}"
#define ALG_HS512 "{\"alg\":\"HS512\",\"typ\":\"JWT\"}"

static const char *
secret(void)
{
	return itest_env("PAYBRIDGE_JWT_SECRET");
}

static void
b64(const void *p, size_t n, char *out, size_t outlen)
{
	CU_ASSERT_EQUAL_FATAL(base64url_encode(p, n, out, outlen), PB_OK);
}

/* header.claims.signature with the signature made by md (NULL: none) over the first two. */
static void
craft(const char *header, const char *claims, const EVP_MD *md, char *out, size_t outlen)
{
	char h[512], c[1024], sig[256];

	b64(header, strlen(header), h, sizeof(h));
	b64(claims, strlen(claims), c, sizeof(c));
	(void)snprintf(out, outlen, "%s.%s", h, c);
	sig[0] = '\0';
	if (md != NULL) {
		unsigned char mac[EVP_MAX_MD_SIZE];
		unsigned int maclen = 0;

		CU_ASSERT_PTR_NOT_NULL_FATAL(HMAC(md, secret(), (int)strlen(secret()),
		    (const unsigned char *)out, strlen(out), mac, &maclen));
		b64(mac, maclen, sig, sizeof(sig));
	}
	(void)snprintf(out + strlen(out), outlen - strlen(out), ".%s", sig);
}

/* A token as paybridge signs it, for any claims. */
static void
sign(long long sub, long long iat, long long exp, long long version, const char *role,
    char *out, size_t outlen)
{
	struct jwt_claims c;

	memset(&c, 0, sizeof(c));
	c.sub = sub;
	c.iat = iat;
	c.exp = exp;
	c.token_version = version;
	(void)snprintf(c.role, sizeof(c.role), "%s", role);
	CU_ASSERT_EQUAL_FATAL(jwt_sign(secret(), strlen(secret()), &c, out, outlen), PB_OK);
}

static void
test_tokens(void)
{
	for (size_t i = 0; i < nurls; i++) {
		const char *u = urls[i];
		struct itest_response r;
		struct signup s;
		char email[128], tok[JWT_TOKEN_MAX + 64], claims[256], sql[256], *dot;
		long long now = (long long)time(NULL);

		unique_email("jwt", email, sizeof(email));
		signup(u, "Token User", email, &s);
		CU_ASSERT_EQUAL_FATAL(s.status, 201);
		CU_ASSERT_EQUAL(get_bearer(u, "/v1/users/me", s.token), 200);

		/* Missing, or not "Bearer <token>". */
		get_with(u, "/v1/users/me", NULL, &r);
		assert_code(&r, 401, "unauthorized");
		CU_ASSERT_TRUE(itest_header(&r, "WWW-Authenticate", claims, sizeof(claims)));
		itest_response_free(&r);
		(void)snprintf(tok, sizeof(tok), "Basic %s", s.token);
		get_with(u, "/v1/users/me", tok, &r);
		assert_code(&r, 401, "unauthorized");
		itest_response_free(&r);
		(void)snprintf(tok, sizeof(tok), "Bearer %s extra", s.token);
		get_with(u, "/v1/users/me", tok, &r);
		assert_code(&r, 401, "unauthorized");
		itest_response_free(&r);
		get_with(u, "/v1/users/me", "Bearer", &r);
		assert_code(&r, 401, "unauthorized");
		itest_response_free(&r);
		CU_ASSERT_EQUAL(get_bearer(u, "/v1/users/me", "not.a.jwt"), 401);

		(void)snprintf(claims, sizeof(claims),
		    "{\"sub\":\"%lld\",\"iat\":%lld,\"exp\":%lld,\"token_version\":0,"
		    "\"role\":\"user\"}", s.id, now, now + 600);
		/* alg none, unsigned or signed anyway; HS512 with the right key. */
		craft(ALG_NONE, claims, NULL, tok, sizeof(tok));
		CU_ASSERT_EQUAL(get_bearer(u, "/v1/users/me", tok), 401);
		craft(ALG_NONE, claims, EVP_sha256(), tok, sizeof(tok));
		CU_ASSERT_EQUAL(get_bearer(u, "/v1/users/me", tok), 401);
		craft(ALG_HS512, claims, EVP_sha512(), tok, sizeof(tok));
		CU_ASSERT_EQUAL(get_bearer(u, "/v1/users/me", tok), 401);
		/* The same claims as HS256 are fine: the refusals above are about the alg. */
		craft(ALG_HS256, claims, EVP_sha256(), tok, sizeof(tok));
		CU_ASSERT_EQUAL(get_bearer(u, "/v1/users/me", tok), 200);

		/* Expired. */
		sign(s.id, now - 1000, now - 1, 0, "user", tok, sizeof(tok));
		CU_ASSERT_EQUAL(get_bearer(u, "/v1/users/me", tok), 401);

		/* Tampered: admin claims under the original signature. */
		(void)snprintf(tok, sizeof(tok), "%s", s.token);
		dot = strrchr(tok, '.');
		if (dot == NULL) {
			CU_FAIL_FATAL("the signup token has no signature");
			return;
		}
		{
			char forged[2 * JWT_TOKEN_MAX], payload[1024];
			const char *first = strchr(tok, '.');

			(void)snprintf(claims, sizeof(claims),
			    "{\"sub\":\"%lld\",\"iat\":%lld,\"exp\":%lld,\"token_version\":0,"
			    "\"role\":\"admin\"}", s.id, now, now + 600);
			b64(claims, strlen(claims), payload, sizeof(payload));
			(void)snprintf(forged, sizeof(forged), "%.*s.%s%s", (int)(first - tok), tok,
			    payload, dot);
			CU_ASSERT_EQUAL(get_bearer(u, "/v1/users/me", forged), 401);
		}
		/* One flipped character of the signature. */
		dot[1] = dot[1] == 'A' ? 'B' : 'A';
		CU_ASSERT_EQUAL(get_bearer(u, "/v1/users/me", tok), 401);

		/* A token_version the row no longer has: revoked. */
		(void)snprintf(sql, sizeof(sql),
		    "UPDATE users SET token_version = token_version + 1 WHERE id = %lld", s.id);
		CU_ASSERT_EQUAL(itest_sql(sql, NULL, 0), 0);
		CU_ASSERT_EQUAL(get_bearer(u, "/v1/users/me", s.token), 401);
		sign(s.id, now, now + 600, 1, "user", tok, sizeof(tok));
		CU_ASSERT_EQUAL(get_bearer(u, "/v1/users/me", tok), 200);
		/* And a login issues the new version. */
		login(u, email, PASSWORD, &r);
		CU_ASSERT_EQUAL(r.status, 200);
		if (itest_json_str(&r, "data.access_token") != NULL)
			CU_ASSERT_EQUAL(get_bearer(u, "/v1/users/me",
			    itest_json_str(&r, "data.access_token")), 200);
		itest_response_free(&r);

		/* A user who does not exist, or no longer does. */
		sign(999999999, now, now + 600, 0, "user", tok, sizeof(tok));
		CU_ASSERT_EQUAL(get_bearer(u, "/v1/users/me", tok), 401);
		sign(s.id, now, now + 600, 1, "user", tok, sizeof(tok));
		(void)snprintf(sql, sizeof(sql),
		    "UPDATE users SET deleted_at = CURRENT_TIMESTAMP(6), email_normalized = NULL "
		    "WHERE id = %lld", s.id);
		CU_ASSERT_EQUAL(itest_sql(sql, NULL, 0), 0);
		CU_ASSERT_EQUAL(get_bearer(u, "/v1/users/me", tok), 401);
	}
}

static void
test_profile_by_id(void)
{
	for (size_t i = 0; i < nurls; i++) {
		const char *u = urls[i];
		struct signup a, b, admin;
		struct itest_response r;
		char email[128], path[64], auth[JWT_TOKEN_MAX + 80], sql[128];

		unique_email("self", email, sizeof(email));
		signup(u, "Self", email, &a);
		unique_email("other", email, sizeof(email));
		signup(u, "Other", email, &b);
		unique_email("admin", email, sizeof(email));
		signup(u, "Admin", email, &admin);
		CU_ASSERT_FATAL(a.status == 201 && b.status == 201 && admin.status == 201);

		(void)snprintf(path, sizeof(path), "/v1/users/%lld", a.id);
		(void)snprintf(auth, sizeof(auth), "Bearer %s", a.token);
		get_with(u, path, auth, &r);
		CU_ASSERT_EQUAL(r.status, 200);
		CU_ASSERT_EQUAL(itest_json_int(&r, "data.user.id", 0), a.id);
		itest_response_free(&r);

		/* Someone else's profile, or something that is no id at all: forbidden. */
		(void)snprintf(path, sizeof(path), "/v1/users/%lld", b.id);
		get_with(u, path, auth, &r);
		assert_code(&r, 403, "forbidden");
		CU_ASSERT_PTR_NULL(strstr(r.body, "Other"));
		itest_response_free(&r);
		get_with(u, "/v1/users/not-a-number", auth, &r);
		assert_code(&r, 403, "forbidden");
		itest_response_free(&r);
		CU_ASSERT_EQUAL(get_bearer(u, path, "x"), 401);

		/* An admin (the role is read from the row) sees others, and 404 for nobody. */
		(void)snprintf(sql, sizeof(sql), "UPDATE users SET role = 'admin' WHERE id = %lld",
		    admin.id);
		CU_ASSERT_EQUAL(itest_sql(sql, NULL, 0), 0);
		(void)snprintf(auth, sizeof(auth), "Bearer %s", admin.token);
		get_with(u, path, auth, &r);
		CU_ASSERT_EQUAL(r.status, 200);
		CU_ASSERT_STRING_EQUAL(itest_json_str(&r, "data.user.name"), "Other");
		itest_response_free(&r);
		get_with(u, "/v1/users/999999999", auth, &r);
		assert_code(&r, 404, "not_found");
		itest_response_free(&r);
	}
}

/* ---- services/accounts in this process ---- */

static struct conf conf;

static void
app_open(struct app *app)
{
	char err[CONF_ERR_MAX];

	memset(app, 0, sizeof(*app));
	/* The in-process services log as the server does; only errors belong in test output. */
	log_set_level(LOGL_ERROR);
	CU_ASSERT_EQUAL_FATAL(conf_defaults(&conf), PB_OK);
	if (conf_apply_env(&conf, err, sizeof(err)) != PB_OK)
		fprintf(stderr, "conf: %s\n", err);
	CU_ASSERT_FATAL(conf.jwt_secret != NULL && strlen(conf.jwt_secret) >= 32);
	CU_ASSERT_EQUAL_FATAL(db_new(&conf, &app->db), PB_OK);
	app->conf = &conf;
}

static void
app_close(struct app *app)
{
	db_free(app->db);
	conf_free(&conf);
}

/* Runs one login and returns how many Argon2id verifications it cost. */
static uint64_t
verifications_from(struct app *app, struct arena *a, const char *client, const char *email,
    const char *pw, size_t pwlen, enum pb_err want)
{
	struct accounts_session s;
	uint64_t before = password_verifications();
	int64_t retry = 0;
	enum pb_err err;

	err = accounts_login(app, a, email, pw, pwlen, client, &s, &retry);
	if (err != want)
		fprintf(stderr, "login of %s: %s, expected %s\n", email, pb_err_code(err),
		    pb_err_code(want));
	CU_ASSERT_EQUAL(err, want);
	return password_verifications() - before;
}

static uint64_t
verifications_of(struct app *app, struct arena *a, const char *email, const char *pw,
    size_t pwlen, enum pb_err want)
{
	return verifications_from(app, a, "192.0.2.1", email, pw, pwlen, want);
}

static void
test_login_verification_count(void)
{
	const struct password_params old = { 19456, 3, 1 };	/* not the conf's t=2 */
	char email[128], ghost[128], hash[PASSWORD_PHC_MAX], sql[256], stored[PASSWORD_PHC_MAX];
	char huge[ACCOUNTS_PASSWORD_MAX + 10];
	struct accounts_session s;
	struct arena a;
	struct app app;
	int64_t retry = 0;
	uint64_t id = 0;

	app_open(&app);
	arena_init(&a, (size_t)4 * 1024 * 1024);
	unique_email("proc", email, sizeof(email));
	CU_ASSERT_EQUAL_FATAL(password_hash(&old, PASSWORD, strlen(PASSWORD), hash,
	    sizeof(hash)), PB_OK);
	CU_ASSERT_EQUAL_FATAL(repo_users_insert(app.db, "In Process", email, hash, &id), PB_OK);

	/* An unknown email costs exactly one verification, as a wrong password does. */
	unique_email("nobody", ghost, sizeof(ghost));
	CU_ASSERT_EQUAL(verifications_of(&app, &a, ghost, "some password guess", 19, PB_EAUTH),
	    1);
	CU_ASSERT_EQUAL(verifications_of(&app, &a, ghost, "another guess here", 18, PB_EAUTH),
	    1);
	CU_ASSERT_EQUAL(verifications_of(&app, &a, email, "some password guess", 19, PB_EAUTH),
	    1);
	/* A password too long for any account is refused before hashing, either way. */
	memset(huge, 'h', sizeof(huge));
	CU_ASSERT_EQUAL(verifications_of(&app, &a, ghost, huge, sizeof(huge), PB_EAUTH), 0);
	CU_ASSERT_EQUAL(verifications_of(&app, &a, email, huge, sizeof(huge), PB_EAUTH), 0);

	/* The right password: one verification, a token, and a rehash to the conf's t=2. */
	CU_ASSERT_EQUAL(verifications_of(&app, &a, email, PASSWORD, strlen(PASSWORD), PB_OK), 1);
	CU_ASSERT_EQUAL(accounts_login(&app, &a, email, PASSWORD, strlen(PASSWORD), "192.0.2.1",
	    &s, &retry),
	    PB_OK);
	CU_ASSERT(s.token != NULL && strlen(s.token) > 20);
	CU_ASSERT_EQUAL(s.user.id, id);
	/* No hash can leak into the session: struct account has no member for one. */
	CU_ASSERT_STRING_EQUAL(s.user.role, "user");
	(void)snprintf(sql, sizeof(sql), "SELECT password_hash FROM users WHERE id = %llu",
	    (unsigned long long)id);
	sql_value(sql, stored, sizeof(stored));
	CU_ASSERT_PTR_NOT_NULL(strstr(stored, "$m=19456,t=2,p=1$"));
	CU_ASSERT_STRING_NOT_EQUAL(stored, hash);

	/* The token it issued is one accounts_authenticate accepts. */
	{
		struct account u;

		CU_ASSERT_EQUAL(accounts_authenticate(&app, &a, s.token, &u), PB_OK);
		CU_ASSERT_EQUAL(u.id, id);
	}

	/* Five failures block an address; a blocked attempt costs no verification at all. */
	unique_email("blocked", ghost, sizeof(ghost));
	for (int k = 0; k < 5; k++)
		CU_ASSERT_EQUAL(verifications_of(&app, &a, ghost, "guessing", 8, PB_EAUTH), 1);
	CU_ASSERT_EQUAL(verifications_of(&app, &a, ghost, "guessing", 8, PB_ERATE), 0);
	CU_ASSERT_EQUAL(accounts_login(&app, &a, ghost, "guessing", 8, "192.0.2.1", &s, &retry),
	    PB_ERATE);
	CU_ASSERT(retry >= 1 && retry <= ACCOUNTS_THROTTLE_CAP_S);

	arena_cleanup(&a);
	app_close(&app);
}

/*
 * The ceiling per address: failures spread over many clients, each under its own free
 * allowance, block the address for every client once they reach it; the owner's own
 * successful logins do not count towards it.
 */
static void
test_login_email_ceiling(void)
{
	const int per = ACCOUNTS_THROTTLE_FREE;	/* each client stays unblocked */
	char email[128], hash[PASSWORD_PHC_MAX], sql[256], n[32], client[32];
	const struct password_params *pp;
	struct password_params params;
	struct accounts_session s;
	struct arena a;
	struct app app;
	int64_t retry = 0;
	uint64_t id = 0;
	int c = 0, failed = 0;

	app_open(&app);
	arena_init(&a, (size_t)4 * 1024 * 1024);
	CU_ASSERT_EQUAL_FATAL(password_params_from_conf(&conf, &params), PB_OK);
	pp = &params;
	unique_email("ceiling", email, sizeof(email));
	CU_ASSERT_EQUAL_FATAL(password_hash(pp, PASSWORD, strlen(PASSWORD), hash, sizeof(hash)),
	    PB_OK);
	CU_ASSERT_EQUAL_FATAL(repo_users_insert(app.db, "Ceiling", email, hash, &id), PB_OK);

	/* All but the last few failures, from client after client. */
	while (failed < ACCOUNTS_THROTTLE_EMAIL_MAX - per) {
		(void)snprintf(client, sizeof(client), "198.51.100.%d", ++c);
		for (int k = 0; k < per && failed < ACCOUNTS_THROTTLE_EMAIL_MAX - per; k++, failed++)
			(void)verifications_from(&app, &a, client, email, "a guess", 7, PB_EAUTH);
		arena_reset(&a);
	}
	/* The owner signs in, again and again: still not at the ceiling. */
	for (int k = 0; k < 2 * per; k++) {
		CU_ASSERT_EQUAL(accounts_login(&app, &a, email, PASSWORD, strlen(PASSWORD),
		    "203.0.113.9", &s, &retry), PB_OK);
		arena_reset(&a);
	}
	(void)snprintf(sql, sizeof(sql), "SELECT failures FROM login_throttle WHERE "
	    "email_normalized = LOWER('%s') AND client = ''", email);
	sql_value(sql, n, sizeof(n));
	CU_ASSERT_EQUAL(strtol(n, NULL, 10), ACCOUNTS_THROTTLE_EMAIL_MAX - per);

	/* The last failures reach it, from one more client... */
	(void)snprintf(client, sizeof(client), "198.51.100.%d", ++c);
	for (int k = 0; k < per; k++)
		(void)verifications_from(&app, &a, client, email, "a guess", 7, PB_EAUTH);
	/* ... and now every client is refused for the rest of the window, the owner too. */
	CU_ASSERT_EQUAL(verifications_from(&app, &a, "198.51.100.250", email, PASSWORD,
	    strlen(PASSWORD), PB_ERATE), 0);
	CU_ASSERT_EQUAL(accounts_login(&app, &a, email, PASSWORD, strlen(PASSWORD),
	    "203.0.113.9", &s, &retry), PB_ERATE);
	CU_ASSERT(retry > ACCOUNTS_THROTTLE_EMAIL_WINDOW_S - 600 &&
	    retry <= ACCOUNTS_THROTTLE_EMAIL_WINDOW_S);
	/* Another address is not affected. */
	unique_email("elsewhere", email, sizeof(email));
	CU_ASSERT_EQUAL(verifications_from(&app, &a, "198.51.100.250", email, "a guess", 7,
	    PB_EAUTH), 1);
	arena_cleanup(&a);
	app_close(&app);
}

static void
test_no_jwt_secret_refuses(void)
{
	static char empty[] = "";
	struct accounts_signup in = { "Name", "n@example.com", PASSWORD, strlen(PASSWORD) };
	struct accounts_problems p;
	struct accounts_session s;
	char *saved;
	struct arena a;
	struct app app;
	struct account u;
	int64_t retry;

	app_open(&app);
	arena_init(&a, (size_t)1024 * 1024);
	saved = conf.jwt_secret;
	conf.jwt_secret = empty;
	CU_ASSERT_EQUAL(accounts_ready(&app), PB_ECONFIG);
	CU_ASSERT_EQUAL(accounts_register(&app, &a, &in, &p, &s), PB_ECONFIG);
	CU_ASSERT_EQUAL(accounts_login(&app, &a, "n@example.com", PASSWORD, strlen(PASSWORD),
	    "192.0.2.1", &s, &retry), PB_ECONFIG);
	CU_ASSERT_EQUAL(accounts_authenticate(&app, &a, "a.b.c", &u), PB_ECONFIG);
	conf.jwt_secret = saved;
	CU_ASSERT_EQUAL(accounts_ready(&app), PB_OK);
	arena_cleanup(&a);
	app_close(&app);
}

static const struct unit_test tests[] = {
	UNIT_TEST(test_signup_json),
	UNIT_TEST(test_signup_form),
	UNIT_TEST(test_signup_invalid_fields),
	UNIT_TEST(test_email_taken_any_case),
	UNIT_TEST(test_concurrent_signups_one_email),
	UNIT_TEST(test_hostile_name_reaches_stripe_verbatim),
	UNIT_TEST(test_browser_form_post_redirects),
	UNIT_TEST(test_login),
	UNIT_TEST(test_login_throttle),
	UNIT_TEST(test_login_throttle_per_client),
	UNIT_TEST(test_duplicate_key_refused),
	UNIT_TEST(test_tokens),
	UNIT_TEST(test_profile_by_id),
	UNIT_TEST(test_login_verification_count),
	UNIT_TEST(test_login_email_ceiling),
	UNIT_TEST(test_no_jwt_secret_refuses),
};

int
main(int argc, char *argv[])
{
	return itest_main("accounts", tests, sizeof(tests) / sizeof(tests[0]), urls, MAX_URLS, &nurls,
	    argc, argv);
}
