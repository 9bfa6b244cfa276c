# Live status (issue 11): tests/integration/run.sh BUILD tests/integration/test_live.
noinst_PROGRAMS += tests/integration/test_live
tests_integration_test_live_SOURCES = tests/integration/test_live.c \
	tests/integration/itest.c tests/integration/itest.h tests/unit/unit.h
tests_integration_test_live_CFLAGS = $(AM_CFLAGS) $(CUNIT_CFLAGS) $(CURL_CFLAGS) \
	$(JSONC_CFLAGS) -pthread
tests_integration_test_live_LDADD = $(CUNIT_LIBS) $(CURL_LIBS) $(JSONC_LIBS) -lpthread
