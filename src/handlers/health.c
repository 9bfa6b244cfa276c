#include "config.h"

#include <unistd.h>

#include "handlers/health.h"
#include "services/app.h"
#include "services/health.h"
#include "util/metrics.h"
#include "util/proc.h"
#include "util/timeutil.h"

#define METRICS_TEXT_MAX (1024 * 1024)

enum pb_err
handle_healthz(struct app *app, struct request *req, struct response *resp)
{
	struct json_object *data = json_object_new_object();
	enum pb_err err;

	(void)req;
	if (data == NULL)
		return PB_ENOMEM;
	json_object_object_add(data, "status", json_object_new_string("ok"));
	json_object_object_add(data, "version", json_object_new_string(PACKAGE_VERSION));
	json_object_object_add(data, "uptime_s",
	    json_object_new_int64((time_real_us() - app->started_us) / 1000000));
	json_object_object_add(data, "pid", json_object_new_int(proc_self()));
	err = response_data(resp, 200, data);
	json_object_put(data);
	return err;
}

enum pb_err
handle_readyz(struct app *app, struct request *req, struct response *resp)
{
	struct json_object *data;
	enum pb_err err;

	(void)req;
	err = health_ready(app);
	if (err == PB_EDB)
		return response_error(resp, PB_EDB, NULL, "the database does not answer", NULL);
	if (err != PB_OK)
		return err;
	data = json_object_new_object();
	if (data == NULL)
		return PB_ENOMEM;
	json_object_object_add(data, "status", json_object_new_string("ready"));
	json_object_object_add(data, "database", json_object_new_string("ok"));
	err = response_data(resp, 200, data);
	json_object_put(data);
	return err;
}

enum pb_err
handle_metrics(struct app *app, struct request *req, struct response *resp)
{
	struct buf text;
	enum pb_err err;

	(void)app;
	(void)req;
	buf_init(&text, METRICS_TEXT_MAX);
	err = metrics_render(&text);
	if (err == PB_OK)
		err = response_raw(resp, 200, "text/plain; version=0.0.4; charset=utf-8",
		    buf_cstr(&text), text.len);
	buf_free(&text);
	return err;
}
