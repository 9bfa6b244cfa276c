#!/usr/bin/env bash
# Runs tests/integration/test_repo against a private MariaDB started for this run in a
# temporary directory under the checkout's .run/, stopped afterwards whatever happens.
#
#   tests/integration/run-repo.sh [BUILDDIR]     (BUILDDIR defaults to the current one)
#
# Exits with the test program's status; also checks paybridgectl migrate end to end
# when BUILDDIR holds it.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd -P)
build=$(cd "${1:-.}" && pwd -P) || exit 1
test_bin=$build/tests/integration/test_repo
ctl=$build/paybridgectl
if [ ! -x "$test_bin" ]; then
	echo "run-repo.sh: $test_bin not built (make tests/integration/test_repo)" >&2
	exit 1
fi

. "$top/script/lib/mariadb.sh"
mkdir -p "$top/.run"
dir=$(mktemp -d "$top/.run/repo.XXXXXX") || exit 1
cleanup() {
	mariadb_stop "$dir" || true
	rm -rf "$dir"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

mariadb_start "$dir" || exit 1
export PAYBRIDGE_TEST_MARIADB_SH=$top/script/lib/mariadb.sh
export PAYBRIDGE_TEST_MARIADB_DIR=$dir

"$test_bin"
status=$?

if [ $status -eq 0 ] && [ -x "$ctl" ]; then
	fail() {
		echo "run-repo.sh: paybridgectl: $*" >&2
		status=1
	}
	out=$("$ctl" migrate down 0) || fail "migrate down 0 failed"
	out=$("$ctl" migrate status) || fail "migrate status failed"
	grep -q "pending" <<<"$out" || fail "status does not show pending: $out"
	out=$("$ctl" migrate up) || fail "migrate up failed"
	grep -q "^applied 0001_init" <<<"$out" || fail "up did not apply 0001: $out"
	out=$("$ctl" migrate up) || fail "second migrate up failed"
	grep -q "nothing to do" <<<"$out" || fail "second up did something: $out"
	out=$("$ctl" migrate status) || fail "migrate status failed"
	grep -q "^0001 .* applied  *ok " <<<"$out" || fail "status after up: $out"
	"$ctl" migrate sideways >/dev/null 2>&1
	[ $? -eq 64 ] || fail "a bad subcommand does not exit 64"
	"$ctl" -c /nonexistent/paybridge.conf migrate status >/dev/null 2>&1
	[ $? -eq 78 ] || fail "a missing -c file does not exit 78"
	[ $status -eq 0 ] && echo "run-repo.sh: paybridgectl migrate: ok"
fi
exit $status
