/*
 * api_idempotency: the answers of our own POST endpoints, by the caller's
 * Idempotency-Key. A row is inserted before the work, with no answer (in flight), so a
 * concurrent repeat meets the UNIQUE key instead of doing the work a second time; the
 * answer is stored when the work is done.
 */
#ifndef PB_REPO_IDEMPOTENCY_H
#define PB_REPO_IDEMPOTENCY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/err.h"

struct arena;
struct db;

struct idem_row {
	uint64_t id;
	const char *request_hash;
	int status;			/* 0: in flight */
	const char *body;		/* NULL while in flight */
	size_t body_len;
	int64_t created_at;		/* microseconds since the epoch */
};

/* Inserts an in-flight row; PB_ECONFLICT when user_id has one with this key. */
enum pb_err repo_idem_insert(struct db *db, uint64_t user_id, const char *key,
    const char *request_hash, uint64_t *id);

/* The row of user_id and key. PB_ENOTFOUND when none. Strings in the arena. */
enum pb_err repo_idem_get(struct db *db, struct arena *a, uint64_t user_id, const char *key,
    struct idem_row *out);

/*
 * Restarts row id for request_hash, in flight from now, when it is still what the caller
 * read (created_at unchanged): an in-flight row whose worker died, or one past the keys'
 * lifetime. *taken says whether this caller got it.
 */
enum pb_err repo_idem_restart(struct db *db, uint64_t id, int64_t created_at,
    const char *request_hash, bool *taken);

/* Stores the answer of row id. */
enum pb_err repo_idem_complete(struct db *db, uint64_t id, int status, const char *body,
    size_t len);

/* Deletes row id: the work failed in a way a repeat should retry. */
enum pb_err repo_idem_delete(struct db *db, uint64_t id);

/* Deletes up to limit rows created before before_us; *deleted says how many. */
enum pb_err repo_idem_prune(struct db *db, int64_t before_us, uint64_t limit,
    uint64_t *deleted);

#endif
