/*
 * /v1/products (see products.h): decode the query, call services/catalog, encode. The
 * cursor is the last id of a page, so pages stay right while products are added or
 * archived between two requests (keyset pagination; an offset would skip or repeat).
 */
#include "config.h"

#include <inttypes.h>
#include <limits.h>
#include <stdio.h>

#include "handlers/handlers_private.h"
#include "handlers/products.h"
#include "services/app.h"
#include "services/catalog.h"
#include "util/strnum.h"

/*
 * Reads query parameter name as a number from min to max into *out (unchanged when it
 * is absent); a bad or repeated one adds message to *fields. false when out of memory.
 */
static bool
query_number(const struct form *q, const char *name, long long min, long long max,
    const char *message, long long *out, struct json_object **fields)
{
	const char *v = form_get(q, name);

	if (v == NULL)
		return true;
	if (form_count(q, name) == 1 && strnum_parse(v, 10, min, max, out) == PB_OK)
		return true;
	return handlers_field_error(fields, name, message);
}

static enum pb_err
answer_not_found(struct response *resp)
{
	return response_error(resp, PB_ENOTFOUND, "not_found", "no such product", NULL);
}

enum pb_err
handle_products_list(struct app *app, struct request *req, struct response *resp)
{
	struct json_object *fields = NULL, *data = NULL, *items, *o;
	long long limit = CATALOG_PAGE_DEFAULT, after = 0;
	struct product *list;
	char cursor[24];
	struct form q;
	bool more;
	size_t n;
	enum pb_err err;

	err = request_query(req, &q);
	if (err != PB_OK)
		return err;
	if (!query_number(&q, "limit", 1, CATALOG_PAGE_MAX, "must be a number from 1 to 100",
	    &limit, &fields) ||
	    !query_number(&q, "startingAfter", 0, LLONG_MAX,
	    "must be the nextCursor of the previous page", &after, &fields)) {
		json_object_put(fields);
		return PB_ENOMEM;
	}
	if (fields != NULL) {
		err = response_error(resp, PB_EFIELDS, "invalid_fields",
		    "some query parameters are invalid", fields);
		json_object_put(fields);
		return err;
	}
	err = catalog_list(app, req->arena, true, (uint64_t)after, (size_t)limit, &list, &n,
	    &more);
	if (err != PB_OK)
		return err;
	err = PB_ENOMEM;
	data = json_object_new_object();
	if (data == NULL)
		goto out;
	items = json_object_new_array();
	if (!handlers_json_add(data, "items", items))
		goto out;
	for (size_t i = 0; i < n; i++) {
		o = catalog_product_json_new(&list[i], false);
		if (o == NULL || json_object_array_add(items, o) != 0) {
			json_object_put(o);
			goto out;
		}
	}
	(void)snprintf(cursor, sizeof(cursor), "%" PRIu64, n > 0 ? list[n - 1].id : 0);
	if (!handlers_json_add(data, "hasMore", json_object_new_boolean(more)))
		goto out;
	/* No cursor past the last page: null, which handlers_json_add would take for a failure. */
	if (more ? !handlers_json_add(data, "nextCursor", json_object_new_string(cursor)) :
	    json_object_object_add(data, "nextCursor", NULL) != 0)
		goto out;
	err = response_data(resp, 200, data);
out:
	json_object_put(data);
	return err;
}

enum pb_err
handle_products_get(struct app *app, struct request *req, struct response *resp)
{
	const char *param = request_route_param(req, "id");
	struct json_object *data;
	struct product p;
	long long id;
	enum pb_err err;

	/* Not a number is nobody's id. */
	if (param == NULL || strnum_parse(param, 10, 1, LLONG_MAX, &id) != PB_OK)
		return answer_not_found(resp);
	err = catalog_get_active(app, req->arena, (uint64_t)id, &p);
	if (err == PB_ENOTFOUND)
		return answer_not_found(resp);
	if (err != PB_OK)
		return err;
	data = json_object_new_object();
	if (data == NULL || !handlers_json_add(data, "product", catalog_product_json_new(&p, false))) {
		json_object_put(data);
		return PB_ENOMEM;
	}
	err = response_data(resp, 200, data);
	json_object_put(data);
	return err;
}
