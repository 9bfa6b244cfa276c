#include "config.h"

#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

#include "util/metrics.h"

/* Statuses counted by their own label; anything else lands in "other". */
static const int statuses[] = {
	200, 201, 204, 303, 304, 400, 401, 403, 404, 405, 409, 413, 415, 422, 429,
	500, 502, 503, 504,
};
#define NSTATUS (sizeof(statuses) / sizeof(statuses[0]) + 1)

/* Upper bounds of the latency buckets, in microseconds; +Inf is implicit. */
static const int64_t buckets_us[] = {
	1000, 2500, 5000, 10000, 25000, 50000, 100000, 250000, 500000, 1000000, 2500000,
	5000000, 10000000,
};
#define NBUCKETS (sizeof(buckets_us) / sizeof(buckets_us[0]) + 1)

static const char *const role_names[METRICS_ROLE__MAX] = { "worker", "jobs" };
static const char *const exit_names[METRICS_EXIT__MAX] = {
	"stopped", "recycled", "crashed", "timeout",
};

static const struct {
	const char *name;
	const char *labels;	/* "" or 'key="value"' */
	const char *help;
} counter_table[METRIC__MAX] = {
	[METRIC_CUSTOMERS_CREATED_REGISTRATION] = { "paybridge_customers_created_total",
	    "source=\"user_registration\"", "Stripe customers created, by source." },
	[METRIC_CUSTOMERS_CREATED_LAZY] = { "paybridge_customers_created_total",
	    "source=\"lazy\"", NULL },
	[METRIC_CUSTOMERS_CREATED_BACKFILL] = { "paybridge_customers_created_total",
	    "source=\"backfill\"", NULL },
	[METRIC_CUSTOMERS_ADOPTED] = { "paybridge_customers_adopted_total", "",
	    "Existing Stripe customers adopted after the idempotency window." },
	[METRIC_JOB_ATTEMPTS] = { "paybridge_job_attempts_total", "",
	    "Outbox job attempts." },
	[METRIC_JOB_FAILURES] = { "paybridge_job_failures_total", "",
	    "Outbox job attempts that failed." },
	[METRIC_JOBS_DEAD] = { "paybridge_jobs_dead_total", "",
	    "Outbox jobs moved to dead after their last attempt." },
	[METRIC_STRIPE_REQUESTS] = { "paybridge_stripe_requests_total", "",
	    "HTTP requests sent to Stripe, retries included." },
	[METRIC_STRIPE_ERRORS] = { "paybridge_stripe_errors_total", "",
	    "Stripe calls that ended in an error." },
	[METRIC_LOGIN_THROTTLED] = { "paybridge_login_throttled_total", "",
	    "Login attempts refused by throttling." },
	[METRIC_CONN_PARKED] = { "paybridge_connections_parked_total", "",
	    "Idle kept-open web server connections a busy-elsewhere worker gave to the master." },
	[METRIC_CONN_HANDED_OFF] = { "paybridge_connections_handed_off_total", "",
	    "Parked connections handed back to a free worker with a request." },
	[METRIC_CONN_PARK_DROPPED] = { "paybridge_connections_park_dropped_total", "",
	    "Idle connections closed because the master held as many as it may." },
	[METRIC_REQUESTS_SHED] = { "paybridge_requests_shed_total", "",
	    "Requests answered 503 at once: older than queue_timeout_ms when picked up." },
	[METRIC_DB_SEAT_REFUSED] = { "paybridge_db_seat_refused_total", "",
	    "Requests answered 503: every database seat stayed taken (db_seat_wait_ms)." },
	[METRIC_EVENTS_SYNCED_APPLIED] = { "paybridge_events_synced_total",
	    "outcome=\"applied\"", "Events the /v1/events sync listed, by outcome." },
	[METRIC_EVENTS_SYNCED_DUPLICATE] = { "paybridge_events_synced_total",
	    "outcome=\"duplicate\"", NULL },
	[METRIC_EVENTS_SYNCED_FAILED] = { "paybridge_events_synced_total",
	    "outcome=\"failed\"", NULL },
	[METRIC_PROFILE_PUSHED] = { "paybridge_profile_sync_total", "direction=\"push\"",
	    "Profile changes synced with Stripe: pushed there, or pulled from its events." },
	[METRIC_PROFILE_PULLED] = { "paybridge_profile_sync_total", "direction=\"pull\"",
	    NULL },
	[METRIC_PROFILE_ECHOES] = { "paybridge_profile_echoes_total", "",
	    "customer.updated events that only echoed our own change, and changed nothing." },
	[METRIC_PROFILE_DRIFT] = { "paybridge_profile_drift_total", "",
	    "Changes made in Stripe that were not taken (an email another user has, an "
	    "invalid name or email): the user and the customer disagree until reconciled." },
	[METRIC_CUSTOMERS_DELETED] = { "paybridge_customers_deleted_total", "",
	    "Stripe customers deleted because their account was closed." },
	[METRIC_CUSTOMERS_LOST] = { "paybridge_customers_lost_total", "",
	    "Stripe customers found deleted in Stripe and unlinked from their user." },
	[METRIC_LIVE_PUBLISHED] = { "paybridge_live_publish_total", "outcome=\"ok\"",
	    "Payment intent states published to nchan after commit, by outcome." },
	[METRIC_LIVE_PUBLISH_FAILED] = { "paybridge_live_publish_total", "outcome=\"failed\"",
	    NULL },
	[METRIC_LONG_POLL_WAITS] = { "paybridge_long_poll_total", "outcome=\"waited\"",
	    "Long-poll reads (?wait=) that waited for a change, or were refused a wait because "
	    "long_poll_max_waiters were waiting." },
	[METRIC_LONG_POLL_REFUSED] = { "paybridge_long_poll_total", "outcome=\"refused\"",
	    NULL },
};

static const struct {
	const char *name;
	const char *help;
} gauge_table[METRIC_GAUGE__MAX] = {
	[METRIC_JOBS_PENDING] = { "paybridge_jobs_pending", "Outbox jobs waiting to run." },
	[METRIC_JOBS_DEAD_TOTAL] = { "paybridge_jobs_dead", "Outbox jobs in the dead state." },
	[METRIC_CONN_PARKED_NOW] = { "paybridge_connections_parked",
	    "Idle web server connections the master holds." },
	[METRIC_WORKERS_WANTED] = { "paybridge_workers_wanted", "The configured pool size." },
	[METRIC_WORKERS_READY] = { "paybridge_workers_ready",
	    "Request workers of the current configuration that accept work." },
	[METRIC_WORKERS_STALE] = { "paybridge_workers_stale",
	    "Request workers of an older configuration that a reload is still replacing." },
};

struct route_stats {
	atomic_uint_least64_t by_status[NSTATUS];
	atomic_uint_least64_t buckets[NBUCKETS];	/* not cumulative; summed when rendered */
	atomic_uint_least64_t sum_us;
};

static const char *const evc_names[METRICS_EVC__MAX] = {
	"payment_intent", "checkout_session", "charge", "subscription", "invoice",
	"payment_method", "customer", "other",
};
static const char *const evo_names[METRICS_EVO__MAX] = {
	"applied", "duplicate", "ignored", "failed", "refused", "deferred",
};
static const char *const sig_names[METRICS_SIG__MAX] = {
	"missing", "malformed", "no_match", "expired", "no_secret", "error",
};

/*
 * A secret label's slot: claimed once (state 0 -> 1 by compare-and-swap, label written,
 * then 2), so labels can come from whichever process first sees them, a reload included.
 * Two processes racing for one label may claim two slots; rendering adds them up.
 */
struct secret_slot {
	atomic_int state;
	char label[METRICS_SECRET_LABEL_MAX + 1];
	atomic_uint_least64_t matches;
};

struct webhook_stats {
	atomic_uint_least64_t events[METRICS_EVC__MAX][METRICS_EVO__MAX];
	atomic_uint_least64_t sig_failures[METRICS_SIG__MAX];
	atomic_uint_least64_t buckets[NBUCKETS];
	atomic_uint_least64_t sum_us;
	struct secret_slot secrets[METRICS_SECRET_SLOTS];
};

struct metrics_page {
	struct route_stats routes[METRICS_ROUTES_MAX + 1];	/* the last: unmatched */
	atomic_uint_least64_t starts[METRICS_ROLE__MAX];
	atomic_uint_least64_t exits[METRICS_ROLE__MAX][METRICS_EXIT__MAX];
	atomic_uint_least64_t counters[METRIC__MAX];
	atomic_int_least64_t gauges[METRIC_GAUGE__MAX];
	struct webhook_stats webhooks;
};

static struct metrics_page *page;
static const char *const *route_labels;
static size_t route_count;

enum pb_err
metrics_init(const char *const *route_names, size_t nroutes)
{
	void *p;

	if (nroutes > METRICS_ROUTES_MAX)
		return PB_EINVAL;
	p = mmap(NULL, sizeof(*page), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return PB_ESYSTEM;
	page = p;	/* mmap gives zeroed memory, a valid all-zero state for atomics */
	route_labels = route_names;
	route_count = nroutes;
	return PB_OK;
}

void
metrics_cleanup(void)
{
	if (page != NULL)
		munmap(page, sizeof(*page));
	page = NULL;
}

static size_t
status_index(int status)
{
	for (size_t i = 0; i < NSTATUS - 1; i++) {
		if (statuses[i] == status)
			return i;
	}
	return NSTATUS - 1;
}

void
metrics_request(size_t route, int status, int64_t duration_us)
{
	struct route_stats *rs;
	size_t b = 0;

	if (page == NULL)
		return;
	rs = &page->routes[route < route_count ? route : METRICS_ROUTES_MAX];
	if (duration_us < 0)
		duration_us = 0;
	while (b < NBUCKETS - 1 && duration_us > buckets_us[b])
		b++;
	atomic_fetch_add_explicit(&rs->by_status[status_index(status)], 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&rs->buckets[b], 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&rs->sum_us, (uint64_t)duration_us, memory_order_relaxed);
}

void
metrics_worker_start(enum metrics_role role)
{
	if (page != NULL && role < METRICS_ROLE__MAX)
		atomic_fetch_add_explicit(&page->starts[role], 1, memory_order_relaxed);
}

void
metrics_worker_exit(enum metrics_role role, enum metrics_exit cause)
{
	if (page != NULL && role < METRICS_ROLE__MAX && cause < METRICS_EXIT__MAX)
		atomic_fetch_add_explicit(&page->exits[role][cause], 1, memory_order_relaxed);
}

void
metrics_add(enum metrics_counter c, uint64_t n)
{
	if (page != NULL && c < METRIC__MAX)
		atomic_fetch_add_explicit(&page->counters[c], n, memory_order_relaxed);
}

void
metrics_gauge_set(enum metrics_gauge g, int64_t value)
{
	if (page != NULL && g < METRIC_GAUGE__MAX)
		atomic_store_explicit(&page->gauges[g], value, memory_order_relaxed);
}

void
metrics_webhook_event(enum metrics_event_class c, enum metrics_event_outcome o,
    int64_t duration_us)
{
	struct webhook_stats *w;
	size_t b = 0;

	if (page == NULL || c >= METRICS_EVC__MAX || o >= METRICS_EVO__MAX)
		return;
	w = &page->webhooks;
	if (duration_us < 0)
		duration_us = 0;
	while (b < NBUCKETS - 1 && duration_us > buckets_us[b])
		b++;
	atomic_fetch_add_explicit(&w->events[c][o], 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&w->buckets[b], 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&w->sum_us, (uint64_t)duration_us, memory_order_relaxed);
}

void
metrics_webhook_sig_failure(enum metrics_sig_reason r)
{
	if (page != NULL && r < METRICS_SIG__MAX)
		atomic_fetch_add_explicit(&page->webhooks.sig_failures[r], 1,
		    memory_order_relaxed);
}

void
metrics_webhook_secret(const char *label, uint64_t n)
{
	struct secret_slot *slots;

	if (page == NULL || label == NULL || strlen(label) > METRICS_SECRET_LABEL_MAX)
		return;
	slots = page->webhooks.secrets;
	for (size_t i = 0; i < METRICS_SECRET_SLOTS; i++) {
		int st = atomic_load(&slots[i].state), zero = 0;

		if (st == 2 && strcmp(slots[i].label, label) == 0) {
			atomic_fetch_add_explicit(&slots[i].matches, n, memory_order_relaxed);
			return;
		}
		if (st == 0 && atomic_compare_exchange_strong(&slots[i].state, &zero, 1)) {
			(void)snprintf(slots[i].label, sizeof(slots[i].label), "%s", label);
			atomic_fetch_add_explicit(&slots[i].matches, n, memory_order_relaxed);
			atomic_store(&slots[i].state, 2);
			return;
		}
	}
}

static uint64_t
load(atomic_uint_least64_t *v)
{
	return atomic_load_explicit(v, memory_order_relaxed);
}

static const char *
route_label(size_t i)
{
	return i < route_count ? route_labels[i] : "unmatched";
}

static enum pb_err
render_requests(struct buf *out)
{
	enum pb_err err;

	err = buf_appends(out,
	    "# HELP paybridge_http_requests_total HTTP requests answered, by route and status.\n"
	    "# TYPE paybridge_http_requests_total counter\n");
	for (size_t r = 0; err == PB_OK && r <= route_count; r++) {
		struct route_stats *rs = &page->routes[r < route_count ? r : METRICS_ROUTES_MAX];

		for (size_t s = 0; err == PB_OK && s < NSTATUS; s++) {
			uint64_t v = load(&rs->by_status[s]);
			char status[8];

			if (v == 0)
				continue;
			if (s < NSTATUS - 1)
				(void)snprintf(status, sizeof(status), "%d", statuses[s]);
			else
				(void)snprintf(status, sizeof(status), "other");
			err = buf_appendf(out,
			    "paybridge_http_requests_total{route=\"%s\",status=\"%s\"} %llu\n",
			    route_label(r), status, (unsigned long long)v);
		}
	}
	if (err == PB_OK)
		err = buf_appends(out,
		    "# HELP paybridge_http_request_duration_seconds Time to answer a request.\n"
		    "# TYPE paybridge_http_request_duration_seconds histogram\n");
	for (size_t r = 0; err == PB_OK && r <= route_count; r++) {
		struct route_stats *rs = &page->routes[r < route_count ? r : METRICS_ROUTES_MAX];
		uint64_t cum = 0;

		for (size_t b = 0; err == PB_OK && b < NBUCKETS; b++) {
			cum += load(&rs->buckets[b]);
			if (b < NBUCKETS - 1)
				err = buf_appendf(out,
				    "paybridge_http_request_duration_seconds_bucket{route=\"%s\","
				    "le=\"%g\"} %llu\n", route_label(r),
				    (double)buckets_us[b] / 1e6, (unsigned long long)cum);
			else
				err = buf_appendf(out,
				    "paybridge_http_request_duration_seconds_bucket{route=\"%s\","
				    "le=\"+Inf\"} %llu\n", route_label(r), (unsigned long long)cum);
		}
		if (err == PB_OK)
			err = buf_appendf(out,
			    "paybridge_http_request_duration_seconds_sum{route=\"%s\"} %.6f\n"
			    "paybridge_http_request_duration_seconds_count{route=\"%s\"} %llu\n",
			    route_label(r), (double)load(&rs->sum_us) / 1e6, route_label(r),
			    (unsigned long long)cum);
	}
	return err;
}

static enum pb_err
render_workers(struct buf *out)
{
	enum pb_err err;

	err = buf_appends(out,
	    "# HELP paybridge_worker_starts_total Worker processes started, by role.\n"
	    "# TYPE paybridge_worker_starts_total counter\n");
	for (int r = 0; err == PB_OK && r < METRICS_ROLE__MAX; r++)
		err = buf_appendf(out, "paybridge_worker_starts_total{role=\"%s\"} %llu\n",
		    role_names[r], (unsigned long long)load(&page->starts[r]));
	if (err == PB_OK)
		err = buf_appends(out,
		    "# HELP paybridge_worker_exits_total Worker processes ended, by role and cause.\n"
		    "# TYPE paybridge_worker_exits_total counter\n");
	for (int r = 0; err == PB_OK && r < METRICS_ROLE__MAX; r++) {
		for (int c = 0; err == PB_OK && c < METRICS_EXIT__MAX; c++)
			err = buf_appendf(out,
			    "paybridge_worker_exits_total{role=\"%s\",cause=\"%s\"} %llu\n",
			    role_names[r], exit_names[c],
			    (unsigned long long)load(&page->exits[r][c]));
	}
	return err;
}

static enum pb_err
render_counters(struct buf *out)
{
	enum pb_err err = PB_OK;

	for (int c = 0; err == PB_OK && c < METRIC__MAX; c++) {
		bool first = c == 0 || strcmp(counter_table[c - 1].name, counter_table[c].name) != 0;

		if (first)
			err = buf_appendf(out, "# HELP %s %s\n# TYPE %s counter\n",
			    counter_table[c].name, counter_table[c].help, counter_table[c].name);
		if (err == PB_OK)
			err = buf_appendf(out, "%s%s%s%s %llu\n", counter_table[c].name,
			    counter_table[c].labels[0] != '\0' ? "{" : "", counter_table[c].labels,
			    counter_table[c].labels[0] != '\0' ? "}" : "",
			    (unsigned long long)load(&page->counters[c]));
	}
	for (int g = 0; err == PB_OK && g < METRIC_GAUGE__MAX; g++)
		err = buf_appendf(out, "# HELP %s %s\n# TYPE %s gauge\n%s %lld\n",
		    gauge_table[g].name, gauge_table[g].help, gauge_table[g].name,
		    gauge_table[g].name,
		    (long long)atomic_load_explicit(&page->gauges[g], memory_order_relaxed));
	return err;
}

static enum pb_err
render_webhooks(struct buf *out)
{
	struct webhook_stats *w = &page->webhooks;
	uint64_t cum = 0;
	enum pb_err err;

	err = buf_appends(out,
	    "# HELP paybridge_webhook_events_total Stripe events received, by type class and "
	    "outcome.\n# TYPE paybridge_webhook_events_total counter\n");
	for (int c = 0; err == PB_OK && c < METRICS_EVC__MAX; c++) {
		for (int o = 0; err == PB_OK && o < METRICS_EVO__MAX; o++)
			err = buf_appendf(out,
			    "paybridge_webhook_events_total{class=\"%s\",outcome=\"%s\"} %llu\n",
			    evc_names[c], evo_names[o], (unsigned long long)load(&w->events[c][o]));
	}
	if (err == PB_OK)
		err = buf_appends(out,
		    "# HELP paybridge_webhook_signature_failures_total Webhook deliveries refused "
		    "before processing, by reason.\n"
		    "# TYPE paybridge_webhook_signature_failures_total counter\n");
	for (int r = 0; err == PB_OK && r < METRICS_SIG__MAX; r++)
		err = buf_appendf(out,
		    "paybridge_webhook_signature_failures_total{reason=\"%s\"} %llu\n",
		    sig_names[r], (unsigned long long)load(&w->sig_failures[r]));
	if (err == PB_OK)
		err = buf_appends(out,
		    "# HELP paybridge_webhook_secret_matches_total Verified deliveries, by the "
		    "label of the secret that matched.\n"
		    "# TYPE paybridge_webhook_secret_matches_total counter\n");
	for (size_t i = 0; err == PB_OK && i < METRICS_SECRET_SLOTS; i++) {
		uint64_t v;
		bool seen = false;

		if (atomic_load(&w->secrets[i].state) != 2)
			continue;
		for (size_t j = 0; j < i; j++)
			seen |= atomic_load(&w->secrets[j].state) == 2 &&
			    strcmp(w->secrets[j].label, w->secrets[i].label) == 0;
		if (seen)
			continue;
		v = load(&w->secrets[i].matches);
		for (size_t j = i + 1; j < METRICS_SECRET_SLOTS; j++) {
			if (atomic_load(&w->secrets[j].state) == 2 &&
			    strcmp(w->secrets[j].label, w->secrets[i].label) == 0)
				v += load(&w->secrets[j].matches);
		}
		err = buf_appendf(out, "paybridge_webhook_secret_matches_total{secret=\"%s\"} %llu\n",
		    w->secrets[i].label, (unsigned long long)v);
	}
	if (err == PB_OK)
		err = buf_appends(out,
		    "# HELP paybridge_webhook_processing_seconds Time to process a verified event.\n"
		    "# TYPE paybridge_webhook_processing_seconds histogram\n");
	for (size_t b = 0; err == PB_OK && b < NBUCKETS; b++) {
		cum += load(&w->buckets[b]);
		if (b < NBUCKETS - 1)
			err = buf_appendf(out,
			    "paybridge_webhook_processing_seconds_bucket{le=\"%g\"} %llu\n",
			    (double)buckets_us[b] / 1e6, (unsigned long long)cum);
		else
			err = buf_appendf(out,
			    "paybridge_webhook_processing_seconds_bucket{le=\"+Inf\"} %llu\n",
			    (unsigned long long)cum);
	}
	if (err == PB_OK)
		err = buf_appendf(out, "paybridge_webhook_processing_seconds_sum %.6f\n"
		    "paybridge_webhook_processing_seconds_count %llu\n",
		    (double)load(&w->sum_us) / 1e6, (unsigned long long)cum);
	return err;
}

enum pb_err
metrics_render(struct buf *out)
{
	enum pb_err err;

	if (page == NULL)
		return PB_ESYSTEM;
	err = render_requests(out);
	if (err == PB_OK)
		err = render_workers(out);
	if (err == PB_OK)
		err = render_counters(out);
	if (err == PB_OK)
		err = render_webhooks(out);
	return err;
}
