#!/usr/bin/env bash
# paybridgectl backfill-customers and jobs against the real stack: MariaDB, the Stripe
# emulator and paybridge (whose jobs worker runs alongside, as in production). Run through
# tests/integration/run-ctl.sh, which starts the stack and sets the environment; a missing
# server or variable fails loudly. Users "without a customer" are inserted straight into
# MariaDB, as an old installation would hold them.
#
# Cases run in order and build on each other (675 users in the end); each prints ok or
# FAILED, and the last line is "N passed, N failed", which script/test counts
# (tests/integration/harness.sh).
set -uo pipefail

harness_name=ctl-test.sh
# shellcheck source=tests/integration/harness.sh
. "$(dirname "${BASH_SOURCE[0]}")/harness.sh"
# shellcheck disable=SC2119  # no arguments: only the variables every suite needs
harness_init
# Any PHC-shaped string: these users never log in.
# shellcheck disable=SC2016  # the dollars are the hash's own
hash='$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$bm90LWEtcmVhbC1oYXNoLWp1c3QtaXRzLXNoYXBl'

# make_users PREFIX N: N live users without a customer, emails PREFIX.I@Example.test.
make_users() {
	local p=$1 n=$2 i values=
	for ((i = 1; i <= n; i++)); do
		values+="${values:+,}('${p^} User $i','${p^}.$i@Example.test',LOWER('${p^}.$i@Example.test'),'$hash','user')"
	done
	sql "INSERT INTO users (name, email, email_normalized, password_hash, role) VALUES $values" ||
		die "cannot insert the $p users"
}

# without PREFIX: how many of those users still have no customer.
without() {
	sql "SELECT COUNT(*) FROM users WHERE email_normalized LIKE '$1.%' AND stripe_customer_id IS NULL"
}

live_customers() {
	emu GET /objects/customers | jq '[.data[] | select(.deleted != true)] | length'
}

customer_posts() {
	emu GET '/requests?path=/v1/customers&method=POST' | jq '.data | length'
}

# check_all N: N users, each with exactly one customer, every customer one user's, made
# by the backfill with the user's name and email.
check_all() {
	local want=$1 users n distinct bad
	users=$(sql 'SELECT COUNT(*) FROM users')
	[ "$users" -eq "$want" ] || fail "$users users in the database, expected $want"
	emu GET /objects/customers >"$out/customers.json" || {
		fail "cannot read the emulator's customers"
		return
	}
	jq -r '.data[] | select(.deleted != true) | "\(.metadata.user_id)\t\(.id)\t\(.name)\t\(.email)"' \
		"$out/customers.json" | sort >"$out/emulator.map"
	sql 'SELECT id, stripe_customer_id, name, email FROM users' | sort >"$out/db.map"
	n=$(wc -l <"$out/emulator.map")
	distinct=$(cut -f1 "$out/emulator.map" | sort -u | wc -l)
	[ "$n" -eq "$want" ] || fail "the emulator holds $n customers, expected $want"
	[ "$distinct" -eq "$n" ] || fail "$((n - distinct)) duplicate metadata[user_id] in the emulator"
	diff "$out/db.map" "$out/emulator.map" >"$out/map.diff" ||
		fail "users and customers disagree: $(head -n 6 "$out/map.diff")"
	bad=$(jq '[.data[] | select(.deleted != true) | select(.metadata.source != "backfill"
		or .description != ("Customer for user ID: " + .metadata.user_id))] | length' \
		"$out/customers.json")
	[ "$bad" -eq 0 ] || fail "$bad customers lack source=backfill or the description"
}

test_backfill_500() {
	local t0 t1 ms rc=0
	make_users bf 500
	[ "$(live_customers)" -eq 0 ] || fail "the emulator holds customers before the backfill"
	t0=$(date +%s%N)
	ctl backfill-customers --rate 100/s >"$out/out" 2>"$out/err" || rc=$?
	t1=$(date +%s%N)
	ms=$(((t1 - t0) / 1000000))
	echo "  500 users at 100/s in $ms ms"
	expect_rc 0 "$rc" "backfill of 500"
	expect_grep '^created 500, already had one 0, failed 0, elapsed [0-9.]+ s$' "$out/out" summary
	# Not a terminal: plain progress lines with count, rate and ETA.
	expect_grep '^backfill-customers: 500 user\(s\) without a customer, at most 100/s$' \
		"$out/err" "first line"
	expect_grep '^backfill-customers: 200/500 users: 200 created, 0 already had one, 0 failed; [0-9.]+/s, ETA [0-9]+:[0-9]{2}$' \
		"$out/err" "progress line"
	# 500 calls spaced 10 ms apart take 4.99 s at least (a lower bound only).
	[ "$ms" -ge 4900 ] || fail "500 users at 100/s took $ms ms: the rate was not honoured"
	[ "$(without bf)" -eq 0 ] || fail "$(without bf) users still have no customer"
	check_all 500
}

test_second_run_creates_none() {
	local before rc=0
	before=$(customer_posts)
	ctl backfill-customers --rate 100 >"$out/out" 2>"$out/err" || rc=$?
	expect_rc 0 "$rc" "second run"
	expect_grep '^created 0, already had one 0, failed 0, elapsed' "$out/out" summary
	[ "$(customer_posts)" -eq "$before" ] || fail "the second run called Stripe"
	check_all 500
}

test_resume_limit_interrupt_tty() {
	local rc=0 pid created left cmd
	make_users rs 150
	ctl backfill-customers --rate 100 --limit 40 >"$out/out" 2>"$out/err" || rc=$?
	expect_rc 0 "$rc" "--limit 40"
	expect_grep '^created 40, already had one 0, failed 0' "$out/out" "--limit summary"
	[ "$(without rs)" -eq 110 ] || fail "after --limit 40, $(without rs) left instead of 110"

	# Ctrl-C: stops after the current user, prints the summary, exits 1.
	"$ctl_bin" -c "$conf" backfill-customers --rate 20 >"$out/out" 2>"$out/err" &
	pid=$!
	sleep 1.5
	kill -INT "$pid"
	rc=0
	wait "$pid" || rc=$?
	expect_rc 1 "$rc" "interrupted run"
	expect_grep 'interrupted: run it again to resume' "$out/err" "interruption message"
	expect_grep '^created [0-9]+, already had one 0, failed 0, elapsed' "$out/out" "summary"
	created=$(sed -n 's/^created \([0-9]*\),.*/\1/p' "$out/out")
	left=$(without rs)
	if [ -z "$created" ] || [ "$created" -lt 10 ] || [ "$created" -gt 60 ] ||
		[ "$left" -ne $((110 - created)) ]; then
		fail "interrupted after 1.5 s at 20/s: created '$created', $left left of 110"
	fi

	# The rest, on a terminal: the bar redraws itself with count, rate and ETA.
	printf -v cmd '%q -c %q backfill-customers --rate 200' "$ctl_bin" "$conf"
	rc=0
	timeout 60 script -qec "$cmd" /dev/null </dev/null >"$out/tty" 2>&1 || rc=$?
	cp "$out/tty" "$out/err"
	expect_rc 0 "$rc" "run on a terminal"
	expect_grep "created $left, already had one 0, failed 0" "$out/tty" "terminal summary"
	expect_grep "\[=+ *\] +[0-9]+/$left +[0-9]+% +[0-9.]+/s ETA [0-9]+:[0-9]{2}" "$out/tty" "bar"
	grep -q $'\r' "$out/tty" || fail "the bar does not redraw itself with a carriage return"
	grep -q '"level"' "$out/tty" && fail "log lines scrolled the bar on a terminal"
	[ "$(without rs)" -eq 0 ] || fail "$(without rs) rs users still have no customer"
	check_all 650
}

test_dry_run() {
	local before rc=0
	make_users ft 25
	before=$(customer_posts)
	ctl backfill-customers --dry-run >"$out/out" 2>"$out/err" || rc=$?
	expect_rc 0 "$rc" "--dry-run"
	[ "$(grep -c '^would create a customer for user [0-9]* <Ft\.[0-9]*@Example\.test> Ft User [0-9]*$' "$out/out")" -eq 25 ] ||
		fail "--dry-run does not list the 25 users: $(head -n 3 "$out/out")"
	expect_grep '^dry run: 25 user\(s\) would get a customer, 0 already had one; nothing was sent to Stripe$' \
		"$out/out" "dry-run summary"
	rc=0
	ctl backfill-customers --dry-run --limit 3 >"$out/out" 2>"$out/err" || rc=$?
	expect_rc 0 "$rc" "--dry-run --limit 3"
	[ "$(grep -c '^would create' "$out/out")" -eq 3 ] || fail "--dry-run --limit 3 listed more"
	[ "$(customer_posts)" -eq "$before" ] || fail "--dry-run called Stripe"
	[ "$(sql "SELECT COUNT(*) FROM stripe_jobs j JOIN users u ON u.id = j.user_id
		WHERE u.email_normalized LIKE 'ft.%'")" -eq 0 ] || fail "--dry-run queued jobs"
	[ "$(without ft)" -eq 25 ] || fail "--dry-run changed users"
}

test_failing_stripe() {
	local rc=0
	# Without the jobs worker the failed jobs stay as the backfill left them.
	"$PB_TEST_CTL" paybridge-stop || die "cannot stop paybridge"
	emu POST /faults -d '{"method":"POST","path":"/v1/customers","kind":"error","status":500,"count":1000}' \
		>/dev/null || die "cannot set the emulator fault"
	ctl backfill-customers --rate 100 --budget-ms 300 --limit 5 >"$out/out" 2>"$out/err" || rc=$?
	expect_rc 1 "$rc" "backfill with Stripe failing"
	expect_grep '^created 0, already had one 0, failed 5, elapsed' "$out/out" "summary"
	[ "$(grep -c '^paybridgectl: backfill-customers: user [0-9]*: .*500' "$out/err")" -eq 5 ] ||
		fail "not one message per failed user naming the 500"
	expect_grep '5 user\(s\) still have no customer' "$out/err" "closing message"

	# Stripe stays down: it gives up after 20 failures in a row instead of waiting out all.
	rc=0
	ctl backfill-customers --rate 100 --budget-ms 300 >"$out/out" 2>"$out/err" || rc=$?
	expect_rc 1 "$rc" "backfill giving up"
	expect_grep '^created 0, already had one 0, failed 20, elapsed' "$out/out" "summary"
	expect_grep 'stopped after 20 failures in a row' "$out/err" "giving-up message"
	[ "$(without ft)" -eq 25 ] || fail "users got customers while Stripe failed"
	[ "$(live_customers)" -eq 650 ] || fail "customers appeared while Stripe failed"
	[ "$(sql "SELECT COUNT(*) FROM stripe_jobs j JOIN users u ON u.id = j.user_id
		WHERE u.email_normalized LIKE 'ft.%' AND j.status = 'pending'
		AND j.last_error IS NOT NULL")" -eq 20 ] ||
		fail "the 20 failed users do not each have a pending job with its error"
}

# One of the ft users' jobs, by position in id order.
ft_job() {
	sql "SELECT j.id FROM stripe_jobs j JOIN users u ON u.id = j.user_id
		WHERE u.email_normalized LIKE 'ft.%' ORDER BY j.id LIMIT 1 OFFSET $1"
}

test_jobs() {
	local rc dead leased dropped done_job row
	rc=0
	ctl jobs list --status pending >"$out/out" 2>"$out/err" || rc=$?
	expect_rc 0 "$rc" "jobs list --status pending"
	expect_grep '^ID +KIND +USER +STATUS +ATTEMPTS +RUN_AFTER +LAST_ERROR$' "$out/out" header
	[ "$(grep -Ec '^[0-9]+ +create_customer +[0-9]+ +pending +[12]/[0-9]+ +20[0-9-]{8}T[0-9:]{8}Z +[^-]' "$out/out")" -eq 20 ] ||
		fail "jobs list does not show the 20 failed jobs with their errors"

	dead=$(ft_job 0)
	leased=$(ft_job 1)
	dropped=$(ft_job 2)
	done_job=$(sql "SELECT id FROM stripe_jobs WHERE status = 'done' ORDER BY id LIMIT 1")
	sql "UPDATE stripe_jobs SET status = 'dead', attempts = max_attempts,
		last_error = 'gave up: Stripe unavailable\nafter the last attempt' WHERE id = $dead"
	rc=0
	ctl jobs list --status dead >"$out/out" 2>"$out/err" || rc=$?
	expect_rc 0 "$rc" "jobs list --status dead"
	expect_grep "^$dead +create_customer +[0-9]+ +dead +([0-9]+)/\\1 .* gave up: Stripe unavailable\\?after the" \
		"$out/out" "dead job row"
	[ "$(grep -c . "$out/out")" -eq 2 ] || fail "--status dead lists other jobs"

	rc=0
	ctl jobs retry "$dead" >"$out/out" 2>"$out/err" || rc=$?
	expect_rc 0 "$rc" "jobs retry of a dead job"
	row=$(sql "SELECT status, attempts, run_after <= NOW(6) FROM stripe_jobs WHERE id = $dead")
	[ "$row" = $'pending\t0\t1' ] || fail "a retried dead job is '$row', not pending, 0 attempts, due"
	rc=0
	ctl jobs retry "$done_job" >"$out/out" 2>"$out/err" || rc=$?
	expect_rc 1 "$rc" "jobs retry of a done job"
	expect_grep "job $done_job is done: only dead or pending jobs can be retried" "$out/err" message
	rc=0
	ctl jobs retry 999999999 >"$out/out" 2>"$out/err" || rc=$?
	expect_rc 1 "$rc" "jobs retry of no job"
	expect_grep 'no job 999999999' "$out/err" message

	# A job leased by a live process cannot be dropped; once its lease ran out it can.
	sql "UPDATE stripe_jobs SET status = 'running', leased_by = 'otherhost:4242',
		lease_until = NOW(6) + INTERVAL 1 HOUR WHERE id = $leased"
	rc=0
	ctl jobs drop "$leased" >"$out/out" 2>"$out/err" || rc=$?
	expect_rc 1 "$rc" "jobs drop of a leased job"
	expect_grep "job $leased is running \(leased by otherhost:4242 until 20[0-9-]{8}T[0-9:]{8}Z\)" \
		"$out/err" message
	[ "$(sql "SELECT COUNT(*) FROM stripe_jobs WHERE id = $leased")" -eq 1 ] || fail "the leased job is gone"
	rc=0
	ctl jobs list --status running >"$out/out" 2>"$out/err" || rc=$?
	expect_grep "^$leased +create_customer .* running " "$out/out" "running job row"
	sql "UPDATE stripe_jobs SET lease_until = NOW(6) - INTERVAL 1 SECOND WHERE id = $leased"
	rc=0
	ctl jobs drop "$leased" >"$out/out" 2>"$out/err" || rc=$?
	expect_rc 0 "$rc" "jobs drop after the lease ran out"

	rc=0
	ctl jobs drop "$dropped" >"$out/out" 2>"$out/err" || rc=$?
	expect_rc 0 "$rc" "jobs drop of a pending job"
	expect_grep "^job $dropped dropped$" "$out/out" message
	[ "$(sql "SELECT COUNT(*) FROM stripe_jobs WHERE id IN ($leased, $dropped)")" -eq 0 ] ||
		fail "dropped jobs are still there"
	rc=0
	ctl jobs drop "$dropped" >"$out/out" 2>"$out/err" || rc=$?
	expect_rc 1 "$rc" "jobs drop twice"
	expect_grep "no job $dropped" "$out/err" message

	rc=0
	ctl jobs list --limit 3 >"$out/out" 2>"$out/err" || rc=$?
	expect_rc 0 "$rc" "jobs list --limit 3"
	[ "$(grep -c . "$out/out")" -eq 4 ] || fail "--limit 3 does not list 3 jobs"
	expect_grep 'newest 3 shown' "$out/err" "note on the limit"
}

test_usage() {
	expect_usage <<'EOF'
jobs
jobs frob
jobs list --status bogus
jobs list --limit 0
jobs list extra
jobs retry
jobs retry abc
jobs drop 1 2
backfill-customers --rate 0
backfill-customers --rate 5/m
backfill-customers --rate 1001
backfill-customers --limit 0
backfill-customers --budget-ms 5
backfill-customers --bogus
backfill-customers extra
EOF
}

test_rerun_after_faults() {
	local rc=0
	emu DELETE /faults >/dev/null || die "cannot clear the emulator faults"
	# The jobs worker comes back and races the backfill for the same jobs: still one each.
	"$PB_TEST_CTL" paybridge-start || die "cannot start paybridge"
	ctl backfill-customers --rate 100 >"$out/out" 2>"$out/err" || rc=$?
	expect_rc 0 "$rc" "backfill after the faults cleared"
	expect_grep '^created [0-9]+, already had one [0-9]+, failed 0' "$out/out" summary
	[ "$(without ft)" -eq 0 ] || fail "$(without ft) ft users still have no customer"
	check_all 675
}

run_case test_backfill_500
run_case test_second_run_creates_none
run_case test_resume_limit_interrupt_tty
run_case test_dry_run
run_case test_failing_stripe
run_case test_jobs
run_case test_usage
run_case test_rerun_after_faults
harness_summary
