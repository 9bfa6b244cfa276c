/*
 * The rows Stripe events change: payment_intents, checkout_sessions, orders,
 * payment_refunds and subscriptions. Each stateful row keeps last_event_created, the
 * `created` of the event that last changed it; whether an event may change a row is
 * decided by services/webhook_rules.h on what the *_lock functions read (SELECT ... FOR
 * UPDATE, so concurrent events for one object take turns). Inserts are plain: a
 * PB_ECONFLICT means another event created the row first.
 *
 * Product and user ids given here may name nothing: a product that does not exist is
 * stored as NULL (the foreign key would refuse it), and callers resolve users first.
 */
#ifndef PB_REPO_PAYMENTS_H
#define PB_REPO_PAYMENTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/err.h"

struct arena;
struct db;

/* What the lock functions read: found says whether the row exists. Strings in the arena. */
struct row_state {
	bool found;
	const char *status;
	int64_t last_event_created;
	uint64_t user_id;		/* 0 for a guest's row */
	const char *guest_email;	/* a guest's row: whose it is; else NULL */
};

/*
 * The user an event's object belongs to: the one whose stripe_customer_id is customer
 * (when not NULL), else user meta_user_id (when not 0 and it exists). PB_ENOTFOUND when
 * neither names a user.
 */
enum pb_err repo_pay_user_for(struct db *db, struct arena *a, const char *customer,
    uint64_t meta_user_id, uint64_t *user_id);

/* user_id 0 with guest_email set: a guest's (migration 0005). */
struct pi_row {
	const char *stripe_id;
	uint64_t user_id;
	const char *guest_email;	/* NULL for a user's; stored trimmed, lower case */
	uint64_t product_id;		/* 0: none */
	uint32_t quantity;
	int64_t amount;
	const char *currency;
	const char *status;
	const char *last_error_code;	/* NULL when none */
	int64_t event_created;
};

enum pb_err repo_pi_lock(struct db *db, struct arena *a, const char *stripe_id,
    struct row_state *out);
enum pb_err repo_pi_insert(struct db *db, const struct pi_row *p);
/* Status, error code and amount of an existing row (user and product stay). */
enum pb_err repo_pi_update(struct db *db, const struct pi_row *p);
/*
 * repo_pi_update without the lock and look first, when it surely applies: the row exists,
 * its status is not in terminal (a FIND_IN_SET list) and its last event is older than
 * p's. *applied false otherwise, when nothing was written and the caller decides with the
 * row locked (repo_pi_lock): this is the common case of webhook_should_apply only.
 */
enum pb_err repo_pi_update_newer(struct db *db, const struct pi_row *p, const char *terminal,
    bool *applied);

/* A payment intent as its owner reads it. Strings in the arena; NULL when SQL NULL. */
struct pi_view {
	uint64_t row_id;
	const char *stripe_id;
	uint64_t user_id;
	uint64_t product_id;		/* 0: none */
	uint32_t quantity;
	int64_t amount;
	const char *currency;
	const char *status;
	const char *client_secret;
	const char *last_error_code;
	int64_t refreshed_at;		/* microseconds since the epoch; 0: never */
	int64_t created_at;
};

/*
 * Records an intent just created through the API (client_secret included) as belonging
 * to p->user_id (or to the guest p->guest_email, compared as users.c compares emails). A webhook may have stored it first: then only the secret, product and
 * quantity it lacks are filled in, and its state stays.
 */
enum pb_err repo_pi_record(struct db *db, const struct pi_row *p, const char *client_secret);

/* The intent stripe_id of user_id (0: of anyone). PB_ENOTFOUND when none. */
enum pb_err repo_pi_get(struct db *db, struct arena *a, const char *stripe_id,
    uint64_t user_id, struct pi_view *out);

/*
 * One page of user_id's intents, newest first: at most limit after the intent
 * starting_after (NULL: from the newest; one that is not the user's: PB_ENOTFOUND).
 * *items in the arena; *more says whether older ones remain.
 */
enum pb_err repo_pi_list(struct db *db, struct arena *a, uint64_t user_id,
    const char *starting_after, size_t limit, struct pi_view **items, size_t *n, bool *more);

/* Marks the intent as just brought up to date from Stripe (its state unchanged). */
enum pb_err repo_pi_touch(struct db *db, const char *stripe_id);

struct session_row {
	const char *stripe_id;
	uint64_t user_id;
	uint64_t product_id;		/* 0: none */
	uint32_t quantity;
	const char *mode;		/* payment, subscription, setup */
	const char *status;		/* open, complete, expired */
	const char *payment_status;
	bool has_amount;
	int64_t amount_total;
	const char *currency;		/* NULL when none */
	const char *url;		/* NULL when none */
	const char *payment_intent;	/* NULL when none */
	const char *subscription;	/* NULL when none */
	int64_t expires_at;		/* Unix seconds, 0 when none */
	int64_t event_created;
};

enum pb_err repo_session_lock(struct db *db, struct arena *a, const char *stripe_id,
    struct row_state *out);
enum pb_err repo_session_insert(struct db *db, const struct session_row *s);
enum pb_err repo_session_update(struct db *db, const struct session_row *s);

struct order_row {
	uint64_t user_id;		/* 0: a guest's, and guest_email says whose */
	const char *guest_email;
	uint64_t product_id;		/* 0: none */
	uint32_t quantity;
	int64_t amount;
	const char *currency;
	const char *payment_intent;
	const char *checkout_session;	/* NULL when none */
	int64_t event_created;
	bool owner_from_intent;		/* user_id and guest_email: the intent row's */
};

/*
 * Inserts the order of a payment intent, refunded as far as its recorded refund says;
 * PB_ECONFLICT when it has one already.
 */
enum pb_err repo_orders_insert(struct db *db, const struct order_row *o);

/*
 * Gives the guest intents and orders of email (as typed; compared trimmed and in lower
 * case) to user_id, who has just registered with it. *n: how many rows changed.
 */
enum pb_err repo_pay_adopt_guest(struct db *db, uint64_t user_id, const char *email,
    uint64_t *n);

/* An order as its owner reads it (product_name from the catalog, NULL when none). */
struct order_view {
	uint64_t id;
	uint64_t user_id;
	uint64_t product_id;		/* 0: none */
	const char *product_name;
	uint32_t quantity;
	int64_t amount;
	int64_t amount_refunded;
	const char *currency;
	const char *status;		/* paid, partially_refunded, refunded */
	const char *payment_intent;
	const char *checkout_session;	/* NULL when none */
	int64_t created_at;		/* microseconds since the epoch */
};

/* Order id of user_id (0: of anyone). PB_ENOTFOUND when none. */
enum pb_err repo_orders_get(struct db *db, struct arena *a, uint64_t id, uint64_t user_id,
    struct order_view *out);

/* The order of a payment intent. PB_ENOTFOUND when it has none (yet). */
enum pb_err repo_orders_for_intent(struct db *db, struct arena *a, const char *payment_intent,
    struct order_view *out);

/* One page of user_id's orders, newest first, after order starting_after (0: newest). */
enum pb_err repo_orders_list(struct db *db, struct arena *a, uint64_t user_id,
    uint64_t starting_after, size_t limit, struct order_view **items, size_t *n, bool *more);

/* Fills an existing order's missing checkout session (and product) from a session. */
enum pb_err repo_orders_set_session(struct db *db, const char *payment_intent,
    const char *session, uint64_t product_id);

/*
 * Raises the refunded amount of payment_intent's order to amount_refunded (never lowers
 * it, never past the order's amount) and sets its status from it: paid, partially_refunded
 * or refunded. No order: nothing happens.
 */
enum pb_err repo_orders_refund(struct db *db, const char *payment_intent,
    int64_t amount_refunded, int64_t event_created);

/* Records (raising, never lowering) the refunded amount of a payment intent's charge. */
enum pb_err repo_refunds_record(struct db *db, const char *payment_intent, const char *charge,
    int64_t amount_refunded, int64_t event_created);

/* The refunded amount recorded for payment_intent; PB_ENOTFOUND when none. */
enum pb_err repo_refunds_get(struct db *db, struct arena *a, const char *payment_intent,
    int64_t *amount_refunded, int64_t *event_created);

struct subscription_row {
	const char *stripe_id;
	uint64_t user_id;
	const char *price;		/* first item's price id ("" when none) */
	const char *product;		/* first item's Stripe product id, NULL when none */
	uint64_t product_id;		/* metadata[product_id] (ours), 0 when none */
	uint32_t quantity;
	const char *status;
	int64_t period_start;		/* Unix seconds, 0 when none */
	int64_t period_end;
	bool cancel_at_period_end;
	int64_t canceled_at;		/* 0 when none */
	int64_t ended_at;
	int64_t event_created;
};

enum pb_err repo_subs_lock(struct db *db, struct arena *a, const char *stripe_id,
    struct row_state *out);
enum pb_err repo_subs_insert(struct db *db, const struct subscription_row *s);
enum pb_err repo_subs_update(struct db *db, const struct subscription_row *s);

/* A subscription as its owner reads it. Strings in the arena; times in microseconds. */
struct sub_view {
	uint64_t row_id;
	const char *stripe_id;
	uint64_t user_id;
	uint64_t product_id;		/* 0: none */
	const char *product_name;	/* NULL when none */
	uint32_t quantity;
	const char *status;
	int64_t period_start;		/* 0 when none */
	int64_t period_end;
	bool cancel_at_period_end;
	int64_t canceled_at;
	int64_t ended_at;
	const char *latest_invoice_status;	/* paid, payment_failed; NULL before any */
	int64_t created_at;
};

/* Subscription stripe_id of user_id (0: of anyone). PB_ENOTFOUND when none. */
enum pb_err repo_subs_get(struct db *db, struct arena *a, const char *stripe_id,
    uint64_t user_id, struct sub_view *out);

/* One page of user_id's subscriptions, newest first, after starting_after (NULL: newest). */
enum pb_err repo_subs_list(struct db *db, struct arena *a, uint64_t user_id,
    const char *starting_after, size_t limit, struct sub_view **items, size_t *n, bool *more);

/*
 * user_id's current subscription: one that is active, else trialing, else past_due (the
 * newest of the first kind there is). PB_ENOTFOUND when none.
 */
enum pb_err repo_subs_current(struct db *db, struct arena *a, uint64_t user_id,
    struct sub_view *out);

/*
 * Records invoice (status "paid" or "payment_failed") as subscription's latest when it
 * is newer than the one recorded (a tie goes to "paid"). *changed says whether it was.
 */
enum pb_err repo_subs_invoice(struct db *db, const char *subscription, const char *invoice,
    const char *status, int64_t event_created, bool *changed);

#endif
