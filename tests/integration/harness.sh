# shellcheck shell=bash
# The shell harness of the paybridgectl suites (ctl-test.sh, events-test.sh,
# reconcile-test.sh), sourced after `set -uo pipefail`, each suite run through its
# run-*.sh, which starts the stack (tests/integration/stack.sh) and exports its
# environment. A suite sets harness_name (for messages) and then calls:
#
#   harness_init VAR...      fails loudly unless every VAR and the tools are there; sets
#                            ctl_bin, conf and out (a scratch directory in $PB_RUN)
#   run_case FN              runs one case; fail inside it marks it FAILED
#   harness_summary          prints the timing and "N passed, N failed" (the last line,
#                            which script/test counts) and returns 1 when any failed
#
# and the helpers below: ctl (paybridgectl with the stack's configuration), sql
# (MariaDB, tab-separated, no column names), emu (the emulator's control API), stripe
# (the emulator's Stripe API with the stack's test key), expect_rc, expect_grep,
# expect_usage.
# Commands read their output from "$out/out" and "$out/err" by convention.

harness_name=${harness_name:-harness}
passed=0
failed=0
case_failed=0
current=
harness_started=$(date +%s)

die() {
	echo "$harness_name: $*" >&2
	exit 1
}

# harness_init VAR...: the variables the suite needs, beyond the ones every suite does.
harness_init() {
	local v tool
	for v in PB_BUILD PB_RUN PB_EMULATOR_URL PB_TEST_CTL PAYBRIDGE_DB_SOCKET \
		PAYBRIDGE_DB_USER PAYBRIDGE_DB_NAME PAYBRIDGE_STRIPE_SECRET_KEY "$@"; do
		[ -n "${!v:-}" ] || die "$v is not set: run me through its tests/integration/run-*.sh"
	done
	for tool in mariadb curl jq script timeout; do
		command -v "$tool" >/dev/null || die "$tool is not installed"
	done
	ctl_bin=$PB_BUILD/paybridgectl
	conf=$PB_RUN/paybridge.conf
	[ -x "$ctl_bin" ] || die "$ctl_bin is not built"
	out=$(mktemp -d "$PB_RUN/${harness_name%.sh}.XXXXXX") || die "cannot make a scratch directory"
	export LC_ALL=C
	sql 'SELECT 1' >/dev/null || die "MariaDB does not answer on $PAYBRIDGE_DB_SOCKET"
	emu GET /health >/dev/null || die "the Stripe emulator does not answer at $PB_EMULATOR_URL"
}

ctl() {
	timeout 60 "$ctl_bin" -c "$conf" "$@"
}

sql() {
	MYSQL_PWD=${PAYBRIDGE_DB_PASSWORD:-} mariadb --no-defaults --protocol=socket \
		--socket="$PAYBRIDGE_DB_SOCKET" -u "$PAYBRIDGE_DB_USER" --batch --skip-column-names \
		--default-character-set=utf8mb4 \
		"$PAYBRIDGE_DB_NAME" -e "$1"
}

# emu METHOD PATH [CURL ARGS...]: the control API, /_emulator/PATH, JSON both ways.
emu() {
	local method=$1 path=$2
	shift 2
	curl -fsS --max-time 10 -X "$method" -H 'Content-Type: application/json' "$@" \
		"$PB_EMULATOR_URL/_emulator$path"
}

# stripe PATH [CURL ARGS...]: the emulator's Stripe API with the stack's key (-d makes a
# POST; -X DELETE a delete).
stripe() {
	local path=$1
	shift
	curl -fsS --max-time 10 -u "$PAYBRIDGE_STRIPE_SECRET_KEY:" "$@" "$PB_EMULATOR_URL$path"
}

fail() {
	echo "  FAIL [$current]: $*" >&2
	case_failed=1
}

run_case() {
	local t0 ms
	current=$1
	case_failed=0
	echo "--- $current"
	t0=$(date +%s%N)
	"$current"
	ms=$((($(date +%s%N) - t0) / 1000000))
	if [ "$case_failed" -eq 0 ]; then
		passed=$((passed + 1))
		echo "ok      $current ($ms ms)"
	else
		failed=$((failed + 1))
		echo "FAILED  $current ($ms ms)"
	fi
}

# expect_rc WANT GOT WHAT: one line when they differ, with the command's stderr.
expect_rc() {
	if [ "$2" -ne "$1" ]; then
		fail "$3: exit $2, expected $1"
		[ -s "$out/err" ] && sed 's/^/    /' "$out/err" | tail -n 20 >&2
	fi
}

# expect_grep PATTERN FILE WHAT: PATTERN is an extended regular expression.
expect_grep() {
	grep -Eq -- "$1" "$2" || {
		fail "$3: no /$1/ in $(basename "$2"):"
		sed 's/^/    /' "$2" | tail -n 20 >&2
	}
}

# expect_usage: runs paybridgectl with each line of standard input as its arguments and
# expects exit 64 with the usage line each time.
expect_usage() {
	local args rc
	while IFS= read -r args; do
		rc=0
		# shellcheck disable=SC2086  # the line is the arguments, split on purpose
		ctl $args >"$out/out" 2>"$out/err" || rc=$?
		expect_rc 64 "$rc" "paybridgectl $args"
		expect_grep '^usage: paybridgectl' "$out/err" "usage line for '$args'"
	done
}

harness_summary() {
	echo "$harness_name: $(($(date +%s) - harness_started)) s"
	echo "$passed passed, $failed failed"
	[ "$failed" -eq 0 ]
}
