/*
 * The caller's payment methods and setup intents (see payment_methods.h). Each function
 * gets the user's customer through customers_get_or_create, then asks Stripe about the
 * payment method before it changes anything, so a client's id is only ever used with the
 * customer it belongs to.
 *
 * Idempotency keys: attach and detach are keyed by the customer and the payment method
 * (a payment method is attached to a customer once and detached once: Stripe never lets
 * a detached one back); a setup intent by the client's own Idempotency-Key when it sent
 * one. Setting the default is not keyed: setting X twice is harmless, while a derived key
 * would make "X, then Y, then X again" replay the first answer and leave Y.
 */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "services/app.h"
#include "services/customers.h"
#include "services/payment_methods.h"
#include "stripe/client.h"
#include "util/arena.h"
#include "util/conf.h"
#include "util/log.h"

#define KEY_MAX 256
#define CLIENT_KEY_MAX 200
#define USER_ID_MAX 24
bool
payment_methods_id_valid(const char *id)
{
	return stripe_id_valid(id);
}

/*
 * What a failed Stripe call means for our caller. Not found and conflicts keep their
 * meaning; a card_error is the end user's to fix (PB_EFIELDS, with Stripe's message);
 * any other refusal is Stripe refusing what we sent, which the client cannot fix:
 * PB_ESTRIPE, logged with Stripe's code (never its message, which may echo input). A 409
 * left after the client's retries (a lock, a key still in flight) is Stripe being busy.
 */
static enum pb_err
stripe_outcome(struct app *app, struct arena *a, const char *what, enum pb_err err,
    const char **why)
{
	const struct stripe_error *e = stripe_last_error(app->stripe);

	if (why != NULL)
		*why = NULL;
	if (err == PB_EFIELDS && strcmp(e->type, "card_error") == 0) {
		if (why != NULL)
			*why = arena_strdup(a, stripe_error_public_message(e));
		return why != NULL && *why == NULL ? PB_ENOMEM : PB_EFIELDS;
	}
	/* Past our retries, Stripe still busy with the object or with the same key. */
	if (err == PB_ECONFLICT && e->status == 409)
		return PB_ESTRIPE;
	if (err == PB_EINVAL || err == PB_EFIELDS || err == PB_ECONFIG) {
		log_event(LOGL_WARN, "Stripe refused a payment method call",
		    (const struct log_kv[]){ LOG_STR("call", what), LOG_NUM("status", e->status),
		    LOG_STR("type", e->type), LOG_STR("code", e->code), LOG_STR("param", e->param),
		    LOG_STR("request_id", e->request_id) }, 6);
		return PB_ESTRIPE;
	}
	return err;
}

/* The user's customer, made now if there is none; Stripe trouble keeps its meaning. */
static enum pb_err
customer_of(struct app *app, uint64_t user_id, char *id, size_t idlen)
{
	enum pb_err err;

	if (app->stripe == NULL)
		return PB_ESTRIPE;
	err = customers_get_or_create(app, user_id, CUSTOMER_SOURCE_LAZY,
	    app->conf->customer_inline_budget_ms, id, idlen);
	/* A creation job done without a customer: logged there, and not the client's doing. */
	if (err == PB_ECONFLICT || err == PB_ETOOBIG)
		err = PB_ESTRIPE;
	return err;
}

/* Copies pm into out (strings in a); is_default from default_pm (may be NULL). */
static enum pb_err
copy_pm(struct arena *a, const struct stripe_payment_method *pm, const char *default_pm,
    struct payment_method *out)
{
	memset(out, 0, sizeof(*out));
	out->id = arena_strdup(a, pm->id);
	out->type = pm->type != NULL ? arena_strdup(a, pm->type) : NULL;
	out->brand = pm->card_brand != NULL ? arena_strdup(a, pm->card_brand) : NULL;
	out->last4 = pm->card_last4 != NULL ? arena_strdup(a, pm->card_last4) : NULL;
	out->funding = pm->card_funding != NULL ? arena_strdup(a, pm->card_funding) : NULL;
	out->exp_month = pm->card_exp_month;
	out->exp_year = pm->card_exp_year;
	out->is_default = default_pm != NULL && strcmp(default_pm, pm->id) == 0;
	if (out->id == NULL || (pm->type != NULL && out->type == NULL) ||
	    (pm->card_brand != NULL && out->brand == NULL) ||
	    (pm->card_last4 != NULL && out->last4 == NULL) ||
	    (pm->card_funding != NULL && out->funding == NULL))
		return PB_ENOMEM;
	return PB_OK;
}

/* The customer's default payment method id, copied into out ("" when none). */
static enum pb_err
default_of(struct app *app, struct arena *a, const char *customer, const char **out)
{
	struct stripe_customer c;
	enum pb_err err;

	*out = "";
	err = stripe_customer_retrieve(app->stripe, customer, &c);
	if (err != PB_OK)
		return stripe_outcome(app, a, "customer_retrieve", err, NULL);
	if (c.deleted) {
		/* Stripe says the customer is gone; customer.deleted will unlink it. */
		log_warnx("customer %s is deleted in Stripe", customer);
		err = PB_ESTRIPE;
	} else if (c.default_payment_method != NULL) {
		*out = arena_strdup(a, c.default_payment_method);
		if (*out == NULL)
			err = PB_ENOMEM;
	}
	stripe_customer_free(&c);
	return err;
}

/*
 * Retrieves pm_id into pm. PB_ENOTFOUND for a malformed or unknown id. The id Stripe
 * answers with is the one to use from here on: in test mode a token (pm_card_visa) gives
 * a new payment method each time it is retrieved.
 */
static enum pb_err
retrieve(struct app *app, struct arena *a, const char *pm_id, struct stripe_payment_method *pm)
{
	enum pb_err err;

	memset(pm, 0, sizeof(*pm));
	if (!payment_methods_id_valid(pm_id))
		return PB_ENOTFOUND;
	err = stripe_payment_method_retrieve(app->stripe, pm_id, pm);
	return err == PB_OK ? PB_OK : stripe_outcome(app, a, "payment_method_retrieve", err, NULL);
}

static bool
attached_to(const struct stripe_payment_method *pm, const char *customer)
{
	return pm->customer != NULL && strcmp(pm->customer, customer) == 0;
}

/*
 * The common start of every call about one payment method: the user's customer into
 * customer, and pm_id retrieved into pm (PB_ENOTFOUND unless it is the customer's when
 * must_own is set). On failure pm is left zeroed.
 */
static enum pb_err
begin(struct app *app, struct arena *a, uint64_t user_id, const char *pm_id, bool must_own,
    char *customer, size_t customer_len, struct stripe_payment_method *pm)
{
	enum pb_err err;

	memset(pm, 0, sizeof(*pm));
	/* Nobody's, so no customer is worth making for it. */
	if (!payment_methods_id_valid(pm_id))
		return PB_ENOTFOUND;
	err = customer_of(app, user_id, customer, customer_len);
	if (err != PB_OK)
		return err;
	err = retrieve(app, a, pm_id, pm);
	if (err == PB_OK && must_own && !attached_to(pm, customer)) {
		stripe_payment_method_free(pm);
		err = PB_ENOTFOUND;
	}
	return err;
}

enum pb_err
payment_methods_list(struct app *app, struct arena *a, uint64_t user_id,
    struct payment_method_list *out)
{
	struct stripe_payment_method_list l;
	char customer[CUSTOMER_ID_MAX + 1];
	const char *default_pm = "";
	enum pb_err err;

	memset(out, 0, sizeof(*out));
	memset(&l, 0, sizeof(l));
	err = customer_of(app, user_id, customer, sizeof(customer));
	if (err != PB_OK)
		return err;
	err = stripe_payment_method_list(app->stripe, customer, "card", 0, &l);
	if (err != PB_OK) {
		err = stripe_outcome(app, a, "payment_method_list", err, NULL);
		goto out;
	}
	/* Nothing to mark: spare the customer's retrieval (a new customer has no cards). */
	if (l.n == 0)
		goto out;
	err = default_of(app, a, customer, &default_pm);
	if (err != PB_OK)
		goto out;
	out->items = arena_calloc(a, l.n, sizeof(*out->items));
	if (out->items == NULL) {
		err = PB_ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < l.n && err == PB_OK; i++)
		err = copy_pm(a, &l.items[i], default_pm, &out->items[i]);
	if (err == PB_OK)
		out->n = l.n;
out:
	stripe_payment_method_list_free(&l);
	return err;
}

enum pb_err
payment_methods_owned(struct app *app, uint64_t user_id, const char *pm_id, char *customer,
    size_t customer_len)
{
	char cus[CUSTOMER_ID_MAX + 1];
	struct stripe_payment_method pm;
	struct arena a;
	enum pb_err err;

	arena_init(&a, (size_t)16 * 1024);
	err = begin(app, &a, user_id, pm_id, true, cus, sizeof(cus), &pm);
	stripe_payment_method_free(&pm);
	arena_cleanup(&a);
	if (err == PB_OK && customer != NULL &&
	    snprintf(customer, customer_len, "%s", cus) >= (int)customer_len)
		err = PB_ETOOBIG;
	return err;
}

/* key = prefix-<user>-<customer>-<pm>: one operation on one pairing. */
static enum pb_err
operation_key(char key[KEY_MAX], const char *op, uint64_t user_id, const char *customer,
    const char *pm_id)
{
	int n = snprintf(key, KEY_MAX, "paybridge-%s-%" PRIu64 "-%s-%s", op, user_id, customer,
	    pm_id);

	return n < 0 || n >= KEY_MAX ? PB_ETOOBIG : PB_OK;
}

enum pb_err
payment_methods_attach(struct app *app, struct arena *a, uint64_t user_id, const char *pm_id,
    struct payment_method *out, bool *attached, const char **why)
{
	struct stripe_payment_method pm, done;
	char customer[CUSTOMER_ID_MAX + 1], key[KEY_MAX];
	const char *default_pm = "";
	enum pb_err err;

	*attached = false;
	*why = NULL;
	memset(out, 0, sizeof(*out));
	memset(&done, 0, sizeof(done));
	err = begin(app, a, user_id, pm_id, false, customer, sizeof(customer), &pm);
	if (err != PB_OK)
		goto out;
	if (attached_to(&pm, customer)) {
		/* Already the caller's: say so as it is, default included. */
		err = default_of(app, a, customer, &default_pm);
		if (err == PB_OK)
			err = copy_pm(a, &pm, default_pm, out);
		goto out;
	}
	/* Checked before asking Stripe, so another customer's card is never even tried. */
	if (pm.customer != NULL) {
		err = PB_ECONFLICT;
		goto out;
	}
	err = operation_key(key, "attach", user_id, customer, pm.id);
	if (err == PB_OK)
		err = stripe_payment_method_attach(app->stripe, pm.id, customer, key, &done);
	if (err != PB_OK) {
		err = stripe_outcome(app, a, "payment_method_attach", err, why);
		goto out;
	}
	/*
	 * A replay tells what our first attach did, not what holds now: that one may have
	 * been detached since (and can never be attached again), so ask once more.
	 */
	if (stripe_last_error(app->stripe)->replayed) {
		stripe_payment_method_free(&done);
		err = stripe_payment_method_retrieve(app->stripe, pm.id, &done);
		if (err != PB_OK) {
			err = stripe_outcome(app, a, "payment_method_retrieve", err, NULL);
			goto out;
		}
		if (!attached_to(&done, customer)) {
			err = PB_ECONFLICT;
			goto out;
		}
	}
	*attached = true;
	/* Just attached, so it cannot be the default yet. */
	err = copy_pm(a, &done, NULL, out);
	if (err == PB_OK)
		log_event(LOGL_INFO, "payment method attached", (const struct log_kv[]){
		    LOG_NUM("user_id", user_id), LOG_STR("customer", customer),
		    LOG_STR("payment_method", done.id) }, 3);
out:
	stripe_payment_method_free(&pm);
	stripe_payment_method_free(&done);
	return err;
}

enum pb_err
payment_methods_detach(struct app *app, struct arena *a, uint64_t user_id, const char *pm_id,
    struct payment_method *out)
{
	struct stripe_payment_method pm, done;
	char customer[CUSTOMER_ID_MAX + 1], key[KEY_MAX];
	enum pb_err err;

	memset(out, 0, sizeof(*out));
	memset(&done, 0, sizeof(done));
	err = begin(app, a, user_id, pm_id, true, customer, sizeof(customer), &pm);
	if (err == PB_OK)
		err = copy_pm(a, &pm, NULL, out);
	if (err == PB_OK)
		err = operation_key(key, "detach", user_id, customer, pm.id);
	if (err == PB_OK) {
		err = stripe_payment_method_detach(app->stripe, pm.id, key, &done);
		/* Detached meanwhile by a concurrent call of the caller's (its own key): gone. */
		if (err != PB_OK)
			err = stripe_outcome(app, a, "payment_method_detach", err, NULL);
		if (err == PB_ECONFLICT)
			err = PB_ENOTFOUND;
	}
	if (err == PB_OK)
		log_event(LOGL_INFO, "payment method detached", (const struct log_kv[]){
		    LOG_NUM("user_id", user_id), LOG_STR("customer", customer),
		    LOG_STR("payment_method", pm.id) }, 3);
	stripe_payment_method_free(&pm);
	stripe_payment_method_free(&done);
	return err;
}

enum pb_err
payment_methods_set_default(struct app *app, struct arena *a, uint64_t user_id,
    const char *pm_id, struct payment_method *out)
{
	char customer[CUSTOMER_ID_MAX + 1];
	struct stripe_payment_method pm;
	struct stripe_customer c;
	enum pb_err err;

	memset(out, 0, sizeof(*out));
	memset(&c, 0, sizeof(c));
	err = begin(app, a, user_id, pm_id, true, customer, sizeof(customer), &pm);
	if (err != PB_OK)
		goto out;
	err = stripe_customer_set_default_payment_method(app->stripe, customer, pm.id, NULL, &c);
	if (err != PB_OK) {
		err = stripe_outcome(app, a, "customer_set_default", err, NULL);
		/* Stripe no longer has it on the customer: detached since the check. */
		if (err == PB_ESTRIPE &&
		    strcmp(stripe_last_error(app->stripe)->param,
		    "invoice_settings[default_payment_method]") == 0)
			err = PB_ENOTFOUND;
		goto out;
	}
	err = copy_pm(a, &pm, c.default_payment_method, out);
out:
	stripe_payment_method_free(&pm);
	stripe_customer_free(&c);
	return err;
}

/* An Idempotency-Key a client may send: printable ASCII without spaces. */
static bool
client_key_valid(const char *k)
{
	size_t n = strlen(k);

	if (n == 0 || n > CLIENT_KEY_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		if (k[i] <= ' ' || k[i] > '~')
			return false;
	}
	return true;
}

enum pb_err
payment_methods_setup_intent(struct app *app, struct arena *a, uint64_t user_id,
    const char *usage, const char *client_key, struct setup_intent *out)
{
	char customer[CUSTOMER_ID_MAX + 1], key[KEY_MAX], uid[USER_ID_MAX];
	struct stripe_setup_intent_params p;
	struct stripe_setup_intent si;
	struct stripe_kv meta[1];
	enum pb_err err;

	memset(out, 0, sizeof(*out));
	memset(&si, 0, sizeof(si));
	if (usage == NULL)
		usage = "off_session";
	if (strcmp(usage, "off_session") != 0 && strcmp(usage, "on_session") != 0)
		return PB_EFIELDS;
	if (client_key != NULL && !client_key_valid(client_key))
		return PB_EINVAL;
	err = customer_of(app, user_id, customer, sizeof(customer));
	if (err != PB_OK)
		return err;
	(void)snprintf(uid, sizeof(uid), "%" PRIu64, user_id);
	meta[0] = (struct stripe_kv){ "user_id", uid };
	/* usage is always sent, so one key always carries the same parameters. */
	p = (struct stripe_setup_intent_params){
		.customer = customer,
		.usage = usage,
		.automatic_payment_methods = true,
		.metadata = meta,
		.nmetadata = 1,
	};
	/* Per user, so two users' equal keys never meet at Stripe. */
	if (client_key != NULL &&
	    snprintf(key, sizeof(key), "paybridge-setup-intent-%s-%s", uid, client_key) >=
	    (int)sizeof(key))
		return PB_EINVAL;
	err = stripe_setup_intent_create(app->stripe, &p, client_key != NULL ? key : NULL, &si);
	if (err != PB_OK)
		return stripe_outcome(app, a, "setup_intent_create", err, NULL);
	out->id = arena_strdup(a, si.id);
	out->client_secret = si.client_secret != NULL ? arena_strdup(a, si.client_secret) : NULL;
	out->status = arena_strdup(a, si.status);
	out->usage = si.usage != NULL ? arena_strdup(a, si.usage) : NULL;
	if (out->id == NULL || out->status == NULL || (si.client_secret != NULL &&
	    out->client_secret == NULL) || (si.usage != NULL && out->usage == NULL))
		err = PB_ENOMEM;
	stripe_setup_intent_free(&si);
	return err;
}
