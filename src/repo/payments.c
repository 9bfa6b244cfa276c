#include "config.h"

#include <string.h>

#include "repo/db.h"
#include "repo/payments.h"
#include "util/arena.h"

/* How many rows a list asks for: one more than the page, to know whether more remain. */
#define PAGE_PROBE(limit) ((limit) + 1)

/* A Unix time in seconds as a DATETIME(6) parameter; 0 binds NULL. */
static struct db_arg
secs(int64_t s)
{
	return s > 0 ? DB_TIME(s * 1000000) : DB_NULL;
}

static struct db_arg
opt_id(uint64_t id)
{
	return id != 0 ? DB_UINT(id) : DB_NULL;
}

static enum pb_err
lock_row(struct db *db, struct arena *a, const char *sql, const char *stripe_id,
    struct row_state *out)
{
	struct db_result r;
	enum pb_err err;

	memset(out, 0, sizeof(*out));
	err = db_query(db, a, sql, DB_ARGS(DB_STR(stripe_id)), &r);
	if (err != PB_OK || r.nrows == 0)
		return err;
	out->found = true;
	out->status = db_str(&r, 0, 0);
	out->last_event_created = db_int(&r, 0, 1);
	out->user_id = db_uint(&r, 0, 2);
	out->guest_email = db_str(&r, 0, 3);
	return PB_OK;
}

enum pb_err
repo_pay_user_for(struct db *db, struct arena *a, const char *customer, uint64_t meta_user_id,
    uint64_t *user_id)
{
	struct db_result r;
	enum pb_err err;

	*user_id = 0;
	if (customer != NULL) {
		err = db_query(db, a, "SELECT id FROM users WHERE stripe_customer_id = ?",
		    DB_ARGS(DB_STR(customer)), &r);
		if (err != PB_OK)
			return err;
		if (r.nrows > 0) {
			*user_id = db_uint(&r, 0, 0);
			return PB_OK;
		}
	}
	if (meta_user_id == 0)
		return PB_ENOTFOUND;
	err = db_query(db, a, "SELECT id FROM users WHERE id = ?", DB_ARGS(DB_UINT(meta_user_id)),
	    &r);
	if (err != PB_OK)
		return err;
	if (r.nrows == 0)
		return PB_ENOTFOUND;
	*user_id = db_uint(&r, 0, 0);
	return PB_OK;
}

enum pb_err
repo_pi_lock(struct db *db, struct arena *a, const char *stripe_id, struct row_state *out)
{
	return lock_row(db, a,
	    "SELECT status, last_event_created, user_id, guest_email FROM payment_intents "
	    "WHERE stripe_id = ? FOR UPDATE", stripe_id, out);
}

enum pb_err
repo_pi_insert(struct db *db, const struct pi_row *p)
{
	return db_exec(db,
	    "INSERT INTO payment_intents (stripe_id, user_id, guest_email, product_id, quantity, "
	    "amount, currency, status, last_error_code, last_event_created, refreshed_at) "
	    "VALUES (?, ?, ?, (SELECT id FROM products WHERE id = ?), ?, ?, ?, ?, ?, ?, NOW(6))",
	    DB_ARGS(DB_STR(p->stripe_id), opt_id(p->user_id), DB_STR(p->guest_email),
		opt_id(p->product_id),
		DB_UINT(p->quantity), DB_INT(p->amount), DB_STR(p->currency), DB_STR(p->status),
		DB_STR(p->last_error_code), DB_INT(p->event_created)),
	    NULL, NULL);
}

enum pb_err
repo_pi_update(struct db *db, const struct pi_row *p)
{
	return db_exec(db,
	    "UPDATE payment_intents SET status = ?, last_error_code = ?, amount = ?, "
	    "last_event_created = ?, refreshed_at = NOW(6) WHERE stripe_id = ?",
	    DB_ARGS(DB_STR(p->status), DB_STR(p->last_error_code), DB_INT(p->amount),
		DB_INT(p->event_created), DB_STR(p->stripe_id)),
	    NULL, NULL);
}

enum pb_err
repo_pi_update_newer(struct db *db, const struct pi_row *p, const char *terminal,
    bool *applied)
{
	uint64_t n = 0;
	enum pb_err err;

	*applied = false;
	err = db_exec(db,
	    "UPDATE payment_intents SET status = ?, last_error_code = ?, amount = ?, "
	    "last_event_created = ?, refreshed_at = NOW(6) "
	    "WHERE stripe_id = ? AND last_event_created < ? AND FIND_IN_SET(status, ?) = 0",
	    DB_ARGS(DB_STR(p->status), DB_STR(p->last_error_code), DB_INT(p->amount),
		DB_INT(p->event_created), DB_STR(p->stripe_id), DB_INT(p->event_created),
		DB_STR(terminal)),
	    &n, NULL);
	*applied = err == PB_OK && n > 0;
	return err;
}

enum pb_err
repo_pi_record(struct db *db, const struct pi_row *p, const char *client_secret)
{
	/* last_event_created stays 0: every event about the intent is newer than this. */
	return db_exec(db,
	    "INSERT INTO payment_intents (stripe_id, user_id, guest_email, product_id, quantity, "
	    "amount, currency, status, client_secret, refreshed_at) "
	    "VALUES (?, ?, LOWER(TRIM(?)), (SELECT id FROM products WHERE id = ?), ?, ?, ?, ?, ?, "
	    "NOW(6)) "
	    "ON DUPLICATE KEY UPDATE client_secret = COALESCE(client_secret, VALUES(client_secret)), "
	    "product_id = COALESCE(product_id, VALUES(product_id)), "
	    "quantity = IF(product_id <=> VALUES(product_id), VALUES(quantity), quantity)",
	    DB_ARGS(DB_STR(p->stripe_id), opt_id(p->user_id), DB_STR(p->guest_email),
		opt_id(p->product_id), DB_UINT(p->quantity), DB_INT(p->amount),
		DB_STR(p->currency), DB_STR(p->status), DB_STR(client_secret)),
	    NULL, NULL);
}

#define PI_COLUMNS \
	"id, stripe_id, user_id, product_id, quantity, amount, currency, status, " \
	"client_secret, last_error_code, refreshed_at, created_at"

typedef void (*read_row_fn)(const struct db_result *r, size_t row, void *item);

/*
 * The one row sql finds for key, when user_id owns it (user_id 0: anyone's), read by read
 * into out (size bytes, zeroed first). sql takes the key, then the user id twice.
 */
static enum pb_err
get_owned(struct db *db, struct arena *a, const char *sql, struct db_arg key, uint64_t user_id,
    read_row_fn read, void *out, size_t size)
{
	struct db_result r;
	enum pb_err err;

	memset(out, 0, size);
	err = db_query_one(db, a, sql, DB_ARGS(key, DB_UINT(user_id), DB_UINT(user_id)), &r);
	if (err == PB_OK)
		read(&r, 0, out);
	return err;
}

static void
read_pi(const struct db_result *r, size_t row, void *item)
{
	struct pi_view *v = item;

	v->row_id = db_uint(r, row, 0);
	v->stripe_id = db_str(r, row, 1);
	v->user_id = db_uint(r, row, 2);
	v->product_id = db_uint(r, row, 3);
	v->quantity = (uint32_t)db_uint(r, row, 4);
	v->amount = db_int(r, row, 5);
	v->currency = db_str(r, row, 6);
	v->status = db_str(r, row, 7);
	v->client_secret = db_str(r, row, 8);
	v->last_error_code = db_str(r, row, 9);
	v->refreshed_at = db_time(r, row, 10);
	v->created_at = db_time(r, row, 11);
}

enum pb_err
repo_pi_get(struct db *db, struct arena *a, const char *stripe_id, uint64_t user_id,
    struct pi_view *out)
{
	return get_owned(db, a,
	    "SELECT " PI_COLUMNS " FROM payment_intents WHERE stripe_id = ? AND (? = 0 OR user_id = ?)",
	    DB_STR(stripe_id), user_id, read_pi, out, sizeof(*out));
}

/*
 * The page in r (queried with PAGE_PROBE(limit)): its length in *n, whether more rows
 * remain in *more, and room for *n items of size bytes (NULL when *n is 0, or out of
 * memory).
 */
static void *
page(struct arena *a, const struct db_result *r, size_t limit, size_t size, size_t *n,
    bool *more)
{
	*more = r->nrows > limit;
	*n = *more ? limit : r->nrows;
	return *n > 0 ? arena_calloc(a, *n, size) : NULL;
}

/* The row id a list continues after: that of a row of user_id, or PB_ENOTFOUND. */
static enum pb_err
cursor_row(struct db *db, struct arena *a, const char *sql, struct db_arg key,
    uint64_t user_id, uint64_t *row_id)
{
	struct db_result r;
	enum pb_err err;

	err = db_query_one(db, a, sql, DB_ARGS(key, DB_UINT(user_id)), &r);
	if (err == PB_OK)
		*row_id = db_uint(&r, 0, 0);
	return err;
}

/* Reads row row of r into item. */
/*
 * One page of user_id's rows, newest first: after the row cursor_sql finds for key (when
 * has_key; one that is not user_id's is PB_ENOTFOUND), at most limit of those list_sql
 * gives (bound to the user, the cursor's row id and the probe), each read by read into
 * *items (size bytes each, in the arena).
 */
static enum pb_err
list_page(struct db *db, struct arena *a, const char *cursor_sql, bool has_key,
    struct db_arg key, const char *list_sql, uint64_t user_id, size_t limit, size_t size,
    read_row_fn read, void **items, size_t *n, bool *more)
{
	uint64_t after = UINT64_MAX;
	struct db_result r;
	enum pb_err err;

	if (has_key) {
		err = cursor_row(db, a, cursor_sql, key, user_id, &after);
		if (err != PB_OK)
			return err;
	}
	err = db_query(db, a, list_sql,
	    DB_ARGS(DB_UINT(user_id), DB_UINT(after), DB_UINT(PAGE_PROBE(limit))), &r);
	if (err != PB_OK)
		return err;
	*items = page(a, &r, limit, size, n, more);
	if (*n > 0 && *items == NULL)
		return PB_ENOMEM;
	for (size_t i = 0; i < *n; i++)
		read(&r, i, (char *)*items + i * size);
	return PB_OK;
}

enum pb_err
repo_pi_list(struct db *db, struct arena *a, uint64_t user_id, const char *starting_after,
    size_t limit, struct pi_view **items, size_t *n, bool *more)
{
	void *page_items = NULL;
	enum pb_err err;

	err = list_page(db, a,
	    "SELECT id FROM payment_intents WHERE stripe_id = ? AND user_id = ?",
	    starting_after != NULL, DB_STR(starting_after),
	    "SELECT " PI_COLUMNS " FROM payment_intents WHERE user_id = ? AND id < ? "
	    "ORDER BY id DESC LIMIT ?", user_id, limit, sizeof(**items), read_pi,
	    &page_items, n, more);
	*items = page_items;
	return err;
}

enum pb_err
repo_pi_touch(struct db *db, const char *stripe_id)
{
	return db_exec(db, "UPDATE payment_intents SET refreshed_at = NOW(6) WHERE stripe_id = ?",
	    DB_ARGS(DB_STR(stripe_id)), NULL, NULL);
}

enum pb_err
repo_session_lock(struct db *db, struct arena *a, const char *stripe_id, struct row_state *out)
{
	return lock_row(db, a,
	    "SELECT status, last_event_created, user_id FROM checkout_sessions "
	    "WHERE stripe_id = ? FOR UPDATE", stripe_id, out);
}

enum pb_err
repo_session_insert(struct db *db, const struct session_row *s)
{
	return db_exec(db,
	    "INSERT INTO checkout_sessions (stripe_id, user_id, product_id, quantity, mode, "
	    "status, payment_status, amount_total, currency, url, stripe_payment_intent_id, "
	    "stripe_subscription_id, expires_at, last_event_created) "
	    "VALUES (?, ?, (SELECT id FROM products WHERE id = ?), ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
	    DB_ARGS(DB_STR(s->stripe_id), DB_UINT(s->user_id), opt_id(s->product_id),
		DB_UINT(s->quantity), DB_STR(s->mode), DB_STR(s->status),
		DB_STR(s->payment_status), s->has_amount ? DB_INT(s->amount_total) : DB_NULL,
		DB_STR(s->currency), DB_STR(s->url), DB_STR(s->payment_intent),
		DB_STR(s->subscription), secs(s->expires_at), DB_INT(s->event_created)),
	    NULL, NULL);
}

enum pb_err
repo_session_update(struct db *db, const struct session_row *s)
{
	/* Ids Stripe adds on completion are kept once known; the URL goes when Stripe drops it. */
	return db_exec(db,
	    "UPDATE checkout_sessions SET status = ?, payment_status = ?, "
	    "amount_total = COALESCE(?, amount_total), currency = COALESCE(?, currency), url = ?, "
	    "stripe_payment_intent_id = COALESCE(?, stripe_payment_intent_id), "
	    "stripe_subscription_id = COALESCE(?, stripe_subscription_id), "
	    "expires_at = COALESCE(?, expires_at), last_event_created = ? WHERE stripe_id = ?",
	    DB_ARGS(DB_STR(s->status), DB_STR(s->payment_status),
		s->has_amount ? DB_INT(s->amount_total) : DB_NULL, DB_STR(s->currency),
		DB_STR(s->url), DB_STR(s->payment_intent), DB_STR(s->subscription),
		secs(s->expires_at), DB_INT(s->event_created), DB_STR(s->stripe_id)),
	    NULL, NULL);
}

enum pb_err
repo_orders_insert(struct db *db, const struct order_row *o)
{
	/*
	 * The refund recorded before the order (repo_refunds_record) is applied in the same
	 * statement, as repo_orders_refund would. INSERT ... SELECT reads payment_refunds
	 * with locks: a charge.refunded running meanwhile either commits first and is read
	 * here, or waits for this transaction and then finds the order. The owner is the
	 * intent row's when the caller did not look it up (owner_from_intent).
	 */
	return db_exec(db,
	    "INSERT INTO orders (user_id, guest_email, product_id, quantity, amount, "
	    "amount_refunded, currency, stripe_payment_intent_id, stripe_checkout_session_id, "
	    "status, last_event_created) "
	    "SELECT IF(?, pi.user_id, ?), IF(?, pi.guest_email, ?), "
	    "(SELECT id FROM products WHERE id = ?), ?, ?, "
	    "LEAST(?, COALESCE(r.amount_refunded, 0)), ?, ?, ?, "
	    "CASE WHEN ? = 0 OR COALESCE(r.amount_refunded, 0) = 0 THEN 'paid' "
	    "WHEN r.amount_refunded >= ? THEN 'refunded' ELSE 'partially_refunded' END, "
	    "GREATEST(?, COALESCE(r.last_event_created, 0)) "
	    "FROM (SELECT 1) one "
	    "LEFT JOIN payment_intents pi ON ? AND pi.stripe_id = ? "
	    "LEFT JOIN payment_refunds r ON r.stripe_payment_intent_id = ?",
	    DB_ARGS(DB_BOOL(o->owner_from_intent), opt_id(o->user_id),
		DB_BOOL(o->owner_from_intent), DB_STR(o->guest_email), opt_id(o->product_id),
		DB_UINT(o->quantity), DB_INT(o->amount), DB_INT(o->amount),
		DB_STR(o->currency), DB_STR(o->payment_intent), DB_STR(o->checkout_session),
		DB_INT(o->amount), DB_INT(o->amount), DB_INT(o->event_created),
		DB_BOOL(o->owner_from_intent), DB_STR(o->payment_intent),
		DB_STR(o->payment_intent)),
	    NULL, NULL);
}

#define ORDER_COLUMNS \
	"o.id, o.user_id, o.product_id, p.name, o.quantity, o.amount, o.amount_refunded, " \
	"o.currency, o.status, o.stripe_payment_intent_id, o.stripe_checkout_session_id, " \
	"o.created_at FROM orders o LEFT JOIN products p ON p.id = o.product_id"

static void
read_order(const struct db_result *r, size_t row, void *item)
{
	struct order_view *v = item;

	v->id = db_uint(r, row, 0);
	v->user_id = db_uint(r, row, 1);
	v->product_id = db_uint(r, row, 2);
	v->product_name = db_str(r, row, 3);
	v->quantity = (uint32_t)db_uint(r, row, 4);
	v->amount = db_int(r, row, 5);
	v->amount_refunded = db_int(r, row, 6);
	v->currency = db_str(r, row, 7);
	v->status = db_str(r, row, 8);
	v->payment_intent = db_str(r, row, 9);
	v->checkout_session = db_str(r, row, 10);
	v->created_at = db_time(r, row, 11);
}

enum pb_err
repo_orders_get(struct db *db, struct arena *a, uint64_t id, uint64_t user_id,
    struct order_view *out)
{
	return get_owned(db, a, "SELECT " ORDER_COLUMNS " WHERE o.id = ? AND (? = 0 OR o.user_id = ?)",
	    DB_UINT(id), user_id, read_order, out, sizeof(*out));
}

enum pb_err
repo_orders_for_intent(struct db *db, struct arena *a, const char *payment_intent,
    struct order_view *out)
{
	struct db_result r;
	enum pb_err err;

	memset(out, 0, sizeof(*out));
	err = db_query_one(db, a, "SELECT " ORDER_COLUMNS " WHERE o.stripe_payment_intent_id = ?",
	    DB_ARGS(DB_STR(payment_intent)), &r);
	if (err == PB_OK)
		read_order(&r, 0, out);
	return err;
}

enum pb_err
repo_orders_list(struct db *db, struct arena *a, uint64_t user_id, uint64_t starting_after,
    size_t limit, struct order_view **items, size_t *n, bool *more)
{
	void *page_items = NULL;
	enum pb_err err;

	err = list_page(db, a, "SELECT id FROM orders WHERE id = ? AND user_id = ?",
	    starting_after != 0, DB_UINT(starting_after),
	    "SELECT " ORDER_COLUMNS " WHERE o.user_id = ? AND o.id < ? ORDER BY o.id DESC LIMIT ?",
	    user_id, limit, sizeof(**items), read_order, &page_items, n, more);
	*items = page_items;
	return err;
}

enum pb_err
repo_pay_adopt_guest(struct db *db, uint64_t user_id, const char *email, uint64_t *n)
{
	uint64_t intents = 0, orders = 0;
	enum pb_err err;

	err = db_exec(db,
	    "UPDATE payment_intents SET user_id = ? WHERE guest_email = LOWER(TRIM(?)) AND "
	    "user_id IS NULL", DB_ARGS(DB_UINT(user_id), DB_STR(email)), &intents, NULL);
	if (err == PB_OK)
		err = db_exec(db,
		    "UPDATE orders SET user_id = ? WHERE guest_email = LOWER(TRIM(?)) AND "
		    "user_id IS NULL", DB_ARGS(DB_UINT(user_id), DB_STR(email)), &orders, NULL);
	*n = intents + orders;
	return err;
}

enum pb_err
repo_orders_set_session(struct db *db, const char *payment_intent, const char *session,
    uint64_t product_id)
{
	return db_exec(db,
	    "UPDATE orders SET stripe_checkout_session_id = COALESCE(stripe_checkout_session_id, ?), "
	    "product_id = COALESCE(product_id, (SELECT id FROM products WHERE id = ?)) "
	    "WHERE stripe_payment_intent_id = ?",
	    DB_ARGS(DB_STR(session), opt_id(product_id), DB_STR(payment_intent)), NULL, NULL);
}

enum pb_err
repo_orders_refund(struct db *db, const char *payment_intent, int64_t amount_refunded,
    int64_t event_created)
{
	/* Assignments run left to right: status sees the new amount_refunded. */
	return db_exec(db,
	    "UPDATE orders SET amount_refunded = LEAST(amount, GREATEST(amount_refunded, ?)), "
	    "status = CASE WHEN amount_refunded = 0 THEN 'paid' "
	    "WHEN amount_refunded >= amount THEN 'refunded' ELSE 'partially_refunded' END, "
	    "last_event_created = GREATEST(last_event_created, ?) "
	    "WHERE stripe_payment_intent_id = ?",
	    DB_ARGS(DB_INT(amount_refunded), DB_INT(event_created), DB_STR(payment_intent)),
	    NULL, NULL);
}

enum pb_err
repo_refunds_record(struct db *db, const char *payment_intent, const char *charge,
    int64_t amount_refunded, int64_t event_created)
{
	return db_exec(db,
	    "INSERT INTO payment_refunds (stripe_payment_intent_id, stripe_charge_id, "
	    "amount_refunded, last_event_created) VALUES (?, ?, ?, ?) "
	    "ON DUPLICATE KEY UPDATE "
	    "amount_refunded = GREATEST(amount_refunded, VALUES(amount_refunded)), "
	    "stripe_charge_id = COALESCE(stripe_charge_id, VALUES(stripe_charge_id)), "
	    "last_event_created = GREATEST(last_event_created, VALUES(last_event_created))",
	    DB_ARGS(DB_STR(payment_intent), DB_STR(charge), DB_INT(amount_refunded),
		DB_INT(event_created)),
	    NULL, NULL);
}

enum pb_err
repo_refunds_get(struct db *db, struct arena *a, const char *payment_intent,
    int64_t *amount_refunded, int64_t *event_created)
{
	struct db_result r;
	enum pb_err err;

	err = db_query_one(db, a,
	    "SELECT amount_refunded, last_event_created FROM payment_refunds "
	    "WHERE stripe_payment_intent_id = ?", DB_ARGS(DB_STR(payment_intent)), &r);
	if (err != PB_OK)
		return err;
	*amount_refunded = db_int(&r, 0, 0);
	*event_created = db_int(&r, 0, 1);
	return PB_OK;
}

enum pb_err
repo_subs_lock(struct db *db, struct arena *a, const char *stripe_id, struct row_state *out)
{
	return lock_row(db, a,
	    "SELECT status, last_event_created, user_id FROM subscriptions WHERE stripe_id = ? "
	    "FOR UPDATE",
	    stripe_id, out);
}

enum pb_err
repo_subs_insert(struct db *db, const struct subscription_row *s)
{
	return db_exec(db,
	    "INSERT INTO subscriptions (stripe_id, user_id, product_id, stripe_price_id, quantity, "
	    "status, current_period_start, current_period_end, cancel_at_period_end, canceled_at, "
	    "ended_at, last_event_created) VALUES (?, ?, COALESCE("
	    "(SELECT id FROM products WHERE id = ?), "
	    "(SELECT id FROM products WHERE stripe_price_id = ? OR stripe_product_id = ? "
	    "ORDER BY stripe_price_id = ? DESC LIMIT 1)), ?, ?, ?, ?, ?, ?, ?, ?, ?)",
	    DB_ARGS(DB_STR(s->stripe_id), DB_UINT(s->user_id), opt_id(s->product_id),
		DB_STR(s->price), DB_STR(s->product), DB_STR(s->price), DB_STR(s->price),
		DB_UINT(s->quantity),
		DB_STR(s->status), secs(s->period_start), secs(s->period_end),
		DB_BOOL(s->cancel_at_period_end), secs(s->canceled_at), secs(s->ended_at),
		DB_INT(s->event_created)),
	    NULL, NULL);
}

enum pb_err
repo_subs_update(struct db *db, const struct subscription_row *s)
{
	return db_exec(db,
	    "UPDATE subscriptions SET status = ?, quantity = ?, "
	    "stripe_price_id = IF(? = '', stripe_price_id, ?), "
	    "current_period_start = COALESCE(?, current_period_start), "
	    "current_period_end = COALESCE(?, current_period_end), cancel_at_period_end = ?, "
	    "canceled_at = ?, ended_at = ?, last_event_created = ? WHERE stripe_id = ?",
	    DB_ARGS(DB_STR(s->status), DB_UINT(s->quantity), DB_STR(s->price), DB_STR(s->price),
		secs(s->period_start), secs(s->period_end), DB_BOOL(s->cancel_at_period_end),
		secs(s->canceled_at), secs(s->ended_at), DB_INT(s->event_created),
		DB_STR(s->stripe_id)),
	    NULL, NULL);
}

#define SUB_COLUMNS \
	"s.id, s.stripe_id, s.user_id, s.product_id, p.name, s.quantity, s.status, " \
	"s.current_period_start, s.current_period_end, s.cancel_at_period_end, s.canceled_at, " \
	"s.ended_at, s.latest_invoice_status, s.created_at " \
	"FROM subscriptions s LEFT JOIN products p ON p.id = s.product_id"

static void
read_sub(const struct db_result *r, size_t row, void *item)
{
	struct sub_view *v = item;

	v->row_id = db_uint(r, row, 0);
	v->stripe_id = db_str(r, row, 1);
	v->user_id = db_uint(r, row, 2);
	v->product_id = db_uint(r, row, 3);
	v->product_name = db_str(r, row, 4);
	v->quantity = (uint32_t)db_uint(r, row, 5);
	v->status = db_str(r, row, 6);
	v->period_start = db_time(r, row, 7);
	v->period_end = db_time(r, row, 8);
	v->cancel_at_period_end = db_int(r, row, 9) != 0;
	v->canceled_at = db_time(r, row, 10);
	v->ended_at = db_time(r, row, 11);
	v->latest_invoice_status = db_str(r, row, 12);
	v->created_at = db_time(r, row, 13);
}

enum pb_err
repo_subs_get(struct db *db, struct arena *a, const char *stripe_id, uint64_t user_id,
    struct sub_view *out)
{
	return get_owned(db, a,
	    "SELECT " SUB_COLUMNS " WHERE s.stripe_id = ? AND (? = 0 OR s.user_id = ?)",
	    DB_STR(stripe_id), user_id, read_sub, out, sizeof(*out));
}

enum pb_err
repo_subs_list(struct db *db, struct arena *a, uint64_t user_id, const char *starting_after,
    size_t limit, struct sub_view **items, size_t *n, bool *more)
{
	void *page_items = NULL;
	enum pb_err err;

	err = list_page(db, a, "SELECT id FROM subscriptions WHERE stripe_id = ? AND user_id = ?",
	    starting_after != NULL, DB_STR(starting_after),
	    "SELECT " SUB_COLUMNS " WHERE s.user_id = ? AND s.id < ? ORDER BY s.id DESC LIMIT ?",
	    user_id, limit, sizeof(**items), read_sub, &page_items, n, more);
	*items = page_items;
	return err;
}

enum pb_err
repo_subs_current(struct db *db, struct arena *a, uint64_t user_id, struct sub_view *out)
{
	struct db_result r;
	enum pb_err err;

	memset(out, 0, sizeof(*out));
	err = db_query(db, a,
	    "SELECT " SUB_COLUMNS " WHERE s.user_id = ? AND "
	    "s.status IN ('active', 'trialing', 'past_due') "
	    "ORDER BY FIELD(s.status, 'active', 'trialing', 'past_due'), s.id DESC LIMIT 1",
	    DB_ARGS(DB_UINT(user_id)), &r);
	if (err != PB_OK)
		return err;
	if (r.nrows == 0)
		return PB_ENOTFOUND;
	read_sub(&r, 0, out);
	return PB_OK;
}

enum pb_err
repo_subs_invoice(struct db *db, const char *subscription, const char *invoice,
    const char *status, int64_t event_created, bool *changed)
{
	uint64_t affected = 0;
	enum pb_err err;

	/* FIELD ranks the statuses for a tie: paid (2) over payment_failed (1) over none (0). */
	err = db_exec(db,
	    "UPDATE subscriptions SET latest_invoice_id = ?, latest_invoice_status = ?, "
	    "invoice_event_created = ? WHERE stripe_id = ? AND (invoice_event_created < ? OR "
	    "(invoice_event_created = ? AND FIELD(?, 'payment_failed', 'paid') > "
	    "FIELD(COALESCE(latest_invoice_status, ''), 'payment_failed', 'paid')))",
	    DB_ARGS(DB_STR(invoice), DB_STR(status), DB_INT(event_created), DB_STR(subscription),
		DB_INT(event_created), DB_INT(event_created), DB_STR(status)),
	    &affected, NULL);
	*changed = err == PB_OK && affected > 0;
	return err;
}
