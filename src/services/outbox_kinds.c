/*
 * The table of job kinds: the one place that knows every service that queues outbox jobs,
 * so the outbox includes no service and no service includes another to run its jobs. A
 * new kind (update_customer, delete_customer, the payment jobs) is one line here, next to
 * its run function in the owning service's public header.
 */
#include "config.h"

#include <stddef.h>

#include "services/customers.h"
#include "services/outbox.h"
#include "services/profile.h"

const struct outbox_kind outbox_kinds[] = {
	{ CUSTOMERS_JOB_CREATE, customers_run_job },
	{ PROFILE_JOB_UPDATE, profile_run_update_job },
	{ PROFILE_JOB_DELETE, profile_run_delete_job },
	{ NULL, NULL },
};
