#include "config.h"

#include "services/app.h"
#include "services/orders.h"

enum pb_err
orders_get(struct app *app, struct arena *a, uint64_t user_id, uint64_t id,
    struct order_view *out)
{
	/* user_id 0 would mean "anyone's" to the repository: nobody is user 0 here. */
	if (user_id == 0 || id == 0)
		return PB_ENOTFOUND;
	return repo_orders_get(app->db, a, id, user_id, out);
}

enum pb_err
orders_list(struct app *app, struct arena *a, uint64_t user_id, uint64_t starting_after,
    size_t limit, struct order_view **items, size_t *n, bool *more)
{
	if (user_id == 0)
		return PB_ENOTFOUND;
	return repo_orders_list(app->db, a, user_id, starting_after, limit, items, n, more);
}
