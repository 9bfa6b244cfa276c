# libFuzzer targets, one per parser; built only by ./configure --enable-fuzzing (clang).
# Seeds in corpus/<target>/; inputs that once crashed a target go in regression/<target>/.
EXTRA_DIST += tests/fuzz/corpus tests/fuzz/regression tests/fuzz/regress.sh

if FUZZING
noinst_PROGRAMS += tests/fuzz/fuzz_request tests/fuzz/fuzz_form tests/fuzz/fuzz_conf \
	tests/fuzz/fuzz_json

tests_fuzz_fuzz_request_SOURCES = tests/fuzz/fuzz_request.c
tests_fuzz_fuzz_request_LDFLAGS = $(AM_LDFLAGS) -fsanitize=fuzzer
tests_fuzz_fuzz_request_LDADD = src/libpaybridge.a $(PB_LIBS)

tests_fuzz_fuzz_form_SOURCES = tests/fuzz/fuzz_form.c
tests_fuzz_fuzz_form_LDFLAGS = $(AM_LDFLAGS) -fsanitize=fuzzer
tests_fuzz_fuzz_form_LDADD = src/libpaybridge.a $(PB_LIBS)

tests_fuzz_fuzz_conf_SOURCES = tests/fuzz/fuzz_conf.c
tests_fuzz_fuzz_conf_LDFLAGS = $(AM_LDFLAGS) -fsanitize=fuzzer
tests_fuzz_fuzz_conf_LDADD = src/libpaybridge.a $(PB_LIBS)

tests_fuzz_fuzz_json_SOURCES = tests/fuzz/fuzz_json.c tests/fuzz/json_oracle.c \
	tests/fuzz/json_oracle.h
tests_fuzz_fuzz_json_LDFLAGS = $(AM_LDFLAGS) -fsanitize=fuzzer
tests_fuzz_fuzz_json_LDADD = src/libpaybridge.a $(PB_LIBS)

# The Stripe-Signature header and Stripe event parsing (issue 7).
noinst_PROGRAMS += tests/fuzz/fuzz_webhook_sig tests/fuzz/fuzz_webhook_event
tests_fuzz_fuzz_webhook_sig_SOURCES = tests/fuzz/fuzz_webhook_sig.c
tests_fuzz_fuzz_webhook_sig_LDFLAGS = $(AM_LDFLAGS) -fsanitize=fuzzer
tests_fuzz_fuzz_webhook_sig_LDADD = src/libpaybridge.a $(PB_LIBS)
tests_fuzz_fuzz_webhook_event_SOURCES = tests/fuzz/fuzz_webhook_event.c
tests_fuzz_fuzz_webhook_event_LDFLAGS = $(AM_LDFLAGS) -fsanitize=fuzzer
tests_fuzz_fuzz_webhook_event_LDADD = src/libpaybridge.a $(PB_LIBS)

# Issue 14: what the handlers read from a query and a body, and Stripe's answers.
noinst_PROGRAMS += tests/fuzz/fuzz_query tests/fuzz/fuzz_fields tests/fuzz/fuzz_stripe_object \
	tests/fuzz/fuzz_stripe_error
tests_fuzz_fuzz_query_SOURCES = tests/fuzz/fuzz_query.c
tests_fuzz_fuzz_query_LDFLAGS = $(AM_LDFLAGS) -fsanitize=fuzzer
tests_fuzz_fuzz_query_LDADD = src/libpaybridge.a $(PB_LIBS)
tests_fuzz_fuzz_fields_SOURCES = tests/fuzz/fuzz_fields.c
tests_fuzz_fuzz_fields_LDFLAGS = $(AM_LDFLAGS) -fsanitize=fuzzer
tests_fuzz_fuzz_fields_LDADD = src/libpaybridge.a $(PB_LIBS)
tests_fuzz_fuzz_stripe_object_SOURCES = tests/fuzz/fuzz_stripe_object.c
tests_fuzz_fuzz_stripe_object_LDFLAGS = $(AM_LDFLAGS) -fsanitize=fuzzer
tests_fuzz_fuzz_stripe_object_LDADD = src/libpaybridge.a $(PB_LIBS)
tests_fuzz_fuzz_stripe_error_SOURCES = tests/fuzz/fuzz_stripe_error.c
tests_fuzz_fuzz_stripe_error_LDFLAGS = $(AM_LDFLAGS) -fsanitize=fuzzer
tests_fuzz_fuzz_stripe_error_LDADD = src/libpaybridge.a $(PB_LIBS)

# Every fuzz_* target built, over its corpus and regression inputs, once.
TESTS += tests/fuzz/regress.sh
endif
