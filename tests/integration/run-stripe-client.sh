#!/bin/sh
# Runs the Stripe client's tests against the emulator, from a build directory that has
# already been built (this script builds nothing). The program starts and stops the
# emulator itself. Usage: run-stripe-client.sh [BUILD_DIR]   (default: the current one)
# Exit status: the program's (0 when every test passed).
set -u
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
build=${1:-.}
prog="$build/tests/integration/test_stripe_client"
if [ ! -x "$prog" ]; then
	echo "run-stripe-client.sh: $prog is not built (make tests/integration/test_stripe_client)" >&2
	exit 2
fi
exec "$prog" "$top/tests/stripe-emulator/emulator.py"
