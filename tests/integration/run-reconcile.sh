#!/usr/bin/env bash
# Runs tests/integration/reconcile-test.sh (paybridgectl reconcile) against a fresh stack
# (MariaDB, the Stripe emulator, paybridge, nginx, Apache) and tears it down:
#
#   tests/integration/run-reconcile.sh [BUILDDIR]     (BUILDDIR defaults to the current one)
#
# The stack starts with the periodic events sync off (events_sync_interval = 0 through
# PB_CONF_EXTRA), and the test turns webhook delivery off: the drift it seeds in Stripe
# must stay unheard of, as a delivery Stripe gave up on would leave it. Exits with the
# test's status; the stack's state and logs stay in a temporary directory on failure.
set -euo pipefail
top=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd -P)
build=$(cd "${1:-.}" && pwd -P)
for bin in paybridge paybridgectl; do
	if [ ! -x "$build/$bin" ]; then
		echo "run-reconcile.sh: $build/$bin is not built" >&2
		exit 1
	fi
done
# Short: MariaDB's socket path must fit in 107 bytes.
run=$(mktemp -d /tmp/pbrec.XXXXXX)
# The web servers drop to www-data, which must reach the FastCGI socket in here.
chmod 0755 "$run"
status=1
# shellcheck disable=SC2317  # called by the EXIT trap
cleanup() {
	"$top/tests/integration/stack.sh" down "$run" || true
	if [ "$status" -ne 0 ]; then
		echo "run-reconcile.sh: logs kept in $run" >&2
		tail -n 40 "$run/paybridge.log" >&2 2>/dev/null || true
	else
		rm -rf "$run"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM
export PB_CONF_EXTRA='events_sync_interval = 0'
"$top/tests/integration/stack.sh" up "$build" "$run"
# shellcheck disable=SC1091
. "$run/env"
status=0
bash "$top/tests/integration/reconcile-test.sh" || status=$?
exit "$status"
