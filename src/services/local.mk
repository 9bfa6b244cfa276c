src_libpaybridge_a_SOURCES += \
	src/services/app.h
src_libpaybridge_a_SOURCES += \
	src/services/customers.c src/services/customers.h \
	src/services/health.c src/services/health.h \
	src/services/outbox.c src/services/outbox.h \
	src/services/outbox_kinds.c
src_libpaybridge_a_SOURCES += \
	src/services/accounts.c src/services/accounts.h

# The pure field and throttle rules of accounts.
check_PROGRAMS += tests/unit/test_accounts
TESTS += tests/unit/test_accounts
tests_unit_test_accounts_SOURCES = tests/unit/test_accounts.c tests/unit/unit.h
tests_unit_test_accounts_CFLAGS = $(AM_CFLAGS) $(CUNIT_CFLAGS)
tests_unit_test_accounts_LDADD = src/libpaybridge.a $(PB_LIBS) $(CUNIT_LIBS)
