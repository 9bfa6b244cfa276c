/*
 * /v1/events: retrieve one, list with created[...] bounds across pages. Events come in
 * the API version of the account or endpoint that rendered them (api_version), which
 * need not be the version we pin: parse their objects with the *_from_json functions,
 * which read both shapes.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "stripe/internal.h"

enum pb_err
stripe_event_from_json(struct json_object *obj, struct stripe_event *out)
{
	struct json_object *data, *req;
	enum pb_err err;

	memset(out, 0, sizeof(*out));
	err = stripe_json_begin(obj, "event", &out->raw, &out->id);
	if (err != PB_OK)
		return err;
	out->type = stripe_json_str(obj, "type");
	out->api_version = stripe_json_str(obj, "api_version");
	out->created = stripe_json_int(obj, "created");
	out->livemode = stripe_json_bool(obj, "livemode");
	data = stripe_json_obj(obj, "data");
	out->object = stripe_json_obj(data, "object");
	out->previous_attributes = stripe_json_obj(data, "previous_attributes");
	/* request is {id, idempotency_key} since 2017-05-25, a bare id before. */
	req = stripe_json_obj(obj, "request");
	out->request_id = req != NULL ? stripe_json_str(req, "id") : stripe_json_str(obj, "request");
	out->idempotency_key = stripe_json_str(req, "idempotency_key");
	if (out->type == NULL || out->object == NULL) {
		stripe_event_free(out);
		return PB_ESTRIPE;
	}
	return PB_OK;
}

void
stripe_event_free(struct stripe_event *ev)
{
	if (ev == NULL)
		return;
	json_object_put(ev->raw);
	memset(ev, 0, sizeof(*ev));
}

void
stripe_event_list_free(struct stripe_event_list *l)
{
	if (l == NULL)
		return;
	for (size_t i = 0; i < l->n; i++)
		stripe_event_free(&l->items[i]);
	free(l->items);
	memset(l, 0, sizeof(*l));
}

static enum pb_err
parse(struct json_object *obj, void *out)
{
	return stripe_event_from_json(obj, out);
}

enum pb_err
stripe_event_retrieve(struct stripe *s, const char *id, struct stripe_event *out)
{
	memset(out, 0, sizeof(*out));
	return stripe_call(s, "GET", "/v1/events/", id, NULL, NULL, NULL, parse, out);
}

enum pb_err
stripe_event_list(struct stripe *s, const struct stripe_event_list_params *p,
    struct stripe_event_list *out)
{
	struct stripe_form f;
	void *items;
	size_t max;
	enum pb_err err;

	memset(out, 0, sizeof(*out));
	stripe_form_init(&f);
	if (p->created_gte > 0)
		(void)stripe_form_add_int(&f, "created[gte]", p->created_gte);
	if (p->created_gt > 0)
		(void)stripe_form_add_int(&f, "created[gt]", p->created_gt);
	if (p->created_lte > 0)
		(void)stripe_form_add_int(&f, "created[lte]", p->created_lte);
	if (p->created_lt > 0)
		(void)stripe_form_add_int(&f, "created[lt]", p->created_lt);
	if (p->type != NULL)
		(void)stripe_form_add(&f, "type", p->type);
	max = p->max;
	if (p->ending_before != NULL) {
		/*
		 * stripe_list pages on with starting_after, which Stripe refuses beside
		 * ending_before: ask for one page only (a full one ends stripe_list's loop).
		 */
		(void)stripe_form_add(&f, "ending_before", p->ending_before);
		if (p->starting_after != NULL || max == 0 || max > 100) {
			stripe_form_free(&f);
			return PB_EINVAL;
		}
	}
	err = stripe_list(s, "/v1/events", &f, p->starting_after, max, false, parse,
	    sizeof(struct stripe_event), &items, &out->n, &out->has_more);
	out->items = items;
	stripe_form_free(&f);
	if (err != PB_OK)
		stripe_event_list_free(out);
	return err;
}
