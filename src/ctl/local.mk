# paybridgectl, the operator's tool: one file per command, a table of them in main.c.
sbin_PROGRAMS += paybridgectl
paybridgectl_SOURCES = \
	src/ctl/main.c src/ctl/ctl.h \
	src/ctl/migrate_cmd.c \
	src/ctl/backfill_cmd.c src/ctl/jobs_cmd.c \
	src/ctl/events_cmd.c src/ctl/reconcile_cmd.c \
	src/ctl/products_cmd.c
paybridgectl_LDADD = src/libpaybridge.a $(PB_LIBS)
# backfill-customers and jobs against the whole stack: tests/integration/run-ctl.sh
EXTRA_DIST += tests/integration/run-ctl.sh tests/integration/ctl-test.sh
EXTRA_DIST += tests/integration/run-events.sh tests/integration/events-test.sh
EXTRA_DIST += tests/integration/run-reconcile.sh tests/integration/reconcile-test.sh
# What the paybridgectl suites share.
EXTRA_DIST += tests/integration/harness.sh
EXTRA_DIST += tests/integration/run-products.sh tests/integration/products-test.sh
