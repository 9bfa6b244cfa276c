# The database layer: the MariaDB wrapper and the migrator. The migrations themselves are
# embedded from sql/ (see sql/local.mk).
src_libpaybridge_a_SOURCES += \
	src/repo/db.c src/repo/db.h \
	src/repo/migrate.c src/repo/migrate.h
