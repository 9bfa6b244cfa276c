/*
 * Live payment status (issue 11) through the real stack (tests/integration/run.sh):
 * Server-Sent Events through nginx's nchan (a subscriber authorised by paybridge gets the
 * current state first, then every committed change), 200 subscribers holding no worker,
 * and the long-poll (?wait=&after=) through Apache and nginx, with its cap. Subscribers
 * are libcurl easy handles driven by one multi handle in this thread. Every wait polls
 * under a generous guard; latencies are printed, not asserted.
 */
#include "config.h"

#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <curl/curl.h>

#include "itest.h"

#define MAX_URLS 4
#define PRICE 1500
#define GUARD_MS 10000		/* an SSE message must arrive within this */
#define CROWD 200		/* subscribers at once: far more than the 8 workers */
#define WAITERS_CAP 4		/* the stack's long_poll_max_waiters: workers / 2 */

static const char *urls[MAX_URLS];
static size_t nurls;

/* ---- Server-Sent Events subscribers ---- */

struct sub {
	CURL *h;
	struct curl_slist *hdrs;
	char buf[16384];
	size_t len;
	char first[40];		/* the first message's status */
	char last[40];		/* the latest message's status */
	size_t n;		/* messages received */
	long long last_ms;	/* when the last one arrived */
	long status;		/* the HTTP status, once known */
	bool done;		/* the transfer ended */
};

/* Takes each complete event out of s->buf and records its intent's status. */
static void
sub_parse(struct sub *s)
{
	char *end;

	while ((end = strstr(s->buf, "\n\n")) != NULL) {
		size_t used = (size_t)(end - s->buf) + 2;
		char *data;

		*end = '\0';
		data = strstr(s->buf, "data: ");
		if (data != NULL) {
			struct json_object *o = json_tokener_parse(data + 6), *st;

			if (o != NULL && json_object_object_get_ex(o, "status", &st)) {
				if (s->n == 0)
					itest_copy(s->first, sizeof(s->first),
					    json_object_get_string(st));
				itest_copy(s->last, sizeof(s->last), json_object_get_string(st));
				s->n++;
				s->last_ms = itest_now_ms();
			}
			json_object_put(o);
		}
		memmove(s->buf, s->buf + used, s->len - used + 1);
		s->len -= used;
	}
}

static size_t
sub_write(char *p, size_t size, size_t n, void *arg)
{
	struct sub *s = arg;
	size_t add = size * n;

	if (s->len + add >= sizeof(s->buf))
		return 0;
	memcpy(s->buf + s->len, p, add);
	s->len += add;
	s->buf[s->len] = '\0';
	/* nchan may end lines with \r\n in some modes: events are still split on \n\n. */
	sub_parse(s);
	return add;
}

/* Starts a subscription to pi through base with token (NULL: none; query: as ?access_token=). */
static void
sub_start(CURLM *m, struct sub *s, const char *base, const char *pi, const char *token,
    bool query)
{
	char url[2048], auth[1200];

	memset(s, 0, sizeof(*s));
	(void)snprintf(url, sizeof(url), "%s/v1/payments/intents/%s/events%s%s", base, pi,
	    token != NULL && query ? "?access_token=" : "", token != NULL && query ? token : "");
	s->h = curl_easy_init();
	CU_ASSERT_FATAL(s->h != NULL);
	s->hdrs = curl_slist_append(NULL, "Accept: text/event-stream");
	if (token != NULL && !query) {
		(void)snprintf(auth, sizeof(auth), "Authorization: Bearer %s", token);
		s->hdrs = curl_slist_append(s->hdrs, auth);
	}
	(void)curl_easy_setopt(s->h, CURLOPT_URL, url);
	(void)curl_easy_setopt(s->h, CURLOPT_HTTPHEADER, s->hdrs);
	(void)curl_easy_setopt(s->h, CURLOPT_WRITEFUNCTION, sub_write);
	(void)curl_easy_setopt(s->h, CURLOPT_WRITEDATA, s);
	(void)curl_easy_setopt(s->h, CURLOPT_PRIVATE, s);
	(void)curl_easy_setopt(s->h, CURLOPT_TIMEOUT_MS, 120000L);
	CU_ASSERT_FATAL(curl_multi_add_handle(m, s->h) == CURLM_OK);
}

static void
sub_stop(CURLM *m, struct sub *s)
{
	(void)curl_multi_remove_handle(m, s->h);
	curl_easy_cleanup(s->h);
	curl_slist_free_all(s->hdrs);
}

/* Drives m for up to ms (or until every transfer ended). */
static void
pump(CURLM *m, long ms)
{
	long long until = itest_now_ms() + ms;
	int running = 1, left;
	CURLMsg *msg;

	while (itest_now_ms() < until && running > 0) {
		(void)curl_multi_perform(m, &running);
		while ((msg = curl_multi_info_read(m, &left)) != NULL) {
			struct sub *s = NULL;

			if (msg->msg != CURLMSG_DONE)
				continue;
			(void)curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&s);
			s->done = true;
		}
		(void)curl_multi_poll(m, NULL, 0, 20, NULL);
	}
}

/* Whether s's first message (first) or its latest (!first) has status want. */
static bool
sub_has(struct sub *s, bool first, const char *want)
{
	return s->n > 0 && strcmp(first ? s->first : s->last, want) == 0;
}

/* Pumps until every one of subs[0..n) has want first (or last); false at the guard. */
static bool
pump_until(CURLM *m, struct sub *subs, size_t n, bool first, const char *want, long guard_ms)
{
	long long until = itest_now_ms() + guard_ms;

	for (;;) {
		size_t got = 0;

		for (size_t k = 0; k < n; k++)
			got += sub_has(&subs[k], first, want);
		if (got == n)
			return true;
		if (itest_now_ms() >= until) {
			fprintf(stderr, "live: %zu of %zu subscribers have %s\n", got, n, want);
			return false;
		}
		pump(m, 20);
	}
}

/* The HTTP status of s once nchan answered or closed (pumping up to guard_ms). */
static long
sub_status(CURLM *m, struct sub *s, long guard_ms)
{
	long long until = itest_now_ms() + guard_ms;

	while (!s->done && s->n == 0 && itest_now_ms() < until) {
		pump(m, 20);
		(void)curl_easy_getinfo(s->h, CURLINFO_RESPONSE_CODE, &s->status);
		if (s->status != 0 && s->status != 200)
			break;
	}
	(void)curl_easy_getinfo(s->h, CURLINFO_RESPONSE_CODE, &s->status);
	return s->status;
}

/* nginx's base URL: the first the runner gives (the stack's nginx has nchan). */
static const char *
nginx_base(void)
{
	return urls[0];
}

/* Forgets pi's channel in nchan, as if nothing had ever been published to it. */
static void
drop_channel(const char *pi)
{
	struct itest_response r;
	char url[256];

	(void)snprintf(url, sizeof(url), "%s/_paybridge/publish/payments/intents/%s",
	    nginx_base(), pi);
	CU_ASSERT_FATAL(itest_request("DELETE", url, NULL, NULL, 0, &r));
	CU_ASSERT(r.status == 200 || r.status == 404);
	itest_response_free(&r);
}

/* Whether the file RUN/rel (PB_RUN, the stack's directory) contains needle. */
static bool
log_has(const char *rel, const char *needle)
{
	char path[1024], *text;
	bool found;
	long len = 0;
	FILE *f;

	(void)snprintf(path, sizeof(path), "%s/%s", itest_s(itest_env("PB_RUN")), rel);
	f = fopen(path, "r");
	CU_ASSERT_FATAL(f != NULL);
	CU_ASSERT_FATAL(fseek(f, 0, SEEK_END) == 0);
	len = ftell(f);
	CU_ASSERT_FATAL(len >= 0);
	rewind(f);
	text = calloc(1, (size_t)len + 1);
	CU_ASSERT_FATAL(text != NULL);
	CU_ASSERT_FATAL(fread(text, 1, (size_t)len, f) == (size_t)len);
	(void)fclose(f);
	found = strstr(text, needle) != NULL;
	free(text);
	return found;
}

static void
test_sse_first_message_then_changes(void)
{
	struct itest_user u;
	struct itest_response r;
	struct sub s;
	CURLM *m = curl_multi_init();
	long long pid = itest_product(PRICE, "one_time", 1), t0;
	char pi[128], path[256];

	itest_signup(nginx_base(), "sse", &u);
	itest_new_intent(nginx_base(), &u, pid, 1, pi, sizeof(pi));
	/* The first message is the current state: the one creation published. */
	sub_start(m, &s, nginx_base(), pi, u.token, false);
	CU_ASSERT(pump_until(m, &s, 1, true, "requires_payment_method", GUARD_MS));
	t0 = itest_now_ms();
	itest_confirm(nginx_base(), &u, pi, "pm_card_visa", &r);
	CU_ASSERT_EQUAL(r.status, 200);
	itest_response_free(&r);
	CU_ASSERT(pump_until(m, &s, 1, false, "succeeded", GUARD_MS));
	printf("\n    live: confirm -> SSE succeeded: %lld ms\n", s.last_ms - t0);
	sub_stop(m, &s);

	/* A change a webhook makes: 3-D Secure passed in Stripe, told by payment_intent.succeeded. */
	itest_new_intent(nginx_base(), &u, pid, 1, pi, sizeof(pi));
	itest_confirm(nginx_base(), &u, pi, "pm_card_threeDSecure2Required", &r);
	ITEST_STR_EQ(itest_json_str(&r, "data.status"), "requires_action");
	itest_response_free(&r);
	sub_start(m, &s, nginx_base(), pi, u.token, true);
	CU_ASSERT(pump_until(m, &s, 1, true, "requires_action", GUARD_MS));
	(void)snprintf(path, sizeof(path), "/_emulator/payment_intents/%s/complete_action", pi);
	t0 = itest_now_ms();
	itest_emulator_ok("POST", path, "{\"result\":\"succeeded\"}");
	CU_ASSERT(pump_until(m, &s, 1, false, "succeeded", GUARD_MS));
	printf("    live: webhook -> SSE succeeded: %lld ms\n", s.last_ms - t0);
	sub_stop(m, &s);
	/* The token that came as ?access_token= is in neither paybridge's log nor nginx's. */
	CU_ASSERT(!log_has("paybridge.log", u.token));
	CU_ASSERT(!log_has("nginx/paybridge.access.log", u.token));

	/*
	 * A late subscriber whose channel holds nothing (expired, or published before
	 * publishing was on): its first message is still the current state.
	 */
	drop_channel(pi);
	sub_start(m, &s, nginx_base(), pi, u.token, false);
	CU_ASSERT(pump_until(m, &s, 1, true, "succeeded", GUARD_MS));
	sub_stop(m, &s);
	curl_multi_cleanup(m);
}

static void
test_sse_refused(void)
{
	struct itest_user owner, other;
	struct sub s;
	CURLM *m = curl_multi_init();
	long long pid = itest_product(PRICE, "one_time", 1);
	char pi[128];
	long st;

	itest_signup(nginx_base(), "sse-owner", &owner);
	itest_signup(nginx_base(), "sse-other", &other);
	itest_new_intent(nginx_base(), &owner, pid, 1, pi, sizeof(pi));
	/* What nchan answers is what the authorization subrequest answered. */
	sub_start(m, &s, nginx_base(), pi, other.token, false);
	st = sub_status(m, &s, GUARD_MS);
	CU_ASSERT_EQUAL(st, 404);
	CU_ASSERT_EQUAL(s.n, 0);
	sub_stop(m, &s);
	sub_start(m, &s, nginx_base(), pi, NULL, false);
	st = sub_status(m, &s, GUARD_MS);
	CU_ASSERT_EQUAL(st, 401);
	CU_ASSERT_EQUAL(s.n, 0);
	sub_stop(m, &s);
	sub_start(m, &s, nginx_base(), pi, "not-a-token", true);
	CU_ASSERT_EQUAL(sub_status(m, &s, GUARD_MS), 401);
	sub_stop(m, &s);
	curl_multi_cleanup(m);
}

static void
test_sse_crowd_holds_no_worker(void)
{
	static struct sub subs[CROWD];
	struct itest_user u;
	struct itest_response r;
	CURLM *m = curl_multi_init();
	long long pid = itest_product(PRICE, "one_time", 1), t0, slowest = 0, published;
	char pi[128];
	size_t idle = 0;

	itest_signup(nginx_base(), "crowd", &u);
	itest_new_intent(nginx_base(), &u, pid, 1, pi, sizeof(pi));
	published = itest_metric(nginx_base(), "paybridge_live_publish_total{outcome=\"ok\"}");
	for (size_t i = 0; i < CROWD; i++)
		sub_start(m, &subs[i], nginx_base(), pi, u.token, i % 2 == 1);
	/* Every one authorised and holding its first message. */
	CU_ASSERT_FATAL(pump_until(m, subs, CROWD, true, "requires_payment_method", 30000));
	/* The channel held creation's message: joining published nothing more. */
	CU_ASSERT(itest_metric(nginx_base(), "paybridge_live_publish_total{outcome=\"ok\"}") -
	    published < 3);
	/* The pool is free: healthz answers, and the workers sit idle. */
	t0 = itest_now_ms();
	CU_ASSERT_FATAL(itest_get(nginx_base(), "/v1/healthz", &r));
	CU_ASSERT_EQUAL(r.status, 200);
	itest_response_free(&r);
	printf("\n    live: healthz with %d subscribers: %lld ms\n", CROWD, itest_now_ms() - t0);
	CU_ASSERT(itest_now_ms() - t0 < 5000);
	for (t0 = itest_now_ms(); itest_now_ms() - t0 < ITEST_WAIT_MS; itest_sleep_ms(50)) {
		idle = itest_workers_idle(itest_master_pid());
		if (idle >= 6)
			break;
		pump(m, 10);
	}
	CU_ASSERT(idle >= 6);
	t0 = itest_now_ms();
	itest_confirm(nginx_base(), &u, pi, "pm_card_visa", &r);
	CU_ASSERT_EQUAL(r.status, 200);
	itest_response_free(&r);
	CU_ASSERT(pump_until(m, subs, CROWD, false, "succeeded", GUARD_MS));
	for (size_t i = 0; i < CROWD; i++) {
		if (subs[i].last_ms - t0 > slowest)
			slowest = subs[i].last_ms - t0;
		sub_stop(m, &subs[i]);
	}
	printf("    live: confirm -> all %d subscribers: %lld ms (slowest)\n", CROWD, slowest);
	curl_multi_cleanup(m);
}

/* ---- long-poll ---- */

struct poll_call {
	const char *base;
	const char *token;
	char path[512];
	long status;
	char wait[32];
	char retry[32];
	char state[40];
	long long ms;
	pthread_t t;
};

static void *
poll_thread(void *arg)
{
	struct poll_call *c = arg;
	struct itest_response r;
	long long t0 = itest_now_ms();

	itest_api_with("GET", c->base, c->path, c->token, NULL, NULL, &r);
	c->ms = itest_now_ms() - t0;
	c->status = r.status;
	if (!itest_header(&r, "Paybridge-Wait", c->wait, sizeof(c->wait)))
		c->wait[0] = '\0';
	if (!itest_header(&r, "Retry-After", c->retry, sizeof(c->retry)))
		c->retry[0] = '\0';
	itest_copy(c->state, sizeof(c->state), itest_json_str(&r, "data.status"));
	itest_response_free(&r);
	return NULL;
}

static void
poll_call(struct poll_call *c, const char *base, const struct itest_user *u, const char *pi,
    const char *query)
{
	memset(c, 0, sizeof(*c));
	c->base = base;
	c->token = u->token;
	(void)snprintf(c->path, sizeof(c->path), "/v1/payments/intents/%s?%s", pi, query);
}

/* Waits until the pool's long-polls that waited reach n. */
static bool
waited_reach(const char *base, long long n)
{
	long long t0 = itest_now_ms();

	while (itest_now_ms() - t0 < ITEST_WAIT_MS) {
		if (itest_metric(base, "paybridge_long_poll_total{outcome=\"waited\"}") >= n)
			return true;
		itest_sleep_ms(20);
	}
	return false;
}

static long long
waited_now(const char *base)
{
	long long n = itest_metric(base, "paybridge_long_poll_total{outcome=\"waited\"}");

	return n < 0 ? 0 : n;
}

static void
test_long_poll_wakes_on_change(void)
{
	for (size_t i = 0; i < nurls; i++) {
		struct itest_user u;
		struct itest_response r;
		struct poll_call c;
		long long pid = itest_product(PRICE, "one_time", 1), before;
		char pi[128];

		itest_signup(urls[i], "poll", &u);
		itest_new_intent(urls[i], &u, pid, 1, pi, sizeof(pi));
		before = waited_now(urls[i]);
		poll_call(&c, urls[i], &u, pi, "wait=8&after=requires_payment_method");
		CU_ASSERT_FATAL(pthread_create(&c.t, NULL, poll_thread, &c) == 0);
		CU_ASSERT(waited_reach(urls[i], before + 1));
		itest_confirm(urls[i], &u, pi, "pm_card_visa", &r);
		CU_ASSERT_EQUAL(r.status, 200);
		itest_response_free(&r);
		(void)pthread_join(c.t, NULL);
		CU_ASSERT_EQUAL(c.status, 200);
		ITEST_STR_EQ(c.wait, "changed");
		ITEST_STR_EQ(c.state, "succeeded");
		CU_ASSERT(c.ms < 6000);
		printf("%s    live: long-poll through %s woke after %lld ms\n", i == 0 ? "\n" : "",
		    urls[i], c.ms);

		/* Another status than after: at once. */
		poll_call(&c, urls[i], &u, pi, "wait=8&after=requires_payment_method");
		(void)poll_thread(&c);
		ITEST_STR_EQ(c.wait, "none");
		ITEST_STR_EQ(c.state, "succeeded");
		CU_ASSERT(c.ms < 3000);
	}
}

static void
test_long_poll_times_out(void)
{
	struct itest_user u;
	struct poll_call c;
	long long pid = itest_product(PRICE, "one_time", 1);
	char pi[128];

	itest_signup(urls[nurls - 1], "poll-timeout", &u);
	itest_new_intent(urls[nurls - 1], &u, pid, 1, pi, sizeof(pi));
	poll_call(&c, urls[nurls - 1], &u, pi, "wait=1&after=requires_payment_method");
	(void)poll_thread(&c);
	CU_ASSERT_EQUAL(c.status, 200);
	ITEST_STR_EQ(c.wait, "timeout");
	ITEST_STR_EQ(c.state, "requires_payment_method");
	CU_ASSERT(c.ms >= 900);
	/* A wait longer than the request deadline is clamped into it (request_timeout 10 s). */
	poll_call(&c, urls[nurls - 1], &u, pi, "wait=1000&after=requires_payment_method");
	(void)poll_thread(&c);
	CU_ASSERT_EQUAL(c.status, 200);
	ITEST_STR_EQ(c.wait, "timeout");
	CU_ASSERT(c.ms < 10000);
}

/* Starts WAITERS_CAP waiters on pi (still requires_payment_method) and waits until all wait. */
static void
fill_waiters(struct poll_call *calls, const char *base, const struct itest_user *u,
    const char *pi)
{
	long long before = waited_now(base);

	for (size_t i = 0; i < WAITERS_CAP; i++) {
		poll_call(&calls[i], base, u, pi, "wait=8&after=requires_payment_method");
		CU_ASSERT_FATAL(pthread_create(&calls[i].t, NULL, poll_thread, &calls[i]) == 0);
	}
	CU_ASSERT(waited_reach(base, before + WAITERS_CAP));
}

/* Cancels pi, which must wake every waiter of calls with "changed" and "canceled". */
static void
cancel_wakes_waiters(struct poll_call *calls, const char *base, const struct itest_user *u,
    const char *pi)
{
	struct itest_response r;
	char path[256];

	(void)snprintf(path, sizeof(path), "/v1/payments/intents/%s/cancel", pi);
	itest_api_with("POST", base, path, u->token, NULL, NULL, &r);
	CU_ASSERT_EQUAL(r.status, 200);
	itest_response_free(&r);
	for (size_t i = 0; i < WAITERS_CAP; i++) {
		(void)pthread_join(calls[i].t, NULL);
		ITEST_STR_EQ(calls[i].wait, "changed");
		ITEST_STR_EQ(calls[i].state, "canceled");
	}
}

static void
test_long_poll_cap(void)
{
	const char *base = urls[nurls - 1];
	struct poll_call calls[WAITERS_CAP], extra;
	struct itest_user u;
	long long pid = itest_product(PRICE, "one_time", 1);
	char pi[128];

	itest_signup(base, "poll-cap", &u);
	itest_new_intent(base, &u, pid, 1, pi, sizeof(pi));
	fill_waiters(calls, base, &u, pi);
	poll_call(&extra, base, &u, pi, "wait=8&after=requires_payment_method");
	(void)poll_thread(&extra);
	CU_ASSERT_EQUAL(extra.status, 200);
	ITEST_STR_EQ(extra.wait, "refused");
	ITEST_STR_EQ(extra.retry, "1");
	ITEST_STR_EQ(extra.state, "requires_payment_method");
	CU_ASSERT(extra.ms < 3000);
	cancel_wakes_waiters(calls, base, &u, pi);
	/* The slots came back: a new waiter waits again. */
	poll_call(&extra, base, &u, pi, "wait=1&after=canceled");
	(void)poll_thread(&extra);
	ITEST_STR_EQ(extra.wait, "timeout");
}

/* A worker killed while it waits gives its waiter slot back (the master clears it). */
static void
test_long_poll_killed_waiter_frees_slot(void)
{
	const char *base = urls[nurls - 1];
	struct poll_call calls[WAITERS_CAP], victim;
	struct itest_user u;
	long long pid = itest_product(PRICE, "one_time", 1), before, t0;
	char pi[128];
	int master = itest_master_pid(), w[8];
	size_t n = 0;

	itest_signup(base, "poll-kill", &u);
	itest_new_intent(base, &u, pid, 1, pi, sizeof(pi));
	before = waited_now(base);
	poll_call(&victim, base, &u, pi, "wait=8&after=requires_payment_method");
	CU_ASSERT_FATAL(pthread_create(&victim.t, NULL, poll_thread, &victim) == 0);
	CU_ASSERT_FATAL(waited_reach(base, before + 1));
	/* The one worker asleep on a futex is the waiter. */
	for (t0 = itest_now_ms(); itest_now_ms() - t0 < ITEST_WAIT_MS; itest_sleep_ms(20)) {
		n = itest_workers_in(master, SYS_futex, SYS_futex, w, 8);
		if (n == 1)
			break;
	}
	CU_ASSERT_FATAL(n == 1);
	CU_ASSERT_FATAL(kill(w[0], SIGKILL) == 0);
	(void)pthread_join(victim.t, NULL);
	CU_ASSERT(victim.status != 200);
	CU_ASSERT(itest_pool_settled(base, ITEST_WAIT_MS));
	/* Every slot is free again: the cap's worth of waiters all wait. */
	fill_waiters(calls, base, &u, pi);
	cancel_wakes_waiters(calls, base, &u, pi);
}

static void
test_long_poll_bad_input(void)
{
	static const char *const bad[] = {
		"wait=0&after=succeeded", "wait=-1", "wait=abc", "wait=1.5", "wait=",
		"wait=5&after=bogus", "after=", "wait=1&wait=2",
		"wait=1&after=succeeded&after=canceled",
	};
	struct itest_user u, other;
	long long pid = itest_product(PRICE, "one_time", 1);
	char pi[128], path[512];

	itest_signup(urls[0], "poll-bad", &u);
	itest_signup(urls[0], "poll-other", &other);
	itest_new_intent(urls[0], &u, pid, 1, pi, sizeof(pi));
	for (size_t i = 0; i < nurls; i++) {
		for (size_t k = 0; k < sizeof(bad) / sizeof(bad[0]); k++) {
			struct itest_response r;

			(void)snprintf(path, sizeof(path), "/v1/payments/intents/%s?%s", pi, bad[k]);
			itest_api_with("GET", urls[i], path, u.token, NULL, NULL, &r);
			if (r.status != 422)
				fprintf(stderr, "live: %s answered %ld\n", bad[k], r.status);
			CU_ASSERT_EQUAL(r.status, 422);
			ITEST_STR_EQ(itest_json_str(&r, "error.code"), "invalid_fields");
			itest_response_free(&r);
		}
		/* Another's intent is not found, waiting or not. */
		(void)snprintf(path, sizeof(path),
		    "/v1/payments/intents/%s?wait=5&after=requires_payment_method", pi);
		CU_ASSERT_EQUAL(itest_api_status("GET", urls[i], path, other.token, NULL), 404);
		CU_ASSERT_EQUAL(itest_api_status("GET", urls[i], path, NULL, NULL), 401);
	}
}

static const struct unit_test tests[] = {
	{ "sse_first_message_then_changes", test_sse_first_message_then_changes },
	{ "sse_refused", test_sse_refused },
	{ "sse_crowd_holds_no_worker", test_sse_crowd_holds_no_worker },
	{ "long_poll_wakes_on_change", test_long_poll_wakes_on_change },
	{ "long_poll_times_out", test_long_poll_times_out },
	{ "long_poll_cap", test_long_poll_cap },
	{ "long_poll_killed_waiter_frees_slot", test_long_poll_killed_waiter_frees_slot },
	{ "long_poll_bad_input", test_long_poll_bad_input },
};

int
main(int argc, char *argv[])
{
	return itest_main("live", tests, sizeof(tests) / sizeof(tests[0]), urls, MAX_URLS,
	    &nurls, argc, argv);
}
