#!/usr/bin/env bash
# Runs tests/integration/events-test.sh (paybridgectl events sync, replay and list, and
# the jobs worker's periodic sync) against a fresh stack and tears it down:
#
#   tests/integration/run-events.sh [BUILDDIR]     (BUILDDIR defaults to the current one)
#
# The stack starts with the periodic sync off (events_sync_interval = 0 through
# PB_CONF_EXTRA) so that the paybridgectl cases count exactly what they applied; the
# periodic case restarts paybridge with PAYBRIDGE_EVENTS_SYNC_INTERVAL=1. Exits with the
# test's status.
# The stack and its teardown are tests/integration/run.sh's.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
export PB_CONF_EXTRA='events_sync_interval = 0'
exec "$here/run.sh" "${1:-.}" tests/integration/events-test.sh
