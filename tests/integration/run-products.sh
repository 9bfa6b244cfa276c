#!/usr/bin/env bash
# Runs tests/integration/products-test.sh (paybridgectl products: add, list, update,
# archive, sync-to-stripe) against a fresh stack and tears it down:
#
#   tests/integration/run-products.sh [BUILDDIR]     (BUILDDIR defaults to the current one)
#
# Exits with the test's status. The stack and its teardown are tests/integration/run.sh's.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
exec "$here/run.sh" "${1:-.}" tests/integration/products-test.sh
