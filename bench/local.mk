# The benchmark's anchor: a bare libfcgi responder, built with the project's flags but
# linked against libfcgi only (it is the cost of FastCGI with no framework). bench/run
# builds and runs it; it is not installed.
noinst_PROGRAMS += bench/baseline/bare_responder
bench_baseline_bare_responder_SOURCES = bench/baseline/bare_responder.c
bench_baseline_bare_responder_LDADD = $(FCGI_LIBS)

EXTRA_DIST += bench/run
