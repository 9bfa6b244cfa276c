#!/usr/bin/env bash
# paybridgectl products (add, list, update, archive, sync-to-stripe) against the real
# stack: MariaDB and the Stripe emulator, whose own state (its control API) is what the
# sync cases check. Run through tests/integration/run-products.sh, which starts the stack
# and sets the environment; a missing server or variable fails loudly.
#
# Cases run in order and build on each other; each prints ok or FAILED, and the last
# line is "N passed, N failed", which script/test counts (tests/integration/harness.sh).
set -uo pipefail

harness_name=products-test.sh
# shellcheck source=tests/integration/harness.sh
. "$(dirname "${BASH_SOURCE[0]}")/harness.sh"
# shellcheck disable=SC2119  # no arguments: only the variables every suite needs
harness_init

# The whole catalog as one line per product, to prove a refused command wrote nothing.
catalog() {
	sql "SELECT CONCAT_WS('|', id, slug, name, COALESCE(description, '-'), amount, currency,
		kind, COALESCE(recurring_interval, '-'), COALESCE(recurring_interval_count, '-'),
		COALESCE(stripe_product_id, '-'), COALESCE(stripe_price_id, '-'), active)
		FROM products ORDER BY id"
}

# col SLUG COLUMN: one column of one product.
col() {
	sql "SELECT COALESCE($2, 'NULL') FROM products WHERE slug = '$1'"
}

# emu_count KIND: how many objects of KIND the emulator holds.
emu_count() {
	emu GET "/objects/$1" | jq '.data | length'
}

# posts PATH: how many POSTs to PATH the emulator answered.
posts() {
	emu GET "/requests?path=$1&method=POST" | jq '.data | length'
}

# ctl_rc ARGS...: runs paybridgectl, its output in $out/out and $out/err; sets rc.
ctl_rc() {
	rc=0
	ctl "$@" >"$out/out" 2>"$out/err" || rc=$?
}

test_add_and_list() {
	ctl_rc products add --slug pro --name 'Pro plan' --description 'Everything, monthly
support' --amount 1999 --currency usd
	expect_rc 0 "$rc" "add pro"
	expect_grep '^product [0-9]+ added: pro, 1999 usd one-time$' "$out/out" "add's answer"
	ctl_rc products add --slug club --name 'Club' --amount 500 --currency eur --interval month
	expect_rc 0 "$rc" "add club"
	expect_grep 'club, 500 eur every 1 month' "$out/out" "club's terms"
	ctl_rc products add --slug annual --name 'Annual «plus»' --amount 0 --currency gbp \
		--interval year --interval-count 2
	expect_rc 0 "$rc" "add annual (a free price)"
	# The mariadb client writes a line break in a value as \n.
	[ "$(col pro description)" = 'Everything, monthly\nsupport' ] ||
		fail "pro's description: $(col pro description)"
	[ "$(col club kind)|$(col club recurring_interval)|$(col club recurring_interval_count)" = \
		'recurring|month|1' ] || fail "club's terms in the table"
	[ "$(col pro kind)|$(col pro recurring_interval)|$(col pro recurring_interval_count)" = \
		'one_time|NULL|NULL' ] || fail "pro's terms in the table"

	ctl_rc products list
	expect_rc 0 "$rc" "list"
	[ "$(grep -c . "$out/out")" -eq 4 ] || fail "list shows $(($(grep -c . "$out/out") - 1)) products, expected 3"
	expect_grep '^ID +SLUG +AMOUNT' "$out/out" "list's header"
	expect_grep '^[0-9]+ +annual +0 gbp +2 year +yes +- +- +Annual «plus»$' "$out/out" "annual's row"
	ctl_rc products list --json
	expect_rc 0 "$rc" "list --json"
	jq -e '.products | length == 3' "$out/out" >/dev/null || fail "list --json: not 3 products"
	jq -e '.products[] | select(.slug == "club") | .type == "recurring" and .interval == "month"
		and .intervalCount == 1 and .amount == 500 and .currency == "eur" and .active
		and .stripePriceId == null' "$out/out" >/dev/null || fail "list --json: club's fields"
	jq -e '.products[] | select(.slug == "pro") | .type == "one_time" and .interval == null
		and .intervalCount == null and (.description | startswith("Everything"))' \
		"$out/out" >/dev/null || fail "list --json: pro's fields"
}

test_bad_input() {
	local before args want pattern
	before=$(catalog)
	# want rc | stderr pattern | arguments (one per line, fields tab-separated)
	while IFS=$'\t' read -r want pattern args; do
		# shellcheck disable=SC2086  # the arguments are words on purpose
		ctl_rc products $args
		expect_rc "$want" "$rc" "products $args"
		expect_grep "$pattern" "$out/err" "message for '$args'"
	done <<'EOF'
1	--currency must be three lower-case letters	add --slug x1 --name X --amount 100 --currency USD
1	--currency must be three lower-case letters	add --slug x1 --name X --amount 100 --currency dollars
1	--amount must be 0 or more	add --slug x2 --name X --amount -5 --currency usd
1	--amount must be at most 99999999	add --slug x2 --name X --amount 100000000 --currency usd
1	--slug 'pro' is another product's	add --slug pro --name Again --amount 100 --currency usd
1	--interval is required for a recurring product	add --slug x3 --name X --amount 100 --currency usd --interval-count 1
1	--interval must be day, week, month or year	add --slug x3 --name X --amount 100 --currency usd --interval fortnight
1	--interval-count must not be set for a one-time	add --slug x3 --name X --amount 100 --currency usd --interval none --interval-count 2
1	--interval-count must not make a period longer	add --slug x3 --name X --amount 100 --currency usd --interval month --interval-count 37
1	--slug may only hold a-z, 0-9 and -	add --slug Pro_Plan --name X --amount 100 --currency usd
1	--slug is required	add --name X --amount 100 --currency usd
1	--name is required	add --slug x4 --amount 100 --currency usd
1	--amount is required	add --slug x4 --name X --currency usd
1	--stripe-price must be a Stripe price id	add --slug x4 --name X --amount 1 --currency usd --stripe-price prod_1
64	--amount must be a whole number	add --slug x5 --name X --amount 19.99 --currency usd
64	--interval-count must be a whole number	add --slug x5 --name X --amount 1 --currency usd --interval-count -1
1	--currency must be three lower-case letters	update pro --currency EUR
1	--slug 'club' is another product's	update pro --slug club
1	--interval is required for a recurring product	update pro --interval-count 2
1	--amount must be 0 or more	update club --amount -1
1	no product with the id or slug 'nope'	update nope --name X
1	no product with the id or slug '999999'	archive 999999
EOF
	# Every problem at once, each named.
	ctl_rc products add --slug 'A B' --name '' --amount -1 --currency US --interval week \
		--interval-count 0
	expect_rc 1 "$rc" "add with every field wrong"
	for pattern in '--slug may only' '--name must not be empty' '--amount must be 0' \
		'--currency must be' '--interval-count must be at least 1' 'nothing was written'; do
		expect_grep "$pattern" "$out/err" "all problems: $pattern"
	done
	[ "$(catalog)" = "$before" ] || fail "a refused command changed the catalog"
}

test_update() {
	local id
	id=$(col pro id)
	ctl_rc products update pro --name 'Pro Plus' --description ''
	expect_rc 0 "$rc" "update pro's name"
	expect_grep "^product $id updated: pro, 1999 usd one-time$" "$out/out" "update's answer"
	[ "$(col pro name)|$(col pro description)" = 'Pro Plus|NULL' ] ||
		fail "pro after the update: $(col pro name)|$(col pro description)"
	ctl_rc products update "$id" --slug pro-plus
	expect_rc 0 "$rc" "update by id"
	[ "$(col pro-plus id)" = "$id" ] || fail "the slug did not change"
	ctl_rc products update pro-plus --slug pro
	expect_rc 0 "$rc" "slug back"
	ctl_rc products update club --interval-count 3
	expect_rc 0 "$rc" "club every 3 months"
	[ "$(col club recurring_interval)|$(col club recurring_interval_count)" = 'month|3' ] ||
		fail "club's count alone: $(col club recurring_interval)|$(col club recurring_interval_count)"
	ctl_rc products update club --interval none
	expect_rc 0 "$rc" "club one-time"
	[ "$(col club kind)|$(col club recurring_interval)|$(col club recurring_interval_count)" = \
		'one_time|NULL|NULL' ] || fail "club did not become one-time"
	ctl_rc products update club --interval week
	expect_rc 0 "$rc" "club weekly"
	[ "$(col club kind)|$(col club recurring_interval)|$(col club recurring_interval_count)" = \
		'recurring|week|1' ] || fail "club did not become weekly (count 1)"
	ctl_rc products update club
	expect_rc 64 "$rc" "update with nothing to change"
	expect_grep 'nothing to change' "$out/err" "nothing to change"
}

test_archive() {
	local id
	ctl_rc products add --slug old --name 'Old thing' --amount 100 --currency usd
	expect_rc 0 "$rc" "add old"
	id=$(col old id)
	ctl_rc products archive old
	expect_rc 0 "$rc" "archive old"
	expect_grep "^product $id \\(old\\) archived$" "$out/out" "archive's answer"
	[ "$(col old active)" = 0 ] || fail "old is still active"
	ctl_rc products archive "$id"
	expect_rc 0 "$rc" "archive again"
	expect_grep 'was archived already' "$out/out" "second archive"
	ctl_rc products list
	grep -q ' old ' "$out/out" && fail "list shows an archived product"
	ctl_rc products list --all --json
	jq -e '.products[] | select(.slug == "old") | .active == false' "$out/out" >/dev/null ||
		fail "list --all does not show old as archived"
	ctl_rc products update old --active
	expect_rc 0 "$rc" "bring old back"
	[ "$(col old active)" = 1 ] || fail "--active did not bring old back"
	ctl_rc products archive old
	expect_rc 0 "$rc" "archive old for good"
}

# check_mirror: every active product has exactly one Stripe product and its stored price
# in the emulator, each with our id in its metadata and our terms.
check_mirror() {
	local active bad
	emu GET /objects/products >"$out/eprod.json" || { fail "cannot read the emulator"; return; }
	emu GET /objects/prices >"$out/eprice.json" || { fail "cannot read the emulator"; return; }
	active=$(sql 'SELECT COUNT(*) FROM products WHERE active')
	[ "$(jq '.data | length' "$out/eprod.json")" -eq "$active" ] ||
		fail "the emulator holds $(jq '.data | length' "$out/eprod.json") products for $active active ones"
	[ "$(jq '[.data[].metadata.product_id] | unique | length' "$out/eprod.json")" -eq "$active" ] ||
		fail "two Stripe products for one of ours"
	sql "SELECT id, slug, name, stripe_product_id, stripe_price_id, amount, currency,
		COALESCE(recurring_interval, 'null'), COALESCE(recurring_interval_count, 'null')
		FROM products WHERE active ORDER BY id" >"$out/db.map"
	[ "$(grep -c $'\t-\t\|\tNULL\t' "$out/db.map")" -eq 0 ] || fail "an active product lacks a Stripe id"
	while IFS=$'\t' read -r id slug name prod price amount currency interval count; do
		jq -e --arg id "$id" --arg slug "$slug" --arg name "$name" --arg prod "$prod" \
			'.data[] | select(.id == $prod) | .metadata.product_id == $id
			and .metadata.slug == $slug and .name == $name' "$out/eprod.json" >/dev/null ||
			fail "product $id: Stripe product $prod does not match"
		jq -e --arg id "$id" --arg prod "$prod" --arg price "$price" --argjson amount "$amount" \
			--arg currency "$currency" --argjson interval "$( [ "$interval" = null ] && echo null || echo "\"$interval\"")" \
			--argjson count "$count" '.data[] | select(.id == $price) | .product == $prod
			and .unit_amount == $amount and .currency == $currency and .active
			and .metadata.product_id == $id and (.recurring.interval // null) == $interval
			and (.recurring.interval_count // null) == $count' "$out/eprice.json" >/dev/null ||
			fail "product $id: Stripe price $price does not sell $amount $currency $interval $count"
	done <"$out/db.map"
	bad=$(sql 'SELECT COUNT(*) FROM products WHERE NOT active AND stripe_product_id IS NOT NULL')
	[ "$bad" -eq 0 ] || fail "$bad archived products were synced"
}

test_sync_creates_one_each() {
	[ "$(emu_count products)" -eq 0 ] || fail "the emulator holds products before the sync"
	ctl_rc products sync-to-stripe
	expect_rc 0 "$rc" "first sync"
	expect_grep '^sync-to-stripe: 3 product\(s\): 3 Stripe product\(s\) created, 3 price\(s\) created, 0 replaced, 0 in sync, 0 failed$' \
		"$out/out" "first sync's summary"
	expect_grep '^product [0-9]+ \(pro\): created Stripe product prod_[A-Za-z0-9]+, created price price_' \
		"$out/out" "pro's line"
	[ "$(emu_count products)" -eq 3 ] || fail "$(emu_count products) Stripe products, expected 3"
	[ "$(emu_count prices)" -eq 3 ] || fail "$(emu_count prices) Stripe prices, expected 3"
	check_mirror
	# The keys derive from our ids, so a rerun of the same call is Stripe's replay.
	emu GET "/requests?path=/v1/products&method=POST" |
		jq -r '.data[].idempotency_key' | sort >"$out/keys"
	sql "SELECT CONCAT('paybridge-product-', id) FROM products WHERE active" | sort |
		diff - "$out/keys" >/dev/null || fail "product keys are not paybridge-product-<id>: $(cat "$out/keys")"
	emu GET "/requests?path=/v1/prices&method=POST" | jq -r '.data[].idempotency_key' >"$out/pkeys"
	grep -Eq "^paybridge-price-$(col pro id)-1999-usd$" "$out/pkeys" || fail "pro's price key: $(cat "$out/pkeys")"
	grep -Eq "^paybridge-price-$(col club id)-500-eur-week-1$" "$out/pkeys" || fail "club's price key"
}

test_sync_twice_changes_nothing() {
	local p0 c0
	p0=$(posts /v1/products)
	c0=$(posts /v1/prices)
	ctl_rc products sync-to-stripe --json
	expect_rc 0 "$rc" "second sync"
	jq -e '.seen == 3 and .inSync == 3 and .productsCreated == 0 and .pricesCreated == 0
		and .pricesReplaced == 0 and .failed == 0 and .complete and (.items | length == 3)' \
		"$out/out" >/dev/null || fail "second sync: $(cat "$out/out")"
	[ "$(posts /v1/products)" -eq "$p0" ] || fail "the second sync created a Stripe product"
	[ "$(posts /v1/prices)" -eq "$c0" ] || fail "the second sync created a price"
	[ "$(emu_count prices)" -eq 3 ] || fail "$(emu_count prices) prices after the second sync"
	check_mirror
}

test_amount_change_makes_a_new_price() {
	local old prod new
	old=$(col pro stripe_price_id)
	prod=$(col pro stripe_product_id)
	ctl_rc products update pro --amount 2499
	expect_rc 0 "$rc" "new amount"
	expect_grep "its Stripe price $old sells the old terms" "$out/out" "stale price note"
	[ "$(col pro stripe_price_id)" = NULL ] || fail "the stale price is still stored"
	ctl_rc products sync-to-stripe
	expect_rc 0 "$rc" "sync after the change"
	expect_grep ', 1 price\(s\) created, 0 replaced, 2 in sync, 0 failed' "$out/out" "summary"
	new=$(col pro stripe_price_id)
	if [ "$new" = NULL ] || [ "$new" = "$old" ]; then
		fail "pro's price: $new (was $old)"
	fi
	[ "$(col pro stripe_product_id)" = "$prod" ] || fail "pro got another Stripe product"
	[ "$(emu_count products)" -eq 3 ] || fail "a new Stripe product was made"
	[ "$(emu_count prices)" -eq 4 ] || fail "$(emu_count prices) prices, expected 4"
	check_mirror
	# Back to the first amount: that price's key comes again, and Stripe replays it.
	ctl_rc products update pro --amount 1999
	ctl_rc products sync-to-stripe
	expect_rc 0 "$rc" "sync after going back"
	[ "$(col pro stripe_price_id)" = "$old" ] || fail "going back did not reuse $old"
	[ "$(emu_count prices)" -eq 4 ] || fail "going back made a price"
}

test_lost_write_is_replayed() {
	local price
	# As if the sync died after Stripe answered and before the row was written.
	price=$(col annual stripe_price_id)
	sql "UPDATE products SET stripe_price_id = NULL WHERE slug = 'annual'"
	ctl_rc products sync-to-stripe
	expect_rc 0 "$rc" "sync after a lost write"
	[ "$(col annual stripe_price_id)" = "$price" ] || fail "annual got $(col annual stripe_price_id), not the replay of $price"
	[ "$(emu_count prices)" -eq 4 ] || fail "a lost write made a second price"
	emu GET "/requests?path=/v1/prices&method=POST" |
		jq -e '.data[-1].idempotent_replayed == true' >/dev/null || fail "Stripe did not replay"
}

test_price_archived_in_stripe_is_replaced() {
	local old
	old=$(col club stripe_price_id)
	stripe "/v1/prices/$old" -d active=false >/dev/null || fail "cannot archive $old in the emulator"
	ctl_rc products sync-to-stripe
	expect_rc 0 "$rc" "sync after the price was archived in Stripe"
	expect_grep "\\(club\\): Stripe product prod_[A-Za-z0-9]+, created price price_[A-Za-z0-9]+ replacing $old" \
		"$out/out" "club's line"
	expect_grep ', 0 price\(s\) created, 1 replaced,' "$out/out" "summary"
	[ "$(col club stripe_price_id)" != "$old" ] || fail "club still has the archived price"
	check_mirror
}

test_stripe_failure() {
	local id
	ctl_rc products add --slug late --name 'Late' --amount 700 --currency usd
	id=$(col late id)
	emu POST /faults -d '{"method":"POST","path":"/v1/products","status":500,"count":50}' >/dev/null ||
		die "cannot set a fault"
	ctl_rc products sync-to-stripe
	expect_rc 1 "$rc" "sync while Stripe fails"
	expect_grep "product $id \\(late\\): create product failed: .*Stripe answered 500" "$out/err" "the failure"
	expect_grep ', 1 failed$' "$out/out" "summary counts it"
	[ "$(col late stripe_product_id)" = NULL ] || fail "late has a Stripe product"
	emu DELETE /faults >/dev/null || die "cannot clear the faults"
	ctl_rc products sync-to-stripe
	expect_rc 0 "$rc" "sync once Stripe is back"
	expect_grep "\\(late\\): created Stripe product" "$out/out" "late synced"
	check_mirror
}

test_limit() {
	ctl_rc products add --slug extra --name 'Extra' --amount 300 --currency usd
	ctl_rc products sync-to-stripe --limit 2
	expect_rc 0 "$rc" "sync --limit 2"
	expect_grep '^sync-to-stripe: 2 product\(s\).*\(not every product was looked at\)$' "$out/out" "limit"
	[ "$(col extra stripe_product_id)" = NULL ] || fail "--limit 2 reached the newest product"
	ctl_rc products sync-to-stripe
	expect_rc 0 "$rc" "sync the rest"
	check_mirror
}

# Last: it leaves a product linked to a Stripe product that does not exist.
test_unknown_stripe_product() {
	local id
	ctl_rc products add --slug ghost --name 'Ghost' --amount 100 --currency usd \
		--stripe-product prod_doesnotexist
	expect_rc 0 "$rc" "add ghost"
	id=$(col ghost id)
	ctl_rc products sync-to-stripe
	expect_rc 1 "$rc" "sync of a product whose Stripe product is unknown"
	expect_grep "product $id \\(ghost\\): create price failed: .*Stripe answered 400 resource_missing" \
		"$out/err" "Stripe's answer"
	[ "$(col ghost stripe_price_id)" = NULL ] || fail "ghost got a price"
	ctl_rc products archive ghost
	ctl_rc products sync-to-stripe
	expect_rc 0 "$rc" "an archived product is not synced"
}

test_usage() {
	expect_usage <<'EOF'
products
products frob
products list extra
products list --bogus
products update
products update --name X
products archive
products archive a b
products archive pro --name X
products sync-to-stripe --limit 0
products sync-to-stripe extra
products add --bogus
EOF
}

run_case test_add_and_list
run_case test_bad_input
run_case test_update
run_case test_archive
run_case test_sync_creates_one_each
run_case test_sync_twice_changes_nothing
run_case test_amount_change_makes_a_new_price
run_case test_lost_write_is_replayed
run_case test_price_archived_in_stripe_is_replaced
run_case test_stripe_failure
run_case test_limit
run_case test_unknown_stripe_product
run_case test_usage
harness_summary
