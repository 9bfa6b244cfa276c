/*
 * Payment intents for catalog products (DESIGN §3, §5): the amount is the product's
 * unit amount times the quantity, decided here; the caller's customer is created lazily
 * when missing; every intent, payment method and refund is checked against the caller
 * before use, and what is not theirs does not exist (PB_ENOTFOUND, never a 403). Reads
 * do not wait for webhooks: an intent whose state is not final and older than
 * status_refresh_after_ms is retrieved once and applied through the webhooks'
 * stale-guarded path.
 */
#ifndef PB_SERVICES_PAYMENTS_H
#define PB_SERVICES_PAYMENTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/err.h"

struct app;
struct arena;
struct json_object;

#define PAYMENTS_QUANTITY_MAX 100

/*
 * Why a call failed, for the answer: for PB_EFIELDS the field at fault and a sentence;
 * for PB_ECONFLICT and PB_ENOTFOUND a code and a sentence; stripe_down when Stripe could
 * not be reached or failed on its side (a retry may work: 503), as against Stripe
 * refusing what we sent (502). Static or in the arena; NULL when there is nothing more.
 */
struct payment_problem {
	const char *field;
	const char *code;
	const char *message;
	bool stripe_down;
};

/* An intent as its owner sees it. Strings in the arena; NULL when unknown or none. */
struct payment_view {
	const char *id;
	const char *status;
	int64_t amount;
	const char *currency;
	const char *client_secret;
	uint64_t product_id;		/* 0: none */
	uint32_t quantity;
	int64_t created_at;		/* microseconds since the epoch; 0 when unknown */
	const char *error_code;		/* the last payment error */
	const char *decline_code;	/* only right after a confirm */
	const char *error_message;	/* Stripe's words for the customer */
	const char *next_action;	/* next_action.type, e.g. redirect_to_url */
	const char *next_action_url;	/* where a redirect_to_url sends the customer */
	bool stale;			/* Stripe could not be asked: the stored state */
};

/*
 * v as the API shows it (the data of GET /v1/payments/intents/{id}): a new reference, or
 * NULL when out of memory.
 */
struct json_object *payments_view_json(const struct payment_view *v);

/* Whether id could be a Stripe id (an intent's, a payment method's) a client sent. */
bool payments_id_valid(const char *id);

/*
 * Creates an intent for quantity (1..PAYMENTS_QUANTITY_MAX) of an active one-time
 * product for user_id, under Stripe key "paybridge-pi-<op_key>" (services/idempotency.h),
 * and stores it before returning.
 */
enum pb_err payments_create_intent(struct app *app, struct arena *a, uint64_t user_id,
    uint64_t product_id, int64_t quantity, const char *op_key, struct payment_view *out,
    struct payment_problem *why);

/* The caller's intent, refreshed from Stripe when stale (see above). */
enum pb_err payments_get_intent(struct app *app, struct arena *a, uint64_t user_id,
    const char *id, struct payment_view *out);

/* The caller's intent as stored (user_id 0: anyone's), never refreshed from Stripe. */
enum pb_err payments_stored_intent(struct app *app, struct arena *a, uint64_t user_id,
    const char *id, struct payment_view *out);

/*
 * The authorization of a live-status subscription (nchan's subrequest): the caller's
 * intent as stored, no Stripe call, published to its channel first so that the
 * subscriber's first message is the current state (services/live.h). PB_ENOTFOUND for
 * another's.
 */
enum pb_err payments_subscribe(struct app *app, struct arena *a, uint64_t user_id,
    const char *id, struct payment_view *out);

/* One page of the caller's intents, newest first, as stored (never refreshed). */
enum pb_err payments_list_intents(struct app *app, struct arena *a, uint64_t user_id,
    const char *starting_after, size_t limit, struct payment_view **items, size_t *n,
    bool *more);

/*
 * Confirms the caller's intent with payment_method, which must be the caller's (one
 * attached to nobody is attached to the caller first; another's: PB_ENOTFOUND).
 * return_url may be NULL. A declined card is PB_OK with the intent back in
 * requires_payment_method and out->error_code and decline_code set.
 */
enum pb_err payments_confirm(struct app *app, struct arena *a, uint64_t user_id,
    const char *id, const char *payment_method, const char *return_url,
    struct payment_view *out, struct payment_problem *why);

/* Cancels the caller's intent. PB_ECONFLICT when it can no longer be. */
enum pb_err payments_cancel(struct app *app, struct arena *a, uint64_t user_id,
    const char *id, struct payment_view *out, struct payment_problem *why);

struct payment_refund {
	const char *id;
	const char *status;
	int64_t amount;
	const char *currency;
	const char *payment_intent;
};

/*
 * Refunds amount (0: what remains) of a succeeded intent, any user's: role must be
 * "admin" (else PB_EFORBIDDEN). Never more than remains (PB_EFIELDS on "amount").
 * op_key (NULL when the caller sent no Idempotency-Key) names the Stripe key; without
 * one the key derives from the intent, the amount and what was refunded before, so a
 * repeat before the refund is known here does not refund twice. reason may be NULL.
 */
enum pb_err payments_refund(struct app *app, struct arena *a, const char *role,
    const char *id, int64_t amount, const char *reason, const char *op_key,
    struct payment_refund *out, struct payment_problem *why);

#endif
