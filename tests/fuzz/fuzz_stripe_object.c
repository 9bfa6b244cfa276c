/*
 * libFuzzer target for Stripe's answers: the body of a 2xx, parsed as the client parses
 * it (json_parse, depth 64, an object at the top), then read by every typed reader
 * (stripe_*_from_json) as a call's answer or an event's data.object would be. Checked:
 * an accepted object has its reference and a non-empty id, its metadata is an object or
 * NULL, its strings are readable; one refused leaves nothing behind; freeing releases
 * every reference (libFuzzer's leak check sees a missed put). An accepted event's
 * data.object goes through the readers again.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "stripe/client.h"
#include "util/json.h"

#define RESPONSE_DEPTH 64	/* as stripe/client.c */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static size_t touched;

/* Reads s to its end, so a dangling or unterminated string shows under ASan. */
static void
touch(const char *s)
{
	if (s != NULL)
		touched += strlen(s);
}

static void
check_common(enum pb_err err, struct json_object *raw, const char *id,
    struct json_object *metadata)
{
	if (err != PB_OK && err != PB_ESTRIPE)
		abort();
	if (err != PB_OK)
		return;
	if (raw == NULL || id == NULL || id[0] == '\0')
		abort();
	if (metadata != NULL && !json_object_is_type(metadata, json_type_object))
		abort();
	touch(id);
}

/* Runs every reader over obj; an event's data.object through them too (once). */
static void
read_all(struct json_object *obj, int nested)
{
	enum pb_err err;

	{
		struct stripe_customer o;

		memset(&o, 0, sizeof(o));
		err = stripe_customer_from_json(obj, &o);
		check_common(err, o.raw, o.id, o.metadata);
		touch(o.name);
		touch(o.email);
		touch(o.default_payment_method);
		stripe_customer_free(&o);
	}
	{
		struct stripe_payment_intent o;

		memset(&o, 0, sizeof(o));
		err = stripe_payment_intent_from_json(obj, &o);
		check_common(err, o.raw, o.id, o.metadata);
		touch(o.status);
		touch(o.customer);
		touch(o.payment_method);
		touch(o.next_action_type);
		touch(o.last_error_code);
		touch(o.last_error_message);
		stripe_payment_intent_free(&o);
	}
	{
		struct stripe_payment_method o;

		memset(&o, 0, sizeof(o));
		err = stripe_payment_method_from_json(obj, &o);
		check_common(err, o.raw, o.id, o.metadata);
		touch(o.customer);
		touch(o.card_brand);
		touch(o.card_last4);
		stripe_payment_method_free(&o);
	}
	{
		struct stripe_checkout_session o;

		memset(&o, 0, sizeof(o));
		err = stripe_checkout_session_from_json(obj, &o);
		check_common(err, o.raw, o.id, o.metadata);
		touch(o.url);
		touch(o.payment_intent);
		touch(o.subscription);
		touch(o.client_reference_id);
		stripe_checkout_session_free(&o);
	}
	{
		struct stripe_refund o;

		memset(&o, 0, sizeof(o));
		err = stripe_refund_from_json(obj, &o);
		check_common(err, o.raw, o.id, o.metadata);
		touch(o.status);
		touch(o.payment_intent);
		touch(o.charge);
		stripe_refund_free(&o);
	}
	{
		struct stripe_portal_session o;

		memset(&o, 0, sizeof(o));
		err = stripe_portal_session_from_json(obj, &o);
		check_common(err, o.raw, o.id, NULL);
		touch(o.url);
		stripe_portal_session_free(&o);
	}
	{
		struct stripe_subscription o;

		memset(&o, 0, sizeof(o));
		err = stripe_subscription_from_json(obj, &o);
		check_common(err, o.raw, o.id, o.metadata);
		touch(o.status);
		touch(o.price);
		touch(o.latest_invoice);
		stripe_subscription_free(&o);
	}
	{
		struct stripe_setup_intent o;

		memset(&o, 0, sizeof(o));
		err = stripe_setup_intent_from_json(obj, &o);
		check_common(err, o.raw, o.id, o.metadata);
		touch(o.status);
		touch(o.usage);
		touch(o.last_error_message);
		stripe_setup_intent_free(&o);
	}
	{
		struct stripe_product o;

		memset(&o, 0, sizeof(o));
		err = stripe_product_from_json(obj, &o);
		check_common(err, o.raw, o.id, o.metadata);
		stripe_product_free(&o);
	}
	{
		struct stripe_price o;

		memset(&o, 0, sizeof(o));
		err = stripe_price_from_json(obj, &o);
		check_common(err, o.raw, o.id, NULL);
		stripe_price_free(&o);
	}
	{
		struct stripe_event o;

		memset(&o, 0, sizeof(o));
		err = stripe_event_from_json(obj, &o);
		check_common(err, o.raw, o.id, NULL);
		if (err == PB_OK) {
			touch(o.type);
			touch(o.request_id);
			touch(o.idempotency_key);
			if (o.object != NULL && !json_object_is_type(o.object, json_type_object))
				abort();
			if (o.object != NULL && nested == 0)
				read_all(o.object, 1);
		}
		stripe_event_free(&o);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct json_object *root = NULL;

	/* "null" parses, to no object at all: nothing to read. */
	if (json_parse((const char *)data, size, RESPONSE_DEPTH, &root) != PB_OK || root == NULL)
		return 0;
	if (json_object_is_type(root, json_type_object))
		read_all(root, 0);
	/* Every reader took and gave back its own reference: ours is the last. */
	if (json_object_put(root) != 1)
		abort();
	return 0;
}
