# paybridgectl, the operator's tool: one file per command, a table of them in main.c.
sbin_PROGRAMS += paybridgectl
paybridgectl_SOURCES = \
	src/ctl/main.c src/ctl/ctl.h \
	src/ctl/migrate_cmd.c
paybridgectl_LDADD = src/libpaybridge.a $(PB_LIBS)
