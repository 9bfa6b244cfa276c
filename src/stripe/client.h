/*
 * paybridge's Stripe client: one opaque handle per process (made after fork), one CURL
 * easy handle inside it so the TLS connection to Stripe is reused across calls.
 *
 * Every call is synchronous and bounded by stripe_timeout_ms (retries included), or by
 * an earlier deadline set with stripe_set_deadline(). POSTs (and DELETEs) carry an
 * Idempotency-Key: the caller's when given, else a random UUIDv4; retries reuse it.
 * Retried: network errors, 409, 429 (honouring Retry-After), 5xx and any answer with
 * Stripe-Should-Retry: true; never an answer with Stripe-Should-Retry: false. See
 * docs/STRIPE.md.
 *
 * Results are plain structs whose string fields are borrowed from the parsed JSON the
 * struct owns (raw); free each with its _free function (safe on a zeroed struct and
 * twice). On failure the out struct is left zeroed and stripe_last_error() says why.
 */
#ifndef PB_STRIPE_CLIENT_H
#define PB_STRIPE_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>

#include "stripe/form.h"
#include "util/conf.h"
#include "util/err.h"

struct stripe;

/* ---- errors ------------------------------------------------------------------ */

/* What the last call ended with (also filled on success: status and request_id). */
struct stripe_error {
	enum pb_err err;	/* what the call returned */
	int status;		/* HTTP status of the last attempt; 0: no answer */
	bool timed_out;		/* the call's deadline passed */
	int attempts;		/* requests sent */
	int connects;		/* new connections opened (0: a kept-alive one was reused) */
	char type[40];		/* Stripe error type: card_error, invalid_request_error... */
	char code[80];		/* e.g. resource_missing, card_declined; "" when absent */
	char decline_code[80];	/* card_error only, e.g. insufficient_funds */
	char param[160];	/* the parameter at fault, e.g. metadata[user_id] */
	char message[1024];	/* Stripe's message, or what failed on the network */
	char request_id[80];	/* the Request-Id response header, "" when absent */
	/*
	 * A 2xx that Stripe replayed from an earlier request with the same Idempotency-Key
	 * (Idempotent-Replayed: true): it tells what happened then, not the object's state now.
	 */
	bool replayed;
};

/*
 * Fills e from an error answer: status, body[0..len) (Stripe's {"error":{...}}; any
 * other body leaves the Stripe fields empty) and request_id (NULL when the header was
 * absent). Long fields are truncated on a UTF-8 boundary. Returns the pb_err the error
 * maps to, which is also stored in e->err.
 */
enum pb_err stripe_error_parse(int status, const char *body, size_t len,
    const char *request_id, struct stripe_error *e);

/*
 * Maps e onto pb_err: no answer -> PB_ETIMEOUT when the deadline passed, else
 * PB_ESTRIPE; 429, 5xx, 401, 403 and api_error -> PB_ESTRIPE (Stripe or our key, never
 * the caller); idempotency_error and 409 -> PB_ECONFLICT; card_error -> PB_EFIELDS;
 * invalid_request_error: resource_missing or 404 -> PB_ENOTFOUND, an "..._unexpected_state"
 * or resource_already_exists code -> PB_ECONFLICT, with a param -> PB_EFIELDS, else
 * PB_EINVAL.
 */
enum pb_err stripe_error_map(const struct stripe_error *e);

/*
 * Returns a message that may be shown to the end user: Stripe's own message for a
 * card_error (Stripe writes those for customers), else pb_strerror() of the mapped
 * error. Borrowed from e or static.
 */
const char *stripe_error_public_message(const struct stripe_error *e);

/* ---- the client ---------------------------------------------------------------- */

/*
 * Makes a client from conf (stripe_api_base, stripe_secret_key, stripe_api_version,
 * stripe_connect_timeout_ms, stripe_timeout_ms, stripe_max_retries, stripe_ca_file;
 * copied). Initialises libcurl: call it in each process after fork(). A missing secret
 * key is allowed here (every call then fails with PB_ECONFIG) so a worker can still serve
 * what does not need Stripe. Returns PB_OK, PB_ENOMEM or PB_ECONFIG (bad base URL).
 */
enum pb_err stripe_new(const struct conf *conf, struct stripe **out);

/* Frees the client and wipes its key. NULL is fine. */
void stripe_free(struct stripe *s);

/*
 * Bounds the following calls by deadline_us on the monotonic clock (time_mono_us()) as
 * well as by stripe_timeout_ms; 0 removes the bound. Used to run a job inline within a
 * short budget.
 */
void stripe_set_deadline(struct stripe *s, int64_t deadline_us);

/* Returns what the last call ended with. Borrowed; valid until the next call. */
const struct stripe_error *stripe_last_error(const struct stripe *s);

/*
 * The raw call the typed ones are built on. method is "GET", "POST" or "DELETE"; path
 * starts with /v1/ and has its ids escaped (stripe_path()); form is sent as the body of
 * a POST or as the query of a GET or DELETE (NULL: none); idempotency_key (NULL: a new
 * UUIDv4) is sent with POST and DELETE. On PB_OK *out is the parsed answer (a new
 * reference, put it).
 */
enum pb_err stripe_request(struct stripe *s, const char *method, const char *path,
    const struct stripe_form *form, const char *idempotency_key, struct json_object **out);

/*
 * Whether id has the shape of a Stripe object id as a client may send one: 1 to
 * STRIPE_ID_MAX letters, digits and underscores. Checked before Stripe is asked.
 */
#define STRIPE_ID_MAX 255
bool stripe_id_valid(const char *id);

/*
 * Writes prefix, id percent-encoded and suffix (may be NULL) into out. PB_EINVAL when
 * id is empty, PB_ETOOBIG when it does not fit.
 */
enum pb_err stripe_path(char *out, size_t outlen, const char *prefix, const char *id,
    const char *suffix);

/* ---- objects --------------------------------------------------------------------- */

/*
 * In every struct below: raw is an owned reference to the whole object (for fields not
 * mapped here); strings are borrowed from raw and NULL when absent or null; an id field
 * holds the id whether Stripe sent it as a string or as an expanded object; metadata is
 * borrowed (NULL when absent); integers are 0 when absent or null. Fields that moved
 * between API versions are read from either place (see docs/STRIPE.md).
 */

struct stripe_customer {
	struct json_object *raw;
	const char *id;
	bool deleted;		/* a deleted customer: only id is set */
	const char *name;
	const char *email;
	const char *description;
	const char *default_payment_method;	/* invoice_settings.default_payment_method */
	struct json_object *metadata;
	int64_t created;
	bool livemode;
};

struct stripe_payment_intent {
	struct json_object *raw;
	const char *id;
	const char *status;	/* requires_payment_method ... succeeded, canceled */
	int64_t amount;
	int64_t amount_received;
	const char *currency;
	const char *customer;
	const char *payment_method;
	const char *client_secret;	/* for the customer's browser only; never log it */
	const char *description;
	const char *latest_charge;
	const char *cancellation_reason;
	const char *next_action_type;	/* next_action.type, e.g. redirect_to_url */
	const char *last_error_code;	/* last_payment_error.code */
	const char *last_error_decline_code;
	const char *last_error_message;	/* written for the customer */
	struct json_object *metadata;
	int64_t created;
	int64_t canceled_at;
	bool livemode;
};

struct stripe_payment_method {
	struct json_object *raw;
	const char *id;
	const char *type;	/* "card", ... */
	const char *customer;
	const char *card_brand;
	const char *card_last4;
	const char *card_funding;
	int64_t card_exp_month;
	int64_t card_exp_year;
	struct json_object *metadata;
	int64_t created;
};

struct stripe_checkout_session {
	struct json_object *raw;
	const char *id;
	const char *url;	/* where to send the customer; NULL once complete or expired */
	const char *mode;	/* payment, subscription, setup */
	const char *status;	/* open, complete, expired */
	const char *payment_status;	/* paid, unpaid, no_payment_required */
	const char *customer;
	const char *payment_intent;
	const char *subscription;
	const char *client_reference_id;
	const char *currency;
	int64_t amount_total;
	struct json_object *metadata;
	int64_t created;
	int64_t expires_at;
};

struct stripe_refund {
	struct json_object *raw;
	const char *id;
	const char *status;	/* pending, succeeded, failed, canceled, requires_action */
	int64_t amount;
	const char *currency;
	const char *payment_intent;
	const char *charge;
	const char *reason;
	struct json_object *metadata;
	int64_t created;
};

struct stripe_portal_session {
	struct json_object *raw;
	const char *id;
	const char *url;
	const char *customer;
	const char *return_url;
	int64_t created;
};

struct stripe_event {
	struct json_object *raw;
	const char *id;
	const char *type;	/* e.g. payment_intent.succeeded */
	const char *api_version;	/* the version data.object is rendered in */
	int64_t created;
	bool livemode;
	struct json_object *object;	/* data.object */
	struct json_object *previous_attributes;	/* data.previous_attributes, or NULL */
	const char *request_id;		/* request.id (or the old string form of request) */
	const char *idempotency_key;	/* request.idempotency_key */
};

struct stripe_subscription {
	struct json_object *raw;
	const char *id;
	const char *status;	/* incomplete, trialing, active, past_due, canceled, unpaid... */
	const char *customer;
	const char *latest_invoice;
	const char *price;	/* items.data[0].price.id */
	int64_t quantity;	/* items.data[0].quantity */
	/* top level up to 2025-03-31.basil, on each item since: read from either */
	int64_t current_period_start;
	int64_t current_period_end;
	bool cancel_at_period_end;
	int64_t cancel_at;
	int64_t canceled_at;
	int64_t ended_at;
	struct json_object *metadata;
	int64_t created;
};

struct stripe_setup_intent {
	struct json_object *raw;
	const char *id;
	const char *status;	/* requires_payment_method, requires_confirmation, requires_action,
				   processing, canceled, succeeded */
	const char *customer;
	const char *payment_method;
	const char *client_secret;	/* for the customer's browser only; never log it */
	const char *usage;	/* off_session, on_session */
	const char *next_action_type;	/* next_action.type */
	const char *last_error_code;	/* last_setup_error.code */
	const char *last_error_decline_code;
	const char *last_error_message;	/* written for the customer */
	struct json_object *metadata;
	int64_t created;
	bool livemode;
};

/*
 * Fill a struct from a parsed object (e.g. an event's data.object), taking a new
 * reference to obj. PB_ESTRIPE when obj is not an object of that kind with an id.
 */
enum pb_err stripe_customer_from_json(struct json_object *obj, struct stripe_customer *out);
enum pb_err stripe_payment_intent_from_json(struct json_object *obj,
    struct stripe_payment_intent *out);
enum pb_err stripe_payment_method_from_json(struct json_object *obj,
    struct stripe_payment_method *out);
enum pb_err stripe_checkout_session_from_json(struct json_object *obj,
    struct stripe_checkout_session *out);
enum pb_err stripe_refund_from_json(struct json_object *obj, struct stripe_refund *out);
enum pb_err stripe_portal_session_from_json(struct json_object *obj,
    struct stripe_portal_session *out);
enum pb_err stripe_event_from_json(struct json_object *obj, struct stripe_event *out);
enum pb_err stripe_subscription_from_json(struct json_object *obj,
    struct stripe_subscription *out);
enum pb_err stripe_setup_intent_from_json(struct json_object *obj,
    struct stripe_setup_intent *out);

void stripe_customer_free(struct stripe_customer *c);
void stripe_payment_intent_free(struct stripe_payment_intent *pi);
void stripe_payment_method_free(struct stripe_payment_method *pm);
void stripe_checkout_session_free(struct stripe_checkout_session *cs);
void stripe_refund_free(struct stripe_refund *r);
void stripe_portal_session_free(struct stripe_portal_session *ps);
void stripe_event_free(struct stripe_event *ev);
void stripe_subscription_free(struct stripe_subscription *sub);
void stripe_setup_intent_free(struct stripe_setup_intent *si);

/* Lists: n items, owned by the list. has_more: more exist than were fetched. */
struct stripe_customer_list {
	struct stripe_customer *items;
	size_t n;
	bool has_more;
};

struct stripe_payment_method_list {
	struct stripe_payment_method *items;
	size_t n;
	bool has_more;
};

struct stripe_event_list {
	struct stripe_event *items;
	size_t n;
	bool has_more;
};

void stripe_customer_list_free(struct stripe_customer_list *l);
void stripe_payment_method_list_free(struct stripe_payment_method_list *l);
void stripe_event_list_free(struct stripe_event_list *l);

/* ---- calls ------------------------------------------------------------------------ */

/*
 * Each returns PB_OK (out filled) or the mapped error of stripe_last_error(). Pointers in
 * params are borrowed for the call. idempotency_key: NULL for a random one; business
 * operations pass a key derived from what they do, so that a retry days later cannot
 * charge or create twice. max: how many items a list call fetches at most, following
 * has_more/starting_after across pages (0: 100).
 */

/* Customers. NULL fields are not sent; on update "" unsets a field. */
struct stripe_customer_params {
	const char *name;
	const char *email;
	const char *description;
	const struct stripe_kv *metadata;	/* metadata[key]=value each; "" unsets a key */
	size_t nmetadata;
};

enum pb_err stripe_customer_create(struct stripe *s, const struct stripe_customer_params *p,
    const char *idempotency_key, struct stripe_customer *out);
/* A deleted customer is PB_OK with out->deleted set. */
enum pb_err stripe_customer_retrieve(struct stripe *s, const char *id,
    struct stripe_customer *out);
enum pb_err stripe_customer_update(struct stripe *s, const char *id,
    const struct stripe_customer_params *p, const char *idempotency_key,
    struct stripe_customer *out);
/* Sets invoice_settings[default_payment_method] ("" clears it). */
enum pb_err stripe_customer_set_default_payment_method(struct stripe *s, const char *id,
    const char *payment_method, const char *idempotency_key, struct stripe_customer *out);
/* out may be NULL. An already deleted customer is PB_ENOTFOUND. */
enum pb_err stripe_customer_delete(struct stripe *s, const char *id,
    const char *idempotency_key, struct stripe_customer *out);
/*
 * Customers whose metadata user_id is user_id (Stripe's search; eventually consistent:
 * a customer created within about a minute may not be found yet).
 */
enum pb_err stripe_customer_search_user_id(struct stripe *s, const char *user_id, size_t max,
    struct stripe_customer_list *out);
/* Customers with exactly this email (case-sensitive, as Stripe matches), newest first. */
enum pb_err stripe_customer_list_by_email(struct stripe *s, const char *email, size_t max,
    struct stripe_customer_list *out);
/*
 * One page of every live customer (GET /v1/customers: deleted ones are not listed),
 * newest first: up to limit (1 to 100) customers after starting_after (a customer id;
 * NULL or "" from the newest). out->has_more says whether to ask again with the last
 * item's id. For walks over all customers (paybridgectl reconcile) that pace each call.
 */
enum pb_err stripe_customer_list_page(struct stripe *s, const char *starting_after,
    size_t limit, struct stripe_customer_list *out);

/* Payment intents. */
struct stripe_payment_intent_params {
	long long amount;		/* minor units, > 0 */
	const char *currency;		/* ISO code, lower case */
	const char *customer;
	const char *description;
	const char *payment_method;
	const char *receipt_email;
	const char *setup_future_usage;	/* off_session, on_session */
	bool automatic_payment_methods;	/* automatic_payment_methods[enabled]=true */
	bool confirm;			/* confirm at once (needs payment_method) */
	const char *return_url;		/* with confirm, where 3-D Secure returns to */
	const struct stripe_kv *metadata;
	size_t nmetadata;
};

enum pb_err stripe_payment_intent_create(struct stripe *s,
    const struct stripe_payment_intent_params *p, const char *idempotency_key,
    struct stripe_payment_intent *out);
enum pb_err stripe_payment_intent_retrieve(struct stripe *s, const char *id,
    struct stripe_payment_intent *out);
/* payment_method and return_url may be NULL. A declined card is PB_EFIELDS (card_error). */
enum pb_err stripe_payment_intent_confirm(struct stripe *s, const char *id,
    const char *payment_method, const char *return_url, const char *idempotency_key,
    struct stripe_payment_intent *out);
/* reason: NULL, duplicate, fraudulent, requested_by_customer or abandoned. */
enum pb_err stripe_payment_intent_cancel(struct stripe *s, const char *id, const char *reason,
    const char *idempotency_key, struct stripe_payment_intent *out);

/* Payment methods. type: NULL for every type, or e.g. "card". */
enum pb_err stripe_payment_method_list(struct stripe *s, const char *customer,
    const char *type, size_t max, struct stripe_payment_method_list *out);
enum pb_err stripe_payment_method_retrieve(struct stripe *s, const char *id,
    struct stripe_payment_method *out);
enum pb_err stripe_payment_method_attach(struct stripe *s, const char *id, const char *customer,
    const char *idempotency_key, struct stripe_payment_method *out);
enum pb_err stripe_payment_method_detach(struct stripe *s, const char *id,
    const char *idempotency_key, struct stripe_payment_method *out);

/* Checkout sessions. A line item names a Price (price) or describes one (price_data). */
struct stripe_line_item {
	const char *price;		/* a price id; or NULL and the fields below */
	const char *currency;
	long long unit_amount;
	const char *product_name;
	const char *recurring_interval;	/* day, week, month, year; NULL: one-time */
	long long quantity;		/* >= 1 */
};

struct stripe_checkout_params {
	const char *mode;		/* payment, subscription or setup */
	const char *customer;
	const char *client_reference_id;
	const char *success_url;
	const char *cancel_url;
	const struct stripe_line_item *line_items;
	size_t nline_items;
	/*
	 * Sent as metadata of the session and also of what it creates
	 * (payment_intent_data[metadata] or subscription_data[metadata]), so webhooks about
	 * either object can be tied back.
	 */
	const struct stripe_kv *metadata;
	size_t nmetadata;
};

enum pb_err stripe_checkout_session_create(struct stripe *s,
    const struct stripe_checkout_params *p, const char *idempotency_key,
    struct stripe_checkout_session *out);
enum pb_err stripe_checkout_session_retrieve(struct stripe *s, const char *id,
    struct stripe_checkout_session *out);

/* Refunds: amount 0 refunds what is left; reason NULL, duplicate, fraudulent, requested_by_customer. */
struct stripe_refund_params {
	const char *payment_intent;
	long long amount;
	const char *reason;
	const struct stripe_kv *metadata;
	size_t nmetadata;
};

enum pb_err stripe_refund_create(struct stripe *s, const struct stripe_refund_params *p,
    const char *idempotency_key, struct stripe_refund *out);

/* Billing portal: return_url may be NULL (the portal configuration's default). */
enum pb_err stripe_portal_session_create(struct stripe *s, const char *customer,
    const char *return_url, const char *idempotency_key, struct stripe_portal_session *out);

/* Events, newest first. Zero bounds and NULL strings are not sent. */
struct stripe_event_list_params {
	long long created_gte;
	long long created_gt;
	long long created_lte;
	long long created_lt;
	const char *type;		/* one type, or a wildcard such as "customer.*" */
	const char *starting_after;	/* an event id: continue past it (older) */
	size_t max;
	/*
	 * An event id: the max (at most 100) events just newer than it, still newest
	 * first, in one page; has_more says newer ones remain. Not with starting_after.
	 */
	const char *ending_before;
};

enum pb_err stripe_event_retrieve(struct stripe *s, const char *id, struct stripe_event *out);
enum pb_err stripe_event_list(struct stripe *s, const struct stripe_event_list_params *p,
    struct stripe_event_list *out);

/* Subscriptions. */
enum pb_err stripe_subscription_retrieve(struct stripe *s, const char *id,
    struct stripe_subscription *out);
/*
 * Sets cancel_at_period_end (POST /v1/subscriptions/{id}); idempotency_key may be NULL.
 * The subscription as Stripe answers it in *out (free it).
 */
enum pb_err stripe_subscription_set_cancel_at_period_end(struct stripe *s, const char *id,
    bool at_period_end, const char *idempotency_key, struct stripe_subscription *out);
/* Cancels now (DELETE /v1/subscriptions/{id}): status canceled, ended_at set. */
enum pb_err stripe_subscription_cancel(struct stripe *s, const char *id,
    const char *idempotency_key, struct stripe_subscription *out);

/* ---- products and prices (the catalog) ------------------------------------------ */

struct stripe_product {
	struct json_object *raw;
	const char *id;
	const char *name;
	const char *description;
	bool active;
	struct json_object *metadata;
	int64_t created;
};

struct stripe_price {
	struct json_object *raw;
	const char *id;
	const char *product;		/* its product's id (expanded or not) */
	const char *currency;
	int64_t unit_amount;
	const char *type;		/* one_time, recurring */
	const char *interval;		/* recurring.interval; NULL when one-time */
	int64_t interval_count;		/* recurring.interval_count; 0 when one-time */
	bool active;
	struct json_object *metadata;
	int64_t created;
};

enum pb_err stripe_product_from_json(struct json_object *obj, struct stripe_product *out);
enum pb_err stripe_price_from_json(struct json_object *obj, struct stripe_price *out);
void stripe_product_free(struct stripe_product *p);
void stripe_price_free(struct stripe_price *p);

/* A Product: name required; description NULL is not sent. */
struct stripe_product_params {
	const char *name;
	const char *description;
	const struct stripe_kv *metadata;
	size_t nmetadata;
};

/* A Price of product: unit_amount >= 0 (0 is a free price); interval NULL: one-time. */
struct stripe_price_params {
	const char *product;
	long long unit_amount;
	const char *currency;
	const char *interval;		/* day, week, month, year */
	long long interval_count;	/* with interval, >= 1 */
	const struct stripe_kv *metadata;
	size_t nmetadata;
};

enum pb_err stripe_product_create(struct stripe *s, const struct stripe_product_params *p,
    const char *idempotency_key, struct stripe_product *out);
enum pb_err stripe_product_retrieve(struct stripe *s, const char *id,
    struct stripe_product *out);
enum pb_err stripe_price_create(struct stripe *s, const struct stripe_price_params *p,
    const char *idempotency_key, struct stripe_price *out);
enum pb_err stripe_price_retrieve(struct stripe *s, const char *id, struct stripe_price *out);

/*
 * Setup intents: a payment method saved for later payments, no money moved. The
 * customer's browser confirms them with the client secret (Stripe.js), never we.
 */
struct stripe_setup_intent_params {
	const char *customer;
	const char *usage;		/* off_session, on_session; NULL: Stripe's (off_session) */
	const char *payment_method;
	bool automatic_payment_methods;	/* automatic_payment_methods[enabled]=true */
	const struct stripe_kv *metadata;
	size_t nmetadata;
};

enum pb_err stripe_setup_intent_create(struct stripe *s,
    const struct stripe_setup_intent_params *p, const char *idempotency_key,
    struct stripe_setup_intent *out);

#endif
