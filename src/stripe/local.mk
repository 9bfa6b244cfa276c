# The Stripe client (see docs/STRIPE.md) and its unit tests. Tests against the Stripe
# emulator live in tests/integration/stripe.mk: they need a server, make check does not.
src_libpaybridge_a_SOURCES += \
	src/stripe/billing_portal.c \
	src/stripe/call.c \
	src/stripe/checkout.c \
	src/stripe/client.c src/stripe/client.h \
	src/stripe/customers.c \
	src/stripe/error.c \
	src/stripe/events.c \
	src/stripe/form.c src/stripe/form.h \
	src/stripe/internal.h \
	src/stripe/payment_intents.c \
	src/stripe/payment_methods.c \
	src/stripe/products.c \
	src/stripe/refunds.c \
	src/stripe/subscriptions.c \
	src/stripe/webhook.c src/stripe/webhook.h

check_PROGRAMS += tests/unit/test_stripe_form tests/unit/test_stripe_webhook \
	tests/unit/test_stripe_error
TESTS += tests/unit/test_stripe_form tests/unit/test_stripe_webhook \
	tests/unit/test_stripe_error
tests_unit_test_stripe_form_SOURCES = tests/unit/test_stripe_form.c tests/unit/unit.h
tests_unit_test_stripe_form_CFLAGS = $(AM_CFLAGS) $(CUNIT_CFLAGS)
tests_unit_test_stripe_form_LDADD = src/libpaybridge.a $(PB_LIBS) $(CUNIT_LIBS)
tests_unit_test_stripe_webhook_SOURCES = tests/unit/test_stripe_webhook.c tests/unit/unit.h
tests_unit_test_stripe_webhook_CFLAGS = $(AM_CFLAGS) $(CUNIT_CFLAGS)
tests_unit_test_stripe_webhook_LDADD = src/libpaybridge.a $(PB_LIBS) $(CUNIT_LIBS)
tests_unit_test_stripe_error_SOURCES = tests/unit/test_stripe_error.c tests/unit/unit.h
tests_unit_test_stripe_error_CFLAGS = $(AM_CFLAGS) $(CUNIT_CFLAGS)
tests_unit_test_stripe_error_LDADD = src/libpaybridge.a $(PB_LIBS) $(CUNIT_LIBS)

# Setup intents (issue 9: payment methods).
src_libpaybridge_a_SOURCES += src/stripe/setup_intents.c
