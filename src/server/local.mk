src_libpaybridge_a_SOURCES += \
	src/server/child.c src/server/child.h \
	src/server/jobs.c src/server/jobs.h \
	src/server/listen.c src/server/listen.h \
	src/server/master.c src/server/master.h \
	src/server/park.c src/server/park.h \
	src/server/scoreboard.c src/server/scoreboard.h \
	src/server/seats.c src/server/seats.h \
	src/server/worker.c src/server/worker.h

# The database seats' waiting rule, over a real scoreboard.
check_PROGRAMS += tests/unit/test_seats
TESTS += tests/unit/test_seats
tests_unit_test_seats_SOURCES = tests/unit/test_seats.c tests/unit/unit.h
tests_unit_test_seats_CFLAGS = $(AM_CFLAGS) $(CUNIT_CFLAGS)
tests_unit_test_seats_LDADD = src/libpaybridge.a $(PB_LIBS) $(CUNIT_LIBS)
