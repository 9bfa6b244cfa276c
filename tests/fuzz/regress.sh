#!/bin/sh
# Runs every fuzz target built here over its seed corpus and over the inputs that once
# crashed it (regression/<target>/), each input once: a regression run, not fuzzing.
# `make check` runs it in a build configured with --enable-fuzzing.
set -e
: "${srcdir:=.}"
ran=0
for bin in ./tests/fuzz/fuzz_*; do
	case $bin in *.o|*.c) continue ;; esac
	[ -f "$bin" ] && [ -x "$bin" ] || continue
	t=${bin##*/fuzz_}
	set -- "$srcdir/tests/fuzz/corpus/$t"
	[ -d "$srcdir/tests/fuzz/regression/$t" ] && set -- "$@" "$srcdir/tests/fuzz/regression/$t"
	echo "fuzz_$t: $*"
	"$bin" -runs=0 "$@"
	ran=$((ran + 1))
done
[ "$ran" -gt 0 ] || { echo "no fuzz targets built" >&2; exit 1; }
