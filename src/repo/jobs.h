/*
 * The stripe_jobs table: the durable outbox of work that must reach Stripe. Its
 * idempotency_key names the work (UNIQUE: the same work is never queued twice); most
 * kinds send it to Stripe as is, while update_customer derives the key of each call from
 * the values it sends (services/profile.h). A job is
 * claimed by leasing it (status 'running', lease_until in the future); a claim whose
 * lease ran out belongs to nobody, so a process that died mid-job never strands it.
 * Claims use FOR UPDATE SKIP LOCKED, so any number of jobs workers on any number of hosts
 * share one table safely.
 */
#ifndef PB_REPO_JOBS_H
#define PB_REPO_JOBS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/err.h"

struct arena;
struct db;

struct job {
	uint64_t id;
	const char *kind;		/* "create_customer", ... */
	uint64_t user_id;		/* 0 when none */
	const char *idempotency_key;
	const char *payload;		/* JSON text, NULL when none */
	const char *status;		/* pending, running, done, dead */
	uint32_t attempts;
	uint32_t max_attempts;
	int64_t run_after;		/* microseconds since the epoch, UTC */
	int64_t lease_until;		/* 0 when not leased */
	const char *leased_by;
	int64_t first_attempt_at;	/* 0 before the first attempt */
	const char *last_error;
	int64_t created_at;
};

/*
 * Inserts a job already claimed by `owner` for lease_us (the caller runs it inline next),
 * or, with lease_us 0, pending and due now. PB_ECONFLICT when a job with that key exists.
 */
enum pb_err repo_jobs_insert(struct db *db, const char *kind, uint64_t user_id,
    const char *key, const char *payload, uint32_t max_attempts, const char *owner,
    int64_t lease_us, uint64_t *id);

/* Inserts a pending job due delay_us from now. PB_ECONFLICT when the key exists. */
enum pb_err repo_jobs_insert_after(struct db *db, const char *kind, uint64_t user_id,
    const char *key, const char *payload, uint32_t max_attempts, int64_t delay_us,
    uint64_t *id);

/*
 * Inside a transaction: locks the user's open jobs of kind and tells whether one is
 * pending (*pending_id, else 0) and whether one is running under a live lease (*running).
 */
enum pb_err repo_jobs_open_for(struct db *db, struct arena *a, uint64_t user_id,
    const char *kind, uint64_t *pending_id, bool *running);

/* Reads a job by id, or by idempotency key. PB_ENOTFOUND when absent. */
enum pb_err repo_jobs_get(struct db *db, struct arena *a, uint64_t id, struct job *out);
enum pb_err repo_jobs_get_by_key(struct db *db, struct arena *a, const char *key,
    struct job *out);

/*
 * Claims job id for owner for lease_us when nobody holds it (pending, or running with an
 * expired lease; due or not), counting an attempt. *claimed tells whether it did.
 */
enum pb_err repo_jobs_claim(struct db *db, uint64_t id, const char *owner, int64_t lease_us,
    bool *claimed);

/* Claims the oldest due job for owner (SKIP LOCKED); PB_ENOTFOUND when none is due. */
enum pb_err repo_jobs_claim_due(struct db *db, struct arena *a, const char *owner,
    int64_t lease_us, struct job *out);

/* Marks a claimed job done. */
enum pb_err repo_jobs_done(struct db *db, uint64_t id);

/* Releases a failed attempt: pending again after delay_us, or dead when dead is set. */
enum pb_err repo_jobs_failed(struct db *db, uint64_t id, const char *error, int64_t delay_us,
    bool dead);

/* Lists jobs, newest first, optionally only those with status (NULL for all). */
enum pb_err repo_jobs_list(struct db *db, struct arena *a, const char *status, size_t max,
    struct job **jobs, size_t *n);

/* Makes a dead or pending job due now with its attempts reset. PB_ENOTFOUND otherwise. */
enum pb_err repo_jobs_retry(struct db *db, uint64_t id);

/* Deletes a job that is not running. PB_ENOTFOUND when absent, PB_ECONFLICT when leased. */
enum pb_err repo_jobs_drop(struct db *db, uint64_t id);

/* Counts jobs by status, for the metrics gauges. */
enum pb_err repo_jobs_count(struct db *db, uint64_t *pending, uint64_t *dead);

#endif
