/*
 * The public catalog (issue 9) through the real stack (tests/integration/run.sh): GET
 * /v1/products and /v1/products/{id} through every base URL of PB_TEST_URLS (nginx and
 * Apache). Products are written straight into MariaDB, as paybridgectl would leave them
 * (its own suite is products-test.sh); every answer is checked against the table.
 */
#include "config.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "itest.h"

#define MAX_URLS 4
#define PAGE_ITEMS_MAX 200
#define REQUESTS_PER_CLIENT 20
#define CLIENTS_MAX 128

static const char *urls[MAX_URLS];
static size_t nurls;

/* base + path, answered; the transfer itself must work. */
static void
get(const char *base, const char *path, struct itest_response *r)
{
	CU_ASSERT_FATAL(itest_get(base, path, r));
}

/* Inserts one product (one-time when interval is NULL); returns its id. */
static long long
insert(const char *slug, long long amount, const char *currency, const char *interval,
    int count, int active)
{
	char out[64];

	(void)itest_sqlf(out, sizeof(out), "INSERT INTO products (slug, name, description, "
	    "amount, currency, kind, recurring_interval, recurring_interval_count, "
	    "stripe_product_id, stripe_price_id, active) VALUES ('%s', 'Name of %s', %s, %lld, "
	    "'%s', '%s', %s%s%s, %s, 'prod_%s', 'price_%s', %d)", slug, slug,
	    interval != NULL ? "'Recurring.'" : "NULL", amount, currency,
	    interval != NULL ? "recurring" : "one_time", interval != NULL ? "'" : "",
	    interval != NULL ? interval : "NULL", interval != NULL ? "'" : "",
	    interval != NULL ? (count == 2 ? "2" : "1") : "NULL", slug, slug, active);
	return itest_sql_num("SELECT id FROM products WHERE slug = '%s'", slug);
}

/* The error envelope: success false, the code, a message. */
static void
check_error(const struct itest_response *r, long status, const char *code)
{
	struct json_object *v;

	CU_ASSERT_EQUAL(r->status, status);
	CU_ASSERT_PTR_NOT_NULL_FATAL(r->json);
	CU_ASSERT_TRUE(json_object_object_get_ex(r->json, "success", &v) &&
	    !json_object_get_boolean(v));
	CU_ASSERT_PTR_NOT_NULL(itest_json_str(r, "error.code"));
	if (itest_json_str(r, "error.code") != NULL)
		CU_ASSERT_STRING_EQUAL(itest_json_str(r, "error.code"), code);
	CU_ASSERT_PTR_NOT_NULL(itest_json_str(r, "error.message"));
}

/* data.items of a list answer, or NULL. Borrowed from r. */
static struct json_object *
items_of(const struct itest_response *r)
{
	struct json_object *data, *items;

	if (r->json == NULL || !json_object_object_get_ex(r->json, "data", &data) ||
	    !json_object_object_get_ex(data, "items", &items) ||
	    !json_object_is_type(items, json_type_array))
		return NULL;
	return items;
}

/* 1 or 0 for the boolean data.hasMore of r, -1 when it is not one. */
static int
has_more(const struct itest_response *r)
{
	struct json_object *data, *v;

	if (r->json == NULL || !json_object_object_get_ex(r->json, "data", &data) ||
	    !json_object_object_get_ex(data, "hasMore", &v) ||
	    !json_object_is_type(v, json_type_boolean))
		return -1;
	return json_object_get_boolean(v) ? 1 : 0;
}

/* Whether data.nextCursor of r is there and JSON null. */
static bool
cursor_null(const struct itest_response *r)
{
	struct json_object *data, *v = NULL;

	return r->json != NULL && json_object_object_get_ex(r->json, "data", &data) &&
	    json_object_object_get_ex(data, "nextCursor", &v) && v == NULL;
}

/* Whether o has exactly the public members, and those of the row with this id. */
static bool
matches_row(struct json_object *o, long long id)
{
	static const char *const keys[] = { "id", "slug", "name", "description", "amount",
		"currency", "type", "interval", "intervalCount", "active" };
	char want[512], got[512];
	struct json_object *v;
	const char *desc, *interval;

	if (json_object_object_length(o) != (int)(sizeof(keys) / sizeof(keys[0])))
		return false;
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		if (!json_object_object_get_ex(o, keys[i], NULL))
			return false;
	}
	(void)itest_sqlf(want, sizeof(want), "SELECT CONCAT_WS('|', id, slug, name, "
	    "COALESCE(description, '-'), amount, currency, kind, COALESCE(recurring_interval, "
	    "'-'), COALESCE(recurring_interval_count, '-'), IF(active, 'true', 'false')) FROM "
	    "products WHERE id = %lld", id);
	desc = json_object_get_string(json_object_object_get(o, "description"));
	interval = json_object_get_string(json_object_object_get(o, "interval"));
	v = json_object_object_get(o, "intervalCount");
	(void)snprintf(got, sizeof(got), "%lld|%s|%s|%s|%lld|%s|%s|%s|%s|%s",
	    (long long)json_object_get_int64(json_object_object_get(o, "id")),
	    json_object_get_string(json_object_object_get(o, "slug")),
	    json_object_get_string(json_object_object_get(o, "name")), desc != NULL ? desc : "-",
	    (long long)json_object_get_int64(json_object_object_get(o, "amount")),
	    json_object_get_string(json_object_object_get(o, "currency")),
	    json_object_get_string(json_object_object_get(o, "type")),
	    interval != NULL ? interval : "-", v != NULL ? json_object_get_string(v) : "-",
	    json_object_get_boolean(json_object_object_get(o, "active")) ? "true" : "false");
	if (strcmp(want, got) != 0)
		fprintf(stderr, "product %lld: table %s, answer %s\n", id, want, got);
	return strcmp(want, got) == 0;
}

/* Whether the items of r include the product id. */
static bool
lists(const struct itest_response *r, long long id)
{
	struct json_object *items = items_of(r);

	for (size_t i = 0; items != NULL && i < json_object_array_length(items); i++) {
		struct json_object *o = json_object_array_get_idx(items, i);

		if (json_object_get_int64(json_object_object_get(o, "id")) == id)
			return true;
	}
	return false;
}

/* Three active products of each kind and an archived one, made once per run. */
static long long ids[4];

static void
fixtures(void)
{
	if (ids[0] == 0) {
		ids[0] = insert("fix-once", 1999, "usd", NULL, 0, 1);
		ids[1] = insert("fix-monthly", 500, "eur", "month", 1, 1);
		ids[2] = insert("fix-biyearly", 0, "gbp", "year", 2, 1);
		ids[3] = insert("fix-archived", 700, "usd", NULL, 0, 0);
	}
	CU_ASSERT_FATAL(ids[0] > 0 && ids[1] > 0 && ids[2] > 0 && ids[3] > 0);
}

static void
test_list_active_only(void)
{
	struct itest_response r;
	struct json_object *items;

	fixtures();
	for (size_t u = 0; u < nurls; u++) {
		get(urls[u], "/v1/products?limit=100", &r);
		CU_ASSERT_EQUAL(r.status, 200);
		CU_ASSERT_STRING_EQUAL(r.json != NULL ?
		    json_object_to_json_string(json_object_object_get(r.json, "success")) : "",
		    "true");
		items = items_of(&r);
		CU_ASSERT_PTR_NOT_NULL_FATAL(items);
		CU_ASSERT_EQUAL(json_object_array_length(items),
		    itest_sql_num("SELECT COUNT(*) FROM products WHERE active"));
		for (size_t i = 0; i < json_object_array_length(items); i++) {
			struct json_object *o = json_object_array_get_idx(items, i);

			CU_ASSERT_TRUE(matches_row(o, json_object_get_int64(
			    json_object_object_get(o, "id"))));
		}
		CU_ASSERT_TRUE(lists(&r, ids[0]) && lists(&r, ids[1]) && lists(&r, ids[2]));
		CU_ASSERT_FALSE(lists(&r, ids[3]));
		/* Stripe ids stay on the server. */
		CU_ASSERT_PTR_NULL(strstr(r.body, "prod_"));
		CU_ASSERT_PTR_NULL(strstr(r.body, "price_"));
		CU_ASSERT_EQUAL(has_more(&r), 0);
		CU_ASSERT_TRUE(cursor_null(&r));
		itest_response_free(&r);
	}
}

static void
test_get_by_id(void)
{
	static const char *const not_ids[] = { "abc", "0", "-1", "1.5", "1e3", "%20" "1",
		"99999999999999999999", "0x10" };
	struct itest_response r;
	struct json_object *data, *p;
	char path[128];

	fixtures();
	for (size_t u = 0; u < nurls; u++) {
		for (size_t i = 0; i < 3; i++) {
			(void)snprintf(path, sizeof(path), "/v1/products/%lld", ids[i]);
			get(urls[u], path, &r);
			CU_ASSERT_EQUAL(r.status, 200);
			CU_ASSERT_FATAL(r.json != NULL &&
			    json_object_object_get_ex(r.json, "data", &data) &&
			    json_object_object_get_ex(data, "product", &p));
			CU_ASSERT_TRUE(matches_row(p, ids[i]));
			itest_response_free(&r);
		}
		/* Archived, unknown and not a number: all simply not found. */
		(void)snprintf(path, sizeof(path), "/v1/products/%lld", ids[3]);
		get(urls[u], path, &r);
		check_error(&r, 404, "not_found");
		itest_response_free(&r);
		(void)snprintf(path, sizeof(path), "/v1/products/%lld",
		    itest_sql_num("SELECT COALESCE(MAX(id), 0) + 1000 FROM products"));
		get(urls[u], path, &r);
		check_error(&r, 404, "not_found");
		itest_response_free(&r);
		for (size_t i = 0; i < sizeof(not_ids) / sizeof(not_ids[0]); i++) {
			(void)snprintf(path, sizeof(path), "/v1/products/%s", not_ids[i]);
			get(urls[u], path, &r);
			check_error(&r, 404, "not_found");
			itest_response_free(&r);
		}
	}
}

/* Walks every page of limit items from base; ids (at most max) in order, their count. */
static size_t
walk(const char *base, int limit, long long *out, size_t max, size_t *pages)
{
	char path[256], cursor[32] = "";
	struct itest_response r;
	struct json_object *items;
	size_t n = 0;
	bool more = true;

	*pages = 0;
	while (more && *pages < 100) {
		if (cursor[0] != '\0')
			(void)snprintf(path, sizeof(path), "/v1/products?limit=%d&startingAfter=%s",
			    limit, cursor);
		else
			(void)snprintf(path, sizeof(path), "/v1/products?limit=%d", limit);
		get(base, path, &r);
		CU_ASSERT_EQUAL(r.status, 200);
		items = items_of(&r);
		CU_ASSERT_PTR_NOT_NULL_FATAL(items);
		(*pages)++;
		more = has_more(&r) == 1;
		CU_ASSERT(json_object_array_length(items) <= (size_t)limit);
		/* Every page but the last is full, and says where the next starts. */
		if (more) {
			CU_ASSERT_EQUAL(json_object_array_length(items), (size_t)limit);
			CU_ASSERT_PTR_NOT_NULL_FATAL(itest_json_str(&r, "data.nextCursor"));
			(void)snprintf(cursor, sizeof(cursor), "%s", itest_json_str(&r,
			    "data.nextCursor"));
		} else {
			CU_ASSERT_TRUE(cursor_null(&r));
		}
		for (size_t i = 0; i < json_object_array_length(items) && n < max; i++)
			out[n++] = json_object_get_int64(json_object_object_get(
			    json_object_array_get_idx(items, i), "id"));
		itest_response_free(&r);
	}
	return n;
}

static void
test_pagination(void)
{
	long long got[PAGE_ITEMS_MAX];
	char slug[64], want[4096], have[4096], path[128];
	struct itest_response r;
	size_t n, pages, len;
	long long total;

	for (int i = 0; i < 30; i++) {
		(void)snprintf(slug, sizeof(slug), "page-%02d", i);
		CU_ASSERT_FATAL(insert(slug, 100 + i, "usd", i % 3 == 0 ? "week" : NULL, 1,
		    i % 5 != 4) > 0);
	}
	total = itest_sql_num("SELECT COUNT(*) FROM products WHERE active");
	CU_ASSERT_FATAL(total > 21 && total < PAGE_ITEMS_MAX);
	(void)itest_sqlf(want, sizeof(want), "SELECT GROUP_CONCAT(id ORDER BY id) FROM products "
	    "WHERE active");
	for (size_t u = 0; u < nurls; u++) {
		n = walk(urls[u], 7, got, PAGE_ITEMS_MAX, &pages);
		CU_ASSERT_EQUAL(n, (size_t)total);
		CU_ASSERT_EQUAL(pages, (size_t)(total + 6) / 7);
		/* In id order, each active product once, no archived one. */
		have[0] = '\0';
		for (size_t i = 0; i < n; i++) {
			len = strlen(have);
			(void)snprintf(have + len, sizeof(have) - len, "%s%lld", i > 0 ? "," : "",
			    got[i]);
		}
		CU_ASSERT_STRING_EQUAL(have, want);
		/* One page of the whole catalog when it fits. */
		n = walk(urls[u], 100, got, PAGE_ITEMS_MAX, &pages);
		CU_ASSERT_EQUAL(n, (size_t)total);
		CU_ASSERT_EQUAL(pages, 1);
		/* Without a limit: 20. */
		get(urls[u], "/v1/products", &r);
		CU_ASSERT_EQUAL(r.status, 200);
		CU_ASSERT_FATAL(items_of(&r) != NULL);
		CU_ASSERT_EQUAL(json_object_array_length(items_of(&r)), 20);
		CU_ASSERT_EQUAL(has_more(&r), 1);
		itest_response_free(&r);
		/* A cursor past the end is an empty last page. */
		(void)snprintf(path, sizeof(path), "/v1/products?startingAfter=%lld",
		    itest_sql_num("SELECT MAX(id) FROM products"));
		get(urls[u], path, &r);
		CU_ASSERT_EQUAL(r.status, 200);
		CU_ASSERT_FATAL(items_of(&r) != NULL);
		CU_ASSERT_EQUAL(json_object_array_length(items_of(&r)), 0);
		CU_ASSERT_EQUAL(has_more(&r), 0);
		itest_response_free(&r);
	}
}

static void
test_bad_query(void)
{
	static const struct {
		const char *query, *field;
	} bad[] = {
		{ "limit=0", "limit" }, { "limit=101", "limit" }, { "limit=-1", "limit" },
		{ "limit=abc", "limit" }, { "limit=", "limit" }, { "limit=5&limit=6", "limit" },
		{ "limit=1%200", "limit" }, { "startingAfter=xyz", "startingAfter" },
		{ "startingAfter=-3", "startingAfter" },
		{ "limit=500&startingAfter=x", "startingAfter" },
	};
	struct itest_response r;
	char path[256], field[64];

	for (size_t u = 0; u < nurls; u++) {
		for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
			(void)snprintf(path, sizeof(path), "/v1/products?%s", bad[i].query);
			get(urls[u], path, &r);
			check_error(&r, 422, "invalid_fields");
			(void)snprintf(field, sizeof(field), "error.fields.%s", bad[i].field);
			CU_ASSERT_PTR_NOT_NULL(itest_json_str(&r, field));
			if (itest_json_str(&r, field) == NULL)
				fprintf(stderr, "%s: no %s in %s\n", bad[i].query, field, r.body);
			itest_response_free(&r);
		}
		/* Both wrong: both named. */
		get(urls[u], "/v1/products?limit=500&startingAfter=x", &r);
		CU_ASSERT_PTR_NOT_NULL(itest_json_str(&r, "error.fields.limit"));
		itest_response_free(&r);
		/* A query that is not even a form. */
		get(urls[u], "/v1/products?limit=%zz", &r);
		check_error(&r, 400, "bad_request");
		itest_response_free(&r);
		/* Other parameters (a cache buster) are no one's business. */
		get(urls[u], "/v1/products?limit=2&_=12345", &r);
		CU_ASSERT_EQUAL(r.status, 200);
		itest_response_free(&r);
	}
}

static void
test_methods(void)
{
	struct itest_response r;
	char url[512], allow[128];

	for (size_t u = 0; u < nurls; u++) {
		(void)snprintf(url, sizeof(url), "%s/v1/products", urls[u]);
		CU_ASSERT_FATAL(itest_request("HEAD", url, NULL, NULL, 0, &r));
		CU_ASSERT_EQUAL(r.status, 200);
		CU_ASSERT_EQUAL(r.body_len, 0);
		itest_response_free(&r);
		CU_ASSERT_FATAL(itest_request("POST", url, NULL, "{}", 2, &r));
		check_error(&r, 405, "method_not_allowed");
		CU_ASSERT_TRUE(itest_header(&r, "Allow", allow, sizeof(allow)) &&
		    strstr(allow, "GET") != NULL);
		itest_response_free(&r);
	}
}

/* ---- more clients than workers ---- */

struct client {
	size_t n;
	int ok;			/* answers that were right */
	int bad;
};

static void *
client_run(void *arg)
{
	struct client *c = arg;
	struct itest_response r;
	char url[512];

	for (int i = 0; i < REQUESTS_PER_CLIENT; i++) {
		const char *base = urls[(c->n + (size_t)i) % nurls];
		bool right;

		if (i % 2 == 0)
			(void)snprintf(url, sizeof(url), "%s/v1/products?limit=5", base);
		else
			(void)snprintf(url, sizeof(url), "%s/v1/products/%lld", base, ids[1]);
		if (!itest_request("GET", url, NULL, NULL, 0, &r)) {
			c->bad++;
			continue;
		}
		if (i % 2 == 0)
			right = r.status == 200 && items_of(&r) != NULL &&
			    json_object_array_length(items_of(&r)) == 5;
		else
			right = r.status == 200 && itest_json_int(&r, "data.product.id", -1) ==
			    ids[1] && itest_json_int(&r, "data.product.amount", -1) == 500;
		if (right)
			c->ok++;
		else
			c->bad++;
		itest_response_free(&r);
	}
	return NULL;
}

static void
test_more_clients_than_workers(void)
{
	static struct client clients[CLIENTS_MAX];
	pthread_t t[CLIENTS_MAX];
	long long workers = itest_metric(urls[0], "paybridge_workers_ready");
	size_t n;

	fixtures();
	CU_ASSERT_FATAL(workers > 0);
	n = (size_t)workers * 3 < CLIENTS_MAX ? (size_t)workers * 3 : CLIENTS_MAX;
	CU_ASSERT_FATAL(n > (size_t)workers);
	for (size_t i = 0; i < n; i++) {
		clients[i] = (struct client){ .n = i };
		CU_ASSERT_FATAL(pthread_create(&t[i], NULL, client_run, &clients[i]) == 0);
	}
	for (size_t i = 0; i < n; i++)
		pthread_join(t[i], NULL);
	for (size_t i = 0; i < n; i++) {
		CU_ASSERT_EQUAL(clients[i].ok, REQUESTS_PER_CLIENT);
		CU_ASSERT_EQUAL(clients[i].bad, 0);
	}
	fprintf(stderr, "products: %zu clients x %d requests on %lld workers\n", n,
	    REQUESTS_PER_CLIENT, workers);
}

static const struct unit_test tests[] = {
	UNIT_TEST(test_list_active_only),
	UNIT_TEST(test_get_by_id),
	UNIT_TEST(test_pagination),
	UNIT_TEST(test_bad_query),
	UNIT_TEST(test_methods),
	UNIT_TEST(test_more_clients_than_workers),
};

int
main(int argc, char *argv[])
{
	return itest_main("products", tests, sizeof(tests) / sizeof(tests[0]), urls, MAX_URLS,
	    &nurls, argc, argv);
}
