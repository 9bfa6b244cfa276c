src_libpaybridge_a_SOURCES += \
	src/server/child.c src/server/child.h \
	src/server/jobs.c src/server/jobs.h \
	src/server/listen.c src/server/listen.h \
	src/server/master.c src/server/master.h \
	src/server/park.c src/server/park.h \
	src/server/scoreboard.c src/server/scoreboard.h \
	src/server/seats.c src/server/seats.h \
	src/server/worker.c src/server/worker.h
