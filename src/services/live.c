/*
 * Live payment status (see live.h): the per-process notes of changed intents, what a
 * commit sets off (a wake-up and an nchan publish), and the long-poll query's rules.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "nchan/client.h"
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

static char notes[NOTES_MAX][ID_MAX + 1];
static size_t nnotes;

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
			(void)live_publish(app, &v);
	}
}

/* Time for one call to nchan: PUBLISH_BUDGET_MS, or what is left of the request. */
static int64_t
budget_ms(struct app *app)
{
	return (app_deadline(app, PUBLISH_BUDGET_MS) - time_mono_us()) / 1000;
}

enum pb_err
live_publish(struct app *app, const struct payment_view *v)
{
	struct json_object *o;
	int64_t left_ms = budget_ms(app);
	struct buf b;
	long status = 0;
	enum pb_err err;

	if (app->conf->nchan_publish_url[0] == '\0')
		return PB_ECONFIG;
	o = payments_view_json(v);
	buf_init(&b, 64 * 1024);
	err = o == NULL ? PB_ENOMEM : json_append(&b, o);
	json_object_put(o);
	if (err == PB_OK)
		err = left_ms < PUBLISH_MIN_MS ? PB_ETIMEOUT :
		    nchan_publish(app->conf->nchan_publish_url, v->id, buf_cstr(&b), b.len, left_ms,
			&status);
	buf_free(&b);
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
live_channel_empty(struct app *app, const char *id)
{
	int64_t left_ms = budget_ms(app), messages = 0;

	if (app->conf->nchan_publish_url[0] == '\0')
		return false;
	/* When nchan cannot say, the channel is taken as empty: one publish too many is harmless. */
	if (left_ms < PUBLISH_MIN_MS ||
	    nchan_messages(app->conf->nchan_publish_url, id, left_ms, &messages) != PB_OK)
		return true;
	return messages == 0;
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
