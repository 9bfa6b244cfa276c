/*
 * The users table for operator walks over every user (paybridgectl reconcile), beside
 * repo_users_list in users.h: the count a progress line needs. Kept apart from users.c,
 * whose functions serve requests one user at a time.
 */
#ifndef PB_REPO_USERS_LIST_H
#define PB_REPO_USERS_LIST_H

#include <stdint.h>

#include "util/err.h"

struct db;

/* Counts live users (for progress). */
enum pb_err repo_users_count_live(struct db *db, uint64_t *n);


#endif
