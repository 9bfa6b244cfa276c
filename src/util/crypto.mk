# Security primitives for accounts: base64url, HS256 JWTs, Argon2id passwords.
# Included from the top Makefile.am (after src/util/local.mk).
src_libpaybridge_a_SOURCES += \
	src/util/base64url.c src/util/base64url.h \
	src/util/jwt.c src/util/jwt.h \
	src/util/password.c src/util/password.h

CRYPTO_TESTS = tests/unit/test_base64url tests/unit/test_jwt tests/unit/test_password
check_PROGRAMS += $(CRYPTO_TESTS)
TESTS += $(CRYPTO_TESTS)

tests_unit_test_base64url_SOURCES = tests/unit/test_base64url.c tests/unit/unit.h
tests_unit_test_base64url_CFLAGS = $(AM_CFLAGS) $(CUNIT_CFLAGS)
tests_unit_test_base64url_LDADD = src/libpaybridge.a $(PB_LIBS) $(CUNIT_LIBS)

tests_unit_test_jwt_SOURCES = tests/unit/test_jwt.c tests/unit/unit.h
tests_unit_test_jwt_CFLAGS = $(AM_CFLAGS) $(CUNIT_CFLAGS)
tests_unit_test_jwt_LDADD = src/libpaybridge.a $(PB_LIBS) $(CUNIT_LIBS)

tests_unit_test_password_SOURCES = tests/unit/test_password.c tests/unit/unit.h
tests_unit_test_password_CFLAGS = $(AM_CFLAGS) $(CUNIT_CFLAGS)
tests_unit_test_password_LDADD = src/libpaybridge.a $(PB_LIBS) $(CUNIT_LIBS)

# Seeds in tests/fuzz/corpus/jwt, crashers in tests/fuzz/regression/jwt (both already
# in EXTRA_DIST through tests/fuzz/local.mk).
if FUZZING
noinst_PROGRAMS += tests/fuzz/fuzz_jwt
tests_fuzz_fuzz_jwt_SOURCES = tests/fuzz/fuzz_jwt.c
tests_fuzz_fuzz_jwt_LDFLAGS = $(AM_LDFLAGS) -fsanitize=fuzzer
tests_fuzz_fuzz_jwt_LDADD = src/libpaybridge.a $(PB_LIBS)
endif
