/*
 * Profile sync, our side to Stripe (DESIGN §5): a user's name and email changed here, and
 * an account closed here, reach the user's Stripe customer through the outbox.
 *
 * A change updates the user row (bumping profile_version) and, in the same transaction,
 * makes sure one update_customer job is pending for the user: a pending job already there
 * absorbs the change, since a job sends the values current when it runs. The job is tried
 * inline within customer_inline_budget_ms, unless Stripe was written for this user within
 * the last profile_sync_window_ms: then the job waits out the window, so a burst of
 * changes costs about one call per window instead of one each. Each call is keyed by the
 * user, the customer generation and profile_version, so a retry of the same values is
 * replayed by Stripe and new values never are.
 *
 * Closing an account anonymises the row in one transaction: name and email emptied,
 * email_normalized NULL (the address can sign up again), the password unusable,
 * token_version bumped (every token dies), deleted_at set; the row stays as the
 * tombstone that keeps late customer.* events from bringing it back, and orders keep
 * pointing at it. A delete_customer job deletes the Stripe customer.
 *
 * Stripe to our side (customer.updated, customer.deleted) is services/webhook_effects.c.
 */
#ifndef PB_SERVICES_PROFILE_H
#define PB_SERVICES_PROFILE_H

#include <stdbool.h>
#include <stdint.h>

#include "util/err.h"

struct account;
struct accounts_problems;
struct app;
struct arena;
struct db;
struct job;

/* The stripe_jobs.kind values of profile sync (outbox_kinds.c runs them). */
#define PROFILE_JOB_UPDATE "update_customer"
#define PROFILE_JOB_DELETE "delete_customer"

/* Whether Stripe has the change yet, as the API answers it (stripeSync). */
enum profile_sync {
	PROFILE_SYNCED,		/* "synced": Stripe confirmed the values (or there was nothing to send) */
	PROFILE_PENDING,	/* "pending": a job will send them */
};

const char *profile_sync_name(enum profile_sync s);

/* A change as the client sent it; NULL for a field left as it is. Borrowed. */
struct profile_changes {
	const char *name;
	const char *email;
};

/*
 * Changes user id's name and/or email for a caller (caller_id with caller_role):
 * PB_EFORBIDDEN unless it is the caller or the caller is an admin; PB_ENOTFOUND when
 * absent or deleted; PB_EFIELDS with messages in *p (accounts_check_name and
 * accounts_check_email, after trimming) or when both fields are NULL; PB_ECONFLICT when
 * the email belongs to another account (without regard to case). A changed email is no
 * longer verified. PB_OK with the row as it is now in *out (strings in a) and *sync.
 */
enum pb_err profile_update(struct app *app, struct arena *a, uint64_t caller_id,
    const char *caller_role, uint64_t id, const struct profile_changes *in,
    struct accounts_problems *p, struct account *out, enum profile_sync *sync);

/*
 * Closes account id for a caller (itself, or any account for an admin): as above, then
 * tries the delete_customer job inline within the budget. PB_OK with *sync; PB_EFORBIDDEN,
 * PB_ENOTFOUND (absent or already closed), PB_EDB and the like.
 */
enum pb_err profile_close(struct app *app, struct arena *a, uint64_t caller_id,
    const char *caller_role, uint64_t id, enum profile_sync *sync);

/*
 * Sends user id's current name and email to its customer now, within budget_ms, through
 * the same coalesced update_customer job (paybridgectl reconcile --fix). PB_OK when
 * Stripe has them; PB_ENOTFOUND for a user that is gone or has no customer; on a Stripe
 * failure the job stays queued for the jobs worker and its error is returned.
 */
enum pb_err profile_push_now(struct app *app, uint64_t user_id, int64_t budget_ms);

/*
 * Forgets customer_id as user id's customer if it is still the one recorded
 * (compare-and-set): stripe_customer_id cleared, the customer generation bumped, so the
 * next payment path or backfill creates a new customer under a new key. *forgotten says
 * whether it did. For a customer Stripe says is deleted (reconcile).
 */
/*
 * Queues a push of user id's current values, due now for the jobs worker, in a
 * transaction of its own: a customer created with values that changed meanwhile, or one
 * adopted whose values are not known. PB_ENOTFOUND for a user gone or without customer.
 */
enum pb_err profile_enqueue_push(struct app *app, uint64_t user_id);

enum pb_err profile_forget_customer(struct app *app, uint64_t user_id,
    const char *customer_id, bool *forgotten);

/* The outbox_kind run functions of the two jobs. */
enum pb_err profile_run_update_job(struct app *app, struct arena *a, const struct job *job);
enum pb_err profile_run_delete_job(struct app *app, struct arena *a, const struct job *job);

/*
 * Queues a delete_customer job for customer_id (due now; one per customer: a second call
 * is PB_OK), inside the caller's transaction when db is in one. user_id may be 0. For a
 * customer that no user may keep: a closed account's, or one created for a user who
 * closed the account meanwhile.
 */
enum pb_err profile_enqueue_delete(struct app *app, struct db *db, uint64_t user_id,
    const char *customer_id);

#endif
