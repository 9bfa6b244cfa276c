/*
 * Profile sync, Stripe to our side (DESIGN §5): what customer.updated and
 * customer.deleted change, inside the event's transaction (services/webhooks.c).
 *
 * A customer is ours when a user's stripe_customer_id names it; metadata user_id is not
 * enough, since a user whose customer was deleted gets a new one, and a late event about
 * the old one must not touch the user. A closed account (tombstone) keeps its customer
 * id, so its late events are recognised and change nothing.
 *
 * customer.updated is a snapshot of the customer. It changes nothing when:
 *   - it is older than the newest customer event applied to the user (the row keeps its
 *     `created`), so an edit that Stripe overwrote since never comes back;
 *   - it echoes our own push: the request behind it carried one of our Idempotency-Keys
 *     ("paybridge-"), or it carries exactly the name and email we last pushed. An echo
 *     still moves the row's event time on, so a dashboard edit older than our push,
 *     delivered late, is stale;
 *   - it carries what the row holds already.
 * Otherwise its name and email become the user's (and the values Stripe is known to
 * have, so nothing is pushed back: no loop). A value we cannot take is kept ours, logged
 * and counted as drift: an email another account has, an email or name our rules refuse
 * (empty, control characters, not an address). paybridgectl reconcile repairs it.
 *
 * customer.deleted unlinks the customer from a live user (the customer generation moves
 * on), so the next payment path creates a new one lazily.
 */
#include "config.h"

#include <inttypes.h>
#include <string.h>

#include "repo/users.h"
#include "services/accounts.h"
#include "services/webhooks_internal.h"
#include "util/arena.h"
#include "util/json.h"
#include "util/log.h"
#include "util/metrics.h"

#define OUR_KEY_PREFIX "paybridge-"

/* The event was caused by one of our own requests to Stripe. */
static bool
caused_by_us(const struct wh_event *e)
{
	const char *key = json_get_str(json_get_path(e->root, "request"), "idempotency_key");

	return key != NULL && strncmp(key, OUR_KEY_PREFIX, strlen(OUR_KEY_PREFIX)) == 0;
}

static bool
same(const char *a, const char *b)
{
	return a != NULL && b != NULL && strcmp(a, b) == 0;
}

/*
 * A value of the customer's, trimmed into the arena, that our rule check accepts; NULL
 * when absent, null or refused.
 */
static const char *
take(struct arena *a, struct json_object *o, const char *key,
    const char *(*check)(const char *, size_t))
{
	const char *v = json_get_str(o, key);
	size_t len;

	if (v == NULL)
		return NULL;
	len = strlen(v);
	accounts_trim(&v, &len);
	return check(v, len) == NULL ? arena_strndup(a, v, len) : NULL;
}

static void
drift(const struct wh_event *e, uint64_t user_id, const char *what)
{
	metrics_add(METRIC_PROFILE_DRIFT, 1);
	log_event(LOGL_WARN, "change made in Stripe not taken: user and customer disagree",
	    (const struct log_kv[]){ LOG_NUM("user_id", user_id), LOG_STR("customer",
		e->object_id), LOG_STR("event", e->id), LOG_STR("reason", what) }, 4);
}

static enum pb_err
customer_updated(struct db *db, struct arena *a, const struct wh_event *e, const struct user *u,
    bool *changed)
{
	const char *name, *email;
	struct user other;
	enum pb_err err;

	name = take(a, e->object, "name", accounts_check_name);
	email = take(a, e->object, "email", accounts_check_email);
	if (caused_by_us(e) ||
	    (same(name, u->last_pushed_name) && same(email, u->last_pushed_email))) {
		metrics_add(METRIC_PROFILE_ECHOES, 1);
		return repo_users_saw_customer_event(db, u->id, e->created);
	}
	/* Ours are kept: a user always has a valid name and email. */
	if (name == NULL)
		drift(e, u->id, "the name is missing or not one we accept");
	if (email == NULL)
		drift(e, u->id, "the email is missing or not an address");
	if (same(name, u->name))
		name = NULL;
	if (same(email, u->email))
		email = NULL;
	if (email != NULL) {
		err = repo_users_get_by_email(db, a, email, &other);
		if (err == PB_OK && other.id != u->id) {
			drift(e, u->id, "the email belongs to another user");
			email = NULL;
		} else if (err != PB_OK && err != PB_ENOTFOUND) {
			return err;
		}
	}
	if (name == NULL && email == NULL)
		return repo_users_saw_customer_event(db, u->id, e->created);
	err = repo_users_apply_stripe_profile(db, u->id, name, email, e->created);
	if (err != PB_OK)
		return err;
	*changed = true;
	metrics_add(METRIC_PROFILE_PULLED, 1);
	log_event(LOGL_INFO, "profile changed in Stripe, applied", (const struct log_kv[]){
	    LOG_NUM("user_id", u->id), LOG_STR("customer", e->object_id),
	    LOG_STR("event", e->id), LOG_STR("fields", name != NULL && email != NULL ?
		"name,email" : name != NULL ? "name" : "email") }, 4);
	return PB_OK;
}

static enum pb_err
customer_deleted(struct db *db, const struct wh_event *e, const struct user *u, bool *changed)
{
	bool forgotten;
	enum pb_err err;

	err = repo_users_forget_customer(db, u->id, e->object_id, &forgotten);
	if (err != PB_OK || !forgotten)
		return err;
	*changed = true;
	metrics_add(METRIC_CUSTOMERS_LOST, 1);
	log_event(LOGL_INFO, "Stripe customer deleted in Stripe; the next payment path makes "
	    "a new one", (const struct log_kv[]){ LOG_NUM("user_id", u->id),
		LOG_STR("customer", e->object_id), LOG_STR("event", e->id) }, 3);
	return PB_OK;
}

enum pb_err
webhook_apply_customer(struct db *db, struct arena *a, const struct wh_event *e,
    bool *changed)
{
	struct user u;
	enum pb_err err;

	if (e->object_id == NULL)
		return PB_OK;
	err = repo_users_lock_by_customer(db, a, e->object_id, &u);
	if (err == PB_ENOTFOUND)
		return PB_OK;	/* not a customer of ours (any more) */
	if (err != PB_OK)
		return err;
	/* A closed account stays closed; an older snapshot never overwrites a newer one. */
	if (u.deleted || e->created < u.customer_event_created)
		return PB_OK;
	if (strcmp(e->type, "customer.deleted") == 0)
		return customer_deleted(db, e, &u, changed);
	return customer_updated(db, a, e, &u, changed);
}
