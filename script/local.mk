# `make check` greps the C sources for the functions STYLE.md bans (the script finds the
# sources through $srcdir, so it works from any build directory).
TESTS += script/check-banned

# script/ is distributed whole (EXTRA_DIST in Makefile.am), which would also pick up the
# check's log and result files from the build tree and break `make distcheck`.
dist-hook: script-dist-hook
script-dist-hook:
	rm -f $(distdir)/script/*.log $(distdir)/script/*.trs
.PHONY: script-dist-hook
