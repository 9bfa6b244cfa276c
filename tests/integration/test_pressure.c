/*
 * The pool under pressure, through every web server the runner started: more concurrent
 * requests than workers with the web servers keeping connections open (nginx with 4
 * worker processes x keepalive 8, Apache with enablereuse=on, against 4 paybridge
 * workers), a request shed for waiting too long, and a database frozen under load.
 * tests/integration/run-pressure.sh sets that stack up (workers = 4,
 * queue_timeout_ms = 1000).
 *
 * Latencies are printed, and asserted only against bounds far above what the mechanism
 * gives and far below what its absence costs (a stall behind kept connections lasts the
 * web server's keepalive_timeout, 30 s; a database stall a read timeout, 3 s).
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
#define PIDS_MAX 64
#define BURST 64

static const char *urls[MAX_URLS];
static size_t nurls;

/* ---- bursts: n requests at once, each timed ---- */

struct burst {
	const char *url;
	int n;
	int ok, errors;		/* 200s, and 5xx or failed transfers */
	double max_s, sum_s;
};

static size_t
discard(char *data, size_t size, size_t n, void *ctx)
{
	(void)data;
	(void)ctx;
	return size * n;
}

static void *
burst_run(void *arg)
{
	struct burst *b = arg;
	CURLM *multi = curl_multi_init();
	CURL *easy[BURST];
	int running = 0;

	b->ok = b->errors = 0;
	b->max_s = b->sum_s = 0;
	if (multi == NULL || b->n > BURST) {
		b->errors = b->n;
		return NULL;
	}
	curl_multi_setopt(multi, CURLMOPT_MAX_TOTAL_CONNECTIONS, (long)b->n);
	for (int i = 0; i < b->n; i++) {
		easy[i] = curl_easy_init();
		curl_easy_setopt(easy[i], CURLOPT_URL, b->url);
		curl_easy_setopt(easy[i], CURLOPT_FRESH_CONNECT, 1L);
		curl_easy_setopt(easy[i], CURLOPT_TIMEOUT, 60L);
		curl_easy_setopt(easy[i], CURLOPT_WRITEFUNCTION, discard);
		curl_multi_add_handle(multi, easy[i]);
	}
	do {
		curl_multi_perform(multi, &running);
		if (running > 0)
			curl_multi_poll(multi, NULL, 0, 1000, NULL);
	} while (running > 0);
	for (int i = 0; i < b->n; i++) {
		long status = 0;
		double t = 0;

		curl_easy_getinfo(easy[i], CURLINFO_RESPONSE_CODE, &status);
		curl_easy_getinfo(easy[i], CURLINFO_TOTAL_TIME, &t);
		if (status == 200)
			b->ok++;
		else
			b->errors++;
		b->sum_s += t;
		if (t > b->max_s)
			b->max_s = t;
		curl_multi_remove_handle(multi, easy[i]);
		curl_easy_cleanup(easy[i]);
	}
	curl_multi_cleanup(multi);
	return NULL;
}

static void
check_burst(const char *base, const struct burst *b, const char *what)
{
	fprintf(stderr, "%s: %s: %d requests of 50 ms on 4 workers: %d ok, %d errors, "
	    "mean %.3f s, max %.3f s (the work in front of the last is %.1f s)\n", base, what,
	    b->n, b->ok, b->errors, b->sum_s / b->n, b->max_s, b->n * 0.05 / 4);
	CU_ASSERT_EQUAL(b->ok, b->n);
	CU_ASSERT_EQUAL(b->errors, 0);
	CU_ASSERT(b->max_s < 5.0);
}

/*
 * 64 concurrent requests of a 50 ms route, three times in a row so that the web server
 * holds as many kept connections as it will: every one answered, none stuck behind an
 * idle connection.
 */
static void
test_more_clients_than_workers(void)
{
	for (size_t i = 0; i < nurls; i++) {
		char url[512];

		(void)snprintf(url, sizeof(url), "%s/v1/test/sleep?ms=50", urls[i]);
		for (int round = 0; round < 3; round++) {
			struct burst b = { .url = url, .n = BURST };

			burst_run(&b);
			check_burst(urls[i], &b, "burst");
		}
		fprintf(stderr, "%s: connections parked %lld, handed off %lld, dropped %lld\n",
		    urls[i], itest_metric(urls[i], "paybridge_connections_parked_total"),
		    itest_metric(urls[i], "paybridge_connections_handed_off_total"),
		    itest_metric(urls[i], "paybridge_connections_park_dropped_total"));
		CU_ASSERT_EQUAL(itest_metric(urls[i], "paybridge_connections_park_dropped_total"),
		    0);
	}
}

/* The same burst while SIGHUP replaces every worker. */
static void
test_burst_during_reload(void)
{
	for (size_t i = 0; i < nurls; i++) {
		int master = itest_master_pid();
		char url[512];
		struct burst b = { .url = url, .n = BURST };
		pthread_t t;

		CU_ASSERT_FATAL(master > 0);
		CU_ASSERT_FATAL(itest_pool_settled(urls[i], 20000));
		(void)snprintf(url, sizeof(url), "%s/v1/test/sleep?ms=50", urls[i]);
		pthread_create(&t, NULL, burst_run, &b);
		itest_sleep_ms(100);
		CU_ASSERT_EQUAL(kill(master, SIGHUP), 0);
		pthread_join(t, NULL);
		check_burst(urls[i], &b, "burst during SIGHUP");
		CU_ASSERT_TRUE(itest_pool_settled(urls[i], 20000));
	}
}

/* ---- shedding ---- */

/* Stops or resumes every child of the master (workers and the jobs worker). */
static size_t
signal_children(int sig)
{
	int pids[PIDS_MAX];
	size_t n = itest_children(itest_master_pid(), pids, PIDS_MAX);

	for (size_t k = 0; k < n; k++)
		CU_ASSERT_EQUAL(kill(pids[k], sig), 0);
	return n;
}

struct signup_call {
	const char *base;
	const char *email;
	struct itest_response r;
};

static void *
signup_run(void *arg)
{
	struct signup_call *s = arg;
	const char *hdrs[] = { "Content-Type: application/json", NULL };
	char url[512], body[256];

	(void)snprintf(url, sizeof(url), "%s/v1/users", s->base);
	(void)snprintf(body, sizeof(body),
	    "{\"name\":\"Queued Person\",\"email\":\"%s\",\"password\":\"correct horse battery\"}",
	    s->email);
	(void)itest_request("POST", url, hdrs, body, strlen(body), &s->r);
	return NULL;
}

/*
 * With every worker frozen, a signup waits in the queue past queue_timeout_ms (1 s); once
 * the workers run again it is answered 503 with Retry-After at once, and nothing of it
 * was written.
 */
static void
test_shed_when_queued_too_long(void)
{
	for (size_t i = 0; i < nurls; i++) {
		struct signup_call s = { .base = urls[i] };
		long long shed = itest_metric(urls[i], "paybridge_requests_shed_total"), after;
		char email[128], sql[256], count[32] = "";
		char retry[32];
		const char *code;
		pthread_t t;

		(void)snprintf(email, sizeof(email), "queued.%zu.%lld@example.com", i,
		    itest_now_ms());
		s.email = email;
		CU_ASSERT_FATAL(signal_children(SIGSTOP) > 0);
		pthread_create(&t, NULL, signup_run, &s);
		/* The queue age is what this test builds: twice the configured limit. */
		itest_sleep_ms(2000);
		signal_children(SIGCONT);
		pthread_join(t, NULL);
		fprintf(stderr, "%s: signup queued 2 s: %ld %.200s\n", urls[i], s.r.status,
		    s.r.body);
		CU_ASSERT_EQUAL(s.r.status, 503);
		code = itest_json_str(&s.r, "error.code");
		CU_ASSERT(code != NULL && strcmp(code, "server_busy") == 0);
		CU_ASSERT_TRUE(itest_header(&s.r, "Retry-After", retry, sizeof(retry)));
		itest_response_free(&s.r);
		(void)snprintf(sql, sizeof(sql),
		    "SELECT COUNT(*) FROM users WHERE email_normalized = '%s'", email);
		CU_ASSERT_EQUAL(itest_sql(sql, count, sizeof(count)), 0);
		CU_ASSERT_STRING_EQUAL(count, "0");
		/* The emulator's webhook deliveries queued behind the freeze too. */
		after = itest_metric(urls[i], "paybridge_requests_shed_total");
		CU_ASSERT(after >= shed + 1);

		/* The same signup, not queued, goes through. */
		s.r = (struct itest_response){ 0 };
		signup_run(&s);
		CU_ASSERT_EQUAL(s.r.status, 201);
		itest_response_free(&s.r);
	}
}

/* ---- a frozen database under load ---- */

#define PROBES_KEPT 1000

struct prober {
	const char *url;
	const char *token;	/* Authorization for the load, or NULL */
	volatile int stop;
	int total, ok, unavailable, other;	/* 200, 503, anything else */
	double max_s;
	int ms[PROBES_KEPT];	/* each request's time, for the record */
};

static void *
probe_run(void *arg)
{
	struct prober *p = arg;
	char auth[1024];
	const char *hdrs[] = { auth, NULL };

	(void)snprintf(auth, sizeof(auth), "Authorization: Bearer %s",
	    p->token != NULL ? p->token : "");
	while (!p->stop) {
		struct itest_response r;
		long long t0 = itest_now_ms();
		double took;

		(void)itest_request("GET", p->url, p->token != NULL ? hdrs : NULL, NULL, 0, &r);
		took = (double)(itest_now_ms() - t0) / 1000.0;
		if (took > p->max_s)
			p->max_s = took;
		if (p->total < PROBES_KEPT)
			p->ms[p->total] = (int)(took * 1000);
		p->total++;
		if (r.status == 200)
			p->ok++;
		else if (r.status == 503)
			p->unavailable++;
		else
			p->other++;
		if ((r.status != 200 && r.status != 503) || (p->token == NULL && took > 0.5))
			fprintf(stderr, "%s: answered %ld in %.3f s: %.200s\n", p->url, r.status,
			    took, r.body);
		itest_response_free(&r);
		if (p->token == NULL)
			itest_sleep_ms(20);	/* a prober, not load */
	}
	return NULL;
}

/* Signs a user up and returns their access token (malloc'd), or NULL. */
static char *
signup_token(const char *base)
{
	struct signup_call s = { .base = base };
	char email[128];
	const char *tok;
	char *out = NULL;

	(void)snprintf(email, sizeof(email), "load.%lld@example.com", itest_now_ms());
	s.email = email;
	signup_run(&s);
	tok = s.r.status == 201 ? itest_json_str(&s.r, "data.access_token") : NULL;
	if (tok != NULL)
		out = strdup(tok);
	itest_response_free(&s.r);
	return out;
}

/*
 * MariaDB frozen (SIGSTOP) for 5 s under load: healthz keeps answering, readyz says 503
 * within about its 1 s bound, no request waits longer than the database timeouts (read
 * 3 s, then a reconnect of 2 s) plus a margin, and after SIGCONT everything is served
 * again by the same processes.
 */
static void
test_database_frozen_under_load(void)
{
	for (size_t i = 0; i < nurls; i++) {
		char me[512], health[512], ready[512];
		struct prober load[6], hp = { .url = health };
		pthread_t lt[6], ht;
		char *token = signup_token(urls[i]);
		int master = itest_master_pid();
		long long exits = itest_metric(urls[i],
		    "paybridge_worker_exits_total{role=\"worker\",cause=\"timeout\"}");
		long long t0, first_503_ms = -1;
		double ready_max_s = 0;
		bool back = false;

		CU_ASSERT_FATAL(token != NULL);
		(void)snprintf(me, sizeof(me), "%s/v1/users/me", urls[i]);
		(void)snprintf(health, sizeof(health), "%s/v1/healthz", urls[i]);
		(void)snprintf(ready, sizeof(ready), "%s/v1/readyz", urls[i]);
		for (int k = 0; k < 6; k++) {
			load[k] = (struct prober){ .url = me, .token = token };
			pthread_create(&lt[k], NULL, probe_run, &load[k]);
		}
		pthread_create(&ht, NULL, probe_run, &hp);
		itest_sleep_ms(500);	/* load running before the freeze: part of the scenario */

		CU_ASSERT_EQUAL_FATAL(itest_ctl("mariadb-pause"), 0);
		t0 = itest_now_ms();
		while (itest_now_ms() - t0 < 5000) {
			struct itest_response r;
			long long r0 = itest_now_ms();
			double took;

			(void)itest_request("GET", ready, NULL, NULL, 0, &r);
			took = (double)(itest_now_ms() - r0) / 1000.0;
			if (took > ready_max_s)
				ready_max_s = took;
			if (r.status == 503 && first_503_ms < 0)
				first_503_ms = itest_now_ms() - t0;
			itest_response_free(&r);
			itest_sleep_ms(100);
		}
		CU_ASSERT_EQUAL_FATAL(itest_ctl("mariadb-resume"), 0);
		t0 = itest_now_ms();
		while (!back && itest_now_ms() - t0 < 20000) {
			struct itest_response r;

			(void)itest_request("GET", ready, NULL, NULL, 0, &r);
			back = r.status == 200;
			itest_response_free(&r);
			if (!back)
				itest_sleep_ms(100);
		}
		fprintf(stderr, "%s: readyz first 503 after %lld ms of freeze, slowest readyz "
		    "%.3f s, ready again %lld ms after SIGCONT\n", urls[i], first_503_ms,
		    ready_max_s, itest_now_ms() - t0);
		itest_sleep_ms(500);	/* some load after the recovery, to count */
		hp.stop = 1;
		for (int k = 0; k < 6; k++)
			load[k].stop = 1;
		pthread_join(ht, NULL);
		for (int k = 0; k < 6; k++) {
			pthread_join(lt[k], NULL);
			fprintf(stderr, "%s: load %d: %d requests, %d ok, %d 503, %d other, slowest "
			    "%.3f s\n", urls[i], k, load[k].total, load[k].ok, load[k].unavailable,
			    load[k].other, load[k].max_s);
			CU_ASSERT_EQUAL(load[k].other, 0);
			CU_ASSERT(load[k].ok > 0);
			CU_ASSERT(load[k].max_s < 8.0);
		}
		fprintf(stderr, "%s: healthz: %d probes, %d ok, slowest %.3f s; each (ms):", urls[i],
		    hp.total, hp.ok, hp.max_s);
		for (int k = 0; k < hp.total && k < PROBES_KEPT; k++)
			fprintf(stderr, " %d", hp.ms[k]);
		fprintf(stderr, "\n");
		CU_ASSERT_EQUAL(hp.ok, hp.total);
		CU_ASSERT(hp.total > 50);
		CU_ASSERT(hp.max_s < 1.5);
		CU_ASSERT(first_503_ms >= 0 && first_503_ms < 2500);
		CU_ASSERT(ready_max_s < 2.5);
		CU_ASSERT_TRUE(back);
		/* Recovered in place: the same master, no worker killed for running too long. */
		CU_ASSERT_EQUAL(itest_master_pid(), master);
		CU_ASSERT_EQUAL(itest_metric(urls[i],
		    "paybridge_worker_exits_total{role=\"worker\",cause=\"timeout\"}"), exits);
		free(token);
	}
}

static const struct unit_test tests[] = {
	UNIT_TEST(test_more_clients_than_workers),
	UNIT_TEST(test_burst_during_reload),
	UNIT_TEST(test_shed_when_queued_too_long),
	UNIT_TEST(test_database_frozen_under_load),
};

int
main(int argc, char *argv[])
{
	return itest_main("pressure", tests, sizeof(tests) / sizeof(tests[0]), urls, MAX_URLS, &nurls,
	    argc, argv);
}
