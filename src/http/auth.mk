# Bearer authentication. Included from the top Makefile.am (after src/http/local.mk).
src_libpaybridge_a_SOURCES += src/http/auth.c src/http/auth.h

check_PROGRAMS += tests/unit/test_auth
TESTS += tests/unit/test_auth
tests_unit_test_auth_SOURCES = tests/unit/test_auth.c tests/unit/unit.h
tests_unit_test_auth_CFLAGS = $(AM_CFLAGS) $(CUNIT_CFLAGS)
tests_unit_test_auth_LDADD = src/libpaybridge.a $(PB_LIBS) $(CUNIT_LIBS)
