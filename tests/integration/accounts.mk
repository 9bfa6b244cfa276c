# Accounts end to end (issue 4): signup, login, throttling and tokens through nginx and
# Apache, plus services/accounts against the stack's MariaDB in-process. Built by `make`,
# run by tests/integration/run.sh BUILDDIR tests/integration/test_accounts (it needs the
# whole stack). Included from the top Makefile.am.
noinst_PROGRAMS += tests/integration/test_accounts
tests_integration_test_accounts_SOURCES = tests/integration/test_accounts.c \
	tests/integration/itest.c tests/integration/itest.h tests/unit/unit.h
tests_integration_test_accounts_CFLAGS = $(AM_CFLAGS) $(CUNIT_CFLAGS) -pthread
tests_integration_test_accounts_LDFLAGS = $(AM_LDFLAGS) -pthread
tests_integration_test_accounts_LDADD = src/libpaybridge.a $(PB_LIBS) $(CUNIT_LIBS)
