src_libpaybridge_a_SOURCES += \
	src/services/app.h
