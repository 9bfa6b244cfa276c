#!/usr/bin/env bash
# paybridgectl events (sync, replay, list) and the jobs worker's periodic sync against the
# real stack: MariaDB, the Stripe emulator and paybridge. Run through
# tests/integration/run-events.sh, which starts the stack with the periodic sync off.
# Every webhook delivery is held by the emulator for the whole run (delivery mode
# "hold"): each event reaches paybridge only through /v1/events, as one Stripe gave up
# on would. Cases run in order and build on each other; each prints ok or FAILED, and
# the last line is "N passed, N failed", which script/test counts.
set -uo pipefail

harness_name=events-test.sh
# shellcheck source=tests/integration/harness.sh
. "$(dirname "${BASH_SOURCE[0]}")/harness.sh"
harness_init PB_NGINX_PORT
tag=$$
emu POST /delivery -d '{"mode":"hold"}' >/dev/null || die "cannot hold the deliveries"

# Events the emulator holds in all, and the newest one's id.
emu_events() {
	emu GET /objects/events | jq '.data | length'
}

newest_event() {
	emu GET /objects/events | jq -r '.data[-1].id'
}

recorded() {
	sql 'SELECT COUNT(*) FROM stripe_events'
}

# customer NAME [FORM...]: a new Stripe customer (one customer.created event); prints its id.
customer() {
	local name=$1
	shift
	stripe /v1/customers -d "name=$name" -d "email=$name@example.test" "$@" | jq -r .id
}

# A customer that is one of our users, and a paid payment intent of theirs: an order.
# Prints the payment intent's id.
paid_order() {
	local cus n=$1
	cus=$(customer "ev$tag-$n")
	sql "INSERT INTO users (name, email, email_normalized, password_hash, stripe_customer_id)
		VALUES ('Events $n', 'ev$tag-$n@example.test', 'ev$tag-$n@example.test', 'x', '$cus')" ||
		die "cannot insert user $n"
	stripe /v1/payment_intents -d amount=1500 -d currency=usd -d "customer=$cus" \
		-d payment_method=pm_card_visa -d confirm=true | jq -r .id
}

order_of() {
	sql "SELECT COUNT(*) FROM orders WHERE stripe_payment_intent_id = '$1' AND status = 'paid'"
}

cursor() {
	sql "SELECT value FROM sync_state WHERE name = 'events_cursor'"
}

test_sync_picks_up_dropped() {
	local pi rc=0 n
	pi=$(paid_order 1)
	[ -n "$pi" ] && [ "$pi" != null ] || die "no payment intent"
	[ "$(emu GET /delivery | jq '.held | length')" -gt 0 ] || fail "no delivery is held"
	[ "$(order_of "$pi")" -eq 0 ] || fail "the order exists before any sync: not dropped"
	n=$(emu_events)
	ctl events sync >"$out/out" 2>"$out/err" || rc=$?
	expect_rc 0 "$rc" "first sync"
	expect_grep "^fetched $n, applied $n, duplicate 0, failed 0, elapsed [0-9.]+ s$" \
		"$out/out" summary
	[ "$(order_of "$pi")" -eq 1 ] || fail "the sync made no paid order for $pi"
	[ "$(sql "SELECT source FROM stripe_events WHERE type = 'payment_intent.succeeded'
		AND object_id = '$pi'")" = sync ] || fail "payment_intent.succeeded is not source sync"
	[ "$(recorded)" -eq "$n" ] || fail "$(recorded) events recorded, expected $n"
	[ "$(cursor)" = "$(emu GET /objects/events | jq -r '.data[-1] | "\(.created) \(.id)"')" ] ||
		fail "the cursor '$(cursor)' is not the newest event"
	# Applied oldest first: stripe_events ids follow Stripe's order of creation.
	sql 'SELECT stripe_event_id FROM stripe_events ORDER BY id' >"$out/db.order"
	emu GET /objects/events | jq -r '.data[].id' >"$out/emu.order"
	diff "$out/emu.order" "$out/db.order" >/dev/null || fail "events were not applied oldest first"
}

test_second_sync_changes_nothing() {
	local rc=0 before n
	before=$(recorded)
	ctl events sync >"$out/out" 2>"$out/err" || rc=$?
	expect_rc 0 "$rc" "second sync"
	expect_grep '^fetched 0, applied 0, duplicate 0, failed 0' "$out/out" "nothing newer"
	# From the start again: every event is a duplicate and changes nothing.
	n=$(emu_events)
	rc=0
	ctl events sync --since 0 >"$out/out" 2>"$out/err" || rc=$?
	expect_rc 0 "$rc" "sync --since 0"
	expect_grep "^fetched $n, applied 0, duplicate $n, failed 0" "$out/out" "all duplicates"
	[ "$(recorded)" -eq "$before" ] || fail "a sync of duplicates recorded events"
	[ "$(sql 'SELECT COUNT(*) FROM orders')" -eq 1 ] || fail "duplicates made orders"
}

test_cursor_survives_restart() {
	local rc=0 before after pi1 pi2
	"$PB_TEST_CTL" paybridge-stop || die "cannot stop paybridge"
	"$PB_TEST_CTL" paybridge-start || die "cannot start paybridge"
	before=$(emu_events)
	pi1=$(paid_order 2)
	pi2=$(paid_order 3)
	after=$(emu_events)
	ctl events sync >"$out/out" 2>"$out/err" || rc=$?
	expect_rc 0 "$rc" "sync after a restart"
	# Only the new events: the cursor came from the database.
	expect_grep "^fetched $((after - before)), applied $((after - before)), duplicate 0, failed 0" \
		"$out/out" "only the new events"
	[ "$(order_of "$pi1")$(order_of "$pi2")" = 11 ] || fail "the new orders are missing"
	# An ISO 8601 --since later than every event: nothing to fetch.
	rc=0
	ctl events sync --since "$(date -u -d '+1 hour' +%Y-%m-%dT%H:%M:%SZ)" >"$out/out" \
		2>"$out/err" || rc=$?
	expect_rc 0 "$rc" "sync --since in an hour"
	expect_grep '^fetched 0, applied 0' "$out/out" "nothing after an hour from now"
}

test_replay() {
	local rc=0 applied cus id before
	applied=$(sql "SELECT stripe_event_id FROM stripe_events WHERE type = 'payment_intent.succeeded' LIMIT 1")
	before=$(recorded)
	ctl events replay "$applied" >"$out/out" 2>"$out/err" || rc=$?
	expect_rc 0 "$rc" "replay of an applied event"
	expect_grep "^event $applied was applied before: nothing changed \(duplicate\)$" "$out/out" message
	[ "$(recorded)" -eq "$before" ] || fail "a replay of an applied event recorded one"
	cus=$(customer "replay$tag")
	id=$(newest_event)
	rc=0
	ctl events replay "$id" >"$out/out" 2>"$out/err" || rc=$?
	expect_rc 0 "$rc" "replay of an unrecorded event"
	expect_grep "^event $id (applied|recorded) \(source replay\)" "$out/out" message
	[ "$(sql "SELECT source FROM stripe_events WHERE stripe_event_id = '$id'")" = replay ] ||
		fail "the replayed event is not recorded with source replay"
	rc=0
	ctl events replay evt_doesnotexist >"$out/out" 2>"$out/err" || rc=$?
	expect_rc 1 "$rc" "replay of no event"
	expect_grep 'Stripe has no such event' "$out/err" message
	# The next sync finds it recorded.
	rc=0
	ctl events sync >"$out/out" 2>"$out/err" || rc=$?
	expect_rc 0 "$rc" "sync after a replay"
	expect_grep '^fetched 1, applied 0, duplicate 1, failed 0' "$out/out" "the replayed one"
	[ -n "$cus" ] || fail "no customer"
}

test_failed_event_listed() {
	local rc=0 id good cur
	cur=$(cursor)
	customer "fault$tag" -d 'metadata[paybridge_test_fault]=fail_once' >/dev/null
	id=$(newest_event)
	customer "after$tag" >/dev/null
	good=$(newest_event)
	ctl events sync >"$out/out" 2>"$out/err" || rc=$?
	expect_rc 1 "$rc" "sync with a failing event"
	expect_grep '^fetched 1, applied 0, duplicate 0, failed 1' "$out/out" "stops at the failure"
	expect_grep "event $id failed: .*run it again" "$out/err" message
	[ "$(cursor)" = "$cur" ] || fail "the cursor moved past the failed event"
	[ "$(sql "SELECT COUNT(*) FROM stripe_events WHERE stripe_event_id = '$good'")" -eq 0 ] ||
		fail "an event after the failed one was applied"
	rc=0
	ctl events list --failed >"$out/out" 2>"$out/err" || rc=$?
	expect_rc 0 "$rc" "events list --failed"
	expect_grep "^$id	customer\.created	-	sync	failed	1	.+" "$out/out" "failed row (tab-separated)"
	[ "$(grep -c . "$out/out")" -eq 1 ] || fail "events list --failed lists more than the failed one"
	# On a terminal: a table with a header.
	script -qec "$(printf '%q -c %q events list --failed' "$ctl_bin" "$conf")" /dev/null \
		</dev/null >"$out/tty" 2>&1 || fail "events list --failed on a terminal failed"
	expect_grep '^ID +TYPE +CREATED +SOURCE +STATUS +ATTEMPTS +LAST_ERROR' "$out/tty" header
	expect_grep "^$id +customer\.created +- +sync +failed +1 " "$out/tty" "table row"
	rc=0
	ctl events sync >"$out/out" 2>"$out/err" || rc=$?
	expect_rc 0 "$rc" "the retry"
	expect_grep '^fetched 2, applied 2, duplicate 0, failed 0' "$out/out" "the retry applies both"
	rc=0
	ctl events list --failed >"$out/out" 2>"$out/err" || rc=$?
	[ -s "$out/out" ] && fail "the applied event is still listed as failed"
	ctl events list --limit 2 >"$out/out" 2>"$out/err" || rc=$?
	expect_grep "^$good	customer\.created	20[0-9-]{8}T[0-9:]{8}Z	sync	applied	0	-$" "$out/out" \
		"events list row"
	expect_grep "^$id	customer\.created	.*	sync	applied	1	" "$out/out" "the retried row"
	expect_grep 'newest 2 shown' "$out/err" "note on the limit"
	# A failure written after its event was applied (a concurrent delivery's, recorded
	# late) is resolved already: the event row is what resolves it.
	sql "INSERT INTO stripe_event_failures (stripe_event_id, type, source, attempts, last_error)
		VALUES ('$good', 'customer.created', 'webhook', 1, 'late')" ||
		die "cannot insert the late failure"
	rc=0
	ctl events list --failed >"$out/out" 2>"$out/err" || rc=$?
	expect_rc 0 "$rc" "events list --failed after a late failure"
	[ -s "$out/out" ] && fail "a failure of an applied event is listed as failed"
}

test_lease() {
	local rc=0 rc1=0 rc2=0 before n p1 p2 busy
	# Held by another owner, unexpired: refused, saying who holds it.
	sql "INSERT INTO sync_state (name, value) VALUES ('events_sync_lease',
		CONCAT(UNIX_TIMESTAMP() + 60, ' otherhost:4242'))
		ON DUPLICATE KEY UPDATE value = VALUES(value)"
	ctl events sync >"$out/out" 2>"$out/err" || rc=$?
	expect_rc 1 "$rc" "sync while another holds the lease"
	expect_grep 'another sync is running \(otherhost:4242 holds the lease until 20[0-9-]{8}T[0-9:]{8}Z\)' \
		"$out/err" message
	# Expired: taken over.
	sql "UPDATE sync_state SET value = CONCAT(UNIX_TIMESTAMP() - 1, ' otherhost:4242')
		WHERE name = 'events_sync_lease'"
	rc=0
	ctl events sync >"$out/out" 2>"$out/err" || rc=$?
	expect_rc 0 "$rc" "sync after the lease ran out"
	expect_grep "^0 " <(sql "SELECT value FROM sync_state WHERE name = 'events_sync_lease'") \
		"the lease is freed at the end"

	# Two at once: each list call waits 1.5 s, so the first holds the lease while the
	# second starts; only one applies anything.
	for i in $(seq 1 5); do customer "lease$tag-$i" >/dev/null; done
	before=$(recorded)
	emu POST /faults -d '{"method":"GET","path":"/v1/events","kind":"latency","ms":1500,"count":4}' \
		>/dev/null || die "cannot set the latency fault"
	"$ctl_bin" -c "$conf" events sync >"$out/out1" 2>"$out/err1" &
	p1=$!
	"$ctl_bin" -c "$conf" events sync >"$out/out2" 2>"$out/err2" &
	p2=$!
	wait "$p1" || rc1=$?
	wait "$p2" || rc2=$?
	emu DELETE /faults >/dev/null
	n=$(($(recorded) - before))
	[ "$n" -eq 5 ] || fail "$n events recorded by the two syncs, expected 5"
	busy=$(cat "$out/err1" "$out/err2" | grep -c 'another sync is running')
	[ "$busy" -eq 1 ] || fail "not exactly one sync was refused by the lease: $(cat "$out/err1" "$out/err2")"
	[ $((rc1 + rc2)) -eq 1 ] || fail "exits $rc1 and $rc2: expected one 0 and one 1"
	grep -h '^fetched' "$out/out1" "$out/out2" >"$out/out"
	[ "$(grep -c . "$out/out")" -eq 1 ] || fail "both syncs ran"
	expect_grep '^fetched 5, applied 5, duplicate 0, failed 0' "$out/out" "the one that ran"
}

test_usage() {
	expect_usage <<'EOF'
events
events frob
events sync extra
events sync --since yesterday
events sync --since 2026-02-30
events sync --rate 0
events sync --failed
events replay
events replay a b
events list --limit 0
events list --since 0
events list extra
EOF
}

# The jobs worker syncs on its own every events_sync_interval seconds.
test_periodic_sync() {
	local pi i found=0
	"$PB_TEST_CTL" paybridge-stop || die "cannot stop paybridge"
	PAYBRIDGE_EVENTS_SYNC_INTERVAL=1 "$PB_TEST_CTL" paybridge-start || die "cannot start paybridge"
	pi=$(paid_order 4)
	for i in $(seq 1 300); do
		if [ "$(order_of "$pi")" -eq 1 ]; then
			found=1
			break
		fi
		sleep 0.1
	done
	[ "$found" -eq 1 ] || fail "the jobs worker did not sync the dropped events within 30 s ($i polls)"
	[ "$(sql "SELECT source FROM stripe_events WHERE type = 'payment_intent.succeeded'
		AND object_id = '$pi'")" = sync ] || fail "payment_intent.succeeded is not source sync"
	curl -fsS "http://127.0.0.1:$PB_NGINX_PORT/metrics" >"$out/metrics" 2>/dev/null ||
		fail "cannot read /metrics"
	grep -Eq '^paybridge_events_synced_total\{outcome="applied"\} [1-9]' "$out/metrics" ||
		fail "paybridge_events_synced_total{outcome=\"applied\"} did not count"
	grep -q '^paybridge_events_synced_total{outcome="failed"} 0' "$out/metrics" ||
		fail "paybridge_events_synced_total{outcome=\"failed\"} is missing or not 0"
	"$PB_TEST_CTL" paybridge-stop || die "cannot stop paybridge"
	"$PB_TEST_CTL" paybridge-start || die "cannot start paybridge"
}

run_case test_sync_picks_up_dropped
run_case test_second_sync_changes_nothing
run_case test_cursor_survives_restart
run_case test_replay
run_case test_failed_event_listed
run_case test_lease
run_case test_usage
run_case test_periodic_sync
harness_summary
