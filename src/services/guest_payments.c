#include "config.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "repo/guests.h"
#include "services/accounts.h"
#include "services/app.h"
#include "services/guest_payments.h"
#include "services/payments_internal.h"
#include "stripe/client.h"
#include "util/arena.h"
#include "util/conf.h"
#include "util/digest.h"
#include "util/log.h"

#define RATE_KEEP_S 86400

/*
 * The address trimmed and in ASCII lower case: what names its rate bucket and its Stripe
 * keys. Rows compare addresses in MariaDB (LOWER(TRIM())), which also folds non-ASCII.
 */
static char *
normalized(struct arena *a, const char *email)
{
	size_t n = strlen(email), start = 0;
	char *out;

	while (start < n && isspace((unsigned char)email[start]))
		start++;
	while (n > start && isspace((unsigned char)email[n - 1]))
		n--;
	out = arena_strndup(a, email + start, n - start);
	for (size_t i = 0; out != NULL && out[i] != '\0'; i++)
		out[i] = (char)tolower((unsigned char)out[i]);
	return out;
}

/* 32 hex digits naming parts (a key that says nothing of the address in Stripe's logs). */
static enum pb_err
short_hash(const struct digest_part *parts, size_t n, char out[33])
{
	char hex[DIGEST_HEX_LEN];
	enum pb_err err;

	err = digest_sha256_hex(parts, n, hex);
	if (err == PB_OK)
		(void)snprintf(out, 33, "%.32s", hex);
	return err;
}

/* One hit on bucket; PB_ERATE with *retry_after_s past limit. */
static enum pb_err
admit(struct app *app, struct arena *a, const char *bucket, long long limit,
    int64_t *retry_after_s)
{
	uint32_t hits = 0;
	enum pb_err err;

	err = repo_rate_hit(app->db, a, bucket, app->conf->guest_rate_window, &hits,
	    retry_after_s);
	if (err == PB_OK && hits > limit)
		return PB_ERATE;
	return err;
}

/* The customer of email: remembered, else found in Stripe by exact email, else made. */
static enum pb_err
customer_for(struct app *app, struct arena *a, const char *email, const char *norm,
    const char *name, const char **customer, struct payment_problem *why)
{
	struct stripe_customer_list found = { 0 };
	struct stripe_customer made = { 0 };
	struct stripe_customer_params params;
	const struct stripe_kv meta[] = { { "source", "guest" } };
	const struct digest_part part = { norm, strlen(norm) };
	char tag[33];
	const char *key;
	enum pb_err err;

	err = repo_guest_customer_get(app->db, a, norm, customer);
	if (err != PB_ENOTFOUND)
		return err;
	err = stripe_customer_list_by_email(app->stripe, email, 10, &found);
	if (err != PB_OK)
		return payments_stripe_failed(app, err, why);
	for (size_t i = 0; i < found.n && *customer == NULL; i++)
		if (!found.items[i].deleted)
			*customer = arena_strdup(a, found.items[i].id);
	stripe_customer_list_free(&found);
	if (*customer == NULL) {
		err = short_hash(&part, 1, tag);
		key = err == PB_OK ? arena_printf(a, "paybridge-guest-customer-%s", tag) : NULL;
		if (key == NULL)
			return PB_ENOMEM;
		params = (struct stripe_customer_params){
			.name = name,
			.email = email,
			.description = "Guest customer",
			.metadata = meta,
			.nmetadata = 1,
		};
		err = stripe_customer_create(app->stripe, &params, key, &made);
		if (err != PB_OK)
			return payments_stripe_failed(app, err, why);
		*customer = arena_strdup(a, made.id);
		stripe_customer_free(&made);
	}
	if (*customer == NULL)
		return PB_ENOMEM;
	/* Two guests at once may each find or make one: the first recorded is kept. */
	err = repo_guest_customer_put(app->db, norm, *customer);
	if (err == PB_OK)
		err = repo_guest_customer_get(app->db, a, norm, customer);
	return err;
}

enum pb_err
guest_create_intent(struct app *app, struct arena *a, const char *email, const char *name,
    const char *client, uint64_t product_id, int64_t quantity, const char *key,
    const char *request_id, struct payment_view *out, struct payment_problem *why,
    int64_t *retry_after_s)
{
	char client_key[ACCOUNTS_CLIENT_KEY_MAX + 1], tag[33];
	const char *problem, *norm, *bucket, *customer = NULL, *stripe_key;
	struct product p;
	enum pb_err err;

	memset(why, 0, sizeof(*why));
	*retry_after_s = 0;
	if (!app->conf->guest_payments)
		return PB_ENOTFOUND;
	problem = accounts_check_email(email, strlen(email));
	if (problem != NULL)
		return payments_refuse(why, PB_EFIELDS, "email", NULL, problem);
	if (name != NULL && (problem = accounts_check_name(name, strlen(name))) != NULL)
		return payments_refuse(why, PB_EFIELDS, "name", NULL, problem);
	norm = normalized(a, email);
	if (norm == NULL)
		return PB_ENOMEM;
	/* Counted before anything else happens, refused input included: probing costs too. */
	accounts_client_key(client, client_key, sizeof(client_key));
	bucket = arena_printf(a, "guest-ip:%s", client_key);
	if (bucket == NULL)
		return PB_ENOMEM;
	err = admit(app, a, bucket, app->conf->guest_rate_per_ip, retry_after_s);
	if (err == PB_OK) {
		bucket = arena_printf(a, "guest-email:%s", norm);
		err = bucket != NULL ? admit(app, a, bucket, app->conf->guest_rate_per_email,
		    retry_after_s) : PB_ENOMEM;
	}
	if (err != PB_OK)
		return err;
	err = payments_priced(app, a, product_id, quantity, &p, why);
	if (err == PB_OK)
		err = customer_for(app, a, email, norm, name, &customer, why);
	if (err != PB_OK)
		return err;
	{
		/* One intent per (address, key); without a key, one per request. */
		const struct digest_part parts[] = {
			{ norm, strlen(norm) }, { "\n", 1 },
			{ key != NULL ? key : request_id, strlen(key != NULL ? key : request_id) },
		};

		err = short_hash(parts, 3, tag);
	}
	stripe_key = err == PB_OK ? arena_printf(a, "paybridge-guest-pi-%s-%s",
	    key != NULL ? "k" : "r", tag) : NULL;
	if (stripe_key == NULL)
		return PB_ENOMEM;
	err = payments_make_intent(app, a,
	    &(struct intent_for){ .guest_email = email, .customer = customer,
		.receipt_email = email }, &p, quantity, stripe_key, out, why);
	if (err == PB_ECONFLICT || (err == PB_ESTRIPE && !why->stripe_down &&
	    strcmp(stripe_last_error(app->stripe)->type, "idempotency_error") == 0))
		return payments_refuse(why, PB_ECONFLICT, NULL, "idempotency_key_reused",
		    "this Idempotency-Key was used with another request");
	return err;
}

enum pb_err
guest_prune(struct app *app, uint64_t limit, uint64_t *deleted)
{
	return repo_rate_prune(app->db, (int64_t)app->conf->guest_rate_window + RATE_KEEP_S, limit,
	    deleted);
}
