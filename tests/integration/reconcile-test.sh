#!/usr/bin/env bash
# paybridgectl reconcile against the real stack: MariaDB, the Stripe emulator and
# paybridge with its jobs worker. Run through tests/integration/run-reconcile.sh, which
# starts the stack with the periodic events sync off; webhook delivery is turned off
# here, so that what is changed in Stripe behind paybridge's back stays unheard of.
#
# Each kind of drift is seeded on purpose, by hand: users straight into MariaDB, and
# customers straight in the emulator (created, renamed, deleted), beside 220 foreign
# customers (no metadata user_id: never reported, never touched) that make the listing
# take three pages. Then: the report finds each (JSON, plain lines, the table on a
# terminal) and changes nothing; --fix repairs the safe ones; orphans and duplicates go
# only with --delete-orphans; a final run finds nothing. Cases run in order and build
# on each other; the last line is "N passed, N failed" (tests/integration/harness.sh).
set -uo pipefail

harness_name=reconcile-test.sh
# shellcheck source=tests/integration/harness.sh
. "$(dirname "${BASH_SOURCE[0]}")/harness.sh"
# shellcheck disable=SC2119  # no arguments: only the variables every suite needs
harness_init
# Any PHC-shaped string: these users never log in.
# shellcheck disable=SC2016  # the dollars are the hash's own
hash='$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$bm90LWEtcmVhbC1oYXNoLWp1c3QtaXRzLXNoYXBl'
FOREIGN=220
esc=$'\033'
cr=$'\r'

# new_user NAME EMAIL: a live user without a customer; prints its id.
new_user() {
	sql "INSERT INTO users (name, email, email_normalized, password_hash)
		VALUES ('$1', '$2', LOWER('$2'), '$hash'); SELECT LAST_INSERT_ID()" ||
		die "cannot insert user $1"
}

customer_of() {
	sql "SELECT IFNULL(stripe_customer_id, '') FROM users WHERE id = $1"
}

# new_customer NAME EMAIL [USER_ID]: a customer made straight in Stripe; prints its id.
new_customer() {
	local meta=()
	[ -n "${3:-}" ] && meta=(-d "metadata[user_id]=$3")
	stripe /v1/customers --data-urlencode "name=$1" --data-urlencode "email=$2" "${meta[@]}" |
		jq -r .id
}

# field ID JQ: one field of a customer as the emulator has it.
field() {
	emu GET "/objects/customers/$1" | jq -r "$2"
}

# live_naming USER_ID: the live customers whose metadata user_id is USER_ID.
live_naming() {
	emu GET /objects/customers |
		jq --arg u "$1" '[.data[] | select(.deleted != true and .metadata.user_id == $u)] | length'
}

# changes: POSTs and DELETEs Stripe received since the request log was last cleared.
changes() {
	emu GET '/requests?path_prefix=/v1/' |
		jq '[.data[] | select(.method == "POST" or .method == "DELETE")] | length'
}

# Every row that reconcile may change, to compare before and after.
users_state() {
	sql 'SELECT id, IFNULL(stripe_customer_id, "-"), name, email, deleted_at IS NULL
		FROM users ORDER BY id' | md5sum
}

# reconcile ARGS...: runs it with its output in $out/out and $out/err; rc in $rc.
reconcile() {
	rc=0
	ctl reconcile "$@" >"$out/out" 2>"$out/err" || rc=$?
}

# finding KIND USER CUSTOMER: the one finding of $out/out (JSON) with those, as JSON.
finding() {
	jq -c --arg k "$1" --arg u "$2" --arg c "$3" '[.findings[] | select(.kind == $k and
		((.user_id | tostring) == $u) and ((.customer // "null") == $c))] |
		if length == 1 then .[0] else empty end' "$out/out"
}

# expect_finding KIND USER CUSTOMER JQ-CONDITION WHAT
expect_finding() {
	local f
	f=$(finding "$1" "$2" "$3")
	if [ -z "$f" ]; then
		fail "$5: no single $1 finding for user $2, customer $3"
		return
	fi
	jq -e "$4" <<<"$f" >/dev/null || fail "$5: $f does not satisfy $4"
}

# expect_counts JSON-OBJECT: .counts of $out/out, exactly.
expect_counts() {
	jq -e --argjson want "$1" '.counts == $want' "$out/out" >/dev/null ||
		fail "counts are $(jq -c .counts "$out/out" 2>/dev/null || echo '(no JSON)'), expected $1"
}

test_usage() {
	local args
	while IFS= read -r args; do
		rc=0
		# shellcheck disable=SC2086
		ctl reconcile $args >"$out/out" 2>"$out/err" || rc=$?
		expect_rc 64 "$rc" "paybridgectl reconcile $args"
		expect_grep '^usage: paybridgectl .*reconcile \[--json\] \[--fix \[--delete-orphans\]\]' \
			"$out/err" "usage line for '$args'"
	done <<'EOF'
--delete-orphans
--json --delete-orphans
--rate 0
--rate 5/m
--rate 1001
--rate
--budget-ms 5
--budget-ms 300001
--bogus
extra
--fix extra
EOF
	rc=0
	ctl reconcile --delete-orphans >"$out/out" 2>"$out/err" || rc=$?
	expect_grep '^paybridgectl: reconcile: --delete-orphans needs --fix$' "$out/err" \
		"--delete-orphans alone"
}

test_seed() {
	local i
	emu DELETE /webhooks >/dev/null || die "cannot turn webhook delivery off"
	for ((i = 1; i <= FOREIGN; i++)); do
		stripe /v1/customers -d "name=Foreign $i" -d "email=foreign.$i@example.test" \
			>/dev/null || die "cannot create foreign customer $i"
	done
	u_ok=$(new_user 'Ok User' 'ok@example.test')
	u_dang=$(new_user 'Dang User' 'dang@example.test')
	u_dangu=$(new_user 'Dangu User' 'dangu@example.test')
	u_dname=$(new_user 'Dname User' 'dname@example.test')
	u_demail=$(new_user 'Demail User' 'demail@example.test')
	u_dup=$(new_user 'Dup User' 'dup@example.test')
	u_closed=$(new_user 'Closed User' 'closed@example.test')
	u_forn=$(new_user 'Forn User' 'forn@example.test')
	# A user linked to a foreign customer: neither dangling nor drifting.
	c_forn=$(new_customer 'Someone Else Entirely' 'else@example.test')
	sql "UPDATE users SET stripe_customer_id = '$c_forn' WHERE id = $u_forn"
	# Customers the normal way, with their jobs done.
	rc=0
	ctl backfill-customers --rate 100 >"$out/out" 2>"$out/err" || rc=$?
	expect_rc 0 "$rc" "backfill of the seeded users"
	expect_grep '^created 7, already had one 0, failed 0' "$out/out" "backfill summary"
	c_ok=$(customer_of "$u_ok")
	c_dang=$(customer_of "$u_dang")
	c_dangu=$(customer_of "$u_dangu")
	c_dname=$(customer_of "$u_dname")
	c_demail=$(customer_of "$u_demail")
	c_dup=$(customer_of "$u_dup")
	c_closed=$(customer_of "$u_closed")
	# dangling_customer: deleted in Stripe behind the user's back...
	stripe "/v1/customers/$c_dang" -X DELETE >/dev/null || die "cannot delete $c_dang"
	# ... and one Stripe never had, while the user's real customer names it (adopted).
	sql "UPDATE users SET stripe_customer_id = 'cus_RcNeverExisted' WHERE id = $u_dangu"
	# name_drift, with a terminal escape in it; email_drift on our side.
	stripe "/v1/customers/$c_dname" --data-urlencode "name=Renamed${esc}[2J In Stripe" \
		>/dev/null || die "cannot rename $c_dname"
	sql "UPDATE users SET email = 'Demail.New@Example.test',
		email_normalized = 'demail.new@example.test' WHERE id = $u_demail"
	# duplicate: a second customer naming a linked user.
	c_dup2=$(new_customer 'Dup User' 'dup@example.test' "$u_dup")
	# orphans: a closed account's customer, and one naming no user at all.
	sql "UPDATE users SET deleted_at = NOW(6), email_normalized = NULL, name = '',
		email = '' WHERE id = $u_closed"
	c_orphan=$(new_customer 'Nobody' 'nobody@example.test' 987654321)
	# missing_customer: two users without one, and one whose customer exists unlinked.
	u_miss1=$(new_user 'Miss One' 'miss1@example.test')
	u_miss2=$(new_user 'Miss Two' 'miss2@example.test')
	u_adopt=$(new_user 'Adopt User' 'adopt@example.test')
	c_adopt=$(new_customer 'Adopt User' 'adopt@example.test' "$u_adopt")
	for v in c_ok c_dang c_dangu c_dname c_demail c_dup c_closed c_dup2 c_orphan c_adopt \
		c_forn; do
		[[ ${!v} == cus_* ]] || die "seeding failed: $v is '${!v}'"
	done
	emu GET /objects/customers | jq -r '.data[] | select(.metadata.user_id == null) | .id' \
		| sort >"$out/foreign.ids"
	[ "$(wc -l <"$out/foreign.ids")" -eq $((FOREIGN + 1)) ] || fail "not $((FOREIGN + 1)) foreign customers"
	emu DELETE /requests >/dev/null
	state_seeded=$(users_state)
}

# What the report must find, whatever the format.
expect_seeded_findings() {
	expect_counts '{"missing_customer":3,"dangling_customer":2,"orphan":2,"duplicate":1,"name_drift":1,"email_drift":1}'
	jq -e ".customers_seen == $((FOREIGN + 10)) and .foreign_customers == $((FOREIGN + 1))
		and .users_seen == 10 and .complete == true" "$out/out" >/dev/null ||
		fail "seen: $(jq -c '{customers_seen, foreign_customers, users_seen, complete}' "$out/out")"
	expect_finding missing_customer "$u_miss1" null '.adopt == null and .fixed == null' miss1
	expect_finding missing_customer "$u_miss2" null '.adopt == null' miss2
	expect_finding missing_customer "$u_adopt" null ".adopt == \"$c_adopt\"" adopt
	expect_finding dangling_customer "$u_dang" "$c_dang" '.stripe == "deleted" and .adopt == null' \
		"deleted customer"
	expect_finding dangling_customer "$u_dangu" cus_RcNeverExisted \
		".stripe == \"unknown\" and .adopt == \"$c_dangu\"" "unknown customer"
	expect_finding name_drift "$u_dname" "$c_dname" \
		'.ours == "Dname User" and .stripe == "Renamed\u001b[2J In Stripe"' "name drift"
	expect_finding email_drift "$u_demail" "$c_demail" \
		'.ours == "Demail.New@Example.test" and .stripe == "demail@example.test"' "email drift"
	expect_finding duplicate "$u_dup" "$c_dup2" ".ours == \"$c_dup\"" duplicate
	expect_finding orphan "$u_closed" "$c_closed" ".stripe == \"$u_closed\"" "closed account's"
	expect_finding orphan 987654321 "$c_orphan" '.stripe == "987654321"' "orphan"
}

test_report_json() {
	reconcile --json
	expect_rc 1 "$rc" "report with findings"
	jq -e . "$out/out" >/dev/null || {
		fail "--json is not one JSON document: $(head -c 300 "$out/out")"
		return
	}
	expect_seeded_findings
	expect_grep '^reconcile: [0-9]+ Stripe customer\(s\) \([0-9]+ foreign\), 10 user\(s\): 3 missing_customer, 2 dangling_customer, 2 orphan, 1 duplicate, 1 name_drift, 1 email_drift; fixed 0, not fixed 10; elapsed' \
		"$out/err" "summary on stderr"
	[ "$(changes)" -eq 0 ] || fail "the report changed something in Stripe"
	[ "$(users_state)" = "$state_seeded" ] || fail "the report changed users"
}

test_report_plain() {
	local tab=$'\t'
	reconcile
	expect_rc 1 "$rc" "plain report"
	[ "$(grep -c . "$out/out")" -eq 10 ] || fail "not 10 lines: $(cat "$out/out")"
	expect_grep "^missing_customer${tab}$u_adopt${tab}-${tab}-${tab}no customer; adopt $c_adopt\$" \
		"$out/out" "missing line"
	expect_grep "^dangling_customer${tab}$u_dang${tab}$c_dang${tab}-${tab}deleted in Stripe\$" \
		"$out/out" "dangling line"
	# The escape byte is shown as '?'.
	expect_grep "^name_drift${tab}$u_dname${tab}$c_dname${tab}-${tab}ours \"Dname User\", Stripe \"Renamed\\?\\[2J In Stripe\"\$" \
		"$out/out" "name drift line"
	expect_grep "^orphan${tab}987654321${tab}$c_orphan${tab}-${tab}metadata user_id 987654321 names no live user\$" \
		"$out/out" "orphan line"
	grep -Eq "	($u_ok|$u_forn)	" "$out/out" && fail "a user in sync was reported"
	grep -q "$esc" "$out/out" "$out/err" && fail "a terminal escape reached the output"
	expect_grep '^reconcile: listing Stripe customers, at most 10 call\(s\)/s$' "$out/err" \
		"first progress line"
	[ "$(changes)" -eq 0 ] || fail "the report changed something in Stripe"
}

test_report_tty() {
	local cmd
	printf -v cmd '%q -c %q reconcile' "$ctl_bin" "$conf"
	rc=0
	timeout 60 script -qec "$cmd" /dev/null </dev/null >"$out/tty" 2>&1 || rc=$?
	cp "$out/tty" "$out/err"
	expect_rc 1 "$rc" "report on a terminal"
	expect_grep 'KIND +USER +CUSTOMER +FIXED +DETAIL' "$out/tty" header
	expect_grep "email_drift +$u_demail +$c_demail +- +ours \"Demail.New@Example.test\", Stripe \"demail@example.test\"" \
		"$out/tty" "email drift row"
	expect_grep 'Renamed\?\[2J In Stripe' "$out/tty" "escape shown as ?"
	grep -q "${esc}\[2J" "$out/tty" && fail "the seeded escape reached the terminal"
	expect_grep '\[=* *\] +[0-9]+/10 users' "$out/tty" "progress bar"
	grep -q $'\r' "$out/tty" || fail "the progress line does not redraw itself"
	# Warnings stay (Stripe's 404 for the unknown customer); a line per request does not.
	grep -q '"level":"info"' "$out/tty" && fail "info log lines scrolled the progress"
	# A log line may follow the bar only once the bar is erased (\r ESC [K).
	grep -Eq "/10 users[^${cr}${esc}]*\\{\"ts\"" "$out/tty" && fail "a log line landed on the bar"
	[ "$(changes)" -eq 0 ] || fail "the report changed something in Stripe"
}

# Three pages of customers, each one paced call: at 5/s they are at least 200 ms apart.
test_pages_and_rate() {
	local gaps
	emu DELETE /requests >/dev/null
	reconcile --rate 5/s --json
	expect_rc 1 "$rc" "report at 5/s"
	emu GET '/requests?path=/v1/customers&method=GET' >"$out/gets.json"
	[ "$(jq '.data | length' "$out/gets.json")" -eq 3 ] ||
		fail "$(jq '.data | length' "$out/gets.json") list calls for $((FOREIGN + 10)) customers, expected 3"
	jq -e '.data[0].query == "limit=100" and (.data[1].query | startswith("limit=100&starting_after=cus_"))' \
		"$out/gets.json" >/dev/null || fail "pages not asked with limit and starting_after"
	gaps=$(jq '[.data | range(1; length) as $i | .[$i].wall_time - .[$i - 1].wall_time] | min' \
		"$out/gets.json")
	jq -e -n "$gaps >= 0.19" >/dev/null || fail "list calls $gaps s apart at 5/s"
	expect_seeded_findings
}

test_interrupt() {
	local pid i n=0
	emu DELETE /requests >/dev/null
	"$ctl_bin" -c "$conf" reconcile --json --rate 1 >"$out/out" 2>"$out/err" &
	pid=$!
	for ((i = 0; i < 100 && n < 1; i++)); do
		n=$(emu GET '/requests?path=/v1/customers&method=GET' | jq '.data | length')
		[ "$n" -ge 1 ] || sleep 0.1
	done
	kill -INT "$pid"
	rc=0
	wait "$pid" || rc=$?
	expect_rc 1 "$rc" "interrupted run"
	expect_grep 'interrupted: what was found so far is above; run it again' "$out/err" message
	jq -e '.complete == false and .findings == []' "$out/out" >/dev/null ||
		fail "interrupted JSON: $(head -c 300 "$out/out")"
	[ "$(emu GET '/requests?path=/v1/customers&method=GET' | jq '.data | length')" -lt 3 ] ||
		fail "it listed every page after SIGINT"
}

test_failing_list() {
	emu POST /faults -d '{"method":"GET","path":"/v1/customers","kind":"error","status":500,"count":1000}' \
		>/dev/null || die "cannot set the fault"
	emu DELETE /requests >/dev/null
	reconcile --fix --json
	expect_rc 1 "$rc" "--fix with Stripe failing"
	expect_grep '^paybridgectl: reconcile: listing Stripe customers failed: .* \(Stripe answered 500 api_error: An unknown error occurred\); nothing after it was looked at$' \
		"$out/err" "message"
	jq -e '.complete == false and .findings == [] and (.error | startswith("listing Stripe customers failed"))' \
		"$out/out" >/dev/null || fail "JSON on failure: $(cat "$out/out")"
	[ "$(changes)" -eq 0 ] || fail "something changed in Stripe"
	[ "$(users_state)" = "$state_seeded" ] || fail "users changed"
	emu DELETE /faults >/dev/null || die "cannot clear the faults"
}

test_fix() {
	local c
	emu DELETE /requests >/dev/null
	reconcile --fix --json
	expect_rc 1 "$rc" "--fix leaves orphans and duplicates"
	expect_counts '{"missing_customer":3,"dangling_customer":2,"orphan":2,"duplicate":1,"name_drift":1,"email_drift":1}'
	jq -e '.fixed == 7 and ([.findings[] | select(.kind == "orphan" or .kind == "duplicate")
		| .fixed] | all(. == null)) and ([.findings[] | select(.kind != "orphan" and
		.kind != "duplicate") | .fixed] | all(. == true))' "$out/out" >/dev/null ||
		fail "fixed: $(jq -c '[.findings[] | {kind, user_id, fixed, note}]' "$out/out")"
	expect_grep '; fixed 7, not fixed 3;' "$out/err" summary
	# Created, with our values, the backfill's way.
	for u in "$u_miss1" "$u_miss2"; do
		c=$(customer_of "$u")
		[[ $c == cus_* ]] || { fail "user $u still has no customer"; continue; }
		[ "$(field "$c" '[.deleted != true, .metadata.user_id, .metadata.source] | join(" ")')" = \
			"true $u backfill" ] || fail "user $u's customer $c: $(field "$c" -c)"
		[ "$(field "$c" .name)" = "$(sql "SELECT name FROM users WHERE id = $u")" ] ||
			fail "user $u's customer has another name"
	done
	# Adopted: no second customer made.
	[ "$(customer_of "$u_adopt")" = "$c_adopt" ] || fail "the adopt user has '$(customer_of "$u_adopt")'"
	[ "$(live_naming "$u_adopt")" -eq 1 ] || fail "a customer was made for the adopt user"
	# Dangling: a new customer for the deleted one; the unknown one's user adopted its own.
	c=$(customer_of "$u_dang")
	[[ $c == cus_* && $c != "$c_dang" ]] || fail "the dangling user has '$c'"
	[ "$(field "$c" '.deleted != true and .metadata.user_id == "'"$u_dang"'"')" = true ] ||
		fail "the dangling user's new customer: $(field "$c" -c)"
	[ "$(customer_of "$u_dangu")" = "$c_dangu" ] || fail "the unknown-customer user has '$(customer_of "$u_dangu")'"
	# Drift: ours won.
	[ "$(field "$c_dname" .name)" = 'Dname User' ] || fail "name not pushed: $(field "$c_dname" .name)"
	[ "$(field "$c_demail" .email)" = 'Demail.New@Example.test' ] || fail "email not pushed"
	# Orphans and the duplicate stay; foreign customers untouched.
	for c in "$c_dup2" "$c_orphan" "$c_closed"; do
		[ "$(field "$c" '.deleted != true')" = true ] || fail "$c was deleted without --delete-orphans"
	done
	emu GET '/requests?path_prefix=/v1/customers/' |
		jq -r '.data[] | select(.method != "GET") | .path | ltrimstr("/v1/customers/")' |
		sort -u >"$out/changed.ids"
	comm -12 "$out/changed.ids" "$out/foreign.ids" >"$out/touched"
	[ ! -s "$out/touched" ] || fail "foreign customers were changed: $(head -n 3 "$out/touched")"
	# The user in sync: the same customer, never written to.
	[ "$(customer_of "$u_ok")" = "$c_ok" ] || fail "the user in sync changed customer"
	grep -qx "$c_ok" "$out/changed.ids" && fail "the customer in sync was written to"
}

test_only_orphans_left() {
	reconcile --json
	expect_rc 1 "$rc" "report after --fix"
	expect_counts '{"missing_customer":0,"dangling_customer":0,"orphan":2,"duplicate":1,"name_drift":0,"email_drift":0}'
	expect_finding duplicate "$u_dup" "$c_dup2" ".ours == \"$c_dup\"" duplicate
}

test_delete_orphans() {
	local c key
	emu DELETE /requests >/dev/null
	reconcile --fix --delete-orphans --json
	expect_rc 0 "$rc" "--fix --delete-orphans"
	jq -e '.fixed == 3 and .failed == 0 and ([.findings[].fixed] | all(. == true))' \
		"$out/out" >/dev/null || fail "deletions: $(jq -c '.findings' "$out/out")"
	for c in "$c_dup2" "$c_orphan" "$c_closed"; do
		[ "$(field "$c" .deleted)" = true ] || fail "$c is not deleted"
		key=$(emu GET "/requests?path=/v1/customers/$c&method=DELETE" |
			jq -r '.data[0].headers["idempotency-key"]')
		[ "$key" = "paybridge-reconcile-delete-$c" ] || fail "deleting $c used key '$key'"
	done
	[ "$(field "$c_dup" '.deleted != true')" = true ] || fail "the duplicate's user lost its customer"
	[ "$(field "$c_forn" '.deleted != true')" = true ] || fail "a foreign customer was deleted"
	[ "$(emu GET /objects/customers | jq '[.data[] | select(.deleted == true)] | length')" -eq 4 ] ||
		fail "not exactly the 3 and the one deleted by hand are deleted"
}

test_nothing_left() {
	reconcile
	expect_rc 0 "$rc" "final run"
	[ ! -s "$out/out" ] || fail "the final run printed findings: $(head -n 3 "$out/out")"
	expect_grep ' user\(s\): nothing found; elapsed' "$out/err" summary
	reconcile --json
	expect_rc 0 "$rc" "final run, JSON"
	expect_counts '{"missing_customer":0,"dangling_customer":0,"orphan":0,"duplicate":0,"name_drift":0,"email_drift":0}'
	jq -e '.findings == [] and .complete == true' "$out/out" >/dev/null || fail "findings remain"
}

# A repair Stripe refuses: exit 1 with what Stripe said, the job left queued; run again.
test_failing_repair() {
	local u
	"$PB_TEST_CTL" paybridge-stop || die "cannot stop paybridge"
	u=$(new_user 'Late User' 'late@example.test')
	emu POST /faults -d '{"method":"POST","path":"/v1/customers","kind":"error","status":500,"count":1000}' \
		>/dev/null || die "cannot set the fault"
	reconcile --fix --budget-ms 500
	expect_rc 1 "$rc" "--fix with creation failing"
	expect_grep "^paybridgectl: reconcile: user $u: missing_customer: .*\(Stripe answered 500 .*\); its job retries on its own, or run it again\$" \
		"$out/err" "failure message"
	expect_grep "^missing_customer	$u	-	no	no customer => " "$out/out" "row"
	[ "$(sql "SELECT status, last_error IS NOT NULL FROM stripe_jobs WHERE user_id = $u")" = \
		$'pending\t1' ] || fail "no pending job with its error for user $u"
	[ -z "$(customer_of "$u")" ] || fail "user $u got a customer while Stripe failed"
	emu DELETE /faults >/dev/null || die "cannot clear the faults"
	"$PB_TEST_CTL" paybridge-start || die "cannot start paybridge"
	reconcile --fix
	expect_rc 0 "$rc" "--fix once Stripe is back"
	[[ $(customer_of "$u") == cus_* ]] || fail "user $u has no customer after the second --fix"
	[ "$(live_naming "$u")" -eq 1 ] || fail "user $u has $(live_naming "$u") customers"
}

run_case test_usage
run_case test_seed
run_case test_report_json
run_case test_report_plain
run_case test_report_tty
run_case test_pages_and_rate
run_case test_interrupt
run_case test_failing_list
run_case test_fix
run_case test_only_orphans_left
run_case test_delete_orphans
run_case test_nothing_left
run_case test_failing_repair
run_case test_nothing_left
harness_summary
