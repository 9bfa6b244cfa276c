/*
 * The users table. Emails are stored as typed (trimmed) and looked up through
 * email_normalized = LOWER(TRIM(email)), computed by MariaDB so that the CHECK constraint
 * and every lookup agree on what lower case means beyond ASCII. Deleted users keep their
 * row (a tombstone with email_normalized NULL) and are invisible to every lookup here
 * except repo_users_get_any.
 */
#ifndef PB_REPO_USERS_H
#define PB_REPO_USERS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/err.h"

struct arena;
struct db;

/* A user row; strings live in the arena the call was given. */
struct user {
	uint64_t id;
	const char *name;
	const char *email;
	const char *password_hash;
	const char *role;		/* "user" or "admin" */
	bool is_email_verified;
	uint32_t token_version;
	const char *stripe_customer_id;	/* NULL until created */
	int64_t created_at;		/* microseconds since the epoch, UTC */
	bool deleted;
	uint32_t profile_version;	/* bumped by every change of name or email here */
	uint32_t customer_generation;	/* bumped when the customer is found deleted */
	const char *last_pushed_name;	/* what Stripe has, as far as we know; NULL: unknown */
	const char *last_pushed_email;
	int64_t last_pushed_at;		/* 0 when never */
	int64_t customer_event_created;	/* created of the newest customer.* event applied */
};

/* Inserts a user; *id receives the new id. PB_ECONFLICT when the email is taken. */
enum pb_err repo_users_insert(struct db *db, const char *name, const char *email,
    const char *password_hash, uint64_t *id);

/* Reads a live user by id. PB_ENOTFOUND when absent or deleted. */
enum pb_err repo_users_get(struct db *db, struct arena *a, uint64_t id, struct user *out);

/* Reads a user by id even when deleted (tombstones included). */
enum pb_err repo_users_get_any(struct db *db, struct arena *a, uint64_t id, struct user *out);

/* Reads a live user by email, compared without regard to case. PB_ENOTFOUND when absent. */
enum pb_err repo_users_get_by_email(struct db *db, struct arena *a, const char *email,
    struct user *out);

/*
 * Records the user's Stripe customer only if it has none yet (compare-and-set), with the
 * time it was created and the name and email it was created with (NULL when not known:
 * an adopted customer). *stored is true when this call stored it; false when the user
 * already had one (or is gone), in which case *out_id receives the one kept.
 */
enum pb_err repo_users_set_customer(struct db *db, struct arena *a, uint64_t id,
    const char *customer_id, const char *name, const char *email, bool *stored,
    const char **out_id);

/* As repo_users_get_any, locking the row (FOR UPDATE) until the transaction ends. */
enum pb_err repo_users_lock(struct db *db, struct arena *a, uint64_t id, struct user *out);

/* Reads the user (live or tombstone) whose stripe_customer_id is customer_id. */
enum pb_err repo_users_get_by_customer(struct db *db, struct arena *a,
    const char *customer_id, struct user *out);

/*
 * Locks and reads the user (live or tombstone) whose stripe_customer_id is customer_id.
 * PB_ENOTFOUND when none has it.
 */
enum pb_err repo_users_lock_by_customer(struct db *db, struct arena *a,
    const char *customer_id, struct user *out);

/*
 * Sets the name and/or email (NULL: unchanged) of live user id and bumps its
 * profile_version; a changed email is no longer verified. PB_ECONFLICT when the email is
 * another account's, PB_ENOTFOUND when the user is gone.
 */
enum pb_err repo_users_set_profile(struct db *db, uint64_t id, const char *name,
    const char *email);

/*
 * Applies a change made in Stripe (customer.updated): name and/or email (NULL:
 * unchanged) become the row's and the last pushed values, without bumping
 * profile_version (nothing needs sending back), and event_created the row's
 * customer_event_created. PB_ECONFLICT when the email is another account's.
 */
enum pb_err repo_users_apply_stripe_profile(struct db *db, uint64_t id, const char *name,
    const char *email, int64_t event_created);

/* Raises customer_event_created to event_created (never lowers it). */
enum pb_err repo_users_saw_customer_event(struct db *db, uint64_t id, int64_t event_created);

/* Records name and email as what Stripe now has for user id (a push succeeded). */
enum pb_err repo_users_set_pushed(struct db *db, uint64_t id, const char *name,
    const char *email);

/*
 * Forgets customer_id as user id's customer when it still is (compare-and-set): the link
 * and the pushed values cleared, customer_generation bumped. *forgotten says whether it
 * did. A tombstone keeps its customer id: it is how its late events are recognised.
 */
enum pb_err repo_users_forget_customer(struct db *db, uint64_t id, const char *customer_id,
    bool *forgotten);

/*
 * Closes live user id: name and email emptied, email_normalized NULL, the password hash
 * unusable, token_version bumped, deleted_at set. PB_ENOTFOUND when absent or closed.
 */
enum pb_err repo_users_close(struct db *db, uint64_t id);

/*
 * Replaces the password hash of live user id and bumps token_version, only while
 * token_version is still expect_version (a concurrent change wins: PB_ECONFLICT).
 */
enum pb_err repo_users_set_password(struct db *db, uint64_t id, const char *hash,
    uint32_t expect_version);

/* Lists up to max live users with id > after, in id order (reconcile walks them). */
enum pb_err repo_users_list(struct db *db, struct arena *a, uint64_t after, size_t max,
    struct user **users, size_t *n);

/* Counts live users (reconcile's progress). */
enum pb_err repo_users_count_live(struct db *db, uint64_t *n);

/* Replaces the password hash (rehash on login with new parameters). */
enum pb_err repo_users_set_password_hash(struct db *db, uint64_t id, const char *hash);

/*
 * Lists up to max ids of live users without a customer, with id > after, in id order (the
 * backfill walks them in pages and can resume from any id).
 */
enum pb_err repo_users_without_customer(struct db *db, struct arena *a, uint64_t after,
    size_t max, uint64_t **ids, size_t *n);

/* Counts live users without a customer (for progress and ETA). */
enum pb_err repo_users_count_without_customer(struct db *db, uint64_t *n);

#endif
