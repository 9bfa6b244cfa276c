/* services/outbox: the name a process leases jobs under ("host:pid", host_id first). */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "services/outbox.h"
#include "unit.h"

static void
test_host_id_names_the_host(void)
{
	char want[96];

	outbox_set_host("host-a");
	(void)snprintf(want, sizeof(want), "host-a:%ld", (long)getpid());
	CU_ASSERT_STRING_EQUAL(outbox_owner(), want);
	/* Fits leased_by (64 characters) whatever host_id says. */
	outbox_set_host("a-very-long-host-name-that-goes-on-and-on-and-on-past-any-column");
	CU_ASSERT(strlen(outbox_owner()) <= 64);
	CU_ASSERT_STRING_EQUAL(strchr(outbox_owner(), ':') + 1, want + strlen("host-a:"));
}

static void
test_empty_is_the_machine_name(void)
{
	char host[64], want[96];

	outbox_set_host("");
	CU_ASSERT_FATAL(gethostname(host, sizeof(host)) == 0);
	host[48] = '\0';
	(void)snprintf(want, sizeof(want), "%s:%ld", host, (long)getpid());
	CU_ASSERT_STRING_EQUAL(outbox_owner(), want);
}

static const struct unit_test tests[] = {
	UNIT_TEST(test_host_id_names_the_host),
	UNIT_TEST(test_empty_is_the_machine_name),
};

UNIT_MAIN("outbox_owner", tests)
