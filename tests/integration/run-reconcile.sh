#!/usr/bin/env bash
# Runs tests/integration/reconcile-test.sh (paybridgectl reconcile) against a fresh stack
# (MariaDB, the Stripe emulator, paybridge, nginx, Apache) and tears it down:
#
#   tests/integration/run-reconcile.sh [BUILDDIR]     (BUILDDIR defaults to the current one)
#
# The stack starts with the periodic events sync off (events_sync_interval = 0 through
# PB_CONF_EXTRA), and the test turns webhook delivery off: the drift it seeds in Stripe
# must stay unheard of, as a delivery Stripe gave up on would leave it. Exits with the
# test's status.
# The stack and its teardown are tests/integration/run.sh's.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
export PB_CONF_EXTRA='events_sync_interval = 0'
exec "$here/run.sh" "${1:-.}" tests/integration/reconcile-test.sh
