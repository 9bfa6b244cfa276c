/*
 * Profile sync, our side to Stripe (see profile.h): the profile change and account
 * closing transactions, and the update_customer and delete_customer jobs.
 */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <json-c/json.h>

#include "repo/db.h"
#include "repo/jobs.h"
#include "repo/users.h"
#include "services/accounts.h"
#include "services/app.h"
#include "services/outbox.h"
#include "services/profile.h"
#include "stripe/client.h"
#include "util/arena.h"
#include "util/conf.h"
#include "util/json.h"
#include "util/log.h"
#include "util/metrics.h"
#include "util/timeutil.h"

#define KEY_MAX 128
/* How long an inline claim outlives its budget, so a process killed mid-call is retried soon. */
#define INLINE_LEASE_MARGIN_US (3 * 1000000LL)

static const char msg_one_field[] = "name or email is required";

const char *
profile_sync_name(enum profile_sync s)
{
	return s == PROFILE_SYNCED ? "synced" : "pending";
}

static bool
is_admin(const char *role)
{
	return role != NULL && strcmp(role, "admin") == 0;
}

/* Refused before looking: a non-admin learns nothing about which ids exist. */
static enum pb_err
may_touch(uint64_t caller_id, const char *caller_role, uint64_t id)
{
	return id == caller_id || is_admin(caller_role) ? PB_OK : PB_EFORBIDDEN;
}

static bool
same(const char *a, const char *b)
{
	return a != NULL && b != NULL && strcmp(a, b) == 0;
}

/* Stripe has the row's name and email, as far as we know. */
static bool
pushed(const struct user *u)
{
	return same(u->name, u->last_pushed_name) && same(u->email, u->last_pushed_email);
}

/* The job row's key: one per profile version, so each change can queue its own. */
static void
update_job_key(uint64_t user_id, uint32_t version, char key[KEY_MAX])
{
	(void)snprintf(key, KEY_MAX, "paybridge-update-customer-%" PRIu64 "-v%" PRIu32, user_id,
	    version);
}

/*
 * The Idempotency-Key of one push: the customer's generation and the profile version
 * decide the values sent, so the same key always carries the same parameters.
 */
static void
update_call_key(const struct user *u, char key[KEY_MAX])
{
	(void)snprintf(key, KEY_MAX, "paybridge-customer-update-%" PRIu64 "-g%" PRIu32 "-v%" PRIu32,
	    u->id, u->customer_generation, u->profile_version);
}

static void
delete_key(const char *customer_id, char key[KEY_MAX])
{
	(void)snprintf(key, KEY_MAX, "paybridge-customer-delete-%s", customer_id);
}

static int64_t
lease_us(const struct app *app)
{
	return app->conf->customer_inline_budget_ms * 1000 + INLINE_LEASE_MARGIN_US;
}

/* How an update is queued: at once for this process to run, or after the window. */
enum push_when {
	PUSH_INLINE,	/* claimed by this process, a pending job included, unless one runs */
	PUSH_WINDOWED,	/* inline unless the customer was written within the window */
	PUSH_LATER,	/* pending and due now, for the jobs worker */
};

/*
 * Inside the caller's transaction, after the version bump (u is the row as locked
 * before it, version the bumped one): makes sure one update_customer job is pending for
 * the user. *claimed receives the id of a job this process is to run now, else 0.
 */
static enum pb_err
enqueue_update(struct app *app, struct db *db, struct arena *a, const struct user *u,
    uint32_t version, enum push_when when, uint64_t *claimed)
{
	int64_t window_us = app->conf->profile_sync_window_ms * 1000;
	uint64_t pending, id = 0;
	char key[KEY_MAX];
	bool running;
	enum pb_err err;

	uint32_t max = (uint32_t)app->conf->jobs_max_attempts;
	bool claim, recent;

	*claimed = 0;
	err = repo_jobs_open_for(db, a, u->id, PROFILE_JOB_UPDATE, &pending, &running);
	if (err != PB_OK)
		return err;
	/* A pending job sends the values current when it runs, ours included. */
	if (pending != 0 && when != PUSH_INLINE)
		return PB_OK;
	if (pending != 0) {
		err = repo_jobs_claim(db, pending, outbox_owner(), lease_us(app), &claim);
		*claimed = err == PB_OK && claim ? pending : 0;
		return err;
	}
	/* A running job may have read older values: a new one follows it. */
	recent = u->last_pushed_at != 0 && time_real_us() - u->last_pushed_at < window_us;
	claim = !running && (when == PUSH_INLINE || (when == PUSH_WINDOWED && !recent));
	update_job_key(u->id, version, key);
	if (claim)
		err = repo_jobs_insert(db, PROFILE_JOB_UPDATE, u->id, key, NULL, max,
		    outbox_owner(), lease_us(app), &id);
	else
		err = repo_jobs_insert_after(db, PROFILE_JOB_UPDATE, u->id, key, NULL, max,
		    when == PUSH_WINDOWED ? window_us : 0, &id);
	if (err == PB_OK && claim)
		*claimed = id;
	/* The same version queued already (a retried transaction): it is there. */
	return err == PB_ECONFLICT ? PB_OK : err;
}

/* Queues the delete job, claimed by this process when claim is set. */
static enum pb_err
enqueue_delete(struct app *app, struct db *db, uint64_t user_id, const char *customer_id,
    bool claim, uint64_t *claimed)
{
	struct json_object *payload = json_object_new_object();
	char key[KEY_MAX];
	uint64_t id = 0;
	enum pb_err err;

	*claimed = 0;
	if (payload == NULL)
		return PB_ENOMEM;
	if (json_object_object_add(payload, "customer",
	    json_object_new_string(customer_id)) != 0) {
		json_object_put(payload);
		return PB_ENOMEM;
	}
	delete_key(customer_id, key);
	err = repo_jobs_insert(db, PROFILE_JOB_DELETE, user_id, key,
	    json_object_to_json_string_ext(payload, JSON_C_TO_STRING_PLAIN),
	    (uint32_t)app->conf->jobs_max_attempts, claim ? outbox_owner() : NULL,
	    claim ? lease_us(app) : 0, &id);
	json_object_put(payload);
	if (err == PB_OK && claim)
		*claimed = id;
	return err == PB_ECONFLICT ? PB_OK : err;
}

enum pb_err
profile_enqueue_delete(struct app *app, struct db *db, uint64_t user_id,
    const char *customer_id)
{
	uint64_t claimed;

	return enqueue_delete(app, db, user_id, customer_id, false, &claimed);
}

/* Runs a job this process claimed inside a transaction it has committed since. */
static enum profile_sync
run_inline(struct app *app, struct arena *a, uint64_t job_id)
{
	if (job_id == 0)
		return PROFILE_PENDING;
	return outbox_run_claimed(app, a, job_id, app->conf->customer_inline_budget_ms) == PB_OK ?
	    PROFILE_SYNCED : PROFILE_PENDING;
}

/* Locks user id's row for the transaction; PB_ENOTFOUND when absent or closed. */
static enum pb_err
lock_live(struct db *db, struct arena *a, uint64_t id, struct user *u)
{
	enum pb_err err = repo_users_lock(db, a, id, u);

	return err == PB_OK && u->deleted ? PB_ENOTFOUND : err;
}

/* ---- changing the profile ---- */

struct update_tx {
	struct app *app;
	struct arena *a;
	uint64_t id;
	const char *name, *email;	/* trimmed, NULL: unchanged */
	bool changed;
	bool has_customer;
	uint64_t claimed;
};

static enum pb_err
update_tx(struct db *db, void *arg)
{
	struct update_tx *t = arg;
	const char *name, *email;
	struct user u;
	enum pb_err err;

	t->changed = t->has_customer = false;
	t->claimed = 0;
	err = lock_live(db, t->a, t->id, &u);
	if (err != PB_OK)
		return err;
	/* Only what differs is written: an unchanged profile sends nothing to Stripe. */
	name = t->name != NULL && !same(t->name, u.name) ? t->name : NULL;
	email = t->email != NULL && !same(t->email, u.email) ? t->email : NULL;
	if (name == NULL && email == NULL)
		return PB_OK;
	err = repo_users_set_profile(db, t->id, name, email);
	if (err != PB_OK)
		return err;
	t->changed = true;
	t->has_customer = u.stripe_customer_id != NULL;
	/* Without a customer yet, its creation sends the values current then. */
	if (!t->has_customer)
		return PB_OK;
	return enqueue_update(t->app, db, t->a, &u, u.profile_version + 1, PUSH_WINDOWED,
	    &t->claimed);
}

/* Trims *s in the arena and checks it with check; NULL stays NULL. */
static enum pb_err
take_field(struct arena *a, const char **s, const char *(*check)(const char *, size_t),
    const char **problem)
{
	const char *v = *s;
	size_t len;

	*problem = NULL;
	if (v == NULL)
		return PB_OK;
	len = strlen(v);
	accounts_trim(&v, &len);
	*problem = check(v, len);
	*s = arena_strndup(a, v, len);
	return *s == NULL ? PB_ENOMEM : PB_OK;
}

enum pb_err
profile_update(struct app *app, struct arena *a, uint64_t caller_id, const char *caller_role,
    uint64_t id, const struct profile_changes *in, struct accounts_problems *p,
    struct account *out, enum profile_sync *sync)
{
	struct update_tx t = { .app = app, .a = a, .id = id, .name = in->name,
	    .email = in->email };
	struct user u;
	enum pb_err err;

	memset(p, 0, sizeof(*p));
	memset(out, 0, sizeof(*out));
	*sync = PROFILE_PENDING;
	err = may_touch(caller_id, caller_role, id);
	if (err != PB_OK)
		return err;
	if (in->name == NULL && in->email == NULL) {
		p->name = p->email = msg_one_field;
		return PB_EFIELDS;
	}
	err = take_field(a, &t.name, accounts_check_name, &p->name);
	if (err == PB_OK)
		err = take_field(a, &t.email, accounts_check_email, &p->email);
	if (err != PB_OK)
		return err;
	if (p->name != NULL || p->email != NULL)
		return PB_EFIELDS;
	err = db_tx(app->db, update_tx, &t);
	if (err != PB_OK)
		return err;
	if (t.changed)
		log_event(LOGL_INFO, "profile changed", (const struct log_kv[]){
		    LOG_NUM("user_id", id), LOG_NUM("by", caller_id),
		    LOG_STR("fields", t.name != NULL && t.email != NULL ? "name,email" :
			t.name != NULL ? "name" : "email") }, 3);
	if (t.claimed != 0)
		*sync = run_inline(app, a, t.claimed);
	err = repo_users_get(app->db, a, id, &u);
	if (err != PB_OK)
		return err;
	/* Nothing changed, or a job absorbed the change: say what Stripe has now. */
	if (t.claimed == 0)
		*sync = u.stripe_customer_id != NULL && pushed(&u) ? PROFILE_SYNCED :
		    PROFILE_PENDING;
	accounts_from_user(out, &u);
	return PB_OK;
}

/* ---- closing the account ---- */

struct close_tx {
	struct app *app;
	struct arena *a;
	uint64_t id;
	bool had_customer;
	uint64_t claimed;
};

static enum pb_err
close_tx(struct db *db, void *arg)
{
	struct close_tx *t = arg;
	struct user u;
	enum pb_err err;

	t->had_customer = false;
	t->claimed = 0;
	err = lock_live(db, t->a, t->id, &u);
	if (err != PB_OK)
		return err;
	err = repo_users_close(db, t->id);
	if (err != PB_OK || u.stripe_customer_id == NULL)
		return err;
	t->had_customer = true;
	return enqueue_delete(t->app, db, t->id, u.stripe_customer_id, true, &t->claimed);
}

enum pb_err
profile_close(struct app *app, struct arena *a, uint64_t caller_id, const char *caller_role,
    uint64_t id, enum profile_sync *sync)
{
	struct close_tx t = { .app = app, .a = a, .id = id };
	enum pb_err err;

	*sync = PROFILE_PENDING;
	err = may_touch(caller_id, caller_role, id);
	if (err != PB_OK)
		return err;
	err = db_tx(app->db, close_tx, &t);
	if (err != PB_OK)
		return err;
	log_event(LOGL_INFO, "account closed", (const struct log_kv[]){
	    LOG_NUM("user_id", id), LOG_NUM("by", caller_id) }, 2);
	/* No customer: nothing to delete (a creation still under way deletes its own). */
	*sync = t.had_customer ? run_inline(app, a, t.claimed) : PROFILE_SYNCED;
	return PB_OK;
}

/* ---- pushes asked for by others ---- */

struct push_tx {
	struct app *app;
	struct arena *a;
	uint64_t id;
	enum push_when when;
	bool forget_pushed;	/* Stripe's values are not known: send ours even if "pushed" */
	uint64_t claimed;
};

static enum pb_err
push_tx(struct db *db, void *arg)
{
	struct push_tx *t = arg;
	struct user u;
	enum pb_err err;

	t->claimed = 0;
	err = lock_live(db, t->a, t->id, &u);
	if (err != PB_OK)
		return err;
	if (u.stripe_customer_id == NULL)
		return PB_ENOTFOUND;
	/* A new version: a new Idempotency-Key, so Stripe applies it even if sent before. */
	err = repo_users_set_profile(db, t->id, NULL, NULL);
	if (err == PB_OK && t->forget_pushed)
		err = repo_users_set_pushed(db, t->id, NULL, NULL);
	if (err != PB_OK)
		return err;
	return enqueue_update(t->app, db, t->a, &u, u.profile_version + 1, t->when,
	    &t->claimed);
}

enum pb_err
profile_push_now(struct app *app, uint64_t user_id, int64_t budget_ms)
{
	struct push_tx t = { .app = app, .id = user_id, .when = PUSH_INLINE,
	    .forget_pushed = true };
	struct arena a;
	enum pb_err err;

	arena_init(&a, (size_t)64 * 1024);
	t.a = &a;
	err = db_tx(app->db, push_tx, &t);
	/* Not claimed: another process's push is running, and not known to be done yet. */
	if (err == PB_OK)
		err = t.claimed != 0 ? outbox_run_claimed(app, &a, t.claimed, budget_ms) :
		    PB_ETIMEOUT;
	arena_cleanup(&a);
	return err;
}

enum pb_err
profile_enqueue_push(struct app *app, uint64_t user_id)
{
	struct push_tx t = { .app = app, .id = user_id, .when = PUSH_LATER };
	struct arena a;
	enum pb_err err;

	arena_init(&a, (size_t)64 * 1024);
	t.a = &a;
	err = db_tx(app->db, push_tx, &t);
	arena_cleanup(&a);
	return err;
}

enum pb_err
profile_forget_customer(struct app *app, uint64_t user_id, const char *customer_id,
    bool *forgotten)
{
	enum pb_err err;

	err = repo_users_forget_customer(app->db, user_id, customer_id, forgotten);
	if (err == PB_OK && *forgotten) {
		metrics_add(METRIC_CUSTOMERS_LOST, 1);
		log_event(LOGL_WARN, "Stripe customer is gone; the user will get a new one",
		    (const struct log_kv[]){ LOG_NUM("user_id", user_id),
			LOG_STR("customer", customer_id) }, 2);
	}
	return err;
}

/* ---- the jobs ---- */

enum pb_err
profile_run_update_job(struct app *app, struct arena *a, const struct job *job)
{
	struct stripe_customer_params params;
	struct stripe_customer c;
	char key[KEY_MAX];
	struct user u;
	bool forgotten;
	enum pb_err err;

	err = repo_users_get_any(app->db, a, job->user_id, &u);
	if (err == PB_ENOTFOUND)
		return PB_OK;
	if (err != PB_OK)
		return err;
	/*
	 * Closed (its customer is being deleted), no customer yet (its creation sends the
	 * current values), or Stripe has these values already: nothing to send.
	 */
	if (u.deleted || u.stripe_customer_id == NULL || pushed(&u))
		return PB_OK;
	update_call_key(&u, key);
	params = (struct stripe_customer_params){ .name = u.name, .email = u.email };
	err = stripe_customer_update(app->stripe, u.stripe_customer_id, &params, key, &c);
	if (err == PB_ENOTFOUND)
		return profile_forget_customer(app, u.id, u.stripe_customer_id, &forgotten);
	if (err != PB_OK)
		return err;
	stripe_customer_free(&c);
	err = repo_users_set_pushed(app->db, u.id, u.name, u.email);
	if (err == PB_ENOTFOUND)
		err = PB_OK;	/* closed meanwhile */
	if (err == PB_OK) {
		metrics_add(METRIC_PROFILE_PUSHED, 1);
		log_event(LOGL_INFO, "profile pushed to Stripe", (const struct log_kv[]){
		    LOG_NUM("user_id", u.id), LOG_STR("customer", u.stripe_customer_id),
		    LOG_NUM("version", u.profile_version) }, 3);
	}
	return err;
}

enum pb_err
profile_run_delete_job(struct app *app, struct arena *a, const struct job *job)
{
	struct json_object *payload = NULL;
	const char *customer;
	struct user u;
	enum pb_err err;

	if (job->payload == NULL ||
	    json_parse(job->payload, strlen(job->payload), 4, &payload) != PB_OK ||
	    (customer = json_get_str(payload, "customer")) == NULL) {
		json_object_put(payload);
		log_warnx("delete_customer job %" PRIu64 " has a malformed payload", job->id);
		return PB_EINVAL;
	}
	/* Never a customer a live user still has: that would be a bug, not a repair. */
	err = repo_users_get_by_customer(app->db, a, customer, &u);
	if (err == PB_OK && !u.deleted) {
		log_warnx("delete_customer job %" PRIu64 ": customer %s belongs to live user %"
		    PRIu64 "; not deleted", job->id, customer, u.id);
		err = PB_EINVAL;
	} else if (err == PB_OK || err == PB_ENOTFOUND) {
		err = stripe_customer_delete(app->stripe, customer, job->idempotency_key, NULL);
		if (err == PB_OK)
			metrics_add(METRIC_CUSTOMERS_DELETED, 1);
		if (err == PB_OK || err == PB_ENOTFOUND)
			log_event(LOGL_INFO, "Stripe customer deleted", (const struct log_kv[]){
			    LOG_NUM("user_id", job->user_id), LOG_STR("customer", customer),
			    LOG_STR("already", err == PB_ENOTFOUND ? "yes" : "no") }, 3);
		/* Deleted before (by us, or in the dashboard): done all the same. */
		if (err == PB_ENOTFOUND)
			err = PB_OK;
	}
	json_object_put(payload);
	return err;
}
