# Migrations are compiled into the binaries, so paybridgectl needs no files at run time:
# script/embed-sql turns the files below into src/repo/migrations_data.c in the build tree.
# A new migration is a pair NNNN_name.up.sql / NNNN_name.down.sql added to this list
# (embed-sql refuses to build when a file in sql/ is missing from it).
SQL_MIGRATIONS = \
	sql/0001_init.up.sql sql/0001_init.down.sql \
	sql/0002_login_throttle_client.up.sql sql/0002_login_throttle_client.down.sql \
	sql/0003_webhook_events.up.sql sql/0003_webhook_events.down.sql \
	sql/0004_profile_sync.up.sql sql/0004_profile_sync.down.sql \
	sql/0005_guest_payments.up.sql sql/0005_guest_payments.down.sql \
	sql/0006_webhook_trips.up.sql sql/0006_webhook_trips.down.sql

EXTRA_DIST += $(SQL_MIGRATIONS)
nodist_src_libpaybridge_a_SOURCES = src/repo/migrations_data.c
BUILT_SOURCES += src/repo/migrations_data.c
CLEANFILES += src/repo/migrations_data.c

src/repo/migrations_data.c: $(SQL_MIGRATIONS) $(top_srcdir)/script/embed-sql
	$(AM_V_GEN)$(MKDIR_P) src/repo && \
	$(SHELL) $(top_srcdir)/script/embed-sql $@ $(srcdir) $(SQL_MIGRATIONS)
