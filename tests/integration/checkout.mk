# Checkout and subscriptions (issue 11): tests/integration/run.sh BUILD tests/integration/test_checkout.
noinst_PROGRAMS += tests/integration/test_checkout
tests_integration_test_checkout_SOURCES = tests/integration/test_checkout.c \
	tests/integration/itest.c tests/integration/itest.h tests/unit/unit.h
tests_integration_test_checkout_CFLAGS = $(AM_CFLAGS) $(CUNIT_CFLAGS) $(CURL_CFLAGS) \
	$(JSONC_CFLAGS) -pthread
tests_integration_test_checkout_LDADD = $(CUNIT_LIBS) $(CURL_LIBS) $(JSONC_LIBS) -lpthread
