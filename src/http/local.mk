src_libpaybridge_a_SOURCES += \
	src/http/form.c src/http/form.h \
	src/http/request.c src/http/request.h \
	src/http/response.c src/http/response.h \
	src/http/router.c src/http/router.h

HTTP_TESTS = tests/unit/test_form tests/unit/test_request tests/unit/test_response \
	tests/unit/test_router tests/unit/test_util tests/unit/test_json
check_PROGRAMS += $(HTTP_TESTS)
TESTS += $(HTTP_TESTS)

tests_unit_test_form_SOURCES = tests/unit/test_form.c tests/unit/unit.h
tests_unit_test_form_CFLAGS = $(AM_CFLAGS) $(CUNIT_CFLAGS)
tests_unit_test_form_LDADD = src/libpaybridge.a $(PB_LIBS) $(CUNIT_LIBS)

tests_unit_test_request_SOURCES = tests/unit/test_request.c tests/unit/unit.h
tests_unit_test_request_CFLAGS = $(AM_CFLAGS) $(CUNIT_CFLAGS)
tests_unit_test_request_LDADD = src/libpaybridge.a $(PB_LIBS) $(CUNIT_LIBS)

tests_unit_test_response_SOURCES = tests/unit/test_response.c tests/unit/unit.h
tests_unit_test_response_CFLAGS = $(AM_CFLAGS) $(CUNIT_CFLAGS)
tests_unit_test_response_LDADD = src/libpaybridge.a $(PB_LIBS) $(CUNIT_LIBS)

tests_unit_test_router_SOURCES = tests/unit/test_router.c tests/unit/unit.h
tests_unit_test_router_CFLAGS = $(AM_CFLAGS) $(CUNIT_CFLAGS)
tests_unit_test_router_LDADD = src/libpaybridge.a $(PB_LIBS) $(CUNIT_LIBS)

# The util layer has no local.mk of its own for tests: its suite lives here.
tests_unit_test_util_SOURCES = tests/unit/test_util.c tests/unit/unit.h
tests_unit_test_util_CFLAGS = $(AM_CFLAGS) $(CUNIT_CFLAGS)
tests_unit_test_util_LDADD = src/libpaybridge.a $(PB_LIBS) $(CUNIT_LIBS)
tests_unit_test_json_SOURCES = tests/unit/test_json.c tests/unit/unit.h \
	tests/fuzz/json_oracle.c tests/fuzz/json_oracle.h
tests_unit_test_json_CFLAGS = $(AM_CFLAGS) $(CUNIT_CFLAGS)
tests_unit_test_json_LDADD = src/libpaybridge.a $(PB_LIBS) $(CUNIT_LIBS)
