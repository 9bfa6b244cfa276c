#!/usr/bin/env bash
# The browser test: Debian's Chromium, driven by playwright-core, signs up through
# www/signup.html and reads the profile on www/account.html, against a fresh stack (MariaDB,
# the Stripe emulator, paybridge, nginx serving www/):
#
#   tests/browser/run.sh BUILDDIR
#
# Installs Chromium when it is missing and this runs as root (otherwise says how), and the
# pinned playwright-core (npm ci) when tests/browser/node_modules is missing; playwright-core
# never downloads a browser of its own. The screenshots stay in the run directory, which is
# printed; on success only the database files are removed from it.
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

status=0
PB_BASE_URL="http://127.0.0.1:$PB_NGINX_PORT" PB_SCREENSHOT_DIR="$run" PB_CHROMIUM="$chromium" \
	node --test "$here/signup.test.mjs" || status=$?
exit "$status"
