/*
 * The Stripe client against the Stripe emulator (tests/stripe-emulator): every call, with
 * the exact request checked from the emulator's record (method, path, query, form body,
 * Idempotency-Key, Stripe-Version, User-Agent, auth), then retries, deadlines, lost
 * answers, TLS verification and pagination.
 *
 * The program starts the emulator itself (/usr/bin/python3, --port 0 --port-file) and a
 * second one over HTTPS with a self-signed certificate made here with the openssl CLI,
 * and stops both at the end. Usage: test_stripe_client [path/to/emulator.py]
 * (default: $PB_STRIPE_EMULATOR, else the source tree's copy).
 */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <curl/curl.h>

#include "stripe/client.h"
#include "../unit/unit.h"
#include "util/buf.h"
#include "util/conf.h"
#include "util/json.h"
#include "util/log.h"
#include "util/timeutil.h"

#define KEY "sk_test_paybridge_client_tests"
#define API_VERSION "2023-08-16"
#define UA "paybridge/" PACKAGE_VERSION

struct emu {
	pid_t pid;
	char base[128];		/* http(s)://127.0.0.1:<port> */
	char cafile[4200];	/* "" for plain HTTP */
};

static const char *emulator_py;
static char tmpdir[4096];
static struct emu plain, tls;
static struct stripe *client;

/* ---- emulator process and control API ------------------------------------------ */

static int
emu_start(struct emu *e, const char *name, const char *cert, const char *key)
{
	char portfile[4200], text[32];
	const char *python = getenv("PB_PYTHON");
	int64_t until;

	if (python == NULL)
		python = "/usr/bin/python3";
	(void)snprintf(portfile, sizeof(portfile), "%s/%s.port", tmpdir, name);
	fflush(NULL);
	e->pid = fork();
	if (e->pid < 0)
		return -1;
	if (e->pid == 0) {
		/* The emulator dies with us, even if this program crashes. */
		(void)prctl(PR_SET_PDEATHSIG, SIGTERM);
		if (cert != NULL)
			execl(python, python, emulator_py, "--port", "0", "--port-file", portfile,
			    "--quiet", "--tls-cert", cert, "--tls-key", key, (char *)NULL);
		else
			execl(python, python, emulator_py, "--port", "0", "--port-file", portfile,
			    "--quiet", (char *)NULL);
		fprintf(stderr, "cannot run %s: %s\n", python, strerror(errno));
		_exit(127);
	}
	until = time_mono_us() + 15 * 1000000LL;
	while (time_mono_us() < until) {
		FILE *f;
		int status;

		if (waitpid(e->pid, &status, WNOHANG) == e->pid) {
			fprintf(stderr, "FATAL: the emulator (%s) exited at start, status %d\n",
			    emulator_py, status);
			e->pid = 0;
			return -1;
		}
		f = fopen(portfile, "r");
		if (f != NULL) {
			size_t n = fread(text, 1, sizeof(text) - 1, f);

			fclose(f);
			text[n] = '\0';
			if (n > 0 && text[n - 1] == '\n') {
				text[n - 1] = '\0';
				(void)snprintf(e->base, sizeof(e->base), "%s://127.0.0.1:%s",
				    cert != NULL ? "https" : "http", text);
				if (cert != NULL)
					(void)snprintf(e->cafile, sizeof(e->cafile), "%s", cert);
				return 0;
			}
		}
		time_sleep_us(20000);
	}
	fprintf(stderr, "FATAL: the emulator did not write %s within 15 s\n", portfile);
	kill(e->pid, SIGKILL);
	(void)waitpid(e->pid, NULL, 0);
	e->pid = 0;
	return -1;
}

static void
emu_stop(struct emu *e)
{
	int64_t until = time_mono_us() + 5 * 1000000LL;

	if (e->pid <= 0)
		return;
	kill(e->pid, SIGTERM);
	while (waitpid(e->pid, NULL, WNOHANG) == 0) {
		if (time_mono_us() > until) {
			kill(e->pid, SIGKILL);
			(void)waitpid(e->pid, NULL, 0);
			break;
		}
		time_sleep_us(20000);
	}
	e->pid = 0;
}

static size_t
collect(char *p, size_t size, size_t n, void *ud)
{
	return buf_append(ud, p, size * n) == PB_OK ? size * n : 0;
}

/* One control call; returns the parsed answer (put it) or NULL when it was not a 200. */
static struct json_object *
ctl(const struct emu *e, const char *method, const char *path, const char *json)
{
	char url[512];
	struct buf b;
	struct curl_slist *h = NULL;
	struct json_object *out = NULL;
	CURL *c = curl_easy_init();
	long status = 0;

	if (c == NULL)
		return NULL;
	buf_init(&b, (size_t)64 * 1024 * 1024);
	(void)snprintf(url, sizeof(url), "%s/_emulator%s", e->base, path);
	h = curl_slist_append(h, "Content-Type: application/json");
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 20L);
	if (json != NULL)
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, json);
	if (e->cafile[0] != '\0')
		curl_easy_setopt(c, CURLOPT_CAINFO, e->cafile);
	if (curl_easy_perform(c) == CURLE_OK &&
	    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status) == CURLE_OK && status == 200 &&
	    json_parse(buf_cstr(&b), b.len, 128, &out) != PB_OK)
		out = NULL;
	if (status != 200)
		fprintf(stderr, "control %s %s: status %ld: %s\n", method, path, status,
		    buf_cstr(&b));
	curl_slist_free_all(h);
	curl_easy_cleanup(c);
	buf_free(&b);
	return out;
}

static void
ctl_ok(const struct emu *e, const char *method, const char *path, const char *json)
{
	struct json_object *o = ctl(e, method, path, json);

	CU_ASSERT_PTR_NOT_NULL_FATAL(o);
	json_object_put(o);
}

/* Starts a test from nothing: no objects, faults, recorded requests. */
static void
fresh(void)
{
	stripe_set_deadline(client, 0);
	ctl_ok(&plain, "POST", "/reset", "{}");
}

static void
fault(const char *json)
{
	ctl_ok(&plain, "POST", "/faults", json);
}

/* The recorded requests of e, oldest first (put the result). */
static struct json_object *
recorded(const struct emu *e)
{
	struct json_object *o = ctl(e, "GET", "/requests", NULL), *data = NULL;

	CU_ASSERT_PTR_NOT_NULL_FATAL(o);
	CU_ASSERT_TRUE_FATAL(json_object_object_get_ex(o, "data", &data));
	json_object_get(data);
	json_object_put(o);
	return data;
}

static size_t
count_objects(const char *kind)
{
	char path[128];
	struct json_object *o, *data;
	size_t n = 0;

	(void)snprintf(path, sizeof(path), "/objects/%s", kind);
	o = ctl(&plain, "GET", path, NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(o);
	if (json_object_object_get_ex(o, "data", &data))
		n = json_object_array_length(data);
	json_object_put(o);
	return n;
}

static bool
is_uuid4(const char *s)
{
	if (s == NULL || strlen(s) != 36 || s[14] != '4' || strchr("89ab", s[19]) == NULL)
		return false;
	for (int i = 0; i < 36; i++) {
		bool dash = i == 8 || i == 13 || i == 18 || i == 23;

		if (dash ? s[i] != '-' : strchr("0123456789abcdef", s[i]) == NULL)
			return false;
	}
	return true;
}

static const char *
rec_str(struct json_object *r, const char *key)
{
	return json_get_str(r, key);
}

static const char *
rec_header(struct json_object *r, const char *name)
{
	return json_get_str(json_get_path(r, "headers"), name);
}

/*
 * Checks recorded request i: method, path, raw query, raw form body and the key (NULL:
 * must be absent; "uuid4": a random one), plus what every request carries.
 */
static void
expect_request(struct json_object *list, size_t i, const char *method, const char *path,
    const char *query, const char *form, const char *idem)
{
	struct json_object *r = json_object_array_get_idx(list, i);
	const char *auth;

	CU_ASSERT_PTR_NOT_NULL_FATAL(r);
	CU_ASSERT_STRING_EQUAL(rec_str(r, "method"), method);
	CU_ASSERT_STRING_EQUAL(rec_str(r, "path"), path);
	CU_ASSERT_STRING_EQUAL(rec_str(r, "query"), query);
	CU_ASSERT_STRING_EQUAL(rec_str(r, "form"), form);
	if (strcmp(rec_str(r, "form"), form) != 0)
		fprintf(stderr, "form sent: %s\nexpected:  %s\n", rec_str(r, "form"), form);
	if (idem == NULL) {
		CU_ASSERT_PTR_NULL(rec_str(r, "idempotency_key"));
	} else if (strcmp(idem, "uuid4") == 0) {
		CU_ASSERT_TRUE(is_uuid4(rec_str(r, "idempotency_key")));
	} else {
		CU_ASSERT_STRING_EQUAL(rec_str(r, "idempotency_key"), idem);
	}
	CU_ASSERT_STRING_EQUAL(rec_str(r, "stripe_version"), API_VERSION);
	CU_ASSERT_STRING_EQUAL(rec_header(r, "user-agent"), UA);
	auth = rec_header(r, "authorization");
	CU_ASSERT_TRUE(auth != NULL && strncmp(auth, "Bearer sk_test_", 15) == 0);
	if (strcmp(method, "POST") == 0)
		CU_ASSERT_STRING_EQUAL(rec_header(r, "content-type"),
		    "application/x-www-form-urlencoded");
}

/* A client for base; NULL (and a line on stderr) when it cannot be made. */
static struct stripe *
make_client(const char *base, long long timeout_ms, const char *ca_file, const char *key)
{
	struct conf c;
	struct stripe *s = NULL;
	enum pb_err err;

	if (conf_defaults(&c) != PB_OK)
		return NULL;
	free(c.stripe_api_base);
	c.stripe_api_base = strdup(base);
	free(c.stripe_secret_key);
	c.stripe_secret_key = strdup(key);
	free(c.stripe_ca_file);
	c.stripe_ca_file = strdup(ca_file != NULL ? ca_file : "");
	c.stripe_timeout_ms = timeout_ms;
	if (c.stripe_api_base == NULL || c.stripe_secret_key == NULL || c.stripe_ca_file == NULL)
		err = PB_ENOMEM;
	else if (strcmp(c.stripe_api_version, API_VERSION) != 0)
		err = PB_ECONFIG;	/* the tests expect the version we pin */
	else
		err = stripe_new(&c, &s);
	if (err != PB_OK)
		fprintf(stderr, "cannot make a client for %s: %s\n", base, pb_strerror(err));
	conf_free(&c);
	return s;
}

static int64_t
ms_since(int64_t start_us)
{
	return (time_mono_us() - start_us) / 1000;
}

/* Creates a customer with the given email through the client; returns its id (static). */
static const char *
new_customer(const char *email, const char *user_id)
{
	static char id[64];
	const struct stripe_kv meta[] = { { "user_id", user_id } };
	struct stripe_customer_params p = { .email = email, .metadata = meta, .nmetadata = 1 };
	struct stripe_customer c;

	CU_ASSERT_EQUAL_FATAL(stripe_customer_create(client, &p, NULL, &c), PB_OK);
	(void)snprintf(id, sizeof(id), "%s", c.id);
	stripe_customer_free(&c);
	return id;
}

/* ---- customers ---------------------------------------------------------------------- */

static void
test_customer_create(void)
{
	const struct stripe_kv meta[] = { { "user_id", "42" }, { "source", "user_registration" } };
	struct stripe_customer_params p = {
		.name = "Jenny Rosen", .email = "jenny@example.com",
		.description = "Customer for user ID: 42", .metadata = meta, .nmetadata = 2,
	};
	struct stripe_customer c;
	struct json_object *rec;

	fresh();
	CU_ASSERT_EQUAL_FATAL(stripe_customer_create(client, &p, "customer-create-42", &c), PB_OK);
	CU_ASSERT_TRUE(strncmp(c.id, "cus_", 4) == 0);
	CU_ASSERT_STRING_EQUAL(c.name, "Jenny Rosen");
	CU_ASSERT_STRING_EQUAL(c.email, "jenny@example.com");
	CU_ASSERT_STRING_EQUAL(c.description, "Customer for user ID: 42");
	CU_ASSERT_STRING_EQUAL(json_get_str(c.metadata, "user_id"), "42");
	CU_ASSERT_STRING_EQUAL(json_get_str(c.metadata, "source"), "user_registration");
	CU_ASSERT_TRUE(c.created > 0);
	CU_ASSERT_EQUAL(stripe_last_error(client)->status, 200);
	CU_ASSERT_EQUAL(stripe_last_error(client)->attempts, 1);
	CU_ASSERT_TRUE(strncmp(stripe_last_error(client)->request_id, "req_", 4) == 0);
	rec = recorded(&plain);
	CU_ASSERT_EQUAL(json_object_array_length(rec), 1);
	expect_request(rec, 0, "POST", "/v1/customers", "",
	    "name=Jenny%20Rosen&email=jenny%40example.com"
	    "&description=Customer%20for%20user%20ID%3A%2042"
	    "&metadata[user_id]=42&metadata[source]=user_registration", "customer-create-42");
	json_object_put(rec);
	stripe_customer_free(&c);
}

static void
test_customer_retrieve_update(void)
{
	/* Values that would break a naive encoder reach Stripe exactly as given. */
	const char *hostile = "x&metadata[user_id]=999";
	const char *desc = "a&b=c[d]%e+f\nline 2 \xf0\x9f\x98\x80";
	const struct stripe_kv meta[] = { { "user_id", hostile } };
	struct stripe_customer_params p = { .name = "Jenny R.", .description = desc,
	    .metadata = meta, .nmetadata = 1 };
	struct stripe_customer c;
	struct json_object *rec, *params, *m;
	char id[64], path[96];

	fresh();
	(void)snprintf(id, sizeof(id), "%s", new_customer("r@example.com", "42"));
	(void)snprintf(path, sizeof(path), "/v1/customers/%s", id);
	ctl_ok(&plain, "DELETE", "/requests", NULL);

	CU_ASSERT_EQUAL_FATAL(stripe_customer_retrieve(client, id, &c), PB_OK);
	CU_ASSERT_STRING_EQUAL(c.id, id);
	CU_ASSERT_STRING_EQUAL(c.email, "r@example.com");
	stripe_customer_free(&c);

	CU_ASSERT_EQUAL_FATAL(stripe_customer_update(client, id, &p, "update-1", &c), PB_OK);
	CU_ASSERT_STRING_EQUAL(c.name, "Jenny R.");
	CU_ASSERT_STRING_EQUAL(c.description, desc);
	CU_ASSERT_STRING_EQUAL(json_get_str(c.metadata, "user_id"), hostile);
	stripe_customer_free(&c);

	rec = recorded(&plain);
	CU_ASSERT_EQUAL(json_object_array_length(rec), 2);
	expect_request(rec, 0, "GET", path, "", "", NULL);
	expect_request(rec, 1, "POST", path, "",
	    "name=Jenny%20R.&description=a%26b%3Dc%5Bd%5D%25e%2Bf%0Aline%202%20%F0%9F%98%80"
	    "&metadata[user_id]=x%26metadata%5Buser_id%5D%3D999", "update-1");
	params = json_get_path(json_object_array_get_idx(rec, 1), "params");
	CU_ASSERT_EQUAL(json_object_object_length(params), 3);
	CU_ASSERT_STRING_EQUAL(json_get_str(params, "description"), desc);
	m = json_get_path(params, "metadata");
	CU_ASSERT_EQUAL(json_object_object_length(m), 1);
	CU_ASSERT_STRING_EQUAL(json_get_str(m, "user_id"), hostile);
	json_object_put(rec);

	/* "" unsets: the description goes, the metadata key goes. */
	const struct stripe_kv unset[] = { { "user_id", "" } };
	struct stripe_customer_params q = { .description = "", .metadata = unset, .nmetadata = 1 };

	CU_ASSERT_EQUAL_FATAL(stripe_customer_update(client, id, &q, NULL, &c), PB_OK);
	CU_ASSERT_PTR_NULL(c.description);
	CU_ASSERT_PTR_NULL(json_get_str(c.metadata, "user_id"));
	stripe_customer_free(&c);
}

static void
test_customer_default_payment_method(void)
{
	struct stripe_payment_method pm;
	struct stripe_customer c;
	struct json_object *rec;
	char id[64], path[96], form[160];

	fresh();
	(void)snprintf(id, sizeof(id), "%s", new_customer("d@example.com", "43"));
	CU_ASSERT_EQUAL_FATAL(stripe_payment_method_attach(client, "pm_card_visa", id, NULL, &pm),
	    PB_OK);
	ctl_ok(&plain, "DELETE", "/requests", NULL);
	CU_ASSERT_EQUAL_FATAL(stripe_customer_set_default_payment_method(client, id, pm.id,
	    "default-pm-1", &c), PB_OK);
	CU_ASSERT_STRING_EQUAL(c.default_payment_method, pm.id);
	rec = recorded(&plain);
	(void)snprintf(path, sizeof(path), "/v1/customers/%s", id);
	(void)snprintf(form, sizeof(form), "invoice_settings[default_payment_method]=%s", pm.id);
	expect_request(rec, 0, "POST", path, "", form, "default-pm-1");
	json_object_put(rec);
	stripe_customer_free(&c);
	stripe_payment_method_free(&pm);
}

static void
test_customer_delete(void)
{
	struct stripe_customer c;
	struct json_object *rec;
	char id[64], path[96];

	fresh();
	(void)snprintf(id, sizeof(id), "%s", new_customer("del@example.com", "44"));
	(void)snprintf(path, sizeof(path), "/v1/customers/%s", id);
	ctl_ok(&plain, "DELETE", "/requests", NULL);
	CU_ASSERT_EQUAL_FATAL(stripe_customer_delete(client, id, "delete-44", &c), PB_OK);
	CU_ASSERT_TRUE(c.deleted);
	CU_ASSERT_STRING_EQUAL(c.id, id);
	stripe_customer_free(&c);
	CU_ASSERT_EQUAL(stripe_customer_retrieve(client, id, &c), PB_OK);
	CU_ASSERT_TRUE(c.deleted);
	stripe_customer_free(&c);
	CU_ASSERT_EQUAL(stripe_customer_delete(client, id, NULL, NULL), PB_ENOTFOUND);
	CU_ASSERT_STRING_EQUAL(stripe_last_error(client)->code, "resource_missing");
	rec = recorded(&plain);
	CU_ASSERT_EQUAL(json_object_array_length(rec), 3);
	expect_request(rec, 0, "DELETE", path, "", "", "delete-44");
	expect_request(rec, 1, "GET", path, "", "", NULL);
	json_object_put(rec);
}

static void
test_customer_search_and_list(void)
{
	struct stripe_customer_list l;
	struct json_object *rec;
	char a[64], b[64];

	fresh();
	(void)snprintf(a, sizeof(a), "%s", new_customer("same@example.com", "77"));
	(void)snprintf(b, sizeof(b), "%s", new_customer("same@example.com", "78"));
	(void)new_customer("Same@example.com", "77'x");
	ctl_ok(&plain, "DELETE", "/requests", NULL);

	CU_ASSERT_EQUAL_FATAL(stripe_customer_search_user_id(client, "77", 0, &l), PB_OK);
	CU_ASSERT_EQUAL(l.n, 1);
	if (l.n == 1)
		CU_ASSERT_STRING_EQUAL(l.items[0].id, a);
	CU_ASSERT_FALSE(l.has_more);
	stripe_customer_list_free(&l);
	CU_ASSERT_EQUAL_FATAL(stripe_customer_search_user_id(client, "77'x", 0, &l), PB_OK);
	CU_ASSERT_EQUAL(l.n, 1);
	stripe_customer_list_free(&l);

	CU_ASSERT_EQUAL_FATAL(stripe_customer_list_by_email(client, "same@example.com", 0, &l),
	    PB_OK);
	CU_ASSERT_EQUAL(l.n, 2);
	if (l.n == 2) {	/* newest first */
		CU_ASSERT_STRING_EQUAL(l.items[0].id, b);
		CU_ASSERT_STRING_EQUAL(l.items[1].id, a);
	}
	stripe_customer_list_free(&l);

	rec = recorded(&plain);
	CU_ASSERT_EQUAL(json_object_array_length(rec), 3);
	expect_request(rec, 0, "GET", "/v1/customers/search",
	    "query=metadata%5B%27user_id%27%5D%3A%2777%27&limit=100", "", NULL);
	expect_request(rec, 1, "GET", "/v1/customers/search",
	    "query=metadata%5B%27user_id%27%5D%3A%2777%5C%27x%27&limit=100", "", NULL);
	expect_request(rec, 2, "GET", "/v1/customers", "email=same%40example.com&limit=100", "",
	    NULL);
	json_object_put(rec);
}

/* ---- payment intents, methods, refunds ---------------------------------------------- */

static void
test_payment_intents(void)
{
	const struct stripe_kv meta[] = { { "order_id", "7" } };
	struct stripe_payment_intent_params p = {
		.amount = 1099, .currency = "usd", .automatic_payment_methods = true,
		.description = "Order 7", .metadata = meta, .nmetadata = 1,
	};
	struct stripe_payment_intent pi, got;
	struct json_object *rec;
	char cus[64], form[512], path[128];

	fresh();
	(void)snprintf(cus, sizeof(cus), "%s", new_customer("pi@example.com", "45"));
	p.customer = cus;
	ctl_ok(&plain, "DELETE", "/requests", NULL);

	CU_ASSERT_EQUAL_FATAL(stripe_payment_intent_create(client, &p, "pi-order-7", &pi), PB_OK);
	CU_ASSERT_STRING_EQUAL(pi.status, "requires_payment_method");
	CU_ASSERT_EQUAL(pi.amount, 1099);
	CU_ASSERT_STRING_EQUAL(pi.currency, "usd");
	CU_ASSERT_STRING_EQUAL(pi.customer, cus);
	CU_ASSERT_PTR_NOT_NULL(pi.client_secret);
	CU_ASSERT_STRING_EQUAL(json_get_str(pi.metadata, "order_id"), "7");

	CU_ASSERT_EQUAL_FATAL(stripe_payment_intent_retrieve(client, pi.id, &got), PB_OK);
	CU_ASSERT_STRING_EQUAL(got.id, pi.id);
	stripe_payment_intent_free(&got);

	CU_ASSERT_EQUAL_FATAL(stripe_payment_intent_confirm(client, pi.id, "pm_card_visa",
	    "https://example.com/return", "pi-confirm-7", &got), PB_OK);
	CU_ASSERT_STRING_EQUAL(got.status, "succeeded");
	CU_ASSERT_EQUAL(got.amount_received, 1099);
	CU_ASSERT_PTR_NOT_NULL(got.latest_charge);
	stripe_payment_intent_free(&got);

	rec = recorded(&plain);
	CU_ASSERT_EQUAL(json_object_array_length(rec), 3);
	(void)snprintf(form, sizeof(form), "amount=1099&currency=usd&customer=%s"
	    "&description=Order%%207&automatic_payment_methods[enabled]=true"
	    "&metadata[order_id]=7", cus);
	expect_request(rec, 0, "POST", "/v1/payment_intents", "", form, "pi-order-7");
	(void)snprintf(path, sizeof(path), "/v1/payment_intents/%s", pi.id);
	expect_request(rec, 1, "GET", path, "", "", NULL);
	(void)snprintf(path, sizeof(path), "/v1/payment_intents/%s/confirm", pi.id);
	expect_request(rec, 2, "POST", path, "",
	    "payment_method=pm_card_visa&return_url=https%3A%2F%2Fexample.com%2Freturn",
	    "pi-confirm-7");
	json_object_put(rec);
	stripe_payment_intent_free(&pi);

	/* Cancel another one; cancelling it again is a state conflict. */
	p.automatic_payment_methods = false;
	p.metadata = NULL;
	p.nmetadata = 0;
	CU_ASSERT_EQUAL_FATAL(stripe_payment_intent_create(client, &p, NULL, &pi), PB_OK);
	ctl_ok(&plain, "DELETE", "/requests", NULL);
	CU_ASSERT_EQUAL_FATAL(stripe_payment_intent_cancel(client, pi.id, "requested_by_customer",
	    "pi-cancel", &got), PB_OK);
	CU_ASSERT_STRING_EQUAL(got.status, "canceled");
	CU_ASSERT_STRING_EQUAL(got.cancellation_reason, "requested_by_customer");
	stripe_payment_intent_free(&got);
	rec = recorded(&plain);
	(void)snprintf(path, sizeof(path), "/v1/payment_intents/%s/cancel", pi.id);
	expect_request(rec, 0, "POST", path, "", "cancellation_reason=requested_by_customer",
	    "pi-cancel");
	json_object_put(rec);
	CU_ASSERT_EQUAL(stripe_payment_intent_cancel(client, pi.id, NULL, NULL, &got),
	    PB_ECONFLICT);
	CU_ASSERT_STRING_EQUAL(stripe_last_error(client)->code, "payment_intent_unexpected_state");
	stripe_payment_intent_free(&pi);
}

static void
test_payment_intent_errors(void)
{
	struct stripe_payment_intent_params p = { .amount = 2000, .currency = "usd" };
	struct stripe_payment_intent pi, got;
	const struct stripe_error *e = stripe_last_error(client);

	fresh();
	CU_ASSERT_EQUAL_FATAL(stripe_payment_intent_create(client, &p, NULL, &pi), PB_OK);
	CU_ASSERT_EQUAL(stripe_payment_intent_confirm(client, pi.id,
	    "pm_card_chargeDeclinedInsufficientFunds", NULL, NULL, &got), PB_EFIELDS);
	CU_ASSERT_PTR_NULL(got.raw);
	CU_ASSERT_EQUAL(e->err, PB_EFIELDS);
	CU_ASSERT_EQUAL(e->status, 402);
	CU_ASSERT_STRING_EQUAL(e->type, "card_error");
	CU_ASSERT_STRING_EQUAL(e->code, "card_declined");
	CU_ASSERT_STRING_EQUAL(e->decline_code, "insufficient_funds");
	CU_ASSERT_TRUE(strncmp(e->request_id, "req_", 4) == 0);
	CU_ASSERT_EQUAL(e->attempts, 1);	/* a 402 is never retried */
	CU_ASSERT_STRING_EQUAL(stripe_error_public_message(e), "Your card has insufficient funds.");
	CU_ASSERT_EQUAL_FATAL(stripe_payment_intent_retrieve(client, pi.id, &got), PB_OK);
	CU_ASSERT_STRING_EQUAL(got.status, "requires_payment_method");
	CU_ASSERT_STRING_EQUAL(got.last_error_decline_code, "insufficient_funds");
	stripe_payment_intent_free(&got);
	stripe_payment_intent_free(&pi);

	CU_ASSERT_EQUAL(stripe_payment_intent_retrieve(client, "pi_missing", &got), PB_ENOTFOUND);
	CU_ASSERT_EQUAL(e->status, 404);
	CU_ASSERT_STRING_EQUAL(e->code, "resource_missing");
	CU_ASSERT_STRING_EQUAL(stripe_error_public_message(e), pb_strerror(PB_ENOTFOUND));

	/* A bad parameter is the caller's field; Stripe names it. */
	p.currency = "not-a-currency-code";
	CU_ASSERT_NOT_EQUAL(stripe_payment_intent_create(client, &p, NULL, &pi), PB_OK);
	CU_ASSERT_EQUAL(e->status, 400);
}

static void
test_payment_methods(void)
{
	struct stripe_payment_method pm, got;
	struct stripe_payment_method_list l;
	struct json_object *rec;
	char cus[64], path[128], form[96];

	fresh();
	(void)snprintf(cus, sizeof(cus), "%s", new_customer("pm@example.com", "46"));
	ctl_ok(&plain, "DELETE", "/requests", NULL);
	CU_ASSERT_EQUAL_FATAL(stripe_payment_method_attach(client, "pm_card_mastercard", cus,
	    "attach-1", &pm), PB_OK);
	CU_ASSERT_TRUE(strncmp(pm.id, "pm_", 3) == 0);
	CU_ASSERT_STRING_EQUAL(pm.customer, cus);
	CU_ASSERT_STRING_EQUAL(pm.type, "card");
	CU_ASSERT_STRING_EQUAL(pm.card_brand, "mastercard");
	CU_ASSERT_STRING_EQUAL(pm.card_last4, "4444");
	CU_ASSERT_TRUE(pm.card_exp_year > 2000);

	CU_ASSERT_EQUAL_FATAL(stripe_payment_method_list(client, cus, "card", 0, &l), PB_OK);
	CU_ASSERT_EQUAL(l.n, 1);
	if (l.n == 1)
		CU_ASSERT_STRING_EQUAL(l.items[0].id, pm.id);
	stripe_payment_method_list_free(&l);

	CU_ASSERT_EQUAL_FATAL(stripe_payment_method_retrieve(client, pm.id, &got), PB_OK);
	CU_ASSERT_STRING_EQUAL(got.card_last4, "4444");
	stripe_payment_method_free(&got);

	CU_ASSERT_EQUAL_FATAL(stripe_payment_method_detach(client, pm.id, "detach-1", &got), PB_OK);
	CU_ASSERT_PTR_NULL(got.customer);
	stripe_payment_method_free(&got);
	CU_ASSERT_EQUAL_FATAL(stripe_payment_method_list(client, cus, NULL, 0, &l), PB_OK);
	CU_ASSERT_EQUAL(l.n, 0);
	CU_ASSERT_PTR_NULL(l.items);
	stripe_payment_method_list_free(&l);

	rec = recorded(&plain);
	CU_ASSERT_EQUAL(json_object_array_length(rec), 5);
	(void)snprintf(form, sizeof(form), "customer=%s", cus);
	expect_request(rec, 0, "POST", "/v1/payment_methods/pm_card_mastercard/attach", "", form,
	    "attach-1");
	(void)snprintf(path, sizeof(path), "/v1/customers/%s/payment_methods", cus);
	expect_request(rec, 1, "GET", path, "type=card&limit=100", "", NULL);
	(void)snprintf(path, sizeof(path), "/v1/payment_methods/%s", pm.id);
	expect_request(rec, 2, "GET", path, "", "", NULL);
	(void)snprintf(path, sizeof(path), "/v1/payment_methods/%s/detach", pm.id);
	expect_request(rec, 3, "POST", path, "", "", "detach-1");
	json_object_put(rec);
	stripe_payment_method_free(&pm);
}

static void
test_refund(void)
{
	struct stripe_payment_intent_params p = { .amount = 3000, .currency = "usd",
	    .payment_method = "pm_card_visa", .confirm = true };
	const struct stripe_kv meta[] = { { "order_id", "9" } };
	struct stripe_refund_params rp = { .amount = 500, .reason = "requested_by_customer",
	    .metadata = meta, .nmetadata = 1 };
	struct stripe_payment_intent pi;
	struct stripe_refund r;
	struct json_object *rec;
	char form[256];

	fresh();
	CU_ASSERT_EQUAL_FATAL(stripe_payment_intent_create(client, &p, NULL, &pi), PB_OK);
	CU_ASSERT_STRING_EQUAL(pi.status, "succeeded");
	ctl_ok(&plain, "DELETE", "/requests", NULL);
	rp.payment_intent = pi.id;
	CU_ASSERT_EQUAL_FATAL(stripe_refund_create(client, &rp, "refund-9", &r), PB_OK);
	CU_ASSERT_TRUE(strncmp(r.id, "re_", 3) == 0);
	CU_ASSERT_EQUAL(r.amount, 500);
	CU_ASSERT_STRING_EQUAL(r.status, "succeeded");
	CU_ASSERT_STRING_EQUAL(r.payment_intent, pi.id);
	CU_ASSERT_PTR_NOT_NULL(r.charge);
	CU_ASSERT_STRING_EQUAL(json_get_str(r.metadata, "order_id"), "9");
	rec = recorded(&plain);
	(void)snprintf(form, sizeof(form), "payment_intent=%s&amount=500"
	    "&reason=requested_by_customer&metadata[order_id]=9", pi.id);
	expect_request(rec, 0, "POST", "/v1/refunds", "", form, "refund-9");
	json_object_put(rec);
	stripe_refund_free(&r);
	/* More than what is left. */
	rp.amount = 5000;
	CU_ASSERT_EQUAL(stripe_refund_create(client, &rp, NULL, &r), PB_EFIELDS);
	CU_ASSERT_STRING_EQUAL(stripe_last_error(client)->code, "amount_too_large");
	stripe_payment_intent_free(&pi);
}

/* ---- checkout, portal, subscriptions, events --------------------------------------- */

static void
test_checkout_sessions(void)
{
	const struct stripe_line_item items[] = {
		{ .currency = "usd", .unit_amount = 1099, .product_name = "T-shirt", .quantity = 2 },
	};
	const struct stripe_kv meta[] = { { "order_id", "11" } };
	struct stripe_checkout_params p = {
		.mode = "payment", .client_reference_id = "42",
		.success_url = "https://example.com/ok?session={CHECKOUT_SESSION_ID}",
		.cancel_url = "https://example.com/cancel", .line_items = items, .nline_items = 1,
		.metadata = meta, .nmetadata = 1,
	};
	const struct stripe_line_item sub_items[] = { { .price = "price_pro", .quantity = 1 } };
	struct stripe_checkout_session cs, got;
	struct json_object *rec;
	char cus[64], form[1024], path[160];

	fresh();
	(void)snprintf(cus, sizeof(cus), "%s", new_customer("co@example.com", "47"));
	p.customer = cus;
	ctl_ok(&plain, "DELETE", "/requests", NULL);
	CU_ASSERT_EQUAL_FATAL(stripe_checkout_session_create(client, &p, "checkout-11", &cs),
	    PB_OK);
	CU_ASSERT_TRUE(strncmp(cs.id, "cs_test_", 8) == 0);
	CU_ASSERT_STRING_EQUAL(cs.mode, "payment");
	CU_ASSERT_STRING_EQUAL(cs.status, "open");
	CU_ASSERT_STRING_EQUAL(cs.customer, cus);
	CU_ASSERT_EQUAL(cs.amount_total, 2198);
	CU_ASSERT_PTR_NOT_NULL(cs.url);
	CU_ASSERT_STRING_EQUAL(cs.client_reference_id, "42");
	CU_ASSERT_TRUE(cs.expires_at > cs.created);
	CU_ASSERT_EQUAL_FATAL(stripe_checkout_session_retrieve(client, cs.id, &got), PB_OK);
	CU_ASSERT_STRING_EQUAL(got.id, cs.id);
	CU_ASSERT_STRING_EQUAL(got.payment_status, "unpaid");
	stripe_checkout_session_free(&got);

	rec = recorded(&plain);
	(void)snprintf(form, sizeof(form), "mode=payment&customer=%s&client_reference_id=42"
	    "&success_url=https%%3A%%2F%%2Fexample.com%%2Fok%%3Fsession%%3D%%7BCHECKOUT_SESSION_ID%%7D"
	    "&cancel_url=https%%3A%%2F%%2Fexample.com%%2Fcancel"
	    "&line_items[0][price_data][currency]=usd"
	    "&line_items[0][price_data][product_data][name]=T-shirt"
	    "&line_items[0][price_data][unit_amount]=1099&line_items[0][quantity]=2"
	    "&metadata[order_id]=11&payment_intent_data[metadata][order_id]=11", cus);
	expect_request(rec, 0, "POST", "/v1/checkout/sessions", "", form, "checkout-11");
	(void)snprintf(path, sizeof(path), "/v1/checkout/sessions/%s", cs.id);
	expect_request(rec, 1, "GET", path, "", "", NULL);
	json_object_put(rec);
	stripe_checkout_session_free(&cs);

	p.mode = "subscription";
	p.line_items = sub_items;
	p.cancel_url = NULL;
	ctl_ok(&plain, "DELETE", "/requests", NULL);
	CU_ASSERT_EQUAL_FATAL(stripe_checkout_session_create(client, &p, "checkout-sub", &cs),
	    PB_OK);
	CU_ASSERT_STRING_EQUAL(cs.mode, "subscription");
	rec = recorded(&plain);
	(void)snprintf(form, sizeof(form), "mode=subscription&customer=%s&client_reference_id=42"
	    "&success_url=https%%3A%%2F%%2Fexample.com%%2Fok%%3Fsession%%3D%%7BCHECKOUT_SESSION_ID%%7D"
	    "&line_items[0][price]=price_pro&line_items[0][quantity]=1"
	    "&metadata[order_id]=11&subscription_data[metadata][order_id]=11", cus);
	expect_request(rec, 0, "POST", "/v1/checkout/sessions", "", form, "checkout-sub");
	json_object_put(rec);
	stripe_checkout_session_free(&cs);
}

static void
test_portal_session(void)
{
	struct stripe_portal_session ps;
	struct json_object *rec;
	char cus[64], form[256];

	fresh();
	(void)snprintf(cus, sizeof(cus), "%s", new_customer("bp@example.com", "48"));
	ctl_ok(&plain, "DELETE", "/requests", NULL);
	CU_ASSERT_EQUAL_FATAL(stripe_portal_session_create(client, cus,
	    "https://example.com/account", "portal-48", &ps), PB_OK);
	CU_ASSERT_PTR_NOT_NULL(ps.url);
	CU_ASSERT_STRING_EQUAL(ps.customer, cus);
	CU_ASSERT_STRING_EQUAL(ps.return_url, "https://example.com/account");
	rec = recorded(&plain);
	(void)snprintf(form, sizeof(form), "customer=%s"
	    "&return_url=https%%3A%%2F%%2Fexample.com%%2Faccount", cus);
	expect_request(rec, 0, "POST", "/v1/billing_portal/sessions", "", form, "portal-48");
	json_object_put(rec);
	stripe_portal_session_free(&ps);
}

static void
test_subscription_retrieve(void)
{
	struct stripe_subscription sub;
	struct json_object *made, *rec;
	char cus[64], body[256], path[128];
	const char *id;

	fresh();
	(void)snprintf(cus, sizeof(cus), "%s", new_customer("sub@example.com", "49"));
	ctl_ok(&plain, "POST", "/prices", "{\"id\":\"price_pro\",\"unit_amount\":2000,"
	    "\"currency\":\"usd\",\"recurring\":{\"interval\":\"month\"},\"name\":\"Pro\"}");
	(void)snprintf(body, sizeof(body), "{\"customer\":\"%s\",\"price\":\"price_pro\"}", cus);
	made = ctl(&plain, "POST", "/subscriptions", body);
	CU_ASSERT_PTR_NOT_NULL_FATAL(made);
	id = json_get_str(made, "id");
	CU_ASSERT_PTR_NOT_NULL_FATAL(id);
	ctl_ok(&plain, "DELETE", "/requests", NULL);
	CU_ASSERT_EQUAL_FATAL(stripe_subscription_retrieve(client, id, &sub), PB_OK);
	CU_ASSERT_STRING_EQUAL(sub.status, "active");
	CU_ASSERT_STRING_EQUAL(sub.customer, cus);
	CU_ASSERT_STRING_EQUAL(sub.price, "price_pro");
	CU_ASSERT_EQUAL(sub.quantity, 1);
	/* The emulator answers in the new shape: the period comes from the item. */
	CU_ASSERT_TRUE(sub.current_period_start > 0);
	CU_ASSERT_TRUE(sub.current_period_end > sub.current_period_start);
	CU_ASSERT_PTR_NOT_NULL(sub.latest_invoice);
	rec = recorded(&plain);
	(void)snprintf(path, sizeof(path), "/v1/subscriptions/%s", id);
	expect_request(rec, 0, "GET", path, "", "", NULL);
	json_object_put(rec);
	stripe_subscription_free(&sub);
	json_object_put(made);
}

/* 105 customers: more than one page of 100. */
#define MANY 105

static void
test_pagination(void)
{
	struct stripe_customer_list l;
	struct stripe_event_list el;
	struct stripe_event ev;
	struct stripe_event_list_params ep = { .type = "customer.created", .max = 250 };
	struct json_object *rec;
	char first[64], hundredth[64], q[256];
	int64_t since;

	fresh();
	for (int i = 0; i < MANY; i++)
		(void)new_customer("many@example.com", "50");
	/* Sure of the clock: everything was created at or after the first customer. */
	CU_ASSERT_EQUAL_FATAL(stripe_customer_list_by_email(client, "many@example.com", 250, &l),
	    PB_OK);
	CU_ASSERT_EQUAL_FATAL(l.n, MANY);
	CU_ASSERT_FALSE(l.has_more);
	(void)snprintf(first, sizeof(first), "%s", l.items[MANY - 1].id);
	(void)snprintf(hundredth, sizeof(hundredth), "%s", l.items[99].id);
	since = l.items[MANY - 1].created;
	for (size_t i = 1; i < l.n; i++)	/* newest first, no duplicates across pages */
		CU_ASSERT_TRUE(l.items[i].created <= l.items[i - 1].created &&
		    strcmp(l.items[i].id, l.items[i - 1].id) != 0);
	stripe_customer_list_free(&l);
	rec = recorded(&plain);
	CU_ASSERT_EQUAL_FATAL(json_object_array_length(rec), MANY + 2);
	expect_request(rec, MANY, "GET", "/v1/customers", "email=many%40example.com&limit=100",
	    "", NULL);
	(void)snprintf(q, sizeof(q), "email=many%%40example.com&limit=100&starting_after=%s",
	    hundredth);
	expect_request(rec, MANY + 1, "GET", "/v1/customers", q, "", NULL);
	json_object_put(rec);

	/* A bound below what exists: one page, has_more set. */
	ctl_ok(&plain, "DELETE", "/requests", NULL);
	CU_ASSERT_EQUAL_FATAL(stripe_customer_list_by_email(client, "many@example.com", 3, &l),
	    PB_OK);
	CU_ASSERT_EQUAL(l.n, 3);
	CU_ASSERT_TRUE(l.has_more);
	stripe_customer_list_free(&l);
	CU_ASSERT_EQUAL_FATAL(stripe_customer_list_by_email(client, "many@example.com", 0, &l),
	    PB_OK);
	CU_ASSERT_EQUAL(l.n, 100);
	CU_ASSERT_TRUE(l.has_more);
	stripe_customer_list_free(&l);
	rec = recorded(&plain);
	CU_ASSERT_EQUAL(json_object_array_length(rec), 2);
	expect_request(rec, 0, "GET", "/v1/customers", "email=many%40example.com&limit=3", "",
	    NULL);
	json_object_put(rec);

	/* Search pages with Stripe's "page" cursor. */
	ctl_ok(&plain, "DELETE", "/requests", NULL);
	CU_ASSERT_EQUAL_FATAL(stripe_customer_search_user_id(client, "50", 250, &l), PB_OK);
	CU_ASSERT_EQUAL(l.n, MANY);
	CU_ASSERT_FALSE(l.has_more);
	stripe_customer_list_free(&l);
	rec = recorded(&plain);
	CU_ASSERT_EQUAL_FATAL(json_object_array_length(rec), 2);
	CU_ASSERT_PTR_NOT_NULL(strstr(rec_str(json_object_array_get_idx(rec, 1), "query"),
	    "&page="));
	json_object_put(rec);

	/* Events from a point in time, across pages. */
	ep.created_gte = since;
	ctl_ok(&plain, "DELETE", "/requests", NULL);
	CU_ASSERT_EQUAL_FATAL(stripe_event_list(client, &ep, &el), PB_OK);
	CU_ASSERT_EQUAL_FATAL(el.n, MANY);
	CU_ASSERT_FALSE(el.has_more);
	for (size_t i = 0; i < el.n; i++) {
		CU_ASSERT_STRING_EQUAL(el.items[i].type, "customer.created");
		CU_ASSERT_TRUE(el.items[i].created >= since);
	}
	CU_ASSERT_STRING_EQUAL(json_get_str(el.items[MANY - 1].object, "id"), first);
	CU_ASSERT_PTR_NOT_NULL(el.items[0].request_id);
	rec = recorded(&plain);
	CU_ASSERT_EQUAL_FATAL(json_object_array_length(rec), 2);
	(void)snprintf(q, sizeof(q), "created[gte]=%lld&type=customer.created&limit=100",
	    (long long)since);
	expect_request(rec, 0, "GET", "/v1/events", q, "", NULL);
	(void)snprintf(q, sizeof(q), "created[gte]=%lld&type=customer.created&limit=100"
	    "&starting_after=%s", (long long)since, el.items[99].id);
	expect_request(rec, 1, "GET", "/v1/events", q, "", NULL);
	json_object_put(rec);

	/* Continuing from a saved cursor, and one event by id. */
	ep.starting_after = el.items[99].id;
	ep.max = 0;
	{
		struct stripe_event_list rest;

		CU_ASSERT_EQUAL_FATAL(stripe_event_list(client, &ep, &rest), PB_OK);
		CU_ASSERT_EQUAL(rest.n, MANY - 100);
		stripe_event_list_free(&rest);
	}
	CU_ASSERT_EQUAL_FATAL(stripe_event_retrieve(client, el.items[0].id, &ev), PB_OK);
	CU_ASSERT_STRING_EQUAL(ev.id, el.items[0].id);
	CU_ASSERT_STRING_EQUAL(ev.type, "customer.created");
	CU_ASSERT_PTR_NOT_NULL(ev.api_version);
	stripe_event_free(&ev);
	stripe_event_list_free(&el);
}

/* Every live customer a page at a time: the walk of paybridgectl reconcile. */
static void
test_customer_list_page(void)
{
	struct stripe_customer_list l;
	struct json_object *rec;
	char last[64], gone[64], q[256];

	fresh();
	(void)snprintf(gone, sizeof(gone), "%s", new_customer("page@example.com", "7"));
	for (int i = 0; i < MANY; i++)
		(void)new_customer(i % 2 == 0 ? "page@example.com" : "other@example.com", "8");
	CU_ASSERT_EQUAL_FATAL(stripe_customer_delete(client, gone, NULL, NULL), PB_OK);
	ctl_ok(&plain, "DELETE", "/requests", NULL);
	CU_ASSERT_EQUAL_FATAL(stripe_customer_list_page(client, NULL, 100, &l), PB_OK);
	CU_ASSERT_EQUAL_FATAL(l.n, 100);
	CU_ASSERT_TRUE(l.has_more);
	(void)snprintf(last, sizeof(last), "%s", l.items[99].id);
	stripe_customer_list_free(&l);
	/* The rest; the deleted customer is not listed. */
	CU_ASSERT_EQUAL_FATAL(stripe_customer_list_page(client, last, 100, &l), PB_OK);
	CU_ASSERT_EQUAL(l.n, MANY - 100);
	CU_ASSERT_FALSE(l.has_more);
	for (size_t i = 0; i < l.n; i++)
		CU_ASSERT_TRUE(strcmp(l.items[i].id, gone) != 0 && !l.items[i].deleted);
	stripe_customer_list_free(&l);
	CU_ASSERT_EQUAL_FATAL(stripe_customer_list_page(client, "", 2, &l), PB_OK);
	CU_ASSERT_EQUAL(l.n, 2);
	CU_ASSERT_TRUE(l.has_more);
	stripe_customer_list_free(&l);
	rec = recorded(&plain);
	CU_ASSERT_EQUAL_FATAL(json_object_array_length(rec), 3);
	expect_request(rec, 0, "GET", "/v1/customers", "limit=100", "", NULL);
	(void)snprintf(q, sizeof(q), "limit=100&starting_after=%s", last);
	expect_request(rec, 1, "GET", "/v1/customers", q, "", NULL);
	expect_request(rec, 2, "GET", "/v1/customers", "limit=2", "", NULL);
	json_object_put(rec);
	/* A page is 1 to 100: refused before anything is sent. */
	CU_ASSERT_EQUAL(stripe_customer_list_page(client, NULL, 0, &l), PB_EINVAL);
	CU_ASSERT_EQUAL(stripe_customer_list_page(client, NULL, 101, &l), PB_EINVAL);
	CU_ASSERT_EQUAL(l.n, 0);
	rec = recorded(&plain);
	CU_ASSERT_EQUAL(json_object_array_length(rec), 3);
	json_object_put(rec);
}

/* ---- retries, deadlines, lost answers ----------------------------------------------- */

static void
create_for_retry(const char *key, enum pb_err want, struct stripe_customer *c)
{
	struct stripe_customer_params p = { .email = "retry@example.com" };

	CU_ASSERT_EQUAL(stripe_customer_create(client, &p, key, c), want);
}

static void
test_retry_500_then_success(void)
{
	struct stripe_customer c;
	struct json_object *rec;

	fresh();
	fault("{\"method\":\"POST\",\"path\":\"/v1/customers\",\"kind\":\"error\","
	    "\"status\":500,\"count\":1}");
	create_for_retry("retry-500", PB_OK, &c);
	CU_ASSERT_EQUAL(stripe_last_error(client)->attempts, 2);
	rec = recorded(&plain);
	CU_ASSERT_EQUAL(json_object_array_length(rec), 2);
	expect_request(rec, 0, "POST", "/v1/customers", "", "email=retry%40example.com",
	    "retry-500");
	expect_request(rec, 1, "POST", "/v1/customers", "", "email=retry%40example.com",
	    "retry-500");
	json_object_put(rec);
	CU_ASSERT_EQUAL(count_objects("customers"), 1);
	stripe_customer_free(&c);
}

/*
 * The emulator applies the request and closes the connection without answering. On a
 * new connection that is an empty reply, and our retry sends the same key again; on a
 * kept-alive connection libcurl itself re-sends once (it cannot tell a lost answer from a
 * connection the server had closed), with the same headers. Either way Stripe sees the
 * key twice, replays the first answer, and exactly one customer exists.
 */
static void
lost_answer(struct stripe *s, const char *key, int attempts)
{
	struct stripe_customer_params p = { .email = "retry@example.com" };
	struct stripe_customer c;
	struct json_object *rec, *objs, *data;
	bool replayed = false;

	fresh();
	fault("{\"method\":\"POST\",\"path\":\"/v1/customers\",\"kind\":\"drop_after_apply\"}");
	CU_ASSERT_EQUAL_FATAL(stripe_customer_create(s, &p, key, &c), PB_OK);
	CU_ASSERT_EQUAL(stripe_last_error(s)->attempts, attempts);
	rec = recorded(&plain);
	CU_ASSERT_EQUAL_FATAL(json_object_array_length(rec), 2);
	expect_request(rec, 0, "POST", "/v1/customers", "", "email=retry%40example.com", key);
	expect_request(rec, 1, "POST", "/v1/customers", "", "email=retry%40example.com", key);
	CU_ASSERT_STRING_EQUAL(rec_str(json_object_array_get_idx(rec, 0), "status"), "dropped");
	CU_ASSERT_TRUE(json_get_bool(json_object_array_get_idx(rec, 1), "idempotent_replayed",
	    &replayed) && replayed);
	json_object_put(rec);
	objs = ctl(&plain, "GET", "/objects/customers", NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(objs);
	CU_ASSERT_TRUE_FATAL(json_object_object_get_ex(objs, "data", &data));
	CU_ASSERT_EQUAL(json_object_array_length(data), 1);
	CU_ASSERT_STRING_EQUAL(json_get_str(json_object_array_get_idx(data, 0), "id"), c.id);
	json_object_put(objs);
	stripe_customer_free(&c);
}

static void
test_lost_answer_then_retry(void)
{
	struct stripe *s = make_client(plain.base, 10000, NULL, KEY);
	struct stripe_customer warm;

	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	lost_answer(s, "lost-answer-new-connection", 2);
	stripe_free(s);
	/* Make sure the shared client holds an open connection. */
	(void)stripe_customer_retrieve(client, "cus_warm", &warm);
	stripe_customer_free(&warm);
	lost_answer(client, "lost-answer-kept-alive", 1);
}

static void
test_random_key_reused_by_retries(void)
{
	struct stripe_customer c;
	struct json_object *rec;
	const char *k0, *k1;

	fresh();
	fault("{\"method\":\"POST\",\"path\":\"/v1/customers\",\"kind\":\"error\","
	    "\"status\":503,\"count\":1}");
	create_for_retry(NULL, PB_OK, &c);
	stripe_customer_free(&c);
	create_for_retry(NULL, PB_OK, &c);
	stripe_customer_free(&c);
	rec = recorded(&plain);
	CU_ASSERT_EQUAL_FATAL(json_object_array_length(rec), 3);
	expect_request(rec, 0, "POST", "/v1/customers", "", "email=retry%40example.com", "uuid4");
	k0 = rec_str(json_object_array_get_idx(rec, 0), "idempotency_key");
	k1 = rec_str(json_object_array_get_idx(rec, 1), "idempotency_key");
	CU_ASSERT_STRING_EQUAL(k0, k1);
	CU_ASSERT_STRING_NOT_EQUAL(k1, rec_str(json_object_array_get_idx(rec, 2),
	    "idempotency_key"));
	json_object_put(rec);
}

static void
test_should_retry_false(void)
{
	struct stripe_customer c;
	struct json_object *rec;

	fresh();
	fault("{\"method\":\"POST\",\"path\":\"/v1/customers\",\"kind\":\"error\","
	    "\"status\":500,\"should_retry\":false,\"count\":5}");
	create_for_retry("no-retry", PB_ESTRIPE, &c);
	CU_ASSERT_EQUAL(stripe_last_error(client)->attempts, 1);
	CU_ASSERT_EQUAL(stripe_last_error(client)->status, 500);
	CU_ASSERT_STRING_EQUAL(stripe_last_error(client)->type, "api_error");
	rec = recorded(&plain);
	CU_ASSERT_EQUAL(json_object_array_length(rec), 1);
	json_object_put(rec);
	CU_ASSERT_EQUAL(count_objects("customers"), 0);
}

static void
test_should_retry_true_and_409(void)
{
	struct stripe_customer c;

	fresh();
	/* A 400 is final, unless Stripe says otherwise. */
	fault("{\"method\":\"POST\",\"path\":\"/v1/customers\",\"kind\":\"error\","
	    "\"status\":400,\"should_retry\":true,\"store\":false,\"count\":1,"
	    "\"body\":{\"error\":{\"type\":\"invalid_request_error\",\"message\":\"again\"}}}");
	create_for_retry("retry-true", PB_OK, &c);
	CU_ASSERT_EQUAL(stripe_last_error(client)->attempts, 2);
	stripe_customer_free(&c);
	fault("{\"method\":\"POST\",\"path\":\"/v1/customers\",\"kind\":\"error\","
	    "\"status\":409,\"count\":1}");
	create_for_retry("retry-409", PB_OK, &c);
	CU_ASSERT_EQUAL(stripe_last_error(client)->attempts, 2);
	stripe_customer_free(&c);
	CU_ASSERT_EQUAL(count_objects("customers"), 2);
}

static void
test_429_retry_after(void)
{
	struct stripe_customer c;
	int64_t start, ms;

	fresh();
	fault("{\"method\":\"GET\",\"path\":\"/v1/customers/cus_x\",\"match\":\"prefix\","
	    "\"kind\":\"error\",\"status\":429,\"retry_after\":1,\"count\":1}");
	start = time_mono_us();
	CU_ASSERT_EQUAL(stripe_customer_retrieve(client, "cus_x", &c), PB_ENOTFOUND);
	ms = ms_since(start);
	CU_ASSERT_EQUAL(stripe_last_error(client)->attempts, 2);
	CU_ASSERT_TRUE(ms >= 990 && ms < 2500);
	fprintf(stderr, "429 with Retry-After: 1 took %lld ms\n", (long long)ms);
}

static void
test_retries_exhausted(void)
{
	struct stripe_customer c;
	struct json_object *rec;
	int64_t start, ms;

	fresh();
	fault("{\"method\":\"POST\",\"path\":\"/v1/customers\",\"kind\":\"error\","
	    "\"status\":503,\"count\":10}");
	start = time_mono_us();
	create_for_retry("exhausted", PB_ESTRIPE, &c);
	ms = ms_since(start);
	/* stripe_max_retries = 2: three attempts, waits of 0.5 s then 0.5..1 s. */
	CU_ASSERT_EQUAL(stripe_last_error(client)->attempts, 3);
	CU_ASSERT_EQUAL(stripe_last_error(client)->status, 503);
	CU_ASSERT_TRUE(ms >= 1000 && ms < 3000);
	rec = recorded(&plain);
	CU_ASSERT_EQUAL(json_object_array_length(rec), 3);
	json_object_put(rec);
}

static void
test_hang_deadline(void)
{
	struct stripe *s = make_client(plain.base, 2000, NULL, KEY);
	struct stripe_customer c;
	struct json_object *rec;
	int64_t start, ms;

	fresh();
	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	fault("{\"method\":\"GET\",\"path\":\"/v1/customers/cus_hang\",\"kind\":\"hang\","
	    "\"seconds\":4,\"count\":5}");
	start = time_mono_us();
	CU_ASSERT_EQUAL(stripe_customer_retrieve(s, "cus_hang", &c), PB_ETIMEOUT);
	ms = ms_since(start);
	fprintf(stderr, "hanging endpoint, 2 s deadline: returned after %lld ms\n", (long long)ms);
	CU_ASSERT_TRUE(ms >= 1900 && ms < 2500);
	CU_ASSERT_TRUE(stripe_last_error(s)->timed_out);
	CU_ASSERT_EQUAL(stripe_last_error(s)->status, 0);
	rec = recorded(&plain);
	CU_ASSERT_EQUAL(json_object_array_length(rec), 1);
	json_object_put(rec);
	stripe_free(s);
}

static void
test_caller_deadline(void)
{
	struct stripe_customer c;
	int64_t start, ms;

	fresh();
	fault("{\"method\":\"GET\",\"path\":\"/v1/customers/cus_slow\",\"kind\":\"latency\","
	    "\"ms\":1500}");
	start = time_mono_us();
	stripe_set_deadline(client, start + 300000);
	CU_ASSERT_EQUAL(stripe_customer_retrieve(client, "cus_slow", &c), PB_ETIMEOUT);
	ms = ms_since(start);
	fprintf(stderr, "caller's deadline of 300 ms: returned after %lld ms\n", (long long)ms);
	CU_ASSERT_TRUE(ms >= 290 && ms < 800);
	/*
	 * A deadline already past sends nothing. Set one explicitly: the call above may give
	 * up a millisecond before its deadline (curl's timer), leaving a sliver of budget.
	 */
	stripe_set_deadline(client, time_mono_us() - 1000);
	CU_ASSERT_EQUAL(stripe_customer_retrieve(client, "cus_slow", &c), PB_ETIMEOUT);
	CU_ASSERT_EQUAL(stripe_last_error(client)->attempts, 0);
	stripe_set_deadline(client, 0);
}

static void
test_network_error(void)
{
	/* Nothing listens on port 1: connection refused, retried, then given up. */
	struct stripe *s = make_client("http://127.0.0.1:1", 10000, NULL, KEY);
	struct stripe_customer c;

	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	CU_ASSERT_EQUAL(stripe_customer_retrieve(s, "cus_1", &c), PB_ESTRIPE);
	CU_ASSERT_EQUAL(stripe_last_error(s)->attempts, 3);
	CU_ASSERT_EQUAL(stripe_last_error(s)->status, 0);
	CU_ASSERT_FALSE(stripe_last_error(s)->timed_out);
	CU_ASSERT_NOT_EQUAL(stripe_last_error(s)->message[0], '\0');
	stripe_free(s);
}

static void
test_idempotency_conflict(void)
{
	struct stripe_customer_params a = { .email = "a@example.com" };
	struct stripe_customer_params b = { .email = "b@example.com" };
	struct stripe_customer c;

	fresh();
	CU_ASSERT_EQUAL_FATAL(stripe_customer_create(client, &a, "same-key", &c), PB_OK);
	CU_ASSERT_FALSE(stripe_last_error(client)->replayed);
	stripe_customer_free(&c);
	/* The same key and body again: Stripe's stored answer, the same customer. */
	CU_ASSERT_EQUAL_FATAL(stripe_customer_create(client, &a, "same-key", &c), PB_OK);
	CU_ASSERT_TRUE(stripe_last_error(client)->replayed);
	stripe_customer_free(&c);
	/* Each call starts unreplayed: a plain read is never one. */
	CU_ASSERT_EQUAL(stripe_customer_retrieve(client, "cus_nobody", &c), PB_ENOTFOUND);
	CU_ASSERT_FALSE(stripe_last_error(client)->replayed);
	CU_ASSERT_EQUAL(count_objects("customers"), 1);
	CU_ASSERT_EQUAL(stripe_customer_create(client, &b, "same-key", &c), PB_ECONFLICT);
	CU_ASSERT_STRING_EQUAL(stripe_last_error(client)->type, "idempotency_error");
	/* A key that could forge a header is refused before anything is sent. */
	CU_ASSERT_EQUAL(stripe_customer_create(client, &a, "bad\r\nX-Evil: 1", &c), PB_EINVAL);
	CU_ASSERT_EQUAL(stripe_customer_retrieve(client, "", &c), PB_EINVAL);
}

static void
test_keep_alive(void)
{
	struct stripe_customer c;

	fresh();
	(void)stripe_customer_retrieve(client, "cus_ka1", &c);
	CU_ASSERT_EQUAL(stripe_customer_retrieve(client, "cus_ka2", &c), PB_ENOTFOUND);
	CU_ASSERT_EQUAL(stripe_last_error(client)->connects, 0);
	CU_ASSERT_EQUAL(stripe_customer_retrieve(client, "cus_ka3", &c), PB_ENOTFOUND);
	CU_ASSERT_EQUAL(stripe_last_error(client)->connects, 0);
}

static void
test_missing_key(void)
{
	struct stripe *s = make_client(plain.base, 2000, NULL, "");
	struct stripe_customer c;
	struct json_object *rec;

	fresh();
	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	CU_ASSERT_EQUAL(stripe_customer_retrieve(s, "cus_1", &c), PB_ECONFIG);
	rec = recorded(&plain);
	CU_ASSERT_EQUAL(json_object_array_length(rec), 0);
	json_object_put(rec);
	stripe_free(s);
}

/* ---- TLS ------------------------------------------------------------------------------ */

static void
test_tls_untrusted_certificate(void)
{
	struct stripe *s;
	struct stripe_customer c;
	struct stripe_customer_params p = { .email = "tls@example.com" };
	struct json_object *rec;

	ctl_ok(&tls, "POST", "/reset", "{}");
	/* The system's CAs do not know our self-signed certificate: nothing is sent. */
	s = make_client(tls.base, 5000, NULL, KEY);
	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	CU_ASSERT_EQUAL(stripe_customer_create(s, &p, "tls-1", &c), PB_ESTRIPE);
	CU_ASSERT_EQUAL(stripe_last_error(s)->status, 0);
	CU_ASSERT_EQUAL(stripe_last_error(s)->attempts, 1);	/* not retried */
	fprintf(stderr, "untrusted certificate: %s\n", stripe_last_error(s)->message);
	stripe_free(s);
	rec = recorded(&tls);
	CU_ASSERT_EQUAL(json_object_array_length(rec), 0);
	json_object_put(rec);

	/* With that certificate as stripe_ca_file, the same call goes through. */
	s = make_client(tls.base, 5000, tls.cafile, KEY);
	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	CU_ASSERT_EQUAL(stripe_customer_create(s, &p, "tls-2", &c), PB_OK);
	stripe_customer_free(&c);
	stripe_free(s);
	rec = recorded(&tls);
	CU_ASSERT_EQUAL(json_object_array_length(rec), 1);
	json_object_put(rec);
}

static const struct unit_test tests[] = {
	UNIT_TEST(test_customer_create),
	UNIT_TEST(test_customer_retrieve_update),
	UNIT_TEST(test_customer_default_payment_method),
	UNIT_TEST(test_customer_delete),
	UNIT_TEST(test_customer_search_and_list),
	UNIT_TEST(test_payment_intents),
	UNIT_TEST(test_payment_intent_errors),
	UNIT_TEST(test_payment_methods),
	UNIT_TEST(test_refund),
	UNIT_TEST(test_checkout_sessions),
	UNIT_TEST(test_portal_session),
	UNIT_TEST(test_subscription_retrieve),
	UNIT_TEST(test_pagination),
	UNIT_TEST(test_customer_list_page),
	UNIT_TEST(test_retry_500_then_success),
	UNIT_TEST(test_lost_answer_then_retry),
	UNIT_TEST(test_random_key_reused_by_retries),
	UNIT_TEST(test_should_retry_false),
	UNIT_TEST(test_should_retry_true_and_409),
	UNIT_TEST(test_429_retry_after),
	UNIT_TEST(test_retries_exhausted),
	UNIT_TEST(test_hang_deadline),
	UNIT_TEST(test_caller_deadline),
	UNIT_TEST(test_network_error),
	UNIT_TEST(test_idempotency_conflict),
	UNIT_TEST(test_keep_alive),
	UNIT_TEST(test_missing_key),
	UNIT_TEST(test_tls_untrusted_certificate),
};

/* Makes a self-signed certificate for 127.0.0.1 with the openssl CLI. */
static int
make_certificate(char *cert, size_t certlen, char *key, size_t keylen)
{
	pid_t pid;
	int status = -1;

	(void)snprintf(cert, certlen, "%s/cert.pem", tmpdir);
	(void)snprintf(key, keylen, "%s/key.pem", tmpdir);
	fflush(NULL);
	pid = fork();
	if (pid == 0) {
		FILE *null = freopen("/dev/null", "w", stderr);

		(void)null;
		execlp("openssl", "openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
		    "ec_paramgen_curve:prime256v1", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1",
		    "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", key, "-out", cert,
		    (char *)NULL);
		_exit(127);
	}
	if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status) ||
	    WEXITSTATUS(status) != 0) {
		fprintf(stderr, "FATAL: openssl could not make a certificate (status %d)\n", status);
		return -1;
	}
	return 0;
}

/* Removes what this program put in tmpdir (the emulators remove their port files). */
static void
remove_tmpdir(void)
{
	static const char *const files[] = { "cert.pem", "key.pem", "plain.port", "tls.port" };
	char path[4200];

	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		(void)snprintf(path, sizeof(path), "%s/%s", tmpdir, files[i]);
		(void)unlink(path);
	}
	if (rmdir(tmpdir) != 0)
		fprintf(stderr, "could not remove %s: %s\n", tmpdir, strerror(errno));
}

int
main(int argc, char **argv)
{
	char cert[4200], key[4200];
	int failed = 1;

	emulator_py = argc > 1 ? argv[1] : getenv("PB_STRIPE_EMULATOR");
	if (emulator_py == NULL)
		emulator_py = PB_SRCDIR "/tests/stripe-emulator/emulator.py";
	if (access(emulator_py, R_OK) != 0) {
		fprintf(stderr, "FATAL: cannot read the emulator %s\n", emulator_py);
		return 1;
	}
	(void)snprintf(tmpdir, sizeof(tmpdir), "%s/pb-stripe-test.XXXXXX",
	    getenv("TMPDIR") != NULL ? getenv("TMPDIR") : "/tmp");
	if (mkdtemp(tmpdir) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	log_set_role("test");
	log_set_level(getenv("PB_TEST_VERBOSE") != NULL ? LOGL_DEBUG : LOGL_ERROR);
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		goto out;
	if (make_certificate(cert, sizeof(cert), key, sizeof(key)) != 0 ||
	    emu_start(&plain, "plain", NULL, NULL) != 0 ||
	    emu_start(&tls, "tls", cert, key) != 0)
		goto out;
	fprintf(stderr, "emulators at %s and %s\n", plain.base, tls.base);
	client = make_client(plain.base, 10000, NULL, KEY);
	if (client == NULL)
		goto out;
	failed = unit_main("stripe_client", tests, sizeof(tests) / sizeof(tests[0]));
out:
	stripe_free(client);
	emu_stop(&tls);
	emu_stop(&plain);
	curl_global_cleanup();
	remove_tmpdir();
	return failed;
}
