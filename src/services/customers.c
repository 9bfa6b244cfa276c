#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <json-c/json.h>

#include "repo/db.h"
#include "repo/guests.h"
#include "repo/jobs.h"
#include "repo/users.h"
#include "services/app.h"
#include "services/customers.h"
#include "services/outbox.h"
#include "services/profile.h"
#include "stripe/client.h"
#include "util/arena.h"
#include "util/conf.h"
#include "util/json.h"
#include "util/log.h"
#include "util/metrics.h"
#include "util/timeutil.h"

#define ARENA_MAX (256 * 1024)
/* Stripe forgets idempotency keys after 24 h; past this, search before creating. */
#define KEY_WINDOW_US (23LL * 3600 * 1000000)
/* How long an inline claim outlives its budget, so a process killed mid-call is retried soon. */
#define INLINE_LEASE_MARGIN_US (3 * 1000000LL)
#define POLL_US 100000

static const char *const source_names[CUSTOMER_SOURCE__MAX] = {
	[CUSTOMER_SOURCE_REGISTRATION] = "user_registration",
	[CUSTOMER_SOURCE_LAZY] = "lazy",
	[CUSTOMER_SOURCE_BACKFILL] = "backfill",
};

static const enum metrics_counter created_metric[CUSTOMER_SOURCE__MAX] = {
	[CUSTOMER_SOURCE_REGISTRATION] = METRIC_CUSTOMERS_CREATED_REGISTRATION,
	[CUSTOMER_SOURCE_LAZY] = METRIC_CUSTOMERS_CREATED_LAZY,
	[CUSTOMER_SOURCE_BACKFILL] = METRIC_CUSTOMERS_CREATED_BACKFILL,
};

const char *
customer_source_name(enum customer_source source)
{
	return source < CUSTOMER_SOURCE__MAX ? source_names[source] : "unknown";
}

static enum customer_source
source_parse(const char *s)
{
	for (int i = 0; i < CUSTOMER_SOURCE__MAX; i++) {
		if (s != NULL && strcmp(s, source_names[i]) == 0)
			return (enum customer_source)i;
	}
	return CUSTOMER_SOURCE_LAZY;
}

/*
 * The user id and the customer generation decide the key: every attempt for a user asks
 * for the same customer, until that customer is deleted in Stripe and forgotten here
 * (the generation moves on). Generation 0 keeps the key it always had.
 */
static void
job_key(uint64_t user_id, uint32_t generation, char key[CUSTOMERS_KEY_MAX])
{
	if (generation == 0)
		(void)snprintf(key, CUSTOMERS_KEY_MAX, "paybridge-customer-user-%" PRIu64, user_id);
	else
		(void)snprintf(key, CUSTOMERS_KEY_MAX, "paybridge-customer-user-%" PRIu64 "-g%" PRIu32,
		    user_id, generation);
}

/* An inline claim lasts as long as the caller's budget, plus a margin. */
static int64_t
lease_us(int64_t budget_ms)
{
	return budget_ms * 1000 + INLINE_LEASE_MARGIN_US;
}

/*
 * Queues the job claimed by this process for budget_ms and describes it in *claim; an
 * existing job is fine (claim->held false).
 */
static enum pb_err
enqueue(struct app *app, struct db *db, uint64_t user_id, uint32_t generation,
    const char *name, const char *email, enum customer_source source, int64_t budget_ms,
    struct customers_claim *claim)
{
	struct json_object *payload = json_object_new_object();
	enum pb_err err;

	memset(claim, 0, sizeof(*claim));
	if (payload == NULL)
		return PB_ENOMEM;
	json_object_object_add(payload, "name", json_object_new_string(name));
	json_object_object_add(payload, "email", json_object_new_string(email));
	json_object_object_add(payload, "source",
	    json_object_new_string(customer_source_name(source)));
	job_key(user_id, generation, claim->key);
	claim->user_id = user_id;
	claim->max_attempts = (uint32_t)app->conf->jobs_max_attempts;
	claim->name = name;
	claim->email = email;
	claim->source = source;
	err = repo_jobs_insert(db, CUSTOMERS_JOB_CREATE, user_id, claim->key,
	    json_object_to_json_string_ext(payload, JSON_C_TO_STRING_PLAIN),
	    claim->max_attempts, outbox_owner(), lease_us(budget_ms), &claim->job_id);
	json_object_put(payload);
	claim->held = err == PB_OK;
	/* A job for this user already exists: it will make the one customer. */
	return err == PB_ECONFLICT ? PB_OK : err;
}

enum pb_err
customers_enqueue(struct app *app, struct db *db, uint64_t user_id, const char *name,
    const char *email, enum customer_source source, struct customers_claim *claim)
{
	/* A new user: its first customer. */
	return enqueue(app, db, user_id, 0, name, email, source,
	    app->conf->customer_inline_budget_ms, claim);
}

/*
 * Queues a push of the user's current values (they changed while the customer was being
 * made, or the customer was adopted): a failure is logged, and reconcile finds the drift.
 */
static void
push_after(struct app *app, uint64_t user_id)
{
	enum pb_err err = profile_enqueue_push(app, user_id);

	if (err != PB_OK && err != PB_ENOTFOUND)
		log_warnx("user %" PRIu64 ": could not queue the push of the current profile: %s",
		    user_id, pb_strerror(err));
}

/* Adopts a customer Stripe already has for the user (an earlier attempt's, past the key window). */
static enum pb_err
adopt_existing(struct app *app, struct arena *a, const struct job *job, bool *adopted)
{
	struct stripe_customer_list found;
	char user_id[24];
	const char *kept;
	bool stored;
	enum pb_err err;

	*adopted = false;
	(void)snprintf(user_id, sizeof(user_id), "%" PRIu64, job->user_id);
	err = stripe_customer_search_user_id(app->stripe, user_id, 10, &found);
	if (err != PB_OK)
		return err;
	for (size_t i = 0; i < found.n && !*adopted; i++) {
		if (found.items[i].deleted)
			continue;
		/* What that customer holds is not known here: ours are pushed after. */
		err = repo_users_set_customer(app->db, a, job->user_id, found.items[i].id, NULL,
		    NULL, &stored, &kept);
		if (err != PB_OK)
			break;
		*adopted = true;
		if (stored)
			push_after(app, job->user_id);
		metrics_add(METRIC_CUSTOMERS_ADOPTED, 1);
		log_event(LOGL_INFO, "adopted existing Stripe customer", (const struct log_kv[]){
			LOG_NUM("user_id", job->user_id), LOG_STR("customer", found.items[i].id),
			LOG_NUM("candidates", found.n) }, 3);
	}
	stripe_customer_list_free(&found);
	return err;
}

/* A profile change while the customer was being made: the creation sent the old values. */
static void
changed_meanwhile(struct app *app, struct arena *a, uint64_t user_id, const char *name,
    const char *email)
{
	struct user now;

	if (repo_users_get(app->db, a, user_id, &now) == PB_OK &&
	    (strcmp(now.name, name) != 0 || strcmp(now.email, email) != 0))
		push_after(app, user_id);
}

/*
 * An address that paid as a guest has a customer already (services/guest_payments.h):
 * it becomes the user's, with the user's name and metadata, under a key of its own (this
 * job's key may have been spent on a creation that failed). PB_ENOTFOUND when there is
 * none, or when Stripe no longer has it: then a customer is created as for anyone.
 */
static enum pb_err
adopt_guest(struct app *app, struct arena *a, const struct job *job,
    const struct stripe_customer_params *params, struct stripe_customer *out)
{
	const char *guest, *key;
	enum pb_err err;

	err = repo_guest_customer_get(app->db, a, params->email, &guest);
	if (err != PB_OK)
		return err;
	key = arena_printf(a, "%s-adopt", job->idempotency_key);
	if (key == NULL)
		return PB_ENOMEM;
	err = stripe_customer_update(app->stripe, guest, params, key, out);
	if (err == PB_OK)
		log_event(LOGL_INFO, "adopted guest customer", (const struct log_kv[]){
			LOG_NUM("user_id", job->user_id), LOG_STR("customer", guest) }, 2);
	return err;
}

/*
 * Asks Stripe for job's customer with name, email and source (the job's snapshot) and
 * records it on the user. *out_id: the customer the user has now (in a), NULL when the
 * user is gone.
 */
static enum pb_err
create(struct app *app, struct arena *a, const struct job *job, const char *name,
    const char *email, enum customer_source source, const char **out_id)
{
	struct stripe_customer customer;
	struct stripe_customer_params params;
	struct stripe_kv meta[2];
	char description[64], user_id[24];
	const char *kept = NULL;
	bool stored;
	enum pb_err err;

	*out_id = NULL;
	(void)snprintf(description, sizeof(description), "Customer for user ID: %" PRIu64,
	    job->user_id);
	(void)snprintf(user_id, sizeof(user_id), "%" PRIu64, job->user_id);
	meta[0] = (struct stripe_kv){ "user_id", user_id };
	meta[1] = (struct stripe_kv){ "source", customer_source_name(source) };
	params = (struct stripe_customer_params){
		.name = name,
		.email = email,
		.description = description,
		.metadata = meta,
		.nmetadata = 2,
	};
	err = adopt_guest(app, a, job, &params, &customer);
	if (err == PB_ENOTFOUND)
		err = stripe_customer_create(app->stripe, &params, job->idempotency_key, &customer);
	if (err != PB_OK)
		return err;
	err = repo_users_set_customer(app->db, a, job->user_id, customer.id, name, email, &stored,
	    &kept);
	if (err == PB_OK && stored) {
		metrics_add(created_metric[source], 1);
		log_event(LOGL_INFO, "Stripe customer created", (const struct log_kv[]){
			LOG_NUM("user_id", job->user_id), LOG_STR("customer", customer.id),
			LOG_STR("source", customer_source_name(source)),
			LOG_NUM("attempt", job->attempts) }, 4);
		/* Out of arena leaves *out_id NULL; the customer is stored all the same. */
		kept = arena_strdup(a, customer.id);
		changed_meanwhile(app, a, job->user_id, name, email);
	} else if (err == PB_OK && kept == NULL) {
		/* The account was closed while its customer was being made: no one keeps it. */
		err = profile_enqueue_delete(app, app->db, job->user_id, customer.id);
	} else if (err == PB_OK && kept != NULL && strcmp(kept, customer.id) != 0) {
		/* Cannot happen through one key; say so loudly for paybridgectl reconcile. */
		log_warnx("user %" PRIu64 " already has customer %s; %s is a duplicate", job->user_id,
		    kept, customer.id);
	}
	stripe_customer_free(&customer);
	*out_id = err == PB_OK ? kept : NULL;
	return err;
}

enum pb_err
customers_run_job(struct app *app, struct arena *a, const struct job *job)
{
	struct json_object *payload = NULL;
	enum customer_source source;
	const char *id;
	struct user user;
	bool adopted;
	enum pb_err err;

	err = repo_users_get_any(app->db, a, job->user_id, &user);
	if (err != PB_OK)
		return err;
	/* Done already (another path won), or no longer wanted: the user left. */
	if (user.stripe_customer_id != NULL || user.deleted)
		return PB_OK;
	if (job->payload == NULL ||
	    json_parse(job->payload, strlen(job->payload), 4, &payload) != PB_OK ||
	    json_get_str(payload, "name") == NULL || json_get_str(payload, "email") == NULL) {
		json_object_put(payload);
		log_warnx("create_customer job %" PRIu64 " has a malformed payload", job->id);
		return PB_EINVAL;
	}
	if (job->first_attempt_at != 0 && time_real_us() - job->first_attempt_at > KEY_WINDOW_US) {
		err = adopt_existing(app, a, job, &adopted);
		if (err != PB_OK || adopted) {
			json_object_put(payload);
			return err;
		}
	}
	source = source_parse(json_get_str(payload, "source"));
	/* payload owns the strings until it is put. */
	err = create(app, a, job, json_get_str(payload, "name"), json_get_str(payload, "email"),
	    source, &id);
	json_object_put(payload);
	return err;
}

/* Copies the user's customer id into id; PB_ENOTFOUND when it has none (yet). */
static enum pb_err
read_customer(struct app *app, struct arena *a, uint64_t user_id, char *id, size_t idlen)
{
	struct user user;
	enum pb_err err;

	err = repo_users_get(app->db, a, user_id, &user);
	if (err != PB_OK)
		return err;
	if (user.stripe_customer_id == NULL)
		return PB_ENOTFOUND;
	if (snprintf(id, idlen, "%s", user.stripe_customer_id) >= (int)idlen)
		return PB_ETOOBIG;
	return PB_OK;
}

/*
 * Runs the job of claim, which this process holds, within budget_ms for the user of row,
 * and settles it; nothing is read back: the job is as enqueue inserted it.
 */
static enum pb_err
run_held(struct app *app, struct arena *a, const struct customers_claim *claim,
    const struct user *row, int64_t budget_ms, char *id, size_t idlen)
{
	struct job job = {
		.id = claim->job_id,
		.kind = CUSTOMERS_JOB_CREATE,
		.user_id = claim->user_id,
		.idempotency_key = claim->key,
		.status = "running",
		.attempts = 1,
		.max_attempts = claim->max_attempts,
		.leased_by = outbox_owner(),
		/* Just now, so far inside Stripe's key window that there is nothing to adopt. */
		.first_attempt_at = time_real_us(),
	};
	const char *customer = row->stripe_customer_id;
	enum pb_err err = PB_OK;

	/* As customers_run_job: done already (another path won), or the user left. */
	if (customer == NULL && !row->deleted) {
		stripe_set_deadline(app->stripe, app_deadline(app, budget_ms));
		err = create(app, a, &job, claim->name, claim->email, claim->source, &customer);
		stripe_set_deadline(app->stripe, app->deadline_us);
	}
	metrics_add(METRIC_JOB_ATTEMPTS, 1);
	outbox_settle(app, &job, err, err != PB_OK ? pb_strerror(err) : NULL);
	if (err != PB_OK)
		return err;
	if (customer == NULL)
		return PB_ENOTFOUND;
	if (snprintf(id, idlen, "%s", customer) >= (int)idlen)
		return PB_ETOOBIG;
	return PB_OK;
}

enum pb_err
customers_create_now(struct app *app, struct arena *a, const struct customers_claim *claim,
    const struct user *row, int64_t budget_ms, char *id, size_t idlen)
{
	/* Ours to run only if customers_enqueue just claimed it for this process. */
	if (!claim->held || row->id != claim->user_id)
		return PB_ENOTFOUND;
	return run_held(app, a, claim, row, budget_ms, id, idlen);
}

enum pb_err
customers_get_or_create(struct app *app, uint64_t user_id, enum customer_source source,
    int64_t budget_ms, char *id, size_t idlen)
{
	int64_t deadline = app_deadline(app, budget_ms);
	struct customers_claim claim;
	struct arena a;
	struct user user;
	struct job job;
	bool claimed = false;
	enum pb_err err;

	arena_init(&a, ARENA_MAX);
	err = repo_users_get(app->db, &a, user_id, &user);
	if (err != PB_OK)
		goto out;
	if (user.stripe_customer_id != NULL) {
		err = read_customer(app, &a, user_id, id, idlen);
		goto out;
	}
	err = enqueue(app, app->db, user_id, user.customer_generation, user.name, user.email,
	    source, budget_ms, &claim);
	if (err != PB_OK)
		goto out;
	/* The first to need the customer queued the job itself: run it as signup does. */
	if (claim.held) {
		err = run_held(app, &a, &claim, &user, budget_ms, id, idlen);
		goto out;
	}
	err = repo_jobs_get_by_key(app->db, &a, claim.key, &job);
	if (err != PB_OK)
		goto out;
	if (strcmp(job.status, "done") == 0) {
		/* Most often it finished since the user was read above. */
		err = read_customer(app, &a, user_id, id, idlen);
		if (err == PB_ENOTFOUND) {
			/* Done, yet no customer: it was removed since; not ours to redo. */
			log_warnx("user %" PRIu64 " has no customer but its creation job is done",
			    user_id);
			err = PB_ECONFLICT;
		}
		goto out;
	}
	/* Someone needs the customer now: a job that gave up gets another round. */
	if (strcmp(job.status, "dead") == 0)
		err = repo_jobs_retry(app->db, job.id);
	if (err == PB_OK && strcmp(job.status, "running") == 0 && job.leased_by != NULL &&
	    strcmp(job.leased_by, outbox_owner()) == 0)
		claimed = true;
	else if (err == PB_OK)
		err = repo_jobs_claim(app->db, job.id, outbox_owner(), lease_us(budget_ms),
		    &claimed);
	if (err != PB_OK)
		goto out;
	if (claimed) {
		err = outbox_run_claimed(app, &a, job.id, budget_ms);
		if (err == PB_OK)
			err = read_customer(app, &a, user_id, id, idlen);
		goto out;
	}
	/* Someone else holds the job: wait for its customer within the budget. */
	for (;;) {
		arena_reset(&a);
		err = read_customer(app, &a, user_id, id, idlen);
		if (err != PB_ENOTFOUND || time_mono_us() + POLL_US > deadline)
			break;
		time_sleep_us(POLL_US);
	}
	if (err == PB_ENOTFOUND)
		err = PB_ETIMEOUT;
out:
	arena_cleanup(&a);
	return err;
}

enum pb_err
customers_link(struct app *app, uint64_t user_id, const char *customer_id, bool *linked)
{
	struct arena a;
	struct user user;
	const char *kept;
	enum pb_err err;

	*linked = false;
	arena_init(&a, (size_t)64 * 1024);
	err = repo_users_get(app->db, &a, user_id, &user);
	if (err == PB_OK)
		err = repo_users_set_customer(app->db, &a, user_id, customer_id, NULL, NULL, linked,
		    &kept);
	if (err == PB_OK && *linked) {
		metrics_add(METRIC_CUSTOMERS_ADOPTED, 1);
		log_event(LOGL_INFO, "linked existing Stripe customer", (const struct log_kv[]){
		    LOG_NUM("user_id", user_id), LOG_STR("customer", customer_id) }, 2);
		push_after(app, user_id);
	}
	arena_cleanup(&a);
	return err;
}
