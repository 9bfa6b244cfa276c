#!/usr/bin/env bash
# Runs tests/integration/ctl-test.sh (paybridgectl backfill-customers and jobs) against a
# fresh stack (MariaDB, the Stripe emulator, paybridge, nginx, Apache) and tears it down:
#
#   tests/integration/run-ctl.sh [BUILDDIR]     (BUILDDIR defaults to the current one)
#
# Exits with the test's status. The stack's state and logs stay in a temporary directory,
# printed on failure.
set -euo pipefail
top=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd -P)
build=$(cd "${1:-.}" && pwd -P)
for bin in paybridge paybridgectl; do
	if [ ! -x "$build/$bin" ]; then
		echo "run-ctl.sh: $build/$bin is not built" >&2
		exit 1
	fi
done
# Short: MariaDB's socket path must fit in 107 bytes.
run=$(mktemp -d /tmp/pbctl.XXXXXX)
# The web servers drop to www-data, which must reach the FastCGI socket in here.
chmod 0755 "$run"
status=1
# shellcheck disable=SC2317  # called by the EXIT trap
cleanup() {
	"$top/tests/integration/stack.sh" down "$run" || true
	if [ "$status" -ne 0 ]; then
		echo "run-ctl.sh: logs kept in $run" >&2
		tail -n 40 "$run/paybridge.log" >&2 2>/dev/null || true
	else
		rm -rf "$run"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM
"$top/tests/integration/stack.sh" up "$build" "$run"
# shellcheck disable=SC1091
. "$run/env"
status=0
bash "$top/tests/integration/ctl-test.sh" || status=$?
exit "$status"
