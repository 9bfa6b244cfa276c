#!/usr/bin/env bash
# The fault matrix under load (issue 14): a fresh stack (tests/integration/stack.sh:
# MariaDB, the Stripe emulator, paybridge, nginx, Apache) in a temporary directory,
# tests/chaos/chaos_test.py against it through nginx, then everything stopped and removed
# (kept, with its logs, on failure):
#
#   tests/chaos/run.sh BUILDDIR            the short form script/test runs (under 2 min)
#   tests/chaos/run.sh BUILDDIR --full     script/test --chaos: the figures of
#                                          docs/RELIABILITY.md
#
# BUILDDIR must be configured with --enable-test-routes (the slow route the disconnect
# scenario holds workers with). PB_CONF_EXTRA lines are added to the suite's own, and
# PB_WRAPPER prefixes paybridge (valgrind), as for tests/integration/stack.sh. With PB_LOG_ARCHIVE set, the stack's logs are copied
# into PB_LOG_ARCHIVE/pbch.* before the stack directory goes, for tests/leaks/scan.py.
set -euo pipefail
top=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd -P)
build=$(cd "${1:?usage: tests/chaos/run.sh BUILDDIR [--full]}" && pwd -P)
form=short
[ "${2:-}" = --full ] && form=full

run=$(mktemp -d /tmp/pbch.XXXXXX)
chmod 0755 "$run"
status=1
# Outages must fail fast and come back soon: short database timeouts (a restart takes
# the socket away at once; these bound a statement caught in it), no events sync (the
# storm's events must arrive by webhook alone), and Stripe retried once inside a signup
# so that the outbox does the rest. Workers are never recycled: the memory scenario
# compares the same workers before and after, and recycling would hide a leak.
export PB_CONF_EXTRA="max_requests = 0
db_connect_timeout = 2
db_read_timeout = 3
db_write_timeout = 3
events_sync_interval = 0
stripe_max_retries = 1
customer_inline_budget_ms = 1500${PB_CONF_EXTRA:+
$PB_CONF_EXTRA}"
# shellcheck disable=SC2317  # run by the EXIT trap
cleanup() {
	"$top/tests/integration/stack.sh" down "$run" || true
	if [ -n "${PB_LOG_ARCHIVE:-}" ]; then
		bash "$top/tests/leaks/archive.sh" "$run" "$PB_LOG_ARCHIVE/${run##*/}" || true
	fi
	if [ "$status" -eq 0 ]; then
		rm -rf "$run"
	else
		echo "chaos: logs kept in $run" >&2
		tail -n 30 "$run/paybridge.log" >&2 2>/dev/null || true
	fi
	exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

"$top/tests/integration/stack.sh" up "$build" "$run"
# shellcheck disable=SC1091
. "$run/env"
export PB_CHAOS_FORM=$form PB_WEBHOOK_SECRET=$PAYBRIDGE_STRIPE_WEBHOOK_SECRETS
if /usr/bin/python3 "$top/tests/chaos/chaos_test.py"; then
	status=0
fi
exit "$status"
