/*
 * The webhook path: verify, parse, then one transaction holding the event row and its
 * effects (webhook_effects.c). The event row goes first with a plain INSERT: a second
 * delivery of the same event, even a concurrent one, waits on the unique key and then
 * gets the duplicate error (1062, PB_ECONFLICT), and does nothing else. A failure rolls
 * the event row back with the effects, so the failure is written afterwards, on its own,
 * and the delivery is answered 500: Stripe will deliver it again. The event row that a
 * later delivery commits is what resolves that failure (repo/events.h).
 */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "repo/db.h"
#include "repo/events.h"
#include "services/app.h"
#include "services/live.h"
#include "services/webhooks.h"
#include "services/webhooks_internal.h"
#include "stripe/webhook.h"
#include "util/arena.h"
#include "util/conf.h"
#include "util/json.h"
#include "util/log.h"
#include "util/timeutil.h"

/* Stripe's events nest a few levels deeper than our own bodies. */
#define EVENT_JSON_DEPTH 64

const char *
webhooks_source_name(enum webhook_source s)
{
	static const char *const names[WEBHOOK_SOURCE__MAX] = { "webhook", "sync", "replay" };

	return (unsigned)s < WEBHOOK_SOURCE__MAX ? names[s] : "webhook";
}

/*
 * What the configured secret key says about livemode: 1 live, 0 test, -1 unknown (no
 * key, or one of another kind), in which case any event is taken.
 */
static int
key_livemode(const char *key)
{
	if (key == NULL)
		return -1;
	if (strncmp(key, "sk_live_", 8) == 0 || strncmp(key, "rk_live_", 8) == 0)
		return 1;
	if (strncmp(key, "sk_test_", 8) == 0 || strncmp(key, "rk_test_", 8) == 0)
		return 0;
	return -1;
}

static enum metrics_sig_reason
sig_reason(const struct stripe_webhook_check *c)
{
	switch (c->result) {
	case STRIPE_WEBHOOK_MALFORMED:
		return c->missing ? METRICS_SIG_MISSING : METRICS_SIG_MALFORMED;
	case STRIPE_WEBHOOK_NO_MATCH:
		return METRICS_SIG_NO_MATCH;
	case STRIPE_WEBHOOK_EXPIRED:
		return METRICS_SIG_EXPIRED;
	case STRIPE_WEBHOOK_NO_SECRET:
		return METRICS_SIG_NO_SECRET;
	case STRIPE_WEBHOOK_OK:
	case STRIPE_WEBHOOK_ERROR:
	case STRIPE_WEBHOOK__MAX:
		break;
	}
	return METRICS_SIG_ERROR;
}

struct apply_ctx {
	struct arena *a;
	const struct wh_event *e;
	const char *payload;
	size_t len;
	const char *source;
	bool duplicate;
	bool changed;
};

static enum pb_err
apply_tx(struct db *db, void *arg)
{
	struct apply_ctx *c = arg;
	struct event_row row = {
		.id = c->e->id, .type = c->e->type, .api_version = c->e->api_version,
		.created = c->e->created, .livemode = c->e->livemode,
		.object_id = c->e->object_id, .payload = c->payload, .payload_len = c->len,
		.source = c->source,
	};
	enum pb_err err;

	c->duplicate = false;
	c->changed = false;
	err = repo_events_insert(db, &row);
	if (err == PB_ECONFLICT) {
		c->duplicate = true;
		return PB_OK;	/* commits nothing: the event was applied before */
	}
	if (err != PB_OK)
		return err;
	err = webhook_apply(db, c->a, c->e, &c->changed);
	/* A conflict here is an effect's, not the event row's: never "already done". */
	return err == PB_ECONFLICT ? PB_EDB : err;
}

/*
 * Errors that say the database could not take the event now (down, no seat free, still
 * busy after the retries), not that the event failed: recording the failure would need
 * the same database, and counting it as failed would page someone for a busy server. The
 * delivery is answered 503 and Stripe sends it again.
 */
static bool
database_cannot_take_it(enum pb_err err)
{
	return err == PB_EDB || err == PB_EDEADLOCK || err == PB_EBUSY;
}

/*
 * Runs a parsed event through the transaction and records the outcome. Returns PB_OK but
 * for a deferred event, whose error it returns.
 */
static enum pb_err
run_event(struct app *app, struct arena *a, const struct wh_event *e, const char *payload,
    size_t len, enum webhook_source source, struct webhook_result *out)
{
	struct apply_ctx c = { .a = a, .e = e, .payload = payload, .len = len,
	    .source = webhooks_source_name(source) };
	int64_t t0 = time_mono_us();
	enum pb_err err, ferr;

	out->event_id = e->id;
	err = db_tx(app->db, apply_tx, &c);
	live_after(app, a, err);
	if (err == PB_OK) {
		out->outcome = c.duplicate ? METRICS_EVO_DUPLICATE :
		    c.changed ? METRICS_EVO_APPLIED : METRICS_EVO_IGNORED;
	} else if (database_cannot_take_it(err)) {
		out->outcome = METRICS_EVO_DEFERRED;
		log_event(LOGL_WARN, "stripe event deferred: the database cannot take it now",
		    (const struct log_kv[]){ LOG_STR("event", e->id), LOG_STR("type", e->type),
		    LOG_STR("source", c.source), LOG_STR("error", pb_strerror(err)) }, 4);
	} else {
		out->outcome = METRICS_EVO_FAILED;
		ferr = repo_events_failed(app->db, e->id, e->type, c.source, pb_strerror(err));
		log_event(LOGL_WARN, "stripe event failed, rolled back", (const struct log_kv[]){
		    LOG_STR("event", e->id), LOG_STR("type", e->type),
		    LOG_STR("source", c.source), LOG_STR("error", pb_strerror(err)),
		    LOG_STR("recorded", ferr == PB_OK ? "yes" : pb_strerror(ferr)) }, 5);
	}
	metrics_webhook_event(webhook_event_class(e->type), out->outcome,
	    time_mono_us() - t0);
	if (out->outcome == METRICS_EVO_DEFERRED)
		return err;
	if (out->outcome != METRICS_EVO_FAILED)
		log_event(LOGL_INFO, "stripe event", (const struct log_kv[]){
		    LOG_STR("event", e->id), LOG_STR("type", e->type),
		    LOG_STR("source", c.source),
		    LOG_STR("outcome", out->outcome == METRICS_EVO_APPLIED ? "applied" :
			out->outcome == METRICS_EVO_DUPLICATE ? "duplicate" : "ignored") }, 4);
	return PB_OK;
}

static enum pb_err
refuse(struct webhook_result *out, const char *code, const char *message)
{
	out->outcome = METRICS_EVO_REFUSED;
	out->code = code;
	out->message = message;
	return PB_EINVAL;
}

/* Parses and checks body; on PB_OK *root is a new reference the caller puts. */
static enum pb_err
parse_event(struct app *app, const char *body, size_t len, struct json_object **root,
    struct wh_event *e, struct webhook_result *out)
{
	const char *why;
	int want;

	*root = NULL;
	if (json_parse(body, len, EVENT_JSON_DEPTH, root) != PB_OK) {
		log_warnx("stripe event refused: the body is not valid JSON");
		return refuse(out, "invalid_event", "the body is not a valid JSON event");
	}
	if (webhook_event_parse(*root, e, &why) != PB_OK) {
		log_warnx("stripe event refused: %s", why);
		json_object_put(*root);
		*root = NULL;
		return refuse(out, "invalid_event", why);
	}
	out->event_id = e->id;
	want = key_livemode(app->conf->stripe_secret_key);
	if (want >= 0 && (want == 1) != e->livemode) {
		log_event(LOGL_WARN, "stripe event refused: livemode unlike the configured key",
		    (const struct log_kv[]){ LOG_STR("event", e->id), LOG_STR("type", e->type),
			LOG_NUM("livemode", e->livemode), LOG_NUM("key_livemode", want) }, 4);
		json_object_put(*root);
		*root = NULL;
		return refuse(out, "livemode_mismatch",
		    e->livemode ? "a live event for a test-mode endpoint" :
		    "a test event for a live-mode endpoint");
	}
	return PB_OK;
}

enum pb_err
webhooks_process(struct app *app, struct arena *a, const char *body, size_t len,
    enum webhook_source source, struct webhook_result *out)
{
	struct json_object *root;
	struct wh_event e;
	enum pb_err err;

	memset(out, 0, sizeof(*out));
	err = parse_event(app, body, len, &root, &e, out);
	if (err != PB_OK) {
		metrics_webhook_event(METRICS_EVC_OTHER, METRICS_EVO_REFUSED, 0);
		return err;
	}
	err = run_event(app, a, &e, body, len, source, out);
	if (out->event_id != NULL)
		out->event_id = arena_strdup(a, out->event_id);
	json_object_put(root);	/* e's strings are borrowed from it: copied above */
	return err;
}

enum pb_err
webhooks_receive(struct app *app, struct arena *a, const char *signature, const char *body,
    size_t len, struct webhook_result *out)
{
	const struct conf *cf = app->conf;
	struct stripe_webhook_check c;
	int64_t now = time_real_us() / 1000000;

	memset(out, 0, sizeof(*out));
	(void)stripe_webhook_check(cf->stripe_webhook_secrets, signature, body, len,
	    cf->stripe_webhook_tolerance, now, &c);
	for (size_t i = 0; i < c.nlabels; i++)
		metrics_webhook_secret(c.labels[i], 0);
	if (c.result != STRIPE_WEBHOOK_OK) {
		/* The reason and the skew, never the header: it holds the signature. */
		metrics_webhook_sig_failure(sig_reason(&c));
		log_event(LOGL_WARN, "stripe webhook refused", (const struct log_kv[]){
		    LOG_STR("reason", c.missing ? "missing" : stripe_webhook_reason(c.result)),
		    LOG_STR("detail", stripe_webhook_strerror(c.result)),
		    c.have_t ? LOG_NUM("skew_s", c.skew_s) : LOG_STR("skew_s", "unknown"),
		    LOG_NUM("tolerance_s", cf->stripe_webhook_tolerance) }, 4);
		if (c.result == STRIPE_WEBHOOK_NO_SECRET)
			return PB_ECONFIG;
		if (c.result == STRIPE_WEBHOOK_ERROR)
			return PB_ENOMEM;
		out->outcome = METRICS_EVO_REFUSED;
		out->code = "signature_invalid";
		out->message = c.result == STRIPE_WEBHOOK_EXPIRED ?
		    "the signature's timestamp is outside the tolerance" :
		    "no valid Stripe-Signature for this body";
		return PB_EINVAL;
	}
	metrics_webhook_secret(c.label, 1);
	return webhooks_process(app, a, body, len, WEBHOOK_SOURCE_WEBHOOK, out);
}
