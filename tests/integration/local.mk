# Integration tests need running servers (MariaDB, the Stripe emulator, ...), so they are
# built by `make` but not run by `make check`: each has a run-*.sh that starts what it
# needs in a private directory under .run/ and exits with the test's status.

# The storage layer against a real MariaDB: tests/integration/run-repo.sh
noinst_PROGRAMS += tests/integration/test_repo
tests_integration_test_repo_SOURCES = tests/integration/test_repo.c tests/unit/unit.h
tests_integration_test_repo_CFLAGS = $(AM_CFLAGS) $(CUNIT_CFLAGS) -pthread
tests_integration_test_repo_LDFLAGS = $(AM_LDFLAGS) -pthread
tests_integration_test_repo_LDADD = src/libpaybridge.a $(PB_LIBS) $(CUNIT_LIBS)
EXTRA_DIST += tests/integration/run-repo.sh

# Payment methods (issue 9).
include tests/integration/payment_methods.mk

# Hostile input (issue 14).
include tests/integration/hostile.mk
