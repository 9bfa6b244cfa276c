/*
 * Live payment status, the long-poll (see live.h): its query's rules, and a wait for an
 * intent's change in a waiter slot, woken by the table of util/notify.
 */
#include "config.h"

#include <string.h>

#include "services/app.h"
#include "services/live.h"
#include "services/payments.h"
#include "util/metrics.h"
#include "util/notify.h"
#include "util/strnum.h"
#include "util/timeutil.h"

static const char *const statuses[] = {
	"requires_payment_method", "requires_confirmation", "requires_action", "processing",
	"requires_capture", "canceled", "succeeded",
};

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
