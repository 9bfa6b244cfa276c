# Hostile input through the whole stack (issue 14): forged tokens, other users' ids, mass
# assignment, hostile and malformed text, log injection, oversized requests, login guessing
# behind forged addresses, forged FastCGI parameters, the socket's mode.
#   tests/integration/run.sh BUILD tests/integration/test_hostile
noinst_PROGRAMS += tests/integration/test_hostile
tests_integration_test_hostile_SOURCES = tests/integration/test_hostile.c \
	tests/integration/itest.c tests/integration/itest.h \
	tests/integration/itest_sign.c tests/integration/itest_sign.h tests/unit/unit.h
tests_integration_test_hostile_CFLAGS = $(AM_CFLAGS) $(CUNIT_CFLAGS) -pthread \
	-DPB_SRCDIR='"$(abs_top_srcdir)"'
tests_integration_test_hostile_LDFLAGS = $(AM_LDFLAGS) -pthread
tests_integration_test_hostile_LDADD = src/libpaybridge.a $(PB_LIBS) $(CUNIT_LIBS)
