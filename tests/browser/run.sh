#!/usr/bin/env bash
# The browser tests: Debian's Chromium, driven by playwright-core, against a fresh stack
# (MariaDB, the Stripe emulator, paybridge, nginx and Apache serving www/):
# signup.test.mjs signs up through www/signup.html and reads the profile on
# www/account.html; walk.test.mjs walks the site from signup to a paid order and a
# subscription, checks the Content-Security-Policy, and the live status through nginx
# (Server-Sent Events) and Apache (long-poll); api.test.mjs checks GET /v1/openapi.yaml on
# both web servers and www/api.html's rendering of it. A demo catalog is seeded first.
#
#   tests/browser/run.sh BUILDDIR
#
# Installs Chromium when it is missing and this runs as root (otherwise says how), and the
# pinned playwright-core (npm ci) when tests/browser/node_modules is missing; playwright-core
# never downloads a browser of its own. The screenshots (one per page) stay in the run
# directory, which is printed; on success only the database files are removed from it.
set -euo pipefail
top=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd -P)
here=$top/tests/browser
build=$(cd "${1:?usage: tests/browser/run.sh BUILDDIR}" && pwd -P)
chromium=${PB_CHROMIUM:-/usr/bin/chromium}

say() { printf 'browser: %s\n' "$*"; }
die() { printf 'browser: %s\n' "$*" >&2; exit 1; }

if [ ! -x "$chromium" ]; then
	[ "$(id -u)" = 0 ] || die "Chromium is missing; install it with: apt-get install -y chromium"
	say "installing Chromium (apt-get install -y chromium)"
	export DEBIAN_FRONTEND=noninteractive
	# A fresh machine may have no package lists yet.
	apt-get install -y chromium >/dev/null ||
		{ apt-get update >/dev/null && apt-get install -y chromium >/dev/null; } ||
		die "could not install Chromium: apt-get install -y chromium"
	[ -x "$chromium" ] || die "$chromium is still missing after apt-get install -y chromium"
fi
command -v node >/dev/null || die "node is missing; install it with: apt-get install -y nodejs npm"
if [ ! -d "$here/node_modules/playwright-core" ]; then
	command -v npm >/dev/null || die "npm is missing; install it with: apt-get install -y npm"
	say "installing playwright-core (npm ci in $here)"
	(cd "$here" && npm ci --no-audit --no-fund --loglevel=error) || die "npm ci failed in $here"
fi

run=$(mktemp -d /tmp/pbbrowser.XXXXXX)
# The web servers drop to www-data, which must reach the FastCGI socket in here.
chmod 0755 "$run"
status=1
# shellcheck disable=SC2317  # run by the EXIT trap
cleanup() {
	"$top/tests/integration/stack.sh" down "$run" >/dev/null 2>&1 || true
	if [ "$status" -eq 0 ]; then
		rm -rf "$run/db"
	else
		echo "browser: logs kept in $run" >&2
		tail -n 30 "$run/paybridge.log" >&2 2>/dev/null || true
	fi
	local shot
	for shot in "$run"/*.png; do
		[ -f "$shot" ] && echo "browser: screenshot $shot"
	done
	return 0
}
trap cleanup EXIT
"$top/tests/integration/stack.sh" up "$build" "$run"
# shellcheck disable=SC1091
. "$run/env"

nginx_url=http://127.0.0.1:$PB_NGINX_PORT
# Where Stripe's hosted pages send the browser back: the site on the stack's nginx. The
# keys are the checkout work's (checkout_success_url with {CHECKOUT_SESSION_ID},
# checkout_cancel_url, billing_portal_return_url); paybridge reads only the PAYBRIDGE_*
# variables of keys it knows, so a build without Checkout ignores them. The nginx port is
# chosen by stack.sh up, so paybridge is restarted once to see them.
export PAYBRIDGE_CHECKOUT_SUCCESS_URL="$nginx_url/thanks.html?session_id={CHECKOUT_SESSION_ID}"
export PAYBRIDGE_CHECKOUT_CANCEL_URL="$nginx_url/shop.html?checkout=canceled"
export PAYBRIDGE_BILLING_PORTAL_RETURN_URL="$nginx_url/account.html"
PB_RUN=$run "$top/tests/integration/stack.sh" paybridge-stop
PB_RUN=$run "$top/tests/integration/stack.sh" paybridge-start

# The demo catalog: one product paid once, one plan renewed monthly, both in Stripe
# (Checkout needs their prices).
ctl() { "$build/paybridgectl" -c "$run/paybridge.conf" "$@"; }
ctl products add --slug browser-guide --name 'Field guide' --amount 1999 --currency usd \
	--description 'A one-time purchase.' >/dev/null
ctl products add --slug browser-plan --name 'Monthly plan' --amount 900 --currency usd \
	--interval month --description 'Renews every month until canceled.' >/dev/null
ctl products sync-to-stripe >"$run/sync.log" 2>&1 || { cat "$run/sync.log" >&2; die "sync-to-stripe failed"; }

status=0
PB_BASE_URL=$nginx_url PB_APACHE_URL="http://127.0.0.1:$PB_APACHE_PORT" \
	PB_SCREENSHOT_DIR="$run" PB_CHROMIUM="$chromium" \
	node --test --test-concurrency=1 "$here/signup.test.mjs" "$here/walk.test.mjs" \
		"$here/api.test.mjs" || status=$?
exit "$status"
