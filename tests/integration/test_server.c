/*
 * The server end to end: real MariaDB, paybridge, nginx and Apache on loopback, driven
 * over HTTP. Each test runs through every web server the runner started (PB_TEST_URLS).
 * The runner configures paybridge with max_body_bytes=65536 and request_timeout=10.
 */
#include "config.h"

#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "../unit/unit.h"
#include "itest.h"

#define MAX_URLS 4
#define WORKERS_MAX 64

static const char *urls[MAX_URLS];
static size_t nurls;

static void
get(const char *base, const char *path, struct itest_response *r)
{
	(void)itest_get(base, path, r);
}

/* Asserts the DESIGN §3 error envelope with the given code. */
static void
assert_error(const struct itest_response *r, long status, const char *code)
{
	const char *got = itest_json_str(r, "error.code");

	CU_ASSERT_EQUAL(r->status, status);
	CU_ASSERT_PTR_NOT_NULL(r->json);
	CU_ASSERT_PTR_NOT_NULL(got);
	if (got != NULL && strcmp(got, code) != 0)
		fprintf(stderr, "expected error code %s, got %s\n", code, got);
	CU_ASSERT(got != NULL && strcmp(got, code) == 0);
	CU_ASSERT_PTR_NOT_NULL(itest_json_str(r, "error.message"));
	CU_ASSERT_PTR_NOT_NULL(strstr(r->body, "\"success\":false"));
}

static void
test_healthz(void)
{
	for (size_t i = 0; i < nurls; i++) {
		const char *hdrs[] = { "X-Request-Id: test-request-1", NULL };
		struct itest_response r;
		char url[512], v[256];

		(void)snprintf(url, sizeof(url), "%s/v1/healthz", urls[i]);
		CU_ASSERT_TRUE(itest_request("GET", url, hdrs, NULL, 0, &r));
		CU_ASSERT_EQUAL(r.status, 200);
		CU_ASSERT_PTR_NOT_NULL(strstr(r.body, "\"success\":true"));
		CU_ASSERT_STRING_EQUAL(itest_json_str(&r, "data.status"), "ok");
		CU_ASSERT(itest_json_int(&r, "data.pid", 0) > 0);
		CU_ASSERT_TRUE(itest_header(&r, "Content-Type", v, sizeof(v)));
		CU_ASSERT_PTR_NOT_NULL(strstr(v, "application/json"));
		CU_ASSERT_TRUE(itest_header(&r, "Cache-Control", v, sizeof(v)));
		CU_ASSERT_STRING_EQUAL(v, "no-store");
		/* The web server assigns the request id; paybridge echoes what it was given. */
		CU_ASSERT_TRUE(itest_header(&r, "X-Request-Id", v, sizeof(v)));
		CU_ASSERT(strlen(v) >= 8);
		itest_response_free(&r);

		(void)itest_request("HEAD", url, NULL, NULL, 0, &r);
		CU_ASSERT_EQUAL(r.status, 200);
		CU_ASSERT_EQUAL(r.body_len, 0);
		itest_response_free(&r);
	}
}

static void
test_readyz(void)
{
	for (size_t i = 0; i < nurls; i++) {
		struct itest_response r;

		get(urls[i], "/v1/readyz", &r);
		CU_ASSERT_EQUAL(r.status, 200);
		CU_ASSERT_STRING_EQUAL(itest_json_str(&r, "data.database"), "ok");
		itest_response_free(&r);
	}
}

static void
test_errors(void)
{
	for (size_t i = 0; i < nurls; i++) {
		const char *json[] = { "Content-Type: application/json", NULL };
		const char *text[] = { "Content-Type: text/plain", NULL };
		struct itest_response r;
		char url[512], allow[128];
		size_t big = 100 * 1024;
		char *body;

		get(urls[i], "/v1/no-such-thing", &r);
		assert_error(&r, 404, "not_found");
		itest_response_free(&r);

		(void)snprintf(url, sizeof(url), "%s/v1/healthz", urls[i]);
		(void)itest_request("DELETE", url, NULL, NULL, 0, &r);
		assert_error(&r, 405, "method_not_allowed");
		CU_ASSERT_TRUE(itest_header(&r, "Allow", allow, sizeof(allow)));
		CU_ASSERT_STRING_EQUAL(allow, "GET, HEAD");
		itest_response_free(&r);

		(void)snprintf(url, sizeof(url), "%s/v1/test/echo", urls[i]);
		{
			const char *doc = "{\"a\":[1,2,{\"b\":\"\\u00e9\"}]}";

			(void)itest_request("POST", url, json, doc, strlen(doc), &r);
		}
		CU_ASSERT_EQUAL(r.status, 200);
		/* The body came back decoded: an array of 1, 2 and {"b": "é"}. */
		{
			struct json_object *data = NULL, *a = NULL, *b = NULL;

			CU_ASSERT_FATAL(r.json != NULL &&
			    json_object_object_get_ex(r.json, "data", &data) &&
			    json_object_object_get_ex(data, "a", &a));
			CU_ASSERT_EQUAL(json_object_array_length(a), 3);
			CU_ASSERT_EQUAL(json_object_get_int(json_object_array_get_idx(a, 1)), 2);
			CU_ASSERT_TRUE(json_object_object_get_ex(json_object_array_get_idx(a, 2),
			    "b", &b));
			CU_ASSERT_STRING_EQUAL(json_object_get_string(b), "\xc3\xa9");
		}
		itest_response_free(&r);

		(void)itest_request("POST", url, json, "{\"a\":", 5, &r);
		assert_error(&r, 400, "bad_request");
		itest_response_free(&r);

		(void)itest_request("POST", url, text, "hello", 5, &r);
		assert_error(&r, 415, "unsupported_media_type");
		itest_response_free(&r);

		/* Over paybridge's 64 KiB limit, under the web server's 1 MiB one. */
		body = malloc(big);
		CU_ASSERT_FATAL(body != NULL);
		memset(body, 'x', big);
		memcpy(body, "{\"x\":\"", 6);
		memcpy(body + big - 2, "\"}", 2);
		(void)itest_request("POST", url, json, body, big, &r);
		assert_error(&r, 413, "payload_too_large");
		itest_response_free(&r);
		free(body);
	}
}

struct burst_sink {
	char buf[512];
	size_t len;
};

static size_t
burst_write(char *data, size_t size, size_t n, void *ctx)
{
	struct burst_sink *s = ctx;
	size_t add = size * n;

	if (add > sizeof(s->buf) - 1 - s->len)
		add = sizeof(s->buf) - 1 - s->len;
	memcpy(s->buf + s->len, data, add);
	s->len += add;
	s->buf[s->len] = '\0';
	return size * n;
}

/*
 * Sends n requests at once with the multi interface; counts successes and records the
 * distinct worker pids that answered (the test sleep route reports its pid).
 */
static void
run_burst(const char *url, int n, int *ok, int *pids, size_t *npids)
{
	CURLM *multi = curl_multi_init();
	CURL **easy = calloc((size_t)n, sizeof(*easy));
	struct burst_sink *sinks = calloc((size_t)n, sizeof(*sinks));
	int running = 0;

	*ok = 0;
	*npids = 0;
	CU_ASSERT_FATAL(multi != NULL && easy != NULL && sinks != NULL);
	curl_multi_setopt(multi, CURLMOPT_MAX_TOTAL_CONNECTIONS, (long)n);
	for (int i = 0; i < n; i++) {
		easy[i] = curl_easy_init();
		curl_easy_setopt(easy[i], CURLOPT_URL, url);
		curl_easy_setopt(easy[i], CURLOPT_FRESH_CONNECT, 1L);
		curl_easy_setopt(easy[i], CURLOPT_TIMEOUT, 60L);
		curl_easy_setopt(easy[i], CURLOPT_WRITEFUNCTION, burst_write);
		curl_easy_setopt(easy[i], CURLOPT_WRITEDATA, &sinks[i]);
		curl_multi_add_handle(multi, easy[i]);
	}
	do {
		curl_multi_perform(multi, &running);
		if (running > 0)
			curl_multi_poll(multi, NULL, 0, 1000, NULL);
	} while (running > 0);
	for (int i = 0; i < n; i++) {
		const char *p = strstr(sinks[i].buf, "\"pid\":");
		long status = 0;
		int pid;
		size_t j;

		curl_easy_getinfo(easy[i], CURLINFO_RESPONSE_CODE, &status);
		*ok += status == 200;
		if (status != 200)
			fprintf(stderr, "burst: request %d answered %ld: %.200s\n", i, status,
			    sinks[i].buf);
		pid = p != NULL ? (int)strtol(p + 6, NULL, 10) : 0;
		for (j = 0; j < *npids && pids[j] != pid; j++)
			;
		if (pid > 0 && j == *npids && *npids < WORKERS_MAX)
			pids[(*npids)++] = pid;
		curl_multi_remove_handle(multi, easy[i]);
		curl_easy_cleanup(easy[i]);
	}
	curl_multi_cleanup(multi);
	free(easy);
	free(sinks);
}

static void
test_concurrency(void)
{
	for (size_t i = 0; i < nurls; i++) {
		int pids[WORKERS_MAX], ok;
		size_t npids;
		char url[512];

		(void)snprintf(url, sizeof(url), "%s/v1/test/sleep?ms=20", urls[i]);
		run_burst(url, 200, &ok, pids, &npids);
		CU_ASSERT_EQUAL(ok, 200);
		CU_ASSERT(npids >= 2);
	}
}

struct stream {
	const char *base;
	volatile int stop;
	volatile int marked;	/* set once the interesting moment has passed */
	int ok, failed, total;	/* all requests */
	int failed_after;	/* failures after marked was set */
	int limit;
};

static void *
stream_run(void *arg)
{
	struct stream *s = arg;
	char url[512];

	(void)snprintf(url, sizeof(url), "%s/v1/healthz", s->base);
	while (!s->stop && (s->limit == 0 || s->total < s->limit)) {
		struct itest_response r;

		(void)itest_request("GET", url, NULL, NULL, 0, &r);
		if (r.status == 200) {
			s->ok++;
		} else {
			s->failed++;
			s->failed_after += s->marked;
			fprintf(stderr, "stream %s: answered %ld (curl %d): %.200s\n", s->base,
			    r.status, r.curl_code, r.body);
		}
		s->total++;
		itest_response_free(&r);
	}
	return NULL;
}

static void
test_worker_kill(void)
{
	for (size_t i = 0; i < nurls; i++) {
		int master = itest_master_pid(), before[WORKERS_MAX], after[WORKERS_MAX], victim;
		size_t nbefore, nafter = 0, k;
		struct stream s = { .base = urls[i] };
		struct itest_response r;
		bool respawned = false;
		pthread_t t;
		long long t0;

		CU_ASSERT_FATAL(master > 0);
		get(urls[i], "/v1/healthz", &r);
		victim = (int)itest_json_int(&r, "data.pid", 0);
		itest_response_free(&r);
		CU_ASSERT_FATAL(victim > 0 && victim != master);
		nbefore = itest_children(master, before, WORKERS_MAX);
		pthread_create(&t, NULL, stream_run, &s);
		itest_sleep_ms(200);
		CU_ASSERT_EQUAL(kill(victim, SIGKILL), 0);
		t0 = itest_now_ms();
		while (!respawned && itest_now_ms() - t0 < 1000) {
			itest_sleep_ms(20);
			nafter = itest_children(master, after, WORKERS_MAX);
			for (k = 0; k < nafter && after[k] != victim; k++)
				;
			respawned = k == nafter && nafter == nbefore;
		}
		CU_ASSERT_TRUE(respawned);
		/* The request the victim was serving may fail; none after the respawn may. */
		itest_sleep_ms(100);
		s.marked = 1;
		itest_sleep_ms(700);
		s.stop = 1;
		pthread_join(t, NULL);
		CU_ASSERT(s.ok > 0);
		CU_ASSERT_EQUAL(s.failed_after, 0);
	}
}

struct slow {
	const char *base;
	long status;
};

static void *
slow_run(void *arg)
{
	struct slow *s = arg;
	struct itest_response r;
	char url[512];

	(void)snprintf(url, sizeof(url), "%s/v1/test/sleep?ms=1500", s->base);
	(void)itest_request("GET", url, NULL, NULL, 0, &r);
	s->status = r.status;
	itest_response_free(&r);
	return NULL;
}

static void
test_graceful_stop(void)
{
	for (size_t i = 0; i < nurls; i++) {
		struct slow slow[3];
		pthread_t t[3];
		int master = itest_master_pid();
		long long t0;
		size_t n;

		CU_ASSERT_FATAL(master > 0);
		for (int k = 0; k < 3; k++) {
			slow[k].base = urls[i];
			slow[k].status = 0;
			pthread_create(&t[k], NULL, slow_run, &slow[k]);
		}
		/* The stop must find the three requests in progress, not still on their way. */
		t0 = itest_now_ms();
		while ((n = itest_workers_sleeping(master)) < 3 && itest_now_ms() - t0 < 10000)
			itest_sleep_ms(10);
		if (n < 3)
			fprintf(stderr, "%s: %zu of 3 slow requests reached a worker in %lld ms\n",
			    urls[i], n, itest_now_ms() - t0);
		CU_ASSERT_FATAL(n >= 3);
		CU_ASSERT_EQUAL(kill(master, SIGTERM), 0);
		for (int k = 0; k < 3; k++) {
			pthread_join(t[k], NULL);
			CU_ASSERT_EQUAL(slow[k].status, 200);
		}
		CU_ASSERT_EQUAL(itest_ctl("paybridge-wait-exit"), 0);
		CU_ASSERT_EQUAL_FATAL(itest_ctl("paybridge-start"), 0);
	}
}

static void
test_reload(void)
{
	for (size_t i = 0; i < nurls; i++) {
		struct stream s[2] = { { .base = urls[i], .limit = 1000 },
				       { .base = urls[i], .limit = 1000 } };
		pthread_t t[2];
		int master = itest_master_pid();

		CU_ASSERT_FATAL(master > 0);
		for (int k = 0; k < 2; k++)
			pthread_create(&t[k], NULL, stream_run, &s[k]);
		itest_sleep_ms(150);
		CU_ASSERT_EQUAL(kill(master, SIGHUP), 0);
		itest_sleep_ms(600);
		CU_ASSERT_EQUAL(kill(master, SIGHUP), 0);
		for (int k = 0; k < 2; k++) {
			pthread_join(t[k], NULL);
			CU_ASSERT_EQUAL(s[k].total, 1000);
			CU_ASSERT_EQUAL(s[k].failed, 0);
		}
		CU_ASSERT_EQUAL(itest_master_pid(), master);
	}
}

static void
test_database_outage(void)
{
	struct itest_response r;
	long long t0;
	bool ready = false;

	CU_ASSERT_EQUAL_FATAL(itest_ctl("mariadb-stop"), 0);
	for (size_t i = 0; i < nurls; i++) {
		get(urls[i], "/v1/readyz", &r);
		assert_error(&r, 503, "database_unavailable");
		itest_response_free(&r);
		get(urls[i], "/v1/healthz", &r);
		CU_ASSERT_EQUAL(r.status, 200);
		itest_response_free(&r);
	}
	CU_ASSERT_EQUAL_FATAL(itest_ctl("mariadb-start"), 0);
	t0 = itest_now_ms();
	while (!ready && itest_now_ms() - t0 < 5000) {
		ready = true;
		/* Every worker must have reconnected, so ask more times than there are workers. */
		for (size_t i = 0; i < nurls; i++) {
			for (int k = 0; k < 20; k++) {
				get(urls[i], "/v1/readyz", &r);
				ready = ready && r.status == 200;
				itest_response_free(&r);
			}
		}
		if (!ready)
			itest_sleep_ms(100);
	}
	CU_ASSERT_TRUE(ready);
	CU_ASSERT(itest_now_ms() - t0 < 5000);
}

/* Is there a pid in now[] that was not in was[]? */
static bool
has_new_pid(const int *was, size_t nwas, const int *now, size_t nnow)
{
	for (size_t k = 0; k < nnow; k++) {
		size_t j;

		for (j = 0; j < nwas && was[j] != now[k]; j++)
			;
		if (j == nwas)
			return true;
	}
	return false;
}

static void
test_request_timeout(void)
{
	for (size_t i = 0; i < nurls; i++) {
		int master = itest_master_pid(), before[WORKERS_MAX], after[WORKERS_MAX];
		size_t nbefore, nafter;
		struct itest_response r;
		long long t0, timeouts, after_timeouts;
		bool replaced = false;

		/*
		 * A reload before this test may still be replacing workers one by one; their
		 * pids would count as "replaced". Compare against a settled pool.
		 */
		CU_ASSERT_FATAL(itest_pool_settled(urls[i], 20000));
		timeouts = itest_metric(urls[i],
		    "paybridge_worker_exits_total{role=\"worker\",cause=\"timeout\"}");
		nbefore = itest_children(master, before, WORKERS_MAX);
		t0 = itest_now_ms();
		get(urls[i], "/v1/test/sleep?ms=20000", &r);
		/* The worker is killed after request_timeout (10 s): the web server reports it. */
		CU_ASSERT(r.status >= 500);
		CU_ASSERT(itest_now_ms() - t0 < 20000);
		itest_response_free(&r);
		/* Replaced: the pool is whole again, with a pid that was not there before. */
		t0 = itest_now_ms();
		while (!replaced && itest_now_ms() - t0 < 20000) {
			if (itest_pool_settled(urls[i], 1000)) {
				nafter = itest_children(master, after, WORKERS_MAX);
				replaced = nafter == nbefore &&
				    has_new_pid(before, nbefore, after, nafter);
			}
			if (!replaced)
				itest_sleep_ms(50);
		}
		CU_ASSERT_TRUE(replaced);
		after_timeouts = itest_metric(urls[i],
		    "paybridge_worker_exits_total{role=\"worker\",cause=\"timeout\"}");
		/* One worker died: the web server did not resend the request to the next. */
		if (after_timeouts != timeouts + 1)
			fprintf(stderr, "%s: timeout exits went from %lld to %lld\n", urls[i],
			    timeouts, after_timeouts);
		CU_ASSERT_EQUAL(after_timeouts, timeouts + 1);
	}
}

static const struct unit_test tests[] = {
	UNIT_TEST(test_healthz),
	UNIT_TEST(test_readyz),
	UNIT_TEST(test_errors),
	UNIT_TEST(test_concurrency),
	UNIT_TEST(test_worker_kill),
	UNIT_TEST(test_reload),
	UNIT_TEST(test_request_timeout),
	UNIT_TEST(test_database_outage),
	UNIT_TEST(test_graceful_stop),
};

int
main(int argc, char *argv[])
{
	return itest_main("server", tests, sizeof(tests) / sizeof(tests[0]), urls, MAX_URLS, &nurls,
	    argc, argv);
}
