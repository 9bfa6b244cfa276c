/* Shared by services/webhooks.c (the transaction) and services/webhook_effects.c. */
#ifndef PB_SERVICES_WEBHOOKS_INTERNAL_H
#define PB_SERVICES_WEBHOOKS_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>

#include "util/err.h"
#include "util/metrics.h"

struct arena;
struct db;

/* One parsed event. Strings are borrowed from root (or the arena). */
struct wh_event {
	const char *id;
	const char *type;
	const char *api_version;	/* NULL when absent */
	int64_t created;
	bool livemode;
	struct json_object *root;	/* the whole event; owned by the caller */
	struct json_object *object;	/* data.object, borrowed from root */
	const char *object_id;		/* NULL when absent */
	/*
	 * Not an event: the object as Stripe answered our own request just now (a check on
	 * read, confirm, cancel). It wins a tie with an event of the same second.
	 */
	bool fresh_read;
};

/*
 * Parses and checks the event fields (id, type, created, livemode, data.object).
 * PB_EINVAL with *why (static) when something needed is missing.
 */
enum pb_err webhook_event_parse(struct json_object *root, struct wh_event *e,
    const char **why);

/* The metrics class of an event type. */
enum metrics_event_class webhook_event_class(const char *type);

/*
 * Applies e's effects inside the caller's transaction; *changed says whether any row
 * changed (else the event is only stored). An error rolls the transaction back.
 */
enum pb_err webhook_apply(struct db *db, struct arena *a, const struct wh_event *e,
    bool *changed);

/*
 * A payment intent's state, as webhook_apply takes it from payment_intent.* events; also
 * what a read applies when it retrieves the intent from Stripe (services/payments.c),
 * with e->created the time of the retrieval, so that the same guard decides.
 */
enum pb_err webhook_apply_payment_intent(struct db *db, struct arena *a,
    const struct wh_event *e, bool *changed);

/*
 * A subscription's state, as webhook_apply takes it from customer.subscription.* events;
 * also what a cancel applies from Stripe's answer (services/subscriptions.c), with
 * e->created the latest time the object itself carries, so that the same guard decides.
 */
enum pb_err webhook_apply_subscription(struct db *db, struct arena *a,
    const struct wh_event *e, bool *changed);

/* customer.updated and customer.deleted (webhook_customers.c), as webhook_apply. */
enum pb_err webhook_apply_customer(struct db *db, struct arena *a, const struct wh_event *e,
    bool *changed);

#endif
