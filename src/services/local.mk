src_libpaybridge_a_SOURCES += \
	src/services/app.h
src_libpaybridge_a_SOURCES += \
	src/services/customers.c src/services/customers.h \
	src/services/health.c src/services/health.h \
	src/services/outbox.c src/services/outbox.h \
	src/services/outbox_kinds.c \
	src/services/profile.c src/services/profile.h
src_libpaybridge_a_SOURCES += \
	src/services/accounts.c src/services/accounts.h
src_libpaybridge_a_SOURCES += \
	src/services/idempotency.c src/services/idempotency.h \
	src/services/orders.c src/services/orders.h \
	src/services/payments.c src/services/payments.h src/services/payments_internal.h \
	src/services/payments_view.c \
	src/services/live.c src/services/live_wait.c src/services/live.h \
	src/services/guest_payments.c src/services/guest_payments.h

# Checkout, subscriptions and the billing portal (issue 11).
src_libpaybridge_a_SOURCES += \
	src/services/checkout.c src/services/checkout.h \
	src/services/subscriptions.c src/services/subscriptions.h
src_libpaybridge_a_SOURCES += \
	src/services/webhooks.c src/services/webhooks.h src/services/webhooks_internal.h \
	src/services/webhook_effects.c src/services/webhook_customers.c \
	src/services/webhook_rules.c src/services/webhook_rules.h

# The pure field and throttle rules of accounts.
check_PROGRAMS += tests/unit/test_accounts
TESTS += tests/unit/test_accounts
tests_unit_test_accounts_SOURCES = tests/unit/test_accounts.c tests/unit/unit.h
tests_unit_test_accounts_CFLAGS = $(AM_CFLAGS) $(CUNIT_CFLAGS)
tests_unit_test_accounts_LDADD = src/libpaybridge.a $(PB_LIBS) $(CUNIT_LIBS)

# The order-proof rule of webhook effects (issue 7).
check_PROGRAMS += tests/unit/test_webhook_rules
TESTS += tests/unit/test_webhook_rules
tests_unit_test_webhook_rules_SOURCES = tests/unit/test_webhook_rules.c tests/unit/unit.h
tests_unit_test_webhook_rules_CFLAGS = $(AM_CFLAGS) $(CUNIT_CFLAGS)
tests_unit_test_webhook_rules_LDADD = src/libpaybridge.a $(PB_LIBS) $(CUNIT_LIBS)

# The live status's long-poll rules and wake-up table (issue 11).
check_PROGRAMS += tests/unit/test_live
TESTS += tests/unit/test_live
tests_unit_test_live_SOURCES = tests/unit/test_live.c tests/unit/unit.h
tests_unit_test_live_CFLAGS = $(AM_CFLAGS) $(CUNIT_CFLAGS)
tests_unit_test_live_LDADD = src/libpaybridge.a $(PB_LIBS) $(CUNIT_LIBS)

# Nothing missed (issue 7): the /v1/events sync and replay.
src_libpaybridge_a_SOURCES += src/services/events_sync.c src/services/events_sync.h
check_PROGRAMS += tests/unit/test_events_sync
TESTS += tests/unit/test_events_sync
tests_unit_test_events_sync_SOURCES = tests/unit/test_events_sync.c tests/unit/unit.h
tests_unit_test_events_sync_CFLAGS = $(AM_CFLAGS) $(CUNIT_CFLAGS)
tests_unit_test_events_sync_LDADD = src/libpaybridge.a $(PB_LIBS) $(CUNIT_LIBS)

# Reconciliation (issue 8): the pure matching, and the walk with its repairs.
src_libpaybridge_a_SOURCES += src/services/reconcile.c src/services/reconcile.h \
	src/services/reconcile_run.c
check_PROGRAMS += tests/unit/test_reconcile
TESTS += tests/unit/test_reconcile
tests_unit_test_reconcile_SOURCES = tests/unit/test_reconcile.c tests/unit/unit.h
tests_unit_test_reconcile_CFLAGS = $(AM_CFLAGS) $(CUNIT_CFLAGS)
tests_unit_test_reconcile_LDADD = src/libpaybridge.a $(PB_LIBS) $(CUNIT_LIBS)

# The catalog (issue 9): product rules, reads and writes, and the Stripe mirror.
src_libpaybridge_a_SOURCES += src/services/catalog.c src/services/catalog.h \
	src/services/catalog_sync.c
check_PROGRAMS += tests/unit/test_catalog
TESTS += tests/unit/test_catalog
tests_unit_test_catalog_SOURCES = tests/unit/test_catalog.c tests/unit/unit.h
tests_unit_test_catalog_CFLAGS = $(AM_CFLAGS) $(CUNIT_CFLAGS)
tests_unit_test_catalog_LDADD = src/libpaybridge.a $(PB_LIBS) $(CUNIT_LIBS)

# The caller's payment methods and setup intents (issue 9).
src_libpaybridge_a_SOURCES += src/services/payment_methods.c src/services/payment_methods.h

# The pure rules of checkout and subscriptions (issue 11).
check_PROGRAMS += tests/unit/test_checkout
TESTS += tests/unit/test_checkout
tests_unit_test_checkout_SOURCES = tests/unit/test_checkout.c tests/unit/unit.h
tests_unit_test_checkout_CFLAGS = $(AM_CFLAGS) $(CUNIT_CFLAGS)
tests_unit_test_checkout_LDADD = src/libpaybridge.a $(PB_LIBS) $(CUNIT_LIBS)

# The name a process leases jobs under (host_id).
check_PROGRAMS += tests/unit/test_outbox_owner
TESTS += tests/unit/test_outbox_owner
tests_unit_test_outbox_owner_SOURCES = tests/unit/test_outbox_owner.c tests/unit/unit.h
tests_unit_test_outbox_owner_CFLAGS = $(AM_CFLAGS) $(CUNIT_CFLAGS)
tests_unit_test_outbox_owner_LDADD = src/libpaybridge.a $(PB_LIBS) $(CUNIT_LIBS)
