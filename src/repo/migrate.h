/*
 * Schema migrations: numbered SQL scripts with their reverse, embedded in the binary at
 * build time from sql/NNNN_name.up.sql and .down.sql (script/embed-sql), applied in
 * order and recorded in schema_migrations with the SHA-256 of their up script.
 *
 * Every operation takes the named lock 'paybridge_migrate' (GET_LOCK, 30 s) first, so two
 * migrators never run at once, and refuses to act when an applied migration's checksum
 * differs from the binary's copy or when the database has a version the binary does not
 * know (a newer paybridge migrated it). DDL commits on its own in MariaDB, so a migration
 * is not atomic: its row is written right after its script, and scripts are written to be
 * run again after a half-applied attempt (IF [NOT] EXISTS).
 */
#ifndef PB_REPO_MIGRATE_H
#define PB_REPO_MIGRATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "util/err.h"

struct arena;
struct db;

#define MIGRATE_SUM_LEN 65	/* 64 hex digits and the NUL */

struct migration {
	unsigned version;	/* > 0, strictly increasing in a set */
	const char *name;	/* "init" for sql/0001_init.up.sql */
	const char *up;
	size_t up_len;
	const char *down;
	size_t down_len;
};

/* The migrations built into this binary, in version order (generated file). */
extern const struct migration migrate_embedded[];
extern const size_t migrate_embedded_count;

enum migrate_state {
	MIGRATE_PENDING,	/* known to the binary, not applied */
	MIGRATE_APPLIED,	/* applied, checksum matches */
	MIGRATE_CHANGED,	/* applied, but the binary's up script differs */
	MIGRATE_UNKNOWN,	/* applied, not known to the binary (database is newer) */
	MIGRATE__MAX
};

struct migrate_status {
	unsigned version;
	const char *name;		/* from the binary, or as recorded for UNKNOWN */
	enum migrate_state state;
	char checksum[MIGRATE_SUM_LEN];	/* as recorded; "" when pending */
	int64_t applied_at_us;		/* 0 when pending */
};

/* Writes the SHA-256 of m's up script as hex into out. PB_OK or PB_ENOMEM. */
enum pb_err migrate_checksum(const struct migration *m, char out[MIGRATE_SUM_LEN]);

/*
 * Applies the pending migrations of set[0..n) with version <= target (0: all), oldest
 * first, printing one line per step (or that there was nothing to do) to out when not
 * NULL. Returns PB_OK, PB_ECONFLICT when refusing (changed checksum, newer database,
 * lock held elsewhere), PB_EDB; on failure writes one line into err.
 */
enum pb_err migrate_up(struct db *db, const struct migration *set, size_t n, unsigned target,
    FILE *out, char *err, size_t errlen);

/*
 * Reverts applied migrations newest first: all those with version > target, or only the
 * newest when one_step is true (target ignored). Errors as migrate_up.
 */
enum pb_err migrate_down(struct db *db, const struct migration *set, size_t n, bool one_step,
    unsigned target, FILE *out, char *err, size_t errlen);

/*
 * Describes every migration of set and every applied version into an array allocated in
 * a (valid until the arena is reset), in version order. Never refuses: status is how an
 * operator learns why up or down do. Returns PB_OK, PB_ENOMEM or PB_EDB.
 */
enum pb_err migrate_status(struct db *db, struct arena *a, const struct migration *set,
    size_t n, struct migrate_status **out, size_t *nout, char *err, size_t errlen);

#endif
