#!/usr/bin/env bash
# The test stack, for the integration runners and their control hook:
#
#   tests/integration/stack.sh up BUILDDIR RUNDIR    start MariaDB, migrate, paybridge, nginx,
#                                                    Apache; write RUNDIR/env for the tests
#   tests/integration/stack.sh down RUNDIR           stop everything up started
#   tests/integration/stack.sh ACTION                an action for a running stack, with
#                                                    PB_RUN set: mariadb-stop, mariadb-start,
#                                                    paybridge-start, paybridge-stop,
#                                                    paybridge-wait-exit, mariadb-pause
#                                                    (SIGSTOP), mariadb-resume (SIGCONT)
#
# PB_WRAPPER, when set, prefixes the paybridge command (valgrind). PB_CONF_EXTRA holds extra
# "key = value" lines for paybridge.conf. With nchan in nginx, nchan_publish_url is set to it. Every server listens on loopback or a unix socket.
set -euo pipefail
top=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd -P)
# shellcheck source=../../script/lib/mariadb.sh
. "$top/script/lib/mariadb.sh"

die() { echo "stack.sh: $*" >&2; exit 1; }

free_port() {
	/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# Waits until paybridge answers healthz through nginx (10 s at most).
wait_ready() {
	local i
	for i in $(seq 1 100); do
		if curl -fsS -o /dev/null "http://127.0.0.1:$PB_NGINX_PORT/v1/healthz" 2>/dev/null; then
			return 0
		fi
		if [ -n "${pid:-}" ] && ! pb_alive "$pid"; then
			tail -n 20 "$PB_RUN/paybridge.log" >&2
			die "paybridge exited during startup"
		fi
		sleep 0.1
	done
	tail -n 20 "$PB_RUN/paybridge.log" >&2
	die "paybridge did not become ready"
}

paybridge_start() {
	# shellcheck disable=SC2086
	${PB_WRAPPER:-} "$PB_BUILD/paybridge" -f -c "$PB_RUN/paybridge.conf" >>"$PB_RUN/paybridge.log" 2>&1 &
	pid=$!
	echo "$pid" >"$PB_RUN/paybridge.pid"
	wait_ready
}

paybridge_stop() {
	local pid
	pid=$(cat "$PB_RUN/paybridge.pid" 2>/dev/null || true)
	[ -n "$pid" ] || return 0
	kill -TERM "$pid" 2>/dev/null || true
	paybridge_wait_exit
}

paybridge_wait_exit() {
	local pid i
	pid=$(cat "$PB_RUN/paybridge.pid" 2>/dev/null || true)
	[ -n "$pid" ] || return 0
	for i in $(seq 1 300); do
		pb_alive "$pid" || return 0
		sleep 0.1
	done
	die "paybridge $pid did not exit within 30 s"
}

# The Stripe emulator on a free port, delivering webhooks to paybridge through nginx.
emulator_start() {
	rm -f "$PB_RUN/emulator.port"
	/usr/bin/python3 "$top/tests/stripe-emulator/emulator.py" --host 127.0.0.1 --port 0 \
		--port-file "$PB_RUN/emulator.port" \
		--webhook-url "http://127.0.0.1:$PB_NGINX_PORT/v1/webhooks/stripe" \
		--webhook-secret "$PB_WEBHOOK_SECRET" --quiet >"$PB_RUN/emulator.log" 2>&1 &
	echo $! >"$PB_RUN/emulator.pid"
	for _ in $(seq 1 100); do
		[ -s "$PB_RUN/emulator.port" ] && return 0
		sleep 0.1
	done
	tail -n 20 "$PB_RUN/emulator.log" >&2
	die "the Stripe emulator did not start"
}

emulator_stop() {
	local pid
	pid=$(cat "$PB_RUN/emulator.pid" 2>/dev/null || true)
	[ -n "$pid" ] && kill -TERM "$pid" 2>/dev/null || true
}

write_conf() {
	local live=""
	# Live status: nginx publishes what paybridge posts, when it has nchan.
	if bash "$top/script/lib/nginx.sh" want-nchan; then
		live="nchan_publish_url = http://127.0.0.1:$PB_NGINX_PORT/_paybridge/publish/payments/intents"
	fi
	# Only this file is private: the web servers must still reach the socket directory.
	(umask 077 && cat >"$PB_RUN/paybridge.conf") <<CONF
# Written by tests/integration/stack.sh
listen = unix:$PB_RUN/pb.sock
listen_mode = 0666
workers = 8
max_body_bytes = 65536
request_timeout = 10
queue_timeout_ms = 5000
shutdown_timeout = 15
log_level = info
db_socket = $PAYBRIDGE_DB_SOCKET
db_name = $PAYBRIDGE_DB_NAME
db_user = $PAYBRIDGE_DB_USER
stripe_api_base = http://127.0.0.1:$(cat "$PB_RUN/emulator.port")
stripe_max_retries = 2
customer_inline_budget_ms = 2000
jobs_poll_interval_ms = 100
argon2_memory_kib = 19456
$live
${PB_CONF_EXTRA:-}
CONF
}

up() {
	PB_BUILD=$(cd "$1" && pwd -P)
	mkdir -p "$2"
	PB_RUN=$(cd "$2" && pwd -P)
	export PB_BUILD PB_RUN
	mariadb_start "$PB_RUN/db" >/dev/null
	PB_NGINX_PORT=$(free_port)
	PB_APACHE_PORT=$(free_port)
	PB_WEBHOOK_SECRET=whsec_test_$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')
	emulator_start
	write_conf
	"$PB_BUILD/paybridgectl" -c "$PB_RUN/paybridge.conf" migrate up >"$PB_RUN/migrate.log" 2>&1 ||
		{ cat "$PB_RUN/migrate.log" >&2; die "migrate failed"; }
	# Tests sign up many users quickly: the auth rate limit is for production traffic.
	export PB_AUTH_RATE=1000 PB_AUTH_BURST=1000
	bash "$top/script/lib/nginx.sh" start "$PB_RUN/nginx" "$PB_NGINX_PORT" "$PB_RUN/pb.sock" "$top/www" >/dev/null
	bash "$top/script/lib/apache.sh" start "$PB_RUN/apache" "$PB_APACHE_PORT" "$PB_RUN/pb.sock" "$top/www" >/dev/null
	cat >"$PB_RUN/env" <<ENV
export PB_BUILD='$PB_BUILD' PB_RUN='$PB_RUN'
export PB_NGINX_PORT=$PB_NGINX_PORT PB_APACHE_PORT=$PB_APACHE_PORT
export PB_TEST_URLS='http://127.0.0.1:$PB_NGINX_PORT http://127.0.0.1:$PB_APACHE_PORT'
export PB_PID_FILE='$PB_RUN/paybridge.pid' PB_TEST_CTL='$top/tests/integration/stack.sh'
export PB_WRAPPER='${PB_WRAPPER:-}'
export PB_EMULATOR_URL=http://127.0.0.1:$(cat "$PB_RUN/emulator.port")
export PAYBRIDGE_STRIPE_SECRET_KEY=sk_test_paybridge_integration
export PAYBRIDGE_STRIPE_WEBHOOK_SECRETS=$PB_WEBHOOK_SECRET
export PAYBRIDGE_JWT_SECRET=test-jwt-secret-$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')
$(mariadb_env "$PB_RUN/db")
ENV
	# shellcheck disable=SC1091
	. "$PB_RUN/env"
	paybridge_start
}

down() {
	PB_RUN=$(cd "$1" && pwd -P)
	export PB_RUN
	paybridge_stop || true
	emulator_stop
	bash "$top/script/lib/nginx.sh" stop "$PB_RUN/nginx" >/dev/null 2>&1 || true
	bash "$top/script/lib/apache.sh" stop "$PB_RUN/apache" >/dev/null 2>&1 || true
	mariadb_stop "$PB_RUN/db" >/dev/null 2>&1 || true
}

action=${1:-}
case "$action" in
up) up "${2:?BUILDDIR}" "${3:?RUNDIR}" ;;
down) down "${2:?RUNDIR}" ;;
mariadb-stop | mariadb-start | mariadb-pause | mariadb-resume | paybridge-start | \
    paybridge-stop | paybridge-wait-exit)
	: "${PB_RUN:?PB_RUN is not set}"
	# shellcheck disable=SC1091
	. "$PB_RUN/env"
	case "$action" in
	mariadb-stop) mariadb_stop "$PB_RUN/db" >/dev/null ;;
	mariadb-start) mariadb_start "$PB_RUN/db" >/dev/null ;;
	mariadb-pause) kill -STOP "$(cat "$PB_RUN/db/mysqld.pid")" ;;
	mariadb-resume) kill -CONT "$(cat "$PB_RUN/db/mysqld.pid")" ;;
	paybridge-start) paybridge_start ;;
	paybridge-stop) paybridge_stop ;;
	paybridge-wait-exit) paybridge_wait_exit ;;
	esac
	;;
*) die "usage: stack.sh up BUILDDIR RUNDIR | down RUNDIR | ACTION" ;;
esac
