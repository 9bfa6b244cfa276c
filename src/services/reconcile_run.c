/*
 * Reconciliation, the walk and the repairs (see reconcile.h): Stripe's customers listed
 * into a reconcile_set, our users matched against it page by page, and each finding
 * confirmed, repaired when asked, and handed to the caller's report.
 *
 * Every Stripe call (a list page, a dangling customer's retrieve, a repair) waits its
 * turn on one pace, as the backfill's do. A repair re-reads what it is about to change
 * and changes it only if the finding still holds (compare-and-set in the repo, or a
 * check right before a deletion): the walk saw the data up to minutes ago, and
 * signups, webhooks and the jobs worker go on meanwhile.
 */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <json-c/json.h>

#include "repo/users.h"
#include "services/app.h"
#include "services/customers.h"
#include "services/profile.h"
#include "services/reconcile.h"
#include "stripe/client.h"
#include "util/arena.h"
#include "util/json.h"
#include "util/pace.h"

#define PAGE_ARENA (4 * 1024 * 1024)	/* a page of users with their strings */
#define ROW_ARENA (256 * 1024)		/* one user read again */
#define DELETE_KEY_MAX (32 + CUSTOMER_ID_MAX)

struct walk {
	struct app *app;
	const struct reconcile_opts *o;
	struct reconcile_stats *st;
	struct reconcile_set set;
	struct pace pace;
	struct arena row;
	bool halt;			/* the callback stopped the matching (st->stop says why) */
	uint64_t pushed_user;		/* both drifts of one user cost one push */
	enum reconcile_fix pushed_fix;
	enum pb_err pushed_err;
	const char *pushed_note;
};

static bool
stop_asked(const struct walk *w)
{
	return w->o->stop != NULL && *w->o->stop != 0;
}

static void
progress(const struct walk *w)
{
	if (w->o->progress != NULL)
		w->o->progress(w->o->arg, w->st);
}

/* Waits for the next Stripe call's turn; false (and the walk stops) on a signal. */
static bool
turn(struct walk *w)
{
	if (pace_wait(&w->pace, w->o->stop)) {
		if (w->o->calling != NULL)
			w->o->calling(w->o->arg);
		return true;
	}
	w->st->stop = RECONCILE_STOP_SIGNAL;
	w->halt = true;
	return false;
}

static enum pb_err
list_customers(struct walk *w)
{
	struct stripe_customer_list l;
	char cursor[CUSTOMER_ID_MAX + 1] = "";
	bool more = true;
	enum pb_err err;

	while (more) {
		if (!turn(w))
			return PB_OK;
		err = stripe_customer_list_page(w->app->stripe, cursor, RECONCILE_PAGE, &l);
		if (err != PB_OK)
			return err;
		w->st->pages++;
		for (size_t i = 0; i < l.n && err == PB_OK; i++) {
			const struct stripe_customer *c = &l.items[i];

			if (c->deleted)
				continue;
			err = reconcile_set_add(&w->set, c->id, json_get_str(c->metadata, "user_id"),
			    c->name, c->email, c->created);
			w->st->customers++;
		}
		more = l.has_more && l.n > 0;
		if (err == PB_OK && more &&
		    snprintf(cursor, sizeof(cursor), "%s", l.items[l.n - 1].id) >= (int)sizeof(cursor))
			err = PB_ESTRIPE;	/* no id of ours is that long: not an answer to trust */
		stripe_customer_list_free(&l);
		if (err != PB_OK)
			return err;
		w->st->foreign = w->set.foreign;
		progress(w);
	}
	return reconcile_set_seal(&w->set);
}

static void
outcome(struct reconcile_finding *f, enum reconcile_fix fix, enum pb_err err,
    const char *note)
{
	f->fix = fix;
	f->fix_err = err;
	f->fix_note = note;
}

/* The outcome of a repair call: done (done_note), nothing left to do (gone_note), or failed. */
static void
settle(struct reconcile_finding *f, enum pb_err err, const char *done_note,
    const char *gone_note)
{
	if (err == PB_OK)
		outcome(f, RECONCILE_FIX_DONE, PB_OK, done_note);
	else if (err == PB_ENOTFOUND)
		outcome(f, RECONCILE_FIX_DONE, PB_OK, gone_note);
	else
		outcome(f, RECONCILE_FIX_FAILED, err, NULL);
}

/* A dangling customer for certain? Retrieves it: one created since the listing is live. */
static bool
confirm_dangling(struct walk *w, struct reconcile_finding *f)
{
	struct stripe_customer c;
	enum pb_err err;
	bool dangling = true;

	if (!turn(w))
		return false;
	err = stripe_customer_retrieve(w->app->stripe, f->customer, &c);
	if (err == PB_OK && !c.deleted)
		dangling = false;
	else if (err == PB_OK)
		f->stripe = "deleted";
	else if (err == PB_ENOTFOUND)
		f->stripe = "unknown";
	else
		outcome(f, RECONCILE_FIX_FAILED, err, "cannot tell whether Stripe has it");
	stripe_customer_free(&c);
	return dangling;
}

/* Gives the user of f a customer: the one to adopt, else a new one (the backfill's way). */
static void
give_customer(struct walk *w, struct reconcile_finding *f)
{
	char id[CUSTOMER_ID_MAX + 1];
	bool linked;
	enum pb_err err;

	if (f->adopt != NULL) {
		err = customers_link(w->app, f->user_id, f->adopt, &linked);
		settle(f, err, linked ? "adopted the customer naming the user" :
		    "the user has a customer now", "the user is gone");
		return;
	}
	if (!turn(w))
		return;
	err = customers_get_or_create(w->app, f->user_id, CUSTOMER_SOURCE_BACKFILL,
	    w->o->budget_ms, id, sizeof(id));
	settle(f, err, "created the customer", "the user is gone");
}

static void
forget_and_give(struct walk *w, struct reconcile_finding *f)
{
	bool forgotten;
	enum pb_err err;

	err = profile_forget_customer(w->app, f->user_id, f->customer, &forgotten);
	if (err == PB_ENOTFOUND)
		outcome(f, RECONCILE_FIX_DONE, PB_OK, "the user is gone");
	else if (err != PB_OK)
		outcome(f, RECONCILE_FIX_FAILED, err, NULL);
	else if (!forgotten)
		/* Not that customer any more: whatever it has now, the next run looks at. */
		outcome(f, RECONCILE_FIX_DONE, PB_OK, "the user has another customer now");
	else
		give_customer(w, f);
}

static void
push(struct walk *w, struct reconcile_finding *f)
{
	enum pb_err err;

	if (w->pushed_user == f->user_id) {
		outcome(f, w->pushed_fix, w->pushed_err, w->pushed_note);
		return;
	}
	if (!turn(w))
		return;
	err = profile_push_now(w->app, f->user_id, w->o->budget_ms);
	if (err == PB_OK)
		outcome(f, RECONCILE_FIX_DONE, PB_OK, "pushed our name and email");
	else if (err == PB_ENOTFOUND)
		/* An adoption that failed just before, or the user left: nothing to push to. */
		outcome(f, RECONCILE_FIX_FAILED, PB_OK, "the user is gone or has no customer");
	else
		outcome(f, RECONCILE_FIX_FAILED, err, NULL);
	w->pushed_user = f->user_id;
	w->pushed_fix = f->fix;
	w->pushed_err = f->fix_err;
	w->pushed_note = f->fix_note;
}

/*
 * Whether the customer of f may still be deleted: no live user links it; an
 * orphan's user is still not live; a duplicate's user still has another customer.
 */
static bool
still_unwanted(struct walk *w, struct reconcile_finding *f)
{
	struct user u;
	enum pb_err err;

	/* Whatever its metadata says; a closed account's customer is no one's. */
	arena_reset(&w->row);
	err = repo_users_get_by_customer(w->app->db, &w->row, f->customer, &u);
	if (err != PB_OK && err != PB_ENOTFOUND) {
		outcome(f, RECONCILE_FIX_FAILED, err, NULL);
		return false;
	}
	if (err == PB_OK && !u.deleted) {
		outcome(f, RECONCILE_FIX_FAILED, PB_OK, "a user links it now: left alone");
		return false;
	}
	if (f->user_id == 0)
		return true;
	arena_reset(&w->row);
	err = repo_users_get(w->app->db, &w->row, f->user_id, &u);
	if (err == PB_ENOTFOUND)
		return true;	/* a duplicate whose user left is an orphan now */
	if (err != PB_OK) {
		outcome(f, RECONCILE_FIX_FAILED, err, NULL);
		return false;
	}
	if (f->kind == RECONCILE_ORPHAN) {
		outcome(f, RECONCILE_FIX_FAILED, PB_OK, "its user exists now: left alone");
		return false;
	}
	if (u.stripe_customer_id == NULL) {
		outcome(f, RECONCILE_FIX_FAILED, PB_OK, "its user has no customer now: left alone");
		return false;
	}
	return true;
}

static void
delete_customer(struct walk *w, struct reconcile_finding *f)
{
	char key[DELETE_KEY_MAX];
	enum pb_err err;

	if (!still_unwanted(w, f) || !turn(w))
		return;
	/* One key per customer: a deletion retried by a later run is replayed, not redone. */
	if (snprintf(key, sizeof(key), "paybridge-reconcile-delete-%s", f->customer) >=
	    (int)sizeof(key)) {
		outcome(f, RECONCILE_FIX_FAILED, PB_ETOOBIG, NULL);
		return;
	}
	stripe_set_deadline(w->app->stripe, app_deadline(w->app, w->o->budget_ms));
	err = stripe_customer_delete(w->app->stripe, f->customer, key, NULL);
	stripe_set_deadline(w->app->stripe, w->app->deadline_us);
	settle(f, err, "deleted in Stripe", "already deleted in Stripe");
}

static void
repair(struct walk *w, struct reconcile_finding *f)
{
	switch (f->kind) {
	case RECONCILE_MISSING_CUSTOMER:
		give_customer(w, f);
		break;
	case RECONCILE_DANGLING_CUSTOMER:
		forget_and_give(w, f);
		break;
	case RECONCILE_NAME_DRIFT:
	case RECONCILE_EMAIL_DRIFT:
		push(w, f);
		break;
	case RECONCILE_ORPHAN:
	case RECONCILE_DUPLICATE:
		if (w->o->delete_orphans)
			delete_customer(w, f);
		break;
	case RECONCILE__MAX:
		break;
	}
}

/* The matching's callback: confirm, repair, count, report. */
static enum pb_err
on_finding(void *arg, struct reconcile_finding *f)
{
	struct walk *w = arg;
	struct reconcile_stats *st = w->st;

	if (stop_asked(w)) {
		st->stop = RECONCILE_STOP_SIGNAL;
		w->halt = true;
		return PB_EBUSY;
	}
	if (f->kind == RECONCILE_DANGLING_CUSTOMER && !confirm_dangling(w, f))
		return w->halt ? PB_EBUSY : PB_OK;
	if (w->o->fix && f->fix == RECONCILE_FIX_NONE)
		repair(w, f);
	if (w->halt && f->fix == RECONCILE_FIX_NONE)
		return PB_EBUSY;	/* interrupted before its repair: not reported */
	st->found[f->kind]++;
	if (f->fix == RECONCILE_FIX_DONE) {
		st->fixed++;
		st->streak = 0;
	} else if (f->fix == RECONCILE_FIX_FAILED) {
		st->failed++;
		/* Only failures of Stripe or the database mean something is down. */
		if (f->fix_err != PB_OK)
			st->streak++;
	}
	w->o->report(w->o->arg, f);
	progress(w);
	if (st->streak >= RECONCILE_FAILURES_IN_A_ROW) {
		st->stop = RECONCILE_STOP_FAILURES;
		w->halt = true;
		return PB_EBUSY;
	}
	return PB_OK;
}

/* Our users page by page, then the orphans. */
static enum pb_err
match(struct walk *w)
{
	struct arena page;
	struct user *users;
	uint64_t after = 0;
	size_t n;
	enum pb_err err;

	err = repo_users_count_live(w->app->db, &w->st->users_total);
	if (err != PB_OK)
		return err;
	w->st->phase = RECONCILE_MATCHING;
	progress(w);
	arena_init(&page, PAGE_ARENA);
	for (;;) {
		if (stop_asked(w)) {
			w->st->stop = RECONCILE_STOP_SIGNAL;
			w->halt = true;
			break;
		}
		arena_reset(&page);
		err = repo_users_list(w->app->db, &page, after, RECONCILE_USER_PAGE, &users, &n);
		if (err != PB_OK || n == 0)
			break;
		err = reconcile_match_users(&w->set, users, n, on_finding, w);
		if (w->halt)
			break;
		if (err != PB_OK)
			break;
		w->st->users += n;
		after = users[n - 1].id;
		progress(w);
	}
	arena_cleanup(&page);
	if (err == PB_OK && !w->halt)
		err = reconcile_match_orphans(&w->set, on_finding, w);
	return w->halt ? PB_OK : err;
}

enum pb_err
reconcile_run(struct app *app, const struct reconcile_opts *o, struct reconcile_stats *st)
{
	struct walk w = { .app = app, .o = o, .st = st };
	enum pb_err err;

	memset(st, 0, sizeof(*st));
	reconcile_set_init(&w.set);
	arena_init(&w.row, ROW_ARENA);
	pace_init(&w.pace, o->rate);
	st->phase = RECONCILE_LISTING;
	progress(&w);
	err = list_customers(&w);
	if (err != PB_OK) {
		st->failed_step = "listing Stripe customers";
	} else if (!w.halt) {
		err = match(&w);
		if (err != PB_OK)
			st->failed_step = "reading users";
	}
	if (err != PB_OK)
		st->stop = RECONCILE_STOP_ERROR;
	st->phase = RECONCILE_DONE;
	progress(&w);
	arena_cleanup(&w.row);
	reconcile_set_cleanup(&w.set);
	return err;
}
