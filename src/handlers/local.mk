src_libpaybridge_a_SOURCES += \
	src/handlers/dispatch.c src/handlers/dispatch.h \
	src/handlers/health.c src/handlers/health.h
