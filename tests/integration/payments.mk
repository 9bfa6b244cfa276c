# Payments (issue 9): tests/integration/run.sh BUILD tests/integration/test_payments.
noinst_PROGRAMS += tests/integration/test_payments
tests_integration_test_payments_SOURCES = tests/integration/test_payments.c \
	tests/integration/itest.c tests/integration/itest.h tests/unit/unit.h
tests_integration_test_payments_CFLAGS = $(AM_CFLAGS) $(CUNIT_CFLAGS) $(CURL_CFLAGS) \
	$(JSONC_CFLAGS) -pthread
tests_integration_test_payments_LDADD = $(CUNIT_LIBS) $(CURL_LIBS) $(JSONC_LIBS) -lpthread
