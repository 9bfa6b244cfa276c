src_libpaybridge_a_SOURCES += \
	src/util/arena.c src/util/arena.h \
	src/util/backoff.c src/util/backoff.h \
	src/util/buf.c src/util/buf.h \
	src/util/conf.c src/util/conf.h \
	src/util/digest.c src/util/digest.h \
	src/util/err.c src/util/err.h \
	src/util/hex.c src/util/hex.h \
	src/util/json.c src/util/json.h src/util/json_parse.c \
	src/util/log.c src/util/log.h \
	src/util/metrics.c src/util/metrics.h \
	src/util/notify.c src/util/notify.h \
	src/util/pct.c src/util/pct.h \
	src/util/proc.c src/util/proc.h \
	src/util/rand.c src/util/rand.h \
	src/util/secure.c src/util/secure.h \
	src/util/strnum.c src/util/strnum.h \
	src/util/timeutil.c src/util/timeutil.h

# Percent-encoding and backoff, each shared by two layers, each with its own suite.
check_PROGRAMS += tests/unit/test_pct tests/unit/test_backoff
TESTS += tests/unit/test_pct tests/unit/test_backoff
tests_unit_test_pct_SOURCES = tests/unit/test_pct.c tests/unit/unit.h
tests_unit_test_pct_CFLAGS = $(AM_CFLAGS) $(CUNIT_CFLAGS)
tests_unit_test_pct_LDADD = src/libpaybridge.a $(PB_LIBS) $(CUNIT_LIBS)
tests_unit_test_backoff_SOURCES = tests/unit/test_backoff.c tests/unit/unit.h
tests_unit_test_backoff_CFLAGS = $(AM_CFLAGS) $(CUNIT_CFLAGS)
tests_unit_test_backoff_LDADD = src/libpaybridge.a $(PB_LIBS) $(CUNIT_LIBS)

# The even pace of operator calls to Stripe (backfill, events sync).
src_libpaybridge_a_SOURCES += src/util/pace.c src/util/pace.h

# The cached process id.
check_PROGRAMS += tests/unit/test_proc
TESTS += tests/unit/test_proc
tests_unit_test_proc_SOURCES = tests/unit/test_proc.c tests/unit/unit.h
tests_unit_test_proc_CFLAGS = $(AM_CFLAGS) $(CUNIT_CFLAGS)
tests_unit_test_proc_LDADD = src/libpaybridge.a $(PB_LIBS) $(CUNIT_LIBS)
