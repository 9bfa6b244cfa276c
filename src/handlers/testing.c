#include "config.h"

#ifdef PB_TEST_ROUTES
#include <stdint.h>
#include <unistd.h>

#include "handlers/testing.h"
#include "services/app.h"
#include "services/customers.h"
#include "util/conf.h"
#include "util/proc.h"
#include "util/strnum.h"
#include "util/timeutil.h"

enum pb_err
handle_test_sleep(struct app *app, struct request *req, struct response *resp)
{
	struct json_object *data;
	struct form q;
	const char *ms;
	long long n = 0;
	enum pb_err err;

	(void)app;
	err = request_query(req, &q);
	if (err != PB_OK)
		return err;
	ms = form_get(&q, "ms");
	if (ms != NULL && strnum_parse(ms, 10, 0, 600000, &n) != PB_OK)
		return PB_EINVAL;
	time_sleep_us(n * 1000);
	data = json_object_new_object();
	if (data == NULL)
		return PB_ENOMEM;
	json_object_object_add(data, "pid", json_object_new_int(proc_self()));
	err = response_data(resp, 200, data);
	json_object_put(data);
	return err;
}

enum pb_err
handle_test_echo(struct app *app, struct request *req, struct response *resp)
{
	(void)app;
	return response_data(resp, 200, req->json);
}

enum pb_err
handle_test_customer(struct app *app, struct request *req, struct response *resp)
{
	char id[CUSTOMER_ID_MAX + 1];
	struct json_object *data;
	long long user_id;
	enum pb_err err;

	if (strnum_parse(request_route_param(req, "id"), 10, 1, INT64_MAX, &user_id) != PB_OK)
		return PB_ENOTFOUND;
	err = customers_get_or_create(app, (uint64_t)user_id, CUSTOMER_SOURCE_LAZY,
	    app->conf->customer_inline_budget_ms, id, sizeof(id));
	if (err != PB_OK)
		return err;
	data = json_object_new_object();
	if (data == NULL)
		return PB_ENOMEM;
	json_object_object_add(data, "stripeCustomerId", json_object_new_string(id));
	err = response_data(resp, 200, data);
	json_object_put(data);
	return err;
}
#endif
