#!/usr/bin/env bash
# Runs tests/integration/ctl-test.sh (paybridgectl backfill-customers and jobs) against a
# fresh stack (MariaDB, the Stripe emulator, paybridge, nginx, Apache) and tears it down:
#
#   tests/integration/run-ctl.sh [BUILDDIR]     (BUILDDIR defaults to the current one)
#
# Exits with the test's status. The stack's state and logs stay in a temporary directory,
# printed on failure.
# The stack and its teardown are tests/integration/run.sh's.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
exec "$here/run.sh" "${1:-.}" tests/integration/ctl-test.sh
