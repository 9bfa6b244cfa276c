/* repo/db_conn: db_host's list of servers (Galera nodes, a primary and its fallback). */
#include "config.h"

#include <string.h>

#include "repo/db_private.h"
#include "unit.h"

static void
test_empty_and_localhost_mean_the_socket(void)
{
	struct db_endpoint ep[DB_MAX_ENDPOINTS];
	size_t n = 99;

	CU_ASSERT_EQUAL(db_endpoints_parse("", 3306, ep, DB_MAX_ENDPOINTS, &n), PB_OK);
	CU_ASSERT_EQUAL(n, 0);
	CU_ASSERT_EQUAL(db_endpoints_parse(" , ", 3306, ep, DB_MAX_ENDPOINTS, &n), PB_OK);
	CU_ASSERT_EQUAL(n, 0);
	CU_ASSERT_EQUAL(db_endpoints_parse("localhost", 3306, ep, DB_MAX_ENDPOINTS, &n), PB_OK);
	CU_ASSERT_EQUAL(n, 0);
	/* With a port, localhost is a TCP server like any other. */
	CU_ASSERT_EQUAL(db_endpoints_parse("localhost:3307", 3306, ep, DB_MAX_ENDPOINTS, &n),
	    PB_OK);
	CU_ASSERT_EQUAL(n, 1);
	CU_ASSERT_EQUAL(ep[0].port, 3307);
}

static void
test_list(void)
{
	struct db_endpoint ep[DB_MAX_ENDPOINTS];
	size_t n = 0;

	CU_ASSERT_EQUAL(db_endpoints_parse("db1.example, 10.0.0.2:3307 [fd00::3]:3308 [::1],fd00::4",
	    3306, ep, DB_MAX_ENDPOINTS, &n), PB_OK);
	CU_ASSERT_EQUAL_FATAL(n, 5);
	CU_ASSERT_STRING_EQUAL(ep[0].host, "db1.example");
	CU_ASSERT_EQUAL(ep[0].port, 3306);
	CU_ASSERT_STRING_EQUAL(ep[1].host, "10.0.0.2");
	CU_ASSERT_EQUAL(ep[1].port, 3307);
	CU_ASSERT_STRING_EQUAL(ep[2].host, "fd00::3");
	CU_ASSERT_EQUAL(ep[2].port, 3308);
	CU_ASSERT_STRING_EQUAL(ep[3].host, "::1");
	CU_ASSERT_EQUAL(ep[3].port, 3306);
	CU_ASSERT_STRING_EQUAL(ep[4].host, "fd00::4");
	CU_ASSERT_EQUAL(ep[4].port, 3306);
}

static void
test_malformed(void)
{
	static const char *const bad[] = {
		"db:", "db:0", "db:65536", "db:33o6", "db:123456", "[fd00::1", "[]:3306",
		"[::1]3306", ":3306", "a,b,c,d,e,f,g,h,i",
	};
	struct db_endpoint ep[DB_MAX_ENDPOINTS];
	char longname[300];
	size_t n;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		n = 99;
		CU_ASSERT_EQUAL(db_endpoints_parse(bad[i], 3306, ep, DB_MAX_ENDPOINTS, &n),
		    PB_EINVAL);
		CU_ASSERT_EQUAL(n, 0);
	}
	memset(longname, 'a', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	CU_ASSERT_EQUAL(db_endpoints_parse(longname, 3306, ep, DB_MAX_ENDPOINTS, &n), PB_EINVAL);
	/* Exactly the maximum is fine. */
	CU_ASSERT_EQUAL(db_endpoints_parse("a b c d e f g h", 3306, ep, DB_MAX_ENDPOINTS, &n),
	    PB_OK);
	CU_ASSERT_EQUAL(n, DB_MAX_ENDPOINTS);
}

static const struct unit_test tests[] = {
	UNIT_TEST(test_empty_and_localhost_mean_the_socket),
	UNIT_TEST(test_list),
	UNIT_TEST(test_malformed),
};

UNIT_MAIN("db_endpoints", tests)
