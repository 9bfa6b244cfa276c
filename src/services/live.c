/*
 * Live payment status (see live.h): the per-process notes of changed intents, what a
 * commit sets off (a wake-up and an nchan publish), and the long-poll query's rules.
 */
#include "config.h"

#include <curl/curl.h>
#include <stdio.h>
#include <string.h>

#include "services/app.h"
#include "services/live.h"
#include "services/payments.h"
#include "util/arena.h"
#include "util/buf.h"
#include "util/conf.h"
#include "util/json.h"
#include "util/log.h"
#include "util/metrics.h"
#include "util/notify.h"
#include "util/strnum.h"
#include "util/timeutil.h"

/* A publish gives up after this, or at the request's deadline if sooner. */
#define PUBLISH_BUDGET_MS 500
/* Below this much time left a publish is not started. */
#define PUBLISH_MIN_MS 20
/* One transaction changes a handful of intents at most (one, today). */
#define NOTES_MAX 8
#define ID_MAX 255
#define URL_MAX 2048

static char notes[NOTES_MAX][ID_MAX + 1];
static size_t nnotes;
/* One handle per process, so that the connection to nginx is kept between publishes. */
static CURL *publisher;

static const char *const statuses[] = {
	"requires_payment_method", "requires_confirmation", "requires_action", "processing",
	"requires_capture", "canceled", "succeeded",
};

void
live_note(const char *id)
{
	size_t len = strlen(id);

	if (len > ID_MAX)
		return;
	for (size_t i = 0; i < nnotes; i++)
		if (strcmp(notes[i], id) == 0)
			return;
	if (nnotes == NOTES_MAX) {
		/* Waiters still re-check the database; only the wake-up is missed. */
		log_warnx("live: more than %d intents changed in one transaction", NOTES_MAX);
		return;
	}
	memcpy(notes[nnotes], id, len + 1);
	nnotes++;
}

void
live_after(struct app *app, struct arena *a, enum pb_err err)
{
	struct payment_view v;
	size_t n = nnotes;

	/* Forgotten first: a publish must not see them again if it notes anything. */
	nnotes = 0;
	if (err != PB_OK)
		return;
	for (size_t i = 0; i < n; i++) {
		notify_bump(notes[i]);
		if (app->conf->nchan_publish_url[0] == '\0')
			continue;
		if (payments_stored_intent(app, a, 0, notes[i], &v) == PB_OK)
			(void)live_publish(app, a, &v);
	}
}

/* Keeps what nchan answers, up to the buffer's maximum. */
static size_t
collect(char *p, size_t size, size_t n, void *arg)
{
	return buf_append(arg, p, size * n) == PB_OK ? size * n : 0;
}

/*
 * One call to nchan's publisher location for id: a POST of body, or a GET (body NULL),
 * whose answer lands in out. Bounded by PUBLISH_BUDGET_MS and the request's deadline.
 */
static enum pb_err
call(struct app *app, struct arena *a, const char *id, const char *body, size_t len,
    struct buf *out, long *status)
{
	const char *base = app->conf->nchan_publish_url, *url;
	int64_t left_ms = (app_deadline(app, PUBLISH_BUDGET_MS) - time_mono_us()) / 1000;
	struct curl_slist *h = NULL;
	CURLcode rc;

	*status = 0;
	url = arena_printf(a, "%s%s%s", base, base[strlen(base) - 1] == '/' ? "" : "/", id);
	if (url == NULL || strlen(url) > URL_MAX)
		return PB_ENOMEM;
	if (left_ms < PUBLISH_MIN_MS)
		return PB_ETIMEOUT;
	if (publisher == NULL) {
		publisher = curl_easy_init();
		if (publisher == NULL)
			return PB_ENOMEM;
	}
	h = curl_slist_append(NULL, body != NULL ? "Content-Type: application/json" :
	    "Accept: application/json");
	if (h == NULL)
		return PB_ENOMEM;
	curl_easy_reset(publisher);
	(void)curl_easy_setopt(publisher, CURLOPT_URL, url);
	(void)curl_easy_setopt(publisher, CURLOPT_NOSIGNAL, 1L);
	(void)curl_easy_setopt(publisher, CURLOPT_HTTPHEADER, h);
	if (body != NULL) {
		(void)curl_easy_setopt(publisher, CURLOPT_POSTFIELDS, body);
		(void)curl_easy_setopt(publisher, CURLOPT_POSTFIELDSIZE, (long)len);
	}
	(void)curl_easy_setopt(publisher, CURLOPT_TIMEOUT_MS, (long)left_ms);
	(void)curl_easy_setopt(publisher, CURLOPT_CONNECTTIMEOUT_MS, (long)left_ms);
	(void)curl_easy_setopt(publisher, CURLOPT_WRITEFUNCTION, collect);
	(void)curl_easy_setopt(publisher, CURLOPT_WRITEDATA, out);
	(void)curl_easy_setopt(publisher, CURLOPT_PROTOCOLS_STR, "http,https");
	rc = curl_easy_perform(publisher);
	if (rc == CURLE_OK)
		(void)curl_easy_getinfo(publisher, CURLINFO_RESPONSE_CODE, status);
	curl_slist_free_all(h);
	if (rc == CURLE_OPERATION_TIMEDOUT)
		return PB_ETIMEOUT;
	return rc == CURLE_OK ? PB_OK : PB_ESYSTEM;
}

enum pb_err
live_publish(struct app *app, struct arena *a, const struct payment_view *v)
{
	struct json_object *o;
	struct buf b, answer;
	long status = 0;
	enum pb_err err;

	if (app->conf->nchan_publish_url[0] == '\0')
		return PB_ECONFIG;
	o = payments_view_json(v);
	buf_init(&b, 64 * 1024);
	buf_init(&answer, 4096);
	err = o == NULL ? PB_ENOMEM : json_append(&b, o);
	json_object_put(o);
	if (err == PB_OK)
		err = call(app, a, v->id, buf_cstr(&b), b.len, &answer, &status);
	/* nchan answers 201 (created), 202 (queued: no subscriber yet) or 200. */
	if (err == PB_OK && (status < 200 || status > 299))
		err = PB_ESYSTEM;
	buf_free(&b);
	buf_free(&answer);
	if (err == PB_OK) {
		metrics_add(METRIC_LIVE_PUBLISHED, 1);
		return PB_OK;
	}
	metrics_add(METRIC_LIVE_PUBLISH_FAILED, 1);
	/* The URL is configuration, and could carry credentials: never logged. */
	log_event(LOGL_WARN, "live status publish failed", (const struct log_kv[]){
	    LOG_STR("payment_intent", v->id), LOG_STR("error", pb_strerror(err)),
	    LOG_NUM("status", status) }, 3);
	return err;
}

bool
live_channel_empty(struct app *app, struct arena *a, const char *id)
{
	struct json_object *o = NULL;
	struct buf answer;
	int64_t messages = 0;
	long status = 0;
	bool empty = true;

	if (app->conf->nchan_publish_url[0] == '\0')
		return false;
	buf_init(&answer, 4096);
	/* nchan's channel info: 404 for no channel, else {"messages": N, ...}. */
	if (call(app, a, id, NULL, 0, &answer, &status) == PB_OK && status == 200 &&
	    json_parse(buf_cstr(&answer), answer.len, 4, &o) == PB_OK &&
	    json_get_int64(o, "messages", &messages))
		empty = messages == 0;
	json_object_put(o);
	buf_free(&answer);
	return empty;
}

bool
live_status_known(const char *s)
{
	for (size_t i = 0; i < sizeof(statuses) / sizeof(statuses[0]); i++)
		if (strcmp(s, statuses[i]) == 0)
			return true;
	return false;
}

bool
live_parse_wait(const char *wait, const char *after, int *seconds, const char **field)
{
	long long n = 0;

	*seconds = 0;
	*field = NULL;
	if (wait != NULL) {
		/* Any whole number from 1 is taken, and capped: clients need not know the cap. */
		if (strnum_parse(wait, 10, 1, 1000000000LL, &n) != PB_OK) {
			*field = "wait";
			return false;
		}
		*seconds = n > LIVE_WAIT_MAX ? LIVE_WAIT_MAX : (int)n;
	}
	if (after != NULL && !live_status_known(after)) {
		*field = "after";
		return false;
	}
	return true;
}

const char *
live_wait_name(enum live_wait w)
{
	static const char *const names[LIVE_WAIT__MAX] = { "none", "changed", "timeout",
		"refused" };

	return (unsigned)w < LIVE_WAIT__MAX ? names[w] : "none";
}

/* Waits in a slot while id's stored status is after; *moved when it changed. */
static enum pb_err
wait_in_slot(struct app *app, struct arena *a, uint64_t user_id, const char *id,
    const char *after, int64_t until_us, struct payment_view *out, bool *moved)
{
	int64_t now, next;
	uint32_t seq;
	enum pb_err err;

	*moved = false;
	for (;;) {
		/* The counter before the read: a change committed after the read moves it. */
		seq = notify_seq(id);
		err = payments_stored_intent(app, a, user_id, id, out);
		if (err != PB_OK)
			return err;
		if (strcmp(out->status, after) != 0) {
			*moved = true;
			return PB_OK;
		}
		now = time_mono_us();
		if (now >= until_us)
			return PB_OK;
		next = now + LIVE_RECHECK_MS * 1000;
		(void)notify_wait(id, seq, next < until_us ? next : until_us);
	}
}

enum pb_err
live_wait_intent(struct app *app, struct arena *a, uint64_t user_id, const char *id,
    int seconds, const char *after, struct payment_view *out, enum live_wait *how)
{
	int64_t until_us, last_us;
	bool moved = false;
	enum pb_err err;

	*how = LIVE_WAIT_NONE;
	err = payments_get_intent(app, a, user_id, id, out);
	if (err != PB_OK || after == NULL || seconds <= 0 || strcmp(out->status, after) != 0)
		return err;
	/* The deadline bounds Stripe calls; the answer still needs the reserve after it. */
	until_us = time_mono_us() + (int64_t)seconds * 1000000;
	last_us = app->deadline_us != 0 ? app->deadline_us - LIVE_WAIT_RESERVE_MS * 1000 :
	    until_us;
	if (last_us < until_us)
		until_us = last_us;
	if (until_us <= time_mono_us())
		return PB_OK;
	if (app->waiters == NULL || !app->waiters->take(app->waiters->ctx)) {
		metrics_add(METRIC_LONG_POLL_REFUSED, 1);
		*how = LIVE_WAIT_REFUSED;
		return PB_OK;
	}
	metrics_add(METRIC_LONG_POLL_WAITS, 1);
	err = wait_in_slot(app, a, user_id, id, after, until_us, out, &moved);
	app->waiters->give(app->waiters->ctx);
	/* Nothing applied a change: Stripe is asked once more, as any read would. */
	if (err == PB_OK && !moved) {
		err = payments_get_intent(app, a, user_id, id, out);
		moved = err == PB_OK && strcmp(out->status, after) != 0;
	}
	if (err != PB_OK)
		return err;
	*how = moved ? LIVE_WAIT_CHANGED : LIVE_WAIT_TIMEOUT;
	return PB_OK;
}
