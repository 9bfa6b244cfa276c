#!/usr/bin/env bash
# Runs one integration test program against a fresh stack and tears the stack down:
#   tests/integration/run.sh BUILDDIR PROGRAM [TEST...]
# PROGRAM is a path relative to BUILDDIR (tests/integration/test_server), or a shell
# suite (a *.sh path relative to the source tree, tests/integration/ctl-test.sh), run
# with bash and the stack's environment. The stack's state and logs stay in a temporary
# directory, printed on failure.
set -euo pipefail
top=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd -P)
build=$(cd "${1:?BUILDDIR}" && pwd -P)
program=${2:?PROGRAM}
shift 2
run=$(mktemp -d /tmp/pbit.XXXXXX)
# The web servers drop to www-data, which must reach the FastCGI socket in here.
chmod 0755 "$run"
status=1
# shellcheck disable=SC2317  # called by the EXIT trap
cleanup() {
	"$top/tests/integration/stack.sh" down "$run" || true
	# The logs outlive the stack for the secret-leak check (tests/leaks/scan.py).
	if [ -n "${PB_LOG_ARCHIVE:-}" ]; then
		bash "$top/tests/leaks/archive.sh" "$run" "$PB_LOG_ARCHIVE/${run##*/}" || true
	fi
	# A sanitizer's report from a server process fails the run, whatever the tests said.
	if grep -qE 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$run/paybridge.log" \
		2>/dev/null; then
		echo "integration: a sanitizer reported in paybridge.log:" >&2
		grep -E -A 30 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$run/paybridge.log" |
			head -n 80 >&2
		status=1
	fi
	if [ "$status" -ne 0 ]; then
		echo "integration: logs kept in $run" >&2
		tail -n 40 "$run/paybridge.log" >&2 2>/dev/null || true
	else
		rm -rf "$run"
	fi
	exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
"$top/tests/integration/stack.sh" up "$build" "$run"
# shellcheck disable=SC1091
. "$run/env"
status=0
# Every response the C tests receive is recorded, then held against docs/openapi.yaml.
export PB_OPENAPI_RECORD=$run/openapi.jsonl
case $program in
*.sh) bash "$top/$program" "$@" || status=$? ;;
*) "$build/$program" "$@" || status=$? ;;
esac
if [ -e "$PB_OPENAPI_RECORD" ] && ! /usr/bin/python3 "$top/tests/openapi/validate.py" \
	--skip-origin "$PB_EMULATOR_URL" "$PB_OPENAPI_RECORD"; then
	status=1
fi
exit "$status"
