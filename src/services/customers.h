/*
 * Stripe customers for our users (DESIGN §5): creation never fails a signup and never
 * duplicates. Each user has one create_customer job whose idempotency key derives from
 * the user id alone, so every attempt, inline or from the jobs worker, days apart or
 * concurrent, asks Stripe for the same customer. Past Stripe's 24 h key window an attempt
 * first searches Stripe by metadata['user_id'] and adopts what it finds.
 */
#ifndef PB_SERVICES_CUSTOMERS_H
#define PB_SERVICES_CUSTOMERS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/err.h"

struct app;
struct arena;
struct db;
struct job;
struct user;

enum customer_source {
	CUSTOMER_SOURCE_REGISTRATION,	/* "user_registration" */
	CUSTOMER_SOURCE_LAZY,		/* "lazy": a payment path found none */
	CUSTOMER_SOURCE_BACKFILL,	/* "backfill": paybridgectl backfill-customers */
	CUSTOMER_SOURCE__MAX
};

#define CUSTOMER_ID_MAX 255

/* The stripe_jobs.kind of a customer's creation (outbox_kinds.c runs it). */
#define CUSTOMERS_JOB_CREATE "create_customer"

#define CUSTOMERS_KEY_MAX 64

/*
 * The create_customer job customers_enqueue just queued, as it went into the table, so
 * that the inline run needs to read neither the job nor its payload back. name and email
 * are borrowed from the caller of customers_enqueue: they are the very strings the job's
 * payload snapshot was written from, so the inline attempt and every retry send Stripe
 * the same parameters.
 */
struct customers_claim {
	bool held;		/* false: the user had a job already; nothing to run inline */
	uint64_t job_id;
	uint64_t user_id;
	uint32_t max_attempts;
	char key[CUSTOMERS_KEY_MAX];
	const char *name;
	const char *email;
	enum customer_source source;
};

/* Returns the metadata value of source ("user_registration", "lazy", "backfill"). */
const char *customer_source_name(enum customer_source source);

/*
 * Inside the caller's transaction: queues the user's create_customer job, claimed by this
 * process for the inline budget plus a margin so the jobs worker leaves it alone meanwhile,
 * and describes it in *claim. The job snapshots name and email, so every retry sends
 * Stripe identical parameters. A job the user has already is fine (claim->held false).
 */
enum pb_err customers_enqueue(struct app *app, struct db *db, uint64_t user_id,
    const char *name, const char *email, enum customer_source source,
    struct customers_claim *claim);

/*
 * After commit: runs the job of claim now, within budget_ms, for the user whose row the
 * caller has just read (row: nothing is read again), and settles it. PB_OK with the
 * customer id in id[0..idlen); PB_ENOTFOUND when the claim is not held (the job is someone
 * else's); on any failure the job stays queued for the jobs worker and the caller carries
 * on (a signup answers 201 with stripeCustomerId null). Temporary data goes in a.
 */
enum pb_err customers_create_now(struct app *app, struct arena *a,
    const struct customers_claim *claim, const struct user *row, int64_t budget_ms,
    char *id, size_t idlen);

/*
 * Returns the user's customer id, creating the customer through the same job when there
 * is none (lazy creation for payment paths, and the backfill). Any number of concurrent
 * callers make one customer. PB_ENOTFOUND for an unknown or deleted user; PB_ESTRIPE or
 * PB_ETIMEOUT when Stripe could not be reached within budget_ms (the job stays queued).
 */
enum pb_err customers_get_or_create(struct app *app, uint64_t user_id,
    enum customer_source source, int64_t budget_ms, char *id, size_t idlen);

/*
 * Records customer_id, a customer Stripe has with metadata user_id = user_id, as the
 * user's when the user has none (compare-and-set): paybridge reconcile --fix adopting a
 * customer instead of creating another. *linked says whether it did; PB_ENOTFOUND for a
 * user that is gone.
 */
enum pb_err customers_link(struct app *app, uint64_t user_id, const char *customer_id,
    bool *linked);

/* Runs one claimed create_customer job (its outbox_kind run function). */
enum pb_err customers_run_job(struct app *app, struct arena *a, const struct job *job);

#endif
