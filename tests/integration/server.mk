# The server's integration test program (run by tests/integration/run.sh, not by make check:
# it needs the whole stack).
noinst_PROGRAMS += tests/integration/test_server
tests_integration_test_server_SOURCES = tests/integration/test_server.c \
	tests/integration/itest.c tests/integration/itest.h tests/unit/unit.h
tests_integration_test_server_CFLAGS = $(AM_CFLAGS) $(CUNIT_CFLAGS) $(CURL_CFLAGS) $(JSONC_CFLAGS) -pthread
tests_integration_test_server_LDADD = $(CUNIT_LIBS) $(CURL_LIBS) $(JSONC_LIBS) -lpthread
# The pool under pressure (issue 13): run by tests/integration/run-pressure.sh.
noinst_PROGRAMS += tests/integration/test_pressure
tests_integration_test_pressure_SOURCES = tests/integration/test_pressure.c \
	tests/integration/itest.c tests/integration/itest.h tests/unit/unit.h
tests_integration_test_pressure_CFLAGS = $(AM_CFLAGS) $(CUNIT_CFLAGS) $(CURL_CFLAGS) $(JSONC_CFLAGS) -pthread
tests_integration_test_pressure_LDADD = $(CUNIT_LIBS) $(CURL_LIBS) $(JSONC_LIBS) -lpthread
EXTRA_DIST += tests/integration/run.sh tests/integration/stack.sh tests/integration/run-cli.sh \
	tests/integration/run-pressure.sh \
	tests/browser/package.json tests/browser/package-lock.json \
	tests/browser/signup.test.mjs tests/browser/run.sh

# Customer creation under Stripe faults (issue 4).
noinst_PROGRAMS += tests/integration/test_customers
tests_integration_test_customers_SOURCES = tests/integration/test_customers.c \
	tests/integration/itest.c tests/integration/itest.h tests/unit/unit.h
tests_integration_test_customers_CFLAGS = $(AM_CFLAGS) $(CUNIT_CFLAGS) $(CURL_CFLAGS) $(JSONC_CFLAGS) -pthread
tests_integration_test_customers_LDADD = $(CUNIT_LIBS) $(CURL_LIBS) $(JSONC_LIBS) -lpthread
