/* The users table for operator walks (see users_list.h). */
#include "config.h"

#include "repo/db.h"
#include "repo/users_list.h"
#include "util/arena.h"

static const char sql_count_live[] =
    "SELECT COUNT(*) FROM users WHERE deleted_at IS NULL";

enum pb_err
repo_users_count_live(struct db *db, uint64_t *n)
{
	struct arena a;
	struct db_result r;
	enum pb_err err;

	*n = 0;
	/* One number: a small private arena keeps the signature free of one. */
	arena_init(&a, (size_t)64 * 1024);
	err = db_query_one(db, &a, sql_count_live, DB_NOARGS, &r);
	if (err == PB_OK)
		*n = db_uint(&r, 0, 0);
	arena_cleanup(&a);
	return err;
}
