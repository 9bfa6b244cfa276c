#!/usr/bin/env bash
# tests/package/run.sh: build the .deb (script/package), lint it, install it, check the
# layout, the system user and the installed config (paybridge -n); then run it live: a
# private MariaDB (script/lib/mariadb.sh) and the Stripe emulator, `paybridgectl migrate
# up` and the installed /usr/sbin/paybridge with the installed config (the credentials and
# the test's database and emulator through PAYBRIDGE_* in the environment, never in the
# conffile), on the socket the packaged nginx site expects (/run/paybridge/paybridge.sock),
# behind that very site (/usr/share/paybridge/nginx, through script/lib/nginx.sh) on a
# loopback port; sign up one user through nginx and wait for its row's stripeCustomerId
# and the emulator's customer; upgrade over itself (with a locally edited conffile) while
# requests keep coming, all answered; restart on the upgraded binary and sign up again;
# stop everything, purge, and check no packaged file is left.
#
# When systemd is PID 1 the service is still run directly, as here: the live run does not
# go through paybridge.socket / paybridge.service (systemd-analyze checks the units in
# tests/integration/run-cli.sh).
# Needs root (apt-get/dpkg). Prints one `ok NAME`/`FAILED NAME` per check and
# `N passed, M failed` last.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
pass=0; fail=0
check() { name=$1; shift; if "$@" >/dev/null 2>&1; then echo "ok $name"; pass=$((pass+1)); else echo "FAILED $name"; fail=$((fail+1)); fi; }
if [ "$(id -u)" != 0 ]; then echo "tests/package/run.sh needs root (apt-get, dpkg)" >&2; echo "0 passed, 1 failed"; exit 1; fi
# shellcheck source=script/lib/mariadb.sh
. "$top/script/lib/mariadb.sh"
work=$(mktemp -d)
# The web server's workers (www-data) and paybridge's user reach the sockets in here.
chmod 0755 "$work"
live=$work/live
sock_dir=/run/paybridge
made_sock_dir=no
pb_pid=
emu_pid=

live_stop() {
	if [ -n "$pb_pid" ]; then
		kill -TERM "$pb_pid" 2>/dev/null
		for _ in $(seq 1 300); do pb_alive "$pb_pid" || break; sleep 0.1; done
		pb_pid=
	fi
	bash "$top/script/lib/nginx.sh" stop "$live/nginx" >/dev/null 2>&1
	[ -n "$emu_pid" ] && kill -TERM "$emu_pid" 2>/dev/null
	emu_pid=
	[ -d "$live/db" ] && mariadb_stop "$live/db" >/dev/null 2>&1
	[ "$made_sock_dir" = yes ] && rm -rf "$sock_dir"
	made_sock_dir=no
	return 0
}
cleanup() {
	live_stop
	dpkg -s paybridge >/dev/null 2>&1 && apt-get purge -y -q paybridge >/dev/null 2>&1
	[ "$fail" = 0 ] && rm -rf "$work" || echo "package: logs kept in $work" >&2
}
trap cleanup EXIT
trap 'exit 130' INT TERM
if dpkg -s paybridge >/dev/null 2>&1; then echo "paybridge is already installed here; refusing to touch it" >&2; echo "0 passed, 1 failed"; exit 1; fi
if [ -e "$sock_dir" ]; then echo "$sock_dir exists: another paybridge runs here; refusing" >&2; echo "0 passed, 1 failed"; exit 1; fi

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
check site-pages test -f /usr/share/paybridge/www/signup.html -a -f /usr/share/paybridge/www/api.html -a -f /usr/share/paybridge/api/openapi.yaml
dpkg -L paybridge | sort >"$work/files"

# ---- the live run ----
free_port() { /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
# until SECONDS COMMAND...: polls COMMAND every 0.1 s until it succeeds, at most SECONDS.
until_ok() { local end=$(( $(date +%s) + $1 )); shift; until "$@"; do [ "$(date +%s)" -ge "$end" ] && return 1; sleep 0.1; done; }
http() { curl -sS -o "$live/body" -w '%{http_code}' "$@" 2>/dev/null; }
sql() { MYSQL_PWD=$PAYBRIDGE_DB_PASSWORD mariadb --no-defaults --protocol=socket --socket="$PAYBRIDGE_DB_SOCKET" -u "$PAYBRIDGE_DB_USER" -N -B "$PAYBRIDGE_DB_NAME" -e "$1"; }
pb_start() {
	# As the service runs it (User=paybridge), exec'd directly so the pid is paybridge's.
	setpriv --reuid=paybridge --regid=paybridge --init-groups \
		/usr/sbin/paybridge -f -c /etc/paybridge/paybridge.conf >>"$live/paybridge.log" 2>&1 &
	pb_pid=$!
}
answers() { [ "$(http "http://127.0.0.1:$port/v1/readyz")" = 200 ]; }
signup() {
	[ "$(http -H 'Content-Type: application/json' -d "{\"name\":\"Package $1\",\"email\":\"$1@example.com\",\"password\":\"correct horse battery staple\"}" "http://127.0.0.1:$port/v1/users")" = 201 ] &&
		grep -q "\"email\":\"$1@example.com\"" "$live/body"
}
customer_of() { sql "SELECT stripe_customer_id FROM users WHERE email = '$1@example.com'" 2>/dev/null; }
has_customer() { customer_of "$1" | grep -qE '^cus_[A-Za-z0-9]+$'; }
emulator_has() {
	local cus; cus=$(customer_of "$1")
	[ "$(curl -sS -o "$live/customer" -w '%{http_code}' -H "Authorization: Bearer $PAYBRIDGE_STRIPE_SECRET_KEY" "$PB_EMULATOR_URL/v1/customers/$cus")" = 200 ] &&
		grep -q "$1@example.com" "$live/customer"
}

mkdir -p "$live"
port=$(free_port)
whsec=whsec_package_$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')
live_up() {
	mariadb_start "$live/db" >/dev/null || return 1
	/usr/bin/python3 "$top/tests/stripe-emulator/emulator.py" --host 127.0.0.1 --port 0 \
		--port-file "$live/emulator.port" --webhook-url "http://127.0.0.1:$port/v1/webhooks/stripe" \
		--webhook-secret "$whsec" --quiet >"$live/emulator.log" 2>&1 &
	emu_pid=$!
	until_ok 10 test -s "$live/emulator.port" || return 1
	PB_EMULATOR_URL=http://127.0.0.1:$(cat "$live/emulator.port")
	# Everything the test's stack needs, over the installed config's values.
	export PAYBRIDGE_STRIPE_API_BASE=$PB_EMULATOR_URL PAYBRIDGE_STRIPE_SECRET_KEY=sk_test_paybridge_package
	export PAYBRIDGE_STRIPE_WEBHOOK_SECRETS=$whsec PAYBRIDGE_WORKERS=2
	PAYBRIDGE_JWT_SECRET=package-jwt-$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')
	export PAYBRIDGE_JWT_SECRET
	# The socket unit's mode is 0660 root:www-data; without it the directory keeps others out.
	export PAYBRIDGE_LISTEN_MODE=0666
	install -d -o paybridge -g www-data -m 0750 "$sock_dir" && made_sock_dir=yes
}
check live-stack live_up
check live-migrate paybridgectl -c /etc/paybridge/paybridge.conf migrate up
pb_start
check live-socket until_ok 15 test -S "$sock_dir/paybridge.sock"
check live-nginx env PB_NGINX_SITE_DIR=/usr/share/paybridge/nginx PB_NGINX_API_DIR=/usr/share/paybridge/api \
	bash "$top/script/lib/nginx.sh" start "$live/nginx" "$port" "$sock_dir/paybridge.sock" /usr/share/paybridge/www
check live-ready until_ok 15 answers
check live-signup signup "first-$$"
check live-customer until_ok 30 has_customer "first-$$"
check live-emulator-customer emulator_has "first-$$"
check live-openapi sh -c "[ \"\$(curl -sS -o '$live/openapi.yaml' -w '%{content_type}' http://127.0.0.1:$port/v1/openapi.yaml)\" = application/yaml ] && cmp '$live/openapi.yaml' /usr/share/paybridge/api/openapi.yaml"
check live-site sh -c "[ \"\$(curl -sS -o /dev/null -w '%{http_code}' http://127.0.0.1:$port/api.html)\" = 200 ]"

# Upgrade over itself while it serves: every request made meanwhile is answered.
echo "# local edit" >>/etc/paybridge/paybridge.conf
(while [ ! -e "$live/upgraded" ]; do curl -sS -o /dev/null -w '%{http_code}\n' "http://127.0.0.1:$port/v1/healthz" 2>/dev/null || echo failed; sleep 0.05; done) >"$live/during" &
load=$!
check upgrade env DEBIAN_FRONTEND=noninteractive dpkg -i --force-confold "$deb"
touch "$live/upgraded"; wait "$load"
check upgrade-served sh -c "[ -s '$live/during' ] && ! grep -qv '^200\$' '$live/during'"
check conffile-kept grep -q '^# local edit' /etc/paybridge/paybridge.conf
# The process that served through the upgrade is the old image: run the upgraded one.
kill -TERM "$pb_pid" 2>/dev/null
pb_gone() { ! pb_alive "$pb_pid"; }
check live-stopped until_ok 30 pb_gone
pb_start
check live-upgraded-ready until_ok 15 answers
check live-upgraded-signup signup "second-$$"
live_stop

check purge env DEBIAN_FRONTEND=noninteractive apt-get purge -y -q paybridge
left=$(while read -r f; do [ -f "$f" ] && echo "$f"; done <"$work/files")
check nothing-left test -z "$left"
check etc-gone test ! -e /etc/paybridge
[ -n "$left" ] && echo "left behind: $left" >&2
echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
