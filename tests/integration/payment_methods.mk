# The caller's payment methods and setup intents (issue 9): tests/integration/run.sh BUILD
# tests/integration/test_payment_methods.
noinst_PROGRAMS += tests/integration/test_payment_methods
tests_integration_test_payment_methods_SOURCES = tests/integration/test_payment_methods.c \
	tests/integration/itest.c tests/integration/itest.h tests/unit/unit.h
tests_integration_test_payment_methods_CFLAGS = $(AM_CFLAGS) $(CUNIT_CFLAGS) $(CURL_CFLAGS) \
	$(JSONC_CFLAGS) -pthread
tests_integration_test_payment_methods_LDADD = $(CUNIT_LIBS) $(CURL_LIBS) $(JSONC_LIBS) \
	-lpthread
