/*
 * /v1/products (see products.h): decode the query, call services/catalog, encode. The
 * cursor is the last id of a page, so pages stay right while products are added or
 * archived between two requests (keyset pagination; an offset would skip or repeat).
 */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>

#include "handlers/handlers_private.h"
#include "handlers/products.h"
#include "services/app.h"
#include "services/catalog.h"

static enum pb_err
answer_not_found(struct response *resp)
{
	return response_error(resp, PB_ENOTFOUND, "not_found", "no such product", NULL);
}

static struct json_object *
product_item(const void *item)
{
	return catalog_product_json_new(item, false);
}

enum pb_err
handle_products_list(struct app *app, struct request *req, struct response *resp)
{
	struct json_object *fields = NULL;
	struct product *list;
	uint64_t after;
	char next[24] = "";
	size_t limit, n;
	bool more;
	enum pb_err err;

	err = handlers_page_id(req, &limit, &after, &fields);
	if (err == PB_EFIELDS)
		return handlers_answer_fields(resp, fields);
	if (err != PB_OK)
		return err;
	err = catalog_list(app, req->arena, true, after, limit, &list, &n, &more);
	if (err != PB_OK)
		return err;
	if (n > 0)
		(void)snprintf(next, sizeof(next), "%" PRIu64, list[n - 1].id);
	return handlers_answer_items(resp, list, n, sizeof(*list), product_item, more, next);
}

enum pb_err
handle_products_get(struct app *app, struct request *req, struct response *resp)
{
	struct json_object *data;
	struct product p;
	enum pb_err err;

	/* Not a number is nobody's id (handlers_route_id gives 0). */
	err = catalog_get_active(app, req->arena, handlers_route_id(req), &p);
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
