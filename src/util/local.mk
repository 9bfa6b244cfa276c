src_libpaybridge_a_SOURCES += \
	src/util/arena.c src/util/arena.h \
	src/util/buf.c src/util/buf.h \
	src/util/conf.c src/util/conf.h \
	src/util/err.c src/util/err.h \
	src/util/hex.c src/util/hex.h \
	src/util/json.c src/util/json.h \
	src/util/log.c src/util/log.h \
	src/util/metrics.c src/util/metrics.h \
	src/util/rand.c src/util/rand.h \
	src/util/secure.c src/util/secure.h \
	src/util/strnum.c src/util/strnum.h \
	src/util/timeutil.c src/util/timeutil.h
# The even pace of operator calls to Stripe (backfill, events sync).
src_libpaybridge_a_SOURCES += src/util/pace.c src/util/pace.h
