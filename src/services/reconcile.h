/*
 * Reconciliation (DESIGN §5, issue 8): what our users and Stripe's customers disagree
 * about, and the safe repairs. paybridgectl reconcile is the front end.
 *
 * The walk. Every live Stripe customer is listed page by page (GET /v1/customers, each
 * page one paced call) and kept in a reconcile_set: for each, only its id, the
 * metadata user_id, the name and the email, in one array sorted by user id with a
 * lookup by customer id. Then the live users are read from MariaDB in id pages and each
 * page is matched against the set; the customers no live user named or linked are the
 * orphans, reported last. A customer costs 64 bytes (its entry and its place in the
 * lookup; the array grows by doubling, so up to 56 more) plus one copy of its id, user
 * id, name and email in a string pool: 150 to 200 bytes for most, so a million
 * customers take 150 to 200 MB. A foreign customer keeps its id only. Users cost one
 * page at a time.
 *
 * Findings (the kind names are stable: scripts switch on them):
 *   missing_customer   a live user with no stripe_customer_id
 *   dangling_customer  a user's stripe_customer_id is not a live customer in Stripe
 *                      (deleted there, or unknown to this account)
 *   orphan             a live customer whose metadata user_id names no live user
 *                      (absent, or a closed account's tombstone)
 *   duplicate          a live customer whose metadata user_id names a live user that is
 *                      linked to another customer
 *   name_drift         the user's customer (or the one it will adopt) has another name
 *                      than the user row
 *   email_drift        ... another email (both compared byte for byte)
 * Customers without metadata user_id are not ours: counted (foreign), never reported
 * nor touched (a user linked to one has no drift). A customer some user links is never
 * an orphan or a duplicate.
 *
 * Repairs (reconcile_run with fix), each run at once at the paced rate:
 *   missing_customer   link a live customer whose metadata names the user (adopt,
 *                      customers_link), else customers_get_or_create (source backfill)
 *   dangling_customer  profile_forget_customer, then as missing_customer
 *   name/email_drift   profile_push_now: our values win
 *   orphan, duplicate  deleted in Stripe, only with delete_orphans, after checking
 *                      again that no live user links it or (orphan) is named by it
 * A repair that failed in Stripe leaves its job queued for the jobs worker.
 *
 * The matching (reconcile_set_*, reconcile_match_*) is pure, for unit tests;
 * reconcile_run does the I/O.
 */
#ifndef PB_SERVICES_RECONCILE_H
#define PB_SERVICES_RECONCILE_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/err.h"

struct app;
struct user;

enum reconcile_kind {
	RECONCILE_MISSING_CUSTOMER,
	RECONCILE_DANGLING_CUSTOMER,
	RECONCILE_ORPHAN,
	RECONCILE_DUPLICATE,
	RECONCILE_NAME_DRIFT,
	RECONCILE_EMAIL_DRIFT,
	RECONCILE__MAX
};

/* "missing_customer", ...; "unknown" out of range. Static. */
const char *reconcile_kind_name(enum reconcile_kind kind);

/* What became of a finding's repair. */
enum reconcile_fix {
	RECONCILE_FIX_NONE,	/* not tried: no --fix, or a deletion without delete_orphans */
	RECONCILE_FIX_DONE,	/* repaired, or found already repaired when tried */
	RECONCILE_FIX_FAILED,	/* tried and failed (fix_err), or left alone (fix_note) */
};

/*
 * One finding. Every string is borrowed for the duration of the callback it is given
 * to: from the set, from the users page, or static.
 */
struct reconcile_finding {
	enum reconcile_kind kind;
	uint64_t user_id;	/* 0: an orphan whose metadata user_id is not a user id */
	const char *customer;	/* the customer at fault; NULL for missing_customer */
	const char *adopt;	/* missing, dangling: a live customer naming the user, NULL: none */
	const char *ours;	/* drift: our value; duplicate: the user's customer (or the one to adopt) */
	const char *stripe;	/* drift: Stripe's value (NULL: none); orphan: metadata user_id;
				 * dangling: "deleted" or "unknown" once reconcile_run checked */
	enum reconcile_fix fix;
	enum pb_err fix_err;	/* FIX_FAILED: why; PB_OK when fix_note says it */
	const char *fix_note;	/* static, NULL: what was done or why it was left alone */
};

/* ---- the pure part ------------------------------------------------------------- */

struct reconcile_customer {
	const char *id;
	const char *user_id_text;	/* metadata user_id as Stripe has it */
	uint64_t user_id;		/* 0 when user_id_text is not a user id */
	const char *name;		/* NULL when Stripe has none */
	const char *email;
	int64_t created;
	bool linked;			/* a live user's stripe_customer_id (set by matching) */
	bool named;			/* a live user's, by its metadata (set by matching) */
	bool foreign;			/* no metadata user_id: kept by id only */
	bool repeat;			/* listed twice: this copy is ignored */
};

struct reconcile_chunk;

/* The live customers of one walk. Zeroed by _init; add, then seal, then match. */
struct reconcile_set {
	struct reconcile_customer *v;	/* n, sorted by user id then created once sealed */
	size_t n, cap;
	struct reconcile_customer **by_id;	/* n, sorted by id once sealed */
	struct reconcile_chunk *pool;	/* the strings */
	uint64_t foreign;		/* customers without metadata user_id (kept by id only) */
	bool sealed;
};

void reconcile_set_init(struct reconcile_set *s);
/* Frees everything the set holds. Safe twice. */
void reconcile_set_cleanup(struct reconcile_set *s);

/*
 * Keeps a copy of one live customer: id, metadata user_id, name and email (NULL: none).
 * Without a user id (NULL or "") it is foreign: counted and kept by id only, so that a
 * user linked to it is not taken for dangling. PB_EINVAL after seal or for an empty id;
 * PB_ENOMEM.
 */
enum pb_err reconcile_set_add(struct reconcile_set *s, const char *id, const char *user_id,
    const char *name, const char *email, int64_t created);

/* Sorts the set for matching; a customer listed twice keeps its first copy. PB_ENOMEM. */
enum pb_err reconcile_set_seal(struct reconcile_set *s);

/* The customer of that id in a sealed set, NULL when absent. */
struct reconcile_customer *reconcile_set_find(const struct reconcile_set *s, const char *id);

/* Parses a metadata user_id: canonical decimal (no sign, no leading zero), 1 or more. */
bool reconcile_parse_user_id(const char *s, uint64_t *out);

/*
 * Called for each finding, in the order found; a non-PB_OK return stops the matching
 * and is returned by it. f may be changed (the run fills in fix and stripe).
 */
typedef enum pb_err (*reconcile_emit_fn)(void *arg, struct reconcile_finding *f);

/*
 * Matches users[0..n), live users in id order (deleted ones are skipped), against the
 * sealed set, emitting per user: missing or dangling (with a customer to adopt: the
 * oldest live one naming the user that no user links), then name and email drift
 * against the customer it keeps, then the duplicates that name the user. Marks what
 * they link or name. Call it for every page, then reconcile_match_orphans.
 */
enum pb_err reconcile_match_users(struct reconcile_set *s, const struct user *users, size_t n,
    reconcile_emit_fn emit, void *arg);

/* Emits an orphan for every customer of ours that no user matched links or names. */
enum pb_err reconcile_match_orphans(struct reconcile_set *s, reconcile_emit_fn emit,
    void *arg);

/* ---- the walk ------------------------------------------------------------------ */

enum reconcile_phase {
	RECONCILE_LISTING,		/* Stripe's customers, page by page */
	RECONCILE_MATCHING,		/* our users, page by page, and the repairs */
	RECONCILE_DONE,
};

enum reconcile_stop {
	RECONCILE_COMPLETE,		/* walked everything */
	RECONCILE_STOP_SIGNAL,		/* *stop became non-zero */
	RECONCILE_STOP_FAILURES,	/* RECONCILE_FAILURES_IN_A_ROW repairs failed in a row */
	RECONCILE_STOP_ERROR,		/* listing customers or reading users failed */
};

#define RECONCILE_FAILURES_IN_A_ROW 20
#define RECONCILE_PAGE 100		/* customers per Stripe list call (Stripe's most) */
#define RECONCILE_USER_PAGE 500		/* users per query */

struct reconcile_stats {
	enum reconcile_phase phase;
	enum reconcile_stop stop;
	const char *failed_step;	/* static, STOP_ERROR: what failed */
	uint64_t pages;			/* Stripe list calls */
	uint64_t customers;		/* live customers listed (foreign ones included) */
	uint64_t foreign;		/* of those, not ours */
	uint64_t users;			/* live users matched */
	uint64_t users_total;		/* live users when the matching began */
	uint64_t found[RECONCILE__MAX];
	uint64_t fixed;			/* findings repaired */
	uint64_t failed;		/* repairs that failed or were left alone */
	unsigned streak;		/* repairs failed in a row */
};

struct reconcile_opts {
	bool fix;			/* run the safe repairs */
	bool delete_orphans;		/* with fix: delete orphans and duplicates too */
	long long rate;			/* Stripe calls a second at most; 0: no limit */
	int64_t budget_ms;		/* for each repair */
	const volatile sig_atomic_t *stop;	/* NULL, or ends the walk between steps */
	/* Called once for each finding, after its repair was tried (when it was). */
	void (*report)(void *arg, const struct reconcile_finding *f);
	/* NULL, or called after each page and each finding, for a progress line. */
	void (*progress)(void *arg, const struct reconcile_stats *st);
	/* NULL, or called before each Stripe call: what the call logs needs a line. */
	void (*calling)(void *arg);
	void *arg;
};

/*
 * Walks Stripe and the users as described above, reporting each finding; fills *st
 * (also on errors). PB_OK when the walk ended normally, or was stopped (st->stop);
 * otherwise the error of the step that failed (st->failed_step; stripe_last_error
 * says more after a Stripe failure). A dangling customer is confirmed with a retrieve
 * before it is reported: one created since the listing is no finding. Borrows app, o.
 */
enum pb_err reconcile_run(struct app *app, const struct reconcile_opts *o,
    struct reconcile_stats *st);

#endif
