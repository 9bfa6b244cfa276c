# The client of nginx's nchan publisher location (live payment status).
src_libpaybridge_a_SOURCES += src/nchan/client.c src/nchan/client.h
