# The database layer: the MariaDB wrapper and the migrator. The migrations themselves are
# embedded from sql/ (see sql/local.mk).
src_libpaybridge_a_SOURCES += \
	src/repo/db.h src/repo/db_private.h \
	src/repo/db_conn.c src/repo/db_stmt.c src/repo/db_tx.c \
	src/repo/migrate.c src/repo/migrate.h

# The outbox of Stripe work.
src_libpaybridge_a_SOURCES += src/repo/jobs.c src/repo/jobs.h

# Accounts: users and the login throttle.
src_libpaybridge_a_SOURCES += \
	src/repo/users.c src/repo/users.h \
	src/repo/throttle.c src/repo/throttle.h

# Stripe events and the rows they change.
src_libpaybridge_a_SOURCES += \
	src/repo/events.c src/repo/events.h \
	src/repo/payments.c src/repo/payments.h

# The catalog.
src_libpaybridge_a_SOURCES += src/repo/products.c src/repo/products.h

# Our own POST endpoints' answers by Idempotency-Key.
src_libpaybridge_a_SOURCES += src/repo/idempotency.c src/repo/idempotency.h

# Guest payments: guest customers and rate counters.
src_libpaybridge_a_SOURCES += src/repo/guests.c src/repo/guests.h

# db_host's list of servers.
check_PROGRAMS += tests/unit/test_db_endpoints
TESTS += tests/unit/test_db_endpoints
tests_unit_test_db_endpoints_SOURCES = tests/unit/test_db_endpoints.c tests/unit/unit.h
tests_unit_test_db_endpoints_CFLAGS = $(AM_CFLAGS) $(CUNIT_CFLAGS)
tests_unit_test_db_endpoints_LDADD = src/libpaybridge.a $(PB_LIBS) $(CUNIT_LIBS)
