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
 * time it was created. *stored is true when this call stored it; false when the user
 * already had one (or is gone), in which case *out_id receives the one kept.
 */
enum pb_err repo_users_set_customer(struct db *db, struct arena *a, uint64_t id,
    const char *customer_id, bool *stored, const char **out_id);

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
