/*
 * The caller's own payment methods and setup intents (DESIGN §5, Isolation): every
 * payment method id a client sends is looked up in Stripe and compared with the caller's
 * customer before anything is done with it. The customer comes from
 * customers_get_or_create (created lazily, exactly once, when the user has none).
 *
 * What "the caller's" means: Stripe says the payment method is attached to the customer
 * recorded for the user. Unknown ids, malformed ids, payment methods attached to nobody
 * and those of another customer are all PB_ENOTFOUND, so a caller learns nothing about
 * ids that are not theirs; only attaching tells "attached elsewhere" apart
 * (PB_ECONFLICT), since that is what the client must fix.
 *
 * Errors common to every function: PB_ENOTFOUND for a user that is gone; PB_ESTRIPE when
 * Stripe failed or refused what we sent (logged), PB_ETIMEOUT when it did not answer in
 * time, either while the customer was being made or afterwards (a retry is safe: every
 * call that changes something carries a key derived from what it does); PB_EDB,
 * PB_ENOMEM. Strings handed back are in the caller's arena a.
 */
#ifndef PB_SERVICES_PAYMENT_METHODS_H
#define PB_SERVICES_PAYMENT_METHODS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/err.h"

struct app;
struct arena;


/* A card as the API shows it; NULL strings were absent (a non-card method has no brand). */
struct payment_method {
	const char *id;
	const char *type;	/* "card" */
	const char *brand;	/* visa, mastercard, ... */
	const char *last4;
	const char *funding;	/* credit, debit, prepaid, unknown */
	int64_t exp_month;
	int64_t exp_year;
	bool is_default;	/* the customer's invoice_settings.default_payment_method */
};

struct payment_method_list {
	struct payment_method *items;	/* in a; newest first, as Stripe lists them */
	size_t n;
};

/*
 * Whether id looks like a Stripe payment method id: 1 to STRIPE_ID_MAX letters,
 * digits and underscores. Checked before Stripe is asked, so nothing else reaches a URL.
 */
bool payment_methods_id_valid(const char *id);

/* The user's card payment methods, each marked when it is the customer's default. */
enum pb_err payment_methods_list(struct app *app, struct arena *a, uint64_t user_id,
    struct payment_method_list *out);

/*
 * PB_OK when pm_id is attached to user_id's customer, whose id is copied into
 * customer[0..customer_len) (may be NULL); PB_ENOTFOUND when it is not the user's (see
 * above). For every path that uses a client's payment method id with the user's
 * customer (payment intents confirm with it).
 */
enum pb_err payment_methods_owned(struct app *app, uint64_t user_id, const char *pm_id,
    char *customer, size_t customer_len);

/*
 * Attaches pm_id to user_id's customer. *attached says whether it was attached now
 * (false: it was the user's already, nothing sent). PB_ENOTFOUND for an unknown or
 * malformed id; PB_ECONFLICT when it is attached to another customer or Stripe refuses
 * it in its state (detached before, used once without a customer); PB_EFIELDS when Stripe
 * refused the card itself, with *why a message written for the end user.
 */
enum pb_err payment_methods_attach(struct app *app, struct arena *a, uint64_t user_id,
    const char *pm_id, struct payment_method *out, bool *attached, const char **why);

/* Detaches pm_id from user_id's customer; out is the payment method before it. */
enum pb_err payment_methods_detach(struct app *app, struct arena *a, uint64_t user_id,
    const char *pm_id, struct payment_method *out);

/* Makes pm_id (the user's) the customer's default; out has is_default set. */
enum pb_err payment_methods_set_default(struct app *app, struct arena *a, uint64_t user_id,
    const char *pm_id, struct payment_method *out);

/* The setup intent a client confirms with Stripe.js. */
struct setup_intent {
	const char *id;
	const char *client_secret;	/* for the customer's browser only; never log it */
	const char *status;
	const char *usage;
};

/*
 * Creates a SetupIntent for user_id's customer (automatic payment methods,
 * metadata[user_id]). usage: "off_session" (NULL means it) or "on_session"; anything
 * else is PB_EFIELDS. client_key: the client's Idempotency-Key (NULL: none): the same key
 * with the same usage answers the same intent, with another usage PB_ECONFLICT; without
 * one each call makes a new intent. A key that is not 1 to 200 printable ASCII
 * characters without spaces is PB_EINVAL.
 */
enum pb_err payment_methods_setup_intent(struct app *app, struct arena *a, uint64_t user_id,
    const char *usage, const char *client_key, struct setup_intent *out);

#endif
