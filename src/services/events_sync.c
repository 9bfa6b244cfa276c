/*
 * The /v1/events sync and replay (events_sync.h has the contract, the order and the
 * bounds). Each event goes through webhooks_process, so a sync applies exactly what the
 * webhook would have, once: an event recorded already (a delivery that did arrive) is
 * counted a duplicate without being sent through again.
 */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <json-c/json.h>

#include "repo/events.h"
#include "services/app.h"
#include "services/events_sync.h"
#include "services/webhooks.h"
#include "stripe/client.h"
#include "util/arena.h"
#include "util/log.h"
#include "util/metrics.h"
#include "util/pace.h"
#include "util/strnum.h"
#include "util/timeutil.h"

#define EVENT_ARENA_MAX (8 * 1024 * 1024)	/* one event's processing */
#define SMALL_ARENA_MAX (64 * 1024)		/* the lease and cursor rows */
#define LEASE_RENEW_US (EVENTS_SYNC_LEASE_S * 1000000LL / 3)

void
events_sync_order(const int64_t *created, size_t n, size_t *order)
{
	/* Reversed first (Stripe's own order, oldest first), then a stable sort by created. */
	for (size_t i = 0; i < n; i++)
		order[i] = n - 1 - i;
	for (size_t i = 1; i < n; i++) {
		size_t v = order[i], j = i;

		while (j > 0 && created[order[j - 1]] > created[v]) {
			order[j] = order[j - 1];
			j--;
		}
		order[j] = v;
	}
}

size_t
events_sync_done_upto(const size_t *order, size_t n, size_t done)
{
	bool is_done[EVENTS_SYNC_PAGE] = { false };
	size_t i = n;

	if (n > EVENTS_SYNC_PAGE)
		return n;
	for (size_t k = 0; k < done && k < n; k++) {
		if (order[k] < n)
			is_done[order[k]] = true;
	}
	/* The next run asks for what Stripe lists after the cursor: all older must be done. */
	while (i > 0 && is_done[i - 1])
		i--;
	return i;
}

enum pb_err
events_sync_cursor_format(int64_t created, const char *id, char *buf, size_t size)
{
	int n = snprintf(buf, size, "%" PRId64 " %s", created, id);

	if (n < 0 || (size_t)n >= size) {
		if (size > 0)
			buf[0] = '\0';
		return PB_ETOOBIG;
	}
	return PB_OK;
}

enum pb_err
events_sync_cursor_parse(const char *s, int64_t *created, char *id, size_t idsize)
{
	const char *sp = strchr(s, ' ');
	char num[24];
	long long v;
	size_t n;

	if (sp == NULL || (size_t)(sp - s) >= sizeof(num))
		return PB_EINVAL;
	memcpy(num, s, (size_t)(sp - s));
	num[sp - s] = '\0';
	if (strnum_parse(num, 10, 0, INT64_MAX, &v) != PB_OK)
		return PB_EINVAL;
	n = strlen(sp + 1);
	if (n == 0 || n >= idsize || strchr(sp + 1, ' ') != NULL)
		return PB_EINVAL;
	memcpy(id, sp + 1, n + 1);
	*created = v;
	return PB_OK;
}

struct run {
	struct app *app;
	const struct events_sync_opts *o;
	struct events_sync_stats *st;
	struct pace pace;
	struct arena a;			/* one event's; reset per event */
	int64_t renewed_us;		/* monotonic: the lease was last taken */
	bool have_cursor;
	int64_t cursor_created;
	char cursor_id[EVENTS_SYNC_ID_MAX + 1];
	bool over;			/* a failure, *stop or the end of the list ended it */
	size_t applied_pages;
};

static bool
stopping(struct run *r)
{
	if (r->o->stop != NULL && *r->o->stop) {
		r->st->stopped = true;
		r->over = true;
	}
	return r->over;
}

static void
progress(struct run *r)
{
	if (r->o->progress != NULL)
		r->o->progress(r->o->progress_arg, r->st);
}

/* Takes or renews the lease (when force, or a third of it has passed). */
static enum pb_err
renew(struct run *r, bool force)
{
	struct arena la;
	bool held;
	enum pb_err err;
	int64_t now = time_mono_us();

	if (!force && now - r->renewed_us < LEASE_RENEW_US)
		return PB_OK;
	arena_init(&la, SMALL_ARENA_MAX);
	err = repo_sync_lease_take(r->app->db, &la, EVENTS_SYNC_LEASE, r->o->owner,
	    EVENTS_SYNC_LEASE_S, &held, r->st->holder, sizeof(r->st->holder),
	    &r->st->holder_until);
	arena_cleanup(&la);
	if (err == PB_ETOOBIG)
		err = PB_OK;	/* a holder name too long to show; held is still right */
	if (err == PB_OK && !held)
		err = PB_EBUSY;
	if (err == PB_OK)
		r->renewed_us = now;
	return err;
}

static enum pb_err
save_cursor(struct run *r, const struct stripe_event *ev)
{
	char buf[EVENTS_SYNC_CURSOR_MAX];
	enum pb_err err;

	err = events_sync_cursor_format(ev->created, ev->id, buf, sizeof(buf));
	if (err == PB_OK)
		err = repo_sync_set(r->app->db, EVENTS_SYNC_CURSOR, buf);
	if (err != PB_OK)
		return err;
	r->have_cursor = true;
	r->cursor_created = ev->created;
	(void)snprintf(r->cursor_id, sizeof(r->cursor_id), "%s", ev->id);
	(void)snprintf(r->st->cursor, sizeof(r->st->cursor), "%s", buf);
	return PB_OK;
}

/* Counts one failed event: it ends the run, and the cursor stays before it. */
static void
failed(struct run *r, const char *id, const char *why)
{
	r->st->failed++;
	(void)snprintf(r->st->failed_id, sizeof(r->st->failed_id), "%s", id);
	r->st->failed_error = why;
	r->over = true;
	metrics_add(METRIC_EVENTS_SYNCED_FAILED, 1);
}

/* One listed event; *advance says whether the cursor may move past it. */
static enum pb_err
one_event(struct run *r, const struct stripe_event *ev, bool *advance)
{
	struct webhook_result res;
	const char *body;
	size_t len;
	bool exists;
	enum pb_err err;

	*advance = false;
	arena_reset(&r->a);
	r->st->fetched++;
	err = repo_events_exists(r->app->db, &r->a, ev->id, &exists);
	if (err != PB_OK) {
		failed(r, ev->id, "the database could not say whether it is recorded");
		return err;
	}
	if (exists) {
		r->st->duplicate++;
		metrics_add(METRIC_EVENTS_SYNCED_DUPLICATE, 1);
		*advance = true;
		return PB_OK;
	}
	body = json_object_to_json_string_length(ev->raw,
	    JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &len);
	if (body == NULL) {
		failed(r, ev->id, "out of memory");
		return PB_ENOMEM;
	}
	err = webhooks_process(r->app, &r->a, body, len, WEBHOOK_SOURCE_SYNC, &res);
	if (err == PB_OK && res.outcome != METRICS_EVO_FAILED) {
		/* A webhook may have recorded it since the check: then it is a duplicate. */
		if (res.outcome == METRICS_EVO_DUPLICATE) {
			r->st->duplicate++;
			metrics_add(METRIC_EVENTS_SYNCED_DUPLICATE, 1);
		} else {
			r->st->applied++;
			metrics_add(METRIC_EVENTS_SYNCED_APPLIED, 1);
		}
		*advance = true;
		return PB_OK;
	}
	if (err == PB_OK)
		failed(r, ev->id, "its effects failed and were rolled back; the failure is "
		    "recorded (events list --failed)");
	else if (err == PB_EINVAL)
		failed(r, ev->id, res.message != NULL ? res.message : "refused");
	else
		failed(r, ev->id, pb_strerror(err));
	/* The failure is the event's, recorded and counted: the run itself went fine. */
	return PB_OK;
}

/* Applies one page (newest first as listed) oldest first and moves the cursor. */
static enum pb_err
apply_page(struct run *r, const struct stripe_event_list *l)
{
	size_t order[EVENTS_SYNC_PAGE], done = 0, cut;
	int64_t created[EVENTS_SYNC_PAGE];
	enum pb_err err = PB_OK, serr;
	bool advance;

	if (l->n > EVENTS_SYNC_PAGE)
		return PB_ESTRIPE;	/* more than asked for */
	for (size_t i = 0; i < l->n; i++)
		created[i] = l->items[i].created;
	events_sync_order(created, l->n, order);
	for (size_t k = 0; k < l->n; k++) {
		if (stopping(r))
			break;
		err = renew(r, false);
		if (err != PB_OK)
			break;
		err = one_event(r, &l->items[order[k]], &advance);
		progress(r);
		if (err != PB_OK || !advance)
			break;
		done++;
	}
	cut = events_sync_done_upto(order, l->n, done);
	if (cut < l->n) {
		serr = save_cursor(r, &l->items[cut]);
		if (err == PB_OK)
			err = serr;
	}
	if (err != PB_OK)
		r->over = true;
	r->applied_pages++;
	return err;
}

/* One paced list call. */
static enum pb_err
list(struct run *r, const struct stripe_event_list_params *p, struct stripe_event_list *l)
{
	enum pb_err err;

	memset(l, 0, sizeof(*l));
	err = renew(r, false);
	if (err != PB_OK)
		return err;
	if (!pace_wait(&r->pace, r->o->stop)) {
		(void)stopping(r);
		return PB_OK;
	}
	err = stripe_event_list(r->app->stripe, p, l);
	r->st->pages++;
	return err;
}

/*
 * Without a cursor: walks from the newest event back to the oldest created at or after
 * since (0: the oldest Stripe still lists), keeping only the page in hand, then applies
 * that oldest page; forward() goes on from there.
 */
static enum pb_err
walk_back(struct run *r, int64_t since)
{
	struct stripe_event_list last, l;
	struct stripe_event_list_params p = { .created_gte = since, .max = EVENTS_SYNC_PAGE };
	char after[EVENTS_SYNC_ID_MAX + 1] = "";
	enum pb_err err = PB_OK;

	memset(&last, 0, sizeof(last));
	while (!stopping(r)) {
		p.starting_after = after[0] != '\0' ? after : NULL;
		err = list(r, &p, &l);
		if (err != PB_OK || r->over || l.n == 0) {
			stripe_event_list_free(&l);
			break;
		}
		stripe_event_list_free(&last);
		last = l;
		(void)snprintf(after, sizeof(after), "%s", last.items[last.n - 1].id);
		progress(r);
		if (!last.has_more)
			break;
	}
	if (err == PB_OK && !r->over) {
		if (last.n == 0) {
			r->st->caught_up = true;	/* nothing listed since then */
			r->over = true;
		} else {
			err = apply_page(r, &last);
		}
	}
	stripe_event_list_free(&last);
	return err;
}

/* From the cursor: the page just newer than it, again and again, until none is. */
static enum pb_err
forward(struct run *r)
{
	struct stripe_event_list l;
	struct stripe_event_list_params p = { .max = EVENTS_SYNC_PAGE };
	enum pb_err err;
	bool more;

	while (!stopping(r)) {
		if (r->o->max_pages > 0 && r->applied_pages >= r->o->max_pages)
			return PB_OK;
		p.ending_before = r->cursor_id;
		err = list(r, &p, &l);
		if (err != PB_OK || r->over || l.n == 0) {
			if (err == PB_OK && !r->over) {
				r->st->caught_up = true;
				r->over = true;
			}
			stripe_event_list_free(&l);
			return err;
		}
		more = l.has_more;
		err = apply_page(r, &l);
		stripe_event_list_free(&l);
		if (err != PB_OK)
			return err;
		if (!more && !r->over) {
			r->st->caught_up = true;
			r->over = true;
		}
	}
	return PB_OK;
}

/* Reads the saved cursor into r; none is fine, an unreadable one is not. */
static enum pb_err
read_cursor(struct run *r)
{
	char buf[EVENTS_SYNC_CURSOR_MAX];
	struct arena la;
	enum pb_err err;

	arena_init(&la, SMALL_ARENA_MAX);
	err = repo_sync_get(r->app->db, &la, EVENTS_SYNC_CURSOR, buf, sizeof(buf));
	arena_cleanup(&la);
	if (err == PB_ENOTFOUND)
		return PB_OK;
	if (err == PB_OK && events_sync_cursor_parse(buf, &r->cursor_created, r->cursor_id,
	    sizeof(r->cursor_id)) != PB_OK) {
		log_warnx("sync_state %s is not \"<created> <event id>\": start with "
		    "paybridgectl events sync --since", EVENTS_SYNC_CURSOR);
		err = PB_EINVAL;
	}
	if (err == PB_OK) {
		r->have_cursor = true;
		(void)snprintf(r->st->cursor, sizeof(r->st->cursor), "%s", buf);
	}
	return err;
}

static enum pb_err
sync_locked(struct run *r)
{
	enum pb_err err;

	err = read_cursor(r);
	if (err != PB_OK)
		return err;
	if (r->o->has_since || !r->have_cursor)
		err = walk_back(r, r->o->has_since ? r->o->since : 0);
	if (err != PB_OK || r->over)
		return err;
	err = forward(r);
	if (err == PB_ENOTFOUND) {
		/* The cursor's event is older than Stripe keeps: go on from its time. */
		log_event(LOGL_WARN, "events sync: Stripe no longer has the cursor's event, "
		    "listing from its time", (const struct log_kv[]){
		    LOG_STR("event", r->cursor_id), LOG_NUM("created", r->cursor_created) }, 2);
		err = walk_back(r, r->cursor_created);
		if (err == PB_OK && !r->over)
			err = forward(r);
	}
	return err;
}

enum pb_err
events_sync_run(struct app *app, const struct events_sync_opts *o,
    struct events_sync_stats *st)
{
	struct run r = { .app = app, .o = o, .st = st };
	enum pb_err err, rerr;

	memset(st, 0, sizeof(*st));
	if (app->stripe == NULL)
		return PB_ECONFIG;
	pace_init(&r.pace, o->rate);
	arena_init(&r.a, EVENT_ARENA_MAX);
	err = renew(&r, true);
	if (err == PB_OK) {
		err = sync_locked(&r);
		/* A lost lease is no longer ours to free; release is a no-op then. */
		rerr = repo_sync_lease_release(app->db, EVENTS_SYNC_LEASE, o->owner);
		if (rerr != PB_OK)
			log_warnx("events sync: cannot release the lease: %s (it runs out in "
			    "%d s)", pb_strerror(rerr), EVENTS_SYNC_LEASE_S);
	}
	arena_cleanup(&r.a);
	if (err != PB_EBUSY || st->pages > 0)
		log_event(err == PB_OK && st->failed == 0 ? LOGL_INFO : LOGL_WARN, "events sync",
		    (const struct log_kv[]){ LOG_NUM("fetched", st->fetched),
			LOG_NUM("applied", st->applied), LOG_NUM("duplicate", st->duplicate),
			LOG_NUM("failed", st->failed), LOG_NUM("pages", st->pages),
			LOG_STR("caught_up", st->caught_up ? "yes" : "no"),
			LOG_STR("failed_event", st->failed_id),
			LOG_STR("error", pb_strerror(err)) }, 8);
	return err;
}

enum pb_err
events_replay(struct app *app, struct arena *a, const char *id, struct webhook_result *out)
{
	struct stripe_event ev;
	const char *body;
	size_t len;
	enum pb_err err;

	memset(out, 0, sizeof(*out));
	if (app->stripe == NULL)
		return PB_ECONFIG;
	err = stripe_event_retrieve(app->stripe, id, &ev);
	if (err != PB_OK)
		return err;
	body = json_object_to_json_string_length(ev.raw,
	    JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &len);
	if (body == NULL)
		err = PB_ENOMEM;
	else
		err = webhooks_process(app, a, body, len, WEBHOOK_SOURCE_REPLAY, out);
	stripe_event_free(&ev);
	return err;
}
