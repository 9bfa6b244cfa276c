# Stripe webhooks through the whole stack (issue 7): tests/integration/run.sh BUILD
# tests/integration/test_webhooks. Events are signed with OpenSSL's HMAC in the test.
noinst_PROGRAMS += tests/integration/test_webhooks
tests_integration_test_webhooks_SOURCES = tests/integration/test_webhooks.c \
	tests/integration/itest.c tests/integration/itest.h \
	tests/integration/itest_sign.c tests/integration/itest_sign.h tests/unit/unit.h
tests_integration_test_webhooks_CFLAGS = $(AM_CFLAGS) $(CUNIT_CFLAGS) $(CURL_CFLAGS) \
	$(JSONC_CFLAGS) $(OPENSSL_CFLAGS) -pthread \
	-DPB_FIXTURES_DIR='"$(abs_top_srcdir)/tests/fixtures/stripe/events"'
tests_integration_test_webhooks_LDADD = $(CUNIT_LIBS) $(CURL_LIBS) $(JSONC_LIBS) \
	$(OPENSSL_LIBS) -lpthread
# Profile sync both ways (issue 8): tests/integration/run.sh BUILD
# tests/integration/test_profile.
noinst_PROGRAMS += tests/integration/test_profile
tests_integration_test_profile_SOURCES = tests/integration/test_profile.c \
	tests/integration/itest.c tests/integration/itest.h \
	tests/integration/itest_sign.c tests/integration/itest_sign.h tests/unit/unit.h
tests_integration_test_profile_CFLAGS = $(AM_CFLAGS) $(CUNIT_CFLAGS) $(CURL_CFLAGS) \
	$(JSONC_CFLAGS) $(OPENSSL_CFLAGS) -pthread
tests_integration_test_profile_LDADD = $(CUNIT_LIBS) $(CURL_LIBS) $(JSONC_LIBS) \
	$(OPENSSL_LIBS) -lpthread
