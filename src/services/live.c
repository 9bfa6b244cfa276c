/*
 * Live payment status (see live.h): the per-process notes of changed intents and what a
 * commit sets off (a wake-up and an nchan publish). The long-poll is live_wait.c.
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
