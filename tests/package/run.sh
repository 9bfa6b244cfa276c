#!/bin/sh
# tests/package/run.sh: build the .deb (script/package), lint it, install it, check the
# layout, the system user and the installed config (paybridge -n), upgrade over itself
# with a locally edited conffile, purge, and check no packaged file is left.
# Needs root (apt-get/dpkg). Prints one `ok NAME`/`FAILED NAME` per check and
# `N passed, M failed` last. NOT YET: the live run behind nginx with MariaDB and the
# Stripe emulator (signup through the installed binary) -- see the issue #12 report.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
pass=0; fail=0
check() { name=$1; shift; if "$@" >/dev/null 2>&1; then echo "ok $name"; pass=$((pass+1)); else echo "FAILED $name"; fail=$((fail+1)); fi; }
if [ "$(id -u)" != 0 ]; then echo "tests/package/run.sh needs root (apt-get, dpkg)" >&2; echo "0 passed, 1 failed"; exit 1; fi
work=$(mktemp -d)
cleanup() { dpkg -s paybridge >/dev/null 2>&1 && apt-get purge -y -q paybridge >/dev/null 2>&1; rm -rf "$work"; }
trap cleanup EXIT INT TERM
if dpkg -s paybridge >/dev/null 2>&1; then echo "paybridge is already installed here; refusing to touch it" >&2; echo "0 passed, 1 failed"; exit 1; fi

deb=$("$top/script/package" "$work/out" | tail -1)
check build test -f "$deb"
check lintian sh -c "! lintian --fail-on error,warning '$deb' 2>&1 | grep -E '^[EW]:'"
check install env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$deb"
check binaries test -x /usr/sbin/paybridge -a -x /usr/sbin/paybridgectl
check units test -f /lib/systemd/system/paybridge.service -a -f /lib/systemd/system/paybridge.socket
check conffile sh -c "dpkg-query -W -f='\${Conffiles}' paybridge | grep -q /etc/paybridge/paybridge.conf"
check no-secret sh -c "! grep -E '^(db_password|stripe_secret_key|jwt_secret|stripe_webhook_secrets)[[:space:]]*=[[:space:]]*[^[:space:]]' /etc/paybridge/paybridge.conf"
check user getent passwd paybridge
check site-files test -f /usr/share/paybridge/nginx/paybridge.conf -a -f /usr/share/paybridge/apache/paybridge.conf
dpkg -L paybridge | sort >"$work/files"
echo "# local edit" >>/etc/paybridge/paybridge.conf
check upgrade env DEBIAN_FRONTEND=noninteractive dpkg -i --force-confold "$deb"
check conffile-kept grep -q '^# local edit' /etc/paybridge/paybridge.conf
check purge env DEBIAN_FRONTEND=noninteractive apt-get purge -y -q paybridge
left=$(while read -r f; do [ -f "$f" ] && echo "$f"; done <"$work/files")
check nothing-left test -z "$left"
check etc-gone test ! -e /etc/paybridge
[ -n "$left" ] && echo "left behind: $left" >&2
echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
