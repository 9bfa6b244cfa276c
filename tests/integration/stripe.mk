# The Stripe client against the Stripe emulator. Included from tests/integration/local.mk.
# Built by "make" (noinst), never run by "make check": it needs Python and starts
# servers. Run it with tests/integration/run-stripe-client.sh BUILD_DIR.
noinst_PROGRAMS += tests/integration/test_stripe_client
tests_integration_test_stripe_client_SOURCES = tests/integration/test_stripe_client.c \
	tests/unit/unit.h
tests_integration_test_stripe_client_CPPFLAGS = $(AM_CPPFLAGS) -DPB_SRCDIR='"$(abs_top_srcdir)"'
tests_integration_test_stripe_client_CFLAGS = $(AM_CFLAGS) $(CUNIT_CFLAGS)
tests_integration_test_stripe_client_LDADD = src/libpaybridge.a $(PB_LIBS) $(CUNIT_LIBS)
EXTRA_DIST += tests/integration/run-stripe-client.sh
