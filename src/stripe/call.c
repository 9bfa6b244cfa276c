/*
 * What every resource file is built on: one call parsed into a typed struct, lists
 * followed across pages, and readers for Stripe's JSON that accept both the shapes of
 * the pinned version and of newer ones (an expandable field is a string or an object).
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "stripe/internal.h"
#include "util/json.h"

const char *
stripe_json_str(struct json_object *o, const char *key)
{
	return o != NULL ? json_get_str(o, key) : NULL;
}

int64_t
stripe_json_int(struct json_object *o, const char *key)
{
	int64_t v = 0;

	if (o == NULL || !json_get_int64(o, key, &v))
		return 0;
	return v;
}

bool
stripe_json_bool(struct json_object *o, const char *key)
{
	bool v = false;

	if (o == NULL || !json_get_bool(o, key, &v))
		return false;
	return v;
}

struct json_object *
stripe_json_obj(struct json_object *o, const char *key)
{
	struct json_object *v;

	if (o == NULL || !json_object_object_get_ex(o, key, &v) ||
	    !json_object_is_type(v, json_type_object))
		return NULL;
	return v;
}

const char *
stripe_json_id(struct json_object *o, const char *key)
{
	const char *id = stripe_json_str(o, key);

	return id != NULL ? id : stripe_json_str(stripe_json_obj(o, key), "id");
}

enum pb_err
stripe_json_begin(struct json_object *obj, const char *kind, struct json_object **raw,
    const char **id)
{
	const char *object = stripe_json_str(obj, "object");

	if (obj == NULL || !json_object_is_type(obj, json_type_object) || object == NULL ||
	    strcmp(object, kind) != 0)
		return PB_ESTRIPE;
	*id = stripe_json_str(obj, "id");
	if (*id == NULL || (*id)[0] == '\0')
		return PB_ESTRIPE;
	*raw = json_object_get(obj);
	return PB_OK;
}

enum pb_err
stripe_call(struct stripe *s, const char *method, const char *prefix, const char *id,
    const char *suffix, const struct stripe_form *form, const char *idempotency_key,
    stripe_parse_fn parse, void *out)
{
	char path[STRIPE_PATH_MAX];
	struct json_object *obj = NULL;
	enum pb_err err;

	if (id != NULL) {
		if (stripe_path(path, sizeof(path), prefix, id, suffix) != PB_OK)
			return stripe_fail(s, PB_EINVAL, "invalid object id");
	} else if (strlen(prefix) >= sizeof(path)) {
		return stripe_fail(s, PB_EINVAL, "path too long");
	} else {
		memcpy(path, prefix, strlen(prefix) + 1);
	}
	err = stripe_request(s, method, path, form, idempotency_key, &obj);
	if (err != PB_OK)
		return err;
	err = parse(obj, out);
	json_object_put(obj);
	if (err != PB_OK)
		return stripe_fail(s, err, "unexpected object in Stripe's answer");
	return PB_OK;
}

/* Builds one page's query: the caller's parameters, then limit and the cursor. */
static enum pb_err
page_query(struct stripe_form *q, const struct stripe_form *base, size_t limit, bool search,
    const char *cursor)
{
	stripe_form_init(q);
	if (base != NULL && base->err != PB_OK)
		return base->err;
	if (base != NULL && stripe_form_len(base) > 0 &&
	    buf_append(&q->b, stripe_form_text(base), stripe_form_len(base)) != PB_OK)
		return PB_ENOMEM;
	(void)stripe_form_add_int(q, "limit", (long long)limit);
	if (cursor != NULL)
		(void)stripe_form_add(q, search ? "page" : "starting_after", cursor);
	return q->err;
}

/* GETs every page into items, a JSON array of at most max elements. */
static enum pb_err
fetch_pages(struct stripe *s, const char *path, const struct stripe_form *query,
    const char *start, size_t max, bool search, struct json_object *items, bool *has_more)
{
	char *cursor = NULL;
	enum pb_err err = PB_OK;

	*has_more = false;
	if (start != NULL && start[0] != '\0') {
		cursor = strdup(start);
		if (cursor == NULL)
			return stripe_fail(s, PB_ENOMEM, "out of memory");
	}
	while (json_object_array_length(items) < max) {
		struct stripe_form q;
		struct json_object *page = NULL, *data;
		const char *object, *next = NULL;
		size_t have = json_object_array_length(items), n;
		bool more;

		err = page_query(&q, query, max - have < 100 ? max - have : 100, search, cursor);
		if (err == PB_OK)
			err = stripe_request(s, "GET", path, &q, NULL, &page);
		else
			err = stripe_fail(s, err, "invalid list parameters");
		stripe_form_free(&q);
		if (err != PB_OK)
			break;
		object = stripe_json_str(page, "object");
		if (object == NULL ||
		    strcmp(object, search ? "search_result" : "list") != 0 ||
		    !json_object_object_get_ex(page, "data", &data) ||
		    !json_object_is_type(data, json_type_array)) {
			json_object_put(page);
			err = stripe_fail(s, PB_ESTRIPE, "Stripe's answer is not a list");
			break;
		}
		more = stripe_json_bool(page, "has_more");
		n = json_object_array_length(data);
		for (size_t i = 0; i < n; i++) {
			struct json_object *it = json_object_array_get_idx(data, i);

			if (json_object_array_length(items) == max) {
				more = true;
				break;
			}
			if (json_object_array_add(items, json_object_get(it)) != 0) {
				json_object_put(it);
				err = stripe_fail(s, PB_ENOMEM, "out of memory");
				break;
			}
			next = search ? NULL : stripe_json_str(it, "id");
		}
		if (search)
			next = stripe_json_str(page, "next_page");
		free(cursor);
		cursor = next != NULL && more ? strdup(next) : NULL;
		json_object_put(page);
		*has_more = more;
		if (err != PB_OK || !more)
			break;
		if (cursor == NULL) {
			if (next != NULL)
				err = stripe_fail(s, PB_ENOMEM, "out of memory");
			/* More is said to exist, but there is no cursor to reach it: stop. */
			break;
		}
	}
	free(cursor);
	return err;
}

enum pb_err
stripe_list(struct stripe *s, const char *path, const struct stripe_form *query,
    const char *start, size_t max, bool search, stripe_parse_fn parse, size_t elem_size, void **items, size_t *n,
    bool *has_more)
{
	struct json_object *all;
	unsigned char *arr = NULL;
	size_t count = 0;
	enum pb_err err;

	*items = NULL;
	*n = 0;
	*has_more = false;
	if (max == 0)
		max = STRIPE_LIST_DEFAULT;
	if (max > STRIPE_LIST_CAP)
		max = STRIPE_LIST_CAP;
	all = json_object_new_array();
	if (all == NULL)
		return stripe_fail(s, PB_ENOMEM, "out of memory");
	err = fetch_pages(s, path, query, start, max, search, all, has_more);
	if (err != PB_OK)
		goto out;
	count = json_object_array_length(all);
	if (count > 0) {
		arr = calloc(count, elem_size);
		if (arr == NULL) {
			err = stripe_fail(s, PB_ENOMEM, "out of memory");
			goto out;
		}
	}
	for (size_t i = 0; i < count; i++) {
		err = parse(json_object_array_get_idx(all, i), arr + i * elem_size);
		if (err != PB_OK) {
			/* The caller frees what was parsed through the typed list's free. */
			count = i;
			err = stripe_fail(s, err, "unexpected object in a Stripe list");
			break;
		}
	}
	*items = arr;
	*n = count;
out:
	json_object_put(all);
	return err;
}
