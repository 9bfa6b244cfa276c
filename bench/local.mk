# The benchmark's anchor: a bare libfcgi responder, built with the project's flags but
# linked against libfcgi only (it is the cost of FastCGI with no framework). bench/run
# builds and runs it; it is not installed.
noinst_PROGRAMS += bench/baseline/bare_responder
bench_baseline_bare_responder_SOURCES = bench/baseline/bare_responder.c
bench_baseline_bare_responder_LDADD = $(FCGI_LIBS)

EXTRA_DIST += bench/run bench/pool bench/cluster bench/load.py bench/webhook.lua \
	bench/request.lua bench/lib/stack.sh bench/lib/measure.sh bench/lib/doc.sh \
	bench/peers/express/package.json bench/peers/express/package-lock.json \
	bench/peers/express/server.js bench/peers/php-fpm/webhook.php

# The hash's own time for the signup scenario: libargon2 alone, at a given cost.
noinst_PROGRAMS += bench/baseline/argon2_time
bench_baseline_argon2_time_SOURCES = bench/baseline/argon2_time.c
bench_baseline_argon2_time_LDADD = $(ARGON2_LIBS)

# Issue 15: one request body parsed, by json_parse or by the three passes it replaced.
noinst_PROGRAMS += bench/baseline/json_parse
bench_baseline_json_parse_SOURCES = bench/baseline/json_parse.c tests/fuzz/json_oracle.c \
	tests/fuzz/json_oracle.h
bench_baseline_json_parse_LDADD = src/libpaybridge.a $(PB_LIBS)
