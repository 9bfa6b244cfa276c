#include "config.h"

#include "repo/db.h"
#include "services/health.h"
#include "util/conf.h"

enum pb_err
health_ready(struct app *app)
{
	int64_t bound_us = app->conf->readyz_timeout_ms * 1000;

	if (db_seat_oldest_us(app->db) > bound_us)
		return PB_EDB;
	return db_ping(app->db, app->conf->readyz_timeout_ms);
}
